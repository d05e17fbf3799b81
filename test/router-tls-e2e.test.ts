// TLS through the real router (src/router/ with src/router/tls.ts), self-signed mode: the connection URLs from
// create are `neo4j+ssc://<id>.<publicHost>:<shared port>`; two databases on the one shared port are told
// apart by SNI (drivers 5 and 6); a database's own port takes TLS and plain clients alike; the Query API
// answers over HTTPS on the shared port; after a switch the TLS URL reads the other database. The test
// domain resolves to 127.0.0.1 in this process only (no DNS server here answers for it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import neo4j from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { createDatabaseAndWait, startLifecycleServer, testPortRange, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { resolveDomainTo } from './helpers/test-dns.js';

const DOMAIN = 'graphs.test';
const DB = '/deployments/databases/graphneo';

async function marker(module: typeof neo4j, url: string, password: string): Promise<string> {
  const d = module.driver(url, module.auth.basic('neo4j', password));
  try {
    const { records } = await d.executeQuery('MATCH (m:Marker) RETURN m.v AS v');
    return records.map((r) => r.get('v')).join(',');
  } finally {
    await d.close();
  }
}

function httpsQuery(host: string, port: number, password: string, method: 'POST' | 'GET' = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        path: method === 'POST' ? '/db/neo4j/query/v2' : '/',
        method,
        rejectUnauthorized: false,
        headers: { host, 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`neo4j:${password}`).toString('base64')}` },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? JSON.stringify({ statement: 'MATCH (m:Marker) RETURN m.v AS v' }) : undefined);
  });
}

describe('TLS through the router', () => {
  let server: LifecycleServer;
  let token: string;
  let tlsPort: number;
  const undo = resolveDomainTo(DOMAIN, '127.0.0.1');
  before(async () => {
    const [first, last] = testPortRange(40).split('-').map(Number) as [number, number];
    tlsPort = last;
    server = await startLifecycleServer({
      healthIntervalMs: 3_600_000,
      dbPorts: `${first}-${last - 1}`,
      env: { ALLOTROPE_PUBLIC_HOST: DOMAIN, ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_PORT: String(tlsPort), ALLOTROPE_SWITCH_DRAIN_MS: '0' },
    });
    token = server.adminToken;
  });
  after(async () => {
    await server?.stop();
    undo();
  });

  it('routes by SNI on the shared port, takes TLS and plain on a database port, HTTPS, and follows a switch', async () => {
    const a = await createDatabaseAndWait(server, token, server.environmentId, 'alpha');
    const b = await createDatabaseAndWait(server, token, server.environmentId, 'beta');
    assert.equal(a.database.connectionUrls.neo4j, `neo4j+ssc://${a.database.id}.${DOMAIN}:${tlsPort}`);
    for (const [db, v] of [
      [a, 'alpha'],
      [b, 'beta'],
    ] as const) {
      const d = neo4j.driver(`bolt://127.0.0.1:${db.database.boltPort}`, neo4j.auth.basic('neo4j', db.password));
      await d.executeQuery('CREATE (:Marker {v: $v})', { v });
      await d.close();
    }
    for (const module of [neo4j, neo4j5 as unknown as typeof neo4j]) {
      assert.equal(await marker(module, a.database.connectionUrls.neo4j, a.password), 'alpha');
      assert.equal(await marker(module, b.database.connectionUrls.bolt, b.password), 'beta');
    }
    // A database's own port: TLS and plain side by side.
    assert.equal(await marker(neo4j, `bolt+ssc://127.0.0.1:${a.database.boltPort}`, a.password), 'alpha');
    assert.equal(await marker(neo4j, `bolt://127.0.0.1:${a.database.boltPort}`, a.password), 'alpha');
    // The Query API over HTTPS on the shared port, by server name.
    const res = await httpsQuery(`${b.database.id}.${DOMAIN}`, tlsPort, b.password);
    assert.equal(res.status, 202, res.body);
    assert.deepEqual(JSON.parse(res.body).data.values, [['beta']]);
    // Discovery over HTTPS on the shared port names the shared port for Bolt (where the node's own is loopback).
    const discovery = await httpsQuery(`${b.database.id}.${DOMAIN}`, tlsPort, b.password, 'GET');
    assert.equal(discovery.status, 200, discovery.body);
    const found = JSON.parse(discovery.body);
    assert.equal(found.bolt_routing, `neo4j://${b.database.id}.${DOMAIN}:${tlsPort}`);
    assert.equal(found.query, `https://${b.database.id}.${DOMAIN}/db/{databaseName}/query/v2`);

    // After a switch, alpha's TLS URL reaches beta (with beta's users).
    const sw = await server.request('PUT', `${DB}/${a.database.id}/connection-url/switch`, { token, body: { targetDatabaseId: b.database.id } });
    assert.equal(sw.status, 202, sw.text);
    assert.equal((await waitForOperation(server, token, a.database.id, sw.body.operationId)).status, 'finished');
    const bNow = (await server.request('GET', `${DB}/${b.database.id}`, { token })).body;
    assert.equal(bNow.connectionUrls.neo4j, a.database.connectionUrls.neo4j);
    assert.equal(await marker(neo4j, a.database.connectionUrls.neo4j, b.password), 'beta');
    assert.equal(await marker(neo4j5 as unknown as typeof neo4j, b.database.connectionUrls.neo4j, a.password), 'alpha');
  });
});
