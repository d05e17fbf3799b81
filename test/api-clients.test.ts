// API clients (api.md §6): create with the secret shown once, list, patch, refresh the secret, delete.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

describe('API clients', () => {
  let server: TestServer;
  let admin: string;
  let envId: string;
  before(async () => {
    server = await startServer();
    admin = await server.token();
    envId = (await server.request('GET', '/deployments/environments', { token: admin })).body[0].id;
  });
  after(async () => server.stop());

  test('creates an operator by default; the secret appears only in the creation answer', async () => {
    const res = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'deployer', environmentIds: [envId] } });
    assert.equal(res.status, 201);
    assert.equal(res.body.role, 'operator');
    assert.deepEqual(res.body.environmentIds, [envId]);
    assert.match(res.body.clientId, /^[0-9a-f]{32}$/);
    assert.ok(Buffer.from(res.body.clientSecret, 'base64url').length >= 32, 'at least 32 bytes of entropy');
    assert.equal(res.body.lastUsedAt, null);
    const list = await server.request('GET', '/organizations/api-clients', { token: admin });
    assert.equal(list.status, 200);
    const listed = list.body.find((c: { id: string }) => c.id === res.body.id);
    assert.deepEqual(Object.keys(listed).sort(), ['clientId', 'createdAt', 'environmentIds', 'id', 'lastUsedAt', 'name', 'role']);
    assert.ok(!list.text.includes(res.body.clientSecret));
    const stored = await server.running.store.db.selectFrom('api_clients').select('secret_hash').where('id', '=', res.body.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.secret_hash, res.body.clientSecret, 'stored as a hash');
    assert.match(stored.secret_hash, /^[0-9a-f]{64}$/);
    await server.token({ clientId: res.body.clientId, clientSecret: res.body.clientSecret });
    const after = await server.request('GET', `/organizations/api-clients/${res.body.id}`, { token: admin });
    assert.notEqual(after.body.lastUsedAt, null, 'a token request marks the client used');
  });

  test('takes form-encoded lists as repeated keys (and a single key as a one-item list)', async () => {
    const second = (await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'second', type: 'staging' } })).body.id;
    const two = await server.request('POST', '/organizations/api-clients', { token: admin, form: { name: 'formy', role: 'read-operator', environmentIds: [envId, second] } });
    assert.equal(two.status, 201, two.text);
    assert.deepEqual([...two.body.environmentIds].sort(), [envId, second].sort());
    const one = await server.request('POST', '/organizations/api-clients', { token: admin, form: { name: 'single', environmentIds: envId } });
    assert.equal(one.status, 201, one.text);
    assert.deepEqual(one.body.environmentIds, [envId]);
    const none = await server.request('POST', '/organizations/api-clients', { token: admin, form: { name: 'no envs', role: 'admin', environmentIds: '' } });
    assert.equal(none.status, 201, none.text);
    assert.deepEqual(none.body.environmentIds, []);
  });

  test('refuses unknown roles and environments, naming the field', async () => {
    const role = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'x', role: 'owner', environmentIds: [] } });
    assert.equal(role.status, 400);
    assert.match(role.body.error, /'role'/);
    const env = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'x', environmentIds: ['0'.repeat(32)] } });
    assert.equal(env.status, 400);
    assert.match(env.body.error, /environment '0{32}' does not exist/);
    const missing = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'x' } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, "missing required field 'environmentIds'");
  });

  test('patching environments changes what live tokens of an operator can see', async () => {
    const created = (await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'mover', environmentIds: [] } })).body;
    const token = await server.token({ clientId: created.clientId, clientSecret: created.clientSecret });
    assert.deepEqual((await server.request('GET', '/deployments/environments', { token })).body, []);
    const patched = await server.request('PATCH', `/organizations/api-clients/${created.id}`, { token: admin, body: { name: 'moved', environmentIds: [envId] } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'moved');
    assert.deepEqual(patched.body.environmentIds, [envId]);
    const now = await server.request('GET', '/deployments/environments', { token });
    assert.deepEqual(now.body.map((e: { id: string }) => e.id), [envId]);
  });

  test('deleting an environment removes it from clients', async () => {
    const env = (await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'short-lived', type: 'development' } })).body.id;
    const c = (await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'temp', environmentIds: [env] } })).body;
    assert.equal((await server.request('DELETE', `/deployments/environments/${env}`, { token: admin })).status, 204);
    assert.deepEqual((await server.request('GET', `/organizations/api-clients/${c.id}`, { token: admin })).body.environmentIds, []);
  });

  test('an empty body labelled JSON is no body (refresh the secret with a bare curl -X POST)', async () => {
    const c = (await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'bare', environmentIds: [] } })).body;
    const res = await server.request('POST', `/organizations/api-clients/${c.id}/secret`, { token: admin, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, res.text);
    assert.notEqual(res.body.clientSecret, c.clientSecret);
  });

  test('unknown client ids are 404', async () => {
    for (const id of ['0'.repeat(32), 'not-an-id']) {
      const res = await server.request('DELETE', `/organizations/api-clients/${id}`, { token: admin });
      assert.equal(res.status, 404);
      assert.match(res.body.error, /API client/);
    }
  });
});
