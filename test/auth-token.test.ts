// The token endpoint and the bearer check, over real HTTP (api.md §2).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { rotateSigningKey, rotateStoreSigningKey, signingKeysPath } from '../src/auth/signing-keys.js';
import { openStore } from '../src/store/db.js';
import { testStoreUrlFor } from './helpers/test-store.js';

// The signing keys live in the data dir's key file, or in the store when the tests run on PostgreSQL.
async function withTestStore<T>(dataDir: string, fn: (db: Awaited<ReturnType<typeof openStore>>['db']) => Promise<T>): Promise<T | undefined> {
  const url = await testStoreUrlFor(dataDir);
  if (!url) return undefined;
  const store = await openStore(url);
  try {
    return await fn(store.db);
  } finally {
    await store.close();
  }
}

async function rotate(dataDir: string, now: Date, ttlSeconds: number): Promise<string> {
  return (await withTestStore(dataDir, (db) => rotateStoreSigningKey(db, now, ttlSeconds))) ?? rotateSigningKey(dataDir, now, ttlSeconds);
}

async function privateJwkOf(dataDir: string, kid: string): Promise<JWK> {
  const fromStore = await withTestStore(dataDir, async (db) => JSON.parse((await db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', kid).executeTakeFirstOrThrow()).private_jwk) as JWK);
  return fromStore ?? (JSON.parse(readFileSync(signingKeysPath(dataDir), 'utf8')) as { keys: { kid: string; privateJwk: JWK }[] }).keys.find((k) => k.kid === kid)!.privateJwk;
}
import { ManualClock } from '../src/clock.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

const TOKEN = '/organizations/oauth/token';

describe('token endpoint', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  before(async () => {
    server = await startServer({ clock, env: {} });
  });
  after(async () => server.stop());

  test('issues a token for form-encoded credentials with 201 and the contract shape', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const res = await server.request('POST', TOKEN, { form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 3600);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const claims = decodeJwt(res.body.access_token);
    assert.equal(claims.sub, clientId);
    assert.equal(claims.iss, 'allotrope');
    assert.equal(claims.role, 'admin');
    assert.ok(Array.isArray(claims.env));
    assert.equal(claims.exp! - claims.iat!, 3600);
    assert.match(String(claims.jti), /^[0-9a-f]{32}$/);
    assert.equal(typeof claims.org, 'string');
    assert.equal(decodeProtectedHeader(res.body.access_token).alg, 'ES256');
  });

  test('accepts JSON credentials without grant_type', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const res = await server.request('POST', TOKEN, { body: { client_id: clientId, client_secret: clientSecret } });
    assert.equal(res.status, 201);
    assert.equal(res.body.token_type, 'Bearer');
  });

  test('accepts HTTP Basic credentials', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const res = await server.request('POST', TOKEN, { headers: { authorization: `Basic ${basic}` }, form: { grant_type: 'client_credentials' } });
    assert.equal(res.status, 201);
    const bare = await server.request('POST', TOKEN, { headers: { authorization: `Basic ${basic}` } });
    assert.equal(bare.status, 201, 'no body at all is fine with Basic');
  });

  test('refuses another grant type with 400 unsupported_grant_type', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const res = await server.request('POST', TOKEN, { form: { grant_type: 'password', client_id: clientId, client_secret: clientSecret } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: 'unsupported_grant_type' });
  });

  test('answers an unknown client and a wrong secret alike: 401 invalid_client', async () => {
    const { clientId } = server.adminCredentials;
    const wrong = await server.request('POST', TOKEN, { form: { client_id: clientId, client_secret: 'not-the-secret' } });
    const unknown = await server.request('POST', TOKEN, { form: { client_id: '0'.repeat(32), client_secret: 'not-the-secret' } });
    const missing = await server.request('POST', TOKEN, { form: { client_id: clientId } });
    for (const res of [wrong, unknown, missing]) {
      assert.equal(res.status, 401);
      assert.equal(res.text, '{"error":"invalid_client"}');
    }
  });

  test('publishes the signing key as a JWKS without its private part', async () => {
    const res = await server.request('GET', '/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.keys.length, 1);
    const key = res.body.keys[0];
    assert.equal(key.kty, 'EC');
    assert.equal(key.alg, 'ES256');
    assert.equal(key.d, undefined);
    const token = await server.token();
    assert.equal(decodeProtectedHeader(token).kid, key.kid);
  });
});

describe('bearer check', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  before(async () => {
    server = await startServer({ clock });
  });
  after(async () => server.stop());

  const expect401 = async (headers: Record<string, string>, error?: RegExp) => {
    const res = await server.request('GET', '/deployments/plans', { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    assert.equal(Object.keys(res.body).join(), 'error');
    if (error) assert.match(res.body.error, error);
  };

  test('a valid token reaches the route', async () => {
    const res = await server.request('GET', '/deployments/plans', { token: await server.token() });
    assert.equal(res.status, 200);
  });

  test('no token, a malformed header, or garbage is 401 with WWW-Authenticate', async () => {
    await expect401({}, /missing/);
    await expect401({ authorization: 'Token abc' }, /malformed/);
    await expect401({ authorization: 'Bearer not.a.jwt' });
  });

  test('an expired token is refused (clock moved past exp)', async () => {
    const token = await server.token();
    clock.advance(3599_000);
    assert.equal((await server.request('GET', '/deployments/plans', { token })).status, 200);
    clock.advance(2_000);
    await expect401({ authorization: `Bearer ${token}` }, /expired/);
  });

  test('a token signed by another key with our kid is refused', async () => {
    const real = await server.token();
    const claims = decodeJwt(real);
    const { kid } = decodeProtectedHeader(real);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    await expect401({ authorization: `Bearer ${forged}` });
    const otherKid = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'someone-else' }).sign(privateKey);
    await expect401({ authorization: `Bearer ${otherKid}` });
  });

  test('an alg:none token is refused', async () => {
    const real = await server.token();
    const { kid } = decodeProtectedHeader(real);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(decodeJwt(real))}.`;
    await expect401({ authorization: `Bearer ${unsigned}` });
  });

  test('a correctly signed token whose iat lies more than a minute ahead is refused', async () => {
    const real = await server.token();
    const { kid } = decodeProtectedHeader(real);
    const key = await importJWK(await privateJwkOf(server.dataDir, kid!), 'ES256');
    const now = Math.floor(clock.now().getTime() / 1000);
    const signed = (iat: number) => new SignJWT({ ...decodeJwt(real), iat, exp: iat + 3600 }).setProtectedHeader({ alg: 'ES256', kid: kid!, typ: 'JWT' }).sign(key);
    // Within the allowed clock skew: accepted (so the refusal below is about iat alone).
    assert.equal((await server.request('GET', '/deployments/plans', { token: await signed(now + 30) })).status, 200);
    await expect401({ authorization: `Bearer ${await signed(now + 3600)}` }, /issued in the future/);
  });

  test('a token whose payload was altered is refused', async () => {
    const real = await server.token();
    const [h, , s] = real.split('.');
    const claims = { ...decodeJwt(real), role: 'owner' };
    await expect401({ authorization: `Bearer ${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` });
  });
});

describe('revocation', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  before(async () => {
    server = await startServer({ clock });
  });
  after(async () => server.stop());

  async function newClient(admin: string) {
    const res = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'ci', role: 'admin', environmentIds: [] } });
    assert.equal(res.status, 201);
    return res.body as { id: string; clientId: string; clientSecret: string };
  }

  test('refreshing the secret revokes older tokens and the old secret; a token issued in the same second after works', async () => {
    const admin = await server.token();
    const c = await newClient(admin);
    const before = await server.token({ clientId: c.clientId, clientSecret: c.clientSecret });
    assert.equal((await server.request('GET', '/deployments/plans', { token: before })).status, 200);
    const refreshed = await server.request('POST', `/organizations/api-clients/${c.id}/secret`, { token: admin });
    assert.equal(refreshed.status, 200);
    assert.equal(typeof refreshed.body.clientSecret, 'string');
    assert.ok(refreshed.body.clientSecret.length >= 43);
    // Same clock second: revocation must not depend on iat's one-second precision.
    const afterToken = await server.token({ clientId: c.clientId, clientSecret: refreshed.body.clientSecret });
    assert.equal(decodeJwt(afterToken).iat, decodeJwt(before).iat);
    const old = await server.request('GET', '/deployments/plans', { token: before });
    assert.equal(old.status, 401);
    assert.match(old.body.error, /revoked/);
    assert.equal((await server.request('GET', '/deployments/plans', { token: afterToken })).status, 200);
    const oldSecret = await server.request('POST', TOKEN, { form: { client_id: c.clientId, client_secret: c.clientSecret } });
    assert.equal(oldSecret.status, 401);
  });

  test('deleting a client revokes its tokens', async () => {
    const admin = await server.token();
    const c = await newClient(admin);
    const token = await server.token({ clientId: c.clientId, clientSecret: c.clientSecret });
    assert.equal((await server.request('GET', '/deployments/plans', { token })).status, 200);
    assert.equal((await server.request('DELETE', `/organizations/api-clients/${c.id}`, { token: admin })).status, 204);
    assert.equal((await server.request('GET', '/deployments/plans', { token })).status, 401);
    const again = await server.request('POST', TOKEN, { form: { client_id: c.clientId, client_secret: c.clientSecret } });
    assert.equal(again.status, 401);
  });
});

describe('failed-attempt rate limiting', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  before(async () => {
    server = await startServer({ clock, configFile: undefined });
  });
  after(async () => server.stop());

  test('after repeated failures from one address the endpoint answers 429 with Retry-After, then recovers', async () => {
    const { clientId, clientSecret } = server.adminCredentials;
    const max = server.config.auth.maxFailedAttempts;
    for (let i = 0; i < max; i++) {
      const res = await server.request('POST', TOKEN, { form: { client_id: clientId, client_secret: 'wrong' } });
      assert.equal(res.status, 401);
    }
    const limited = await server.request('POST', TOKEN, { form: { client_id: clientId, client_secret: clientSecret } });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= server.config.auth.failureWindowMs / 1000, `Retry-After ${retryAfter}`);
    assert.match(limited.body.error, /too many failed attempts/);
    clock.advance(retryAfter * 1000);
    const ok = await server.request('POST', TOKEN, { form: { client_id: clientId, client_secret: clientSecret } });
    assert.equal(ok.status, 201);
  });
});

describe('rate limiting behind a proxy', () => {
  async function failuresUntilLimited(server: TestServer, forwardedFor: string): Promise<number> {
    for (let i = 1; i <= 10; i++) {
      const res = await server.request('POST', TOKEN, { form: { client_id: 'x', client_secret: 'y' }, headers: { 'x-forwarded-for': forwardedFor } });
      if (res.status === 429) return i;
      assert.equal(res.status, 401);
    }
    return Infinity;
  }

  test('X-Forwarded-For counts only from a trusted proxy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allotrope-proxy-'));
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ auth: { maxFailedAttempts: 3 } }));
    try {
      const trusted = await startServer({ configFile, env: { ALLOTROPE_TRUSTED_PROXIES: '127.0.0.1' } });
      try {
        assert.equal(await failuresUntilLimited(trusted, '198.51.100.1'), 4);
        assert.equal(await failuresUntilLimited(trusted, '198.51.100.2'), 4, 'another client behind the proxy has its own count');
      } finally {
        await trusted.stop();
      }
      const direct = await startServer({ configFile });
      try {
        assert.equal(await failuresUntilLimited(direct, '198.51.100.1'), 4);
        assert.equal(await failuresUntilLimited(direct, '198.51.100.2'), 1, 'a forged header from an untrusted peer changes nothing');
      } finally {
        await direct.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signing key rotation', () => {
  test('a running server picks up a rotation without a restart, and still accepts the old key', async () => {
    const server = await startServer();
    try {
      const oldToken = await server.token();
      const oldKid = decodeProtectedHeader(oldToken).kid;
      const kid = await rotate(server.dataDir, new Date(), 3600);
      assert.notEqual(kid, oldKid);
      // New tokens are signed with the new key once the server has looked at the file (at most a second).
      const newToken = await waitFor(async () => {
        const t = await server.token();
        return decodeProtectedHeader(t).kid === kid ? t : undefined;
      }, { timeoutMs: 5_000, what: 'tokens signed with the rotated key' });
      const jwks = (await server.request('GET', '/.well-known/jwks.json')).body;
      assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, kid].sort());
      assert.equal((await server.request('GET', '/deployments/plans', { token: newToken })).status, 200);
      assert.equal((await server.request('GET', '/deployments/plans', { token: oldToken })).status, 200, 'old key still published');
    } finally {
      await server.stop();
    }
  });


  test('a rotated key signs new tokens while the previous one still verifies until dropped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-rotate-'));
    try {
      let server = await startServer({ dataDir });
      const credentials = server.adminCredentials;
      const oldToken = await server.token();
      await server.stop();

      const now = new Date();
      const kid = await rotate(dataDir, now, 3600);
      server = await startServer({ dataDir });
      try {
        const jwks = (await server.request('GET', '/.well-known/jwks.json')).body;
        assert.equal(jwks.keys.length, 2);
        assert.equal((await server.request('GET', '/deployments/plans', { token: oldToken })).status, 200, 'old key still published');
        const newToken = await server.token(credentials);
        assert.equal(decodeProtectedHeader(newToken).kid, kid);
      } finally {
        await server.stop();
      }

      // An hour after the rotation the first key can no longer have live tokens: the next rotation drops it.
      await rotate(dataDir, new Date(now.getTime() + 3601_000), 3600);
      server = await startServer({ dataDir });
      try {
        assert.equal((await server.request('GET', '/.well-known/jwks.json')).body.keys.length, 2);
        const res = await server.request('GET', '/deployments/plans', { token: oldToken });
        assert.equal(res.status, 401);
        assert.match(res.body.error, /unknown key/);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
