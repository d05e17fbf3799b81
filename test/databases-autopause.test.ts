// Scale to zero against real graph-server processes. Auto-pause: a database with `autoPause` on is paused
// by the control plane once no transaction has begun for `idleMinutes`; a query or an open transaction
// restarts the idle time; a database with it off keeps running. The control plane's clock is moved forward
// (the graph-server only reports counters, so no process needs to wait minutes); health passes are run by
// the test. Auto-resume: a paused database with `autoResume` on has its ports held by the runtime, and the
// first client that connects resumes it — a driver's managed transaction just succeeds, a little later.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import neo4j, { type Driver } from 'neo4j-driver';
import type { Clock } from '../src/clock.js';
import { boltConnects } from './helpers/bolt-connects.js';
import { createDatabaseAndWait, startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';

/** Real time plus an offset the test moves forward. */
class SkippingClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  skipMinutes(minutes: number): void {
    this.offsetMs += minutes * 60_000;
  }
}

describe('auto-pause and auto-resume', () => {
  const clock = new SkippingClock();
  let server: LifecycleServer;
  let token: string;
  const drivers: Driver[] = [];

  before(async () => {
    // Health passes only when the test runs them.
    server = await startLifecycleServer({ clock, healthIntervalMs: 3_600_000 });
    token = server.adminToken;
  });
  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  function driverFor(created: { database: any; password: string }): Driver {
    const d = neo4j.driver(created.database.connectionUrls.bolt, neo4j.auth.basic('neo4j', created.password));
    drivers.push(d);
    return d;
  }

  async function pauseOperation(id: string): Promise<any | undefined> {
    const ops = (await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[];
    return ops.find((op) => op.operationType === 'pause');
  }

  it('pauses a database after idleMinutes without a transaction, and not before', async () => {
    const sleepy = await createDatabaseAndWait(server, token, server.environmentId, 'sleepy');
    const awake = await createDatabaseAndWait(server, token, server.environmentId, 'awake');
    const id = sleepy.database.id;
    const patched = await server.request('PATCH', `${DB}/${id}`, { token, body: { autoPause: { enabled: true, idleMinutes: 5 } } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.autoPause, { enabled: true, idleMinutes: 5 });
    const d = driverFor(sleepy);
    await d.executeQuery('CREATE (:Kept {v: 1})');

    await server.lifecycle.checkHealth(); // first look: the idle time starts here
    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'four idle minutes are not five');

    // A query restarts the idle time.
    await d.executeQuery('MATCH (n) RETURN count(n) AS c');
    clock.skipMinutes(2);
    await server.lifecycle.checkHealth();
    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'the query four minutes ago keeps it running');

    // So does a transaction left open, however long.
    const session = d.session();
    const tx = await session.beginTransaction();
    await tx.run('RETURN 1');
    clock.skipMinutes(1);
    await server.lifecycle.checkHealth();
    clock.skipMinutes(30);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'an open transaction keeps it running');
    await tx.commit();
    await session.close();

    clock.skipMinutes(1);
    await server.lifecycle.checkHealth();
    clock.skipMinutes(5);
    await server.lifecycle.checkHealth();
    const op = await pauseOperation(id);
    assert.ok(op, 'paused after five idle minutes');
    assert.match(op.description, /Auto-pause database sleepy: no queries for 5 minutes/);
    assert.equal((await waitForOperation(server, token, id, op.id)).status, 'finished');
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'paused');
    // The other database, auto-pause off, saw the same 43 idle minutes and keeps running.
    assert.equal(await pauseOperation(awake.database.id), undefined);
    assert.equal((await server.request('GET', `${DB}/${awake.database.id}`, { token })).body.status.state, 'running');

    // Resumed, it serves its data and the idle time starts over.
    const resume = await server.request('PUT', `${DB}/${id}/resume`, { token });
    assert.equal((await waitForOperation(server, token, id, resume.body.operationId)).status, 'finished');
    const { records } = await d.executeQuery('MATCH (n:Kept) RETURN count(n) AS c');
    assert.equal(records[0]!.get('c').toNumber(), 1);
    await server.lifecycle.checkHealth();
    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    const ops = (await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[];
    assert.equal(ops.filter((o) => o.operationType === 'pause').length, 1);
  });

  it('resumes a paused database when a client connects, if autoResume is on', async () => {
    token = await server.token();
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'napper');
    const id = created.database.id;
    const first = driverFor(created);
    await first.executeQuery('CREATE (:Kept {v: 2})');
    await first.close();
    const patched = await server.request('PATCH', `${DB}/${id}`, { token, body: { autoResume: true } });
    assert.equal(patched.body.autoResume, true);
    const pause = await server.request('PUT', `${DB}/${id}/pause`, { token });
    assert.equal((await waitForOperation(server, token, id, pause.body.operationId)).status, 'finished');
    await server.lifecycle.checkHealth(); // parks it: the runtime now holds its ports

    // A new application connection: the first attempt is turned away, the driver retries, the resume
    // has started meanwhile, and the query answers.
    const started = Date.now();
    const app = driverFor(created);
    const { records } = await app.executeQuery('MATCH (n:Kept) RETURN count(n) AS c');
    assert.equal(records[0]!.get('c').toNumber(), 1);
    const wokeInMs = Date.now() - started;
    const resumes = ((await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[]).filter((o) => o.operationType === 'resume');
    assert.equal(resumes.length, 1);
    assert.match(resumes[0].description, /Auto-resume database napper: a client connected/);
    assert.equal((await waitForOperation(server, token, id, resumes[0].id)).status, 'finished');
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'running');
    console.log(`# auto-resume: paused database answered its first query ${wokeInMs} ms after the driver was asked`);

    // Over HTTP the knock gets 503 with Retry-After, and wakes it just the same.
    const pauseAgain = await server.request('PUT', `${DB}/${id}/pause`, { token });
    await waitForOperation(server, token, id, pauseAgain.body.operationId);
    await server.lifecycle.checkHealth();
    const knock = await fetch(`${created.database.connectionUrls.http}/db/neo4j/query/v2`, { method: 'POST', body: '{"statement":"RETURN 1"}', headers: { 'content-type': 'application/json' } });
    assert.equal(knock.status, 503);
    assert.equal(knock.headers.get('retry-after'), '2');
    assert.match(await knock.text(), /DatabaseUnavailable/);
    const second = await waitFor(
      async () => ((await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[]).find((o) => o.operationType === 'resume' && o.id !== resumes[0].id),
      { what: 'a second auto-resume' },
    );
    assert.equal((await waitForOperation(server, token, id, second.id)).status, 'finished');

    // Switched off, a paused database's ports are let go: connections are refused and nothing resumes it.
    await server.request('PATCH', `${DB}/${id}`, { token, body: { autoResume: false } });
    const pauseLast = await server.request('PUT', `${DB}/${id}/pause`, { token });
    await waitForOperation(server, token, id, pauseLast.body.operationId);
    await server.lifecycle.checkHealth();
    assert.equal(await boltConnects(created.database.connectionUrls.bolt, 'neo4j', created.password), false);
    const ops = ((await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[]).filter((o) => o.operationType === 'resume');
    assert.equal(ops.length, 2);
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'paused');
  });

  it('validates autoPause and stops pausing once it is switched off', async () => {
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'switch');
    const id = created.database.id;
    const bad = await server.request('PATCH', `${DB}/${id}`, { token, body: { autoPause: { enabled: true, idleMinutes: 2 } } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /autoPause\.idleMinutes/);
    await server.request('PATCH', `${DB}/${id}`, { token, body: { autoPause: { enabled: true, idleMinutes: 5 } } });
    await server.lifecycle.checkHealth();
    await server.request('PATCH', `${DB}/${id}`, { token, body: { autoPause: { enabled: false } } });
    clock.skipMinutes(10);
    await server.lifecycle.checkHealth();
    token = await server.token(); // the skipped time outlived the first token
    assert.equal(await pauseOperation(id), undefined);
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'running');
  });
});
