// docs/recipes/ run as a user would: the TypeScript versions (type-checked against `allotrope/sdk`, then run
// with tsx) and the shell versions (the CLI on PATH, jq) against a real `allotrope serve` with databases in
// development, staging and production environments.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import neo4j from 'neo4j-driver';
import { allotropeCommand, repoRoot } from './helpers/cli.js';
import { testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { startServerProcess, type TestServerProcess } from './helpers/server.js';
import { freePort } from './helpers/free-port.js';

const run = promisify(execFile);
const DB = '/deployments/databases/graphneo';
const recipes = join(repoRoot, 'docs', 'recipes');
const hasJq = spawnSync('jq', ['--version']).status === 0;

describe('docs/recipes', () => {
  let server: TestServerProcess;
  let token: string;
  let env: Record<string, string>;
  let bin: string;
  const ids: Record<string, string> = {};
  const envIds: Record<string, string> = {};
  const passwords: Record<string, string> = {};

  const state = async (name: string) => (await server.request('GET', `${DB}/${ids[name]}`, { token })).body.status.state;
  const nodes = async (name: string) => {
    const db = (await server.request('GET', `${DB}/${ids[name]}`, { token })).body;
    const driver = neo4j.driver(db.connectionUrls.bolt, neo4j.auth.basic('neo4j', passwords[name]!));
    try {
      return (await driver.executeQuery('MATCH (n) RETURN count(n) AS c')).records[0]!.get('c').toNumber();
    } finally {
      await driver.close();
    }
  };
  const recipe = async (file: string, args: string[], extra: Record<string, string> = {}) => {
    const cmd = file.endsWith('.ts') ? [process.execPath, ['--import', 'tsx', join(recipes, file), ...args]] : ['sh', [join(recipes, file), ...args]];
    return run(cmd[0] as string, cmd[1] as string[], { cwd: repoRoot, env: { ...process.env, ...env, ...extra }, timeout: 240_000 });
  };

  before(async () => {
    server = await startServerProcess({ env: { ALLOTROPE_DB_PORTS: testPortRange(), ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ALLOTROPE_PORT: String(await freePort()) } });
    token = await server.token();
    const { clientId, clientSecret } = server.adminCredentials;
    bin = mkdtempSync(join(tmpdir(), 'allotrope-bin-'));
    const [cmd, argv] = allotropeCommand([]);
    writeFileSync(join(bin, 'allotrope'), `#!/bin/sh\nexec ${[cmd, ...argv].map((a) => `'${a}'`).join(' ')} "$@"\n`);
    chmodSync(join(bin, 'allotrope'), 0o755);
    env = { ALLOTROPE_URL: server.url, ALLOTROPE_CLIENT_ID: clientId, ALLOTROPE_CLIENT_SECRET: clientSecret, PATH: `${bin}:${process.env.PATH}`, XDG_CONFIG_HOME: bin };
    const envs = (await server.request('GET', '/deployments/environments', { token })).body;
    envIds.development = envs[0].id;
    for (const type of ['staging', 'production']) {
      const res = await server.request('POST', '/deployments/environments', { token, body: { label: type, type } });
      envIds[type] = res.body.id;
    }
    const creations = await Promise.all(
      (['development', 'staging', 'production'] as const).map(async (type) => {
        const res = await server.request('POST', DB, { token, body: { environmentId: envIds[type], name: `orders-${type}`, plan: 'ds2', version: '5.26-grafeo' } });
        assert.equal(res.status, 202, res.text);
        ids[type] = res.body.database.id;
        passwords[type] = res.body.credentials.password;
        return waitForOperation(server, token, ids[type]!, res.body.operationId, 120_000);
      }),
    );
    assert.ok(creations.every((op) => op.status === 'finished'));
    const prod = (await server.request('GET', `${DB}/${ids.production}`, { token })).body;
    const driver = neo4j.driver(prod.connectionUrls.bolt, neo4j.auth.basic('neo4j', passwords.production!));
    await driver.executeQuery('UNWIND range(1, 42) AS i CREATE (:Order {n: i})');
    await driver.close();
  });
  after(async () => {
    await server?.stop();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it('the TypeScript recipes type-check against allotrope/sdk', async () => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const files = ['nightly-pause.ts', 'dr-drill.ts', 'staging-refresh.ts'].map((f) => join(recipes, f));
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--skipLibCheck', '--types', 'node', ...files], { cwd: repoRoot }).catch(
      (err: { stdout?: string }) => {
        throw new Error(`recipes do not type-check:\n${err.stdout}`);
      },
    );
  });

  for (const kind of ['ts', 'sh'] as const) {
    const skip = kind === 'sh' && !hasJq ? 'jq is not installed (the shell recipes need it)' : false;

    it(`nightly-pause.${kind} pauses the running non-production databases and resumes them`, { skip }, async () => {
      await recipe(`nightly-pause.${kind}`, ['pause']);
      assert.deepEqual([await state('development'), await state('staging'), await state('production')], ['paused', 'paused', 'running']);
      await recipe(`nightly-pause.${kind}`, ['resume']);
      assert.deepEqual([await state('development'), await state('staging'), await state('production')], ['running', 'running', 'running']);
    });

    it(`dr-drill.${kind} restores a production snapshot into a drill database, checks it, and removes it`, { skip }, async () => {
      const { stdout } = await recipe(`dr-drill.${kind}`, [], { PROD_DB: ids.production!, DRILL_ENV: envIds.staging! });
      assert.match(stdout, kind === 'ts' ? /restored and serving 42 nodes/ : /drill passed: 42 nodes restored/);
      const left = (await server.request('GET', `${DB}?environmentId=${envIds.staging}`, { token })).body;
      assert.deepEqual(left.map((d: any) => d.name), ['orders-staging'], 'the drill database is gone');
    });

    it(`staging-refresh.${kind} restores production's data into staging`, { skip }, async () => {
      const staging = (await server.request('GET', `${DB}/${ids.staging}`, { token })).body;
      const driver = neo4j.driver(staging.connectionUrls.bolt, neo4j.auth.basic('neo4j', passwords.staging!));
      await driver.executeQuery('MATCH (n) DETACH DELETE n CREATE (:StagingOnly)');
      await driver.close();
      await recipe(`staging-refresh.${kind}`, [], { PROD_DB: ids.production!, STAGING_DB: ids.staging! });
      assert.equal(await nodes('staging'), 42);
      assert.equal((await server.request('GET', `${DB}/${ids.staging}`, { token })).body.connectionUrls.bolt, staging.connectionUrls.bolt);
    });
  }
});
