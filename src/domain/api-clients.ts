// API clients: the OAuth2 client credentials of an organization (api.md §6). The secret is shown once
// and stored as a hash; refreshing it or deleting the client revokes every token issued before.
import type { Kysely } from 'kysely';
import type { Caller, Role } from '../auth/caller.js';
import { requireOrganizationAdmin } from '../auth/policy.js';
import { hashClientSecret, newClientSecret } from '../auth/secrets.js';
import type { Clock } from '../clock.js';
import { newId, normalizeId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';
import type { ApiClientRow } from '../store/schema/identity.js';
import { invalid, notFound } from '../errors.js';
import { assertPlainText } from './plain-text.js';

export const ROLES: readonly Role[] = ['owner', 'admin', 'operator', 'read-operator', 'billing'];
/** Roles an API client may be given through the API (owners and billing come from the CLI). */
export const API_CLIENT_ROLES: readonly Role[] = ['admin', 'operator', 'read-operator'];

export interface ApiClient {
  id: string;
  organizationId: string;
  name: string;
  clientId: string;
  role: Role;
  environmentIds: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

type Db = Kysely<Tables>;

async function environmentIdsOf(db: Db, clientIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  if (clientIds.length === 0) return map;
  const rows = await db
    .selectFrom('api_client_environments')
    .select(['api_client_id', 'environment_id'])
    .where('api_client_id', 'in', clientIds)
    .orderBy('environment_id')
    .execute();
  for (const r of rows) map.set(r.api_client_id, [...(map.get(r.api_client_id) ?? []), r.environment_id]);
  return map;
}

function toApiClient(row: ApiClientRow, environmentIds: string[]): ApiClient {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    clientId: row.client_id,
    role: row.role as Role,
    environmentIds,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
  };
}

function checkName(name: string): string {
  assertPlainText('name', name);
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 100) throw invalid('name', 'name must be 1 to 100 characters');
  return trimmed;
}

/** Normalizes and checks environment ids against the organization; 400 naming the first unknown one. */
async function checkEnvironmentIds(db: Db, organizationId: string, ids: string[]): Promise<string[]> {
  const normalized: string[] = [];
  // A form cannot send an empty list; `environmentIds=` (one empty value) means none.
  for (const id of ids.filter((i) => i.trim() !== '')) {
    const n = normalizeId(id);
    if (!n) throw invalid('environmentIds', `environment '${id}' does not exist`);
    if (!normalized.includes(n)) normalized.push(n);
  }
  if (normalized.length === 0) return [];
  const found = await db.selectFrom('environments').select('id').where('organization_id', '=', organizationId).where('id', 'in', normalized).execute();
  const known = new Set(found.map((r) => r.id));
  const missing = normalized.find((id) => !known.has(id));
  if (missing) throw invalid('environmentIds', `environment '${missing}' does not exist`);
  return normalized;
}

export interface NewApiClient {
  name: string;
  role?: Role;
  environmentIds?: string[];
}

/** Creates a client without a caller check (bootstrap, `allotrope admin create-client`). */
export async function insertApiClient(db: Db, organizationId: string, input: NewApiClient, clock: Clock): Promise<{ client: ApiClient; clientSecret: string }> {
  const name = checkName(input.name);
  const role = input.role ?? 'operator';
  if (!ROLES.includes(role)) throw invalid('role', `role '${String(role)}' is not one of ${ROLES.join(', ')}`);
  const environmentIds = await checkEnvironmentIds(db, organizationId, input.environmentIds ?? []);
  const clientSecret = newClientSecret();
  const now = clock.now().toISOString();
  const row: ApiClientRow = {
    id: newId(),
    organization_id: organizationId,
    name,
    client_id: newId(),
    secret_hash: hashClientSecret(clientSecret),
    role,
    token_generation: 0,
    tokens_valid_after: now,
    created_at: now,
    last_used_at: null,
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('api_clients').values(row).execute();
    for (const environmentId of environmentIds) {
      await trx.insertInto('api_client_environments').values({ api_client_id: row.id, environment_id: environmentId, organization_id: organizationId }).execute();
    }
  });
  return { client: toApiClient(row, environmentIds), clientSecret };
}

export async function createApiClient(db: Db, caller: Caller, input: NewApiClient, clock: Clock): Promise<{ client: ApiClient; clientSecret: string }> {
  requireOrganizationAdmin(caller, 'manage API clients');
  const role = input.role ?? 'operator';
  if (!API_CLIENT_ROLES.includes(role)) throw invalid('role', `role '${role}' is not one of ${API_CLIENT_ROLES.join(', ')}`);
  return insertApiClient(db, caller.organizationId, { ...input, role }, clock);
}

async function findRow(db: Db, caller: Caller, id: string): Promise<ApiClientRow> {
  requireOrganizationAdmin(caller, 'manage API clients');
  const n = normalizeId(id);
  const row = n ? await db.selectFrom('api_clients').selectAll().where('id', '=', n).where('organization_id', '=', caller.organizationId).executeTakeFirst() : undefined;
  if (!row) throw notFound(`API client '${id}' does not exist`);
  return row;
}

export async function getApiClient(db: Db, caller: Caller, id: string): Promise<ApiClient> {
  const row = await findRow(db, caller, id);
  return toApiClient(row, (await environmentIdsOf(db, [row.id])).get(row.id) ?? []);
}

/** Clients of the caller's organization ordered by id; up to `limit + 1` so the caller can tell if more remain. */
export async function listApiClients(db: Db, caller: Caller, page: { limit: number; after?: string }): Promise<ApiClient[]> {
  requireOrganizationAdmin(caller, 'manage API clients');
  let q = db.selectFrom('api_clients').selectAll().where('organization_id', '=', caller.organizationId);
  if (page.after) q = q.where('id', '>', normalizeId(page.after) ?? page.after);
  const rows = await q.orderBy('id').limit(page.limit + 1).execute();
  const envs = await environmentIdsOf(db, rows.map((r) => r.id));
  return rows.map((r) => toApiClient(r, envs.get(r.id) ?? []));
}

export async function updateApiClient(db: Db, caller: Caller, id: string, patch: { name?: string; environmentIds?: string[] }): Promise<ApiClient> {
  const row = await findRow(db, caller, id);
  const name = patch.name !== undefined ? checkName(patch.name) : undefined;
  const environmentIds = patch.environmentIds !== undefined ? await checkEnvironmentIds(db, caller.organizationId, patch.environmentIds) : undefined;
  await db.transaction().execute(async (trx) => {
    if (name !== undefined) await trx.updateTable('api_clients').set({ name }).where('id', '=', row.id).execute();
    if (environmentIds !== undefined) {
      await trx.deleteFrom('api_client_environments').where('api_client_id', '=', row.id).execute();
      for (const environmentId of environmentIds) {
        await trx.insertInto('api_client_environments').values({ api_client_id: row.id, environment_id: environmentId, organization_id: row.organization_id }).execute();
      }
    }
  });
  return getApiClient(db, caller, row.id);
}

/** A new secret; the old one and every token issued before stop working at once. */
export async function refreshApiClientSecret(db: Db, caller: Caller, id: string, clock: Clock): Promise<{ clientSecret: string }> {
  const row = await findRow(db, caller, id);
  const clientSecret = newClientSecret();
  await db
    .updateTable('api_clients')
    .set({ secret_hash: hashClientSecret(clientSecret), token_generation: row.token_generation + 1, tokens_valid_after: clock.now().toISOString() })
    .where('id', '=', row.id)
    .execute();
  return { clientSecret };
}

export async function deleteApiClient(db: Db, caller: Caller, id: string): Promise<void> {
  const row = await findRow(db, caller, id);
  await db.deleteFrom('api_clients').where('id', '=', row.id).execute();
}
