// Compatibility with the reference's wording: the token call as a GET with the fields in the query string
// (which is then never logged), and the older `/databases…` paths as aliases of the graphneo routes,
// against a real server with real graph-server processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { DB, operationFinished, startBackupsServer, type BackupsServer } from './helpers/backups.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('GET /organizations/oauth/token', () => {
  let server: TestServer;
  const lines: string[] = [];
  before(async () => {
    const logStream = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    server = await startServer({ logStream, env: { ALLOTROPE_LOG_LEVEL: 'info' } });
  });
  after(async () => server?.stop());

  it('grants a token for the fields as query parameters, refuses wrong ones, and logs no part of the query', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    lines.length = 0; // (the bootstrap line names the client id)
    const q = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    const ok = await server.request('GET', `/organizations/oauth/token?${q}`);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.token_type, 'Bearer');
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    const envs = await server.request('GET', '/deployments/environments', { token: ok.body.access_token });
    assert.equal(envs.status, 200);

    const wrong = await server.request('GET', `/organizations/oauth/token?client_id=${clientId}&client_secret=nope`);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: 'invalid_client' });
    const grant = await server.request('GET', `/organizations/oauth/token?client_id=${clientId}&client_secret=x&grant_type=password`);
    assert.equal(grant.status, 400);
    assert.deepEqual(grant.body, { error: 'unsupported_grant_type' });
    const unknown = await server.request('GET', `/organizations/oauth/token?client_id=a&client_secret=b&color=red`);
    assert.equal(unknown.status, 401, 'unknown credentials are refused whatever else the query holds');

    const log = lines.join('');
    assert.match(log, /oauth\/token\?\[redacted\]/);
    assert.ok(!log.includes(clientSecret), 'the secret is not logged');
    assert.ok(!log.includes(clientId), 'the client id is not logged either');
    assert.ok(!log.includes('grant_type'), 'no part of the query string is logged');
  });

  it('is documented, with the risk of secrets in URLs', async () => {
    const doc = (await server.request('GET', '/openapi.json')).body;
    const get = doc.paths['/organizations/oauth/token'].get;
    assert.deepEqual(get.parameters.map((p: any) => p.name).sort(), ['client_id', 'client_secret', 'grant_type', 'scope']);
    assert.match(get.description, /logs/);
  });
});

describe("the reference's older /databases paths", () => {
  let server: BackupsServer;
  let token: string;
  before(async () => {
    server = await startBackupsServer();
    token = server.adminToken;
  });
  after(async () => server?.stop());

  it('create, list, get, restart and backups/latest answer as their graphneo routes', async () => {
    const created = await server.request('POST', '/databases', { token, body: { environmentId: server.environmentId, name: 'legacy', plan: 'ds2', version: '5.26-grafeo' } });
    assert.equal(created.status, 202, created.text);
    const id = created.body.database.id;
    await operationFinished(server, token, id, created.body.operationId);

    const list = await server.request('GET', '/databases?limit=10', { token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((d: any) => d.id), [id]);
    const got = await server.request('GET', `/databases/${id}`, { token });
    const canonical = await server.request('GET', `${DB}/${id}`, { token });
    assert.deepEqual(got.body, canonical.body);

    const none = await server.request('GET', `/databases/${id}/backups/latest`, { token });
    assert.equal(none.status, 404);
    assert.ok(none.body.error);
    const snap = await server.request('POST', `${DB}/${id}/snapshots`, { token, body: { label: 'nightly' } });
    assert.equal(snap.status, 202, snap.text);
    await operationFinished(server, token, id, snap.body.operationId);
    const latest = await server.request('GET', `/databases/${id}/backups/latest`, { token });
    assert.equal(latest.status, 200, latest.text);
    assert.equal(latest.body.id, snap.body.snapshot.id);
    assert.equal(latest.body.label, 'nightly');

    const restart = await server.request('PUT', `/databases/${id}/restart`, { token });
    assert.equal(restart.status, 202, restart.text);
    await operationFinished(server, token, id, restart.body.operationId);
    const post = await server.request('POST', `/databases/${id}/restart`, { token, body: {} });
    assert.equal(post.status, 202, post.text);
    await operationFinished(server, token, id, post.body.operationId);

    // Authorization is the route's: no token, 401; other paths under /databases are not routes.
    assert.equal((await server.request('GET', `/databases/${id}`)).status, 401);
    assert.equal((await server.request('GET', `/databases/${id}/snapshots`, { token })).status, 404);
    const del = await server.request('DELETE', `/databases/${id}`, { token });
    assert.equal(del.status, 202, del.text);
    await operationFinished(server, token, id, del.body.operationId);
  });

  it('are in the OpenAPI document as deprecated aliases without the vendor parameter', async () => {
    const doc = (await server.request('GET', '/openapi.json')).body;
    for (const path of ['/databases', '/databases/{id}', '/databases/{id}/restart', '/databases/{id}/backups/latest']) {
      const item = doc.paths[path];
      assert.ok(item, path);
      for (const op of Object.values<any>(item)) {
        assert.equal(op.deprecated, true);
        assert.ok(!op.parameters.some((p: any) => p.name === 'vendor'), path);
      }
    }
    assert.ok(doc.paths['/databases/{id}/restart'].post && doc.paths['/databases/{id}/restart'].put);
  });
});
