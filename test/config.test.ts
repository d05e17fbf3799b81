// Configuration: defaults < config file < environment variables; every bad value is one clear line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { allotropeCommand } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'allotrope-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig({ env: {}, cwd: dir });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, join(dir, 'data'));
    assert.equal(c.storeUrl, `sqlite:${join(dir, 'data', 'allotrope.db')}`);
    assert.equal(c.publicHost, 'localhost');
    assert.deepEqual(c.dbPorts, { first: 24780, last: 24979 });
    assert.equal(c.logLevel, 'info');
    assert.equal(c.tokenTtlSeconds, 3600);
    assert.equal(c.insecureHttp, false);
    assert.deepEqual(c.regions, [{ id: 'local', name: 'This machine', runtime: 'local', default: true }]);
    assert.ok(c.operations.concurrency > 0 && c.operations.leaseMs > 0 && c.runtime.healthIntervalMs > 0);
  });

  test('a config file overrides defaults and environment variables override the file', () => {
    const file = join(dir, 'allotrope.json');
    writeFileSync(file, JSON.stringify({ port: 9000, publicHost: 'db.example.com', auth: { maxFailedAttempts: 3 }, dataDir: 'state' }));
    const fromFile = loadConfig({ configFile: file, env: {}, cwd: dir });
    assert.equal(fromFile.port, 9000);
    assert.equal(fromFile.publicHost, 'db.example.com');
    assert.equal(fromFile.auth.maxFailedAttempts, 3);
    assert.equal(fromFile.auth.failureWindowMs, 60_000, 'nested groups merge');
    assert.equal(fromFile.dataDir, join(dir, 'state'));
    const env = {
      ALLOTROPE_PORT: '9100',
      ALLOTROPE_DB_PORTS: '30000-30010',
      ALLOTROPE_STORE_URL: 'sqlite:/tmp/x.db',
      ALLOTROPE_LOG_LEVEL: 'warn',
      ALLOTROPE_DATA_DIR: '/var/lib/allotrope',
    };
    const both = loadConfig({ configFile: file, env, cwd: dir });
    assert.equal(both.port, 9100);
    assert.equal(both.publicHost, 'db.example.com');
    assert.deepEqual(both.dbPorts, { first: 30000, last: 30010 });
    assert.equal(both.storeUrl, 'sqlite:/tmp/x.db');
    assert.equal(both.logLevel, 'warn');
    assert.equal(both.dataDir, '/var/lib/allotrope');
  });

  test('each bad value names its variable in one line', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ ALLOTROPE_PORT: 'abc' }, /^ALLOTROPE_PORT: 'abc' is not a whole number$/],
      [{ ALLOTROPE_PORT: '70000' }, /^ALLOTROPE_PORT \(port\): must be a whole number from 0 to 65535/],
      [{ ALLOTROPE_DB_PORTS: '24780-' }, /^ALLOTROPE_DB_PORTS: '24780-' is not a port range/],
      [{ ALLOTROPE_DB_PORTS: '25000-24000' }, /^ALLOTROPE_DB_PORTS \(dbPorts\): range 25000-24000 is empty/],
      [{ ALLOTROPE_DB_PORTS: '8000-8100' }, /^ALLOTROPE_DB_PORTS \(dbPorts\): range 8000-8100 contains the API port 8080/],
      [{ ALLOTROPE_LOG_LEVEL: 'loud' }, /^ALLOTROPE_LOG_LEVEL \(logLevel\): 'loud' is not one of/],
      [{ ALLOTROPE_INSECURE_HTTP: 'maybe' }, /^ALLOTROPE_INSECURE_HTTP: 'maybe' is not a boolean/],
      [{ ALLOTROPE_QUERY_CHECK_BUDGET_MS: 'abc' }, /^ALLOTROPE_QUERY_CHECK_BUDGET_MS: 'abc' is not a whole number$/],
      [{ ALLOTROPE_QUERY_CHECK_BUDGET_MS: '90000' }, /^ALLOTROPE_QUERY_CHECK_BUDGET_MS: 90000 is above the maximum/],
      [{ ALLOTROPE_STORAGE_URL: 'ftp://x' }, /^ALLOTROPE_STORAGE_URL \(backups.storageUrl\): 'ftp:\/\/x' is not/],
      [{ ALLOTROPE_IMPORT_ALLOW_HTTP: 'perhaps' }, /^ALLOTROPE_IMPORT_ALLOW_HTTP: 'perhaps' is not a boolean/],
      [{ ALLOTROPE_STORE_URL: 'mysql://x' }, /^ALLOTROPE_STORE_URL \(storeUrl\): unsupported scheme/],
      [{ ALLOTROPE_HOST: 'bad host!' }, /^ALLOTROPE_HOST \(host\): 'bad host!' is not an IP address or host name$/],
      [{ ALLOTROPE_TLS_CERT: '/x.pem' }, /^ALLOTROPE_TLS_KEY: must be set together with ALLOTROPE_TLS_CERT/],
      [{ AWS_ACCESS_KEY_ID: 'AKIA1' }, /^AWS_SECRET_ACCESS_KEY: must be set together with AWS_ACCESS_KEY_ID$/],
      [{ AWS_SECRET_ACCESS_KEY: 's' }, /^AWS_ACCESS_KEY_ID: must be set together with AWS_SECRET_ACCESS_KEY$/],
      [{ AWS_SESSION_TOKEN: 't' }, /^AWS_SESSION_TOKEN: must come with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY$/],
      [{ AWS_REGION: 'eu west' }, /^AWS_REGION \(backups\.s3\.region\): must be a region name/],
      [{ AWS_ENDPOINT_URL: 'minio:9000' }, /^AWS_ENDPOINT_URL_S3 \(backups\.s3\.endpoint\): must be an http or https URL/],
    ];
    for (const [env, message] of cases) assert.match(configError(() => loadConfig({ env, cwd: dir })), message);
  });

  test('the query-check budget and the AWS_* settings are read once into the Config', () => {
    const none = loadConfig({ env: {}, cwd: dir });
    assert.equal(none.runtime.queryCheckBudgetMs, null, "unset: the graph-server's own default");
    assert.deepEqual(none.backups.s3, { region: 'us-east-1', endpoint: null, credentials: null });
    assert.equal(loadConfig({ env: { ALLOTROPE_QUERY_CHECK_BUDGET_MS: '0' }, cwd: dir }).runtime.queryCheckBudgetMs, 0);
    assert.equal(loadConfig({ env: { ALLOTROPE_QUERY_CHECK_BUDGET_MS: '60000' }, cwd: dir }).runtime.queryCheckBudgetMs, 60_000);
    const aws = loadConfig({
      env: { AWS_DEFAULT_REGION: 'us-west-2', AWS_ENDPOINT_URL: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'tok' },
      cwd: dir,
    });
    assert.deepEqual(aws.backups.s3, { region: 'us-west-2', endpoint: 'http://127.0.0.1:9000', credentials: { accessKeyId: 'AKIA1', secretAccessKey: 'secret', sessionToken: 'tok' } });
    // The S3-specific names win over the general ones, as in the AWS SDK.
    const specific = loadConfig({ env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2', AWS_ENDPOINT_URL_S3: 'https://s3.example.org', AWS_ENDPOINT_URL: 'http://x' }, cwd: dir });
    assert.deepEqual(specific.backups.s3, { region: 'eu-west-1', endpoint: 'https://s3.example.org', credentials: null });
    const file = join(dir, 'budget.json');
    writeFileSync(file, JSON.stringify({ runtime: { queryCheckBudgetMs: 250 }, backups: { s3: { region: 'garage', endpoint: 'http://127.0.0.1:3900' } } }));
    const fromFile = loadConfig({ configFile: file, env: {}, cwd: dir });
    assert.equal(fromFile.runtime.queryCheckBudgetMs, 250);
    assert.deepEqual(fromFile.backups.s3, { region: 'garage', endpoint: 'http://127.0.0.1:3900', credentials: null });
    writeFileSync(file, JSON.stringify({ runtime: { queryCheckBudgetMs: 90_000 } }));
    assert.match(configError(() => loadConfig({ configFile: file, env: {}, cwd: dir })), /^ALLOTROPE_QUERY_CHECK_BUDGET_MS \(runtime\.queryCheckBudgetMs\): must be a whole number from 0 to 60000/);
    writeFileSync(file, JSON.stringify({ backups: { s3: { credentials: { accessKeyId: 'x' } } } }));
    assert.match(configError(() => loadConfig({ configFile: file, env: {}, cwd: dir })), /^backups\.s3\.credentials: is not a setting/);
  });

  test('plain HTTP on a non-loopback address stops start-up unless ALLOTROPE_INSECURE_HTTP=1', () => {
    assert.match(configError(() => loadConfig({ env: { ALLOTROPE_HOST: '0.0.0.0' }, cwd: dir })), /^ALLOTROPE_HOST: refusing to serve plain HTTP on non-loopback address 0\.0\.0\.0.*ALLOTROPE_INSECURE_HTTP=1/);
    assert.equal(loadConfig({ env: { ALLOTROPE_HOST: '0.0.0.0', ALLOTROPE_INSECURE_HTTP: '1' }, cwd: dir }).host, '0.0.0.0');
    assert.equal(loadConfig({ env: { ALLOTROPE_HOST: '::1' }, cwd: dir }).host, '::1');
    assert.equal(loadConfig({ env: { ALLOTROPE_HOST: '0.0.0.0', ALLOTROPE_TLS_CERT: 'c.pem', ALLOTROPE_TLS_KEY: 'k.pem' }, cwd: dir }).tls?.cert, join(dir, 'c.pem'));
  });

  test('a bad config file is named with the problem', () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"port": ');
    assert.match(configError(() => loadConfig({ configFile: broken, env: {}, cwd: dir })), /^config file .*broken\.json: not valid JSON/);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, '{"prot": 1}');
    assert.match(configError(() => loadConfig({ configFile: unknown, env: {}, cwd: dir })), /unknown setting 'prot'/);
    assert.match(configError(() => loadConfig({ configFile: join(dir, 'missing.json'), env: {}, cwd: dir })), /cannot be read \(ENOENT\)/);
    const typed = join(dir, 'typed.json');
    writeFileSync(typed, '{"port": "80"}');
    assert.match(configError(() => loadConfig({ configFile: typed, env: {}, cwd: dir })), /^ALLOTROPE_PORT \(port\): must be a whole number/);
  });
});

describe('allotrope serve with a bad value', () => {
  test('exits 2 with one line on stderr naming the variable, no stack', () => {
    const [cmd, args] = allotropeCommand(['serve']);
    const res = spawnSync(cmd, args, { env: { ...process.env, ALLOTROPE_PORT: 'eighty', ALLOTROPE_DATA_DIR: join(dir, 'never') }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 2, res.stderr);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.equal(lines[0], "allotrope: ALLOTROPE_PORT: 'eighty' is not a whole number");
    assert.equal(res.stdout, '');
  });
});
