// Chaos with real processes: the real `allotrope serve` and its graph-server nodes take ≥ 20 SIGKILLs at
// seeded random points while a loop creates, pauses, resumes, restarts and snapshots databases and writes
// to them through neo4j-driver. Afterwards: no operation is left `started`, no acknowledged write is lost,
// and after a clean stop no graph-server process of this install is left running.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { removeDataDir, testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';
const SEED = Number(process.env.CHAOS_SEED ?? 20261202);
const KILLS = Number(process.env.CHAOS_KILLS ?? 24);
/** A safety stop for the loop, far above its usual 40–90 s; a run that hits it fails on the kill count. */
const LOOP_BUDGET_MS = 200_000;
const MAX_DATABASES = 5;

// Deterministic PRNG (mulberry32), as in bolt-fuzz.test.ts: the same seed makes the same choices.
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** pids of graph-server processes of this data dir, by station id, read from /proc. */
function nodeProcesses(dataDir: string): Map<string, number[]> {
  const marker = join(dataDir, 'runtime', 'nodes') + '/';
  const byStation = new Map<string, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string;
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone meanwhile
    }
    const at = args.indexOf(marker);
    if (at < 0 || !args.includes('graph-server')) continue;
    const station = args.slice(at + marker.length).split('/')[0]!;
    byStation.set(station, [...(byStation.get(station) ?? []), Number(entry)]);
  }
  return byStation;
}

interface Tracked {
  id: string;
  name: string;
  stationId: string;
  boltUrl: string;
  password: string;
  driver: Driver;
  acknowledged: string[];
}

describe('chaos: SIGKILLs of the control plane and of graph-server nodes during mixed operations', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-chaos-'));
  const dbPorts = testPortRange(40);
  let cp: ControlPlaneProcess | undefined;
  const dbs: Tracked[] = [];

  after(async () => {
    for (const d of dbs) await d.driver.close().catch(() => undefined);
    await cp?.stop();
    // Whatever happened, leave no graph-server of this test running.
    for (const pids of nodeProcesses(dataDir).values()) for (const pid of pids) process.kill(pid, 'SIGKILL');
    removeDataDir(dataDir);
  });

  const start = () =>
    startControlPlaneProcess({ dataDir, dbPorts, config: { operations: { leaseMs: 5_000 }, runtime: { healthIntervalMs: 300 } } });

  test(`seed ${SEED}: ${KILLS} kills; no stuck operation, no orphan process, no lost acknowledged write`, async () => {
    const random = rng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const counts = { controlPlaneKills: 0, nodeKills: 0, operationsAccepted: 0, operationsRefused: 0, writesAttempted: 0, writesAcknowledged: 0, writesReadBack: 0 };
    const operations: { databaseId: string; operationId: string; type: string }[] = [];
    const serverErrors: string[] = [];
    let writeSeq = 0;
    const timings = { restartMs: 0, writeMs: 0 };
    // For a failure's message: the output of every control plane of this run, and the kills per node.
    const outputs: string[] = [];
    const killsOf = new Map<string, number>();

    cp = await start();
    let token = await cp.token();
    const envId = (await cp.request('GET', '/deployments/environments', { token })).body[0].id as string;

    /** Lines of every control plane's output so far that contain `text`. */
    const serverLog = (...texts: string[]): string[] =>
      [...outputs, cp?.output() ?? ''].join('\n').split('\n').filter((l) => texts.some((t) => l.includes(t)));

    async function api(method: string, path: string, body?: unknown) {
      const res = await cp!.request(method, path, { token, ...(body === undefined ? {} : { body }) });
      if (res.status >= 500 && res.status !== 503) serverErrors.push(`${method} ${path}: ${res.status} ${res.text}`);
      return res;
    }

    async function create(name: string): Promise<void> {
      const res = await api('POST', DB, { environmentId: envId, name, plan: 'ds2', version: '5.26-grafeo' });
      if (res.status !== 202) {
        counts.operationsRefused++;
        return;
      }
      counts.operationsAccepted++;
      const d = res.body.database;
      operations.push({ databaseId: d.id, operationId: res.body.operationId, type: 'create' });
      dbs.push({
        id: d.id,
        name,
        stationId: d.nodes[0].stationId,
        boltUrl: d.connectionUrls.bolt,
        password: res.body.credentials.password,
        // Short timeouts: a write to a paused or killed node fails fast instead of retrying for 30 s.
        driver: neo4j.driver(d.connectionUrls.bolt, neo4j.auth.basic('neo4j', res.body.credentials.password), { connectionTimeout: 1_500, maxTransactionRetryTime: 1_000, connectionAcquisitionTimeout: 2_500 }),
        acknowledged: [],
      });
    }

    async function act(type: 'pause' | 'resume' | 'restart' | 'snapshot', d: Tracked): Promise<void> {
      const res =
        type === 'snapshot' ? await api('POST', `${DB}/${d.id}/snapshots`, { label: `chaos-${operations.length}` }) :
        type === 'restart' ? await api('POST', `${DB}/${d.id}/restart`, {}) :
        await api('PUT', `${DB}/${d.id}/${type}`);
      if (res.status === 202) {
        counts.operationsAccepted++;
        operations.push({ databaseId: d.id, operationId: res.body.operationId, type });
      } else {
        // 409 (busy, or the state forbids it) is an ordinary answer here.
        assert.ok(res.status === 409 || res.status === 503, `${type} ${d.name}: ${res.status} ${res.text}\n${serverLog('"level":50').slice(-5).join('\n')}`);
        counts.operationsRefused++;
      }
    }

    async function write(d: Tracked): Promise<void> {
      const key = `w${++writeSeq}`;
      counts.writesAttempted++;
      const t0 = Date.now();
      try {
        await d.driver.executeQuery('CREATE (:ChaosWrite {k: $k})', { k: key });
        // The commit was acknowledged: from here on the write must survive whatever happens.
        d.acknowledged.push(key);
        counts.writesAcknowledged++;
      } catch {
        // Not acknowledged (paused, restarting, killed): it may or may not have happened; nothing is promised.
      } finally {
        timings.writeMs += Date.now() - t0;
      }
    }

    async function killControlPlane(): Promise<void> {
      const t0 = Date.now();
      await cp!.kill();
      outputs.push(cp!.output());
      counts.controlPlaneKills++;
      cp = await start();
      token = await cp.token();
      timings.restartMs += Date.now() - t0;
    }

    function killNode(): boolean {
      const running = [...nodeProcesses(dataDir).entries()];
      if (running.length === 0) return false;
      const [station, pids] = pick(running);
      killsOf.set(station, (killsOf.get(station) ?? 0) + 1);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      counts.nodeKills++;
      return true;
    }

    for (let i = 0; i < 3; i++) await create(`chaos-${i}`);
    // The first three come up before the chaos starts, so there is something to write to.
    for (const op of operations) await waitForOperation(cp, token, op.databaseId, op.operationId, 60_000);

    const loopStart = Date.now();
    let step = 0;
    while (counts.controlPlaneKills + counts.nodeKills < KILLS && Date.now() - loopStart < LOOP_BUDGET_MS) {
      step++;
      const r = random();
      const d = pick(dbs);
      if (r < 0.4) {
        await Promise.all([0, 1, 2, 3].map(() => write(pick(dbs))));
      } else if (r < 0.5 && dbs.length < MAX_DATABASES) {
        await create(`chaos-${dbs.length}`);
      } else {
        await act(pick(['pause', 'resume', 'restart', 'snapshot', 'restart', 'resume'] as const), d);
      }
      // A kill after most steps, at a random moment while what was just started runs.
      // Writes are in flight when it lands, so some are acknowledged just before a node dies.
      if (random() < 0.7) {
        const inFlight = [write(pick(dbs)), write(pick(dbs))];
        await delay(Math.floor(random() * 700));
        // About one kill in three hits the control plane: its restart costs seconds (10 s on a loaded 2-core
        // machine), a node kill costs nothing to the loop.
        const controlPlaneTurn = random() < (counts.controlPlaneKills * 2 <= counts.nodeKills ? 0.6 : 0.15);
        if (controlPlaneTurn || !killNode()) await killControlPlane();
        await Promise.all(inFlight);
      }
    }
    const loopMs = Date.now() - loopStart;
    console.log(`chaos: timings ${JSON.stringify(timings)}`);

    // Recovery: the control plane is up (it was restarted after each kill). Every operation must end.
    const unfinished: string[] = [];
    for (const op of operations) {
      const end = await waitForOperation(cp, token, op.databaseId, op.operationId, 60_000).catch((err: unknown) => ({ status: `stuck: ${String(err)}` }));
      if (end.status !== 'finished' && end.status !== 'failed') unfinished.push(`${op.type} ${op.operationId}: ${end.status}`);
    }
    // ...including any the control plane started by itself (none expected), on every database.
    for (const d of dbs) {
      const all = (await api('GET', `${DB}/${d.id}/operations`)).body as { id: string; status: string; operationType: string }[];
      for (const op of all.filter((o) => o.status === 'started')) {
        const end = await waitForOperation(cp, token, d.id, op.id, 60_000).catch(() => ({ status: 'started' }));
        if (end.status === 'started') unfinished.push(`${op.operationType} ${op.id} of ${d.name}`);
      }
    }
    assert.deepEqual(unfinished, [], 'stuck operations');
    const ended = await Promise.all(operations.map(async (op) => (await api('GET', `${DB}/${op.databaseId}/operations/${op.operationId}`)).body as { status: string; error?: string }));
    const operationEnds = ended.map((e) => e.status);
    for (const [i, op] of operations.entries()) {
      if (ended[i]!.status === 'failed') console.log(`chaos: ${op.type} ${op.operationId} failed cleanly: ${String(ended[i]!.error).slice(0, 200)}`);
    }

    // Bring every database back to running (a failed one by restart, a paused one by resume) to read it.
    for (const d of dbs) {
      const state = (await api('GET', `${DB}/${d.id}/status`)).body.state as string;
      if (state === 'running') continue;
      const res = state === 'paused' ? await api('PUT', `${DB}/${d.id}/resume`) : state === 'failed' ? await api('POST', `${DB}/${d.id}/restart`, {}) : null;
      assert.ok(res && res.status === 202, `${d.name} is ${state} and cannot be brought back: ${res?.status} ${res?.text}`);
      const end = await waitForOperation(cp, token, d.id, res.body.operationId, 60_000);
      assert.equal(end.status, 'finished', `bringing back ${d.name} from ${state}: ${JSON.stringify(end)}`);
    }
    const lost: string[] = [];
    for (const d of dbs) {
      const keys = await waitFor(
        async () => {
          const { records } = await d.driver.executeQuery('MATCH (w:ChaosWrite) RETURN w.k AS k');
          return new Set(records.map((rec) => rec.get('k') as string));
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `${d.name} to answer over Bolt` },
      ).catch(async (err: unknown) => {
        const status = (await api('GET', `${DB}/${d.id}/status`)).text;
        const lines = serverLog(d.stationId, d.id);
        const procs = JSON.stringify([...nodeProcesses(dataDir).entries()]);
        throw new Error(`${String(err)}\ngraph-server processes by node: ${procs}\n${d.name} (node ${d.stationId}, killed ${killsOf.get(d.stationId) ?? 0} times) status ${status}\n${lines.slice(-25).join('\n')}`);
      });
      for (const k of d.acknowledged) {
        if (keys.has(k)) counts.writesReadBack++;
        else lost.push(`${d.name}:${k}`);
      }
    }

    // Every graph-server process belongs to a database the control plane knows.
    const known = new Set(dbs.map((d) => d.stationId));
    const strangers = [...nodeProcesses(dataDir).keys()].filter((s) => !known.has(s));
    await cp.stop();
    const leftAfterStop = await waitFor(() => nodeProcesses(dataDir).size === 0 || null, { timeoutMs: 15_000, what: 'no graph-server left after a clean stop' })
      .then(() => [] as string[])
      .catch(() => [...nodeProcesses(dataDir).entries()].map(([s, pids]) => `${s}:${pids.join(',')}`));
    cp = undefined;

    const finished = operationEnds.filter((s) => s === 'finished').length;
    console.log(
      `chaos: seed ${SEED}, ${step} steps in ${(loopMs / 1000).toFixed(1)} s; kills: ${counts.controlPlaneKills} control plane, ${counts.nodeKills} graph-server; ` +
        `operations: ${counts.operationsAccepted} accepted (${finished} finished, ${counts.operationsAccepted - finished} failed, ${unfinished.length} stuck), ${counts.operationsRefused} refused with 409; ` +
        `writes: ${counts.writesAttempted} attempted, ${counts.writesAcknowledged} acknowledged, ${counts.writesReadBack} read back, ${lost.length} lost; ` +
        `orphans: ${strangers.length} unknown while running, ${leftAfterStop.length} left after stop`,
    );
    assert.deepEqual(serverErrors, [], 'the control plane answered with a 5xx');
    assert.ok(counts.controlPlaneKills + counts.nodeKills >= 20, `only ${counts.controlPlaneKills + counts.nodeKills} kills within the loop budget`);
    assert.deepEqual(lost, [], 'acknowledged writes lost');
    assert.deepEqual(strangers, [], 'graph-server processes the control plane does not know');
    assert.deepEqual(leftAfterStop, [], 'graph-server processes left after a clean stop');
    assert.ok(counts.writesAcknowledged > 0, 'some writes were acknowledged');
  });
});
