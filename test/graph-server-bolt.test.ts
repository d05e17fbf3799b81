// The graph-server as a real process, driven by the official Neo4j drivers (6.x and 5.x).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j6 from 'neo4j-driver';
import { boltConnects } from './helpers/bolt-connects.js';
import neo4j5 from 'neo4j-driver-5';
import { adminRequest } from '../src/graph-server/admin.js';
import { runGraphServer } from '../src/graph-server/main.js';
import { waitFor } from './helpers/wait-for.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';


const DRIVERS = [
  { name: 'neo4j-driver 6', neo4j: neo4j6 },
  { name: 'neo4j-driver 5', neo4j: neo4j5 as unknown as typeof neo4j6 },
];

describe('graph-server over Bolt', () => {
  let dir: string;
  let dataDir: string;
  let usersFile: string;
  let server: Running;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-bolt-'));
    dataDir = join(dir, 'data');
    usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [
      { username: 'admin', password: 'secret-1' },
      { username: 'reader', password: 'secret-2', readOnly: true },
    ]);
    server = await startServer(dataDir, usersFile);
  });

  after(async () => {
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('prints one JSON ready line with the ports and the admin socket, quickly', async (t) => {
    assert.equal(server.ready.event, 'ready');
    assert.ok(server.ready.boltPort > 0 && server.ready.httpPort > 0);
    assert.equal(server.ready.adminSocket, join(dataDir, 'admin.sock'));
    const health = await adminRequest(dataDir, { op: 'health' });
    assert.equal(health.status, 'ok');
    assert.equal(health.databaseId, server.ready.databaseId);
    t.diagnostic(`start-to-ready ${server.startMs} ms (spawn to ready line); RSS empty ${(health.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(server.startMs < 15_000);
  });

  for (const { name, neo4j } of DRIVERS) {
    describe(name, () => {
      let driver: ReturnType<typeof neo4j.driver>;
      const url = () => `bolt://127.0.0.1:${server.ready.boltPort}`;
      before(() => {
        driver = neo4j.driver(url(), neo4j.auth.basic('admin', 'secret-1'), { disableLosslessIntegers: false });
      });
      after(async () => {
        await driver?.close();
      });

      test('connects and runs a query with executeQuery, keeping Integer and Float apart', async () => {
        await driver.verifyConnectivity();
        const { records, keys } = await driver.executeQuery('RETURN 1 AS i, 1.0 AS f, 2.5 AS g, "x" AS s');
        assert.deepEqual(keys, ['i', 'f', 'g', 's']);
        const r = records[0]!;
        assert.ok(neo4j.isInt(r.get('i')));
        assert.equal((r.get('i') as { toNumber(): number }).toNumber(), 1);
        assert.equal(typeof r.get('f'), 'number');
        assert.equal(r.get('g'), 2.5);
      });

      test('explicit transactions commit, and rollback really discards', async () => {
        const tag = `tx-${name}`;
        const session = driver.session();
        try {
          const tx = await session.beginTransaction();
          await tx.run('CREATE (:TxProbe {tag: $tag, n: 1})', { tag });
          await tx.commit();
          const tx2 = await session.beginTransaction();
          await tx2.run('CREATE (:TxProbe {tag: $tag, n: 2})', { tag });
          const inside = await tx2.run('MATCH (p:TxProbe {tag: $tag}) RETURN count(p) AS c', { tag });
          assert.equal(inside.records[0]!.get('c').toNumber(), 2);
          await tx2.rollback();
          const res = await session.run('MATCH (p:TxProbe {tag: $tag}) RETURN p.n AS n', { tag });
          assert.deepEqual(res.records.map((x) => x.get('n').toNumber()), [1]);
        } finally {
          await session.close();
        }
      });

      test('managed transactions: executeWrite then executeRead', async () => {
        const session = driver.session();
        try {
          const created = await session.executeWrite(async (tx) => {
            const r = await tx.run('CREATE (m:Managed {driver: $d}) RETURN m', { d: name });
            return r.summary.counters.updates().nodesCreated;
          });
          assert.equal(created, 1);
          const count = await session.executeRead(async (tx) => {
            const r = await tx.run('MATCH (m:Managed {driver: $d}) RETURN count(m) AS c', { d: name });
            return r.records[0]!.get('c').toNumber();
          });
          assert.equal(count, 1);
        } finally {
          await session.close();
        }
      });

      test('parameters of every supported type round-trip', async () => {
        const t = neo4j.types;
        const params = {
          int: neo4j.int('9007199254740993'),
          negInt: neo4j.int(-42),
          float: 3.25,
          wholeFloat: 2.0,
          str: 'héllo',
          yes: true,
          nothing: null,
          bytes: new Int8Array([1, 2, -3]),
          list: [neo4j.int(1), 'two', 3.5],
          map: { a: neo4j.int(1), b: { c: 'd' } },
          date: new t.Date(2024, 2, 29),
          time: new t.Time(12, 34, 56, 789000000, 7200),
          localTime: new t.LocalTime(1, 2, 3, 4),
          duration: new t.Duration(14, 3, 3725, 500000000),
        };
        const keys = Object.keys(params);
        const { records } = await driver.executeQuery(`RETURN ${keys.map((k) => `$${k} AS ${k}`).join(', ')}`, params);
        const r = records[0]!;
        assert.equal(r.get('int').toString(), '9007199254740993');
        assert.equal(r.get('negInt').toNumber(), -42);
        assert.equal(r.get('float'), 3.25);
        assert.equal(r.get('wholeFloat'), 2);
        assert.equal(typeof r.get('wholeFloat'), 'number', 'a whole Float stays a Float');
        assert.equal(r.get('str'), 'héllo');
        assert.equal(r.get('yes'), true);
        assert.equal(r.get('nothing'), null);
        assert.deepEqual([...(r.get('bytes') as Int8Array)], [1, 2, -3]);
        const list = r.get('list') as unknown[];
        assert.ok(neo4j.isInt(list[0]));
        assert.equal(list[1], 'two');
        assert.equal(list[2], 3.5);
        assert.equal(r.get('map').a.toNumber(), 1);
        assert.deepEqual(r.get('map').b, { c: 'd' });
        assert.ok(neo4j.isDate(r.get('date')));
        assert.equal(r.get('date').toString(), '2024-02-29');
        assert.ok(neo4j.isTime(r.get('time')));
        assert.equal(r.get('time').toString(), '12:34:56.789000000+02:00');
        assert.ok(neo4j.isLocalTime(r.get('localTime')));
        assert.equal(r.get('localTime').toString(), '01:02:03.000000004');
        assert.ok(neo4j.isDuration(r.get('duration')));
        assert.equal(r.get('duration').months.toNumber(), 14);
        assert.equal(r.get('duration').days.toNumber(), 3);
        assert.equal(r.get('duration').seconds.toNumber(), 3725);
        assert.equal(r.get('duration').nanoseconds.toNumber(), 500000000);
      });

      test('a DateTime parameter keeps its instant (Grafeo stores it in UTC, to the millisecond)', async () => {
        const dt = new neo4j.types.DateTime(2024, 1, 2, 3, 4, 5, 123000000, 3600);
        const { records } = await driver.executeQuery('RETURN $dt AS dt', { dt });
        const back = records[0]!.get('dt');
        assert.ok(neo4j.isDateTime(back));
        assert.equal(back.toStandardDate().getTime(), dt.toStandardDate().getTime());
      });

      test('temporal values made by Cypher come back as driver temporal types', async () => {
        const { records } = await driver.executeQuery(
          "RETURN date('2024-01-02') AS d, datetime('2024-01-02T03:04:05.5+01:00') AS dt, localdatetime('2024-01-02T03:04:05') AS ldt, localtime('10:11:12') AS lt",
        );
        const r = records[0]!;
        assert.equal(r.get('d').toString(), '2024-01-02');
        assert.ok(neo4j.isDateTime(r.get('dt')));
        assert.equal(r.get('dt').timeZoneOffsetSeconds.toNumber(), 3600);
        assert.equal(r.get('dt').toString(), '2024-01-02T03:04:05.500000000+01:00');
        assert.ok(neo4j.isLocalDateTime(r.get('ldt')));
        assert.equal(r.get('ldt').toString(), '2024-01-02T03:04:05');
        assert.ok(neo4j.isLocalTime(r.get('lt')));
      });

      test('nodes, relationships and paths come back as driver types with ids and element ids', async () => {
        const db = server.ready.databaseId;
        const { records } = await driver.executeQuery(
          "CREATE (:Person {name: 'Ada', born: 1815, score: 9.5, run: $run})-[:KNOWS {since: 1833}]->(:Person {name: 'Charles', run: $run}) " +
            'WITH 1 AS one MATCH p = (a:Person {run: $run})-[r:KNOWS]->(b:Person) RETURN a, r, b, p',
          { run: name },
        );
        const rec = records[0]!;
        const a = rec.get('a');
        const r = rec.get('r');
        const b = rec.get('b');
        const p = rec.get('p');
        assert.ok(neo4j.isNode(a) && neo4j.isNode(b));
        assert.ok(neo4j.isRelationship(r));
        assert.ok(neo4j.isPath(p));
        assert.deepEqual(a.labels, ['Person']);
        assert.equal(a.properties.name, 'Ada');
        assert.ok(neo4j.isInt(a.properties.born));
        assert.equal(a.properties.score, 9.5);
        assert.equal(a.elementId, `4:${db}:${a.identity.toString()}`);
        assert.equal(r.elementId, `5:${db}:${r.identity.toString()}`);
        assert.equal(r.type, 'KNOWS');
        assert.equal(r.start.toString(), a.identity.toString());
        assert.equal(r.end.toString(), b.identity.toString());
        assert.equal(r.startNodeElementId, a.elementId);
        assert.equal(r.endNodeElementId, b.elementId);
        assert.equal(p.length, 1);
        assert.equal(p.start.elementId, a.elementId);
        assert.equal(p.end.elementId, b.elementId);
        assert.equal(p.segments[0].relationship.elementId, r.elementId);
        // Reading back by element id finds the same node.
        const again = await driver.executeQuery('MATCH (n) WHERE elementId(n) = $id RETURN n.name AS name, elementId(n)', { id: a.elementId });
        assert.deepEqual(again.records.map((x) => x.get('name')), ['Ada']);
        assert.equal(again.records[0]!.get('elementId(n)'), a.elementId);
      });

      test('errors carry Neo4j codes and the session stays usable after them', async () => {
        const session = driver.session();
        try {
          const cases: [string, Record<string, unknown>, string][] = [
            ['RETURN 1 +', {}, 'Neo.ClientError.Statement.SyntaxError'],
            ['RETURN $missing AS x', {}, 'Neo.ClientError.Statement.ParameterMissing'],
            ['RETURN 1 / 0 AS x', {}, 'Neo.ClientError.Statement.ArithmeticError'],
          ];
          for (const [query, params, code] of cases) {
            await assert.rejects(session.run(query, params), (err: { code?: string }) => {
              assert.equal(err.code, code, query);
              return true;
            });
            const ok = await session.run('RETURN 42 AS x');
            assert.equal(ok.records[0]!.get('x').toNumber(), 42);
          }
        } finally {
          await session.close();
        }
      });

      test('a transaction timeout fails the query at the deadline', async () => {
        await driver.executeQuery('UNWIND range(1, 1500) AS x CREATE (:Slow {x: x})');
        const session = driver.session();
        try {
          const started = Date.now();
          await assert.rejects(
            session.executeRead((tx) => tx.run('MATCH (a:Slow), (b:Slow) WHERE a.x + b.x = 3 RETURN count(*) AS c'), { timeout: 150 }),
            (err: { code?: string }) => {
              assert.equal(err.code, 'Neo.ClientError.Transaction.TransactionTimedOut');
              return true;
            },
          );
          assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
          const ok = await session.run('RETURN 1 AS x');
          assert.equal(ok.records.length, 1);
        } finally {
          await session.close();
          await driver.executeQuery('MATCH (s:Slow) DELETE s');
        }
      });

      test('concurrent sessions all get their answers', async () => {
        const tag = `conc-${name}`;
        await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            i % 2 === 0
              ? driver.executeQuery('CREATE (:Conc {tag: $tag, i: $i})', { tag, i: neo4j.int(i) })
              : driver.executeQuery('MATCH (n) RETURN count(n) AS c'),
          ),
        );
        const { records } = await driver.executeQuery('MATCH (c:Conc {tag: $tag}) RETURN count(c) AS n', { tag });
        assert.equal(records[0]!.get('n').toNumber(), 8);
      });

      test('a wrong password is refused with Unauthorized', async () => {
        const bad = neo4j.driver(url(), neo4j.auth.basic('admin', 'wrong'));
        try {
          await assert.rejects(bad.verifyConnectivity(), (err: { code?: string }) => {
            assert.equal(err.code, 'Neo.ClientError.Security.Unauthorized');
            return true;
          });
        } finally {
          await bad.close();
        }
      });

      test('a read-only user reads but is refused writes with Forbidden', async () => {
        const reader = neo4j.driver(url(), neo4j.auth.basic('reader', 'secret-2'));
        try {
          const { records } = await reader.executeQuery('MATCH (n) RETURN count(n) AS c');
          assert.ok(records[0]!.get('c').toNumber() >= 0);
          const before = (await adminRequest(dataDir, { op: 'counts' })).nodes;
          await assert.rejects(reader.executeQuery("CREATE (:Nope {by: 'reader'})"), (err: { code?: string }) => {
            assert.equal(err.code, 'Neo.ClientError.Security.Forbidden');
            return true;
          });
          assert.equal((await adminRequest(dataDir, { op: 'counts' })).nodes, before);
        } finally {
          await reader.close();
        }
      });
    });
  }

  test('a change to the users file takes effect without a restart', async () => {
    const url = `bolt://127.0.0.1:${server.ready.boltPort}`;
    await writeUsers(usersFile, [
      { username: 'admin', password: 'secret-1' },
      { username: 'reader', password: 'secret-2', readOnly: true },
      { username: 'newcomer', password: 'fresh' },
    ]);
    await waitFor(
      async () => {
        const d = neo4j6.driver(url, neo4j6.auth.basic('newcomer', 'fresh'));
        try {
          await d.verifyConnectivity();
          return true;
        } finally {
          await d.close();
        }
      },
      { timeoutMs: 10_000, what: 'the new user to be accepted' },
    );
    // And removing a user locks it out again.
    await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }]);
    await waitFor(
      async () => {
        const d = neo4j6.driver(url, neo4j6.auth.basic('newcomer', 'fresh'));
        try {
          await d.verifyConnectivity();
          return false;
        } catch (err) {
          return (err as { code?: string }).code === 'Neo.ClientError.Security.Unauthorized';
        } finally {
          await d.close();
        }
      },
      { timeoutMs: 10_000, what: 'the removed user to be refused' },
    );
  });

  test('network rules in the users file refuse other addresses on Bolt and HTTP, without a restart', async () => {
    const url = `bolt://127.0.0.1:${server.ready.boltPort}`;
    const connects = () => boltConnects(url, 'admin', 'secret-1');
    const queryApi = () =>
      fetch(`http://127.0.0.1:${server.ready.httpPort}/db/neo4j/query/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('admin:secret-1').toString('base64')}` },
        body: JSON.stringify({ statement: 'RETURN 1 AS one' }),
      });
    try {
      // Only a range this client is not in: the socket is closed before anything is read.
      await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }], ['10.0.0.0/8', 'fd00::/8']);
      await waitFor(async () => !(await connects()), { timeoutMs: 10_000, what: 'connections from 127.0.0.1 to be refused' });
      const refused = await queryApi();
      assert.equal(refused.status, 403);
      assert.match(JSON.stringify(await refused.json()), /Neo\.ClientError\.Security\.Forbidden.*network rules/);
      // Adding this client's range lets it in again.
      await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }], ['10.0.0.0/8', '127.0.0.0/8']);
      await waitFor(connects, { timeoutMs: 10_000, what: 'connections from 127.0.0.1 to be accepted' });
      assert.equal((await queryApi()).status, 202);
    } finally {
      await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }]);
      await waitFor(connects, { timeoutMs: 10_000, what: 'the rules to be lifted' });
    }
  });

  test('SIGHUP reloads the users file', async () => {
    // Write in place with the same size and mtime resolution racing the watcher is not the point here:
    // SIGHUP must make the server read the file now.
    await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }, { username: 'hup', password: 'hup-pass' }]);
    server.child.kill('SIGHUP');
    await waitFor(
      async () => {
        const d = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('hup', 'hup-pass'));
        try {
          await d.verifyConnectivity();
          return true;
        } finally {
          await d.close();
        }
      },
      { timeoutMs: 10_000, what: 'the user added before SIGHUP' },
    );
    assert.equal(server.child.exitCode, null, 'SIGHUP does not stop the server');
  });

  test('the admin channel reports counts, checkpoints, and writes an online backup', async () => {
    const counts = await adminRequest(dataDir, { op: 'counts' });
    const viaBolt = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'secret-1'));
    try {
      const { records } = await viaBolt.executeQuery('MATCH (n) WITH count(n) AS n OPTIONAL MATCH ()-[r]->() RETURN n, count(r) AS r');
      assert.equal(counts.nodes, records[0]!.get('n').toNumber());
      assert.equal(counts.relationships, records[0]!.get('r').toNumber());
    } finally {
      await viaBolt.close();
    }
    assert.deepEqual(await adminRequest(dataDir, { op: 'checkpoint' }), { checkpointed: true });
    const backupDir = join(dir, 'backup-1');
    const res = await adminRequest(dataDir, { op: 'backup', dir: backupDir });
    assert.equal(res.dir, backupDir);
    const files = await readdir(backupDir);
    assert.ok(files.includes('backup_manifest.json'), files.join(','));
    assert.ok(files.some((f) => f.endsWith('.grafeo')), files.join(','));
    await assert.rejects(adminRequest(dataDir, { op: 'backup', dir: 'relative/dir' }), /absolute/);
  });

  test('a second server on the same data dir refuses to start, naming the reason', async () => {
    await assert.rejects(startServer(dataDir, usersFile), /cannot open the database.*lock/);
    const health = await adminRequest(dataDir, { op: 'health' });
    assert.equal(health.status, 'ok', 'the first server is untouched');
  });

  test('a missing users file stops the start with a clear message', async () => {
    await assert.rejects(
      runGraphServer({ dataDir: join(dir, 'other-data'), boltPort: 0, httpPort: 0, usersFile: join(dir, 'no-such-users.json') }),
      /cannot read the users file .*no-such-users\.json/,
    );
  });

  test('SIGKILL loses no committed data: the restart replays the WAL', async () => {
    const d = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'secret-1'));
    await d.executeQuery("CREATE (:Crash {id: 'committed'})");
    await d.close();
    const before = await adminRequest(dataDir, { op: 'counts' });
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGKILL');
    await exited;
    server = await startServer(dataDir, usersFile);
    assert.deepEqual(await adminRequest(dataDir, { op: 'counts' }), before);
  });

  test('SIGTERM closes cleanly and a restart keeps the data', async () => {
    const url = () => `bolt://127.0.0.1:${server.ready.boltPort}`;
    const d = neo4j6.driver(url(), neo4j6.auth.basic('admin', 'secret-1'));
    await d.executeQuery("CREATE (:Durable {id: 'keep-me'})");
    await d.close();
    const before = await adminRequest(dataDir, { op: 'counts' });
    const code = await stopServer(server);
    assert.equal(code, 0, server.stderr());
    assert.equal(existsSync(join(dataDir, 'admin.sock')), false, 'the admin socket is removed');
    server = await startServer(dataDir, usersFile);
    const after = await adminRequest(dataDir, { op: 'counts' });
    assert.deepEqual(after, before);
    const d2 = neo4j6.driver(url(), neo4j6.auth.basic('admin', 'secret-1'));
    try {
      const { records } = await d2.executeQuery("MATCH (n:Durable {id: 'keep-me'}) RETURN count(n) AS c");
      assert.equal(records[0]!.get('c').toNumber(), 1);
    } finally {
      await d2.close();
    }
  });
});
