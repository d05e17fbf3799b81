// The databases API around the lifecycle: validation, scoping to the caller's organization and
// environments, the production privilege scope, PATCH, database users (new credentials work within
// seconds on a real graph-server) and settings/config with needsRestart.
import assert from 'node:assert/strict';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import { insertApiClient } from '../src/domain/api-clients.js';
import { createOrganization } from '../src/domain/organizations.js';
import { insertEnvironment } from '../src/domain/environments.js';
import { LOCAL_RUNTIME_SETTINGS } from '../src/runtimes/local/settings.js';
import { createDatabaseAndWait, startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';
// A secret key next to the local runtime's, to see masking; never applied to a process in this file.
const SETTINGS = [...LOCAL_RUNTIME_SETTINGS, { key: 'test.secret', secret: true, validate: () => undefined }];

describe('databases API', () => {
  let server: LifecycleServer;
  let token: string;
  let database: any;
  let password: string;
  const drivers: Driver[] = [];

  function driverFor(username: string, pass: string): Driver {
    const d = neo4j.driver(database.connectionUrls.bolt, neo4j.auth.basic(username, pass), { connectionTimeout: 3_000, maxConnectionPoolSize: 1 });
    drivers.push(d);
    return d;
  }

  async function canConnect(username: string, pass: string): Promise<boolean> {
    const d = driverFor(username, pass);
    try {
      await d.executeQuery('RETURN 1');
      return true;
    } catch (err) {
      if (/auth|unauthori[sz]ed|credentials/i.test(String((err as Error).message) + String((err as { code?: string }).code))) return false;
      throw err;
    } finally {
      await d.close();
    }
  }

  before(async () => {
    server = await startLifecycleServer({ settings: SETTINGS });
    token = server.adminToken;
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'main');
    database = created.database;
    password = created.password;
  });

  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  test('rejects another vendor, unknown plan, version, region and environment with 400 naming them', async () => {
    const vendor = await server.request('GET', '/deployments/databases/neo5', { token });
    assert.deepEqual([vendor.status, vendor.body], [400, { error: "unsupported database vendor 'neo5'" }]);
    const base = { environmentId: server.environmentId, name: 'x1', plan: 'ds1', version: '5.26-grafeo' };
    const cases: [Record<string, string>, RegExp][] = [
      [{ plan: 'ds9' }, /plan 'ds9' does not exist/],
      [{ version: '4.0' }, /version '4.0' does not exist/],
      [{ version: '5.26' }, /version '5.26' runs on Neo4j, which is not installed on this server \(run 'allotrope engines install neo4j'/],
      [{ region: 'mars' }, /region 'mars' does not exist/],
      [{ environmentId: '0'.repeat(32) }, new RegExp(`environment '${'0'.repeat(32)}' does not exist`)],
      [{ name: 'bad name!' }, /name must be/],
    ];
    for (const [change, message] of cases) {
      const res = await server.request('POST', DB, { token, body: { ...base, ...change } });
      assert.equal(res.status, 400, `${JSON.stringify(change)}: ${res.text}`);
      assert.match(res.body.error, message);
    }
    const missing = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, plan: 'ds1' } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error, /name/);
    const badState = await server.request('GET', `${DB}?state=sleeping`, { token });
    assert.equal(badState.status, 400);
  });

  test('refuses a duplicate name in the same environment with 409 (form-encoded body)', async () => {
    const res = await server.request('POST', DB, { token, form: { environmentId: server.environmentId, name: 'main', plan: 'ds1' } });
    assert.equal(res.status, 409, res.text);
    assert.match(res.body.error, /a database named 'main' already exists/);
    const inEnv = await server.request('GET', `/deployments/environments/${server.environmentId}/databases`, { token });
    assert.equal(inEnv.status, 200);
    assert.deepEqual(inEnv.body.map((d: any) => d.name), ['main']);
    const filtered = await server.request('GET', `${DB}?environmentId=${server.environmentId}&state=running`, { token });
    assert.deepEqual(filtered.body.map((d: any) => d.id), [database.id]);
  });

  test("another organization's database is a 404, and an operator sees only its environments", async () => {
    const db = server.running.store.db;
    const org = await createOrganization(db, 'other', { now: () => new Date() });
    const other = await insertApiClient(db, org.id, { name: 'other admin', role: 'admin' }, { now: () => new Date() });
    const otherToken = await server.token({ clientId: other.client.clientId, clientSecret: other.clientSecret });
    for (const path of [`${DB}/${database.id}`, `${DB}/${database.id}/status`, `${DB}/${database.id}/operations`, `${DB}/${database.id}/users`]) {
      const res = await server.request('GET', path, { token: otherToken });
      assert.equal(res.status, 404, path);
      assert.deepEqual(res.body, { error: `database '${database.id}' does not exist` });
    }
    assert.equal((await server.request('PUT', `${DB}/${database.id}/pause`, { token: otherToken })).status, 404);
    assert.deepEqual((await server.request('GET', DB, { token: otherToken })).body, []);

    const env2 = await insertEnvironment(db, server.running.bootstrap!.organization.id, { label: 'elsewhere', type: 'development' }, { regions: server.config.regions, clock: { now: () => new Date() } });
    const operator = await insertApiClient(db, server.running.bootstrap!.organization.id, { name: 'op', role: 'operator', environmentIds: [env2.id] }, { now: () => new Date() });
    const opToken = await server.token({ clientId: operator.client.clientId, clientSecret: operator.clientSecret });
    assert.equal((await server.request('GET', `${DB}/${database.id}`, { token: opToken })).status, 404);
    assert.deepEqual((await server.request('GET', DB, { token: opToken })).body, []);
  });

  test('operators may not terminate or empty a production database (403); read-operators may not act at all', async () => {
    const db = server.running.store.db;
    const orgId = server.running.bootstrap!.organization.id;
    const prod = await insertEnvironment(db, orgId, { label: 'prod', type: 'production' }, { regions: server.config.regions, clock: { now: () => new Date() } });
    const operator = await insertApiClient(db, orgId, { name: 'prod op', role: 'operator', environmentIds: [prod.id] }, { now: () => new Date() });
    const opToken = await server.token({ clientId: operator.client.clientId, clientSecret: operator.clientSecret });
    const reader = await insertApiClient(db, orgId, { name: 'prod reader', role: 'read-operator', environmentIds: [prod.id] }, { now: () => new Date() });
    const readToken = await server.token({ clientId: reader.client.clientId, clientSecret: reader.clientSecret });

    const denied = await server.request('POST', DB, { token: readToken, body: { environmentId: prod.id, name: 'p', plan: 'ds1' } });
    assert.equal(denied.status, 403);
    const created = await createDatabaseAndWait(server, opToken, prod.id, 'prod-db');
    const id = created.database.id;
    const terminate = await server.request('DELETE', `${DB}/${id}`, { token: opToken });
    assert.deepEqual([terminate.status, terminate.body], [403, { error: "production environment: 'terminate' is not allowed for operators" }]);
    assert.equal((await server.request('PUT', `${DB}/${id}/empty`, { token: opToken })).status, 403);
    assert.equal((await server.request('GET', `${DB}/${id}`, { token: readToken })).status, 200);
    assert.equal((await server.request('PUT', `${DB}/${id}/pause`, { token: readToken })).status, 403);
    // The admin is not bound by the environment type.
    const byAdmin = await server.request('DELETE', `${DB}/${id}`, { token });
    assert.equal(byAdmin.status, 202);
    assert.equal((await waitForOperation(server, token, id, byAdmin.body.operationId)).status, 'finished');
  });

  test('PATCH renames and changes auto-pause and auto-resume; a taken name is a 409', async () => {
    const res = await server.request('PATCH', `${DB}/${database.id}`, { token, body: { name: 'main-renamed', autoPause: { enabled: true, idleMinutes: 30 }, autoResume: true } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.name, 'main-renamed');
    assert.deepEqual(res.body.autoPause, { enabled: true, idleMinutes: 30 });
    assert.equal(res.body.autoResume, true);
    const shorthand = await server.request('PATCH', `${DB}/${database.id}`, { token, body: { autoPause: false } });
    assert.deepEqual(shorthand.body.autoPause, { enabled: false, idleMinutes: 30 });
    const bad = await server.request('PATCH', `${DB}/${database.id}`, { token, body: { autoPause: { idleMinutes: 1 } } });
    assert.equal(bad.status, 400);
    const other = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'taken', plan: 'ds1' } });
    assert.equal(other.status, 202);
    const clash = await server.request('PATCH', `${DB}/${database.id}`, { token, body: { name: 'taken' } });
    assert.equal(clash.status, 409);
    // Two live databases now: one per page, the Link header leading to the other.
    const page1 = await server.request('GET', `${DB}?limit=1`, { token });
    assert.equal(page1.body.length, 1);
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link') ?? '')?.[1];
    assert.ok(next, 'a Link header to the next page');
    const page2 = await server.request('GET', new URL(next).pathname + new URL(next).search, { token });
    assert.equal(page2.body.length, 1);
    assert.deepEqual([page1.body[0].id, page2.body[0].id].sort(), [database.id, other.body.database.id].sort());
    assert.equal(page2.headers.get('link'), null);
    await waitForOperation(server, token, other.body.database.id, other.body.operationId);
    const term = await server.request('DELETE', `${DB}/${other.body.database.id}`, { token });
    await waitForOperation(server, token, other.body.database.id, term.body.operationId);
  });

  test('database users: created with a one-time password that works at once, reset, deleted — never listed with a password', async () => {
    assert.equal(await canConnect('neo4j', password), true);
    const created = await server.request('POST', `${DB}/${database.id}/users`, { token, body: { username: 'app', description: 'the app' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.username, 'app');
    assert.ok(created.body.password.length >= 24);
    assert.equal(created.body.expireAt, null);
    const first = created.body.password as string;
    await waitFor(() => canConnect('app', first), { timeoutMs: 5_000, intervalMs: 200, what: 'the new user to connect' });

    const list = await server.request('GET', `${DB}/${database.id}/users`, { token });
    assert.deepEqual(list.body.map((u: any) => u.username).sort(), ['app', 'neo4j']);
    assert.ok(list.body.every((u: any) => !('password' in u) && !('passwordHash' in u)));
    assert.ok(!list.text.includes('scrypt'));

    const dup = await server.request('POST', `${DB}/${database.id}/users`, { token, body: { username: 'app' } });
    assert.equal(dup.status, 409);

    const reset = await server.request('POST', `${DB}/${database.id}/users/${created.body.id}/password`, { token });
    assert.equal(reset.status, 200, reset.text);
    const second = reset.body.password as string;
    assert.notEqual(second, first);
    await waitFor(async () => (await canConnect('app', second)) && !(await canConnect('app', first)), { timeoutMs: 5_000, intervalMs: 200, what: 'the new password to replace the old' });

    const removed = await server.request('DELETE', `${DB}/${database.id}/users/${created.body.id}`, { token });
    assert.equal(removed.status, 204);
    await waitFor(async () => !(await canConnect('app', second)), { timeoutMs: 5_000, intervalMs: 200, what: 'the deleted user to be refused' });
    assert.equal((await server.request('DELETE', `${DB}/${database.id}/users/${created.body.id}`, { token })).status, 404);

    const generated = await server.request('POST', `${DB}/${database.id}/users`, { token });
    assert.equal(generated.status, 201, generated.text);
    assert.match(generated.body.username, /^user_[0-9a-f]{8}$/);
    const badExpiry = await server.request('POST', `${DB}/${database.id}/users`, { token, body: { expireAt: 'tomorrow-ish' } });
    assert.equal(badExpiry.status, 400);
  });

  test('a read-only user may read but not write; a user past its expireAt is refused without a restart', async () => {
    const reader = await server.request('POST', `${DB}/${database.id}/users`, { token, body: { username: 'reader', readOnly: true } });
    assert.equal(reader.status, 201, reader.text);
    assert.equal(reader.body.readOnly, true);
    await waitFor(() => canConnect('reader', reader.body.password), { timeoutMs: 5_000, intervalMs: 200, what: 'the reader to connect' });
    const d = driverFor('reader', reader.body.password);
    await assert.rejects(d.executeQuery('CREATE (:Nope)'), /read|write|access/i);
    await d.close();

    const expireAt = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const shortLived = await server.request('POST', `${DB}/${database.id}/users`, { token, body: { username: 'temp', expireAt: expireAt.toUTCString() } });
    assert.equal(shortLived.status, 201, shortLived.text);
    assert.equal(shortLived.body.expireAt, expireAt.toUTCString());
    assert.equal(await waitFor(() => canConnect('temp', shortLived.body.password), { timeoutMs: 5_000, intervalMs: 200, what: 'temp to connect' }), true);
    await waitFor(async () => Date.now() > expireAt.getTime() && !(await canConnect('temp', shortLived.body.password)), {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'the expired user to be refused',
    });
    assert.equal(await canConnect('neo4j', password), true);
  });

  test('settings/config: unknown keys are refused listing the supported ones, secrets are masked, a change needs a restart', async () => {
    const empty = await server.request('GET', `${DB}/${database.id}/settings/config`, { token });
    assert.deepEqual(empty.body, { configuration: [] });
    const unknown = await server.request('PUT', `${DB}/${database.id}/settings/config`, { token, body: { configuration: [{ key: 'dbms.nope', value: '1' }] } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /unknown setting 'dbms\.nope'; supported: server\.memory\.heap\.max_size, /);
    const badValue = await server.request('PUT', `${DB}/${database.id}/settings/config`, { token, body: { configuration: [{ key: 'server.memory.heap.max_size', value: 'lots' }] } });
    assert.equal(badValue.status, 400);

    const put = await server.request('PUT', `${DB}/${database.id}/settings/config`, {
      token,
      body: { configuration: [{ key: 'server.memory.heap.max_size', value: '256m' }, { key: 'test.secret', value: 's3cr3t-value' }] },
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.configuration, [
      { key: 'server.memory.heap.max_size', value: '256m', secret: false },
      { key: 'test.secret', value: '********', secret: true },
    ]);
    assert.ok(!put.text.includes('s3cr3t-value'));
    assert.equal((await server.request('GET', `${DB}/${database.id}/status`, { token })).body.needsRestart, true);

    // Only keys the runtime applies may reach a restart: drop the test-only secret, keep the heap bound.
    const onlyReal = await server.request('PUT', `${DB}/${database.id}/settings/config`, { token, body: { configuration: [{ key: 'server.memory.heap.max_size', value: '256m' }] } });
    assert.equal(onlyReal.status, 200);
    const restart = await server.request('POST', `${DB}/${database.id}/restart`, { token });
    assert.equal(restart.status, 202);
    assert.equal((await waitForOperation(server, token, database.id, restart.body.operationId)).status, 'finished');
    const status = await server.request('GET', `${DB}/${database.id}/status`, { token });
    assert.equal(status.body.needsRestart, false);
    assert.equal(await canConnect('neo4j', password), true);
  });

  test('a resume that cannot start the process fails with an actionable error and leaves the database paused', async () => {
    const off = await server.request('PATCH', `${DB}/${database.id}`, { token, body: { autoResume: false } });
    assert.equal(off.body.autoResume, false);
    const pause = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
    assert.equal((await waitForOperation(server, token, database.id, pause.body.operationId)).status, 'finished');
    // The public port belongs to the router now, so a node can no longer be kept out by it; what stops this
    // node is its data dir turned into a plain file.
    const dataDir = server.runtime.paths(database.nodes[0].stationId).dataDir;
    renameSync(dataDir, `${dataDir}.aside`);
    writeFileSync(dataDir, 'not a directory');
    try {
      const resume = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
      assert.equal(resume.status, 202);
      const op = await waitForOperation(server, token, database.id, resume.body.operationId);
      assert.equal(op.status, 'failed');
      assert.match(op.error, /before it was ready|was not ready|not a directory|ENOTDIR|EEXIST/);
      assert.doesNotMatch(op.error, /\n\s+at /);
      assert.equal(op.steps.at(-1).status, 'failed');
      const status = (await server.request('GET', `${DB}/${database.id}/status`, { token })).body;
      assert.equal(status.state, 'paused');
      assert.equal(await server.runtime.pidOf(database.nodes[0].stationId), undefined);
    } finally {
      rmSync(dataDir, { force: true });
      renameSync(`${dataDir}.aside`, dataDir);
    }
    const again = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
    assert.equal((await waitForOperation(server, token, database.id, again.body.operationId)).status, 'finished');
    assert.equal(await canConnect('neo4j', password), true);
  });
});
