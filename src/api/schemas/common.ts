// Shapes shared by every route: the error body, ids, dates, string enums, the page query.
import { Type, type Static, type StringOptions, type TSchema, type TString, type TUnsafe } from '@sinclair/typebox';
import { PLAIN_TEXT_PATTERN } from '../../domain/plain-text.js';

/** Every 4xx/5xx body (api.md §1). */
export const ErrorBody = Type.Object({ error: Type.String({ description: 'Human-readable cause naming the field or state at fault.' }) });

/** A string limited to `values`, as one JSON Schema `enum` (one clear validation message, unlike anyOf). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const Id = Type.String({ description: 'Entity id: 32 lowercase hex digits (the dashed UUID form is accepted on input).', examples: ['822b16bb0c0d4631ae30719cab74c352'] });
export const HttpDate = Type.String({ description: 'RFC 7231 IMF-fixdate', examples: ['Sun, 06 Nov 1994 08:49:37 GMT'] });

export const IdParams = Type.Object({ id: Type.String({ description: 'Entity id' }) });

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** `?limit=&after=` of every collection (api.md §1); ../pagination.ts answers it. */
export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT, description: 'Items per page (max 1000).' })),
    after: Type.Optional(Type.String({ maxLength: 64, description: 'Id of the last item of the previous page.' })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

/** Error responses every authenticated route may give, merged into each route's `response`. */
export function errorResponses(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const code of [400, 401, ...codes]) out[code] = ErrorBody;
  return out;
}

/** A name, label or description: no control characters, no bidirectional overrides or isolates (400 names the field). */
export function PlainText(options: StringOptions = {}): TString {
  const rule = 'No control characters (C0/C1, incl. NUL, CR, LF, TAB) and no bidi overrides or isolates (U+202A–U+202E, U+2066–U+2069).';
  return Type.String({ ...options, pattern: PLAIN_TEXT_PATTERN, description: options.description ? `${options.description} ${rule}` : rule });
}
