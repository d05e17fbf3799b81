// The browser build of neo4j-driver talks Bolt over WebSocket (as Neo4j Browser does); run it in
// Node with the `ws` client standing in for the browser's WebSocket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startBoltServer, type TestBoltServer } from './helpers/bolt-test-server.js';

let opened = 0;
class CountingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    opened++;
  }
}

describe('neo4j-driver browser build over WebSocket', () => {
  let srv: TestBoltServer;
  let neo4j: typeof import('neo4j-driver').default;
  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = CountingWebSocket;
    neo4j = (await import('neo4j-driver/lib/browser/neo4j-web.esm.js' as string)).default;
    srv = await startBoltServer();
  });
  after(async () => {
    await srv.close();
  });

  it('connects, authenticates and runs queries and transactions', async () => {
    const driver = neo4j.driver(`bolt://${srv.address}`, neo4j.auth.basic('neo4j', 'secret-pass'), { logging: { level: 'error', logger: () => {} } });
    try {
      const { records, summary } = await driver.executeQuery('RETURN $x AS x, 5 AS n', { x: 'browser' });
      assert.equal(records[0]?.get('x'), 'browser');
      assert.equal(records[0]?.get('n').toNumber(), 5);
      assert.equal(summary.server.agent, 'Neo4j/5.26.0');
      const session = driver.session();
      try {
        const tx = await session.beginTransaction();
        await tx.run('CREATE (:Item {name: $name})', { name: 'from-browser' });
        await tx.commit();
        await assert.rejects(session.run('FAIL SyntaxError'), (e: { code?: string }) => e.code === 'Neo.ClientError.Statement.SyntaxError');
      } finally {
        await session.close();
      }
      assert.ok(srv.engine.committed.includes('from-browser'));
      assert.ok(opened >= 1, 'the driver used WebSocket');
    } finally {
      await driver.close();
    }
  });

  it('is refused with a wrong password', async () => {
    const driver = neo4j.driver(`bolt://${srv.address}`, neo4j.auth.basic('neo4j', 'nope'), { logging: { level: 'error', logger: () => {} } });
    try {
      await assert.rejects(driver.verifyConnectivity(), (e: { code?: string }) => e.code === 'Neo.ClientError.Security.Unauthorized');
    } finally {
      await driver.close();
    }
  });
});
