// Collection pagination (api.md §1): `?limit=` (default 100, max 1000) and `?after=<id>`; a
// `Link: <…>; rel="next"` header when more remain. Domain list functions return up to `limit + 1`
// items; `sendPage` trims the extra one and, when it was there, links to the next page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PAGE_LIMIT } from './schemas/common.js';

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
