// Collection pagination (api.md §1): `?limit=` (default 100, max 1000) and `?after=<id>`; a
// `Link: <…>; rel="next"` header when more remain. Domain list functions return up to `limit + 1`
// items; `sendPage` trims the extra one and, when it was there, links to the next page.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT, description: 'Items per page (max 1000).' })),
    after: Type.Optional(Type.String({ maxLength: 64, description: 'Id of the last item of the previous page.' })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

export function pageRequest(query: { limit?: number; after?: string }): { limit: number; after?: string } {
  return { limit: query.limit ?? DEFAULT_PAGE_LIMIT, ...(query.after ? { after: query.after } : {}) };
}

/** Returns the first `limit` items and sets the `Link` header when there were more. */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, items: T[], limit: number, idOf: (item: T) => string): T[] {
  if (items.length <= limit) return items;
  const page = items.slice(0, limit);
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('after', idOf(page[page.length - 1]!));
  reply.header('Link', `<${url.toString()}>; rel="next"`);
  return page;
}
