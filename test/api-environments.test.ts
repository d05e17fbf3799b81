// Environments and network rules over HTTP (api.md §4), with the general rules of §1 they exercise:
// validation errors naming the field, form bodies, dashed ids, RFC 7231 dates, pagination.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type ApiResponse, type TestServer } from './helpers/server.js';

const RFC7231 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

describe('environments', () => {
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startServer();
    admin = await server.token();
  });
  after(async () => server.stop());

  test('the bootstrap environment is development, green, in the default region', async () => {
    const res = await server.request('GET', '/deployments/environments', { token: admin });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 1);
    const env = res.body[0];
    assert.equal(env.label, 'development');
    assert.equal(env.type, 'development');
    assert.equal(env.color, 'green');
    assert.equal(env.region, 'local');
    assert.match(env.id, /^[0-9a-f]{32}$/);
    assert.match(env.createdAt, RFC7231);
    assert.deepEqual(env.networkRules, []);
  });

  test('create, read (dashed id too), patch and delete', async () => {
    const created = await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'Staging', type: 'staging', region: 'local', cidr: '10.20.30.40/16' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.color, 'yellow');
    assert.equal(created.body.cidr, '10.20.0.0/16');
    const id: string = created.body.id;
    const dashed = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`.toUpperCase();
    const got = await server.request('GET', `/deployments/environments/${dashed}`, { token: admin });
    assert.equal(got.status, 200);
    assert.equal(got.body.id, id);

    const patched = await server.request('PATCH', `/deployments/environments/${id}`, { token: admin, body: { type: 'production', label: 'Prod' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.color, 'red');
    assert.equal(patched.body.label, 'Prod');
    const region = await server.request('PATCH', `/deployments/environments/${id}`, { token: admin, body: { region: 'elsewhere' } });
    assert.equal(region.status, 400);
    assert.equal(region.body.error, "unknown field 'region'");

    const dup = await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'Prod', type: 'staging' } });
    assert.equal(dup.status, 409);

    assert.equal((await server.request('DELETE', `/deployments/environments/${id}`, { token: admin })).status, 204);
    const gone = await server.request('GET', `/deployments/environments/${id}`, { token: admin });
    assert.equal(gone.status, 404);
    assert.match(gone.body.error, /environment '.*' does not exist/);
  });

  test('accepts a form-encoded body', async () => {
    const res = await server.request('POST', '/deployments/environments', { token: admin, form: { label: 'formed', type: 'development' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.label, 'formed');
  });

  test('validation errors are 400 and name the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ type: 'staging' }, /^missing required field 'label'$/],
      [{ label: 'a', type: 'purple' }, /^invalid field 'type': must be one of development, staging, production$/],
      [{ label: 7, type: 'staging' }, /^invalid field 'label'/],
      [{ label: 'a', type: 'staging', colour: 'red' }, /^unknown field 'colour'$/],
      [{ label: 'a', type: 'staging', region: 'mars' }, /region 'mars' does not exist/],
      [{ label: 'a', type: 'staging', cidr: '10.0.0.0/33' }, /cidr '10.0.0.0\/33' is not/],
      [[1, 2], /request body/],
    ];
    for (const [body, message] of cases) {
      const res = await server.request('POST', '/deployments/environments', { token: admin, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.match(res.body.error, message, JSON.stringify(body));
    }
    const malformed = await server.request('POST', '/deployments/environments', { token: admin, body: '{"label": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'request body is not valid JSON');
    const badQuery = await server.request('GET', '/deployments/environments?limit=5000', { token: admin });
    assert.equal(badQuery.status, 400);
    assert.match(badQuery.body.error, /query parameter 'limit'/);
  });

  test('another content type is 415', async () => {
    const res = await server.request('POST', '/deployments/environments', { token: admin, body: 'label=x', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 415);
    assert.match(res.body.error, /unsupported content type/);
    const xml = await server.request('POST', '/deployments/environments', { token: admin, body: '<x/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(xml.status, 415);
  });

  test('network rules: IPv4 and IPv6 CIDR, canonicalised; bad ranges named; delete', async () => {
    const env = (await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'ruled', type: 'staging' } })).body;
    const path = `/deployments/environments/${env.id}/network-rules`;
    const v4 = await server.request('POST', path, { token: admin, body: { label: 'office', ipRange: '192.168.1.77/24' } });
    assert.equal(v4.status, 201);
    assert.equal(v4.body.ipRange, '192.168.1.0/24');
    assert.match(v4.body.createdAt, RFC7231);
    const v6 = await server.request('POST', path, { token: admin, form: { label: 'v6', ipRange: '2001:DB8:0:0:1::5/64' } });
    assert.equal(v6.status, 201);
    assert.equal(v6.body.ipRange, '2001:db8::/64');
    const host = await server.request('POST', path, { token: admin, body: { label: 'one host', ipRange: '203.0.113.9' } });
    assert.equal(host.body.ipRange, '203.0.113.9/32');
    for (const bad of ['300.1.1.1/8', '10.0.0.0/40', '2001:db8::/129', 'example.com', '10.0.0.0/']) {
      const res = await server.request('POST', path, { token: admin, body: { label: 'bad', ipRange: bad } });
      assert.equal(res.status, 400, bad);
      assert.match(res.body.error, /ipRange/);
    }
    const list = await server.request('GET', path, { token: admin });
    assert.deepEqual(list.body.map((r: { ipRange: string }) => r.ipRange), ['192.168.1.0/24', '2001:db8::/64', '203.0.113.9/32']);
    const withRules = await server.request('GET', `/deployments/environments/${env.id}`, { token: admin });
    assert.equal(withRules.body.networkRules.length, 3);
    assert.equal((await server.request('DELETE', `${path}/${v4.body.id}`, { token: admin })).status, 204);
    assert.equal((await server.request('DELETE', `${path}/${v4.body.id}`, { token: admin })).status, 404);
    assert.equal((await server.request('GET', path, { token: admin })).body.length, 2);
  });

  test('pagination: limit, after and a Link to the next page', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await server.request('POST', '/deployments/environments', { token: admin, body: { label: `page-${i}`, type: 'development' } })).status, 201);
    }
    const all = (await server.request('GET', '/deployments/environments?limit=1000', { token: admin })).body.map((e: { id: string }) => e.id);
    assert.ok(all.length >= 6);
    assert.deepEqual([...all].sort(), all, 'ordered by id');
    const seen: string[] = [];
    let next: string | null = '/deployments/environments?limit=2';
    let pages = 0;
    while (next) {
      const res: ApiResponse = await server.request('GET', next, { token: admin });
      assert.equal(res.status, 200);
      assert.ok(res.body.length <= 2);
      seen.push(...res.body.map((e: { id: string }) => e.id));
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      pages++;
    }
    assert.deepEqual(seen, all);
    assert.equal(pages, Math.ceil(all.length / 2));
    const exact = await server.request('GET', `/deployments/environments?limit=${all.length}`, { token: admin });
    assert.equal(exact.headers.get('link'), null, 'no Link when nothing remains');
  });
});
