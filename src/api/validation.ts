// Request validation. JSON bodies are checked strictly (a string is not a number); query strings, path
// parameters and form-encoded bodies arrive as text, so their numbers and booleans are coerced, and a
// single value of a list field becomes a one-item list (`environmentIds=a` ≡ `["a"]`). Unknown fields are
// errors, never silently dropped.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { DomainError } from '../errors.js';

/** Marks a body parsed from `application/x-www-form-urlencoded`, so it gets the coercing validator. */
export const FORM_BODY = Symbol('allotrope.formBody');

// ajv-formats is CommonJS; its default export arrives nested under NodeNext interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: coerce ? 'array' : false, strict: false });
  addFormats(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const coercing = coercingAjv.compile(schema as object);
  if (httpPart !== 'body') return coercing;
  const strict = strictAjv.compile(schema as object);
  const validate = ((data: unknown) => {
    const fn: ValidateFunction = typeof data === 'object' && data !== null && (data as Record<symbol, unknown>)[FORM_BODY] ? coercing : strict;
    const ok = fn(data);
    validate.errors = fn.errors;
    return ok;
  }) as ((data: unknown) => boolean) & { errors?: ValidateFunction['errors'] };
  return validate;
};

/** Deepest nesting a JSON body may have; the API's shapes need 4, and recursive code (JSON.stringify in the idempotency hash) overflows the stack somewhere past a few thousand. */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests arrays/objects deeper than `max` (iterative: the value may be deep). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parses a form-encoded body: repeated keys become lists. */
export function parseFormBody(text: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else result[key] = [existing, value];
  }
  Object.defineProperty(result, FORM_BODY, { value: true, enumerable: false });
  return result;
}

/** A 415 for a `charset` other than UTF-8 in a Content-Type header, or null when it is UTF-8 or absent. */
export function refuseCharset(contentType: string | undefined): DomainError | null {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  if (!m || /^utf-?8$/i.test(m[1]!)) return null;
  return new DomainError('unsupported-media-type', `unsupported charset '${m[1]}'; send the body in UTF-8`);
}
