// Two control planes on one PostgreSQL store and one data dir, as real processes: the first owns the
// runtime (the data-dir lock), the second serves the API and stands by. 200 export operations go
// round-robin through both APIs; the owner is SIGKILLed half-way. Every operation ends once and
// finished, the standby takes the runtime over (adopting the database processes: none doubled), and a
// token of one instance is accepted by the other. Needs ALLOTROPE_TEST_PG_URL (skipped, saying so, without).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { openStore } from '../src/store/db.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { freshPgDatabase, testPgUrl } from './helpers/test-store.js';
import { waitFor } from './helpers/wait-for.js';

const skip = testPgUrl ? false : 'ALLOTROPE_TEST_PG_URL is not set: several control planes need a PostgreSQL store (see docs/postgresql.md)';
if (skip) process.stdout.write(`# multi-instance: skipped: ${skip}\n`);

const DB = '/deployments/databases/graphneo';
const OPERATIONS = 200;

/** Pids of the processes serving Bolt on `port` (graph-servers carry `--bolt-port <port>` in their arguments). */
/** pids of the graph-server processes of one database node (nodes listen on loopback ports of their own choosing; the router owns the public ones). */
function graphServerPids(stationId: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes('graph-server') && line.includes(`/runtime/nodes/${stationId}/`))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('several control planes on one PostgreSQL store and one data dir', { skip }, () => {
  const dirs: string[] = [];
  const processes: ControlPlaneProcess[] = [];
  after(async () => {
    for (const p of processes) await p.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('200 operations through both APIs, the runtime owner SIGKILLed mid-way: each ends once, the standby takes over, nothing doubled', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-multi-'));
    dirs.push(dataDir);
    const { url: storeUrl } = await freshPgDatabase(testPgUrl!);
    const options = { dataDir, dbPorts: testPortRange(4), storeUrl, config: { operations: { leaseMs: 3000, concurrency: 4 } } };
    const owner = await startControlPlaneProcess(options);
    processes.push(owner);
    const standby = await startControlPlaneProcess(options);
    processes.push(standby);
    await waitFor(() => standby.output().includes('standing by'), { what: 'the second instance to stand by' });
    assert.match(standby.output(), new RegExp(`standing by: the databases of .* are run by pid ${owner.child.pid}`));

    // A token from one instance is accepted by the other (the signing keys are in the store).
    const token = await owner.token();
    assert.equal((await standby.request('GET', '/deployments/environments', { token })).status, 200);
    const environmentId = (await owner.request('GET', '/deployments/environments', { token })).body[0].id;

    const databases: Array<{ id: string; stationId: string; boltPort: number; password: string }> = [];
    for (const [i, api] of [owner, standby].entries()) {
      const res = await api.request('POST', DB, { token, body: { environmentId, name: `multi-${i}`, plan: 'ds2', version: '5.26-grafeo' } });
      assert.equal(res.status, 202, res.text);
      const op = await waitForOperation(api, token, res.body.database.id, res.body.operationId, 60_000);
      assert.equal(op.status, 'finished', JSON.stringify(op));
      databases.push({ id: res.body.database.id, stationId: res.body.database.nodes[0].stationId, boltPort: res.body.database.boltPort, password: res.body.credentials.password });
    }

    // Queries against the first database all along: when did one last fail, when did they answer again.
    const driver = neo4j.driver(`bolt://127.0.0.1:${databases[0]!.boltPort}`, neo4j.auth.basic('neo4j', databases[0]!.password), { connectionTimeout: 2000, maxConnectionLifetime: 1000 });
    let querying = true;
    const failures: number[] = [];
    let answered = 0;
    const queries = (async () => {
      while (querying) {
        const session = driver.session();
        try {
          await session.run('RETURN 1');
          answered++;
        } catch {
          failures.push(Date.now());
        } finally {
          await session.close().catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    let stopped: Promise<void> | null = null;
    const stopQueries = () =>
      (stopped ??= (async () => {
        querying = false;
        await queries;
        await driver.close();
      })());
    t.after(stopQueries);
    const submitted: Array<{ databaseId: string; operationId: string }> = [];
    let killedAt = 0;
    let takeover: Promise<number> = Promise.resolve(-1);
    for (let i = 0; i < OPERATIONS; i++) {
      const database = databases[i % 2]!;
      const alive = killedAt ? [standby] : [owner, standby];
      const api = alive[i % alive.length]!;
      const res = await api.request('PUT', `${DB}/${database.id}/export`, { token, body: {} });
      assert.equal(res.status, 202, `${i}: ${res.text}`);
      submitted.push({ databaseId: database.id, operationId: res.body.operationId });
      if (i === OPERATIONS / 2) {
        await owner.kill();
        killedAt = Date.now();
        takeover = waitFor(() => standby.output().includes('this instance now runs the databases of'), { timeoutMs: 30_000, what: 'the standby to take over the runtime' }).then(() => Date.now() - killedAt);
      }
    }
    const takeoverMs = await takeover;

    // Every operation ends, finished, once.
    const store = await openStore(storeUrl);
    try {
      const ids = submitted.map((s) => s.operationId);
      await waitFor(
        async () => (await store.db.selectFrom('operations').select('id').where('id', 'in', ids).where('status', '=', 'started').execute()).length === 0,
        { timeoutMs: 240_000, intervalMs: 500, what: 'all 200 operations to end' },
      );
      const ops = await store.db.selectFrom('operations').selectAll().where('id', 'in', ids).execute();
      assert.equal(ops.length, OPERATIONS);
      assert.deepEqual(ops.filter((o) => o.status !== 'finished').map((o) => `${o.id}: ${o.status} ${o.error}`), []);
      const exports = await store.db.selectFrom('exports').select(['status', 'blob_key']).where('operation_id', 'in', ids).execute();
      assert.equal(exports.length, OPERATIONS, 'one export per operation');
      assert.deepEqual([...new Set(exports.map((e) => e.status))], ['ready']);
      assert.equal(new Set(exports.map((e) => e.blob_key)).size, OPERATIONS, 'a stored file per export, none shared');
      const resumed = ops.filter((o) => o.attempts > 1);
      const resumedDoneMs = Math.max(0, ...resumed.map((o) => Date.parse(o.finished_at!) - killedAt));
      const firstAfterMs = Math.min(...ops.map((o) => Date.parse(o.finished_at!) - killedAt).filter((ms) => ms > 0));
      process.stdout.write(
        `# multi-instance: the standby owned the runtime ${takeoverMs} ms after the SIGKILL, finished its first operation ${firstAfterMs} ms after it; ${resumed.length} operation(s) the owner had claimed were re-run, the last finished ${resumedDoneMs} ms after the SIGKILL\n`,
      );
    } finally {
      await store.close();
    }
    await stopQueries();
    const lastFailure = failures.filter((t) => t >= killedAt).at(-1);
    process.stdout.write(`# multi-instance: ${answered} queries answered; ${failures.length} failed${lastFailure ? `, the last ${lastFailure - killedAt} ms after the SIGKILL` : ''}\n`);
    assert.ok(answered > 0);

    // One graph-server per database: the standby adopted the owner's processes instead of starting more.
    for (const d of databases) assert.equal(graphServerPids(d.stationId).length, 1, `graph-servers of ${d.stationId}`);
    // The new owner runs new operations.
    const more = await standby.request('POST', `${DB}/${databases[1]!.id}/snapshots`, { token, body: {} });
    assert.equal(more.status, 202, more.text);
    assert.equal((await waitForOperation(standby, token, databases[1]!.id, more.body.operationId, 60_000)).status, 'finished');
  });

  test('a zero-downtime upgrade is "start the new one, stop the old one": the databases keep answering and the new one adopts them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-multi-'));
    dirs.push(dataDir);
    const { url: storeUrl } = await freshPgDatabase(testPgUrl!);
    const options = { dataDir, dbPorts: testPortRange(2), storeUrl };
    const old = await startControlPlaneProcess(options);
    processes.push(old);
    const token = await old.token();
    const environmentId = (await old.request('GET', '/deployments/environments', { token })).body[0].id;
    const res = await old.request('POST', DB, { token, body: { environmentId, name: 'kept', plan: 'ds1', version: '5.26-grafeo' } });
    assert.equal(res.status, 202, res.text);
    assert.equal((await waitForOperation(old, token, res.body.database.id, res.body.operationId, 60_000)).status, 'finished');
    const fresh = await startControlPlaneProcess(options);
    processes.push(fresh);
    await waitFor(() => fresh.output().includes('standing by'), { what: 'the new instance to stand by' });

    const driver = neo4j.driver(`bolt://127.0.0.1:${res.body.database.boltPort}`, neo4j.auth.basic('neo4j', res.body.credentials.password), { connectionTimeout: 2000 });
    try {
      const session = driver.session();
      await session.run('CREATE (:Kept {n: 1})');
      await session.close();
      const pids = graphServerPids(res.body.database.nodes[0].stationId);
      assert.equal(pids.length, 1);
      await old.stop();
      assert.equal(old.child.exitCode, 0);
      await waitFor(() => fresh.output().includes('this instance now runs the databases of'), { timeoutMs: 30_000, what: 'the new instance to take over' });
      // The database never went away: same process, same data.
      const again = driver.session();
      const rows = await again.run('MATCH (k:Kept) RETURN k.n AS n');
      await again.close();
      assert.deepEqual(rows.records.map((r) => r.get('n').toNumber()), [1]);
      assert.deepEqual(graphServerPids(res.body.database.nodes[0].stationId), pids, 'the same process serves, adopted');
      const status = await fresh.request('GET', `${DB}/${res.body.database.id}/status`, { token });
      assert.equal(status.body.state, 'running');
    } finally {
      await driver.close();
    }
  });
});
