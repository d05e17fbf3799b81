// Neo4j's query checks end to end (issue 13): a real `allotrope graph-server` process, the official
// neo4j-driver, and the admin channel's `stats`. Unit tests of the checker are in query-check.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import neo4j6 from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { adminRequest } from '../src/graph-server/admin.js';
import { registerGraphServerCommand } from '../src/graph-server/cli.js';
import { openGrafeoEngine } from '../src/graph-server/engines/grafeo/engine.js';
import { CypherError } from '../src/graph-server/engine-api.js';
import { runGraphServer } from '../src/graph-server/main.js';
import { buildLaunch } from '../src/runtimes/local/command.js';
import { loadConfig } from '../src/config.js';
import { nodePaths } from '../src/runtimes/local/node-files.js';
import { validateLocalRuntimeSettings } from '../src/runtimes/local/settings.js';
import type { NodeSpec } from '../src/runtimes/runtime.js';
import { startServer, writeUsers } from './helpers/graph-server-process.js';
import { waitFor } from './helpers/wait-for.js';

interface Running {
  child: ChildProcess;
  dir: string;
  dataDir: string;
  boltPort: number;
  httpPort: number;
  stderr: () => string;
}

async function startGraphServer(extra: string[]): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'query-check-e2e-'));
  const dataDir = join(dir, 'data');
  const usersFile = join(dir, 'users.json');
  try {
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    const s = await startServer(dataDir, usersFile, extra, { readyTimeoutMs: 30_000 });
    return { child: s.child, dir, dataDir, boltPort: s.ready.boltPort, httpPort: s.ready.httpPort, stderr: s.stderr };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function stopGraphServer(s: Running | undefined): Promise<void> {
  if (!s) return;
  if (s.child.exitCode === null) {
    const exited = new Promise((resolve) => s.child.once('exit', resolve));
    s.child.kill('SIGTERM');
    await exited;
  }
  await rm(s.dir, { recursive: true, force: true });
}

const stats = async (s: Running) => (await adminRequest(s.dataDir, { op: 'stats' })).queryCheck;
const counts = (s: Running) => adminRequest(s.dataDir, { op: 'counts' });

// The worker loads Neo4j's front-end in a few seconds; until then new checks miss their budget.
async function checkerReady(s: Running): Promise<void> {
  await waitFor(async () => (await stats(s)).ready, { timeoutMs: 40_000, intervalMs: 100, what: 'the query check worker' });
}

/**
 * A TCP proxy that rewrites the driver's four handshake proposals into "5.4 only", so that a
 * driver which would pick 5.8 talks Bolt 5.4 to the unchanged server.
 */
async function bolt54Proxy(target: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(upstream);
    let head = Buffer.alloc(0);
    const onHead = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < 20) return;
      client.off('data', onHead);
      const proposals = Buffer.alloc(16);
      proposals.set([0, 0, 4, 5], 0);
      upstream.write(Buffer.concat([head.subarray(0, 4), proposals, head.subarray(20)]));
      client.pipe(upstream);
    };
    client.on('data', onHead);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// Queries Neo4j refuses at compile time and the engine alone would run (some of them writing).
const REFUSED: readonly { what: string; query: string; gqlStatus?: string }[] = [
  { what: 'a type error in a literal expression', query: 'RETURN 123.4 AND false' },
  { what: 'a relationship without a type in CREATE', query: 'CREATE ()-->()' },
  { what: 'an undefined variable in a property map', query: 'CREATE (b {name: missing})', gqlStatus: '42N62' },
  { what: 'a variable out of scope after WITH', query: 'MATCH (a:P) WITH a.name AS name CREATE (:Copy {of: a.name})', gqlStatus: '42N62' },
  { what: 'a bound variable given new properties in CREATE', query: 'MATCH (a:P) CREATE (a {x: 1})', gqlStatus: '42N59' },
  { what: 'a syntax error', query: 'CREATE (:Half {x: 1 +})' },
];

describe('query check through a real graph-server (generous budget)', () => {
  let server: Running | undefined;
  let driver: ReturnType<typeof neo4j6.driver>;
  const auth = neo4j6.auth.basic('admin', 'pw');

  before(async () => {
    // A budget far above any check, so a loaded CI machine never lets the engine decide alone here.
    server = await startGraphServer(['--query-check-budget-ms', '20000']);
    driver = neo4j6.driver(`bolt://127.0.0.1:${server.boltPort}`, auth);
    await checkerReady(server);
    await driver.executeQuery("CREATE (:P {name: 'a'})-[:R]->(:P {name: 'b'})");
  });

  after(async () => {
    await driver?.close();
    await stopGraphServer(server);
  });

  test('stats report the check as on with the budget given', async () => {
    const s = await stats(server!);
    assert.equal(s.enabled, true);
    assert.equal(s.budgetMs, 20000);
    // The front-end runs in the machine's shared query-check service, not in the graph-server.
    assert.equal(s.workers, 0);
  });

  test("each class of query Neo4j refuses fails with SyntaxError and a position, and changes nothing", async () => {
    const session = driver.session();
    try {
      const before = await counts(server!);
      const refusedBefore = (await stats(server!)).refused;
      for (const { what, query, gqlStatus } of REFUSED) {
        await assert.rejects(session.run(query), (err: { code?: string; message?: string; gqlStatus?: string }) => {
          assert.equal(err.code, 'Neo.ClientError.Statement.SyntaxError', `${what}: ${err.code} ${err.message}`);
          assert.match(err.message ?? '', /\(line \d+, column \d+ \(offset: \d+\)\)/, what);
          if (gqlStatus) assert.equal(err.gqlStatus, gqlStatus, what);
          return true;
        });
        // The same session goes on after a refusal.
        const ok = await session.run('RETURN 1 AS one');
        assert.equal(ok.records[0]!.get('one').toNumber(), 1);
      }
      assert.deepEqual(await counts(server!), before);
      assert.equal((await stats(server!)).refused, refusedBefore + REFUSED.length);
    } finally {
      await session.close();
    }
  });

  test('a refusal inside an explicit transaction fails the transaction: nothing of it is committed', async () => {
    const before = await counts(server!);
    const session = driver.session();
    try {
      const tx = await session.beginTransaction();
      await tx.run('CREATE (:InTx)');
      await assert.rejects(tx.run('CREATE ()-->()'), { code: 'Neo.ClientError.Statement.SyntaxError' });
      await assert.rejects(tx.commit());
    } finally {
      await session.close();
    }
    assert.deepEqual(await counts(server!), before);
  });

  test('the second send of a query text is answered from the cache', async () => {
    const query = 'MATCH (n:P) WHERE n.name = $name RETURN n.name AS name';
    const s0 = await stats(server!);
    const first = await driver.executeQuery(query, { name: 'a' });
    const s1 = await stats(server!);
    const second = await driver.executeQuery(query, { name: 'b' });
    const s2 = await stats(server!);
    assert.equal(first.records[0]!.get('name'), 'a');
    assert.equal(second.records[0]!.get('name'), 'b');
    assert.equal(s1.checked, s0.checked + 1);
    assert.equal(s1.cacheHits, s0.cacheHits, 'a new text is checked');
    assert.equal(s2.checked, s1.checked + 1);
    assert.equal(s2.cacheHits, s1.cacheHits + 1, 'a repeated text is not');
    assert.equal(s2.overBudget, s0.overBudget);
  });

  test('warnings reach summary.gqlStatusObjects on Bolt 5.6+', async () => {
    const { summary } = await driver.executeQuery('MATCH (a:P), (b:P) RETURN a.name AS x, b.name AS y');
    assert.ok(Number(summary.server.protocolVersion) >= 5.6, `negotiated ${summary.server.protocolVersion}`);
    const warning = summary.gqlStatusObjects.find((g) => g.gqlStatus === '03N90');
    assert.ok(warning, JSON.stringify(summary.gqlStatusObjects));
    // Neo4j 5 reports a cartesian product as information (GQLSTATUS class 03), not as a warning.
    assert.match(warning.statusDescription, /^info: .*cartesian product/);
    assert.equal(warning.severity, 'INFORMATION');
    assert.equal(warning.classification, 'PERFORMANCE');
    // Neo4j places a cartesian product at its MATCH clause.
    assert.deepEqual(warning.position, { offset: 0, line: 1, column: 1 });
    // The completion status comes first, as Neo4j sends it.
    assert.equal(summary.gqlStatusObjects[0]!.gqlStatus, '00000');
    assert.match(summary.notifications[0]!.code, /CartesianProduct/);
  });

  test('the Query API refuses the same way and carries the warnings as notifications', async () => {
    const post = async (statement: string) => {
      const res = await fetch(`http://127.0.0.1:${server!.httpPort}/db/neo4j/query/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
        body: JSON.stringify({ statement }),
      });
      return { status: res.status, body: (await res.json()) as { errors?: { code: string; message: string }[]; notifications?: { code: string; position?: unknown }[] } };
    };
    const before = await counts(server!);
    const refused = await post('CREATE ()-->()');
    assert.equal(refused.body.errors?.[0]?.code, 'Neo.ClientError.Statement.SyntaxError', JSON.stringify(refused.body));
    assert.match(refused.body.errors[0]!.message, /\(line 1, column \d+ \(offset: \d+\)\)/);
    assert.deepEqual(await counts(server!), before);
    const warned = await post('MATCH (a:P), (b:P) RETURN count(*) AS n');
    assert.equal(warned.status, 202);
    const n = warned.body.notifications?.find((x) => x.code === 'Neo.ClientNotification.Statement.CartesianProduct');
    assert.ok(n, JSON.stringify(warned.body));
    assert.deepEqual(n.position, { offset: 0, line: 1, column: 1 });
  });

  test('warnings reach summary.notifications on Bolt 5.4', async () => {
    const proxy = await bolt54Proxy(server!.boltPort);
    const d5 = neo4j5.driver(`bolt://127.0.0.1:${proxy.port}`, neo4j5.auth.basic('admin', 'pw'));
    try {
      const { summary } = await d5.executeQuery('MATCH (a), (b) RETURN a, b');
      assert.equal(summary.server.protocolVersion, 5.4);
      const n = summary.notifications.find((x) => x.code === 'Neo.ClientNotification.Statement.CartesianProduct');
      assert.ok(n, JSON.stringify(summary.notifications));
      assert.equal(n.severity, 'INFORMATION');
      assert.equal(n.category, 'PERFORMANCE');
      assert.match(n.title, /cartesian product/);
      assert.match(n.description, /cartesian product/);
      assert.deepEqual(n.position, { offset: 0, line: 1, column: 1 });
      // A refusal on 5.4 is the same SyntaxError.
      await assert.rejects(d5.executeQuery('RETURN 123.4 AND false'), { code: 'Neo.ClientError.Statement.SyntaxError' });
    } finally {
      await d5.close();
      await proxy.close();
    }
  });
});

describe('query check through a real graph-server (1 ms budget)', () => {
  test('a query whose check misses the budget still runs; the verdict applies once it is known', async () => {
    let server: Running | undefined;
    const driver = { d: undefined as ReturnType<typeof neo4j6.driver> | undefined };
    try {
      server = await startGraphServer(['--query-check-budget-ms', '1']);
      const d = neo4j6.driver(`bolt://127.0.0.1:${server.boltPort}`, neo4j6.auth.basic('admin', 'pw'));
      driver.d = d;
      await checkerReady(server);
      const s0 = await stats(server);
      // Neo4j refuses this text; the engine answers it. A new text cannot be checked in 1 ms. Short texts
      // always wait for their check, so this one is made longer than that (2 kB) with a comment; new to the
      // machine's shared query-check service too, whose cache outlives this test.
      const query = `RETURN 123.4 AND false AS x /* ${randomUUID()} ${'padding '.repeat(260)} */`;
      const { records } = await d.executeQuery(query);
      assert.equal(records.length, 1);
      const s1 = await stats(server);
      assert.equal(s1.overBudget, s0.overBudget + 1);
      assert.equal(s1.refused, s0.refused);
      // Logged once, by fingerprint: query texts can hold secrets.
      const running = server;
      await waitFor(() => /query check exceeded its budget/.test(running.stderr()), { what: 'the over-budget log line' });
      assert.ok(!running.stderr().includes('123.4'), 'the query text is not logged');
      // The check goes on in the background and its verdict is cached for the next send.
      await waitFor(
        async () => {
          try {
            await d.executeQuery(query);
            return false;
          } catch (err) {
            return (err as { code?: string }).code === 'Neo.ClientError.Statement.SyntaxError';
          }
        },
        { timeoutMs: 20_000, intervalMs: 50, what: 'the background verdict' },
      );
      assert.equal((await stats(server)).refused, s1.refused + 1);
      assert.equal(running.stderr().match(/query check exceeded its budget/g)?.length, 1);
    } finally {
      await driver.d?.close();
      await stopGraphServer(server);
    }
  });
});

describe('query check settings', () => {
  test('the graph-server command checks by default with a 100 ms budget; --query-check is a no-op alias', () => {
    const program = new Command();
    const cmd = registerGraphServerCommand(program);
    const budget = cmd.options.find((o) => o.long === '--query-check-budget-ms');
    assert.equal(budget?.defaultValue, 100);
    assert.ok(cmd.options.some((o) => o.long === '--query-check'));
  });

  test('budget 0 starts no checker: the engine alone answers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'query-check-off-'));
    try {
      const usersFile = join(dir, 'users.json');
      await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
      const handle = await runGraphServer({
        dataDir: join(dir, 'data'),
        boltPort: 0,
        httpPort: 0,
        usersFile,
        queryCheck: { budgetMs: 0 },
        logger: (await import('pino')).pino({ level: 'silent' }),
      });
      try {
        const res = await handle.engine.run('RETURN 123.4 AND false AS x', {}, { readOnly: false });
        assert.equal(res.records.length, 1);
        assert.deepEqual(await adminRequest(join(dir, 'data'), { op: 'stats' }), {
          queryCheck: { enabled: false, budgetMs: 0, ready: false, checked: 0, cacheHits: 0, overBudget: 0, refused: 0, workers: 0 },
        });
      } finally {
        await handle.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a refused check (or a refused write) fails the engine transaction it runs in', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'query-check-tx-'));
    const engine = await openGrafeoEngine({
      dataDir: dir,
      checkQuery: async (q) => {
        if (q.includes('BAD')) throw new CypherError('Neo.ClientError.Statement.SyntaxError', 'refused', '42001');
        return { notifications: [] };
      },
    });
    try {
      const tx = await engine.begin({ readOnly: false });
      await tx.run('CREATE (:Kept)', {});
      await assert.rejects(tx.run('CREATE (:BAD)', {}), { code: 'Neo.ClientError.Statement.SyntaxError' });
      await assert.rejects(tx.run('RETURN 1', {}), { code: 'Neo.ClientError.Transaction.TransactionTerminated' });
      await assert.rejects(tx.commit(), { code: 'Neo.ClientError.Transaction.TransactionTerminated' });
      await tx.rollback();
      assert.deepEqual(engine.counts(), { nodes: 0, relationships: 0 });
      // So does a write refused in a read-only transaction.
      const ro = await engine.begin({ readOnly: true });
      await assert.rejects(ro.run('CREATE (:No)', {}), { code: 'Neo.ClientError.Security.Forbidden' });
      await assert.rejects(ro.run('RETURN 1', {}), { code: 'Neo.ClientError.Transaction.TransactionTerminated' });
      await ro.rollback();
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('db.query_check.budget and ALLOTROPE_QUERY_CHECK_BUDGET_MS become --query-check-budget-ms', () => {
    const spec: NodeSpec = { databaseId: 'db1', stationId: 'st1', boltPort: 7687, httpPort: 7474, host: '127.0.0.1' };
    const paths = nodePaths('/srv/allotrope', 'st1');
    const flag = (args: string[]) => args[args.indexOf('--query-check-budget-ms') + 1];
    assert.equal(flag(buildLaunch({ ...spec, settings: { 'db.query_check.budget': '250ms' } }, paths, {}).args), '250');
    assert.equal(flag(buildLaunch({ ...spec, settings: { 'db.query_check.budget': '0' } }, paths, {}).args), '0');
    assert.ok(!buildLaunch(spec, paths, {}).args.includes('--query-check-budget-ms'));
    // ALLOTROPE_QUERY_CHECK_BUDGET_MS is read once into the Config, which the runtime passes to each launch.
    const { queryCheckBudgetMs } = loadConfig({ env: { ALLOTROPE_QUERY_CHECK_BUDGET_MS: '40' } }).runtime;
    assert.equal(queryCheckBudgetMs, 40);
    assert.equal(flag(buildLaunch(spec, paths, { queryCheckBudgetMs }).args), '40');
    assert.equal(flag(buildLaunch(spec, paths, { queryCheckBudgetMs: 0 }).args), '0');
    assert.ok(!buildLaunch(spec, paths, { queryCheckBudgetMs: null }).args.includes('--query-check-budget-ms'));
    // The database's own setting wins over the control plane's default.
    const both = buildLaunch({ ...spec, settings: { 'db.query_check.budget': '1s' } }, paths, { queryCheckBudgetMs }).args;
    assert.equal(both.filter((a) => a === '--query-check-budget-ms').length, 1);
    assert.equal(flag(both), '1000');
    assert.throws(() => loadConfig({ env: { ALLOTROPE_QUERY_CHECK_BUDGET_MS: 'fast' } }), /^ConfigError: ALLOTROPE_QUERY_CHECK_BUDGET_MS: 'fast' is not a whole number$/);
    assert.match(validateLocalRuntimeSettings({ 'db.query_check.budget': 'soon' })[0]!, /not a duration/);
    assert.match(validateLocalRuntimeSettings({ 'db.query_check.budget': '2m' })[0]!, /at most 60s/);
  });
});
