// Snapshots (api.md §5 "Backups"): on-demand snapshots with a label, the list of scheduled backups,
// the latest backup, deletion, restore into this or another database, and clone (a new database seeded
// from a consistent online backup of this one). Snapshots need a `standard` plan or above.
import type { Kysely } from 'kysely';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../clock.js';
import { newId, normalizeId } from '../ids.js';
import { activeOperationId, enqueueOperation, isExclusiveViolation } from '../operations/queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Tables } from '../store/schema/index.js';
import { recordSnapshotGone } from '../store/snapshot-storage.js';
import type { SnapshotsTable } from '../store/schema/backups.js';
import type { DatabasesTable } from '../store/schema/lifecycle.js';
import { findPlan } from './catalog.js';
import { createDatabase, findDatabase, type CreatedDatabase, type DatabaseDeps } from './databases.js';
import { DomainError, conflict, forbidden, invalid, notFound } from '../errors.js';
import { assertPlainText } from './plain-text.js';

export interface BackupsDomainDeps {
  db: Kysely<Tables>;
  clock: Clock;
  blobStore: BlobStore;
  /** Wakes the operations engine after an enqueue. */
  wake(): void;
  /** What createDatabase needs (clone creates a database). */
  databases: DatabaseDeps;
  /** How long a final snapshot is kept after terminate. */
  finalSnapshotRetentionMs: number;
  /** Lifetime of export download links. */
  exportTtlSeconds: number;
  /** Largest import, in bytes. */
  importMaxBytes: number;
  /** Host patterns `{url}` imports may download from (checked again, with DNS, when the import runs). */
  importHosts: readonly string[];
  importAllowHttp: boolean;
}

/** 403 naming the plan unless the database's plan includes snapshots (and scheduled backups). */
export function assertSnapshotsAllowed(row: DatabasesTable, what = 'snapshots'): void {
  const plan = findPlan(row.plan);
  if (!plan?.features.snapshots) {
    throw forbidden(`${what} need a standard plan or above; database '${row.name}' is on plan ${plan?.name ?? row.plan.toUpperCase()} (change the plan with POST /{id}/plan/change)`);
  }
}

/**
 * Snapshots, exports and clones read a paused database's files as they are; restores and imports replace
 * them. Either way it stays paused.
 */
export function assertReadable(row: Pick<DatabasesTable, 'state'>, action: string): void {
  if (row.state !== 'running' && row.state !== 'paused') throw conflict(`database is ${row.state}; ${action} needs a database that is running or paused`);
}

/**
 * Restore and import replace the data, so they also take a `failed` database: replacing the data is how
 * one whose data does not start is mended.
 */
export function assertReplaceable(row: Pick<DatabasesTable, 'state'>, action: string): void {
  if (row.state !== 'running' && row.state !== 'paused' && row.state !== 'failed') {
    throw conflict(`database is ${row.state}; ${action} needs a database that is running, paused or failed`);
  }
}

const LABEL_MAX = 200;
// Snapshots a user sees; clone seeds are internal to the clone's create operation.
const VISIBLE_KINDS = ['on-demand', 'scheduled', 'final'];

export async function createSnapshot(deps: BackupsDomainDeps, caller: Caller, databaseId: string, input: { label?: string | null }): Promise<{ snapshot: SnapshotsTable; operationId: string }> {
  const { row } = await findDatabase(deps, caller, databaseId, 'snapshot');
  assertSnapshotsAllowed(row);
  if (typeof input.label === 'string') assertPlainText('label', input.label);
  const label = input.label === undefined || input.label === null ? null : String(input.label).trim();
  if (label !== null && label.length > LABEL_MAX) throw invalid('label', `label must be at most ${LABEL_MAX} characters`);
  const now = deps.clock.now();
  const id = newId();
  const operationId = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('databases').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    assertReadable(current, 'a snapshot');
    const max = findPlan(current.plan)?.features.maxSnapshots ?? 0;
    const taken = await trx
      .selectFrom('snapshots')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('database_id', '=', row.id)
      .where('kind', '=', 'on-demand')
      .where('status', '<>', 'failed')
      .executeTakeFirstOrThrow();
    if (max > 0 && Number(taken.n) >= max) throw conflict(`database '${row.name}' already has ${max} snapshots, the most plan ${current.plan.toUpperCase()} keeps; delete one first`);
    const opId = await enqueueOperation(
      trx,
      { organizationId: row.organization_id, databaseId: row.id, operationType: 'snapshot', description: `Snapshot of database ${row.name}${label ? ` (${label})` : ''}`, params: { snapshotId: id }, exclusive: false },
      now,
    );
    await trx.insertInto('snapshots').values(newSnapshotRow(id, row, 'on-demand', label, opId, now, null, null)).execute();
    return opId;
  });
  deps.wake();
  const snapshot = await deps.db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { snapshot, operationId };
}

export function newSnapshotRow(
  id: string,
  database: Pick<DatabasesTable, 'id' | 'organization_id'>,
  kind: string,
  label: string | null,
  operationId: string | null,
  now: Date,
  expiresAt: Date | null,
  dueAt: Date | null,
): SnapshotsTable {
  return {
    id,
    organization_id: database.organization_id,
    database_id: database.id,
    kind,
    label,
    status: 'pending',
    blob_key: null,
    size_bytes: null,
    sha256: null,
    node_count: null,
    relationship_count: null,
    error: null,
    operation_id: operationId,
    due_at: dueAt ? dueAt.toISOString() : null,
    created_at: now.toISOString(),
    expires_at: expiresAt ? expiresAt.toISOString() : null,
  };
}

export async function listSnapshots(deps: Pick<BackupsDomainDeps, 'db'>, caller: Caller, databaseId: string, kinds: string[] = VISIBLE_KINDS): Promise<SnapshotsTable[]> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  return deps.db
    .selectFrom('snapshots')
    .selectAll()
    .where('database_id', '=', row.id)
    .where('kind', 'in', kinds)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

async function findSnapshot(deps: Pick<BackupsDomainDeps, 'db'>, database: DatabasesTable, snapshotId: string): Promise<SnapshotsTable> {
  const id = normalizeId(snapshotId);
  const row = id
    ? await deps.db.selectFrom('snapshots').selectAll().where('id', '=', id).where('database_id', '=', database.id).where('kind', 'in', VISIBLE_KINDS).executeTakeFirst()
    : undefined;
  if (!row) throw notFound(`snapshot '${snapshotId}' of database '${database.id}' does not exist`);
  return row;
}

export async function getSnapshot(deps: Pick<BackupsDomainDeps, 'db'>, caller: Caller, databaseId: string, snapshotId: string): Promise<SnapshotsTable> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  return findSnapshot(deps, row, snapshotId);
}

export async function deleteSnapshot(deps: BackupsDomainDeps, caller: Caller, databaseId: string, snapshotId: string): Promise<void> {
  const { row } = await findDatabase(deps, caller, databaseId, 'snapshot');
  const snapshot = await findSnapshot(deps, row, snapshotId);
  if (snapshot.status === 'pending') throw conflict(`snapshot '${snapshot.id}' is still being taken (operation ${snapshot.operation_id}); delete it once it is ready`);
  // A restore still reading it would fail; refuse while one runs.
  const restoring = await deps.db
    .selectFrom('operations')
    .select('id')
    .where('status', '=', 'started')
    .where('operation_type', 'in', ['restore', 'create'])
    .where('params', 'like', `%${snapshot.id}%`)
    .executeTakeFirst();
  if (restoring) throw conflict(`snapshot '${snapshot.id}' is being restored by operation ${restoring.id}`);
  if (snapshot.blob_key) await deps.blobStore.delete(snapshot.blob_key);
  await recordSnapshotGone(deps.db, snapshot.id, deps.clock.now());
  await deps.db.deleteFrom('snapshots').where('id', '=', snapshot.id).execute();
}

export async function latestBackup(deps: Pick<BackupsDomainDeps, 'db'>, caller: Caller, databaseId: string): Promise<SnapshotsTable> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  const latest = await deps.db
    .selectFrom('snapshots')
    .selectAll()
    .where('database_id', '=', row.id)
    .where('kind', 'in', VISIBLE_KINDS)
    .where('status', '=', 'ready')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!latest) throw notFound(`database '${row.id}' has no completed snapshot or backup yet`);
  return latest;
}

/** Restores a snapshot of `databaseId` into it, or into `targetDatabaseId` (same organization). */
export async function restoreSnapshot(deps: BackupsDomainDeps, caller: Caller, databaseId: string, snapshotId: string, input: { targetDatabaseId?: string }): Promise<{ operationId: string }> {
  const { row: source } = await findDatabase(deps, caller, databaseId, 'read');
  const snapshot = await findSnapshot(deps, source, snapshotId);
  if (snapshot.status !== 'ready') throw conflict(`snapshot '${snapshot.id}' is ${snapshot.status}; only a ready snapshot can be restored`);
  let target = source;
  const targetId = input.targetDatabaseId === undefined || input.targetDatabaseId === '' ? source.id : (normalizeId(input.targetDatabaseId) ?? input.targetDatabaseId);
  if (targetId !== source.id) {
    // The target must be visible to the caller (404 otherwise, as for an unknown id) and restorable in its
    // environment; copying the source's data elsewhere is a clone as far as the source's scope is concerned.
    target = (await findDatabase(deps, caller, targetId, 'restore')).row;
    await findDatabase(deps, caller, source.id, 'clone');
  } else {
    await findDatabase(deps, caller, databaseId, 'restore');
  }
  const now = deps.clock.now();
  const operationId = await deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('databases').selectAll().where('id', '=', target.id).executeTakeFirstOrThrow();
    const active = await activeOperationId(trx, target.id);
    if (active) throw conflict(`operation ${active} is in progress`);
    assertReplaceable(current, 'restore');
    await trx.updateTable('databases').set({ state: 'restoring' }).where('id', '=', target.id).execute();
    return enqueueOperation(
      trx,
      {
        organizationId: target.organization_id,
        databaseId: target.id,
        operationType: 'restore',
        description: `Restore snapshot ${snapshot.id}${snapshot.label ? ` (${snapshot.label})` : ''} of ${source.name} into database ${current.name}`,
        // A paused target gets the snapshot's data and stays paused (the operation does not start it).
        params: { snapshotId: snapshot.id, sourceDatabaseId: source.id, stayPaused: current.state === 'paused' },
      },
      now,
    );
  }).catch(async (err: unknown) => {
    // Another control plane enqueued between our check and our insert: the store's index said no.
    if (!isExclusiveViolation(err)) throw err;
    throw conflict(`operation ${(await activeOperationId(deps.db, target.id)) ?? '(another)'} is in progress`);
  });
  deps.wake();
  return { operationId };
}

export interface CloneInput {
  name: string;
  environmentId?: string;
  plan?: string;
  version?: string;
}

/**
 * Clones a running or paused database: a hidden `clone` snapshot row is written first, then a new database
 * is created from it; the new database's create operation takes the backup of the source (online, so a
 * running source keeps serving; from the files of a paused one, which stays paused) and restores it into
 * the new node before it starts.
 */
export async function cloneDatabase(deps: BackupsDomainDeps, caller: Caller, databaseId: string, input: CloneInput): Promise<CreatedDatabase> {
  const { row } = await findDatabase(deps, caller, databaseId, 'clone');
  assertReadable(row, 'clone');
  const now = deps.clock.now();
  const snapshotId = newId();
  // Kept a day, so a create operation resumed after a crash still finds it; the sweep deletes it.
  await deps.db.insertInto('snapshots').values(newSnapshotRow(snapshotId, row, 'clone', `clone of ${row.name}`, null, now, new Date(now.getTime() + 24 * 3600_000), null)).execute();
  try {
    return await createDatabase(
      // The source was authorized for 'clone' above; the seed is the one row just written.
      { ...deps.databases, snapshotUsable: async (_caller, id) => id === snapshotId },
      caller,
      {
        environmentId: input.environmentId ?? row.environment_id,
        name: input.name,
        plan: input.plan ?? row.plan,
        version: input.version ?? row.version_number,
        fromSnapshotId: snapshotId,
      },
    );
  } catch (err) {
    await deps.db.deleteFrom('snapshots').where('id', '=', snapshotId).execute();
    throw err;
  }
}

/**
 * For `fromSnapshotId` on create: a ready snapshot (clone seeds included) of a database the caller may
 * clone. A snapshot of an environment the caller cannot see is false (404, as for an unknown id); one
 * whose environment type does not let the caller clone throws forbidden.
 */
export async function snapshotUsableBy(db: Kysely<Tables>, caller: Caller, snapshotId: string): Promise<boolean> {
  const row = await db
    .selectFrom('snapshots')
    .select(['status', 'kind', 'database_id'])
    .where('id', '=', snapshotId)
    .where('organization_id', '=', caller.organizationId)
    .executeTakeFirst();
  if (!row || !(row.status === 'ready' || (row.kind === 'clone' && row.status === 'pending'))) return false;
  try {
    await findDatabase({ db }, caller, row.database_id, 'clone');
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'not-found') return false;
    throw err;
  }
  return true;
}
