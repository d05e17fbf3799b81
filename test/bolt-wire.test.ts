// Wire-level behaviour of the Bolt server with a raw socket client: version negotiation, the
// session state machine, version-dependent shapes, limits, WebSocket and HTTP discovery.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { chunkMessage, Dechunker } from '../src/graph-server/bolt/chunking.js';
import { BOLT5_FORMAT, Packer, Structure, TAG, unpackMessage } from '../src/graph-server/bolt/packstream.js';
import { CypherDateTime, type Value } from '../src/graph-server/values.js';
import { waitFor } from './helpers/wait-for.js';
import { JS_5_28_PROPOSALS, meta, RawBoltClient, SIG, startBoltServer, type Reply, type TestBoltServer } from './helpers/bolt-test-server.js';

const V = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
const REST = '00020404 00000104 00000003';

let srv: TestBoltServer;
let legacy: TestBoltServer;
const clients: RawBoltClient[] = [];

before(async () => {
  srv = await startBoltServer();
  legacy = await startBoltServer({ manifest: false });
});
after(async () => {
  for (const c of clients) c.destroy();
  await srv.close();
  await legacy.close();
});

async function connect(server = srv): Promise<RawBoltClient> {
  const c = await RawBoltClient.connect(server.port);
  clients.push(c);
  return c;
}

/** Connects, negotiates `proposal` (first slot) and authenticates as neo4j. */
async function session(proposal: string, server = srv): Promise<RawBoltClient> {
  const c = await connect(server);
  const v = await c.handshake(V(proposal + '00000000 00000000 00000000'));
  const minor = v[2] as number;
  const major = v[3] as number;
  const hello = await c.hello(undefined, major === 5 && minor >= 1);
  assert.equal(hello.signature, SIG.SUCCESS, JSON.stringify(hello.fields, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
  return c;
}

async function runAll(c: RawBoltClient, query: string, params: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  c.send(SIG.RUN, query, params as never, extra as never);
  c.send(SIG.PULL, { n: -1n });
  const run = await c.next();
  const records: unknown[][] = [];
  if (run.signature !== SIG.SUCCESS) return { run, records, summary: await c.next() };
  for (;;) {
    const r = await c.next();
    if (r.signature === SIG.RECORD) records.push(r.fields[0] as unknown[]);
    else return { run, records, summary: r };
  }
}

describe('handshake', () => {
  const table: [string, string, string][] = [
    ['JS 5.0–5.6', '00000005 ' + REST, '00000005'],
    ['JS 5.7–5.8', '00020205 ' + REST, '00000205'],
    ['JS 5.9–5.12', '00030305 ' + REST, '00000305'],
    ['JS 5.13–5.21', '00040405 ' + REST, '00000405'],
    ['JS 5.22 (5.5 must be skipped)', '00050505 ' + REST, '00000405'],
    ['JS 5.23–5.25', '00060605 ' + REST, '00000605'],
    ['JS 5.26–5.27', '00070705 ' + REST, '00000705'],
    ['JS 5.28 / 6.x (legacy path)', '000001ff 00080805 00020404 00000003', '00000805'],
    ['only 5.5, then 4.4', '00000505 00000404 00000000 00000000', '00000404'],
    ['4.2–4.4 range', '00020404 00000000 00000000 00000000', '00000404'],
  ];
  for (const [name, proposals, expected] of table) {
    it(`answers ${expected} to ${name}`, async () => {
      const c = await connect(legacy);
      assert.equal((await c.handshake(V(proposals))).toString('hex'), expected);
      c.destroy();
    });
  }

  it('answers 00000000 and closes when nothing matches', async () => {
    const c = await connect();
    assert.equal((await c.handshake(V('00000003 00000002 00000104 00000505'))).toString('hex'), '00000000');
    await c.waitClosed();
  });

  it('runs Manifest v1 when offered and reports protocol_version', async () => {
    const c = await connect();
    c.socket.write(Buffer.concat([V('6060b017'), JS_5_28_PROPOSALS]));
    const offer = await c.readRaw(18);
    assert.equal(offer.toString('hex'), '000001ff' + '03' + '00020805' + '00040405' + '00000404' + '00');
    c.startMessages(18);
    // Choice and HELLO pipelined in one write, as the JS driver does.
    c.socket.write(Buffer.concat([V('00000805 00'), c.encode(SIG.HELLO, { user_agent: 'manifest-test' }), c.encode(SIG.LOGON, { scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' })]));
    const hello = await c.next();
    assert.equal(hello.signature, SIG.SUCCESS);
    assert.equal(meta(hello).protocol_version, '5.8');
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    const { records } = await runAll(c, 'RETURN 1 AS one');
    assert.deepEqual(records, [[1n]]);
  });

  it('closes when the manifest choice names a version it did not offer', async () => {
    const c = await connect();
    c.socket.write(Buffer.concat([V('6060b017'), JS_5_28_PROPOSALS]));
    await c.readRaw(18);
    c.socket.write(V('00000505 00'));
    await c.waitClosed();
  });

  it('keeps bytes that arrive in the same packet as the handshake', async () => {
    const c = await connect(legacy);
    const hello = c.encode(SIG.HELLO, { user_agent: 'x', scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' });
    assert.equal((await c.handshake(V('00000005 00000000 00000000 00000000'), hello)).toString('hex'), '00000005');
    const r = await c.next();
    assert.equal(r.signature, SIG.SUCCESS);
    assert.equal(meta(r).server, 'Neo4j/5.26.0');
    assert.match(String(meta(r).connection_id), /^bolt-\d+$/);
  });
});

describe('authentication', () => {
  it('authenticates inline in HELLO on 5.0 and refuses bad credentials with FAILURE + close', async () => {
    const c = await connect();
    await c.handshake(V('00000005 00000000 00000000 00000000'));
    const r = await c.hello({ user: 'neo4j', password: 'nope' }, false);
    assert.equal(r.signature, SIG.FAILURE);
    assert.deepEqual(meta(r), { code: 'Neo.ClientError.Security.Unauthorized', message: 'The client is unauthorized due to authentication failure.' });
    await c.waitClosed();
  });

  it('uses LOGON on 5.1+, with the GQL failure shape on 5.7+', async () => {
    const c = await connect();
    await c.handshake(V('00000705 00000000 00000000 00000000'));
    const r = await c.hello({ user: 'ghost', password: 'x' });
    assert.equal(r.signature, SIG.FAILURE);
    assert.equal(meta(r).neo4j_code, 'Neo.ClientError.Security.Unauthorized');
    assert.equal(meta(r).code, undefined);
    assert.equal(typeof meta(r).gql_status, 'string');
    await c.waitClosed();
  });

  it('re-authenticates with LOGOFF + LOGON and applies the read-only user', async () => {
    const c = await session('00000805');
    c.send(SIG.LOGOFF);
    c.send(SIG.LOGON, { scheme: 'basic', principal: 'reader', credentials: 'reader-pass' });
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    await runAll(c, 'RETURN 1 AS x');
    assert.equal(srv.engine.lastOptions?.readOnly, true);
  });

  it('treats a request before authentication as a protocol violation', async () => {
    const c = await connect();
    await c.handshake(V('00000805 00000000 00000000 00000000'));
    c.send(SIG.HELLO, { user_agent: 'x' });
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    c.send(SIG.RUN, 'RETURN 1 AS x', {}, {});
    const r = await c.next();
    assert.equal(r.signature, SIG.FAILURE);
    assert.equal(meta(r).neo4j_code, 'Neo.ClientError.Request.Invalid');
    await c.waitClosed();
  });
});

describe('session state machine', () => {
  it('answers IGNORED after a FAILURE until RESET, then works again', async () => {
    const c = await session('00000805');
    c.send(SIG.RUN, 'FAIL SyntaxError', {}, {});
    c.send(SIG.PULL, { n: -1n });
    c.send(SIG.BEGIN, {});
    c.send(SIG.RUN, 'RETURN 1 AS x', {}, {});
    const f = await c.next();
    assert.equal(f.signature, SIG.FAILURE);
    assert.equal(meta(f).neo4j_code, 'Neo.ClientError.Statement.SyntaxError');
    assert.equal(meta(f).gql_status, '42001');
    const diag = meta(f).diagnostic_record as Record<string, unknown>;
    assert.equal(diag._classification, 'CLIENT_ERROR');
    assert.deepEqual(diag._position, { offset: 0n, line: 1n, column: 1n });
    for (let i = 0; i < 3; i++) assert.equal((await c.next()).signature, SIG.IGNORED);
    c.send(SIG.RESET);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.deepEqual((await runAll(c, 'RETURN 2 AS x')).records, [[2n]]);
  });

  it('uses {code, message} failures up to 5.6', async () => {
    const c = await session('00000605');
    const { run } = await runAll(c, 'CRASH');
    assert.deepEqual(meta(run), { code: 'Neo.DatabaseError.General.UnknownError', message: 'the fake engine crashed on purpose' });
  });

  it('RESET jumps the queue: pipelined requests before it are IGNORED and the open tx is rolled back', async () => {
    const c = await session('00000805');
    c.send(SIG.BEGIN, {});
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    const rolledBack = srv.engine.rolledBack;
    c.socket.write(Buffer.concat([c.encode(SIG.RUN, 'SLEEP 1', {}, {}), c.encode(SIG.PULL, { n: -1n }), c.encode(SIG.RESET)]));
    assert.equal((await c.next()).signature, SIG.IGNORED);
    assert.equal((await c.next()).signature, SIG.IGNORED);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.equal(srv.engine.rolledBack, rolledBack + 1);
    assert.deepEqual((await runAll(c, 'RETURN 3 AS x')).records, [[3n]]);
  });

  it('streams partial PULLs with has_more and ends with the summary and bookmark', async () => {
    const c = await session('00000805');
    c.send(SIG.RUN, 'UNWIND range(1, 5) AS i RETURN i', {}, {});
    const run = await c.next();
    assert.deepEqual(meta(run).fields, ['i']);
    assert.equal(typeof meta(run).t_first, 'bigint');
    assert.equal(meta(run).db, 'neo4j');
    const got: Reply[] = [];
    c.send(SIG.PULL, { n: 2n });
    for (let i = 0; i < 3; i++) got.push(await c.next());
    assert.deepEqual(
      got.map((r) => r.signature),
      [SIG.RECORD, SIG.RECORD, SIG.SUCCESS],
    );
    assert.deepEqual(meta(got[2] as Reply), { has_more: true });
    c.send(SIG.DISCARD, { n: 2n });
    assert.deepEqual(meta(await c.next()), { has_more: true });
    c.send(SIG.PULL, { n: 2n });
    const last = await c.next();
    assert.deepEqual(last.fields[0], [5n]);
    const summary = meta(await c.next());
    assert.match(String(summary.bookmark), /^FB:fake-/);
    assert.equal(summary.type, 'r');
    assert.equal(typeof summary.t_last, 'bigint');
    assert.equal(summary.has_more, undefined);
    assert.equal(summary.stats, undefined);
    assert.deepEqual(
      (summary.statuses as Record<string, unknown>[]).map((s) => s.gql_status),
      ['00000'],
    );
  });

  it('numbers the results of an explicit transaction with qids and pulls them by qid', async () => {
    const c = await session('00000805');
    c.send(SIG.BEGIN, {});
    assert.deepEqual(meta(await c.next()), { db: 'neo4j' });
    c.send(SIG.RUN, 'UNWIND range(1, 2) AS i RETURN i', {}, {});
    c.send(SIG.RUN, 'CREATE (:Item {name: $name})', { name: 'qid-test' }, {});
    const r0 = meta(await c.next());
    const r1 = meta(await c.next());
    assert.equal(r0.qid, 0n);
    assert.equal(r1.qid, 1n);
    assert.deepEqual(r1.fields, []);
    c.send(SIG.PULL, { n: -1n });
    const s1 = meta(await c.next());
    assert.equal(s1.bookmark, undefined);
    assert.equal(s1.type, 'w');
    assert.deepEqual(s1.stats, { 'nodes-created': 1n, 'labels-added': 1n, 'properties-set': 1n, 'contains-updates': true });
    assert.equal((s1.statuses as Record<string, unknown>[])[0]?.gql_status, '00001');
    c.send(SIG.PULL, { n: -1n, qid: 0n });
    assert.deepEqual((await c.next()).fields[0], [1n]);
    assert.deepEqual((await c.next()).fields[0], [2n]);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    c.send(SIG.COMMIT);
    assert.match(String(meta(await c.next()).bookmark), /^FB:fake-/);
    assert.ok(srv.engine.committed.includes('qid-test'));
  });

  it('discards by qid and commits or rolls back with results still open', async () => {
    const c = await session('00000805');
    c.send(SIG.BEGIN, { db: 'neo4j' });
    assert.deepEqual(meta(await c.next()), {});
    c.send(SIG.RUN, 'UNWIND range(1, 3) AS i RETURN i', {}, {});
    c.send(SIG.RUN, 'UNWIND range(1, 3) AS i RETURN i', {}, {});
    c.send(SIG.DISCARD, { n: -1n, qid: 0n });
    c.send(SIG.COMMIT);
    assert.equal(meta(await c.next()).qid, 0n);
    assert.equal(meta(await c.next()).qid, 1n);
    const discarded = meta(await c.next());
    assert.equal(discarded.type, 'r');
    assert.equal(discarded.bookmark, undefined);
    assert.match(String(meta(await c.next()).bookmark), /^FB:fake-/);
    const rolledBack = srv.engine.rolledBack;
    c.send(SIG.BEGIN, {});
    c.send(SIG.RUN, 'RETURN 1 AS x', {}, {});
    c.send(SIG.ROLLBACK);
    for (let i = 0; i < 3; i++) assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.equal(srv.engine.rolledBack, rolledBack + 1);
    assert.deepEqual((await runAll(c, 'RETURN 5 AS x')).records, [[5n]]);
  });

  it('sends db in RUN/BEGIN SUCCESS on 5.8 only when the client named none', async () => {
    const c = await session('00000805');
    const { run } = await runAll(c, 'RETURN 1 AS x', {}, { db: 'neo4j' });
    assert.equal(meta(run).db, undefined);
    const c7 = await session('00000705');
    const r7 = await runAll(c7, 'RETURN 1 AS x');
    assert.equal(meta(r7.run).db, undefined);
  });

  it('never runs two engine calls of one connection at once', async () => {
    const s = await startBoltServer();
    try {
      const c = await session('00000805', s);
      const burst: Buffer[] = [];
      for (let i = 0; i < 4; i++) burst.push(c.encode(SIG.RUN, 'SLEEP 20', {}, {}), c.encode(SIG.PULL, { n: -1n }));
      c.socket.write(Buffer.concat(burst));
      for (let i = 0; i < 12; i++) await c.next();
      assert.equal(s.engine.maxActiveCalls, 1);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  it('rolls back an open transaction when the client disconnects', async () => {
    const s = await startBoltServer();
    try {
      const c = await session('00000805', s);
      c.send(SIG.BEGIN, {});
      await c.next();
      assert.equal(s.engine.openTransactions, 1);
      c.destroy();
      await waitFor(() => s.engine.openTransactions === 0, { what: 'rollback on disconnect' });
      assert.equal(s.engine.rolledBack, 1);
    } finally {
      await s.close();
    }
  });

  it('closes on GOODBYE without a reply', async () => {
    const c = await session('00000805');
    c.send(SIG.GOODBYE);
    await c.waitClosed();
  });

  it('treats a request invalid for the state as a protocol violation (FAILURE + close)', async () => {
    const c = await session('00000805');
    c.send(SIG.PULL, { n: -1n });
    const r = await c.next();
    assert.equal(r.signature, SIG.FAILURE);
    assert.equal(meta(r).neo4j_code, 'Neo.ClientError.Request.Invalid');
    await c.waitClosed();
  });

  it('accepts NOOP chunks between and before messages', async () => {
    const c = await session('00000805');
    c.socket.write(Buffer.concat([V('0000 0000'), c.encode(SIG.RUN, 'RETURN 4 AS x', {}, {}), V('0000'), c.encode(SIG.PULL, { n: -1n })]));
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.deepEqual((await c.next()).fields[0], [4n]);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
  });
});

describe('routing and telemetry', () => {
  it('answers ROUTE with the advertised address for all roles', async () => {
    const c = await session('00000805');
    c.send(SIG.ROUTE, { address: 'somewhere:7687' }, [], {});
    const rt = meta(await c.next()).rt as Record<string, unknown>;
    assert.equal(rt.ttl, 300n);
    assert.equal(rt.db, 'neo4j');
    assert.deepEqual(rt.servers, [
      { addresses: [srv.address], role: 'ROUTE' },
      { addresses: [srv.address], role: 'READ' },
      { addresses: [srv.address], role: 'WRITE' },
    ]);
    c.send(SIG.ROUTE, {}, [], { db: 'system' });
    assert.equal((meta(await c.next()).rt as Record<string, unknown>).db, 'system');
    c.send(SIG.ROUTE, {}, ['FB:whatever'], { db: null });
    assert.equal((meta(await c.next()).rt as Record<string, unknown>).db, 'neo4j');
    c.send(SIG.ROUTE, {}, [], { db: 'nope' });
    const f = await c.next();
    assert.equal(f.signature, SIG.FAILURE);
    assert.equal(meta(f).neo4j_code, 'Neo.ClientError.Database.DatabaseNotFound');
  });

  it('accepts TELEMETRY from 5.4 and advertises it disabled', async () => {
    const c = await connect();
    await c.handshake(V('00000405 00000000 00000000 00000000'));
    c.send(SIG.HELLO, { user_agent: 'x' });
    const hello = await c.next();
    assert.deepEqual(meta(hello).hints, { 'telemetry.enabled': false });
    c.send(SIG.LOGON, { scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' });
    await c.next();
    c.send(SIG.TELEMETRY, 2n);
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    c.send(SIG.TELEMETRY, 9n);
    assert.equal((await c.next()).signature, SIG.FAILURE);
  });

  it('refuses TELEMETRY before 5.4', async () => {
    const c = await session('00000305');
    c.send(SIG.TELEMETRY, 0n);
    assert.equal((await c.next()).signature, SIG.FAILURE);
    await c.waitClosed();
  });
});

describe('version-dependent shapes', () => {
  it('speaks 4.4: utc patch echoed, 3-field nodes, notifications list, tx_timeout and mode', async () => {
    const c = await connect();
    await c.handshake(V('00020404 00000000 00000000 00000000'));
    c.send(SIG.HELLO, { user_agent: 'x', scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass', patch_bolt: ['utc'] });
    const hello = meta(await c.next());
    assert.deepEqual(hello.patch_bolt, ['utc']);
    const { records } = await runAll(c, 'RETURN GRAPH');
    const [node, rel, path] = records[0] as Structure[];
    assert.equal(node?.fields.length, 3);
    assert.equal(rel?.fields.length, 5);
    assert.equal(((path!.fields[1] as Structure[])[0] as Structure).fields.length, 3);
    const dt = new CypherDateTime(4500n, 42n, 3600n, null);
    const utc = await runAll(c, 'RETURN $d AS d', { d: dt });
    assert.equal((utc.records[0]![0] as Structure).tag, TAG.dateTime);
    const n = await runAll(c, 'NOTIFY', {}, { tx_timeout: 1500n, mode: 'r' });
    assert.equal(srv.engine.lastOptions?.timeoutMs, 1500);
    assert.equal(srv.engine.lastOptions?.readOnly, true);
    const notes = meta(n.summary).notifications as Record<string, unknown>[];
    assert.equal(notes[0]?.code, 'Neo.ClientNotification.Statement.CartesianProduct');
    assert.deepEqual(notes[0]?.position, { offset: 3n, line: 1n, column: 4n });
    assert.equal(meta(n.summary).statuses, undefined);
  });

  it('sends legacy DateTime F on 4.4 without the utc patch', async () => {
    const c = await connect();
    await c.handshake(V('00000404 00000000 00000000 00000000'));
    c.send(SIG.HELLO, { user_agent: 'x', scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' });
    assert.equal(meta(await c.next()).patch_bolt, undefined);
    // A legacy F parameter (local seconds) comes back as the same F.
    const legacyParam = new Structure(TAG.legacyDateTime, [8100n, 42n, 3600n]);
    const { records } = await runAll(c, 'RETURN $d AS d', { d: legacyParam });
    const back = records[0]?.[0] as Structure;
    assert.equal(back.tag, TAG.legacyDateTime);
    assert.deepEqual(back.fields, [8100n, 42n, 3600n]);
  });

  it('puts notifications into statuses on 5.6+ and into notifications on 5.4', async () => {
    const c6 = await session('00000605');
    const s6 = meta((await runAll(c6, 'NOTIFY')).summary);
    const statuses = s6.statuses as Record<string, unknown>[];
    assert.deepEqual(
      statuses.map((s) => s.gql_status),
      ['00000', '03N90'],
    );
    assert.equal(statuses[1]?.neo4j_code, 'Neo.ClientNotification.Statement.CartesianProduct');
    assert.equal((statuses[1]!.diagnostic_record as Record<string, unknown>)._severity, 'WARNING');
    assert.equal(s6.notifications, undefined);
    const filtered = meta((await runAll(c6, 'NOTIFY', {}, { notifications_disabled_classifications: ['PERFORMANCE'] })).summary);
    assert.deepEqual(
      (filtered.statuses as Record<string, unknown>[]).map((s) => s.gql_status),
      ['00000'],
    );
    const c4 = await session('00000405');
    const s4 = meta((await runAll(c4, 'NOTIFY')).summary);
    assert.equal((s4.notifications as unknown[]).length, 1);
    assert.equal(s4.statuses, undefined);
  });
});

describe('limits and robustness', () => {
  it('answers an oversized message with FAILURE, closes, and keeps serving', async () => {
    const small = await startBoltServer({ maxMessageBytes: 100_000 });
    try {
      const c = await session('00000805', small);
      c.send(SIG.RUN, 'RETURN $s AS s', { s: 'y'.repeat(200_000) }, {});
      const r = await c.next();
      assert.equal(r.signature, SIG.FAILURE);
      assert.equal(meta(r).neo4j_code, 'Neo.ClientError.Request.Invalid');
      await c.waitClosed();
      const c2 = await session('00000805', small);
      assert.deepEqual((await runAll(c2, 'RETURN 1 AS x')).records, [[1n]]);
      c2.destroy();
    } finally {
      await small.close();
    }
  });

  it('answers 40 MB of pipelined requests fully and in order (read pausing and write backpressure)', async () => {
    const c = await session('00000805');
    const big = 'p'.repeat(1_000_000);
    const burst: Buffer[] = [];
    for (let i = 0; i < 40; i++) burst.push(c.encode(SIG.RUN, 'RETURN $s AS s, $i AS i', { s: big, i: BigInt(i) }, {}), c.encode(SIG.PULL, { n: -1n }));
    c.socket.write(Buffer.concat(burst));
    for (let i = 0; i < 40; i++) {
      assert.equal((await c.next(20_000)).signature, SIG.SUCCESS);
      const rec = await c.next(20_000);
      assert.equal(rec.signature, SIG.RECORD);
      assert.equal((rec.fields[0] as unknown[])[1], BigInt(i));
      assert.equal(((rec.fields[0] as unknown[])[0] as string).length, 1_000_000);
      assert.equal((await c.next(20_000)).signature, SIG.SUCCESS);
    }
  });

  it('closes connections that do not start with Bolt or HTTP', async () => {
    const c = await connect();
    c.socket.write('HELLO THERE\r\n');
    await c.waitClosed();
  });

  it('splits a record larger than 64 KiB into several chunks', async () => {
    const c = await session('00000805');
    const big = 'z'.repeat(200_000);
    const { records } = await runAll(c, 'RETURN $s AS s', { s: big });
    assert.equal(records[0]?.[0], big);
  });

  it('drops connections beyond maxConnections', async () => {
    const s = await startBoltServer({ maxConnections: 1 });
    try {
      const first = await session('00000805', s);
      const second = await RawBoltClient.connect(s.port);
      clients.push(second);
      await second.waitClosed();
      assert.deepEqual((await runAll(first, 'RETURN 1 AS x')).records, [[1n]]);
    } finally {
      await s.close();
    }
  });

  it('destroys open connections when the server closes', async () => {
    const s = await startBoltServer();
    const c = await session('00000805', s);
    assert.equal(s.server.openConnections, 1);
    await s.close();
    await c.waitClosed();
  });
});

describe('HTTP on the Bolt port', () => {
  it('answers a plain GET with the discovery document', async () => {
    const res = await fetch(`http://${srv.address}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await res.json(), {
      bolt_direct: `bolt://${srv.address}`,
      bolt_routing: `neo4j://${srv.address}`,
      neo4j_version: '5.26.0',
      neo4j_edition: 'community',
    });
  });

  it('carries Bolt over a WebSocket, with frames not aligned to messages', async () => {
    const ws = new WebSocket(`ws://${srv.address}`);
    ws.binaryType = 'nodebuffer';
    const received: Buffer[] = [];
    let closed = false;
    ws.on('message', (d: Buffer) => received.push(d));
    ws.on('close', () => (closed = true));
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      const enc = (sig: number, ...fields: unknown[]) => encodeMsg(sig, fields);
      const stream = Buffer.concat([
        V('6060b017'),
        V('00080805 00020404 00000000 00000000'),
        enc(SIG.HELLO, { user_agent: 'ws-test' }),
        enc(SIG.LOGON, { scheme: 'basic', principal: 'neo4j', credentials: 'secret-pass' }),
        enc(SIG.RUN, 'RETURN $x AS x', { x: 'over ws' }, {}),
        enc(SIG.PULL, { n: -1n }),
      ]);
      // Send in 7-byte frames so frame edges fall inside the handshake, chunk headers and messages.
      for (let i = 0; i < stream.length; i += 7) ws.send(stream.subarray(i, i + 7), { binary: true });
      const all = () => Buffer.concat(received);
      await waitFor(() => all().length >= 4, { what: 'WS handshake reply' });
      assert.equal(all().subarray(0, 4).toString('hex'), '00000805');
      const replies: { signature: number; fields: unknown[] }[] = [];
      await waitFor(
        () => {
          const d = new Dechunker();
          replies.length = 0;
          for (const m of d.push(all().subarray(4))) replies.push(unpackMessage(m, { structs: 'raw' }));
          return replies.length >= 5;
        },
        { what: 'five Bolt replies over WS' },
      );
      assert.deepEqual(
        replies.map((r) => r.signature),
        [SIG.SUCCESS, SIG.SUCCESS, SIG.SUCCESS, SIG.RECORD, SIG.SUCCESS],
      );
      assert.deepEqual(replies[3]?.fields[0], ['over ws']);
      assert.equal(closed, false);
    } finally {
      ws.close();
    }
  });
});

function encodeMsg(signature: number, fields: unknown[]): Buffer {
  const p = new Packer(BOLT5_FORMAT);
  p.structHeader(fields.length, signature);
  for (const f of fields) p.pack(f as Value);
  return chunkMessage(p.bytes());
}

describe('authentication deadline and connection caps', () => {
  const DEADLINE_MS = 400;
  let timed: TestBoltServer;
  before(async () => {
    timed = await startBoltServer({ authTimeoutMs: DEADLINE_MS });
  });
  after(async () => timed.close());

  // 5.7+ names the Neo4j code neo4j_code (GQL-shaped failure).
  const failureOf = (r: Reply) => [r.signature, meta(r).code ?? meta(r).neo4j_code, meta(r).message];
  const expired = [SIG.FAILURE, 'Neo.ClientError.Security.Unauthorized', `The client did not authenticate within ${DEADLINE_MS} ms.`];

  it('closes a socket that never sends a byte once the deadline passes (before the 10 s sniff timeout)', async () => {
    const c = await connect(timed);
    const started = Date.now();
    await c.waitClosed(5_000);
    assert.ok(Date.now() - started >= DEADLINE_MS - 50, 'not before the deadline');
  });

  it('answers a FAILURE, then closes, when the handshake was done but no HELLO came', async () => {
    const c = await connect(timed);
    await c.handshake(V('00000805' + REST));
    assert.deepEqual(failureOf(await c.next(5_000)), expired);
    await c.waitClosed();
  });

  it('answers a FAILURE, then closes, when HELLO came but no LOGON (5.1+)', async () => {
    const c = await connect(timed);
    await c.handshake(V('00000805' + REST));
    c.send(SIG.HELLO, { user_agent: 'raw-test/1.0' });
    assert.equal((await c.next()).signature, SIG.SUCCESS);
    assert.deepEqual(failureOf(await c.next(5_000)), expired);
    await c.waitClosed();
  });

  it('leaves an authenticated session open past the deadline; a LOGOFF starts a new one', async () => {
    const authed = await session('00000805', timed);
    const idle = await connect(timed);
    await idle.waitClosed(5_000); // the deadline has passed for both sockets
    assert.deepEqual((await runAll(authed, 'RETURN 1 AS x')).records, [[1n]]);
    authed.send(SIG.LOGOFF);
    assert.equal((await authed.next()).signature, SIG.SUCCESS);
    assert.deepEqual(failureOf(await authed.next(5_000)), expired);
    await authed.waitClosed();
  });

  it('refuses sockets beyond maxUnauthenticatedConnections on accept; authenticated ones free their slot', async () => {
    const s = await startBoltServer({ maxUnauthenticatedConnections: 2 });
    try {
      const a = await connect(s);
      const b = await connect(s);
      await waitFor(() => s.server.unauthenticatedConnections === 2, { timeoutMs: 5_000, what: 'two unauthenticated sockets' });
      const third = await connect(s);
      await third.waitClosed();
      // Authenticating one of the two frees a slot for a newcomer, which may authenticate too.
      await a.handshake(V('00000805' + REST));
      assert.equal((await a.hello()).signature, SIG.SUCCESS);
      assert.equal(s.server.unauthenticatedConnections, 1);
      const fourth = await session('00000805', s);
      assert.deepEqual((await runAll(fourth, 'RETURN 2 AS x')).records, [[2n]]);
      assert.equal(s.server.openConnections, 3);
      b.destroy();
    } finally {
      await s.close();
    }
  });
});
