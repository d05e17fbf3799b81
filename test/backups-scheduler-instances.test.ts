// Two backup schedulers on one store (as two control planes run them): a due backup is taken once, never
// twice — whether both tick at the same moment or run their loops side by side — and when the leader
// stops, the other takes the next due backup, so none is lost. On PostgreSQL when ALLOTROPE_TEST_PG_URL is
// set (the concurrent case is then real), else on SQLite. The blob store is a stub: nothing expires here,
// so the sweep never calls it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { systemClock } from '../src/clock.js';
import { createBackupScheduler } from '../src/scheduler/backups.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { insertDatabaseRow, openTempStore } from './helpers/lifecycle-store.js';
import { waitFor } from './helpers/wait-for.js';

const logger = pino({ level: 'silent' });
const blobStore = { delete: async () => assert.fail('nothing expires in this test') } as unknown as BlobStore;

describe('backup schedulers of several control planes', () => {
  test('a due backup is taken once by two schedulers, whether they tick together or loop side by side; the other takes over when the leader stops', async () => {
    const temp = await openTempStore();
    try {
      const { store } = temp;
      const databaseId = await insertDatabaseRow(store, undefined, { plan: 'ds2' });
      const schedule = (lastDue: Date) =>
        store.db
          .insertInto('backup_schedules')
          .values({ database_id: databaseId, organization_id: 'org', enabled: 1, frequency: 'daily', time: '03:00', timezone: 'UTC', retention: 7, day_of_week: 0, day_of_month: 1, last_due_at: lastDue.toISOString(), updated_at: new Date().toISOString() })
          .onConflict((oc) => oc.column('database_id').doUpdateSet({ last_due_at: lastDue.toISOString() }))
          .execute();
      const scheduled = async () => (await store.db.selectFrom('snapshots').select('due_at').where('kind', '=', 'scheduled').execute()).map((r) => r.due_at).sort();
      const deps = { store, clock: systemClock, logger, blobStore, wake: () => undefined, intervalMs: 100 };

      // Both tick at the same moment: one takes the due time, the other finds it taken.
      const now = new Date('2026-03-02T03:00:30Z');
      await schedule(new Date('2026-03-01T03:00:00Z'));
      const a = createBackupScheduler({ ...deps, holder: 'a' });
      const b = createBackupScheduler({ ...deps, holder: 'b' });
      const reports = await Promise.all([a.tick(now), b.tick(now)]);
      assert.equal(reports.flatMap((r) => r.started).length, 1, JSON.stringify(reports));
      assert.deepEqual(await scheduled(), ['2026-03-02T03:00:00.000Z']);

      // Their loops side by side: the one due backup (today's, as of the real clock) is taken once.
      const today = new Date();
      today.setUTCHours(3, 0, 0, 0);
      if (today.getTime() > Date.now()) today.setUTCDate(today.getUTCDate() - 1);
      const before = new Date(today.getTime() - 24 * 3600_000);
      await store.db.deleteFrom('snapshots').execute();
      await store.db.deleteFrom('operations').execute();
      await schedule(before);
      a.start();
      b.start();
      await waitFor(async () => (await scheduled()).length > 0, { timeoutMs: 10_000, what: 'the scheduled backup' });
      const leader = (await store.db.selectFrom('leader_leases').select('holder').where('name', '=', 'backup-scheduler').executeTakeFirstOrThrow()).holder;
      // Many rounds later still one.
      for (let i = 0; i < 10; i++) await (leader === 'a' ? a : b).tick(new Date());
      assert.deepEqual(await scheduled(), [today.toISOString()]);

      // The leader stops (a clean stop gives the lease up); a backup that falls due is taken by the other.
      await (leader === 'a' ? a : b).stop();
      await store.db.deleteFrom('snapshots').execute();
      await store.db.deleteFrom('operations').execute();
      await schedule(before);
      await waitFor(async () => (await scheduled()).length > 0, { timeoutMs: 10_000, what: 'the other scheduler to take the backup' });
      assert.equal((await store.db.selectFrom('leader_leases').select('holder').where('name', '=', 'backup-scheduler').executeTakeFirstOrThrow()).holder, leader === 'a' ? 'b' : 'a');
      assert.deepEqual(await scheduled(), [today.toISOString()]);
      await (leader === 'a' ? b : a).stop();
    } finally {
      await temp.close();
    }
  });
});
