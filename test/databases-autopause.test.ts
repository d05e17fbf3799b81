// Scale to zero against real graph-server processes and the router. Auto-pause: a database with `autoPause`
// on is paused by the control plane's scheduler once the router has seen no open connection and no traffic
// for `idleMinutes` (its view is in the store, database_activity); an open connection keeps it running; a
// database with it off keeps running. The control plane's clock is moved forward; health passes are run by
// the test. Auto-resume: the router holds the first connection to a paused database with `autoResume` on
// while its resume runs — a driver's first query (neo4j-driver 5 and 6) and an HTTP request just take longer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import neo4j, { type Driver } from 'neo4j-driver';
import type { Clock } from '../src/clock.js';
import neo4j5 from 'neo4j-driver-5';
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

  /** The router's view of a database, once it has written it (throttled to about a second). */
  async function activitySettled(id: string, open: number, since: number): Promise<void> {
    await waitFor(
      async () => {
        const row = await server.running.store.db.selectFrom('database_activity').selectAll().where('database_id', '=', id).executeTakeFirst();
        return row !== undefined && row.open_connections === open && Date.parse(row.last_activity_at) >= since;
      },
      { timeoutMs: 10_000, what: `the router to record ${open} open connection(s)` },
    );
  }

  it('pauses a database after idleMinutes without a connection or traffic (as the router sees it), and not before', async () => {
    const sleepy = await createDatabaseAndWait(server, token, server.environmentId, 'sleepy');
    const awake = await createDatabaseAndWait(server, token, server.environmentId, 'awake');
    const id = sleepy.database.id;
    const patched = await server.request('PATCH', `${DB}/${id}`, { token, body: { autoPause: { enabled: true, idleMinutes: 5 } } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.autoPause, { enabled: true, idleMinutes: 5 });
    let d = driverFor(sleepy);
    await d.executeQuery('CREATE (:Kept {v: 1})');
    await d.close();
    await activitySettled(id, 0, Date.now() - 60_000);

    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'four idle minutes are not five');

    // An open connection keeps it running, however long it stays quiet.
    d = driverFor(sleepy);
    const session = d.session();
    const tx = await session.beginTransaction();
    await tx.run('RETURN 1');
    await activitySettled(id, 1, 0);
    clock.skipMinutes(30);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'an open connection keeps it running');
    await tx.commit();
    await session.close();
    await d.close();
    const closedAt = Date.now();
    await activitySettled(id, 0, closedAt - 1_000);
    // Time goes on from the last traffic (the router writes real time; the test's clock catches up to it).
    clock.offsetMs = 0;
    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    assert.equal(await pauseOperation(id), undefined, 'four minutes after the last traffic are not five');

    clock.skipMinutes(2);
    await server.lifecycle.checkHealth();
    const op = await pauseOperation(id);
    assert.ok(op, 'paused after five idle minutes');
    assert.match(op.description, /Auto-pause database sleepy: no queries for 5 minutes/);
    assert.equal((await waitForOperation(server, token, id, op.id)).status, 'finished');
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'paused');
    // The other database, auto-pause off, saw the same idle minutes and keeps running.
    assert.equal(await pauseOperation(awake.database.id), undefined);
    assert.equal((await server.request('GET', `${DB}/${awake.database.id}`, { token })).body.status.state, 'running');

    // Resumed, it serves its data and the idle time starts over.
    const resume = await server.request('PUT', `${DB}/${id}/resume`, { token });
    assert.equal((await waitForOperation(server, token, id, resume.body.operationId)).status, 'finished');
    d = driverFor(sleepy);
    const { records } = await d.executeQuery('MATCH (n:Kept) RETURN count(n) AS c');
    assert.equal(records[0]!.get('c').toNumber(), 1);
    await d.close();
    await server.lifecycle.checkHealth();
    clock.skipMinutes(4);
    await server.lifecycle.checkHealth();
    const ops = (await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[];
    assert.equal(ops.filter((o) => o.operationType === 'pause').length, 1);
    clock.offsetMs = 0;
  });

  it('holds the first connection to a paused database with autoResume while it resumes (drivers 5 and 6, HTTP)', async () => {
    token = await server.token();
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'napper');
    const id = created.database.id;
    const first = driverFor(created);
    await first.executeQuery('CREATE (:Kept {v: 2})');
    await first.close();
    const patched = await server.request('PATCH', `${DB}/${id}`, { token, body: { autoResume: true } });
    assert.equal(patched.body.autoResume, true);
    const pause = async () => {
      const p = await server.request('PUT', `${DB}/${id}/pause`, { token });
      assert.equal((await waitForOperation(server, token, id, p.body.operationId)).status, 'finished');
    };
    const resumes = async () => ((await server.request('GET', `${DB}/${id}/operations`, { token })).body as any[]).filter((o) => o.operationType === 'resume');

    // A new application connection is held by the router while the resume runs: no client error at all.
    for (const [i, module] of [neo4j, neo4j5 as unknown as typeof neo4j].entries()) {
      await pause();
      const started = Date.now();
      const app = module.driver(created.database.connectionUrls.neo4j, module.auth.basic('neo4j', created.password), { maxTransactionRetryTime: 0 });
      try {
        const { records } = await app.executeQuery('MATCH (n:Kept) RETURN count(n) AS c');
        assert.equal(Number(records[0]!.get('c')), 1);
      } finally {
        await app.close();
      }
      console.log(`# auto-resume (driver ${i === 0 ? 6 : 5}): paused database answered its first query ${Date.now() - started} ms after the driver was asked`);
      const done = await resumes();
      assert.equal(done.length, i + 1);
      assert.match(done[0].description, /Auto-resume database napper: a client connected/);
      assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'running');
    }

    // Over HTTP the request is held the same way and answered once the database runs.
    await pause();
    const res = await fetch(`${created.database.connectionUrls.http}/db/neo4j/query/v2`, {
      method: 'POST',
      body: '{"statement":"MATCH (n:Kept) RETURN count(n) AS c"}',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`neo4j:${created.password}`).toString('base64')}` },
    });
    assert.equal(res.status, 202, await res.clone().text());
    assert.deepEqual(((await res.json()) as { data: { values: unknown[] } }).data.values, [[1]]);
    assert.equal((await resumes()).length, 3);

    // Switched off, a paused database answers a Bolt FAILURE saying so, and nothing resumes it.
    await server.request('PATCH', `${DB}/${id}`, { token, body: { autoResume: false } });
    await pause();
    const off = neo4j.driver(created.database.connectionUrls.bolt, neo4j.auth.basic('neo4j', created.password));
    await assert.rejects(off.verifyConnectivity(), (err: { code?: string; message: string }) => {
      assert.equal(err.code, 'Neo.TransientError.General.DatabaseUnavailable');
      assert.match(err.message, /paused and auto-resume is off/);
      return true;
    });
    await off.close();
    assert.equal((await resumes()).length, 3);
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
