// Names, labels and descriptions are shown in terminals, logs and UIs. Control characters (C0 and C1, so
// NUL, CR, LF and TAB too) forge log lines and break tables; bidirectional overrides and isolates make
// a name read differently from what it is (U+202E turns `db-txt.exe` around). Neither belongs in one.
import { invalid } from '../errors.js';

/** The characters no label may hold, as a character class body (JSON Schema and RegExp alike). */
export const UNSAFE_TEXT_CLASS = '\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069';
/** JSON Schema `pattern` of a string free of them; api/errors.ts words the 400 for it. */
export const PLAIN_TEXT_PATTERN = `^[^${UNSAFE_TEXT_CLASS}]*$`;
export const PLAIN_TEXT_RULE = 'must not contain control characters (such as NUL, CR, LF or TAB) or bidirectional override or isolate characters (U+202A to U+202E, U+2066 to U+2069)';

const UNSAFE = new RegExp(`[${UNSAFE_TEXT_CLASS}]`, 'u');

/** Throws 400 naming `field` when `value` holds a control or bidi-override character. */
export function assertPlainText(field: string, value: string): void {
  if (UNSAFE.test(value)) throw invalid(field, `invalid field '${field}': ${PLAIN_TEXT_RULE}`);
}
