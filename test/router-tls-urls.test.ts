// connectionUrls with and without router TLS: the builder on its own, the configuration that turns it on
// (ALLOTROPE_ROUTER_TLS*, errors naming the setting), and the Database JSON a real API process returns
// when router TLS is configured (a real graph-server is provisioned behind it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { connectionUrls, routerTlsEndpoint } from '../src/domain/connection-urls.js';
import { routerTlsOptions } from '../src/router/tls.js';
import { createDatabaseAndWait, startLifecycleServer, type LifecycleServer } from './helpers/lifecycle.js';

const ID = '822b16bb0c0d4631ae30719cab74c352';
const row = { id: ID, domain_name: 'db.example.org', bolt_port: 24787, http_port: 24780 };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no ConfigError');
}

describe('connectionUrls', () => {
  test('without router TLS: the per-database plain ports, as before', () => {
    assert.deepEqual(connectionUrls(row, null), {
      bolt: 'bolt://db.example.org:24787',
      neo4j: 'neo4j://db.example.org:24787',
      http: 'http://db.example.org:24780',
      browser: 'http://db.example.org:24780/browser/?dbms=bolt://db.example.org:24787',
    });
  });

  test('with a configured certificate: +s URLs on the shared port by <id>.<publicHost>', () => {
    assert.deepEqual(connectionUrls(row, { publicHost: 'db.example.org', port: 7687, selfSigned: false }), {
      bolt: `bolt+s://${ID}.db.example.org`,
      neo4j: `neo4j+s://${ID}.db.example.org`,
      http: `https://${ID}.db.example.org:7687`,
      browser: `https://${ID}.db.example.org:7687/browser/?dbms=neo4j+s://${ID}.db.example.org:7687`,
    });
    const on443 = connectionUrls(row, { publicHost: 'DB.Example.org', port: 443, selfSigned: false });
    assert.equal(on443.neo4j, `neo4j+s://${ID}.db.example.org:443`);
    assert.equal(on443.http, `https://${ID}.db.example.org`);
  });

  test('with the self-signed certificate: +ssc URLs', () => {
    const urls = connectionUrls(row, { publicHost: 'localhost', port: 17687, selfSigned: true });
    assert.equal(urls.bolt, `bolt+ssc://${ID}.localhost:17687`);
    assert.equal(urls.neo4j, `neo4j+ssc://${ID}.localhost:17687`);
    assert.equal(urls.http, `https://${ID}.localhost:17687`);
  });

  test('a stored domain name of the form <id>.<publicHost> is kept (it moves with a connection-URL switch)', () => {
    const other = 'aaaabbbbccccddddeeeeffff00001111';
    const urls = connectionUrls({ ...row, domain_name: `${other}.db.example.org` }, { publicHost: 'db.example.org', port: 7687, selfSigned: false });
    assert.equal(urls.bolt, `bolt+s://${other}.db.example.org`);
  });
});

describe('router TLS configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allotrope-router-tls-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('off by default; self-signed keeps its files in the data dir; files alone mean certificate mode', () => {
    const off = loadConfig({ env: {}, cwd: dir });
    assert.deepEqual(off.routerTls, { mode: 'off', cert: null, key: null, port: 7687, handshakeTimeoutMs: 10_000 });
    assert.equal(routerTlsOptions(off), null);
    assert.equal(routerTlsEndpoint(off), null);

    const ss = loadConfig({ env: { ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_PUBLIC_HOST: 'graphs.example.org', ALLOTROPE_DATA_DIR: 'd' }, cwd: dir });
    assert.deepEqual(routerTlsOptions(ss), { selfSigned: { dir: join(dir, 'd', 'router-tls'), hosts: ['graphs.example.org'] }, handshakeTimeoutMs: 10_000 });
    assert.deepEqual(routerTlsEndpoint(ss), { publicHost: 'graphs.example.org', port: 7687, selfSigned: true });

    const files = loadConfig({ env: { ALLOTROPE_ROUTER_TLS_CERT: 'r.pem', ALLOTROPE_ROUTER_TLS_KEY: 'r.key', ALLOTROPE_ROUTER_TLS_PORT: '443' }, cwd: dir });
    assert.deepEqual(files.routerTls, { mode: 'certificate', cert: join(dir, 'r.pem'), key: join(dir, 'r.key'), port: 443, handshakeTimeoutMs: 10_000 });
    assert.deepEqual(routerTlsOptions(files), { certFile: join(dir, 'r.pem'), keyFile: join(dir, 'r.key'), handshakeTimeoutMs: 10_000 });

    // certificate mode without its own files takes the API's.
    const shared = loadConfig({ env: { ALLOTROPE_ROUTER_TLS: 'certificate', ALLOTROPE_TLS_CERT: 'api.pem', ALLOTROPE_TLS_KEY: 'api.key' }, cwd: dir });
    assert.equal(shared.routerTls.cert, join(dir, 'api.pem'));
    assert.equal(shared.routerTls.key, join(dir, 'api.key'));
  });

  test('bad values stop start-up naming the setting', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ ALLOTROPE_ROUTER_TLS: 'maybe' }, /^ALLOTROPE_ROUTER_TLS \(routerTls\.mode\): "maybe" is not one of off, self-signed, certificate$/],
      [{ ALLOTROPE_ROUTER_TLS: 'certificate' }, /^ALLOTROPE_ROUTER_TLS \(routerTls\.mode\): 'certificate' needs ALLOTROPE_ROUTER_TLS_CERT/],
      [{ ALLOTROPE_ROUTER_TLS_CERT: 'r.pem' }, /^ALLOTROPE_ROUTER_TLS_KEY: must be set together with ALLOTROPE_ROUTER_TLS_CERT$/],
      [{ ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_PORT: '70000' }, /^ALLOTROPE_ROUTER_TLS_PORT \(routerTls\.port\): must be a whole number from 1 to 65535/],
      [{ ALLOTROPE_ROUTER_TLS_PORT: 'x' }, /^ALLOTROPE_ROUTER_TLS_PORT: 'x' is not a whole number/],
      [{ ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_PORT: '8080' }, /^ALLOTROPE_ROUTER_TLS_PORT \(routerTls\.port\): 8080 is the API port$/],
      [{ ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_PORT: '24800' }, /^ALLOTROPE_ROUTER_TLS_PORT \(routerTls\.port\): 24800 lies in the database port range 24780-24979$/],
      [{ ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_HANDSHAKE_TIMEOUT_MS: '5' }, /^ALLOTROPE_ROUTER_TLS_HANDSHAKE_TIMEOUT_MS \(routerTls\.handshakeTimeoutMs\): must be a whole number from 100 to 120000/],
    ];
    for (const [env, message] of cases) assert.match(configError(() => loadConfig({ env, cwd: dir })), message, JSON.stringify(env));
  });
});

describe('Database JSON with router TLS configured', () => {
  let server: LifecycleServer;
  before(async () => {
    server = await startLifecycleServer({ env: { ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_PUBLIC_HOST: 'allotrope.test', ALLOTROPE_ROUTER_TLS_PORT: '17687' } });
  });
  after(async () => {
    await server?.stop();
  });

  test('create and get name the TLS URLs; domainName and the plain ports stay', async () => {
    const { database } = await createDatabaseAndWait(server, server.adminToken, server.environmentId, 'tls-urls');
    const id = database.id as string;
    const expected = {
      bolt: `bolt+ssc://${id}.allotrope.test:17687`,
      neo4j: `neo4j+ssc://${id}.allotrope.test:17687`,
      http: `https://${id}.allotrope.test:17687`,
      browser: `https://${id}.allotrope.test:17687/browser/?dbms=neo4j+s://${id}.allotrope.test:17687`,
    };
    assert.deepEqual(database.connectionUrls, expected);
    const got = await server.request('GET', `/deployments/databases/graphneo/${id}`, { token: server.adminToken });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.connectionUrls, expected);
    assert.equal(got.body.domainName, 'allotrope.test');
    assert.equal(typeof got.body.boltPort, 'number');
    assert.equal(typeof got.body.httpPort, 'number');
    const list = await server.request('GET', '/deployments/databases/graphneo', { token: server.adminToken });
    assert.deepEqual(list.body.find((d: { id: string }) => d.id === id).connectionUrls, expected);
  });
});
