// Exports (`PUT /{id}/export`, `GET /{id}/exports[/{exportId}]`): an archive or a Cypher script of the
// database, downloadable through a link that expires — a presigned S3 URL, or a signed `/downloads/…`
// link this server serves. Exports work on every plan.
import type { Caller } from '../auth/caller.js';
import { newId, normalizeId } from '../ids.js';
import { enqueueOperation } from '../operations/queue.js';
import type { ExportsTable } from '../store/schema/backups.js';
import { findDatabase } from './databases.js';
import { invalid, notFound } from '../errors.js';
import { assertReadable, type BackupsDomainDeps } from './snapshots.js';

export type ExportFormat = 'archive' | 'cypher';

/** An export with its download link: null until it is ready, and once it expired. */
export interface ExportRecord {
  row: ExportsTable;
  url: string | null;
}

async function withDownloadUrl(deps: Pick<BackupsDomainDeps, 'blobStore' | 'clock'>, row: ExportsTable): Promise<ExportRecord> {
  const remaining = Math.floor((Date.parse(row.expires_at) - deps.clock.now().getTime()) / 1000);
  const url = row.status === 'ready' && row.blob_key && remaining > 0 ? await deps.blobStore.signedDownloadUrl(row.blob_key, { expiresInSeconds: remaining, fileName: row.file_name }) : null;
  return { row, url };
}

function fileNameFor(databaseName: string, format: ExportFormat, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const safe = databaseName.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]+/, '') || 'database';
  return `${safe}-${stamp}.${format === 'cypher' ? 'cypher' : 'tar.gz'}`;
}

export async function startExport(deps: BackupsDomainDeps, caller: Caller, databaseId: string, input: { format?: string }): Promise<{ export: ExportRecord; operationId: string }> {
  const { row } = await findDatabase(deps, caller, databaseId, 'export');
  const format = (input.format ?? 'archive') as ExportFormat;
  if (format !== 'archive' && format !== 'cypher') throw invalid('format', `format '${input.format}' is not one of archive, cypher`);
  const now = deps.clock.now();
  const id = newId();
  const operationId = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('databases').select(['state', 'name']).where('id', '=', row.id).executeTakeFirstOrThrow();
    assertReadable(current, 'an export');
    const opId = await enqueueOperation(
      trx,
      { organizationId: row.organization_id, databaseId: row.id, operationType: 'export', description: `Export database ${row.name} as ${format}`, params: { exportId: id }, exclusive: false },
      now,
    );
    await trx
      .insertInto('exports')
      .values({
        id,
        organization_id: row.organization_id,
        database_id: row.id,
        format,
        status: 'pending',
        blob_key: null,
        file_name: fileNameFor(current.name, format, now),
        size_bytes: null,
        sha256: null,
        error: null,
        operation_id: opId,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + deps.exportTtlSeconds * 1000).toISOString(),
      })
      .execute();
    return opId;
  });
  deps.wake();
  const created = await deps.db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { export: await withDownloadUrl(deps, created), operationId };
}

export async function listExports(deps: BackupsDomainDeps, caller: Caller, databaseId: string): Promise<ExportRecord[]> {
  // The links are as good as the data: listing them needs the export privilege.
  const { row } = await findDatabase(deps, caller, databaseId, 'export');
  const rows = await deps.db.selectFrom('exports').selectAll().where('database_id', '=', row.id).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return Promise.all(rows.map((r) => withDownloadUrl(deps, r)));
}

export async function getExport(deps: BackupsDomainDeps, caller: Caller, databaseId: string, exportId: string): Promise<ExportRecord> {
  const { row } = await findDatabase(deps, caller, databaseId, 'export');
  const id = normalizeId(exportId);
  const found = id ? await deps.db.selectFrom('exports').selectAll().where('id', '=', id).where('database_id', '=', row.id).executeTakeFirst() : undefined;
  if (!found) throw notFound(`export '${exportId}' of database '${row.id}' does not exist`);
  return withDownloadUrl(deps, found);
}
