// The router in front of both engines (real processes, drivers 5 and 6): a neo4j:// URL from create is the
// router's, and the ROUTE answer names it (graph-server answers ROUTE with HELLO's routing.address; for Neo4j
// nodes the relay answers it instead of the JVM), so drivers keep coming back through the router; the URL
// keeps working across a restart and a pause → auto-resume (no client error). Grafeo ('5.26-grafeo') always;
// Neo4j where the engine is installed (skipped with the reason otherwise).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import neo4j from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { installedNeo4j } from './helpers/neo4j-engine.js';
import { startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';

const DB = '/deployments/databases/graphneo';
const engines = installedNeo4j();
if (!engines.install) console.log(`# skipping the Neo4j half of the router engine tests: ${engines.reason}`);

for (const [label, version] of [
  ['Grafeo', '5.26-grafeo'],
  ['Neo4j', engines.install ? engines.install.version.split('.').slice(0, 2).join('.') : null],
] as const) {
  describe(`the router in front of ${label} nodes`, { skip: version ? false : `Neo4j is not installed: ${(engines as { reason?: string }).reason}` }, () => {
    let server: LifecycleServer;
    let token: string;
    before(async () => {
      server = await startLifecycleServer({ healthIntervalMs: 3_600_000, ...(engines.install ? { engines: { neo4j: engines.install } } : {}) });
      token = server.adminToken;
    });
    after(async () => {
      await server?.stop();
    });

    it('neo4j:// routes through the router, across restart and pause → auto-resume', async () => {
      const res = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: `routed-${label.toLowerCase()}`, plan: 'ds2', version } });
      assert.equal(res.status, 202, res.text);
      const created = await waitForOperation(server, token, res.body.database.id, res.body.operationId, 180_000);
      assert.equal(created.status, 'finished', JSON.stringify(created));
      const database = res.body.database;
      const password = res.body.credentials.password;
      const url: string = database.connectionUrls.neo4j;
      const publicAddress = url.replace('neo4j://', '');
      const use = async (module: typeof neo4j, cypher: string) => {
        const d = module.driver(url, module.auth.basic('neo4j', password));
        try {
          const info = await d.getServerInfo();
          // The routing table named the router's public address, not the node's loopback port.
          assert.equal(info.address, publicAddress);
          return (await d.executeQuery(cypher)).records;
        } finally {
          await d.close();
        }
      };
      await use(neo4j, "CREATE (:Routed {v: 'kept'})");
      // Discovery on the public HTTP port (what Neo4j Browser reads for its connect URL) names the public Bolt
      // port, on every request of a kept-alive connection, not the node's loopback one.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 2; i++) {
          const found = await new Promise<{ bolt_direct: string; bolt_routing: string }>((resolve, reject) =>
            http
              .get({ host: '127.0.0.1', port: database.httpPort, path: '/', agent, headers: { accept: 'application/json' } }, (r) => {
                let body = '';
                r.on('data', (d: Buffer) => (body += d.toString()));
                r.on('end', () => resolve(JSON.parse(body)));
              })
              .on('error', reject),
          );
          assert.equal(found.bolt_direct, `bolt://${publicAddress}`);
          assert.equal(found.bolt_routing, `neo4j://${publicAddress}`);
        }
      } finally {
        agent.destroy();
      }
      for (const module of [neo4j, neo4j5 as unknown as typeof neo4j]) {
        assert.deepEqual((await use(module, 'MATCH (r:Routed) RETURN r.v AS v')).map((r) => r.get('v')), ['kept']);
      }

      const restart = await server.request('PUT', `${DB}/${database.id}/restart`, { token });
      assert.equal((await waitForOperation(server, token, database.id, restart.body.operationId, 180_000)).status, 'finished');
      assert.deepEqual((await use(neo4j5 as unknown as typeof neo4j, 'MATCH (r:Routed) RETURN r.v AS v')).map((r) => r.get('v')), ['kept']);

      await server.request('PATCH', `${DB}/${database.id}`, { token, body: { autoResume: true } });
      const pause = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
      assert.equal((await waitForOperation(server, token, database.id, pause.body.operationId, 180_000)).status, 'finished');
      const started = Date.now();
      assert.deepEqual((await use(neo4j, 'MATCH (r:Routed) RETURN r.v AS v')).map((r) => r.get('v')), ['kept']);
      console.log(`# ${label}: first query on a paused database answered after ${Date.now() - started} ms (auto-resume held the connection)`);
    });
  });
}
