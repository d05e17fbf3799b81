// Crash safety: the control plane (a child process running the real `allotrope serve`, lifecycle and
// backups as shipped) is killed with SIGKILL while create, restart and terminate operations run; after
// the next start every operation ends, and every database's state matches what its process does
// (running ⇔ a live, reachable graph-server; otherwise none and a free port).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { portIsFree } from '../src/domain/ports.js';
import {
  createDatabaseAndWait,
  removeDataDir,
  startLifecycleServerProcess,
  testPortRange,
  waitForOperation,
  type LifecycleServerProcess,
} from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';

/** pids of graph-server processes whose command line names this data directory, by station id. */
function nodeProcesses(dataDir: string): Map<string, number[]> {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const byStation = new Map<string, number[]>();
  const marker = join(dataDir, 'runtime', 'nodes') + '/';
  for (const line of out.split('\n')) {
    const at = line.indexOf(marker);
    if (at < 0 || !line.includes('graph-server')) continue;
    const station = line.slice(at + marker.length).split('/')[0]!;
    const pid = Number(line.trim().split(/\s+/)[0]);
    byStation.set(station, [...(byStation.get(station) ?? []), pid]);
  }
  return byStation;
}

async function canQuery(url: string, password: string): Promise<number> {
  const driver = neo4j.driver(url, neo4j.auth.basic('neo4j', password), { connectionTimeout: 3_000, maxConnectionPoolSize: 1 });
  try {
    const { records } = await driver.executeQuery('MATCH (n:Mark) RETURN count(n) AS c');
    return (records[0]!.get('c') as { toNumber(): number }).toNumber();
  } finally {
    await driver.close();
  }
}

describe('control plane killed with SIGKILL during operations', () => {
  const dbPorts = testPortRange(30);
  let dataDir: string | undefined;
  let server: LifecycleServerProcess | undefined;
  const passwords = new Map<string, string>();

  before(async () => {
    server = await startLifecycleServerProcess({ dbPorts });
    dataDir = server.dataDir;
  });

  after(async () => {
    await server?.stop();
    if (dataDir) {
      // Whatever happened, leave no graph-server of this test running.
      for (const pids of nodeProcesses(dataDir).values()) for (const pid of pids) process.kill(pid, 'SIGKILL');
      removeDataDir(dataDir);
    }
  });

  async function assertConsistent(s: LifecycleServerProcess, token: string): Promise<void> {
    const all = [
      ...(await s.request('GET', DB, { token })).body,
      ...(await s.request('GET', `${DB}?state=terminated`, { token })).body,
    ];
    // Every operation has ended.
    for (const d of all) {
      const ops = (await s.request('GET', `${DB}/${d.id}/operations`, { token })).body;
      for (const op of ops) assert.notEqual(op.status, 'started', `operation ${op.operationType} of ${d.name} still started: ${JSON.stringify(op)}`);
    }
    const processes = nodeProcesses(dataDir!);
    for (const d of all) {
      const state = (await s.request('GET', `${DB}/${d.id}/status`, { token })).body.state;
      const stationId = d.nodes[0].stationId;
      const pids = processes.get(stationId) ?? [];
      if (state === 'running') {
        assert.equal(pids.length, 1, `${d.name} is running with processes ${JSON.stringify(pids)}`);
        const count = await waitFor(() => canQuery(d.connectionUrls.bolt, passwords.get(d.id)!).then((c) => c + 1), { timeoutMs: 10_000, what: `${d.name} to answer` });
        assert.ok(count >= 1);
      } else {
        assert.ok(['terminated', 'failed', 'paused'].includes(state), `${d.name} is ${state}`);
        assert.equal(pids.length, 0, `${d.name} is ${state} but has processes ${JSON.stringify(pids)}`);
        // A paused or failed database keeps its endpoint (the router holds its port for it); a terminated one's
        // port may already serve a newer database, otherwise nothing holds it.
        const reused = all.some((o) => o.id !== d.id && o.boltPort === d.boltPort && o.status.state !== 'terminated');
        if (state === 'terminated' && !reused) {
          await waitFor(() => portIsFree(d.boltPort, '127.0.0.1'), { timeoutMs: 10_000, what: `the port of terminated ${d.name} to be let go` });
        }
      }
      if (state === 'terminated') assert.equal(existsSync(join(dataDir!, 'runtime', 'nodes', stationId)), false);
    }
    // No process of a station the store does not know.
    const known = new Set(all.map((d) => d.nodes[0].stationId));
    for (const station of processes.keys()) assert.ok(known.has(station), `orphan process of station ${station}`);
  }

  test('kills during create, restart and terminate; the next start ends every operation and agrees with the processes', async () => {
    let s = server!;
    let token = await s.token();
    const envId = (await s.request('GET', '/deployments/environments', { token })).body[0].id;
    const keep = await createDatabaseAndWait(s, token, envId, 'keep');
    passwords.set(keep.database.id, keep.password);
    await neo4j
      .driver(keep.database.connectionUrls.bolt, neo4j.auth.basic('neo4j', keep.password))
      .executeQuery('CREATE (:Mark {v: 1})')
      .catch((err: unknown) => assert.fail(String(err)));
    const doomed = await createDatabaseAndWait(s, token, envId, 'doomed');
    passwords.set(doomed.database.id, doomed.password);

    // Round 1: kill while steps are running.
    const created = await s.request('POST', DB, { token, body: { environmentId: envId, name: 'newborn', plan: 'ds1' } });
    assert.equal(created.status, 202, created.text);
    passwords.set(created.body.database.id, created.body.credentials.password);
    const restart = await s.request('POST', `${DB}/${keep.database.id}/restart`, { token });
    assert.equal(restart.status, 202, restart.text);
    const terminate = await s.request('DELETE', `${DB}/${doomed.database.id}`, { token });
    assert.equal(terminate.status, 202, terminate.text);
    const inFlight: [string, string][] = [
      [created.body.database.id, created.body.operationId],
      [keep.database.id, restart.body.operationId],
      [doomed.database.id, terminate.body.operationId],
    ];
    await waitFor(async () => {
      for (const [dbId, opId] of inFlight) {
        const op = (await s.request('GET', `${DB}/${dbId}/operations/${opId}`, { token })).body;
        if (op.status !== 'started' || op.steps.length === 0) return false;
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 20, what: 'all three operations to be running a step' });
    await s.kill();

    s = server = await startLifecycleServerProcess({ dataDir: dataDir!, dbPorts });
    token = await s.token();
    const ends = new Map<string, string>();
    let resumed = 0;
    for (const [dbId, opId] of inFlight) {
      const op = await waitForOperation(s, token, dbId, opId, 60_000);
      ends.set(opId, op.status);
      if (op.steps.some((step: any) => /resumed after the control plane restarted/.test(step.message ?? ''))) resumed++;
    }
    assert.ok(resumed >= 1, 'at least one operation was caught mid-step and resumed');
    await assertConsistent(s, token);
    assert.equal(ends.get(restart.body.operationId), 'finished');
    assert.equal(await canQuery(keep.database.connectionUrls.bolt, keep.password), 1, 'restart kept the data across the crash');

    // Round 2: kill right after the requests were accepted, before workers got far.
    const second = await s.request('POST', DB, { token, body: { environmentId: envId, name: 'second', plan: 'ds1' } });
    assert.equal(second.status, 202, second.text);
    passwords.set(second.body.database.id, second.body.credentials.password);
    const pause = await s.request('PUT', `${DB}/${keep.database.id}/pause`, { token });
    assert.equal(pause.status, 202, pause.text);
    await s.kill();

    s = server = await startLifecycleServerProcess({ dataDir: dataDir!, dbPorts });
    token = await s.token();
    await waitForOperation(s, token, second.body.database.id, second.body.operationId, 60_000);
    await waitForOperation(s, token, keep.database.id, pause.body.operationId, 60_000);
    await assertConsistent(s, token);

    // Round 3: kill at a random moment while a resume and a pause run side by side.
    const resumeKeep = await s.request('PUT', `${DB}/${keep.database.id}/resume`, { token });
    assert.equal(resumeKeep.status, 202, resumeKeep.text);
    const pauseSecond = await s.request('PUT', `${DB}/${second.body.database.id}/pause`, { token });
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 1500)));
    await s.kill();
    s = server = await startLifecycleServerProcess({ dataDir: dataDir!, dbPorts });
    token = await s.token();
    assert.equal((await waitForOperation(s, token, keep.database.id, resumeKeep.body.operationId, 60_000)).status, 'finished');
    if (pauseSecond.status === 202) await waitForOperation(s, token, second.body.database.id, pauseSecond.body.operationId, 60_000);
    await assertConsistent(s, token);
    const keepState = (await s.request('GET', `${DB}/${keep.database.id}/status`, { token })).body.state;
    if (keepState === 'running') {
      const pauseAgain = await s.request('PUT', `${DB}/${keep.database.id}/pause`, { token });
      await waitForOperation(s, token, keep.database.id, pauseAgain.body.operationId);
    }

    // After all that, the paused database resumes with its data.
    const resume = await s.request('PUT', `${DB}/${keep.database.id}/resume`, { token });
    assert.equal(resume.status, 202, resume.text);
    assert.equal((await waitForOperation(s, token, keep.database.id, resume.body.operationId)).status, 'finished');
    assert.equal(await canQuery(keep.database.connectionUrls.bolt, keep.password), 1);
    await assertConsistent(s, token);
  });
});
