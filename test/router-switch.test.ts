// Switch connection URL end to end with real processes (router, graph-servers, drivers 5 and 6): create →
// write → clone → change the clone → switch → the SAME neo4j:// URL now reads the clone's data (by content),
// the clone's old URL the original's; a transaction open across the switch runs on for the drain time and
// is then closed; the request is validated (self, unknown target, missing field, an operation in progress).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import neo4j, { type Driver } from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { DB, createDatabase, operationFinished, startBackupsServer, type BackupsServer } from './helpers/backups.js';
import { waitFor } from './helpers/wait-for.js';

const DRAIN_MS = 2_000;

async function marker(driver: Driver): Promise<string> {
  const { records } = await driver.executeQuery('MATCH (m:Marker) RETURN m.v AS v');
  return records.map((r) => r.get('v')).join(',');
}

describe('switch connection URL', () => {
  let server: BackupsServer;
  let token: string;
  const drivers: Driver[] = [];
  const driver = (url: string, password: string, module: typeof neo4j = neo4j): Driver => {
    const d = module.driver(url, module.auth.basic('neo4j', password));
    drivers.push(d);
    return d;
  };

  before(async () => {
    server = await startBackupsServer({ env: { ALLOTROPE_SWITCH_DRAIN_MS: String(DRAIN_MS) } });
    token = server.adminToken;
  });
  after(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    await server?.stop();
  });

  it('the unchanged URL reads the clone after a switch; open connections drain, then close', async () => {
    const prod = await createDatabase(server, token, { environmentId: server.environmentId, name: 'production', plan: 'ds2' });
    const prodUrl: string = prod.database.connectionUrls.neo4j;
    assert.match(prodUrl, /^neo4j:\/\/127\.0\.0\.1:\d+$/);
    const app = driver(prodUrl, prod.password);
    await app.executeQuery("CREATE (:Marker {v: 'production'})");
    assert.equal(await marker(app), 'production');

    const cloned = await server.request('POST', `${DB}/${prod.database.id}/clone`, { token, body: { name: 'staging-copy' } });
    assert.equal(cloned.status, 202, cloned.text);
    await operationFinished(server, token, cloned.body.database.id, cloned.body.operationId);
    const clone = { database: cloned.body.database, password: cloned.body.credentials.password as string };
    const cloneUrl: string = clone.database.connectionUrls.neo4j;
    const cloneDirect = driver(cloneUrl, clone.password);
    await cloneDirect.executeQuery("MATCH (m:Marker) SET m.v = 'changed in the clone'");
    assert.equal(await marker(cloneDirect), 'changed in the clone');

    // Validation, each naming what is wrong.
    const self = await server.request('PUT', `${DB}/${prod.database.id}/connection-url/switch`, { token, body: { targetDatabaseId: prod.database.id } });
    assert.equal(self.status, 400, self.text);
    assert.match(self.body.error, /targetDatabaseId/);
    const missing = await server.request('PUT', `${DB}/${prod.database.id}/connection-url/switch`, { token, body: {} });
    assert.equal(missing.status, 400, missing.text);
    assert.match(missing.body.error, /targetDatabaseId/);
    const unknown = await server.request('PUT', `${DB}/${prod.database.id}/connection-url/switch`, { token, body: { targetDatabaseId: '0123456789abcdef0123456789abcdef' } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.body.error, /targetDatabaseId/);

    // A transaction open on the production endpoint across the switch.
    const session = app.session();
    const tx = await session.beginTransaction();
    assert.equal((await tx.run('MATCH (m:Marker) RETURN m.v AS v')).records[0]!.get('v'), 'production');

    const res = await server.request('PUT', `${DB}/${prod.database.id}/connection-url/switch`, { token, body: { targetDatabaseId: clone.database.id } });
    assert.equal(res.status, 202, res.text);
    assert.match(res.body.operationId, /^[0-9a-f]{32}$/);
    const op = await operationFinished(server, token, prod.database.id, res.body.operationId);
    assert.equal(op.operationType, 'switch-connection-url');
    const switchedAt = Date.now();

    // New connections on the production URL reach the clone (its users: users belong to a database).
    for (const module of [neo4j, neo4j5 as unknown as typeof neo4j]) {
      const fresh = driver(prodUrl, clone.password, module);
      assert.equal(await marker(fresh), 'changed in the clone');
    }
    // And the clone's old URL serves production.
    assert.equal(await marker(driver(cloneUrl, prod.password)), 'production');
    const after = await server.request('GET', `${DB}/${clone.database.id}`, { token });
    assert.equal(after.body.boltPort, prod.database.boltPort);
    assert.equal(after.body.connectionUrls.neo4j, prodUrl);

    // The transaction open before the switch still runs against production during the drain ...
    assert.equal((await tx.run('MATCH (m:Marker) RETURN m.v AS v')).records[0]!.get('v'), 'production');
    // ... and its connection is closed after it.
    await waitFor(
      async () => {
        try {
          await tx.run('RETURN 1');
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: DRAIN_MS + 10_000, intervalMs: 200, what: 'the drained connection to be closed' },
    );
    assert.ok(Date.now() - switchedAt >= DRAIN_MS - 500, 'not closed before the drain time');
    await session.close().catch(() => undefined);

    // An operation in progress on either database refuses a switch.
    const pause = await server.request('PUT', `${DB}/${clone.database.id}/pause`, { token });
    assert.equal(pause.status, 202);
    const busy = await server.request('PUT', `${DB}/${prod.database.id}/connection-url/switch`, { token, body: { targetDatabaseId: clone.database.id } });
    assert.equal(busy.status, 409, busy.text);
    assert.match(busy.body.error, /in progress/);
    await operationFinished(server, token, clone.database.id, pause.body.operationId);
  });

  it('the connection URL from create keeps working across a restore (driver kept open)', async () => {
    const db = await createDatabase(server, token, { environmentId: server.environmentId, name: 'restored', plan: 'ds2' });
    const app = driver(db.database.connectionUrls.neo4j, db.password);
    await app.executeQuery("CREATE (:Marker {v: 'before the snapshot'})");
    const snap = await server.request('POST', `${DB}/${db.database.id}/snapshots`, { token, body: { label: 'router' } });
    assert.equal(snap.status, 202, snap.text);
    await operationFinished(server, token, db.database.id, snap.body.operationId);
    await app.executeQuery("MATCH (m:Marker) SET m.v = 'after the snapshot'");
    const restore = await server.request('POST', `${DB}/${db.database.id}/snapshots/${snap.body.snapshot.id}/restore`, { token, body: {} });
    assert.equal(restore.status, 202, restore.text);
    await operationFinished(server, token, db.database.id, restore.body.operationId);
    // The node was replaced (new process, new loopback port); the URL is the router's and stays.
    assert.equal(await marker(app), 'before the snapshot');
  });
});
