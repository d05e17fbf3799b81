// Databases on real Neo4j: the whole lifecycle through the API of a real `allotrope serve`, with neo4j-driver 5
// and 6 talking to the node (Bolt passed through to the JVM after our authentication). Runs where the Neo4j
// engine is installed (`.ci/run` installs it); elsewhere it says why it is skipped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { removeDataDir, startLifecycleServerProcess, testPortRange, waitForOperation, type LifecycleServerProcess } from './helpers/lifecycle.js';
import { testEnginesDir } from './helpers/neo4j-engines.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';

const engines = testEnginesDir();

describe('databases on the Neo4j engine', { skip: 'skip' in engines ? engines.skip : false }, () => {
  const dbPorts = testPortRange(8);
  let server: LifecycleServerProcess;
  let token: string;
  let envId: string;
  const drivers: Driver[] = [];

  before(async () => {
    server = await startLifecycleServerProcess({ dbPorts, enginesDir: (engines as { dir: string }).dir });
    token = await server.token();
    envId = (await server.request('GET', '/deployments/environments', { token })).body[0].id;
  });
  after(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  function driver(port: number, user: string, password: string, scheme = 'bolt'): Driver {
    const d = neo4j.driver(`${scheme}://127.0.0.1:${port}`, neo4j.auth.basic(user, password), { connectionTimeout: 10_000 });
    drivers.push(d);
    return d;
  }

  async function operation(databaseId: string, res: { status: number; text: string; body: { operationId: string } }, timeoutMs = 180_000) {
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, token, databaseId, res.body.operationId, timeoutMs);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    return op;
  }

  const count = async (d: Driver) => (await d.executeQuery('MATCH (n:Mark) RETURN count(n) AS c')).records[0]!.get('c').toNumber();

  test('the catalog offers Neo4j by default and Grafeo beside it', async () => {
    const versions = (await server.request('GET', '/deployments/versions', { token })).body as { id: string; engine: string; default: boolean; engineVersion: string }[];
    const n = versions.find((v) => v.engine === 'neo4j')!;
    assert.equal(n.id, '5.26');
    assert.equal(n.default, true);
    assert.match(n.engineVersion, /^5\.26\.\d+$/);
    assert.deepEqual(versions.filter((v) => v.engine === 'grafeo').map((v) => [v.id, v.default]), [['5.26-grafeo', false]]);
  });

  test('create, query with drivers 5 and 6, read-only users, snapshot and restore, pause and resume, a killed JVM, terminate', async () => {
    const created = await server.request('POST', DB, { token, body: { environmentId: envId, name: 'real-neo4j', plan: 'ds2' } });
    const id = created.body.database.id as string;
    await operation(id, created);
    const db = (await server.request('GET', `${DB}/${id}`, { token })).body;
    assert.equal(db.version.engine, 'neo4j');
    const port = db.boltPort as number;
    const password = created.body.credentials.password as string;
    const d6 = driver(port, 'neo4j', password, 'neo4j');

    // Values go through untouched: nanoseconds, named zones, far years, durations, points, -0.0.
    await d6.executeQuery(
      "CREATE (:Mark {i: 1, at: localdatetime('2024-01-02T03:04:05.175857897'), z: datetime('2024-01-02T03:04:05.123456789[Europe/London]'), du: duration({months: -14, days: -35, seconds: -123456, nanoseconds: 789}), far: date('+999999999-12-31'), p: point({x: 1.5, y: 2}), neg: -0.0})",
    );
    const row = (await d6.executeQuery('MATCH (m:Mark) RETURN m.at AS at, m.z AS z, m.du AS du, m.far AS far, m.p AS p, m.neg AS neg')).records[0]!;
    assert.equal(row.get('at').toString(), '2024-01-02T03:04:05.175857897');
    assert.equal(row.get('z').toString(), '2024-01-02T03:04:05.123456789Z[Europe/London]');
    assert.equal(row.get('far').toString(), '+999999999-12-31');
    assert.equal(row.get('p').srid.toNumber(), 7203);
    assert.ok(Object.is(row.get('neg'), -0));
    const du = row.get('du');
    assert.deepEqual([du.months.toNumber(), du.days.toNumber(), du.seconds.toNumber(), du.nanoseconds.toNumber()], [-14, -35, -123456, 789]);
    const echoed = (await d6.executeQuery('RETURN $v AS v', { v: new neo4j.types.LocalDateTime(2024, 1, 2, 3, 4, 5, 175857897) })).records[0]!.get('v');
    assert.equal(echoed.toString(), '2024-01-02T03:04:05.175857897');
    const d5 = neo4j5.driver(`bolt://127.0.0.1:${port}`, neo4j5.auth.basic('neo4j', password));
    try {
      assert.equal((await d5.executeQuery('MATCH (n:Mark) RETURN count(n) AS c')).records[0]!.get('c').toNumber(), 1);
      assert.equal((await d5.getServerInfo()).agent?.startsWith('Neo4j/5.26.'), true);
    } finally {
      await d5.close();
    }
    // Neo4j answers what only Neo4j can: plans, its own errors, bookmarks.
    const explained = await d6.executeQuery('EXPLAIN MATCH (n:Mark) RETURN n');
    assert.equal(explained.summary.hasPlan(), true);
    await assert.rejects(d6.executeQuery('RETURN 123.4 AND false'), (e: { code?: string; message: string }) => e.code === 'Neo.ClientError.Statement.SyntaxError' && /line 1, column 8/.test(e.message));
    const bad = d6.session({ bookmarks: ['not-a-bookmark'] });
    await assert.rejects(bad.run('RETURN 1'), (e: { code?: string }) => e.code === 'Neo.ClientError.Transaction.InvalidBookmark');
    await bad.close();
    // Wrong password: refused by us before Neo4j is reached.
    await assert.rejects(driver(port, 'neo4j', 'wrong-password').executeQuery('RETURN 1'), (e: { code?: string }) => e.code === 'Neo.ClientError.Security.Unauthorized');

    // A read-only user: Neo4j itself refuses the write (access mode READ), over auto-commit and transactions.
    const user = await server.request('POST', `${DB}/${id}/users`, { token, body: { username: 'reporting', readOnly: true } });
    assert.equal(user.status, 201, user.text);
    const reader = driver(port, 'reporting', user.body.password);
    await waitFor(async () => (await count(reader).catch(() => -1)) === 1, { timeoutMs: 20_000, what: 'the new user to log in' });
    await assert.rejects(reader.executeQuery('CREATE (:Mark {i: 99})'), (e: { code?: string }) => e.code === 'Neo.ClientError.Statement.AccessMode');
    await assert.rejects(reader.executeQuery("CREATE USER eve SET PASSWORD 'secret-secret'", {}, { database: 'system' }), (e: { code?: string }) => e.code === 'Neo.ClientError.Security.Forbidden');
    // Even the owner cannot touch Neo4j's own users: administration commands are refused on any database.
    for (const [query, database] of [
      ["ALTER USER neo4j SET PASSWORD 'taken-over-123'", 'system'],
      ["ALTER USER neo4j SET PASSWORD 'taken-over-123'", 'neo4j'],
      ["CREATE USER eve SET PASSWORD 'secret-secret'", 'neo4j'],
      ["/* x */ CYPHER 5 create user eve set password 'secret-secret'", 'neo4j'],
      ['GRANT ROLE admin TO eve', 'neo4j'],
    ] as const) {
      await assert.rejects(d6.executeQuery(query, {}, { database }), (e: { code?: string }) => e.code === 'Neo.ClientError.Security.Forbidden' || e.code === 'Neo.ClientError.Statement.AccessMode', query);
    }
    assert.equal(await count(d6), 1, 'the session works after a refused command');

    // Snapshot (online: commits held back while Neo4j copies its store), write, restore: back to the snapshot.
    const snap = await server.request('POST', `${DB}/${id}/snapshots`, { token, body: { label: 'one mark' } });
    await operation(id, snap);
    const snapshot = (await server.request('GET', `${DB}/${id}/snapshots/${snap.body.snapshot.id}`, { token })).body;
    assert.equal(snapshot.status, 'ready', JSON.stringify(snapshot));
    await d6.executeQuery('UNWIND range(2, 50) AS i CREATE (:Mark {i: i})');
    assert.equal(await count(d6), 50);
    await operation(id, await server.request('POST', `${DB}/${id}/snapshots/${snap.body.snapshot.id}/restore`, { token, body: {} }));
    await waitFor(async () => (await count(d6).catch(() => -1)) === 1, { timeoutMs: 60_000, what: 'the restored data' });
    const restored = (await d6.executeQuery('MATCH (m:Mark) RETURN m.at AS at')).records[0]!.get('at').toString();
    assert.equal(restored, '2024-01-02T03:04:05.175857897');

    // Pause and resume: the data stays.
    await d6.executeQuery('CREATE (:Mark {i: 2})');
    await operation(id, await server.request('PUT', `${DB}/${id}/pause`, { token }));
    await operation(id, await server.request('PUT', `${DB}/${id}/resume`, { token }));
    await waitFor(async () => (await count(d6).catch(() => -1)) === 2, { timeoutMs: 60_000, what: 'the resumed database' });

    // A SIGKILLed JVM: the node is restarted by its supervisor, committed data intact.
    const jvm = execFileSync('pgrep', ['-f', `dev.allotrope.neo4j.Launcher.*${server.dataDir}`], { encoding: 'utf8' }).trim().split('\n')[0]!;
    process.kill(Number(jvm), 'SIGKILL');
    await waitFor(async () => (await count(d6).catch(() => -1)) === 2, { timeoutMs: 120_000, intervalMs: 500, what: 'the node to come back after its JVM was killed' });

    await operation(id, await server.request('DELETE', `${DB}/${id}`, { token }));
    await waitFor(() => !existsSync(`/proc/${jvm}`) && execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').every((l) => !(l.includes('dev.allotrope.neo4j.Launcher') && l.includes(server.dataDir))), {
      timeoutMs: 60_000,
      what: 'no JVM of this test left',
    });
    assert.ok(readdirSync(server.dataDir).length > 0);
  });
});
