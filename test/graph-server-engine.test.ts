// The Grafeo engine adapter in-process, and the users file: value conversion, statistics, errors,
// transactions, the query-check hook, password hashes and reloads.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CypherError } from '../src/graph-server/engine-api.js';
import { classifyQuery } from '../src/graph-server/engines/grafeo/classification.js';
import { rewriteElementIds } from '../src/graph-server/engines/grafeo/element-ids.js';
import { openGrafeoEngine, type GrafeoEngine } from '../src/graph-server/engines/grafeo/engine.js';
import { hashPassword, verifyPassword } from '../src/auth/passwords.js';
import { parseAccess, parseUsers, UsersFile } from '../src/graph-server/users.js';
import { adminSocketPath } from '../src/graph-server/admin.js';
import {
  CypherDate,
  CypherDateTime,
  CypherDuration,
  CypherLocalDateTime,
  CypherLocalTime,
  CypherPoint,
  CypherTime,
  Node,
  Path,
  Relationship,
  type Value,
} from '../src/graph-server/values.js';
import { waitFor } from './helpers/wait-for.js';

const RW = { readOnly: false };

describe('Grafeo engine adapter', () => {
  let dir: string;
  let engine: GrafeoEngine;
  const notifications: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-engine-'));
    engine = await openGrafeoEngine({
      dataDir: join(dir, 'data'),
      checkQuery: async (query) => {
        if (query.includes('REFUSE_ME')) throw new CypherError('Neo.ClientError.Statement.SyntaxError', 'refused by the checker', '42001');
        notifications.push(query);
        return query.includes('WARN_ME')
          ? { notifications: [{ code: 'Neo.ClientNotification.Statement.CartesianProduct', title: 't', description: 'd', severity: 'WARNING' }] }
          : { notifications: [] };
      },
    });
  });

  after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  const one = async (query: string, params = {}): Promise<Value[]> => (await engine.run(query, params, RW)).records[0]!;

  test('scalars keep Integer (bigint) and Float (number) apart, also in lists and maps', async () => {
    const [i, f, whole, big, l, lf, m, mixed, empty] = await one(
      "RETURN 1 AS i, 1.5 AS f, 2.0 AS whole, 9007199254740993 AS big, [1, 2] AS l, [0.5] AS lf, {a: 1, b: 'x', c: null} AS m, [1, 'a', 2.5] AS mixed, [] AS empty",
    );
    assert.equal(i, 1n);
    assert.equal(f, 1.5);
    assert.equal(whole, 2);
    assert.equal(big, 9007199254740993n);
    assert.deepEqual(l, [1n, 2n]);
    assert.deepEqual(lf, [0.5]);
    assert.deepEqual(m, { a: 1n, b: 'x', c: null });
    assert.deepEqual(mixed, [1n, 'a', 2.5]);
    assert.deepEqual(empty, []);
  });

  test('temporal values map to the shared temporal classes', async () => {
    const [d, t, lt, dt, ldt, du] = await one(
      "RETURN date('2024-01-02') AS d, time('12:00:00.5+02:00') AS t, localtime('01:02:03.000000004') AS lt, datetime('2024-01-02T03:04:05.123456-05:00') AS dt, localdatetime('2024-01-02T03:04:05.25') AS ldt, duration('P1Y2DT3.5S') AS du",
    );
    assert.deepEqual(d, new CypherDate(19724n));
    assert.deepEqual(t, new CypherTime(43_200_500_000_000n, 7200n));
    assert.deepEqual(lt, new CypherLocalTime(3_723_000_000_004n));
    assert.deepEqual(dt, new CypherDateTime(BigInt(Date.UTC(2024, 0, 2, 8, 4, 5) / 1000), 123_456_000n, -18000n, null));
    assert.deepEqual(ldt, new CypherLocalDateTime(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000), 250_000_000n));
    assert.deepEqual(du, new CypherDuration(12n, 2n, 3n, 500_000_000n));
  });

  test('parameters of every type round-trip through the engine', async () => {
    const params = {
      i: -5n,
      f: 3.0,
      s: 'ß',
      b: false,
      n: null,
      bytes: new Uint8Array([0, 255]),
      list: [1n, 2.5, 'x'],
      map: { nested: { deep: 1n } },
      d: new CypherDate(-1n),
      t: new CypherTime(3_600_000_000_000n, -3600n),
      lt: new CypherLocalTime(1n),
      dt: new CypherDateTime(1_700_000_000n, 123_456_000n, 19800n, null),
      ldt: new CypherLocalDateTime(1_700_000_000n, 5_000_000n),
      du: new CypherDuration(1n, 2n, 3n, 4n),
    };
    const names = Object.keys(params);
    const row = await one(`RETURN ${names.map((k) => `$${k} AS ${k}`).join(', ')}`, params);
    const back = Object.fromEntries(names.map((k, i) => [k, row[i]]));
    assert.deepEqual(back, params);
  });

  test('a DateTime in a named zone is refused: the engine would keep only its offset', async () => {
    await assert.rejects(engine.run('RETURN $dt AS dt', { dt: new CypherDateTime(1_719_792_000n, 0n, null, 'Europe/Paris') }, RW), (e: any) => {
      assert.equal(e.code, 'Neo.ClientError.Statement.ArgumentError');
      assert.match(e.message, /datetime\('2024-07-01T00:00:00\[Europe\/Paris\]'\)/);
      return true;
    });
  });

  test('points, and nodes as parameters, are refused with a TypeError', async () => {
    await assert.rejects(engine.run('RETURN $p', { p: new CypherPoint(7203n, 1, 2) }, RW), { code: 'Neo.ClientError.Statement.TypeError' });
    await assert.rejects(engine.run('RETURN $n', { n: new Node(0n, [], {}, 'x') }, RW), { code: 'Neo.ClientError.Statement.TypeError' });
  });

  test('nodes, relationships and paths carry ids, element ids and typed properties', async () => {
    const uuid = engine.databaseUuid;
    await engine.run("CREATE (:City {name: 'A', pop: 10, area: 1.5})-[:ROAD {km: 2.5}]->(:City {name: 'B'})", {}, RW);
    const [a, r, b, p, rev] = await one(
      "MATCH p = (a:City {name: 'A'})-[r:ROAD]->(b:City) MATCH rev = (b)<-[:ROAD]-(a) RETURN a, r, b, p, rev",
    );
    assert.ok(a instanceof Node && b instanceof Node && r instanceof Relationship);
    assert.deepEqual(a.labels, ['City']);
    assert.deepEqual(a.properties, { name: 'A', pop: 10n, area: 1.5 });
    assert.deepEqual(b.properties, { name: 'B' }, 'no padding with other rows\u2019 keys');
    assert.equal(a.elementId, `4:${uuid}:${a.id}`);
    assert.equal(r.elementId, `5:${uuid}:${r.id}`);
    assert.equal(r.startId, a.id);
    assert.equal(r.endId, b.id);
    assert.equal(r.startElementId, a.elementId);
    assert.deepEqual(r.properties, { km: 2.5 });
    assert.ok(p instanceof Path);
    assert.deepEqual(p.nodes.map((n) => n.id), [a.id, b.id]);
    assert.equal(p.rels[0]!.id, r.id);
    assert.ok(rev instanceof Path);
    assert.deepEqual(rev.nodes.map((n) => n.id), [b.id, a.id], 'a path walked backwards starts at its first node');
    assert.equal(rev.rels[0]!.startId, a.id, 'and its relationship keeps its own direction');
  });

  test('nodes and relationships inside paths and mixed lists keep whole Floats as Floats', async () => {
    await engine.run("CREATE (:Exact {f: 1.0, i: 1})-[:EXACT {w: 2.0, j: 2}]->(:Exact {f: 3.0})", {}, RW);
    const [p, mixed] = await one("MATCH p = (a:Exact)-[r:EXACT]->(b) RETURN p, [a, 'x', 1] AS mixed");
    assert.ok(p instanceof Path);
    assert.deepEqual(p.nodes[0]!.properties, { f: 1, i: 1n });
    assert.deepEqual(p.nodes[1]!.properties, { f: 3 });
    assert.deepEqual(p.rels[0]!.properties, { w: 2, j: 2n });
    const [n, x, one_] = mixed as Value[];
    assert.ok(n instanceof Node);
    assert.deepEqual(n.properties, { f: 1, i: 1n });
    assert.equal(x, 'x');
    assert.equal(one_, 1n);
  });

  test('write statistics and query types', async () => {
    const created = await engine.run("CREATE (n:Stat {a: 1, b: 2}) RETURN n", {}, RW);
    assert.deepEqual(created.summary.stats, { 'nodes-created': 1, 'properties-set': 2, 'labels-added': 1 });
    assert.equal(created.summary.queryType, 'rw');
    const write = await engine.run('MATCH (n:Stat) DETACH DELETE n', {}, RW);
    assert.deepEqual(write.summary.stats, { 'nodes-deleted': 1 });
    assert.equal(write.summary.queryType, 'w');
    const read = await engine.run('MATCH (n) RETURN count(n) AS c', {}, RW);
    assert.deepEqual(read.summary.stats, {});
    assert.equal(read.summary.queryType, 'r');
    const schema = await engine.run('CREATE INDEX FOR (n:Stat) ON (n.a)', {}, RW);
    assert.equal(schema.summary.queryType, 's');
    assert.deepEqual(schema.summary.stats, { 'indexes-added': 1 });
    assert.match(created.bookmark, new RegExp(`^FB:${engine.databaseUuid}:\\d+$`));
  });

  test('engine errors map to Neo4j codes by GQLSTATUS', async () => {
    const cases: [string, string][] = [
      ['RETURN 1 +', 'Neo.ClientError.Statement.SyntaxError'],
      ['RETURN $absent', 'Neo.ClientError.Statement.ParameterMissing'],
      ['RETURN 1 / 0', 'Neo.ClientError.Statement.ArithmeticError'],
      ['RETURN 9223372036854775807 + 1', 'Neo.ClientError.Statement.ArithmeticError'],
      ['RETURN nosuchfunction(1)', 'Neo.ClientError.Statement.SyntaxError'],
      ['CALL no.such.procedure()', 'Neo.ClientError.Procedure.ProcedureNotFound'],
      ["CREATE (a:Linked)-[:R]->(:Linked) WITH a DELETE a", 'Neo.ClientError.Schema.ConstraintValidationFailed'],
    ];
    for (const [query, code] of cases) {
      await assert.rejects(engine.run(query, {}, RW), (err: CypherError) => {
        assert.ok(err instanceof CypherError);
        assert.equal(err.code, code, query);
        assert.doesNotMatch(err.message, /^Query error/);
        return true;
      });
    }
  });

  test('a unique constraint violation is ConstraintValidationFailed and leaves nothing behind', async () => {
    await engine.run('CREATE CONSTRAINT FOR (n:Unique) REQUIRE n.id IS UNIQUE', {}, RW);
    await engine.run('CREATE (:Unique {id: 1})', {}, RW);
    await assert.rejects(engine.run('CREATE (:Unique {id: 1})', {}, RW), (err: CypherError) => {
      assert.equal(err.code, 'Neo.ClientError.Schema.ConstraintValidationFailed');
      assert.match(err.message, /^UNIQUE constraint violation/);
      return true;
    });
    assert.deepEqual((await engine.run('MATCH (n:Unique) RETURN count(n) AS c', {}, RW)).records, [[1n]]);
  });

  test('read-only queries refuse writes before and after the engine runs them', async () => {
    const before = engine.counts();
    await assert.rejects(engine.run('CREATE (:Nope)', {}, { readOnly: true }), { code: 'Neo.ClientError.Security.Forbidden' });
    await assert.rejects(engine.run('CREATE INDEX FOR (n:Nope) ON (n.x)', {}, { readOnly: true }), { code: 'Neo.ClientError.Security.Forbidden' });
    assert.deepEqual(engine.counts(), before);
    const ok = await engine.run("MATCH (n) WHERE n.name = 'CREATE' RETURN count(n) AS c", {}, { readOnly: true });
    assert.equal(ok.records.length, 1, 'a keyword inside a string is not a write');
  });

  test('explicit transactions isolate, commit, and roll back', async () => {
    const tx = await engine.begin(RW);
    await tx.run("CREATE (:Iso {v: 1})", {});
    const outside = await engine.run('MATCH (n:Iso) RETURN count(n) AS c', {}, RW);
    assert.deepEqual(outside.records, [[0n]]);
    await tx.rollback();
    assert.deepEqual((await engine.run('MATCH (n:Iso) RETURN count(n) AS c', {}, RW)).records, [[0n]]);
    const tx2 = await engine.begin(RW);
    await tx2.run("CREATE (:Iso {v: 2})", {});
    assert.match(await tx2.commit(), /^FB:/);
    assert.deepEqual((await engine.run('MATCH (n:Iso) RETURN n.v AS v', {}, RW)).records, [[2n]]);
    await assert.rejects(tx2.run('RETURN 1', {}), { code: 'Neo.ClientError.Transaction.TransactionNotFound' });
  });

  test('after an error a transaction can only roll back', async () => {
    const tx = await engine.begin(RW);
    await tx.run("CREATE (:Broken)", {});
    await assert.rejects(tx.run('RETURN 1 / 0', {}), { code: 'Neo.ClientError.Statement.ArithmeticError' });
    await assert.rejects(tx.run('RETURN 1', {}), { code: 'Neo.ClientError.Transaction.TransactionTerminated' });
    await tx.rollback();
    assert.deepEqual((await engine.run('MATCH (n:Broken) RETURN count(n) AS c', {}, RW)).records, [[0n]]);
    assert.equal(engine.openTransactions, 0);
  });

  test('two transactions writing the same node: the second gets a transient (retryable) error', async () => {
    await engine.run("CREATE (:Contended {v: 0})", {}, RW);
    const t1 = await engine.begin(RW);
    const t2 = await engine.begin(RW);
    await t1.run('MATCH (n:Contended) SET n.v = 1', {});
    await assert.rejects(t2.run('MATCH (n:Contended) SET n.v = 2', {}), (err: CypherError) => {
      assert.match(err.code, /^Neo\.TransientError\./);
      return true;
    });
    await t1.commit();
    await t2.rollback();
  });

  test('a timed-out auto-commit write fails at the deadline and is not committed', async () => {
    await engine.run('UNWIND range(1, 1200) AS x CREATE (:T {x: x})', {}, RW);
    const started = Date.now();
    await assert.rejects(
      engine.run('MATCH (a:T), (b:T) WHERE a.x + b.x = 3 CREATE (:Late)', {}, { readOnly: false, timeoutMs: 100 }),
      { code: 'Neo.ClientError.Transaction.TransactionTimedOut' },
    );
    assert.ok(Date.now() - started < 600, `failed after ${Date.now() - started} ms`);
    // Once the engine finishes the query, its transaction is rolled back.
    await waitFor(async () => (await engine.run('MATCH (n:Late) RETURN count(n) AS c', {}, RW)).records[0]![0] === 0n && engine.openTransactions === 0, {
      timeoutMs: 20_000,
      what: 'the timed-out transaction to end',
    });
    await engine.run('MATCH (t:T) DELETE t', {}, RW);
  });

  test('the query checker runs first: its notifications are added, its refusal stops the query', async () => {
    const warned = await engine.run('RETURN 1 AS WARN_ME', {}, RW);
    assert.equal(warned.summary.notifications[0]?.code, 'Neo.ClientNotification.Statement.CartesianProduct');
    const before = engine.counts().nodes;
    await assert.rejects(engine.run('CREATE (:REFUSE_ME)', {}, RW), { message: 'refused by the checker' });
    assert.equal(engine.counts().nodes, before);
  });

  test('elementId() answers in the Neo4j form and finds nodes by it', async () => {
    const [n, eid] = await one("CREATE (n:Eid) RETURN n, elementId(n) AS e");
    assert.ok(n instanceof Node);
    assert.equal(eid, n.elementId);
    const found = await engine.run('MATCH (x) WHERE elementId(x) = $id RETURN labels(x) AS l, elementId(x)', { id: n.elementId }, RW);
    assert.deepEqual(found.fields, ['l', 'elementId(x)']);
    assert.deepEqual(found.records, [[['Eid'], n.elementId]]);
  });
});

test('element ids stay right for a database UUID ending in e (which holds "e:")', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'graph-server-eid-'));
  const uuid = '0000000e-000e-000e-000e-00000000000e';
  await writeFile(join(dir, 'database-id'), uuid + '\n');
  const engine = await openGrafeoEngine({ dataDir: dir });
  try {
    assert.equal(engine.databaseUuid, uuid);
    const { records } = await engine.run('CREATE (n:X)-[r:R]->(:Y) RETURN elementId(n), elementId(r), n', {}, RW);
    const [en, er, n] = records[0]!;
    assert.equal(en, `4:${uuid}:${(n as Node).id}`);
    assert.match(er as string, new RegExp(`^5:${uuid}:\\d+$`));
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('close does not wait past its grace for a query it cannot stop, and keeps committed data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'graph-server-close-'));
  try {
    const engine = await openGrafeoEngine({ dataDir: dir });
    await engine.run('UNWIND range(1, 2000) AS x CREATE (:T {x: x})', {}, RW);
    const tx = await engine.begin(RW);
    const order: string[] = [];
    const slow = tx.run('MATCH (a:T), (b:T) WHERE a.x + b.x = 3 CREATE (:Uncommitted)', {}).then(
      () => order.push('query'),
      () => order.push('query'),
    );
    await engine.close({ graceMs: 50 });
    order.push('closed');
    await slow;
    assert.deepEqual(order, ['closed', 'query']);
    const again = await openGrafeoEngine({ dataDir: dir });
    try {
      assert.deepEqual(again.counts(), { nodes: 2000, relationships: 0 });
    } finally {
      await again.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('query text helpers', () => {
  test('classifyQuery finds writes and schema changes outside strings and comments', () => {
    assert.deepEqual(classifyQuery("MATCH (n) WHERE n.s = 'CREATE' RETURN n // DELETE"), { writes: false, schema: null });
    assert.equal(classifyQuery('MATCH (n) SET n.x = 1').writes, true);
    assert.equal(classifyQuery('merge (n:X)').writes, true);
    assert.deepEqual(classifyQuery('CREATE RANGE INDEX idx FOR (n:X) ON (n.a)').schema, { added: 'indexes-added' });
    assert.deepEqual(classifyQuery('DROP CONSTRAINT c').schema, { removed: 'constraints-removed' });
  });

  test('rewriteElementIds leaves strings, comments and other names alone', () => {
    const q = "MATCH (n) WHERE myelementId(n) = 'elementId(n)' /* elementId(n) */ RETURN elementId(n)";
    const out = rewriteElementIds(q, 'U');
    assert.ok(out.startsWith("MATCH (n) WHERE myelementId(n) = 'elementId(n)' /* elementId(n) */ RETURN replace(replace(elementId(n)"));
  });
});

describe('users file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-users-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('hashPassword makes scrypt$N$r$p$salt$hash and verifyPassword checks it', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('wrong horse', hash), false);
    assert.notEqual(await hashPassword('correct horse'), hash, 'salted');
    assert.equal(await verifyPassword('x', 'scrypt$abc'), false);
    assert.equal(await verifyPassword('x', 'bcrypt$1$2$3$4$5'), false);
  });

  test('parseUsers names what is wrong', () => {
    assert.throws(() => parseUsers('{}'), /"users"/);
    assert.throws(() => parseAccess('{"users": [], "allow": "10.0.0.0/8"}'), /"allow" must be a list/);
    assert.throws(() => parseAccess('{"users": [], "allow": ["10.0.0.0/33"]}'), /allow 0/);
    const access = parseAccess('{"users": [{"username":"a","passwordHash":"scrypt$1"}], "allow": ["10.0.0.0/8", "fd00::/8"]}');
    assert.deepEqual([access.users.length, access.allow.length], [1, 2]);
    assert.deepEqual(parseAccess('[]'), { users: [], allow: [] }, 'the bare array form means no rules');
    assert.throws(() => parseUsers('[{"username": "a"}]'), /passwordHash/);
    assert.throws(() => parseUsers('[{"username":"a","passwordHash":"scrypt$1"},{"username":"a","passwordHash":"scrypt$1"}]'), /twice/);
    assert.deepEqual(parseUsers('[{"username":"a","passwordHash":"scrypt$1"}]'), [{ username: 'a', passwordHash: 'scrypt$1', readOnly: false }]);
  });

  test('authenticates basic tokens and reloads on change, keeping the old users if the new file is broken', async () => {
    const file = join(dir, 'users.json');
    const write = async (content: string) => {
      await writeFile(`${file}.tmp`, content);
      await rename(`${file}.tmp`, file);
    };
    const fast = { N: 1024, r: 8, p: 1 };
    await write(JSON.stringify([{ username: 'u', passwordHash: await hashPassword('p1', fast), readOnly: true }]));
    const users = await UsersFile.open({ file, pollIntervalMs: 100 });
    try {
      assert.deepEqual(await users.authenticate({ scheme: 'basic', principal: 'u', credentials: 'p1' }), { username: 'u', readOnly: true });
      assert.equal(await users.authenticate({ scheme: 'basic', principal: 'u', credentials: 'nope' }), null);
      assert.equal(await users.authenticate({ scheme: 'none' }), null);
      assert.equal(await users.authenticate({ scheme: 'basic', principal: 'ghost', credentials: 'p1' }), null);
      const gen = users.generation;
      await write(JSON.stringify([{ username: 'u', passwordHash: await hashPassword('p2', fast), readOnly: false }]));
      await waitFor(() => users.generation > gen, { what: 'the reload' });
      assert.equal(await users.authenticate({ scheme: 'basic', principal: 'u', credentials: 'p1' }), null, 'the old password no longer works');
      assert.deepEqual(await users.authenticate({ scheme: 'basic', principal: 'u', credentials: 'p2' }), { username: 'u', readOnly: false });
      const gen2 = users.generation;
      await write('not json');
      await users.reload();
      assert.equal(users.generation, gen2);
      assert.deepEqual(await users.authenticate({ scheme: 'basic', principal: 'u', credentials: 'p2' }), { username: 'u', readOnly: false });
    } finally {
      users.close();
    }
  });

  test('allows client addresses by the network rules of the file, IPv4-mapped IPv6 included', async () => {
    const file = join(dir, 'rules.json');
    await writeFile(file, JSON.stringify({ users: [], allow: ['127.0.0.0/8', '2001:db8::/32'] }));
    const users = await UsersFile.open({ file, pollIntervalMs: 100 });
    try {
      assert.equal(users.allows('127.0.0.1'), true);
      assert.equal(users.allows('::ffff:127.0.0.1'), true, 'what a dual-stack socket reports for an IPv4 client');
      assert.equal(users.allows('2001:db8::5'), true);
      assert.equal(users.allows('10.1.2.3'), false);
      assert.equal(users.allows('::1'), false);
      assert.equal(users.allows(undefined), false, 'an address the socket does not know is refused when rules exist');
      const gen = users.generation;
      await writeFile(`${file}.tmp`, JSON.stringify({ users: [], allow: [] }));
      await rename(`${file}.tmp`, file);
      await waitFor(() => users.generation > gen, { what: 'the reload' });
      assert.equal(users.allows('10.1.2.3'), true, 'no rules: every address');
      assert.equal(users.allows(undefined), true);
    } finally {
      users.close();
    }
  });

  test('a missing users file at start is an error naming the file', async () => {
    await assert.rejects(UsersFile.open({ file: join(dir, 'absent.json') }), /absent\.json/);
  });
});

describe('admin socket path', () => {
  test('lives in the data dir, or in the temp dir under a stable name when the data dir is too deep', () => {
    assert.equal(adminSocketPath('/var/lib/allotrope/db1'), '/var/lib/allotrope/db1/admin.sock');
    const deep = '/var/lib/allotrope/' + 'x'.repeat(120);
    const path = adminSocketPath(deep);
    assert.ok(path.startsWith(tmpdir()) && path.endsWith('.sock'));
    assert.equal(adminSocketPath(deep), path);
    assert.notEqual(adminSocketPath(deep + 'y'), path);
  });
});
