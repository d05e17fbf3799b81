// The database lifecycle through the management API, with real graph-server processes reached by the
// official neo4j-driver: create, pause/resume, restart, empty, plan change, terminate, and the 409s.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import { portIsFree } from '../src/domain/ports.js';
import { createDatabaseAndWait, startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function countPeople(driver: Driver): Promise<number> {
  const { records } = await driver.executeQuery('MATCH (p:Person) RETURN count(p) AS c');
  return (records[0]!.get('c') as { toNumber(): number }).toNumber();
}

describe('database lifecycle API with real graph-servers', () => {
  let server: LifecycleServer;
  let token: string;
  let database: any;
  let password: string;
  let driver: Driver | undefined;
  const drivers: Driver[] = [];

  function connect(): Driver {
    const d = neo4j.driver(database.connectionUrls.bolt, neo4j.auth.basic('neo4j', password), { connectionTimeout: 3_000, maxConnectionPoolSize: 2 });
    drivers.push(d);
    return d;
  }

  before(async () => {
    server = await startLifecycleServer();
    token = server.adminToken;
  });

  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  test('create answers 202 with the database, operation and credentials; the operation ends finished with its steps', async () => {
    const res = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'orders', plan: 'ds1', version: '5.26-grafeo' } });
    assert.equal(res.status, 202, res.text);
    assert.match(res.body.operationId, /^[0-9a-f]{32}$/);
    assert.equal(res.body.credentials.username, 'neo4j');
    assert.ok(res.body.credentials.password.length >= 24);
    database = res.body.database;
    password = res.body.credentials.password;
    assert.equal(database.name, 'orders');
    assert.equal(database.status.state, 'provisioning');
    assert.equal(database.status.isPending, true);
    assert.equal(database.status.isLocked, true);
    assert.equal(database.domainName, '127.0.0.1');
    assert.equal(database.connectionUrls.bolt, `bolt://127.0.0.1:${database.boltPort}`);
    assert.notEqual(database.boltPort, database.httpPort);
    const [first, last] = server.config.dbPorts ? [server.config.dbPorts.first, server.config.dbPorts.last] : [0, 0];
    assert.ok(database.boltPort >= first && database.boltPort <= last && database.httpPort >= first && database.httpPort <= last);
    assert.match(database.createdAt, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);

    const op = await waitForOperation(server, token, database.id, res.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    assert.equal(op.operationType, 'create');
    assert.match(op.startedAt, /^\d+$/);
    assert.match(op.finishedAt, /^\d+$/);
    assert.deepEqual(op.steps.map((s: any) => s.name), ['provision-node', 'write-users', 'restore-snapshot', 'start-node']);
    assert.ok(op.steps.every((s: any) => s.status === 'finished'));

    const got = await server.request('GET', `${DB}/${database.id}`, { token });
    assert.equal(got.status, 200);
    assert.deepEqual(
      { state: got.body.status.state, isPending: got.body.status.isPending, isLocked: got.body.status.isLocked, underIncident: got.body.status.underIncident, needsRestart: got.body.status.needsRestart },
      { state: 'running', isPending: false, isLocked: false, underIncident: false, needsRestart: false },
    );
  });

  test('neo4j-driver connects with the returned URL and credentials and writes and reads data', async () => {
    driver = connect();
    await driver.executeQuery('UNWIND range(1, 25) AS i CREATE (:Person {i: i})');
    assert.equal(await countPeople(driver), 25);
    // The routing URL works too: the node advertises the database's domainName and port.
    const routed = neo4j.driver(database.connectionUrls.neo4j, neo4j.auth.basic('neo4j', password), { connectionTimeout: 3_000 });
    drivers.push(routed);
    assert.equal(await countPeople(routed), 25);
    await routed.close();
    const status = await server.request('GET', `${DB}/${database.id}/status`, { token });
    assert.equal(status.status, 200);
    assert.equal(status.body.state, 'running');
  });

  test('of several actions sent at once exactly one is accepted; the others get 409', async () => {
    const answers = await Promise.all([
      server.request('PUT', `${DB}/${database.id}/restart`, { token }),
      server.request('POST', `${DB}/${database.id}/restart`, { token, body: { reset: false } }),
      server.request('PUT', `${DB}/${database.id}/empty`, { token }),
      server.request('PUT', `${DB}/${database.id}/plan/change`, { token, body: { targetPlanName: 'ds3' } }),
    ]);
    const accepted = answers.filter((a) => a.status === 202);
    assert.equal(accepted.length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
    for (const a of answers.filter((x) => x.status !== 202)) {
      assert.deepEqual([a.status, a.body], [409, { error: `operation ${accepted[0]!.body.operationId} is in progress` }]);
    }
    const op = await waitForOperation(server, token, database.id, accepted[0]!.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    if (op.nextOperationId) await waitForOperation(server, token, database.id, op.nextOperationId);
    if (op.operationType === 'empty') await driver!.executeQuery('UNWIND range(1, 25) AS i CREATE (:Person {i: i})');
    if (op.operationType === 'change-plan') {
      const back = await server.request('PUT', `${DB}/${database.id}/plan/change`, { token, body: { targetPlanName: 'ds1' } });
      const backOp = await waitForOperation(server, token, database.id, back.body.operationId);
      await waitForOperation(server, token, database.id, backOp.nextOperationId);
    }
    await driver!.close();
    driver = connect();
    assert.equal(await countPeople(driver), 25);
  });

  test('refuses a second action while an operation holds the database with 409 naming it', async () => {
    const pause = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
    assert.equal(pause.status, 202, pause.text);
    const restart = await server.request('POST', `${DB}/${database.id}/restart`, { token });
    assert.equal(restart.status, 409);
    assert.deepEqual(restart.body, { error: `operation ${pause.body.operationId} is in progress` });
    const op = await waitForOperation(server, token, database.id, pause.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
  });

  test('a paused database refuses connections, has no process and keeps its data; resume brings the data back', async () => {
    const stationId = database.nodes[0].stationId;
    const got = await server.request('GET', `${DB}/${database.id}`, { token });
    assert.equal(got.body.status.state, 'paused');
    assert.equal(await server.runtime.pidOf(stationId), undefined);
    // The router keeps the port and says why (a Bolt FAILURE), instead of a closed socket.
    const probe = connect();
    await assert.rejects(probe.verifyConnectivity(), (err: { code?: string; message: string }) => {
      assert.equal(err.code, 'Neo.TransientError.General.DatabaseUnavailable');
      assert.match(err.message, /is paused and auto-resume is off/);
      return true;
    });

    const again = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
    assert.equal(again.status, 409);
    assert.match(again.body.error, /database is paused; pause needs a database that is running/);

    const resume = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
    assert.equal(resume.status, 202, resume.text);
    const op = await waitForOperation(server, token, database.id, resume.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    await driver!.close();
    driver = connect();
    assert.equal(await countPeople(driver), 25);
    const pid = await server.runtime.pidOf(stationId);
    assert.ok(pid && isAlive(pid));

    const resumeRunning = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
    assert.equal(resumeRunning.status, 409);
  });

  test('restart (and reset) replaces the process and keeps the data', async () => {
    const stationId = database.nodes[0].stationId;
    const before = (await server.runtime.pidOf(stationId))!;
    const res = await server.request('PUT', `${DB}/${database.id}/restart`, { token, body: { reset: true } });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual({ stationIds: res.body.stationIds, reset: res.body.reset }, { stationIds: [stationId], reset: true });
    const during = await server.request('GET', `${DB}/${database.id}/status`, { token });
    assert.equal(during.body.isLocked, true);
    const op = await waitForOperation(server, token, database.id, res.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    const afterPid = await server.runtime.pidOf(stationId);
    assert.ok(afterPid && afterPid !== before && !isAlive(before));
    await driver!.close();
    driver = connect();
    assert.equal(await countPeople(driver), 25);

    const unknownStation = await server.request('POST', `${DB}/${database.id}/restart`, { token, body: { stationIds: ['nope'] } });
    assert.equal(unknownStation.status, 400);
    assert.match(unknownStation.body.error, /station 'nope' is not a node/);
  });

  test('a plan change on a running database hands over to a restart with nextOperationId', async () => {
    const bad = await server.request('PUT', `${DB}/${database.id}/plan/change`, { token, body: { targetPlanName: 'ds99' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /plan 'ds99' does not exist/);
    const res = await server.request('POST', `${DB}/${database.id}/plan/change`, { token, body: { targetPlanName: 'ds2' } });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, token, database.id, res.body.operationId);
    assert.equal(op.status, 'finished');
    assert.match(op.nextOperationId ?? '', /^[0-9a-f]{32}$/);
    const next = await waitForOperation(server, token, database.id, op.nextOperationId);
    assert.equal(next.operationType, 'restart');
    assert.equal(next.status, 'finished', JSON.stringify(next));
    const got = await server.request('GET', `${DB}/${database.id}`, { token });
    assert.equal(got.body.plan, 'ds2');
    assert.equal(got.body.status.state, 'running');
    await driver!.close();
    driver = connect();
    assert.equal(await countPeople(driver), 25);
  });

  test('lists operations newest first and 404s an unknown one', async () => {
    const res = await server.request('GET', `${DB}/${database.id}/operations`, { token });
    assert.equal(res.status, 200);
    const types = res.body.map((o: any) => o.operationType);
    assert.deepEqual(types.slice(0, 2), ['restart', 'change-plan']);
    assert.equal(types.at(-1), 'create');
    assert.ok(types.includes('pause') && types.indexOf('resume') < types.indexOf('pause'));
    const started = res.body.map((o: any) => Number(o.startedAt));
    assert.deepEqual(started, [...started].sort((a: number, b: number) => b - a));
    const paged = await server.request('GET', `${DB}/${database.id}/operations?limit=2`, { token });
    assert.equal(paged.body.length, 2);
    assert.match(paged.headers.get('link') ?? '', /rel="next"/);
    const missing = await server.request('GET', `${DB}/${database.id}/operations/${'0'.repeat(32)}`, { token });
    assert.equal(missing.status, 404);
  });

  test('empty deletes all data and keeps the database running', async () => {
    const res = await server.request('PUT', `${DB}/${database.id}/empty`, { token });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, token, database.id, res.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    await driver!.close();
    driver = connect();
    assert.equal(await countPeople(driver), 0);
    assert.equal((await server.request('GET', `${DB}/${database.id}/status`, { token })).body.state, 'running');
  });

  test('terminate removes the process and the files, frees the ports, and hides the database from the default list', async () => {
    const stationId = database.nodes[0].stationId;
    const pid = (await server.runtime.pidOf(stationId))!;
    await driver!.close();
    const res = await server.request('DELETE', `${DB}/${database.id}`, { token });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, token, database.id, res.body.operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    assert.deepEqual(op.steps.map((s: any) => s.name), ['take-final-snapshot', 'destroy-nodes']);
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(server.runtime.paths(stationId).root), false);
    // The router lets the endpoint go once it reads the terminated state (its next table read, ≤ 250 ms).
    await waitFor(() => portIsFree(database.boltPort, '127.0.0.1'), { timeoutMs: 5_000, what: 'the router to let the port of the terminated database go' });

    const list = await server.request('GET', DB, { token });
    assert.ok(!list.body.some((d: any) => d.id === database.id));
    const terminated = await server.request('GET', `${DB}?state=terminated`, { token });
    assert.ok(terminated.body.some((d: any) => d.id === database.id && d.status.state === 'terminated'));
    const again = await server.request('DELETE', `${DB}/${database.id}`, { token });
    assert.equal(again.status, 409);

    // The freed pair is handed out again (the range belongs to this test), and the name is free again.
    const reused = await createDatabaseAndWait(server, token, server.environmentId, 'orders');
    assert.equal(reused.database.boltPort, database.boltPort);
    const term = await server.request('DELETE', `${DB}/${reused.database.id}`, { token });
    await waitForOperation(server, token, reused.database.id, term.body.operationId);
  });

  test('a graph-server killed behind our back shows underIncident and comes back by itself', async () => {
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'incident');
    database = created.database;
    password = created.password;
    const stationId = database.nodes[0].stationId;
    driver = connect();
    await driver.executeQuery('CREATE (:Person {i: 1})');
    const pid = (await server.runtime.pidOf(stationId))!;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await server.request('GET', `${DB}/${database.id}/status`, { token })).body.underIncident === true, {
      timeoutMs: 10_000,
      what: 'underIncident',
    });
    await waitFor(async () => {
      const status = (await server.request('GET', `${DB}/${database.id}/status`, { token })).body;
      return status.underIncident === false && status.lastHealthCheckStatus.status === 'healthy';
    }, { timeoutMs: 20_000, intervalMs: 100, what: 'the node to come back' });
    const newPid = await server.runtime.pidOf(stationId);
    assert.ok(newPid && newPid !== pid);
    await driver.close();
    driver = connect();
    assert.equal(await countPeople(driver), 1);
    assert.equal((await server.request('GET', `${DB}/${database.id}/status`, { token })).body.state, 'running');
  });
});
