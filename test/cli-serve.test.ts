// `allotrope serve` and `allotrope admin create-client` as a user runs them: real child processes,
// the first-start bootstrap, file modes, a restart on the same data directory, a clean SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { signingKeysPath } from '../src/auth/signing-keys.js';
import { allotropeCommand } from './helpers/cli.js';
import { boltConnects } from './helpers/bolt-connects.js';
import { testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { startServerProcess } from './helpers/server.js';
import { testPgUrl } from './helpers/test-store.js';

function runCli(args: string[], env: Record<string, string>) {
  const [cmd, argv] = allotropeCommand(args);
  return spawnSync(cmd, argv, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('allotrope serve', () => {
  test('first start prints the admin credentials once, writes them 0600, and they get a token for the catalog', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-cli-'));
    try {
      const first = await startServerProcess({ dataDir });
      try {
        const out = first.output();
        assert.ok(out.includes(`client_id:     ${first.adminCredentials.clientId}`));
        assert.ok(out.includes(`client_secret: ${first.adminCredentials.clientSecret}`));
        assert.equal(statSync(join(dataDir, 'initial-credentials')).mode & 0o777, 0o600);
        // On a PostgreSQL store the keys live in the store (shared by every instance), not in the data dir.
        if (!testPgUrl) assert.equal(statSync(signingKeysPath(dataDir)).mode & 0o777, 0o600);
        const token = await first.token();
        const versions = await first.request('GET', '/deployments/versions', { token });
        assert.equal(versions.status, 200);
        assert.deepEqual(versions.body, [{ id: '5.26-grafeo', number: '5.26.0', edition: 'community', vendor: 'graphneo', runtime: 'local', default: true, engine: 'grafeo', engineVersion: '0.6.0' }]);
        const regions = await first.request('GET', '/deployments/regions', { token });
        assert.deepEqual(regions.body, [{ id: 'local', name: 'This machine', runtime: 'local', default: true }]);
        const plans = await first.request('GET', '/deployments/plans', { token });
        assert.deepEqual(plans.body.map((p: { id: string; tier: string }) => `${p.id}:${p.tier}`), ['ds1:developer', 'ds2:standard', 'ds3:standard', 'ds4:professional', 'ds5:professional', 'ds6:professional']);
      } finally {
        await first.stop();
      }
      assert.equal(first.child.exitCode, 0, 'SIGTERM is a clean exit');

      const second = await startServerProcess({ dataDir });
      try {
        assert.ok(!second.output().includes('client_secret'), 'no second bootstrap');
        assert.equal((await second.request('GET', '/deployments/plans', { token: await second.token() })).status, 200, 'same key and credentials after a restart');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a port in use is one clear line', async () => {
    const server = await startServerProcess();
    const otherDir = mkdtempSync(join(tmpdir(), 'allotrope-cli-'));
    try {
      const port = new URL(server.url).port;
      const res = runCli(['serve'], { ALLOTROPE_PORT: port, ALLOTROPE_DATA_DIR: otherDir });
      assert.equal(res.status, 1);
      assert.equal(res.stderr.trim(), `allotrope: cannot listen on 127.0.0.1:${port}: address already in use (set ALLOTROPE_PORT)`);
    } finally {
      await server.stop();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  test('a second serve on a data dir in use refuses at once, naming the holder, and the first keeps its databases', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-cli-'));
    const server = await startServerProcess({ dataDir, env: { ALLOTROPE_DB_PORTS: testPortRange(2) } });
    try {
      const token = await server.token();
      const envId = (await server.request('GET', '/deployments/environments', { token })).body[0].id;
      const created = await server.request('POST', '/deployments/databases/graphneo', { token, body: { environmentId: envId, name: 'kept', plan: 'ds1' } });
      assert.equal(created.status, 202, created.text);
      await waitForOperation(server, token, created.body.database.id, created.body.operationId);
      const bolt = `bolt://127.0.0.1:${created.body.database.boltPort}`;
      const password = created.body.credentials.password as string;
      assert.equal(await boltConnects(bolt, 'neo4j', password), true);

      const started = Date.now();
      const res = runCli(['serve'], { ALLOTROPE_PORT: '0', ALLOTROPE_DATA_DIR: server.dataDir });
      assert.equal(res.status, 1, res.stderr);
      assert.equal(
        res.stderr.trim(),
        `allotrope: the data dir ${server.dataDir} is in use by another allotrope serve (pid ${server.child.pid}, API at ${server.url}); stop it first, or give this one its own ALLOTROPE_DATA_DIR`,
      );
      assert.ok(Date.now() - started < 15_000);
      // The refused one touched nothing: the first still serves its database and its API.
      assert.equal(await boltConnects(bolt, 'neo4j', password), true);
      assert.equal((await server.request('GET', `/deployments/databases/graphneo/${created.body.database.id}/status`, { token })).body.state, 'running');
    } finally {
      await server.stop();
    }
    // Released with the holder: the data dir serves again.
    try {
      const again = await startServerProcess({ dataDir });
      await again.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('allotrope admin create-client', () => {
  test('creates a client on an empty store (with the default organization) and its credentials work', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-cli-'));
    try {
      // Without --init an empty place is refused: a client in a new store no running server knows helps nobody.
      const refused = runCli(['admin', 'create-client', '--name', 'robot'], { ALLOTROPE_DATA_DIR: dataDir });
      assert.equal(refused.status, 1);
      assert.equal(
        refused.stderr.trim(),
        `allotrope: no Allotrope store at ${join(dataDir, 'allotrope.db')} (data dir ${dataDir}); run this where \`allotrope serve\` runs, with the same ALLOTROPE_DATA_DIR or --config, or pass --init to start a new installation there`,
      );
      const res = runCli(['admin', 'create-client', '--name', 'robot', '--role', 'operator', '--environment', 'development', '--json', '--init'], { ALLOTROPE_DATA_DIR: dataDir });
      assert.equal(res.status, 0, res.stderr);
      const created = JSON.parse(res.stdout);
      assert.equal(created.role, 'operator');
      assert.equal(created.environmentIds.length, 1);
      const bad = runCli(['admin', 'create-client', '--name', 'x', '--role', 'emperor'], { ALLOTROPE_DATA_DIR: dataDir });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^allotrope: --role: 'emperor' is not one of owner, admin, operator, read-operator, billing\n$/);
      const missingEnv = runCli(['admin', 'create-client', '--name', 'x', '--environment', 'nowhere'], { ALLOTROPE_DATA_DIR: dataDir });
      assert.equal(missingEnv.status, 1);
      assert.match(missingEnv.stderr, /environment 'nowhere' does not exist/);
      const plain = runCli(['admin', 'create-client', '--name', 'plain'], { ALLOTROPE_DATA_DIR: dataDir });
      assert.equal(plain.status, 0, plain.stderr);
      assert.match(plain.stdout, /^ {2}id: {12}[0-9a-f]{32} {3}\(for \/organizations\/api-clients\/\{id\}\)$/m);

      // The store create-client made is the data dir's SQLite file, whatever store the other tests use.
      const server = await startServerProcess({ dataDir, env: { ALLOTROPE_STORE_URL: `sqlite:${join(dataDir, 'allotrope.db')}` } });
      try {
        const token = await server.token({ clientId: created.clientId, clientSecret: created.clientSecret });
        assert.deepEqual(decodeJwt(token).env, created.environmentIds);
        const envs = await server.request('GET', '/deployments/environments', { token });
        assert.deepEqual(envs.body.map((e: { label: string }) => e.label), ['development']);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
