// The SDK (`allotrope/sdk`) against a real server: a method for every endpoint of /openapi.json, the token
// refreshed before it expires (a 60-second token lifetime on a clock the test moves, shared by server and
// SDK), retries through a loopback proxy that answers 503 once (after the server did the work: the answer
// is "lost") and 429 with Retry-After, reusing the Idempotency-Key so that one database is created;
// waitForOperation with progress, a failed operation's message, and a bundle for browsers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build, stop as stopEsbuild } from 'esbuild';
import { ManualClock } from '../src/clock.js';
import { Allotrope, AllotropeError, ENDPOINTS, OperationFailedError, type Operation } from '../src/sdk/index.js';
import { startBackupsServer, type BackupsServer } from './helpers/backups.js';
import { repoRoot } from './helpers/cli.js';
import { startServer, type TestServer } from './helpers/server.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  answered: number;
}

/** A loopback proxy to `target`; `fault` may replace the upstream's answer (after it was given). */
async function startProxy(target: string, fault: (seen: Seen, index: number) => { status: number; headers?: Record<string, string> } | null) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.host;
    delete headers.connection;
    delete headers['content-length'];
    const upstream = await fetch(new URL(req.url!, target), { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = Buffer.from(await upstream.arrayBuffer());
    const entry: Seen = { method: req.method!, path: req.url!, headers: req.headers, answered: upstream.status };
    seen.push(entry);
    const replaced = fault(entry, seen.length - 1);
    if (replaced) {
      entry.answered = replaced.status;
      res.writeHead(replaced.status, { 'content-type': 'application/json', ...replaced.headers });
      return res.end(JSON.stringify({ error: 'injected by the test proxy' }));
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
    });
    res.writeHead(upstream.status, out);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('SDK: endpoints, tokens, bundle', () => {
  let server: TestServer;
  const clock = new ManualClock();
  before(async () => {
    server = await startServer({ clock, env: { ALLOTROPE_TOKEN_TTL_SECONDS: '60' } });
  });
  after(async () => server?.stop());

  it('has a method for every endpoint of a full server\'s /openapi.json', async () => {
    const full = await startBackupsServer();
    let doc: any;
    try {
      doc = (await full.request('GET', '/openapi.json')).body;
    } finally {
      await full.stop();
    }
    const sdkRoutes = new Set(Object.values(ENDPOINTS).map(([m, p]) => `${m} ${p}`));
    // /console/api/session is the console's cookie sign-in for people, not a route for API clients.
    const skipped = /^(\/healthz|\/readyz|\/metrics|\/openapi\.json|\/docs|\/\.well-known\/|\/downloads\/|\/databases|\/console\/)/;
    const missing: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      if (skipped.test(path)) continue;
      for (const method of Object.keys(item)) {
        const key = `${method.toUpperCase()} ${path}`;
        // POST and PUT of one command (restart, plan change) are one method; the SDK sends PUT. GET token is POST's twin.
        if (sdkRoutes.has(key) || sdkRoutes.has(`PUT ${path}`) || sdkRoutes.has(`POST ${path}`)) continue;
        missing.push(key);
      }
    }
    assert.deepEqual(missing, []);
    const client = new Allotrope({ url: server.url, accessToken: 'x' }) as unknown as Record<string, Record<string, unknown>>;
    for (const name of Object.keys(ENDPOINTS)) {
      if (name === 'token') continue;
      const [group, method] = name.split('.') as [string, string];
      // The import endpoint has two methods: a URL, or an upload.
      for (const m of name === 'imports.start' ? ['fromUrl', 'upload'] : [method]) assert.equal(typeof client[group]?.[m], 'function', `${group}.${m}`);
    }
  });

  it('fetches a token, refreshes it before it expires, and keeps working after the old one expired', async () => {
    let tokenCalls = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('/oauth/token')) tokenCalls++;
      return fetch(input, init);
    };
    const sdk = new Allotrope({ url: server.url, ...server.adminCredentials, fetch: counting, now: () => clock.now().getTime() });
    assert.ok((await sdk.catalog.plans()).some((p) => p.id === 'ds1'));
    const first = await sdk.accessToken();
    assert.equal(tokenCalls, 1);
    clock.advance(20_000);
    await sdk.environments.list();
    assert.equal(tokenCalls, 1, 'a token with 40 s left is kept');
    clock.advance(15_000); // 25 s left: inside the refresh margin (half of a 60 s lifetime)
    await Promise.all([sdk.environments.list(), sdk.catalog.regions(), sdk.catalog.versions()]);
    assert.equal(tokenCalls, 2, 'refreshed once for three concurrent calls');
    const second = await sdk.accessToken();
    assert.notEqual(second, first);
    // The old token was still valid when it was replaced: refreshed before expiry, not after a failure.
    assert.equal((await server.request('GET', '/deployments/plans', { token: first })).status, 200);
    clock.advance(61_000);
    assert.equal((await server.request('GET', '/deployments/plans', { token: first })).status, 401);
    assert.equal((await sdk.environments.list()).length, 1);
    assert.equal(tokenCalls, 3);
  });

  it('errors carry the status and the server\'s error string', async () => {
    const sdk = new Allotrope({ url: server.url, ...server.adminCredentials });
    const err = await sdk.environments.get('0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    assert.ok(err instanceof AllotropeError);
    assert.equal(err.status, 404);
    assert.match(err.error, /environment/);
    assert.ok(err.requestId);
    const bad = await sdk.environments.create({ label: 'x', type: 'purple' as never }).catch((e: unknown) => e);
    assert.ok(bad instanceof AllotropeError);
    assert.equal(bad.status, 400);
    assert.match(bad.error, /type/);
    const wrong = new Allotrope({ url: server.url, clientId: server.adminCredentials.clientId, clientSecret: 'wrong' });
    const denied = await wrong.catalog.plans().catch((e: unknown) => e);
    assert.ok(denied instanceof AllotropeError);
    assert.deepEqual([denied.status, denied.error], [401, 'invalid_client']);
  });

  it('bundles for browsers with esbuild, with no Node-only import', async () => {
    const result = await build({ entryPoints: [join(repoRoot, 'dist', 'src', 'sdk', 'index.js')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' }).finally(
      // esbuild's service process would otherwise run until this file's process exits.
      () => stopEsbuild(),
    );
    assert.deepEqual(result.errors, []);
    const code = result.outputFiles[0]!.text;
    assert.ok(code.length < 60_000, `the bundle is small (${code.length} bytes)`);
    assert.doesNotMatch(code, /from\s*["']node:|require\(["']/);
    assert.match(code, /waitForOperation/);
  });

  it('is exported as allotrope/sdk', async () => {
    const mod = await import('allotrope/sdk');
    assert.equal(typeof mod.Allotrope, 'function');
  });
});

describe('SDK: retries and operations against real databases', () => {
  let server: BackupsServer;
  before(async () => {
    server = await startBackupsServer();
  });
  after(async () => server?.stop());

  it('retries a lost 503 with the same Idempotency-Key (one database), honours Retry-After on 429, and waits with progress', async () => {
    let failedCreate = false;
    let throttled = false;
    const proxy = await startProxy(server.url, (seen) => {
      if (seen.method === 'POST' && seen.path === '/deployments/databases/graphneo' && !failedCreate) {
        failedCreate = true;
        return { status: 503 };
      }
      if (seen.method === 'GET' && seen.path.includes('/operations/') && !throttled) {
        throttled = true;
        return { status: 429, headers: { 'retry-after': '1' } };
      }
      return null;
    });
    try {
      const sdk = new Allotrope({ url: proxy.url, ...server.adminCredentials, retryBaseMs: 50 });
      const created = await sdk.databases.create({ environmentId: server.environmentId, name: 'retried', plan: 'ds2', version: '5.26-grafeo' });
      const posts = proxy.seen.filter((s) => s.method === 'POST' && s.path === '/deployments/databases/graphneo');
      assert.equal(posts.length, 2);
      assert.deepEqual(posts.map((p) => p.answered), [503, 202]);
      assert.ok(posts[0]!.headers['idempotency-key']);
      assert.equal(posts[1]!.headers['idempotency-key'], posts[0]!.headers['idempotency-key']);
      const all = await sdk.databases.list();
      assert.deepEqual(all.filter((d) => d.name === 'retried').map((d) => d.id), [created.database.id]);

      const progress: Operation[] = [];
      const started = Date.now();
      const op = await sdk.waitForOperation(created.database.id, created.operationId, { intervalMs: 200, timeout: 120_000, onProgress: (o) => progress.push(o) });
      assert.ok(Date.now() - started >= 900, 'waited for Retry-After: 1');
      assert.equal(op.status, 'finished');
      assert.ok(progress.length >= 1);
      assert.equal(progress[progress.length - 1]!.status, 'finished');
      assert.ok(op.steps.length > 0 && op.steps.every((s) => s.name));
      assert.equal((await sdk.databases.get(created.database.id)).status.state, 'running');

      // A plan change hands over to a restart (nextOperationId): waitForOperation follows it.
      const change = await sdk.databases.changePlan(created.database.id, 'ds3');
      const seenIds = new Set<string>();
      const last = await sdk.waitForOperation(created.database.id, change.operationId, { intervalMs: 200, timeout: 120_000, onProgress: (o) => seenIds.add(o.id) });
      assert.equal(last.status, 'finished');
      const first = await sdk.operations.get(created.database.id, change.operationId);
      if (first.nextOperationId) {
        assert.equal(last.id, first.nextOperationId);
        assert.ok(seenIds.has(change.operationId) && seenIds.has(first.nextOperationId));
      }
      assert.equal((await sdk.databases.get(created.database.id)).plan, 'ds3');

      // A failing operation: a corrupt upload. The error is the server's message.
      const upload = await sdk.imports.upload(created.database.id, new Blob([new Uint8Array(4096).fill(7)]), 'garbage.bin');
      const failed = await sdk.waitForOperation(created.database.id, upload.operationId, { intervalMs: 200, timeout: 120_000 }).catch((e: unknown) => e);
      assert.ok(failed instanceof OperationFailedError, String(failed));
      const stored = await sdk.operations.get(created.database.id, upload.operationId);
      assert.equal(failed.message, stored.error);
      assert.ok(stored.error && stored.error.length > 10);
    } finally {
      await proxy.close();
    }
  });
});
