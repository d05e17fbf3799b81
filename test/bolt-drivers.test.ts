// End-to-end: the official JavaScript drivers (6.3.0 and 5.28.2) over bolt:// and neo4j:// against
// our Bolt server backed by the scripted fake engine.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import neo4j6 from 'neo4j-driver';
import neo4j5Module from 'neo4j-driver-5';
import { DB_UUID, graphFixture, nodeElementId, relElementId } from './helpers/bolt-fake-engine.js';
import { startBoltServer, type TestBoltServer } from './helpers/bolt-test-server.js';

type Neo4j = typeof neo4j6;
const neo4j5 = neo4j5Module as unknown as Neo4j;
const DRIVERS: [string, Neo4j][] = [
  ['neo4j-driver 6.3.0', neo4j6],
  ['neo4j-driver 5.28.2', neo4j5],
];

let srv: TestBoltServer;
before(async () => {
  srv = await startBoltServer();
});
after(async () => {
  await srv.close();
});

for (const [driverName, neo4j] of DRIVERS) {
  for (const scheme of ['bolt', 'neo4j']) {
    describe(`${driverName} over ${scheme}://`, () => {
      let driver: ReturnType<Neo4j['driver']>;
      before(() => {
        driver = neo4j.driver(`${scheme}://${srv.address}`, neo4j.auth.basic('neo4j', 'secret-pass'), { logging: { level: 'error', logger: () => {} } });
      });
      after(async () => {
        await driver.close();
      });

      it('verifies connectivity and negotiates Bolt 5.8 with a Neo4j agent', async () => {
        await driver.verifyConnectivity();
        const info = await driver.getServerInfo();
        assert.equal(info.agent, 'Neo4j/5.26.0');
        const v = info.protocolVersion as unknown;
        assert.equal(typeof v === 'number' ? String(v) : String((v as { major: number }).major) + '.' + String((v as { minor: number }).minor), '5.8');
        assert.equal(info.address, srv.address);
      });

      it('runs executeQuery with parameters and reports summary, database and bookmarks', async () => {
        const { records, summary, keys } = await driver.executeQuery('RETURN $x AS x, 1 AS one, 2.5 AS f', { x: 'hi' });
        assert.deepEqual(keys, ['x', 'one', 'f']);
        assert.equal(records[0]?.get('x'), 'hi');
        assert.ok(neo4j.isInt(records[0]?.get('one')));
        assert.equal(records[0]?.get('one').toNumber(), 1);
        assert.equal(records[0]?.get('f'), 2.5);
        assert.equal(summary.database.name, 'neo4j');
        assert.equal(summary.queryType, 'r');
        assert.equal(summary.server.agent, 'Neo4j/5.26.0');
      });

      it('round-trips parameters of every type, keeping Integer and Float apart', async () => {
        const params = {
          i: neo4j.int(42),
          big: neo4j.int('9223372036854775807'),
          neg: neo4j.int(-129),
          f: 42,
          frac: -0.125,
          s: 'grüße 😀',
          t: true,
          n: null,
          bytes: new Int8Array([1, -2, 127, -128]),
          list: [neo4j.int(1), 2.5, 'three', [null]],
          map: { a: neo4j.int(1), b: { c: 'd' } },
          date: new neo4j.types.Date(2024, 2, 29),
          time: new neo4j.types.Time(12, 30, 15, 123456789, 3600),
          ltime: new neo4j.types.LocalTime(23, 59, 59, 1),
          dt: new neo4j.types.DateTime(2024, 6, 1, 10, 0, 0, 42, 7200),
          dtz: new neo4j.types.DateTime(2024, 1, 15, 8, 30, 0, 0, undefined, 'Europe/Berlin'),
          ldt: new neo4j.types.LocalDateTime(1969, 12, 31, 23, 59, 59, 999999999),
          dur: new neo4j.types.Duration(14, -3, 3661, 5),
          p2: new neo4j.types.Point(7203, 1.5, -2.25),
          p3: new neo4j.types.Point(4979, 13.4, 52.5, 35.0),
        };
        const keys = Object.keys(params);
        const { records } = await driver.executeQuery(`RETURN ${keys.map((k) => `$${k} AS ${k}`).join(', ')}`, params);
        const got = records[0]!.toObject() as Record<string, any>;
        assert.ok(neo4j.isInt(got.i) && got.i.toNumber() === 42);
        assert.equal(got.big.toString(), '9223372036854775807');
        assert.equal(got.neg.toNumber(), -129);
        assert.equal(typeof got.f, 'number');
        assert.equal(got.f, 42);
        assert.equal(got.frac, -0.125);
        assert.equal(got.s, 'grüße 😀');
        assert.equal(got.t, true);
        assert.equal(got.n, null);
        assert.deepEqual(Array.from(got.bytes as Int8Array), [1, -2, 127, -128]);
        assert.equal(got.list[0].toNumber(), 1);
        assert.deepEqual(got.list.slice(1), [2.5, 'three', [null]]);
        assert.equal(got.map.a.toNumber(), 1);
        assert.deepEqual(got.map.b, { c: 'd' });
        for (const k of ['date', 'time', 'ltime', 'dt', 'ldt', 'dur']) {
          assert.equal(String(got[k]), String((params as Record<string, unknown>)[k]), k);
        }
        assert.ok(neo4j.isDateTime(got.dt) && got.dt.timeZoneOffsetSeconds?.toNumber() === 7200);
        assert.equal(got.dtz.timeZoneId, 'Europe/Berlin');
        assert.equal(String(got.dtz), '2024-01-15T08:30:00+01:00[Europe/Berlin]');
        assert.equal(got.dtz.timeZoneOffsetSeconds.toNumber(), 3600);
        assert.ok(neo4j.isPoint(got.p2));
        assert.equal(got.p2.srid.toNumber(), 7203);
        assert.deepEqual([got.p2.x, got.p2.y, got.p2.z], [1.5, -2.25, undefined]);
        assert.deepEqual([got.p3.srid.toNumber(), got.p3.x, got.p3.y, got.p3.z], [4979, 13.4, 52.5, 35]);
      });

      it('returns Node, Relationship and Path as driver types with ids and element ids', async () => {
        const g = graphFixture();
        const { records } = await driver.executeQuery('RETURN GRAPH');
        const a = records[0]!.get('a');
        const r = records[0]!.get('r');
        const p = records[0]!.get('p');
        assert.ok(neo4j.isNode(a));
        assert.equal(a.identity.toNumber(), 1);
        assert.equal(a.elementId, `4:${DB_UUID}:1`);
        assert.deepEqual(a.labels, ['Person']);
        assert.deepEqual(a.properties, { name: 'Alice' });
        assert.ok(neo4j.isRelationship(r));
        assert.equal(r.identity.toNumber(), 10);
        assert.equal(r.elementId, relElementId(10n));
        assert.equal(r.start.toNumber(), 1);
        assert.equal(r.end.toNumber(), 2);
        assert.equal(r.startNodeElementId, nodeElementId(1n));
        assert.equal(r.endNodeElementId, nodeElementId(2n));
        assert.equal(r.properties.since.toNumber(), 2020);
        assert.ok(neo4j.isPath(p));
        assert.equal(p.length, 2);
        assert.equal(p.start.elementId, g.alice.elementId);
        assert.equal(p.end.elementId, g.carol.elementId);
        const [s1, s2] = p.segments;
        assert.equal(s1.relationship.type, 'KNOWS');
        assert.equal(s1.relationship.start.toNumber(), 1);
        assert.equal(s1.relationship.end.toNumber(), 2);
        assert.equal(s2.start.elementId, g.bob.elementId);
        assert.equal(s2.end.elementId, g.carol.elementId);
        // LIKES is carol -> bob; walked from bob to carol it keeps its own direction.
        assert.equal(s2.relationship.type, 'LIKES');
        assert.equal(s2.relationship.start.toNumber(), 3);
        assert.equal(s2.relationship.end.toNumber(), 2);
        assert.equal(s2.relationship.elementId, relElementId(11n));
        assert.equal(s2.relationship.startNodeElementId, nodeElementId(3n));
      });

      it('commits an explicit transaction and returns its bookmark', async () => {
        const name = `${driverName}-${scheme}-explicit`;
        const session = driver.session();
        try {
          const tx = await session.beginTransaction();
          const r1 = await tx.run('CREATE (:Item {name: $name})', { name });
          assert.equal(r1.summary.counters.updates().nodesCreated, 1);
          assert.equal(r1.summary.counters.containsUpdates(), true);
          const r2 = await tx.run('MATCH (n:Item) RETURN n.name AS name');
          assert.ok(r2.records.some((rec) => rec.get('name') === name));
          await tx.commit();
          const bookmarks = session.lastBookmarks();
          assert.equal(bookmarks.length, 1);
          assert.match(bookmarks[0] as string, /^FB:fake-\d+$/);
        } finally {
          await session.close();
        }
        assert.ok(srv.engine.committed.includes(name));
      });

      it('runs managed transactions and passes read mode and timeouts to the engine', async () => {
        const session = driver.session({ defaultAccessMode: neo4j.session.READ });
        try {
          const n = await session.executeRead(async (tx) => (await tx.run('RETURN 7 AS n')).records[0]!.get('n').toNumber());
          assert.equal(n, 7);
          assert.equal(srv.engine.lastOptions?.readOnly, true);
          const name = `${driverName}-${scheme}-managed`;
          await session.executeWrite((tx) => tx.run('CREATE (:Item {name: $name})', { name }), { timeout: 4321, metadata: { app: 'test' } });
          assert.equal(srv.engine.lastOptions?.readOnly, false);
          assert.equal(srv.engine.lastOptions?.timeoutMs, 4321);
          assert.deepEqual(srv.engine.lastOptions?.metadata, { app: 'test' });
          assert.ok(srv.engine.committed.includes(name));
        } finally {
          await session.close();
        }
      });

      it('rolls back an explicit transaction', async () => {
        const name = `${driverName}-${scheme}-rolled-back`;
        const session = driver.session();
        try {
          const tx = await session.beginTransaction();
          await tx.run('CREATE (:Item {name: $name})', { name });
          await tx.rollback();
          const r = await session.run('MATCH (n:Item) RETURN n.name AS name');
          assert.ok(!r.records.some((rec) => rec.get('name') === name));
        } finally {
          await session.close();
        }
        assert.ok(!srv.engine.committed.includes(name));
      });

      it('surfaces engine errors with their code and keeps the session usable', async () => {
        const session = driver.session();
        try {
          await assert.rejects(session.run('FAIL SyntaxError'), (e: any) => {
            assert.equal(e.code, 'Neo.ClientError.Statement.SyntaxError');
            assert.match(e.message, /Invalid input 'FAIL'/);
            return true;
          });
          assert.equal((await session.run('RETURN 1 AS one')).records[0]!.get('one').toNumber(), 1);
          await assert.rejects(session.run('CRASH'), (e: any) => {
            assert.equal(e.code, 'Neo.DatabaseError.General.UnknownError');
            assert.equal(e.message, 'the fake engine crashed on purpose');
            return true;
          });
          const tx = await session.beginTransaction();
          await assert.rejects(tx.run('FAIL SemanticError'), (e: any) => e.code === 'Neo.ClientError.Statement.SemanticError');
          await tx.close();
          assert.equal((await session.run('RETURN 2 AS two')).records[0]!.get('two').toNumber(), 2);
          await assert.rejects(
            driver.executeQuery('RETURN 1 AS x', {}, { database: 'nope' }),
            (e: any) => e.code === 'Neo.ClientError.Database.DatabaseNotFound',
          );
        } finally {
          await session.close();
        }
      });

      it('rejects a wrong password with Neo.ClientError.Security.Unauthorized', async () => {
        const bad = neo4j.driver(`${scheme}://${srv.address}`, neo4j.auth.basic('neo4j', 'wrong'), { logging: { level: 'error', logger: () => {} } });
        try {
          await assert.rejects(bad.verifyConnectivity(), (e: any) => e.code === 'Neo.ClientError.Security.Unauthorized');
        } finally {
          await bad.close();
        }
      });

      it('switches users per session with LOGOFF/LOGON (session-level auth)', async () => {
        const reader = driver.session({ auth: neo4j.auth.basic('reader', 'reader-pass') });
        try {
          await reader.run('RETURN 1 AS x');
          assert.equal(srv.engine.lastOptions?.readOnly, true);
          await assert.rejects(reader.run('CREATE (:Item {name: $name})', { name: 'by-reader' }), (e: any) => e.code === 'Neo.ClientError.Security.Forbidden');
        } finally {
          await reader.close();
        }
        const session = driver.session();
        try {
          await session.run('RETURN 1 AS x');
          assert.equal(srv.engine.lastOptions?.readOnly, false);
        } finally {
          await session.close();
        }
        assert.equal(await driver.verifyAuthentication({ auth: neo4j.auth.basic('reader', 'reader-pass') }), true);
      });

      it('reports notifications (5.8: as GQL status objects too)', async () => {
        const { summary } = await driver.executeQuery('NOTIFY');
        assert.equal(summary.notifications.length, 1);
        assert.equal(summary.notifications[0]?.code, 'Neo.ClientNotification.Statement.CartesianProduct');
        assert.equal(summary.notifications[0]?.severityLevel, 'WARNING');
        assert.equal(summary.notifications[0]?.position && 'line' in summary.notifications[0].position ? summary.notifications[0].position.line : 0, 1);
        const statuses = summary.gqlStatusObjects.map((s) => s.gqlStatus);
        assert.ok(statuses.includes('00000'), statuses.join(','));
        assert.ok(statuses.includes('03N90'), statuses.join(','));
      });

      it('honours the notification filter the driver sends', async () => {
        const session = driver.session({ notificationFilter: { minimumSeverityLevel: 'OFF' } });
        try {
          const r = await session.run('NOTIFY');
          assert.equal(r.summary.notifications.length, 0);
        } finally {
          await session.close();
        }
      });

      it('serves 50 concurrent sessions', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const session = driver.session();
            try {
              const r = await session.run('UNWIND range(1, $n) AS i RETURN i', { n: neo4j.int(i + 1) });
              return r.records.length;
            } finally {
              await session.close();
            }
          }),
        );
        assert.deepEqual(
          results,
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      });

      it('streams a ~10 MB result in PULL batches', async () => {
        const payload = 'x'.repeat(5000);
        const session = driver.session({ fetchSize: 100 });
        try {
          let rows = 0;
          let bytes = 0;
          const result = session.run('UNWIND range(1, 2000) AS i RETURN i, $s AS s', { s: payload });
          for await (const rec of result) {
            rows++;
            assert.equal(rec.get('i').toNumber(), rows);
            bytes += (rec.get('s') as string).length;
          }
          assert.equal(rows, 2000);
          assert.equal(bytes, 10_000_000);
        } finally {
          await session.close();
        }
      });
    });
  }
}

describe('drivers through the legacy handshake (Manifest v1 not offered)', () => {
  let legacy: TestBoltServer;
  before(async () => {
    legacy = await startBoltServer({ manifest: false });
  });
  after(async () => {
    await legacy.close();
  });
  for (const [driverName, neo4j] of DRIVERS) {
    it(`${driverName} still negotiates 5.8 and runs a query`, async () => {
      const driver = neo4j.driver(`neo4j://${legacy.address}`, neo4j.auth.basic('neo4j', 'secret-pass'), { logging: { level: 'error', logger: () => {} } });
      try {
        const { records, summary } = await driver.executeQuery('RETURN $x AS x', { x: neo4j.int(5) });
        assert.equal(records[0]?.get('x').toNumber(), 5);
        const v = summary.server.protocolVersion as unknown;
        assert.equal(typeof v === 'number' ? String(v) : `${(v as { major: number }).major}.${(v as { minor: number }).minor}`, '5.8');
      } finally {
        await driver.close();
      }
    });
  }
});
