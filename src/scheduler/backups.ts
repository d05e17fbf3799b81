// The scheduled-backup loop: on every tick, each enabled schedule whose due time has come gets one
// snapshot operation. The due time is claimed with a conditional UPDATE (`last_due_at` must still be
// what we read) in the same transaction as the snapshot row and its operation, so two ticks — or two
// control planes — never take the same scheduled backup twice. The tick also sweeps expired final and
// clone snapshots and expired exports.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { findPlan } from '../domain/catalog.js';
import { scheduleOf } from '../domain/backup-schedules.js';
import { newSnapshotRow } from '../domain/snapshots.js';
import { newId } from '../ids.js';
import { enqueueOperation } from '../operations/queue.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Store } from '../store/db.js';
import { recordSnapshotGone } from '../store/snapshot-storage.js';
import { dueNow } from '../domain/backup-schedule-rules.js';
import { instanceId } from '../instance-id.js';
import { LeaderLease } from '../store/leader-lease.js';

export interface BackupSchedulerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  blobStore: BlobStore;
  wake(): void;
  /** How often the loop ticks (default 30 s; due times are whole minutes). */
  intervalMs?: number;
  /** Who this scheduler is among those sharing the store (default: this process). */
  holder?: string;
}

export interface TickReport {
  started: string[];
  skipped: { databaseId: string; reason: string }[];
  swept: number;
}

export interface BackupScheduler {
  start(): void;
  stop(): Promise<void>;
  tick(now?: Date): Promise<TickReport>;
}

export function createBackupScheduler(deps: BackupSchedulerDeps): BackupScheduler {
  const db = deps.store.db;
  const logger = deps.logger.child({ area: 'backup-scheduler' });
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  const intervalMs = deps.intervalMs ?? 30_000;
  // Control planes sharing a store take turns: one ticks, the others take over when it stops renewing.
  const lease = new LeaderLease(db, 'backup-scheduler', deps.holder ?? instanceId, Math.max(3 * intervalMs, 10_000), deps.clock);

  async function tick(now: Date = deps.clock.now()): Promise<TickReport> {
    const report: TickReport = { started: [], skipped: [], swept: 0 };
    const schedules = await db.selectFrom('backup_schedules').selectAll().where('enabled', '=', 1).execute();
    for (const row of schedules) {
      const schedule = scheduleOf(row);
      let due: Date | null;
      try {
        due = dueNow(schedule, new Date(row.last_due_at), now);
      } catch (err) {
        logger.error({ err, databaseId: row.database_id }, 'a backup schedule cannot be evaluated');
        continue;
      }
      if (!due) continue;
      const dueIso = due.toISOString();
      const outcome = await db.transaction().execute(async (trx): Promise<{ operationId: string } | { skipped: string }> => {
        const claimed = await trx
          .updateTable('backup_schedules')
          .set({ last_due_at: dueIso })
          .where('database_id', '=', row.database_id)
          .where('last_due_at', '=', row.last_due_at)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return { skipped: 'already taken by another tick' };
        const database = await trx.selectFrom('databases').selectAll().where('id', '=', row.database_id).executeTakeFirst();
        if (!database) return { skipped: 'database gone' };
        // The due time stays claimed: a backup that cannot be taken now is not taken later either.
        if (database.state !== 'running') return { skipped: `database is ${database.state}` };
        if (!findPlan(database.plan)?.features.scheduledBackups) return { skipped: `plan ${database.plan} has no scheduled backups` };
        const snapshotId = newId();
        const operationId = await enqueueOperation(
          trx,
          {
            organizationId: database.organization_id,
            databaseId: database.id,
            operationType: 'snapshot',
            description: `Scheduled backup of database ${database.name} (due ${due!.toUTCString()})`,
            params: { snapshotId },
            exclusive: false,
          },
          now,
        );
        await trx.insertInto('snapshots').values(newSnapshotRow(snapshotId, database, 'scheduled', null, operationId, now, null, due)).execute();
        return { operationId };
      });
      if ('operationId' in outcome) {
        report.started.push(outcome.operationId);
        logger.info({ databaseId: row.database_id, operationId: outcome.operationId, dueAt: dueIso }, 'scheduled backup started');
      } else {
        report.skipped.push({ databaseId: row.database_id, reason: outcome.skipped });
        logger.warn({ databaseId: row.database_id, dueAt: dueIso, reason: outcome.skipped }, 'scheduled backup skipped');
      }
    }
    if (report.started.length > 0) deps.wake();
    report.swept = await sweep(now);
    return report;
  }

  async function sweep(now: Date): Promise<number> {
    const nowIso = now.toISOString();
    let swept = 0;
    const snapshots = await db.selectFrom('snapshots').select(['id', 'blob_key']).where('expires_at', 'is not', null).where('expires_at', '<', nowIso)
      .where((eb) => eb.or([eb('status', '<>', 'pending'), eb('kind', '=', 'clone')]))
      .execute();
    for (const s of snapshots) {
      if (s.blob_key) await deps.blobStore.delete(s.blob_key);
      await recordSnapshotGone(db, s.id, now);
      await db.deleteFrom('snapshots').where('id', '=', s.id).execute();
      swept++;
    }
    const exports = await db.selectFrom('exports').select(['id', 'blob_key']).where('expires_at', '<', nowIso).where('blob_key', 'is not', null).execute();
    for (const e of exports) {
      await deps.blobStore.delete(e.blob_key!);
      await db.updateTable('exports').set({ blob_key: null }).where('id', '=', e.id).execute();
      swept++;
    }
    return swept;
  }

  return {
    tick,
    start() {
      if (timer) return;
      const run = () => {
        if (running) return;
        running = lease
          .acquire()
          .then((leader) => (leader ? tick() : null))
          .catch((err: unknown) => logger.error({ err }, 'backup scheduler tick failed'))
          .finally(() => (running = null));
      };
      timer = setInterval(run, intervalMs);
      timer.unref();
      run();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
      await lease.release().catch((err: unknown) => logger.warn({ err }, 'could not release the backup scheduler lease'));
    },
  };
}
