// Imports (`PUT /{id}/import`): replace a database's data with an uploaded file or one downloaded from
// an allowed URL — our archive or a Cypher script, told apart by content when the operation runs. The
// upload is already in the blob store when this is called (the route streams it there); a URL is only
// checked for form and host here, and fully (DNS, addresses, redirects, size) when downloaded.
import type { Caller } from '../auth/caller.js';
import { newId } from '../ids.js';
import { activeOperationId, enqueueOperation, isExclusiveViolation } from '../operations/queue.js';
import { importKey } from '../storage/keys.js';
import { hostMatches } from '../storage/safe-fetch.js';
import { findDatabase, type VisibleDatabase } from './databases.js';
import { conflict, invalid } from '../errors.js';
import { assertReplaceable, type BackupsDomainDeps } from './snapshots.js';

export type ImportSource = { blobKey: string } | { url: string };

/** Checks the caller may import into the database (before an upload is accepted at all). */
export async function authorizeImport(deps: Pick<BackupsDomainDeps, 'db'>, caller: Caller, databaseId: string): Promise<VisibleDatabase> {
  return findDatabase(deps, caller, databaseId, 'import');
}

/** A fresh blob key for an upload into the organization's import area. */
export function newUploadKey(organizationId: string): string {
  return importKey(organizationId, newId());
}

export function checkImportUrl(deps: Pick<BackupsDomainDeps, 'importHosts' | 'importAllowHttp'>, url: unknown): string {
  if (typeof url !== 'string' || url.length === 0) throw invalid('url', 'url must be an https URL of the file to import');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('url', 'url is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && !(deps.importAllowHttp && parsed.protocol === 'http:')) {
    throw invalid('url', `url must use https${deps.importAllowHttp ? ' or http' : ''}`);
  }
  if (parsed.username || parsed.password) throw invalid('url', 'url must not carry a user name or password');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!hostMatches(host, deps.importHosts)) {
    throw invalid('url', `imports may only be downloaded from ${deps.importHosts.join(', ')}; host '${host}' is not allowed`);
  }
  return parsed.toString();
}

export async function startImport(deps: BackupsDomainDeps, caller: Caller, databaseId: string, source: ImportSource): Promise<{ operationId: string }> {
  const { row } = await findDatabase(deps, caller, databaseId, 'import');
  const now = deps.clock.now();
  const params: Record<string, unknown> =
    'url' in source ? { url: checkImportUrl(deps, source.url), blobKey: newUploadKey(row.organization_id) } : { blobKey: source.blobKey };
  const operationId = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('databases').select(['state', 'name']).where('id', '=', row.id).executeTakeFirstOrThrow();
    const active = await activeOperationId(trx, row.id);
    if (active) throw conflict(`operation ${active} is in progress`);
    assertReplaceable(current, 'import');
    // A paused database gets the new data and stays paused (the operation does not start it).
    params.stayPaused = current.state === 'paused';
    await trx.updateTable('databases').set({ state: 'importing' }).where('id', '=', row.id).execute();
    return enqueueOperation(
      trx,
      { organizationId: row.organization_id, databaseId: row.id, operationType: 'import', description: `Import into database ${current.name}${'url' in source ? ' from a URL' : ' from an upload'}`, params },
      now,
    );
  }).catch(async (err: unknown) => {
    // Another control plane enqueued between our check and our insert: the store's index said no.
    if (!isExclusiveViolation(err)) throw err;
    throw conflict(`operation ${(await activeOperationId(deps.db, row.id)) ?? '(another)'} is in progress`);
  });
  deps.wake();
  return { operationId };
}
