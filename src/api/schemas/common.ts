// Shapes shared by every route: the error body, ids, dates, string enums.
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** Every 4xx/5xx body (api.md §1). */
export const ErrorBody = Type.Object({ error: Type.String({ description: 'Human-readable cause naming the field or state at fault.' }) });

/** A string limited to `values`, as one JSON Schema `enum` (one clear validation message, unlike anyOf). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string; default?: T[number] } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

export const Id = Type.String({ description: 'Entity id: 32 lowercase hex digits (the dashed UUID form is accepted on input).', examples: ['822b16bb0c0d4631ae30719cab74c352'] });
export const HttpDate = Type.String({ description: 'RFC 7231 IMF-fixdate', examples: ['Sun, 06 Nov 1994 08:49:37 GMT'] });

export const IdParams = Type.Object({ id: Type.String({ description: 'Entity id' }) });

/** Error responses every authenticated route may give, merged into each route's `response`. */
export function errorResponses(...codes: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const code of [400, 401, ...codes]) out[code] = ErrorBody;
  return out;
}
