// Idempotency-Key (api.md §1): a POST/PUT/PATCH repeated with the same key and the same request within
// 24 h gets the first answer again and starts nothing new; the same key with a different request is a
// 409, as is a repeat while the first is still running. Keys are scoped to the calling API client.
// A recorded answer may hold a secret shown once (a client secret, a database password), so the store
// keeps only a hash of the key and the answer encrypted under a key derived from the Idempotency-Key:
// the store alone does not reveal it (clients should send high-entropy keys, e.g. UUIDs).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { conflict, invalid } from '../errors.js';
import type { Store } from '../store/db.js';
import type { ApiInstance } from './types.js';

const TTL_MS = 24 * 60 * 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;
const METHODS = new Set(['POST', 'PUT', 'PATCH']);

function keyHash(key: string): string {
  return createHash('sha256').update(`idempotency-key\n${key}`).digest('hex');
}

function answerKey(key: string, organizationId: string, clientId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, `${organizationId}:${clientId}`, 'allotrope idempotent answer', 32));
}

function seal(plain: string, k: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function open(sealed: string, k: Buffer): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

interface Pending {
  organizationId: string;
  clientId: string;
  /** sha256 of the Idempotency-Key, as stored. */
  key: string;
  /** Encrypts the recorded answer. */
  sealKey: Buffer;
  replayed: boolean;
}

export function registerIdempotency(scope: ApiInstance, deps: { store: Store; clock: Clock }): void {
  const db = deps.store.db;
  const pending = new WeakMap<FastifyRequest, Pending>();

  scope.addHook('preHandler', async (request, reply) => {
    const header = request.headers['idempotency-key'];
    if (!METHODS.has(request.method) || header === undefined || !request.caller) return;
    const givenKey = Array.isArray(header) ? header[0]! : header;
    if (!KEY.test(givenKey)) throw invalid('Idempotency-Key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    const { organizationId, clientId } = request.caller;
    const key = keyHash(givenKey);
    const sealKey = answerKey(givenKey, organizationId, clientId);
    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const now = deps.clock.now();
    // Expired records go on every keyed request (indexed by created_at), so the table stays small.
    await db.deleteFrom('idempotency_keys').where('created_at', '<', new Date(now.getTime() - TTL_MS).toISOString()).execute();
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({ organization_id: organizationId, api_client_id: clientId, key, request_hash: requestHash, status_code: null, response_body: null, response_content_type: null, created_at: now.toISOString() })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) {
      pending.set(request, { organizationId, clientId, key, sealKey, replayed: false });
      return;
    }
    const first = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('api_client_id', '=', clientId)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    if (first.request_hash !== requestHash) throw conflict(`Idempotency-Key '${givenKey}' was already used with a different request`);
    if (first.status_code === null) throw conflict(`a request with Idempotency-Key '${givenKey}' is still in progress`);
    const body = first.response_body ? open(first.response_body, sealKey) : '';
    if (body === null) throw conflict(`Idempotency-Key '${givenKey}' was already used with a different request`);
    pending.set(request, { organizationId, clientId, key, sealKey, replayed: true });
    reply.code(first.status_code).header('Idempotent-Replayed', 'true');
    if (first.response_content_type) reply.type(first.response_content_type);
    return reply.send(body === '' ? undefined : body);
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
    await match.set({ status_code: reply.statusCode, response_body: body === '' ? null : seal(body, p.sealKey), response_content_type: typeof contentType === 'string' ? contentType : null }).execute();
    return payload;
  });
}
