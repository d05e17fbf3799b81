// The Query API of a Neo4j node: a real graph-server with the Neo4j engine, driven with fetch. Values go in
// as typed JSON parameters, are stored by Neo4j and come back as the same text.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installedNeo4j } from './helpers/neo4j-engine.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';

const neo4jEngine = installedNeo4j();
if (!neo4jEngine.install) console.log(`# skipping the Neo4j Query API tests: ${neo4jEngine.reason}`);

type Typed = { $type: string; _value: unknown };

/** One value of every kind, in the Query API's typed JSON, at the edges where a conversion could slip. */
const STORABLE: [string, Typed][] = [
  ['integer past 2^53', { $type: 'Integer', _value: '9007199254740993' }],
  ['largest integer', { $type: 'Integer', _value: '9223372036854775807' }],
  ['smallest integer', { $type: 'Integer', _value: '-9223372036854775808' }],
  ['negative zero', { $type: 'Float', _value: '-0.0' }],
  ['float', { $type: 'Float', _value: '0.1' }],
  ['largest float', { $type: 'Float', _value: '1.7976931348623157e+308' }],
  ['bytes', { $type: 'Base64', _value: 'AP8Qf4A=' }],
  ['string', { $type: 'String', _value: 'héllo \u0000 𝄞' }],
  ['boolean', { $type: 'Boolean', _value: false }],
  ['last date', { $type: 'Date', _value: '+999999999-12-31' }],
  ['first date', { $type: 'Date', _value: '-999999999-01-01' }],
  ['leap day of year 0', { $type: 'Date', _value: '0000-02-29' }],
  ['date in year 99', { $type: 'Date', _value: '0099-03-01' }],
  ['time with nanoseconds and offset', { $type: 'Time', _value: '23:59:59.999999999-18:00' }],
  ['local time', { $type: 'LocalTime', _value: '00:00:00.000000789' }],
  ['last local datetime', { $type: 'LocalDateTime', _value: '+999999999-12-31T23:59:59.999999999' }],
  ['first local datetime', { $type: 'LocalDateTime', _value: '-999999999-01-01T00:00:00' }],
  ['offset datetime', { $type: 'OffsetDateTime', _value: '2024-02-29T12:00:00.000000001+05:45' }],
  ['first offset datetime', { $type: 'OffsetDateTime', _value: '-999999999-01-01T00:00:00-18:00' }],
  ['last offset datetime', { $type: 'OffsetDateTime', _value: '+999999999-12-31T23:59:59.999999999+18:00' }],
  ['summer in London', { $type: 'ZonedDateTime', _value: '2024-07-01T10:00:00.123456789+01:00[Europe/London]' }],
  ['the first 01:30 of the night clocks go back', { $type: 'ZonedDateTime', _value: '2024-10-27T01:30:00+01:00[Europe/London]' }],
  ['the second 01:30 of that night', { $type: 'ZonedDateTime', _value: '2024-10-27T01:30:00Z[Europe/London]' }],
  ['London mean time', { $type: 'ZonedDateTime', _value: '1800-01-01T00:00:00-00:01:15[Europe/London]' }],
  ['last nanosecond of year 9999 in New York', { $type: 'ZonedDateTime', _value: '9999-12-31T23:59:59.999999999-05:00[America/New_York]' }],
  ['duration of every part', { $type: 'Duration', _value: 'P1Y2M3DT4H5M6.000000007S' }],
  ['negative nanosecond', { $type: 'Duration', _value: 'PT-0.000000001S' }],
  ['negative parts', { $type: 'Duration', _value: 'P-1Y-2M-3DT-1H' }],
  ['WGS-84 point', { $type: 'Point', _value: 'SRID=4326;POINT(-0.1276 51.5072)' }],
  ['cartesian 3D point with -0', { $type: 'Point', _value: 'SRID=9157;POINT Z(1.5 -0 3)' }],
  ['list of integers', { $type: 'List', _value: [{ $type: 'Integer', _value: '1' }, { $type: 'Integer', _value: '9223372036854775807' }] }],
];

/** What cannot be a property, only a parameter returned. */
const RETURNED: [string, Typed][] = [
  ['null', { $type: 'Null', _value: null }],
  [
    'map of mixed values',
    {
      $type: 'Map',
      _value: {
        i: { $type: 'Integer', _value: '-9007199254740993' },
        f: { $type: 'Float', _value: '-0.0' },
        l: { $type: 'List', _value: [{ $type: 'String', _value: 'x' }, { $type: 'Duration', _value: 'PT0S' }, { $type: 'Null', _value: null }] },
      },
    },
  ],
];

describe('Neo4j node Query API', { skip: neo4jEngine.install ? false : neo4jEngine.reason }, () => {
  let dir: string;
  let server: Running;
  let base: string;
  const auth = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const ADMIN = auth('admin', 'pw-admin');
  const READER = auth('reader', 'pw-reader');

  async function post(path: string, body: unknown, { authorization = ADMIN, typed = false, method = 'POST' } = {}): Promise<{ status: number; body: any }> {
    const type = typed ? 'application/vnd.neo4j.query' : 'application/json';
    const res = await fetch(base + path, {
      method,
      headers: { authorization, 'content-type': type, accept: type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
  const query = (body: unknown, opts: { authorization?: string; typed?: boolean } = {}) => post('/db/neo4j/query/v2', body, opts);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neo4j-query-api-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [
      { username: 'admin', password: 'pw-admin' },
      { username: 'reader', password: 'pw-reader', readOnly: true },
    ]);
    server = await startServer(
      join(dir, 'data'),
      usersFile,
      ['--engine', 'neo4j', '--neo4j-install', neo4jEngine.install!.dir, '--import-dir', join(dir, 'import'), '--memory-mb', '1024'],
      { readyTimeoutMs: 180_000 },
    );
    base = `http://127.0.0.1:${server.ready.httpPort}`;
  });

  after(async () => {
    if (server) assert.equal(await stopServer(server), 0, server.stderr());
    await rm(dir, { recursive: true, force: true });
  });

  test('a write is counted, and reads back with Neo4j element ids and a bookmark', async () => {
    const created = await query({ statement: 'CREATE (p:Person {name: $name, age: $age}) RETURN p', parameters: { name: 'Ada', age: 36 }, includeCounters: true });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal(created.body.queryType, 'rw');
    assert.equal(created.body.counters.nodesCreated, 1);
    assert.equal(created.body.counters.propertiesSet, 2);
    assert.equal(created.body.counters.labelsAdded, 1);
    assert.equal(created.body.counters.containsUpdates, true);
    assert.match(created.body.bookmarks[0], /^FB:/);
    const [person] = created.body.data.values[0];
    assert.match(person.elementId, /^4:[0-9a-f-]{36}:\d+$/);

    const read = await query({ statement: 'MATCH (p:Person {name: "Ada"}) RETURN p.age AS age, elementId(p) AS id' });
    assert.equal(read.status, 202, JSON.stringify(read.body));
    assert.equal(read.body.queryType, 'r');
    assert.deepEqual(read.body.data, { fields: ['age', 'id'], values: [[36, person.elementId]] });
  });

  test('every kind of value round-trips exactly through a stored property', async () => {
    for (const [kind, value] of STORABLE) {
      const written = await query({ statement: 'CREATE (:Typed {kind: $kind, v: $v})', parameters: { kind: { $type: 'String', _value: kind }, v: value } }, { typed: true });
      assert.equal(written.status, 202, `${kind}: ${JSON.stringify(written.body)}`);
      assert.equal(written.body.errors, undefined, `${kind}: ${JSON.stringify(written.body)}`);
    }
    const read = await query({ statement: 'MATCH (n:Typed) RETURN n.kind AS kind, n.v AS v' }, { typed: true });
    assert.equal(read.status, 202, JSON.stringify(read.body));
    const got = new Map(read.body.data.values.map(([kind, v]: Typed[]) => [kind!._value, v]));
    for (const [kind, value] of STORABLE) assert.deepEqual(got.get(kind), value, kind);
  });

  test('parameters that cannot be stored come back as they went', async () => {
    for (const [kind, value] of RETURNED) {
      const res = await query({ statement: 'RETURN $v AS v', parameters: { v: value } }, { typed: true });
      assert.equal(res.status, 202, `${kind}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.data.values, [[value]], kind);
    }
  });

  test("Neo4j's own values keep their text: temporal functions, a path", async () => {
    const res = await query(
      {
        statement:
          "CREATE p = (:A {n: 1})-[:KNOWS {since: 2020}]->(:B) RETURN datetime({year: 2024, month: 7, day: 1, hour: 10, timezone: 'Europe/London'}) AS z, duration.between(date('2024-01-01'), date('2025-03-04')) AS d, p",
      },
      { typed: true },
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [z, d, p] = res.body.data.values[0];
    assert.deepEqual(z, { $type: 'ZonedDateTime', _value: '2024-07-01T10:00:00+01:00[Europe/London]' });
    assert.deepEqual(d, { $type: 'Duration', _value: 'P1Y2M3D' });
    assert.equal(p.$type, 'Path');
    const [a, knows, b] = p._value;
    assert.equal(a._value._labels[0], 'A');
    assert.equal(knows._value._type, 'KNOWS');
    assert.equal(knows._value._start_node_element_id, a._value._element_id);
    assert.equal(knows._value._end_node_element_id, b._value._element_id);
    assert.deepEqual(knows._value._properties, { since: { $type: 'Integer', _value: '2020' } });
  });

  test("a read-only user's write is refused by Neo4j", async () => {
    const res = await query({ statement: 'CREATE (:Nope)' }, { authorization: READER });
    assert.equal(res.status, 202);
    assert.equal(res.body.errors[0].code, 'Neo.ClientError.Statement.AccessMode');
    assert.match(res.body.errors[0].message, /Writing in read access mode not allowed/);
    const reads = await query({ statement: 'MATCH (n:Nope) RETURN count(n) AS n' }, { authorization: READER });
    assert.deepEqual(reads.body.data.values, [[0]]);
  });

  test("a syntax error carries Neo4j's code and message", async () => {
    const res = await query({ statement: 'RETURN 1 +' });
    assert.equal(res.status, 202);
    assert.equal(res.body.errors[0].code, 'Neo.ClientError.Statement.SyntaxError');
    assert.match(res.body.errors[0].message, /^Invalid input '': expected an expression \(line 1, column 11 \(offset: 10\)\)/);
  });

  test('an explicit transaction: begin, run, commit; a rolled-back one leaves nothing', async () => {
    const begun = await post('/db/neo4j/query/v2/tx', { statement: 'CREATE (:Tx {n: 1})' });
    assert.equal(begun.status, 202, JSON.stringify(begun.body));
    const id: string = begun.body.transaction.id;
    const more = await post(`/db/neo4j/query/v2/tx/${id}`, { statement: 'CREATE (:Tx {n: 2})' });
    assert.equal(more.status, 202, JSON.stringify(more.body));
    // Not visible outside the transaction before it commits.
    const outside = await query({ statement: 'MATCH (t:Tx) RETURN count(t) AS n' });
    assert.deepEqual(outside.body.data.values, [[0]]);
    const committed = await post(`/db/neo4j/query/v2/tx/${id}/commit`, { statement: 'MATCH (t:Tx) RETURN sum(t.n) AS n' });
    assert.equal(committed.status, 202, JSON.stringify(committed.body));
    assert.deepEqual(committed.body.data.values, [[3]]);
    assert.match(committed.body.bookmarks[0], /^FB:/);

    const doomed = await post('/db/neo4j/query/v2/tx', { statement: 'CREATE (:Tx {n: 100})' });
    const rolledBack = await post(`/db/neo4j/query/v2/tx/${doomed.body.transaction.id}`, undefined, { method: 'DELETE' });
    assert.equal(rolledBack.status, 202);
    const after = await query({ statement: 'MATCH (t:Tx) RETURN sum(t.n) AS n' });
    assert.deepEqual(after.body.data.values, [[3]]);
  });

  test('EXPLAIN plans without running, with Neo4j notifications', async () => {
    const res = await query({ statement: 'EXPLAIN MATCH (a:Person), (b:Person) CREATE (a)-[:R]->(b)' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { fields: [], values: [] });
    assert.equal(res.body.queryType, 'w');
    const cartesian = res.body.notifications.find((n: { code: string }) => n.code === 'Neo.ClientNotification.Statement.CartesianProduct');
    assert.ok(cartesian, JSON.stringify(res.body.notifications));
    assert.equal(cartesian.severity, 'INFORMATION');
    assert.equal(cartesian.category, 'PERFORMANCE');
    assert.deepEqual(cartesian.position, { offset: 8, line: 1, column: 9 });
    const relationships = await query({ statement: 'MATCH ()-[r:R]->() RETURN count(r) AS n' });
    assert.deepEqual(relationships.body.data.values, [[0]]);
  });

  test('a transaction timeout is enforced by Neo4j', async () => {
    const res = await query({ statement: 'UNWIND range(1, 100000000) AS i WITH i WHERE i < 0 RETURN count(i)', maxExecutionTime: 1 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.match(res.body.errors[0].code, /^Neo\.ClientError\.Transaction\.TransactionTimedOut/);
  });
});
