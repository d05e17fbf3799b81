// Idempotency-Key (api.md §1): a POST/PUT/PATCH repeated with the same key and the same request within
// 24 h gets the first answer again and starts nothing new; the same key with a different request is a
// 409, as is a repeat while the first is still running. Keys are scoped to the calling API client.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { conflict, invalid } from '../domain/errors.js';
import type { Store } from '../store/db.js';
import type { ApiInstance } from './app.js';

const TTL_MS = 24 * 60 * 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;
const METHODS = new Set(['POST', 'PUT', 'PATCH']);

interface Pending {
  organizationId: string;
  clientId: string;
  key: string;
  replayed: boolean;
}

export function registerIdempotency(scope: ApiInstance, deps: { store: Store; clock: Clock }): void {
  const db = deps.store.db;
  const pending = new WeakMap<FastifyRequest, Pending>();

  scope.addHook('preHandler', async (request, reply) => {
    const header = request.headers['idempotency-key'];
    if (!METHODS.has(request.method) || header === undefined || !request.caller) return;
    const key = Array.isArray(header) ? header[0]! : header;
    if (!KEY.test(key)) throw invalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    const { organizationId, clientId } = request.caller;
    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const now = deps.clock.now();
    const where = db
      .deleteFrom('idempotency_keys')
      .where('organization_id', '=', organizationId)
      .where('api_client_id', '=', clientId)
      .where('key', '=', key)
      .where('created_at', '<', new Date(now.getTime() - TTL_MS).toISOString());
    await where.execute();
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({ organization_id: organizationId, api_client_id: clientId, key, request_hash: requestHash, status_code: null, response_body: null, response_content_type: null, created_at: now.toISOString() })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) {
      pending.set(request, { organizationId, clientId, key, replayed: false });
      return;
    }
    const first = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('api_client_id', '=', clientId)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    if (first.request_hash !== requestHash) throw conflict(`Idempotency-Key '${key}' was already used with a different request`);
    if (first.status_code === null) throw conflict(`a request with Idempotency-Key '${key}' is still in progress`);
    pending.set(request, { organizationId, clientId, key, replayed: true });
    reply.code(first.status_code).header('Idempotent-Replayed', 'true');
    if (first.response_content_type) reply.type(first.response_content_type);
    return reply.send(first.response_body ?? undefined);
  });

  scope.addHook('onSend', async (request, reply, payload) => {
    const p = pending.get(request);
    if (!p || p.replayed) return payload;
    pending.delete(request);
    const match = db
      .updateTable('idempotency_keys')
      .where('organization_id', '=', p.organizationId)
      .where('api_client_id', '=', p.clientId)
      .where('key', '=', p.key);
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : payload == null ? '' : null;
    if (reply.statusCode >= 500 || body === null) {
      // A failed or streamed answer is not recorded: the client may retry with the same key.
      await db.deleteFrom('idempotency_keys').where('organization_id', '=', p.organizationId).where('api_client_id', '=', p.clientId).where('key', '=', p.key).execute();
      return payload;
    }
    const contentType = reply.getHeader('content-type');
    await match.set({ status_code: reply.statusCode, response_body: body, response_content_type: typeof contentType === 'string' ? contentType : null }).execute();
    return payload;
  });
}
