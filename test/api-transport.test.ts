// How the API answers requests refused before they reach a route: a URL or headers over the HTTP
// parser's limit, an over-long path segment, a body in another charset, multipart where JSON is expected.
// Every one of them is the contract's `{"error": "..."}` body (api.md §1).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';

/** Sends raw bytes and reads the answer until the server closes (fetch would give up on a 431 mid-upload). */
async function rawRequest(url: string, request: string): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('close', () => resolve());
    socket.once('error', reject);
    socket.write(request);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(text.split(' ')[1]), headers: text.slice(0, split), body: text.slice(split + 4) };
}

describe('answers refused before routing follow the error contract', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startServer();
    token = await server.token();
  });
  after(async () => server?.stop());

  test('a URL longer than the parser takes is 414 with {"error"}', async () => {
    const res = await rawRequest(server.url, `GET /deployments/environments?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    assert.equal(res.status, 414, res.headers);
    assert.match(res.headers, /content-type: application\/json/i);
    assert.deepEqual(Object.keys(JSON.parse(res.body)), ['error']);
    assert.match(JSON.parse(res.body).error, /URL is longer/);
  });

  test('headers larger than the parser takes are 431 with {"error"}', async () => {
    const res = await rawRequest(server.url, `GET /deployments/environments HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    assert.equal(res.status, 431, res.headers);
    assert.deepEqual(JSON.parse(res.body), { error: 'the request line and headers are larger than 16384 bytes' });
  });

  test('a path segment over 100 characters is 414 with {"error"}', async () => {
    const res = await server.request('GET', `/deployments/environments/${'a'.repeat(200)}`, { token });
    assert.equal(res.status, 414);
    assert.deepEqual(res.body, { error: 'a path segment of the URL is longer than 100 characters' });
    assert.ok(res.headers.get('x-request-id'));
  });

  test('multipart/form-data on a JSON route is 415, not 400', async () => {
    const form = new FormData();
    form.append('label', 'multi');
    form.append('type', 'development');
    const res = await fetch(new URL('/deployments/environments', server.url), { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: string }).error, /does not take multipart\/form-data/);
  });

  test('a JSON or form body declared in a charset other than UTF-8 is 415 naming the charset', async () => {
    const utf16 = Buffer.from(JSON.stringify({ label: 'sixteen', type: 'development' }), 'utf16le');
    const json = await fetch(new URL('/deployments/environments', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-16' },
      body: utf16,
    });
    assert.equal(json.status, 415);
    assert.deepEqual(await json.json(), { error: "unsupported charset 'utf-16'; send the body in UTF-8" });
    const form = await server.request('POST', '/deployments/environments', {
      token,
      form: { label: 'latin', type: 'development' },
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' },
    });
    assert.equal(form.status, 415);
    assert.match(form.body.error, /charset 'ISO-8859-1'/);
    // UTF-8, however it is spelled, is accepted.
    const ok = await server.request('POST', '/deployments/environments', { token, body: { label: 'eight', type: 'development' }, headers: { 'content-type': 'application/json; charset="UTF-8"' } });
    assert.equal(ok.status, 201, ok.text);
  });
});
