// Values through the official drivers (6.x and 5.x) into the real Grafeo engine and back: each comes
// back exactly, or the write is refused naming the value (never a different value stored). Also the
// mixed node/relationship list, bookmarks and EXPLAIN/PROFILE summaries.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import neo4j6 from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { openGrafeoEngine, type GrafeoEngine } from '../src/graph-server/engines/grafeo/engine.js';
import { startBoltServer, type TestBoltServer } from './helpers/bolt-test-server.js';

/** Temporal values compare by class and their ISO text (which carries every field, to the nanosecond). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return `${v.constructor.name} ${String(v)}`;
  if (typeof v === 'number') return `Float ${Object.is(v, -0) ? '-0' : v}`;
  return v;
}

const DRIVERS = [
  { name: 'neo4j-driver 6', neo4j: neo4j6 },
  { name: 'neo4j-driver 5', neo4j: neo4j5 as unknown as typeof neo4j6 },
];

for (const { name, neo4j } of DRIVERS) {
  describe(`Grafeo values through ${name}`, () => {
    let dir: string;
    let engine: GrafeoEngine;
    let srv: TestBoltServer;
    let driver: ReturnType<typeof neo4j.driver>;
    const t = neo4j.types;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'grafeo-values-'));
      engine = await openGrafeoEngine({ dataDir: dir });
      srv = await startBoltServer({ engine });
      driver = neo4j.driver(`bolt://${srv.address}`, neo4j.auth.basic('neo4j', 'secret-pass'), { logging: { level: 'error', logger: () => {} } });
    });
    after(async () => {
      await driver?.close();
      await srv?.close();
      await engine?.close();
      await rm(dir, { recursive: true, force: true });
    });

    const exact: [string, () => unknown][] = [
      ['LocalDateTime to the millisecond', () => new t.LocalDateTime(2020, 1, 1, 10, 0, 0, 175_000_000)],
      ['DateTime with an offset to the microsecond', () => new t.DateTime(2020, 1, 1, 10, 0, 0, 175_857_000, 7200)],
      ['DateTime in the year 12000', () => new t.DateTime(12000, 1, 1, 10, 0, 0, 175_857_000, -18000)],
      ['DateTime in the year -5', () => new t.DateTime(-5, 1, 1, 10, 0, 0, 1000, 0)],
      ['the negative Duration', () => new t.Duration(-14, -35, -123456, 789)],
      ['a negative fractional Duration', () => new t.Duration(0, 0, -1, 500_000_000)],
      ['Date in the year 99999', () => new t.Date(99999, 12, 31)],
      ['Date in the year -1', () => new t.Date(-1, 12, 31)],
      ['Date in the year 0', () => new t.Date(0, 2, 29)],
      ['Time with nanoseconds and an offset', () => new t.Time(10, 0, 0, 123_456_789, 3600)],
      ['LocalTime with nanoseconds', () => new t.LocalTime(23, 59, 59, 999_999_999)],
      ['a whole Float', () => 1.0],
      ['0.0', () => 0.0],
      ['a list of Durations with a null', () => [new t.Duration(0, 0, -1, 1), null, new t.Duration(1, 2, 3, 4)]],
      ['a list mixing Integers, strings and whole Floats', () => [neo4j.int(1), 'a', 2.0]],
    ];
    for (const [what, make] of exact) {
      it(`keeps ${what} exactly, written and read back`, async () => {
        const v = make();
        const written = await driver.executeQuery('CREATE (n:Exact {v: $v, what: $what}) RETURN n.v AS v', { v, what });
        assert.deepEqual(shape(written.records[0]!.get('v')), shape(v));
        const read = await driver.executeQuery('MATCH (n:Exact {what: $what}) RETURN n.v AS v, n AS n', { what });
        assert.deepEqual(shape(read.records[0]!.get('v')), shape(v));
        assert.deepEqual(shape(read.records[0]!.get('n').properties.v), shape(v));
        if (typeof v === 'number') assert.equal(typeof read.records[0]!.get('v'), 'number');
      });
    }

    const refused: [string, () => unknown, string][] = [
      ['a LocalDateTime with nanoseconds', () => new t.LocalDateTime(2020, 1, 1, 10, 0, 0, 175_857_897), "localdatetime('2020-01-01T10:00:00.175857897')"],
      ['a DateTime with nanoseconds', () => new t.DateTime(2020, 1, 1, 10, 0, 0, 175_857_897, 7200), "datetime('2020-01-01T10:00:00.175857897+02:00')"],
      ['a DateTime in a named zone', () => new t.DateTime(2020, 6, 1, 10, 0, 0, 0, undefined, 'Europe/London'), '[Europe/London]'],
      ['a DateTime in a named zone at a DST overlap', () => new t.DateTime(2020, 10, 25, 1, 30, 0, 0, undefined, 'Europe/London'), '[Europe/London]'],
      ['-0.0', () => -0, '-0.0'],
      ['a Date past the engine range', () => new t.Date(999_999_999, 12, 31), "date('+999999999-12-31')"],
      ['a Time with an offset in seconds', () => new t.Time(10, 0, 0, 0, 3603), '+01:00:03'],
      ['a list mixing a Date and a Duration', () => [new t.Date(99999, 1, 1), new t.Duration(0, 0, -1, 1)], 'A list mixing Date and Duration'],
      ['a list mixing Integers and Floats', () => [neo4j.int(1), 2.5], 'A list mixing Integer and Float'],
      ['a Duration past 64-bit nanoseconds', () => new t.Duration(0, 0, 10_000_000_000, 0), 'duration('],
    ];
    for (const [what, make, shown] of refused) {
      it(`refuses ${what} instead of storing another value`, async () => {
        await assert.rejects(driver.executeQuery('CREATE (n:Refused {v: $v}) RETURN n.v AS v', { v: make() }), (e: any) => {
          assert.equal(e.code, 'Neo.ClientError.Statement.ArgumentError');
          assert.ok(e.message.includes(shown), e.message);
          assert.match(e.message, /cannot be stored exactly/);
          return true;
        });
        const left = await driver.executeQuery('MATCH (n:Refused) RETURN count(n) AS c');
        assert.equal(left.records[0]!.get('c').toNumber(), 0);
      });
    }

    it('encodes a relationship inside a mixed list as a relationship', async () => {
      await driver.executeQuery("CREATE (:Mix {k: 1})-[:LINKS {w: 2}]->(:Mix {k: 2})");
      const res = await driver.executeQuery('MATCH (n:Mix)-[r:LINKS]->(m) RETURN [n, r, m] AS l, [r, n] AS l2');
      const [n, r, m] = res.records[0]!.get('l');
      assert.ok(neo4j.isNode(n) && neo4j.isRelationship(r) && neo4j.isNode(m));
      assert.equal(r.type, 'LINKS');
      assert.equal(r.properties.w.toNumber(), 2);
      assert.deepEqual(Object.keys(r.properties), ['w']);
      assert.equal(r.startNodeElementId, n.elementId);
      assert.equal(r.endNodeElementId, m.elementId);
      assert.deepEqual(n.labels, ['Mix']);
      const [r2, n2] = res.records[0]!.get('l2');
      assert.ok(neo4j.isRelationship(r2) && neo4j.isNode(n2));
    });

    it('refuses garbage and tampered bookmarks, and honours a real one', async () => {
      const writer = driver.session();
      let bookmark: string;
      try {
        await writer.run('CREATE (:Marked)');
        bookmark = writer.lastBookmarks()[0]!;
      } finally {
        await writer.close();
      }
      assert.match(bookmark, /^FB:/);
      const [prefix, uuid, epoch] = bookmark.split(':');
      // Garbage and forged shapes. Another database's bookmark (held after a switch) and an epoch ahead of this
      // one (held after a restore) are accepted below (see assertBookmark).
      const bad = ['garbage', `${prefix}:${uuid}:${epoch}x`, `${prefix}:${uuid}`, `${prefix}:not-a-uuid:${epoch}`];
      for (const b of bad) {
        const session = driver.session({ bookmarks: [b] });
        try {
          await assert.rejects(session.run('RETURN 1'), (e: any) => e.code === 'Neo.ClientError.Transaction.InvalidBookmark' && e.message.includes(b));
        } finally {
          await session.close();
        }
      }
      const ahead = `${prefix}:${uuid}:${BigInt(epoch!) + 1000n}`;
      const foreign = `${prefix}:00000000-0000-4000-8000-000000000000:${epoch}`;
      for (const bookmarks of [[bookmark], [ahead], [foreign, bookmark]]) {
        const session = driver.session({ bookmarks });
        try {
          const res = await session.executeRead((tx) => tx.run('MATCH (m:Marked) RETURN count(m) AS c'));
          assert.equal(res.records[0]!.get('c').toNumber(), 1, `with bookmarks ${bookmarks.join(', ')}`);
        } finally {
          await session.close();
        }
      }
    });

    it('gives EXPLAIN and PROFILE plans in the summary, as Neo4j does', async () => {
      const explained = await driver.executeQuery('EXPLAIN CREATE (n:Explained) RETURN n');
      assert.equal(explained.records.length, 0);
      assert.ok(explained.summary.hasPlan());
      assert.ok(!explained.summary.hasProfile());
      const plan = explained.summary.plan as any;
      assert.equal(typeof plan.operatorType, 'string');
      assert.ok(Array.isArray(plan.identifiers) && plan.identifiers.includes('n'), JSON.stringify(plan.identifiers));
      assert.ok(plan.children.length > 0);
      const none = await driver.executeQuery('MATCH (n:Explained) RETURN count(n) AS c');
      assert.equal(none.records[0]!.get('c').toNumber(), 0, 'EXPLAIN must not run the query');

      await driver.executeQuery('UNWIND range(1, 3) AS i CREATE (:Profiled {i: i})');
      const profiled = await driver.executeQuery('PROFILE MATCH (p:Profiled) WHERE p.i > 1 RETURN p.i AS i ORDER BY i');
      assert.deepEqual(profiled.records.map((r) => r.get('i').toNumber()), [2, 3]);
      assert.ok(profiled.summary.hasProfile());
      const prof = profiled.summary.profile as any;
      const rows = (op: any): number[] => [Number(op.rows), ...op.children.flatMap(rows)];
      assert.ok(rows(prof).includes(2), JSON.stringify(rows(prof)));
      assert.equal(typeof prof.dbHits, 'number');

      const created = await driver.executeQuery('PROFILE CREATE (n:ProfiledWrite) RETURN n');
      assert.equal(created.records.length, 1);
      assert.ok(created.summary.hasProfile());
      assert.equal(created.summary.counters.updates().nodesCreated, 1);
      const once = await driver.executeQuery('MATCH (n:ProfiledWrite) RETURN count(n) AS c');
      assert.equal(once.records[0]!.get('c').toNumber(), 1, 'PROFILE runs a write once');
    });
  });
}
