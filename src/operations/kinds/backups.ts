// Operation kinds of the backups area — snapshot, export, restore, import — and the mechanics they share
// with the lifecycle hooks (final snapshot, seeding a new database from a snapshot or a clone).
// Every step works in `<workRoot>/<operationId>/`, which it clears first, so a re-run after a crash
// starts over cleanly. Restore and import prepare and verify the incoming files completely (down to the
// engine opening them) while the database keeps running; only then is the node stopped and its data
// swapped, so a bad archive never touches the data. The old data stays aside until the new data has
// started, and goes back if it does not or the operation fails.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';
import type { Kysely, Transaction } from 'kysely';
import { CypherScriptError, inspectGrafeoFile } from '../../graph-server/engines/grafeo/cypher-dump.js';
import { loadCypherIsolated } from '../../graph-server/engines/grafeo/cypher-import.js';
import { DATABASE_FILE, dumpCypherInWorker, verifyGrafeoFile } from '../../graph-server/engines/grafeo/database-files.js';
import { dumpNeo4jCypherToFile } from '../../graph-server/engines/neo4j/cypher-export.js';
import { loadCypherIntoNeo4j } from '../../graph-server/engines/neo4j/cypher-load.js';
import { loadNeo4jDump } from '../../graph-server/engines/neo4j/dump-load.js';
import type { Neo4jEngineFiles } from '../../graph-server/engines/neo4j/jvm.js';
import { Neo4jImportError } from '../../graph-server/engines/neo4j/scratch.js';
import type { NodeSpec, Runtime } from '../../runtimes/runtime.js';
import { ArchiveError, detectImportFormat, extractArchive, writeArchive, type ArchiveEngine, type Manifest } from '../../storage/archive.js';
import { HashingCounter, StorageError, type BlobStore } from '../../storage/blob-store.js';
import { FetchRefusedError, safeFetch, type SafeFetchOptions } from '../../storage/safe-fetch.js';
import type { Tables } from '../../store/schema/index.js';
import { recordSnapshotGone } from '../../store/snapshot-storage.js';
import { OperationError, type OperationKind, type Step, type StepContext } from '../kind.js';
import { nodeSpecsOf } from '../../domain/node-specs.js';
import { newSnapshotRow } from '../../domain/snapshots.js';
import { newId } from '../../ids.js';
import { exportKey, snapshotKey } from '../../storage/keys.js';

export interface BackupKindsDeps {
  runtime: Runtime;
  blobStore: BlobStore;
  /** Where node processes listen (for node specs). */
  nodeHost: string;
  /** Scratch space for backups being packed or unpacked; one sub-directory per operation. */
  workRoot: string;
  /** Largest import (upload or URL download), in bytes. */
  importMaxBytes: number;
  /** Rules for `{url}` imports (hosts, https, resolver). */
  importFetch: Omit<SafeFetchOptions, 'maxBytes'>;
  /** Memory cap and time bound of a Cypher-script import, which loads in a child process. */
  cypherImport: { maxMemoryBytes: number; timeoutMs: number };
  /** The installed Neo4j engine's version (written into Neo4j archives), or null. */
  neo4jVersion?: string | null;
  /** The installed Neo4j engine, for the scratch JVMs of Cypher exports and imports and `.dump` imports; null if none. */
  neo4j?: Neo4jEngineFiles | null;
}

export const SNAPSHOT_KINDS = ['on-demand', 'scheduled', 'final', 'clone'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];


type Db = Kysely<Tables> | Transaction<Tables>;

async function freshDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function workDirOf(deps: BackupKindsDeps, operationId: string): string {
  return join(deps.workRoot, operationId);
}

async function primarySpec(db: Db, deps: BackupKindsDeps, databaseId: string): Promise<NodeSpec> {
  const specs = await nodeSpecsOf(db as Kysely<Tables>, databaseId, deps.nodeHost);
  const primary = specs.find((s) => !s.readOnly) ?? specs[0];
  if (!primary) throw new OperationError(`database ${databaseId} has no node`);
  return primary;
}

/**
 * Most bytes an import archive may unpack to: the import limit times 10. Real exports gzip 2.2:1
 * (200k nodes) to 5.9:1 (1k nodes), so 10 leaves room; above it the archive is refused unread.
 */
export const IMPORT_MAX_EXPANSION = 10;

/** Turns the refusals of archives, downloads, scripts and storage into messages for the user. */
function explain(err: unknown, what: string): never {
  if (err instanceof OperationError) throw err;
  if (err instanceof ArchiveError || err instanceof FetchRefusedError || err instanceof CypherScriptError || err instanceof StorageError || err instanceof Neo4jImportError) {
    throw new OperationError(`${what}: ${err.message}`, { cause: err });
  }
  throw err;
}

export interface PackedBackup {
  /** Directory holding the database's files in node layout (`graph.grafeo`, or `neo4j/data/…` for Neo4j). */
  dataDir: string;
  /** Null when they could not be counted (a paused Neo4j database). */
  counts: { nodes: number; relationships: number } | null;
  engine: ArchiveEngine;
  engineVersion: string;
}

/** Where a Neo4j node keeps the files a backup holds, relative to its data dir (engines/neo4j/jvm.ts). */
const NEO4J_DIRS = ['neo4j/data/databases/neo4j', 'neo4j/data/transactions/neo4j'];

/** Online backup of a running node into `<work>/data` in node layout; the node keeps serving. */
export async function backupNode(deps: BackupKindsDeps, stationId: string, work: string): Promise<PackedBackup> {
  const raw = await freshDir(join(work, 'raw'));
  await deps.runtime.backup(stationId, raw);
  const files = await readdir(raw);
  if (files.includes('neo4j')) {
    // A Neo4j node copies its store and transaction logs (after a checkpoint, commits held back) in node layout.
    const dataDir = await freshDir(join(work, 'data'));
    await rename(join(raw, 'neo4j'), join(dataDir, 'neo4j'));
    await rm(raw, { recursive: true, force: true });
    const counts = await deps.runtime.counts(stationId).catch(() => null);
    return { dataDir, counts, engine: 'neo4j', engineVersion: deps.neo4jVersion ?? 'unknown' };
  }
  const full = files.filter((f) => /^backup_full_\d+\.grafeo$/.test(f)).sort().pop();
  if (!full) throw new OperationError('the online backup produced no database file; retry the action');
  const dataDir = await freshDir(join(work, 'data'));
  await rename(join(raw, full), join(dataDir, DATABASE_FILE));
  await rm(raw, { recursive: true, force: true });
  const info = await inspectGrafeoFile(join(dataDir, DATABASE_FILE));
  return { dataDir, counts: { nodes: info.nodes, relationships: info.relationships }, engine: 'grafeo', engineVersion: info.engineVersion };
}

/** Packs a node-layout directory as our archive and stores it under `key`. */
export async function storeArchive(
  deps: BackupKindsDeps,
  packed: PackedBackup,
  key: string,
  database: { id: string; name: string },
  createdAt: Date,
): Promise<{ sizeBytes: number; sha256: string }> {
  const stream = writeArchive(packed.dataDir, { engineName: packed.engine, engineVersion: packed.engineVersion, database, createdAt, counts: packed.counts });
  return deps.blobStore.put(key, stream, { contentType: 'application/gzip' });
}

/**
 * Downloads and verifies an archive into `<work>/incoming` (node layout). The whole blob's sha256 must be
 * `expectedSha256` when given, and every file its manifest's checksum; nothing outside `work` is written.
 */
export async function unpackArchive(
  deps: BackupKindsDeps,
  key: string,
  work: string,
  expectedSha256: string | null,
  options: { maxTotalBytes?: number; signal?: AbortSignal; engine: ArchiveEngine },
): Promise<string> {
  const target = join(work, 'incoming');
  await rm(target, { recursive: true, force: true });
  const source = await deps.blobStore.get(key);
  const counter = new HashingCounter();
  source.on('error', (err) => counter.destroy(err));
  source.pipe(counter);
  let manifest: Manifest;
  try {
    manifest = await extractArchive(counter, target, options);
  } finally {
    // A refusal stops reading at once: the rest of the blob is never downloaded.
    source.destroy();
  }
  if (expectedSha256 && counter.sha256() !== expectedSha256) {
    await rm(target, { recursive: true, force: true });
    throw new ArchiveError('checksum-mismatch', 'the stored archive does not match the checksum recorded when it was taken: it was altered or damaged');
  }
  if (manifest.engine.name !== options.engine) {
    await rm(target, { recursive: true, force: true });
    throw new ArchiveError(
      'wrong-engine',
      `the archive holds a ${manifest.engine.name} database and this database runs on ${options.engine}; to move data between engines, export it as a Cypher script and import that`,
    );
  }
  if (manifest.engine.name === 'neo4j') {
    // Opening a Neo4j store takes a JVM; its start after the swap is the check, and the old data is kept
    // aside until then (and put back if it does not start).
    await assertNeo4jLayout(target);
    return target;
  }
  await assertNodeLayout(target);
  // A file with the right checksum can still be no database: open it as the graph-server would, before
  // it replaces anything (a 1,600-byte file of noise used to be swapped in and the old data deleted).
  try {
    await verifyGrafeoFile(join(target, DATABASE_FILE));
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw new ArchiveError('not-a-database', `the archive's ${DATABASE_FILE} is not a database this server can open (${(err as Error).message})`, { cause: err });
  }
  return target;
}

/** A Neo4j backup holds the store and transaction logs of database `neo4j` and nothing else. */
async function assertNeo4jLayout(dir: string): Promise<void> {
  const stray = async (rel: string): Promise<string | null> => {
    if (NEO4J_DIRS.some((d) => rel === d || rel.startsWith(`${d}/`))) return null;
    if (!NEO4J_DIRS.some((d) => d.startsWith(`${rel}/`)) && rel !== '') return rel;
    for (const name of await readdir(rel === '' ? dir : join(dir, rel))) {
      const found = await stray(rel === '' ? name : `${rel}/${name}`);
      if (found) return found;
    }
    return null;
  };
  const found = await stray('');
  if (found) {
    await rm(dir, { recursive: true, force: true });
    throw new ArchiveError('unlisted-file', `the archive holds '${found}', which is not part of a Neo4j database backup`);
  }
  const store = await stat(join(dir, NEO4J_DIRS[0]!)).catch(() => null);
  if (!store?.isDirectory()) throw new ArchiveError('missing-file', 'the archive holds no Neo4j store; it is not a database backup');
}

/** A backup holds the engine's file and nothing else: any other file would land in the node's data dir. */
async function assertNodeLayout(dir: string): Promise<void> {
  const others = (await readdir(dir)).filter((name) => name !== DATABASE_FILE);
  if (others.length > 0) {
    await rm(dir, { recursive: true, force: true });
    throw new ArchiveError('unlisted-file', `the archive holds '${others[0]}', which is not part of a database backup (only ${DATABASE_FILE} is)`);
  }
  const info = await stat(join(dir, DATABASE_FILE)).catch(() => null);
  if (!info?.isFile()) throw new ArchiveError('missing-file', `the archive holds no ${DATABASE_FILE}; it is not a database backup`);
}

/**
 * Stops the node and swaps its data for `incoming`, keeping the old data aside until the new data has
 * started (`keep-new-data` deletes it; a failure puts it back). Each part is idempotent.
 */
async function swapData(deps: BackupKindsDeps, ctx: StepContext, incoming: string): Promise<void> {
  const spec = await primarySpec(ctx.db, deps, ctx.operation.databaseId);
  await deps.runtime.stop(spec.stationId);
  await deps.runtime.restoreFiles(spec.stationId, incoming, { keepReplaced: true });
}

async function startNodes(deps: BackupKindsDeps, ctx: StepContext): Promise<void> {
  for (const spec of await nodeSpecsOf(ctx.db, ctx.operation.databaseId, deps.nodeHost)) await deps.runtime.start(spec);
}

/** Puts back the data a swap kept aside, stopping the node for it; false when there was none. */
async function putOldDataBack(deps: BackupKindsDeps, ctx: StepContext): Promise<boolean> {
  const spec = await primarySpec(ctx.db, deps, ctx.operation.databaseId);
  const putBack = await deps.runtime.restoreReplacedFiles(spec.stationId);
  if (putBack) ctx.logger.warn({ databaseId: ctx.operation.databaseId, operationId: ctx.operation.id }, 'the data from before the restore or import was put back');
  return putBack;
}

/** A restore or import into a paused database leaves it paused: its node is not started. */
function staysPaused(ctx: StepContext): boolean {
  return ctx.operation.params.stayPaused === true;
}

/**
 * After a failed restore or import: a paused database stays paused (its files are the old or the new ones,
 * never a mix); a running one is running again if its node can be, else failed.
 */
async function settleRunning(deps: BackupKindsDeps, ctx: StepContext): Promise<'running' | 'paused' | 'failed'> {
  await rm(workDirOf(deps, ctx.operation.id), { recursive: true, force: true }).catch(() => undefined);
  // A failed operation leaves the data as it was: whatever the swap kept aside goes back first.
  await putOldDataBack(deps, ctx).catch((err: unknown) => ctx.logger.error({ err }, 'the data from before the restore or import could not be put back'));
  if (staysPaused(ctx)) return 'paused';
  try {
    await startNodes(deps, ctx);
    return 'running';
  } catch (err) {
    ctx.logger.error({ err }, 'the node did not start again after a failed restore or import');
    return 'failed';
  }
}

async function setDatabaseState(trx: Transaction<Tables>, databaseId: string, state: string, now: Date): Promise<void> {
  const extra = state === 'running' ? { under_incident: 0, health_status: 'healthy', health_checked_at: now.toISOString() } : {};
  await trx.updateTable('databases').set({ state, ...extra }).where('id', '=', databaseId).execute();
}

/** Memory of the scratch Neo4j that reads a backup copy for a Cypher export (heap half, page cache a quarter). */
const SCRATCH_EXPORT_MEMORY_MB = 512;

function neo4jEngine(deps: BackupKindsDeps): Neo4jEngineFiles {
  if (!deps.neo4j) throw new OperationError("the Neo4j engine is not installed on this server; run 'allotrope engines install neo4j'");
  return deps.neo4j;
}

/** A scratch JVM's own lines (Java errors; Neo4j's log stays in its home) go to the operation's log. */
function jvmLog(ctx: StepContext): (line: string) => void {
  return (line) => ctx.logger.debug({ operationId: ctx.operation.id, databaseId: ctx.operation.databaseId }, `scratch neo4j: ${line}`);
}

async function engineOf(db: Db, databaseId: string): Promise<ArchiveEngine> {
  const row = await db.selectFrom('databases').select('engine').where('id', '=', databaseId).executeTakeFirst();
  return row?.engine === 'neo4j' ? 'neo4j' : 'grafeo';
}

async function databaseName(db: Db, databaseId: string): Promise<string> {
  const row = await db.selectFrom('databases').select('name').where('id', '=', databaseId).executeTakeFirst();
  return row?.name ?? databaseId;
}

// ---------------------------------------------------------------------------------------------------
/**
 * The terminate operation's `take-final-snapshot` step (kinds/databases.ts calls it through its
 * `finalSnapshot` hook): an online backup of a healthy node, else a backup of its files, kept `retentionMs`;
 * files the engine cannot open give no final snapshot, which the step says, and termination goes on.
 */
export async function takeFinalSnapshot(deps: BackupKindsDeps, ctx: StepContext, retentionMs: number): Promise<string> {
  const databaseId = ctx.operation.databaseId;
  const existing = await ctx.db.selectFrom('snapshots').selectAll().where('operation_id', '=', ctx.operation.id).where('kind', '=', 'final').executeTakeFirst();
  if (existing?.status === 'ready') return `final snapshot ${existing.id} already taken`;
  const database = await ctx.db.selectFrom('databases').selectAll().where('id', '=', databaseId).executeTakeFirstOrThrow();
  const now = ctx.clock.now();
  const snapshotId = existing?.id ?? newId();
  if (!existing) {
    await ctx.db.insertInto('snapshots').values(newSnapshotRow(snapshotId, database, 'final', `final snapshot of ${database.name}`, ctx.operation.id, now, new Date(now.getTime() + retentionMs), null)).execute();
  }
  try {
    // A node that is not serving (paused, or crashing) is stopped for good and backed up from its files.
    for (const spec of await nodeSpecsOf(ctx.db, databaseId, deps.nodeHost)) {
      if ((await deps.runtime.health(spec.stationId).catch(() => ({ status: 'stopped' }))).status !== 'healthy') await deps.runtime.stop(spec.stationId);
    }
    const summary = await takeSnapshot(deps, ctx, snapshotId, databaseId);
    return `final snapshot ${snapshotId} kept until ${new Date(now.getTime() + retentionMs).toUTCString()}: ${summary}`;
  } catch (err) {
    // Termination goes on: a database that cannot run cannot be backed up, and must still be removable.
    const message = err instanceof Error ? err.message : String(err);
    await ctx.db.updateTable('snapshots').set({ status: 'failed', error: message }).where('id', '=', snapshotId).execute();
    ctx.logger.warn({ err, databaseId }, 'final snapshot failed; terminating without it');
    return `no final snapshot: ${message}`;
  }
}

// Taking a snapshot (also used by the final-snapshot and clone hooks)

/**
 * Takes the snapshot row `snapshotId` (status pending) of database `sourceDatabaseId`'s primary (an online
 * backup while it runs, from its files while it is paused), archives it, stores it and marks it ready.
 * A ready snapshot is left as it is (idempotent).
 */
export async function takeSnapshot(deps: BackupKindsDeps, ctx: StepContext, snapshotId: string, sourceDatabaseId: string): Promise<string> {
  const row = await ctx.db.selectFrom('snapshots').selectAll().where('id', '=', snapshotId).executeTakeFirst();
  if (!row) throw new OperationError(`snapshot ${snapshotId} was deleted before it was taken`);
  if (row.status === 'ready') return `snapshot ${snapshotId} already taken`;
  const work = await freshDir(join(workDirOf(deps, ctx.operation.id), `snapshot-${snapshotId}`));
  try {
    const source = await ctx.db.selectFrom('databases').select(['state', 'name']).where('id', '=', sourceDatabaseId).executeTakeFirst();
    if (!source || source.state === 'terminated') throw new OperationError(`database ${source?.name ?? sourceDatabaseId} was terminated before its backup was taken`);
    const spec = await primarySpec(ctx.db, deps, sourceDatabaseId);
    const packed = await backupNode(deps, spec.stationId, work);
    const key = snapshotKey(row.organization_id, row.database_id, row.id);
    const name = await databaseName(ctx.db, sourceDatabaseId);
    const stored = await storeArchive(deps, packed, key, { id: sourceDatabaseId, name }, new Date(row.created_at));
    await ctx.db
      .updateTable('snapshots')
      .set({ status: 'ready', blob_key: key, size_bytes: stored.sizeBytes, sha256: stored.sha256, node_count: packed.counts?.nodes ?? null, relationship_count: packed.counts?.relationships ?? null, error: null })
      .where('id', '=', snapshotId)
      .execute();
    return packed.counts ? `${packed.counts.nodes} nodes, ${packed.counts.relationships} relationships, ${stored.sizeBytes} bytes` : `${stored.sizeBytes} bytes`;
  } catch (err) {
    explain(err, 'the snapshot could not be taken');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Puts snapshot `snapshotId`'s files into the stopped node `stationId` (create from snapshot, clone). */
export async function restoreSnapshotInto(deps: BackupKindsDeps, ctx: StepContext, stationId: string, snapshotId: string): Promise<string> {
  const row = await ctx.db.selectFrom('snapshots').selectAll().where('id', '=', snapshotId).where('organization_id', '=', ctx.operation.organizationId).executeTakeFirst();
  if (!row) throw new OperationError(`snapshot ${snapshotId} no longer exists`);
  // A clone's snapshot is taken here, by the new database's operation: the source keeps serving.
  if (row.status === 'pending' && row.kind === 'clone') await takeSnapshot(deps, ctx, row.id, row.database_id);
  const ready = await ctx.db.selectFrom('snapshots').selectAll().where('id', '=', snapshotId).executeTakeFirstOrThrow();
  if (ready.status !== 'ready' || !ready.blob_key) throw new OperationError(`snapshot ${snapshotId} is ${ready.status}; only a ready snapshot can be restored`);
  const work = await freshDir(join(workDirOf(deps, ctx.operation.id), `restore-${snapshotId}`));
  try {
    const incoming = await unpackArchive(deps, ready.blob_key, work, ready.sha256, { signal: ctx.signal, engine: await engineOf(ctx.db, ctx.operation.databaseId) });
    await deps.runtime.restoreFiles(stationId, incoming);
    return `restored snapshot ${snapshotId} (${ready.node_count ?? 0} nodes, ${ready.relationship_count ?? 0} relationships)`;
  } catch (err) {
    explain(err, `snapshot ${snapshotId} could not be restored`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Deletes the oldest ready scheduled backups of a database beyond `retention` (blob first, then row). */
export async function applyRetention(db: Kysely<Tables>, blobStore: BlobStore, databaseId: string, retention: number, now: Date): Promise<number> {
  const rows = await db
    .selectFrom('snapshots')
    .select(['id', 'blob_key'])
    .where('database_id', '=', databaseId)
    .where('kind', '=', 'scheduled')
    .where('status', '=', 'ready')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const doomed = rows.slice(Math.max(0, retention));
  for (const row of doomed) {
    if (row.blob_key) await blobStore.delete(row.blob_key);
    await recordSnapshotGone(db, row.id, now);
    await db.deleteFrom('snapshots').where('id', '=', row.id).execute();
  }
  return doomed.length;
}

// ---------------------------------------------------------------------------------------------------
// Kinds

export function backupOperationKinds(deps: BackupKindsDeps): OperationKind[] {
  const cleanUp: Step = {
    name: 'clean-up',
    async run(ctx) {
      await rm(workDirOf(deps, ctx.operation.id), { recursive: true, force: true });
    },
  };

  const snapshot: OperationKind = {
    type: 'snapshot',
    steps: [
      {
        name: 'take-snapshot',
        async run(ctx) {
          return takeSnapshot(deps, ctx, String(ctx.operation.params.snapshotId), ctx.operation.databaseId);
        },
      },
      {
        name: 'apply-retention',
        async run(ctx) {
          const row = await ctx.db.selectFrom('snapshots').select('kind').where('id', '=', String(ctx.operation.params.snapshotId)).executeTakeFirst();
          if (row?.kind !== 'scheduled') return 'not a scheduled backup';
          const schedule = await ctx.db.selectFrom('backup_schedules').select('retention').where('database_id', '=', ctx.operation.databaseId).executeTakeFirst();
          if (!schedule) return 'no schedule';
          const deleted = await applyRetention(ctx.db, deps.blobStore, ctx.operation.databaseId, schedule.retention, ctx.clock.now());
          return `${deleted} old scheduled backup(s) deleted (retention ${schedule.retention})`;
        },
      },
      cleanUp,
    ],
    async onFailure(trx, ctx, error) {
      await trx.updateTable('snapshots').set({ status: 'failed', error: error.message }).where('id', '=', String(ctx.operation.params.snapshotId)).execute();
      await rm(workDirOf(deps, ctx.operation.id), { recursive: true, force: true }).catch(() => undefined);
    },
  };

  const exportKind: OperationKind = {
    type: 'export',
    steps: [
      {
        name: 'write-export',
        async run(ctx) {
          const exportId = String(ctx.operation.params.exportId);
          const row = await ctx.db.selectFrom('exports').selectAll().where('id', '=', exportId).executeTakeFirst();
          if (!row) throw new OperationError(`export ${exportId} was deleted`);
          if (row.status === 'ready') return 'already written';
          const work = await freshDir(join(workDirOf(deps, ctx.operation.id), 'export'));
          try {
            const spec = await primarySpec(ctx.db, deps, row.database_id);
            const packed = await backupNode(deps, spec.stationId, work);
            const key = exportKey(row.organization_id, row.id, row.file_name);
            let stored: { sizeBytes: number; sha256: string };
            if (row.format === 'cypher' && packed.engine === 'neo4j') {
              // Read from the backup copy in a scratch Neo4j: one consistent moment, and the live node untouched.
              const script = join(work, 'export.cypher');
              await dumpNeo4jCypherToFile(neo4jEngine(deps), packed.dataDir, script, { memoryMb: SCRATCH_EXPORT_MEMORY_MB, log: jvmLog(ctx) });
              stored = await deps.blobStore.put(key, createReadStream(script), { contentType: 'text/plain; charset=utf-8' });
            } else if (row.format === 'cypher') {
              const script = join(work, 'export.cypher');
              await dumpCypherInWorker(join(packed.dataDir, DATABASE_FILE), script).catch((err: Error) => {
                throw err.name === 'CypherScriptError' ? new CypherScriptError(err.message) : err;
              });
              stored = await deps.blobStore.put(key, createReadStream(script), { contentType: 'text/plain; charset=utf-8' });
            } else {
              stored = await storeArchive(deps, packed, key, { id: row.database_id, name: await databaseName(ctx.db, row.database_id) }, new Date(row.created_at));
            }
            await ctx.db.updateTable('exports').set({ status: 'ready', blob_key: key, size_bytes: stored.sizeBytes, sha256: stored.sha256, error: null }).where('id', '=', exportId).execute();
            return `${row.format} export of ${packed.counts ? `${packed.counts.nodes} nodes, ${packed.counts.relationships} relationships, ` : ''}${stored.sizeBytes} bytes`;
          } catch (err) {
            explain(err, 'the export could not be written');
          } finally {
            await rm(work, { recursive: true, force: true });
          }
        },
      },
      cleanUp,
    ],
    async onFailure(trx, ctx, error) {
      await trx.updateTable('exports').set({ status: 'failed', error: error.message }).where('id', '=', String(ctx.operation.params.exportId)).execute();
      await rm(workDirOf(deps, ctx.operation.id), { recursive: true, force: true }).catch(() => undefined);
    },
  };

  const swapSteps: Step[] = [
    {
      name: 'replace-data',
      async run(ctx) {
        await swapData(deps, ctx, join(workDirOf(deps, ctx.operation.id), 'incoming'));
      },
    },
    {
      name: 'start-node',
      async run(ctx) {
        if (staysPaused(ctx)) return 'the database was paused and stays paused; resume it to serve the new data';
        try {
          await startNodes(deps, ctx);
        } catch (err) {
          ctx.logger.error({ err, databaseId: ctx.operation.databaseId }, 'the node did not start with the new data');
          if (!(await putOldDataBack(deps, ctx))) throw err;
          try {
            await startNodes(deps, ctx);
          } catch (again) {
            ctx.logger.error({ err: again }, 'the node did not start with its previous data either');
            throw new OperationError("the database did not start with the new data, nor with its previous data, which was put back", { cause: again });
          }
          throw new OperationError("the database did not start with the new data; its previous data was put back and is served again", { cause: err });
        }
      },
    },
    {
      name: 'keep-new-data',
      async run(ctx) {
        const spec = await primarySpec(ctx.db, deps, ctx.operation.databaseId);
        await deps.runtime.discardReplacedFiles(spec.stationId);
      },
    },
  ];

  const endings = {
    async onSuccess(trx: Transaction<Tables>, ctx: StepContext) {
      await setDatabaseState(trx, ctx.operation.databaseId, staysPaused(ctx) ? 'paused' : 'running', ctx.clock.now());
    },
    async settle(ctx: StepContext) {
      return settleRunning(deps, ctx);
    },
    async onFailure(trx: Transaction<Tables>, ctx: StepContext, _error: OperationError, settled: unknown) {
      const state = settled === 'running' || settled === 'paused' ? settled : 'failed';
      await setDatabaseState(trx, ctx.operation.databaseId, state, ctx.clock.now());
    },
  };

  const restore: OperationKind = {
    type: 'restore',
    steps: [
      {
        name: 'verify-snapshot',
        async run(ctx) {
          const snapshotId = String(ctx.operation.params.snapshotId);
          const row = await ctx.db.selectFrom('snapshots').selectAll().where('id', '=', snapshotId).where('organization_id', '=', ctx.operation.organizationId).executeTakeFirst();
          if (row?.status !== 'ready' || !row.blob_key) throw new OperationError(`snapshot ${snapshotId} is not available any more; the database's data was not changed`);
          const work = await freshDir(workDirOf(deps, ctx.operation.id));
          try {
            await unpackArchive(deps, row.blob_key, work, row.sha256, { signal: ctx.signal, engine: await engineOf(ctx.db, ctx.operation.databaseId) });
          } catch (err) {
            explain(err, `snapshot ${snapshotId} was refused and the database's data was not changed`);
          }
          return `snapshot ${snapshotId} verified (${row.node_count ?? 0} nodes, ${row.relationship_count ?? 0} relationships)`;
        },
      },
      ...swapSteps,
      cleanUp,
    ],
    ...endings,
  };

  const importKind: OperationKind = {
    type: 'import',
    steps: [
      {
        name: 'fetch-import',
        async run(ctx) {
          const key = String(ctx.operation.params.blobKey);
          const url = ctx.operation.params.url;
          if (typeof url !== 'string') return 'uploaded with the request';
          try {
            const download = await safeFetch(url, { ...deps.importFetch, maxBytes: deps.importMaxBytes });
            const stored = await deps.blobStore.put(key, download.body, { maxBytes: deps.importMaxBytes });
            return `downloaded ${stored.sizeBytes} bytes from ${download.finalHost}`;
          } catch (err) {
            explain(err, "the import URL was refused and the database's data was not changed");
          }
        },
      },
      {
        name: 'verify-import',
        async run(ctx) {
          const key = String(ctx.operation.params.blobKey);
          const work = await freshDir(workDirOf(deps, ctx.operation.id));
          try {
            const format = detectImportFormat(await firstBytes(await deps.blobStore.get(key), 8192));
            const engine = await engineOf(ctx.db, ctx.operation.databaseId);
            if (format === 'archive') {
              await unpackArchive(deps, key, work, null, { maxTotalBytes: deps.importMaxBytes * IMPORT_MAX_EXPANSION, signal: ctx.signal, engine });
              return 'archive verified';
            }
            if (format === 'neo4j-dump' && engine === 'grafeo') {
              throw new OperationError(
                "a Neo4j dump can only be imported into a Neo4j database; to move it to this Grafeo database, import it into a Neo4j database, export that as a Cypher script (format \"cypher\") and import the script here. The database's data was not changed",
              );
            }
            const limits = { timeoutMs: deps.cypherImport.timeoutMs, signal: ctx.signal, memoryMb: Math.floor(deps.cypherImport.maxMemoryBytes / 2 ** 20), log: jvmLog(ctx) };
            if (format === 'neo4j-dump') {
              const dump = join(await freshDir(join(work, 'dump')), 'neo4j.dump');
              await pipelinePromise(await deps.blobStore.get(key), createWriteStream(dump), { signal: ctx.signal });
              const result = await loadNeo4jDump(neo4jEngine(deps), dump, join(work, 'scratch'), join(work, 'incoming'), { ...limits, maxStoreBytes: deps.importMaxBytes * IMPORT_MAX_EXPANSION });
              await rm(join(work, 'dump'), { recursive: true, force: true });
              await rm(join(work, 'scratch'), { recursive: true, force: true });
              return `Neo4j dump loaded: ${result.nodes} nodes, ${result.relationships} relationships`;
            }
            if (format === 'cypher' && engine === 'neo4j') {
              const script = join(work, 'script.cypher');
              await pipelinePromise(await deps.blobStore.get(key), createWriteStream(script), { signal: ctx.signal });
              const result = await loadCypherIntoNeo4j(neo4jEngine(deps), script, join(work, 'scratch'), join(work, 'incoming'), limits);
              await rm(script, { force: true });
              await rm(join(work, 'scratch'), { recursive: true, force: true });
              return `Cypher script loaded: ${result.statements} statements, ${result.nodes} nodes, ${result.relationships} relationships`;
            }
            if (format === 'cypher') {
              const script = join(work, 'script.cypher');
              await pipelinePromise(await deps.blobStore.get(key), createWriteStream(script), { signal: ctx.signal });
              const result = await loadCypherIsolated(script, join(work, 'incoming'), { ...deps.cypherImport, signal: ctx.signal });
              await rm(script, { force: true });
              return `Cypher script loaded: ${result.statements} statements, ${result.nodes} nodes, ${result.relationships} relationships${result.skippedSchema ? `; ${result.skippedSchema} index or constraint statements Grafeo has no counterpart for were left out (text, point, fulltext, vector, on relationships)` : ''}`;
            }
            throw new OperationError("the import is neither an Allotrope archive (gzipped tar), a Cypher script nor a Neo4j dump; the database's data was not changed");
          } catch (err) {
            explain(err, "the import was refused and the database's data was not changed");
          }
        },
      },
      ...swapSteps,
      cleanUp,
      {
        name: 'delete-upload',
        async run(ctx) {
          await deps.blobStore.delete(String(ctx.operation.params.blobKey));
        },
      },
    ],
    ...endings,
    async settle(ctx: StepContext) {
      await deps.blobStore.delete(String(ctx.operation.params.blobKey)).catch(() => undefined);
      return settleRunning(deps, ctx);
    },
  };

  return [snapshot, exportKind, restore, importKind];
}

async function firstBytes(stream: Readable, n: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= n) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}
