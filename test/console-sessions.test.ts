// Console sessions against a real in-process API with a manual clock: idle expiry and the 12-hour limit,
// the owner account created once, sign-out needing the CSRF token, the sign-in rate limit, the static
// files (only the console's own, with a strict CSP) and the idle setting's validation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { ManualClock } from '../src/clock.js';
import { consoleCredentialsPath } from '../src/server/serve.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('console sessions', () => {
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  let server: TestServer;
  let password = '';

  before(async () => {
    server = await startServer({ clock, env: { ALLOTROPE_CONSOLE_IDLE_MINUTES: '5' } });
    password = /^ALLOTROPE_CONSOLE_PASSWORD=(.*)$/m.exec(readFileSync(consoleCredentialsPath(server.dataDir), 'utf8'))![1]!;
  });
  after(() => server?.stop());

  const signIn = async () => {
    const res = await server.request<{ csrfToken: string; idleMinutes: number }>('POST', '/console/api/session', { body: { username: 'owner', password } });
    assert.equal(res.status, 201, res.text);
    return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: res.body.csrfToken, idleMinutes: res.body.idleMinutes };
  };
  const get = (s: { cookie: string; csrf: string }, path = '/deployments/environments') => server.request('GET', path, { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });

  it('ends a session after the idle time, and each request restarts that time', async () => {
    const s = await signIn();
    assert.equal(s.idleMinutes, 5);
    clock.advance(4 * 60_000);
    assert.equal((await get(s)).status, 200);
    clock.advance(4 * 60_000);
    assert.equal((await get(s)).status, 200, 'used 4 minutes ago: still alive');
    clock.advance(5 * 60_000 + 1000);
    const expired = await get(s);
    assert.equal(expired.status, 401);
    assert.match(expired.body.error, /expired/);
    clock.advance(1000);
    assert.equal((await get(s)).status, 401, 'an expired session stays ended');
  });

  it('ends a session after 12 hours however busy', async () => {
    const s = await signIn();
    for (let i = 0; i <= 12 * 15; i++) {
      clock.advance(4 * 60_000);
      if ((await get(s)).status !== 200) break;
    }
    assert.equal((await get(s)).status, 401);
  });

  it('acts as the owner in the organization: the session sees and creates what the admin client sees', async () => {
    const s = await signIn();
    const token = await server.token();
    const viaToken = await server.request('GET', '/organizations/api-clients', { token });
    const viaSession = await get(s, '/organizations/api-clients');
    assert.equal(viaSession.status, 200);
    assert.deepEqual(viaSession.body, viaToken.body);
    const created = await server.request('POST', '/deployments/environments', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, body: { label: 'from-console', type: 'staging' } });
    assert.equal(created.status, 201, created.text);
    // The session's owner role acts on the owner's organization only: a session is no way around the scoping.
    assert.equal(created.body.organizationId, server.running.bootstrap!.organization.id);
  });

  it('signs out only with the CSRF token', async () => {
    const s = await signIn();
    const refused = await server.request('DELETE', '/console/api/session', { headers: { cookie: s.cookie } });
    assert.equal(refused.status, 403);
    assert.equal((await get(s)).status, 200, 'still signed in');
    const out = await server.request('DELETE', '/console/api/session', { headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    assert.equal((await get(s)).status, 401);
    assert.equal((await server.request('GET', '/console/api/session', { headers: { cookie: s.cookie } })).status, 401);
  });

  it('limits failed sign-ins per address', async () => {
    const attempts = [];
    for (let i = 0; i < 11; i++) attempts.push((await server.request('POST', '/console/api/session', { body: { username: 'owner', password: 'guess' + i } })).status);
    assert.deepEqual(attempts.slice(0, 10), Array(10).fill(401));
    assert.equal(attempts[10], 429);
    clock.advance(61_000);
    assert.equal((await server.request('POST', '/console/api/session', { body: { username: 'nobody', password: 'x' } })).status, 401);
  });

  it('serves the console files, and only them, with a strict CSP', async () => {
    const index = await server.request('GET', '/console');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /text\/html/);
    assert.match(index.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.equal(index.headers.get('x-frame-options'), 'DENY');
    assert.equal((await server.request('GET', '/console/')).status, 200);
    const app = await server.request('GET', '/console/app.js');
    assert.match(app.headers.get('content-type')!, /text\/javascript/);
    for (const path of ['/console/nothing.js', '/console/..%2fpackage.json', '/console/%2e%2e/package.json']) {
      const res = await server.request('GET', path);
      assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
      assert.ok(!res.text.includes('"dependencies"'));
    }
  });

  it('creates the owner account once', async () => {
    const again = await startServer({ dataDir: server.dataDir, clock });
    try {
      const text = readFileSync(consoleCredentialsPath(server.dataDir), 'utf8');
      assert.ok(text.includes(password), 'the file was not rewritten with a new password');
      const res = await again.request('POST', '/console/api/session', { body: { username: 'owner', password } });
      assert.equal(res.status, 201);
    } finally {
      await again.stop();
    }
  });
});

describe('console.idleMinutes', () => {
  it('takes ALLOTROPE_CONSOLE_IDLE_MINUTES and refuses nonsense naming the setting', () => {
    assert.equal(loadConfig({ env: {} }).console.idleMinutes, 30);
    assert.equal(loadConfig({ env: { ALLOTROPE_CONSOLE_IDLE_MINUTES: '45' } }).console.idleMinutes, 45);
    assert.throws(() => loadConfig({ env: { ALLOTROPE_CONSOLE_IDLE_MINUTES: '0' } }), (err: Error) => err instanceof ConfigError && /ALLOTROPE_CONSOLE_IDLE_MINUTES/.test(err.message));
    assert.throws(() => loadConfig({ env: { ALLOTROPE_CONSOLE_IDLE_MINUTES: 'soon' } }), (err: Error) => err instanceof ConfigError && /ALLOTROPE_CONSOLE_IDLE_MINUTES/.test(err.message));
  });
});

/** One HTTPS request trusting only `ca`. */
function httpsCall(url: string, ca: Buffer, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('console sessions under TLS', () => {
  it('use a __Host- cookie marked Secure, and not the plain-HTTP name', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'allotrope-console-tls-'));
    try {
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
      if (made.status !== 0) return t.skip('openssl is not available to make a test certificate');
      const server = await startServer({ env: { ALLOTROPE_TLS_CERT: join(dir, 'cert.pem'), ALLOTROPE_TLS_KEY: join(dir, 'key.pem') } });
      try {
        const ca = readFileSync(join(dir, 'cert.pem'));
        const password = /^ALLOTROPE_CONSOLE_PASSWORD=(.*)$/m.exec(readFileSync(consoleCredentialsPath(server.dataDir), 'utf8'))![1]!;
        const res = await httpsCall(`${server.url}/console/api/session`, ca, 'POST', { 'content-type': 'application/json' }, JSON.stringify({ username: 'owner', password }));
        assert.equal(res.status, 201, res.body);
        const cookie = String(res.headers['set-cookie']);
        assert.match(cookie, /^__Host-allotrope_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure/);
        const value = /=([^;]+)/.exec(cookie)![1]!;
        const csrf = (JSON.parse(res.body) as { csrfToken: string }).csrfToken;
        assert.equal((await httpsCall(`${server.url}/deployments/environments`, ca, 'GET', { cookie: `__Host-allotrope_session=${value}`, 'x-csrf-token': csrf })).status, 200);
        assert.equal((await httpsCall(`${server.url}/deployments/environments`, ca, 'GET', { cookie: `allotrope_session=${value}`, 'x-csrf-token': csrf })).status, 401);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
