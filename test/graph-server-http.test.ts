// The Neo4j Query API of a real graph-server process, driven with fetch.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';


describe('graph-server Query API', () => {
  let dir: string;
  let server: Running;
  let base: string;
  const auth = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const ADMIN = auth('admin', 'pw-admin');
  const READER = auth('reader', 'pw-reader');

  async function query(
    body: unknown,
    { authorization = ADMIN, typed = false, path = '/db/neo4j/query/v2', method = 'POST' }: { authorization?: string | null; typed?: boolean; path?: string; method?: string } = {},
  ): Promise<{ status: number; body: any; contentType: string | null }> {
    const headers: Record<string, string> = {
      'content-type': typed ? 'application/vnd.neo4j.query' : 'application/json',
      accept: typed ? 'application/vnd.neo4j.query' : 'application/json',
    };
    if (authorization) headers.authorization = authorization;
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, contentType: res.headers.get('content-type') };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-http-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [
      { username: 'admin', password: 'pw-admin' },
      { username: 'reader', password: 'pw-reader', readOnly: true },
    ]);
    server = await startServer(join(dir, 'data'), usersFile);
    base = `http://127.0.0.1:${server.ready.httpPort}`;
  });

  after(async () => {
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('discovery at GET / needs no credentials and points at Bolt and the Query API', async () => {
    const res = await fetch(base + '/');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, string>;
    assert.equal(doc.bolt_direct, `bolt://127.0.0.1:${server.ready.boltPort}`);
    assert.equal(doc.bolt_routing, `neo4j://127.0.0.1:${server.ready.boltPort}`);
    assert.equal(doc.query, `http://127.0.0.1:${server.ready.httpPort}/db/{databaseName}/query/v2`);
    assert.match(doc.neo4j_version!, /^5\./);
  });

  test('answers CORS preflights so browser apps can call it', async () => {
    const res = await fetch(base + '/db/neo4j/query/v2', { method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /authorization/);
  });

  test('refuses missing and wrong credentials with 401, a malformed header with 400', async () => {
    const none = await query({ statement: 'RETURN 1' }, { authorization: null });
    assert.equal(none.status, 401);
    assert.deepEqual(none.body.errors[0], { code: 'Neo.ClientError.Security.Unauthorized', message: 'No authentication header supplied.' });
    const wrong = await query({ statement: 'RETURN 1' }, { authorization: auth('admin', 'nope') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errors[0].message, 'Invalid username or password.');
    const unknown = await query({ statement: 'RETURN 1' }, { authorization: auth('ghost', 'pw-admin') });
    assert.equal(unknown.status, 401);
    const bearer = await query({ statement: 'RETURN 1' }, { authorization: 'Bearer some.jwt.token' });
    assert.equal(bearer.status, 401);
    const malformed = await query({ statement: 'RETURN 1' }, { authorization: 'Basic !!!' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.errors[0].code, 'Neo.ClientError.Request.InvalidFormat');
  });

  test('plain JSON: rows, nodes, relationships, temporal text, counters and a bookmark', async () => {
    const res = await query({
      statement:
        "CREATE (a:Doc {title: 'T', n: 2, f: 1.5})-[r:CITES {w: 3}]->(b:Doc {title: 'U'}) " +
        "RETURN a, r, 7 AS seven, 0.5 AS half, date('2024-05-06') AS d, datetime('2024-05-06T07:08:09+02:00') AS dt, duration('P1DT2H') AS du, [1, 'x'] AS l",
      includeCounters: true,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body.data.fields, ['a', 'r', 'seven', 'half', 'd', 'dt', 'du', 'l']);
    const [a, r, seven, half, d, dt, du, l] = res.body.data.values[0];
    assert.deepEqual(a.labels, ['Doc']);
    assert.deepEqual(a.properties, { title: 'T', n: 2, f: 1.5 });
    assert.match(a.elementId, new RegExp(`^4:${server.ready.databaseId}:\\d+$`));
    assert.equal(r.type, 'CITES');
    assert.equal(r.startNodeElementId, a.elementId);
    assert.match(r.endNodeElementId, /^4:/);
    assert.equal(seven, 7);
    assert.equal(half, 0.5);
    assert.equal(d, '2024-05-06');
    assert.equal(dt, '2024-05-06T07:08:09+02:00');
    assert.equal(du, 'P1DT2H');
    assert.deepEqual(l, [1, 'x']);
    assert.equal(res.body.counters.nodesCreated, 2);
    assert.equal(res.body.counters.relationshipsCreated, 1);
    assert.equal(res.body.counters.containsUpdates, true);
    assert.match(res.body.bookmarks[0], /^FB:/);
    assert.equal(res.body.queryType, 'rw');
  });

  test('plain JSON writes Integers past 2^53 with every digit', async () => {
    const res = await fetch(base + '/db/neo4j/query/v2', {
      method: 'POST',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ statement: 'RETURN 9007199254740993 AS big, 3 AS small' }),
    });
    const text = await res.text();
    assert.match(text, /\[\[9007199254740993,3\]\]/);
  });

  test('typed JSON: every value tagged, typed parameters read back exactly', async () => {
    const parameters = {
      i: { $type: 'Integer', _value: '9007199254740993' },
      f: { $type: 'Float', _value: '2.0' },
      s: { $type: 'String', _value: 'x' },
      b: { $type: 'Boolean', _value: true },
      n: { $type: 'Null', _value: null },
      bytes: { $type: 'Base64', _value: 'AQID' },
      list: { $type: 'List', _value: [{ $type: 'Integer', _value: '1' }, { $type: 'String', _value: 'two' }] },
      map: { $type: 'Map', _value: { k: { $type: 'Float', _value: '0.25' } } },
      date: { $type: 'Date', _value: '2024-02-29' },
      time: { $type: 'Time', _value: '12:34:56.5+01:00' },
      lt: { $type: 'LocalTime', _value: '01:02:03' },
      odt: { $type: 'OffsetDateTime', _value: '2024-01-02T03:04:05.25-05:00' },
      ldt: { $type: 'LocalDateTime', _value: '2024-01-02T03:04:05' },
      dur: { $type: 'Duration', _value: 'P14M3DT3725.5S' },
    };
    const names = Object.keys(parameters);
    const res = await query({ statement: `RETURN ${names.map((k) => `$${k} AS ${k}`).join(', ')}`, parameters }, { typed: true });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.contentType, 'application/vnd.neo4j.query');
    const row = Object.fromEntries(names.map((k, i) => [k, res.body.data.values[0][i]]));
    assert.deepEqual(row.i, { $type: 'Integer', _value: '9007199254740993' });
    assert.deepEqual(row.f, { $type: 'Float', _value: '2.0' });
    assert.deepEqual(row.s, { $type: 'String', _value: 'x' });
    assert.deepEqual(row.b, { $type: 'Boolean', _value: true });
    assert.deepEqual(row.n, { $type: 'Null', _value: null });
    assert.deepEqual(row.bytes, { $type: 'Base64', _value: 'AQID' });
    assert.deepEqual(row.list, parameters.list);
    assert.deepEqual(row.map, parameters.map);
    assert.deepEqual(row.date, parameters.date);
    assert.deepEqual(row.time, { $type: 'Time', _value: '12:34:56.5+01:00' });
    assert.deepEqual(row.lt, parameters.lt);
    assert.deepEqual(row.odt, parameters.odt);
    assert.deepEqual(row.ldt, parameters.ldt);
    assert.deepEqual(row.dur, { $type: 'Duration', _value: 'P1Y2M3DT1H2M5.5S' });
  });

  test('typed JSON nodes carry _element_id, _labels and typed _properties', async () => {
    const res = await query({ statement: "CREATE (n:Typed {k: 1}) RETURN n" }, { typed: true });
    const node = res.body.data.values[0][0];
    assert.equal(node.$type, 'Node');
    assert.deepEqual(node._value._labels, ['Typed']);
    assert.deepEqual(node._value._properties, { k: { $type: 'Integer', _value: '1' } });
    assert.match(node._value._element_id, /^4:/);
  });

  test('query errors come back in the body with their Neo4j code', async () => {
    const syntax = await query({ statement: 'RETURN 1 +' });
    assert.equal(syntax.status, 202);
    assert.equal(syntax.body.errors[0].code, 'Neo.ClientError.Statement.SyntaxError');
    const missing = await query({ statement: 'RETURN $nope' });
    assert.equal(missing.body.errors[0].code, 'Neo.ClientError.Statement.ParameterMissing');
    const notJson = await fetch(base + '/db/neo4j/query/v2', { method: 'POST', headers: { authorization: ADMIN }, body: '{' });
    assert.equal(notJson.status, 400);
    const noDb = await query({ statement: 'RETURN 1' }, { path: '/db/other/query/v2' });
    assert.equal(noDb.status, 404);
    assert.equal(noDb.body.errors[0].code, 'Neo.ClientError.Database.DatabaseNotFound');
  });

  test('maxExecutionTime (seconds) times the query out with TransactionTimedOut', async () => {
    await query({ statement: 'UNWIND range(1, 1200) AS x CREATE (:HttpSlow {x: x})' });
    const res = await query({ statement: 'MATCH (a:HttpSlow), (b:HttpSlow) WHERE a.x + b.x = 3 RETURN count(*) AS c', maxExecutionTime: 0.1 });
    assert.equal(res.status, 202);
    assert.equal(res.body.errors[0].code, 'Neo.ClientError.Transaction.TransactionTimedOut');
    const bad = await query({ statement: 'RETURN 1', maxExecutionTime: 'soon' });
    assert.equal(bad.status, 400);
  });

  test('a read-only user, and accessMode READ, cannot write', async () => {
    const reader = await query({ statement: 'CREATE (:Nope)' }, { authorization: READER });
    assert.equal(reader.body.errors[0].code, 'Neo.ClientError.Security.Forbidden');
    const readMode = await query({ statement: 'CREATE (:Nope)', accessMode: 'READ' });
    assert.equal(readMode.body.errors[0].code, 'Neo.ClientError.Security.Forbidden');
    const count = await query({ statement: 'MATCH (n:Nope) RETURN count(n) AS c' }, { authorization: READER });
    assert.deepEqual(count.body.data.values, [[0]]);
  });

  test('explicit transactions: commit makes writes visible, DELETE discards them', async () => {
    const open = await query({ statement: "CREATE (:HttpTx {v: 'kept'})" }, { path: '/db/neo4j/query/v2/tx' });
    assert.equal(open.status, 202, JSON.stringify(open.body));
    const id = open.body.transaction.id as string;
    assert.ok(Date.parse(open.body.transaction.expires) > Date.now());
    const run = await query({ statement: 'MATCH (n:HttpTx) RETURN count(n) AS c' }, { path: `/db/neo4j/query/v2/tx/${id}` });
    assert.deepEqual(run.body.data.values, [[1]]);
    const outside = await query({ statement: 'MATCH (n:HttpTx) RETURN count(n) AS c' });
    assert.deepEqual(outside.body.data.values, [[0]], 'uncommitted writes are invisible outside');
    const commit = await query({}, { path: `/db/neo4j/query/v2/tx/${id}/commit` });
    assert.equal(commit.status, 202);
    assert.match(commit.body.bookmarks[0], /^FB:/);

    const open2 = await query({ statement: "CREATE (:HttpTx {v: 'dropped'})" }, { path: '/db/neo4j/query/v2/tx' });
    const id2 = open2.body.transaction.id as string;
    const del = await query(undefined, { path: `/db/neo4j/query/v2/tx/${id2}`, method: 'DELETE' });
    assert.equal(del.status, 202);
    const after = await query({ statement: 'MATCH (n:HttpTx) RETURN n.v AS v' });
    assert.deepEqual(after.body.data.values, [['kept']]);
    const gone = await query({ statement: 'RETURN 1' }, { path: `/db/neo4j/query/v2/tx/${id2}` });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.errors[0].code, 'Neo.ClientError.Transaction.TransactionNotFound');
  });

  test('legacy transactional endpoint: one-shot commit with rows, meta and stats', async () => {
    const res = await query(
      {
        statements: [
          { statement: "CREATE (n:Legacy {name: 'l'})-[r:L]->(m:Legacy) RETURN n, r, 1 AS one", includeStats: true },
          { statement: 'MATCH (n:Legacy) RETURN count(n) AS c' },
        ],
      },
      { path: '/db/neo4j/tx/commit' },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.errors, []);
    const [first, second] = res.body.results;
    assert.deepEqual(first.columns, ['n', 'r', 'one']);
    assert.deepEqual(first.data[0].row, [{ name: 'l' }, {}, 1]);
    assert.equal(first.data[0].meta[0].type, 'node');
    assert.match(first.data[0].meta[0].elementId, /^4:/);
    assert.equal(first.data[0].meta[1].type, 'relationship');
    assert.equal(first.data[0].meta[2], null);
    assert.equal(first.stats.nodes_created, 2);
    assert.equal(first.stats.contains_updates, true);
    assert.deepEqual(second.data[0].row, [2]);
    assert.match(res.body.lastBookmarks[0], /^FB:/);
  });

  test('legacy transactional endpoint: open, run, roll back; errors end the transaction', async () => {
    const opened = await query({ statements: [{ statement: 'CREATE (:LegacyTx)' }] }, { path: '/db/neo4j/tx' });
    assert.equal(opened.status, 201);
    const commitUrl = opened.body.commit as string;
    assert.match(commitUrl, /\/db\/neo4j\/tx\/[^/]+\/commit$/);
    const txPath = new URL(commitUrl).pathname.replace(/\/commit$/, '');
    const inside = await query({ statements: [{ statement: 'MATCH (n:LegacyTx) RETURN count(n) AS c' }] }, { path: txPath });
    assert.deepEqual(inside.body.results[0].data[0].row, [1]);
    const rolled = await query(undefined, { path: txPath, method: 'DELETE' });
    assert.equal(rolled.status, 200);
    const after = await query({ statements: [{ statement: 'MATCH (n:LegacyTx) RETURN count(n) AS c' }] }, { path: '/db/neo4j/tx/commit' });
    assert.deepEqual(after.body.results[0].data[0].row, [0]);
    const failed = await query({ statements: [{ statement: 'RETURN 1 +' }] }, { path: '/db/neo4j/tx/commit' });
    assert.equal(failed.status, 200);
    assert.equal(failed.body.errors[0].code, 'Neo.ClientError.Statement.SyntaxError');
    const noAuth = await query({ statements: [] }, { path: '/db/neo4j/tx/commit', authorization: null });
    assert.equal(noAuth.status, 401);
  });
});
