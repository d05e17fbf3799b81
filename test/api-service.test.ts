// Service endpoints and the API's general rules (api.md §1, §7): health, readiness, metrics, OpenAPI 3.1,
// the HTML reference, request ids, error bodies for 404/413/500, Idempotency-Key, secret-free logs, and
// route plugins from other areas running behind the bearer check.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import type { ApiInstance } from '../src/api/types.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('service endpoints and general rules', () => {
  let server: TestServer;
  let admin: string;
  const logLines: string[] = [];
  let sideEffects = 0;
  const plugin = async (app: ApiInstance) => {
    app.get('/test/boom', { schema: { hide: true } as object }, async () => {
      throw new Error('secret internals: /etc/passwd');
    });
    app.get('/test/whoami', { schema: { hide: true, response: { 200: Type.Object({ role: Type.String(), organizationId: Type.String() }) } } as object }, async (request) => ({
      role: request.caller!.role,
      organizationId: request.caller!.organizationId,
    }));
    app.post('/test/effects', { schema: { hide: true, body: Type.Object({ n: Type.Integer() }) } as object }, async (_request, reply) => {
      sideEffects++;
      return reply.code(201).send({ count: sideEffects });
    });
  };

  before(async () => {
    const logStream = new Writable({
      write(chunk, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await startServer({ routes: [plugin], logStream, env: { ALLOTROPE_LOG_LEVEL: 'debug' } });
    admin = await server.token();
  });
  after(async () => server.stop());

  test('healthz and readyz answer without a token', async () => {
    assert.deepEqual((await server.request('GET', '/healthz')).body, { status: 'ok' });
    assert.deepEqual((await server.request('GET', '/readyz')).body, { status: 'ready' });
  });

  test('metrics count requests by route pattern', async () => {
    await server.request('GET', '/deployments/plans', { token: admin });
    const res = await server.request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(res.text, /allotrope_http_requests_total\{method="GET",route="\/deployments\/plans",status="200"\} \d+/);
    assert.match(res.text, /allotrope_http_request_duration_seconds_bucket/);
    assert.match(res.text, /process_cpu_user_seconds_total/);
  });

  test('openapi.json is OpenAPI 3.1 with a schema on every operation', async () => {
    const res = await server.request('GET', '/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.components.securitySchemes.bearerAuth);
    for (const p of ['/organizations/oauth/token', '/deployments/environments', '/deployments/environments/{id}', '/organizations/api-clients', '/deployments/plans']) {
      assert.ok(doc.paths[p], `path ${p}`);
    }
    assert.equal(doc.paths['/test/boom'], undefined, 'hidden test routes stay out');
    let operations = 0;
    for (const [path, item] of Object.entries<Record<string, { responses?: object; security?: unknown[] }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations++;
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
      }
    }
    assert.ok(operations >= 20, `${operations} operations`);
    assert.deepEqual(doc.paths['/organizations/oauth/token'].post.security, []);
    assert.ok(doc.paths['/organizations/oauth/token'].post.requestBody.content['application/json']);
  });

  test('docs is a self-contained HTML page listing the routes', async () => {
    const res = await server.request('GET', '/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.text, /<code>\/deployments\/environments\/\{id\}\/network-rules<\/code>/);
    assert.match(res.text, /POST<\/span> <code>\/organizations\/oauth\/token/);
    assert.doesNotMatch(res.text, /<script|src="http|href="http/);
  });

  test('every response carries X-Request-Id; a plain one from the client is kept', async () => {
    const res = await server.request('GET', '/healthz');
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    const mine = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-123' } });
    assert.equal(mine.headers.get('x-request-id'), 'trace-123');
    const odd = await server.request('GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(odd.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
  });

  test('an unknown route is a 404 with the contract body', async () => {
    const res = await server.request('GET', '/nope', { token: admin });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: 'no route GET /nope; see GET /docs' });
  });

  test('a body over the limit is 413', async () => {
    const res = await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'x'.repeat(server.config.bodyLimitBytes), type: 'staging' } });
    assert.equal(res.status, 413);
    assert.deepEqual(Object.keys(res.body), ['error']);
  });

  test('an unexpected error is a 500 naming only the request id, logged with the stack', async () => {
    const res = await server.request('GET', '/test/boom', { token: admin });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: `internal error ${res.headers.get('x-request-id')}` });
    assert.ok(logLines.some((l) => l.includes('secret internals') && l.includes(res.headers.get('x-request-id')!)));
  });

  test('route plugins run behind the bearer check with request.caller set', async () => {
    assert.equal((await server.request('GET', '/test/whoami')).status, 401);
    const res = await server.request('GET', '/test/whoami', { token: admin });
    assert.equal(res.status, 200);
    assert.equal(res.body.role, 'admin');
  });

  test('Idempotency-Key: a repeat replays the first answer; a different body with the same key is 409', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const first = await server.request('POST', '/test/effects', { token: admin, body: { n: 1 }, headers });
    assert.equal(first.status, 201);
    const again = await server.request('POST', '/test/effects', { token: admin, body: { n: 1 }, headers });
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(sideEffects, 1, 'the handler ran once');
    const other = await server.request('POST', '/test/effects', { token: admin, body: { n: 2 }, headers });
    assert.equal(other.status, 409);
    assert.match(other.body.error, /Idempotency-Key 'k-1'/);
    const before = sideEffects;
    const fresh = await server.request('POST', '/test/effects', { token: admin, body: { n: 2 }, headers: { 'idempotency-key': 'k-2' } });
    assert.equal(fresh.status, 201);
    assert.equal(sideEffects, before + 1);
    const env1 = await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'idem', type: 'staging' }, headers: { 'idempotency-key': 'env' } });
    const env2 = await server.request('POST', '/deployments/environments', { token: admin, body: { label: 'idem', type: 'staging' }, headers: { 'idempotency-key': 'env' } });
    assert.equal(env1.status, 201);
    assert.equal(env2.status, 201, 'not a 409 duplicate: the first answer is replayed');
    assert.equal(env2.body.id, env1.body.id);
  });

  test('Idempotency-Key: a replayed secret is stored neither in plain text nor under the plain key', async () => {
    const key = 'b0e5a0f4-6b7e-4a43-9c55-0f1b2d9b8e11';
    const opts = { token: admin, body: { name: 'idempotent client', environmentIds: [] }, headers: { 'idempotency-key': key } };
    const first = await server.request('POST', '/organizations/api-clients', opts);
    const again = await server.request('POST', '/organizations/api-clients', opts);
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.body.clientSecret, first.body.clientSecret);
    const rows = await server.running.store.db.selectFrom('idempotency_keys').selectAll().execute();
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(first.body.clientSecret), 'secret stored in plain text');
    assert.ok(!dump.includes(key), 'key stored in plain text');
  });

  test('form bodies are coerced to the schema (numbers); JSON bodies are not', async () => {
    const form = await server.request('POST', '/test/effects', { token: admin, form: { n: '3' } });
    assert.equal(form.status, 201, form.text);
    const json = await server.request('POST', '/test/effects', { token: admin, body: { n: '3' } });
    assert.equal(json.status, 400);
    assert.equal(json.body.error, "invalid field 'n': must be integer");
    const notNumber = await server.request('POST', '/test/effects', { token: admin, form: { n: 'three' } });
    assert.equal(notNumber.status, 400);
    assert.match(notNumber.body.error, /'n'/);
  });

  test('logs carry request ids and never a secret or token', async () => {
    const created = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'logged', environmentIds: [] } });
    const token = await server.token({ clientId: created.body.clientId, clientSecret: created.body.clientSecret });
    await server.request('GET', '/deployments/plans', { token });
    // Credentials in a query string (wrong, but it happens) are scrubbed from the request log too.
    await server.request('POST', `/organizations/oauth/token?client_id=${created.body.clientId}&client_secret=${created.body.clientSecret}`);
    await server.request('GET', `/healthz?client_id=${created.body.clientId}&client_secret=${created.body.clientSecret}`);
    const log = logLines.join('');
    // The token path's whole query is left out (GET takes the credentials there); elsewhere secret-looking parameters.
    assert.ok(log.includes('/organizations/oauth/token?[redacted]'), 'the token request line is logged without its query');
    assert.ok(log.includes('client_secret=[redacted]'), 'the request line is logged, scrubbed');
    assert.ok(log.includes('"reqId"'), 'request logs carry the id');
    for (const secret of [server.adminCredentials.clientSecret, created.body.clientSecret, token, admin]) {
      assert.ok(!log.includes(secret), 'a secret leaked into the log');
    }
  });
});
