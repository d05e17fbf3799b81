// Names, labels and descriptions refuse control characters (C0/C1: NUL, CR, LF, TAB, NEL, …) and
// bidirectional overrides/isolates with 400 naming the field, in JSON and in form-encoded bodies.
// The refusals come from the schemas, so no database needs to exist (nor is any process started).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DB, startBackupsServer, type BackupsServer } from './helpers/backups.js';

const BAD = {
  NUL: 'a\u0000b',
  LF: 'a\nb',
  CR: 'a\rb',
  TAB: 'a\tb',
  DEL: 'a\u007fb',
  NEL: 'a\u0085b',
  RLO: 'report\u202Etxt.exe',
  LRI: 'a\u2066b',
  PDI: 'a\u2069b',
};

describe('free-text fields refuse control and bidi-override characters', () => {
  let server: BackupsServer;
  let token: string;
  let envId: string;
  let clientId: string;
  const some = '0123456789abcdef0123456789abcdef';

  before(async () => {
    server = await startBackupsServer();
    token = server.adminToken;
    envId = server.environmentId;
    const client = await server.request('POST', '/organizations/api-clients', { token, body: { name: 'plain', environmentIds: [envId] } });
    assert.equal(client.status, 201, client.text);
    clientId = client.body.id;
  });
  after(async () => server?.stop());

  // [method, path, body builder, field as named in the error]
  const cases: [string, () => string, (v: string) => Record<string, unknown>, string][] = [
    ['POST', () => '/deployments/environments', (v) => ({ label: v, type: 'development' }), 'label'],
    ['PATCH', () => `/deployments/environments/${envId}`, (v) => ({ label: v }), 'label'],
    ['POST', () => `/deployments/environments/${envId}/network-rules`, (v) => ({ label: v, ipRange: '10.0.0.0/8' }), 'label'],
    ['POST', () => '/organizations/api-clients', (v) => ({ name: v, environmentIds: [] }), 'name'],
    ['PATCH', () => `/organizations/api-clients/${clientId}`, (v) => ({ name: v }), 'name'],
    ['POST', () => DB, (v) => ({ environmentId: envId, name: v, plan: 'ds1' }), 'name'],
    ['PATCH', () => `${DB}/${some}`, (v) => ({ name: v }), 'name'],
    ['POST', () => `${DB}/${some}/clone`, (v) => ({ name: v }), 'name'],
    ['POST', () => `${DB}/${some}/users`, (v) => ({ username: v }), 'username'],
    ['POST', () => `${DB}/${some}/users`, (v) => ({ description: v }), 'description'],
    ['POST', () => `${DB}/${some}/snapshots`, (v) => ({ label: v }), 'label'],
  ];

  test('every name, label and description field answers 400 naming the field, for each kind of character', async () => {
    for (const [method, path, body, field] of cases) {
      for (const [what, value] of Object.entries(BAD)) {
        const res = await server.request(method, path(), { token, body: body(value) });
        assert.equal(res.status, 400, `${method} ${path()} ${field} with ${what}: ${res.text}`);
        assert.deepEqual(Object.keys(res.body), ['error']);
        assert.match(res.body.error, new RegExp(`field '${field}': must not contain control characters`), `${method} ${path()} ${what}`);
      }
    }
  });

  test('form-encoded bodies are held to the same rule', async () => {
    const res = await server.request('POST', '/deployments/environments', { token, form: { label: 'evil\r\nX-Injected: 1', type: 'development' } });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /field 'label': must not contain control characters/);
  });

  test('ordinary text, accents and other scripts are still accepted; nothing was created by the refusals', async () => {
    const ok = await server.request('POST', '/deployments/environments', { token, body: { label: 'Équipe données – 東京', type: 'development' } });
    assert.equal(ok.status, 201, ok.text);
    const envs = await server.request('GET', '/deployments/environments', { token });
    assert.deepEqual(envs.body.map((e: { label: string }) => e.label).sort(), ['development', 'Équipe données – 東京'].sort());
  });
});
