// The Bolt server in front of the real Grafeo engine adapter, driven by the official driver.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import neo4j from 'neo4j-driver';
import { openGrafeoEngine, type GrafeoEngine } from '../src/graph-server/engines/grafeo/engine.js';
import { startBoltServer, type TestBoltServer } from './helpers/bolt-test-server.js';

describe('Bolt over the real Grafeo engine', () => {
  let dir: string;
  let engine: GrafeoEngine;
  let srv: TestBoltServer;
  let driver: ReturnType<typeof neo4j.driver>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bolt-grafeo-'));
    engine = await openGrafeoEngine({ dataDir: dir });
    srv = await startBoltServer({ engine });
    driver = neo4j.driver(`neo4j://${srv.address}`, neo4j.auth.basic('neo4j', 'secret-pass'), { logging: { level: 'error', logger: () => {} } });
  });
  after(async () => {
    await driver?.close();
    await srv?.close();
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates and reads back graph data with element ids, counters and bookmarks', async () => {
    const created = await driver.executeQuery(
      "CREATE (a:Person {name: 'Ann', age: $age})-[r:KNOWS {since: 2001}]->(b:Person {name: 'Ben'}) RETURN a, r, b",
      { age: neo4j.int(41) },
    );
    assert.equal(created.summary.counters.updates().nodesCreated, 2);
    assert.equal(created.summary.counters.updates().relationshipsCreated, 1);
    const a = created.records[0]!.get('a');
    const r = created.records[0]!.get('r');
    const b = created.records[0]!.get('b');
    assert.ok(neo4j.isNode(a) && neo4j.isRelationship(r));
    assert.equal(a.properties.age.toNumber(), 41);
    assert.equal(r.startNodeElementId, a.elementId);
    assert.equal(r.endNodeElementId, b.elementId);
    assert.ok(created.summary.server.agent?.startsWith('Neo4j/'));

    const path = await driver.executeQuery('MATCH p = (:Person {name: $n})-[:KNOWS]->() RETURN p', { n: 'Ann' });
    const p = path.records[0]!.get('p');
    assert.ok(neo4j.isPath(p));
    assert.equal(p.length, 1);
    assert.equal(p.start.elementId, a.elementId);
    assert.equal(p.end.elementId, b.elementId);
  });

  it('rolls back, surfaces syntax errors and keeps the session usable', async () => {
    const session = driver.session();
    try {
      const tx = await session.beginTransaction();
      await tx.run("CREATE (:Temp {name: 'gone'})");
      await tx.rollback();
      const count = await session.run('MATCH (t:Temp) RETURN count(t) AS c');
      assert.equal(count.records[0]!.get('c').toNumber(), 0);
      await assert.rejects(session.run('THIS IS NOT CYPHER'), (e: any) => e.code === 'Neo.ClientError.Statement.SyntaxError');
      const ok = await session.run('RETURN 1 AS one, 1.0 AS f');
      assert.ok(neo4j.isInt(ok.records[0]!.get('one')));
      assert.equal(typeof ok.records[0]!.get('f'), 'number');
    } finally {
      await session.close();
    }
  });
});
