// The lifecycle's bookkeeping against an in-memory runtime: what start() reconciles, how runtime events
// and health checks show in the database's status, resuming a dead worker's operation, and settling the
// state after a failed step.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createLifecycle, type Lifecycle } from '../src/server/lifecycle.js';
import { claimOperation, enqueueOperation } from '../src/operations/queue.js';
import { FakeRuntime } from './helpers/lifecycle-fake-runtime.js';
import { insertDatabaseRow, insertNodeRow, openTempStore, silentLogger, type TempStore } from './helpers/lifecycle-store.js';
import { waitFor } from './helpers/wait-for.js';

describe('lifecycle bookkeeping with a fake runtime', () => {
  let temp: TempStore;
  let runtime: FakeRuntime;
  let lifecycle: Lifecycle;

  beforeEach(async () => {
    temp = await openTempStore();
    runtime = new FakeRuntime();
    const config = loadConfig({ env: { ALLOTROPE_DATA_DIR: temp.dir } });
    config.runtime.healthIntervalMs = 60_000; // health passes are driven by the tests
    lifecycle = await createLifecycle({ config, store: temp.store, clock: systemClock, logger: silentLogger, runtime, pollIntervalMs: 50 });
  });

  afterEach(async () => {
    await lifecycle.stop();
    await temp.close();
  });

  async function database(id: string) {
    return temp.store.db.selectFrom('databases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  async function withState(state: string): Promise<{ id: string; station: string }> {
    const id = await insertDatabaseRow(temp.store);
    await temp.store.db.updateTable('databases').set({ state }).where('id', '=', id).execute();
    return { id, station: await insertNodeRow(temp.store, id) };
  }

  test('start() reconciles exactly the running databases; one that cannot start becomes failed', async () => {
    const running = await withState('running');
    const broken = await withState('running');
    const paused = await withState('paused');
    const terminated = await withState('terminated');
    runtime.running.add(paused.station); // a stray process of a paused database
    runtime.failing.add(broken.station);
    await lifecycle.start();
    assert.deepEqual(runtime.reconciled?.map((s) => s.stationId).sort(), [running.station, broken.station].sort());
    const spec = runtime.reconciled!.find((s) => s.stationId === running.station)!;
    // Nodes pick loopback ports of their own (0); the database's public ports belong to the router.
    assert.deepEqual([spec.boltPort, spec.httpPort, spec.host], [0, 0, '127.0.0.1']);
    assert.ok(runtime.users.has(running.station));
    assert.equal(runtime.running.has(paused.station), false);
    assert.equal(runtime.running.has(terminated.station), false);
    assert.deepEqual([(await database(broken.id)).state, (await database(broken.id)).under_incident], ['failed', 1]);
    assert.equal((await database(running.id)).state, 'running');
  });

  test('runtime events show as underIncident and health; gave-up marks the database failed', async () => {
    const a = await withState('running');
    const p = await withState('paused');
    await lifecycle.start();
    runtime.emit({ stationId: a.station, type: 'exited', detail: 'killed' });
    await waitFor(async () => (await database(a.id)).under_incident === 1);
    assert.equal((await database(a.id)).health_status, 'stopped');
    runtime.emit({ stationId: a.station, type: 'restarted' });
    await waitFor(async () => (await database(a.id)).under_incident === 0);
    assert.equal((await database(a.id)).health_status, 'healthy');
    runtime.emit({ stationId: a.station, type: 'unhealthy' });
    await waitFor(async () => (await database(a.id)).health_status === 'unhealthy');
    runtime.emit({ stationId: a.station, type: 'gave-up', detail: '5 restarts failed' });
    await waitFor(async () => (await database(a.id)).state === 'failed');
    runtime.emit({ stationId: p.station, type: 'exited' });
    runtime.emit({ stationId: 'unknown-station', type: 'exited' });
    await lifecycle.checkHealth();
    assert.deepEqual([(await database(p.id)).state, (await database(p.id)).under_incident], ['paused', 0]);
  });

  test('a health pass flags an unhealthy running database and clears the flag once healthy', async () => {
    const a = await withState('running');
    await lifecycle.start();
    runtime.unhealthy.add(a.station);
    await lifecycle.checkHealth();
    assert.deepEqual([(await database(a.id)).under_incident, (await database(a.id)).health_status], [1, 'unhealthy']);
    runtime.unhealthy.delete(a.station);
    await lifecycle.checkHealth();
    assert.deepEqual([(await database(a.id)).under_incident, (await database(a.id)).health_status], [0, 'healthy']);
  });

  test("start() resumes the operation a dead control plane left half done", async () => {
    const a = await withState('restarting');
    const opId = await temp.store.db.transaction().execute((trx) =>
      enqueueOperation(trx, { organizationId: 'org', databaseId: a.id, operationType: 'restart', description: 'restart', params: { reset: false } }, new Date()),
    );
    // SQLite has one control plane, so a claim found at start is a dead one's; on a shared PostgreSQL store
    // the claim is taken over when its lease ends.
    await claimOperation(temp.store.db, 'dead-worker', new Date(), temp.store.dialect === 'sqlite' ? 60_000 : 1000);
    await temp.store.db.updateTable('operations').set({ current_step: 1 }).where('id', '=', opId).execute();
    await lifecycle.start();
    await waitFor(async () => (await temp.store.db.selectFrom('operations').select('status').where('id', '=', opId).executeTakeFirstOrThrow()).status === 'finished');
    assert.equal((await database(a.id)).state, 'running');
    assert.ok(runtime.calls.includes(`start ${a.station}`));
    assert.ok(!runtime.calls.some((c) => c.startsWith('provision')));
  });

  test('a failed restart settles the database to failed with its node stopped', async () => {
    const a = await withState('restarting');
    runtime.running.add(a.station);
    runtime.failing.add(a.station);
    const opId = await temp.store.db.transaction().execute((trx) =>
      enqueueOperation(trx, { organizationId: 'org', databaseId: a.id, operationType: 'restart', description: 'restart', params: {} }, new Date()),
    );
    await lifecycle.start();
    const op = await waitFor(async () => {
      const row = await temp.store.db.selectFrom('operations').selectAll().where('id', '=', opId).executeTakeFirstOrThrow();
      return row.status !== 'started' && row;
    });
    assert.equal(op.status, 'failed');
    assert.equal(op.error, `node ${a.station} would not start`.replace(/^/, "step 'restart-nodes' failed unexpectedly: ").concat('; retry the action, and see the server log if it fails again'));
    assert.equal((await database(a.id)).state, 'failed');
    assert.equal(runtime.running.has(a.station), false);
  });
});
