// What a database's lifecycle costs a user, end to end: a real control plane (serve() with the data
// plane, as `allotrope serve` runs it, default settings) on a temporary data dir, driven through the
// management API and neo4j-driver. Each round creates a DS2 database (until the operation finishes,
// and until the first Bolt query succeeds), loads 10k nodes, pauses, snapshots while paused, resumes,
// restarts, snapshots and terminates it. Baselines measured in the same run: a bare Node start-up
// (`node -e ""`, spawn to exit; 10 before the control plane starts and 2 after each round) and a new
// driver's TCP connect + first Bolt query to a database that runs through all the rounds.
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import neo4j, { type Driver } from 'neo4j-driver';
import { DB, OPERATION_POLL_MS, startBenchServer, type BenchServer } from './lib-server.js';

const fromTypeScript = import.meta.url.endsWith('.ts');
const ROUNDS = Number(process.env.BENCH_PROVISIONING_ROUNDS ?? 5);
const NODES = 10_000;
// Polling granularity of the operation status and of the first-query retries: the figures are
// at most this much late.
const POLL_MS = OPERATION_POLL_MS;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 10_000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

function driverFor(boltPort: number, password: string): Driver {
  return neo4j.driver(`bolt://127.0.0.1:${boltPort}`, neo4j.auth.basic('neo4j', password), { connectionTimeout: 5_000, maxConnectionPoolSize: 4 });
}

/** Retries `RETURN 1` on a new driver until it succeeds; returns when it did. */
async function firstQuery(boltPort: number, password: string, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const driver = driverFor(boltPort, password);
  try {
    for (;;) {
      try {
        await driver.executeQuery('RETURN 1 AS one');
        return performance.now();
      } catch (err) {
        if (performance.now() > deadline) throw new Error(`no successful Bolt query within ${timeoutMs} ms: ${(err as Error).message}`);
      }
      await delay(POLL_MS);
    }
  } finally {
    await driver.close();
  }
}

async function nodeCount(boltPort: number, password: string): Promise<number> {
  const driver = driverFor(boltPort, password);
  try {
    const { records } = await driver.executeQuery('MATCH (n:Item) RETURN count(n) AS c');
    return Number(records[0]!.get('c'));
  } finally {
    await driver.close();
  }
}

async function bareNodeStartup(): Promise<number> {
  const t = performance.now();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`node -e "" exited ${code}`);
  return performance.now() - t;
}

/** A new driver's TCP connect + Bolt handshake + authentication + first query, to a running database. */
async function connectAndQuery(boltPort: number, password: string): Promise<number> {
  const t = performance.now();
  const driver = driverFor(boltPort, password);
  try {
    await driver.executeQuery('RETURN 1 AS one');
    return performance.now() - t;
  } finally {
    await driver.close();
  }
}

type Phase = 'create: operation finished' | 'create: first query' | 'load 10k nodes' | 'pause' | 'resume: operation finished' | 'resume: first query' | 'restart: operation finished' | 'restart: first query' | 'snapshot (10k nodes)' | 'snapshot while paused (10k nodes)' | 'terminate';

interface Baselines {
  nodeStarts: number[];
  connects: number[];
  openQueries: number[];
}

/**
 * Baseline samples against a database that has been running for a while: a just-started graph-server
 * makes queries wait for its query checker (up to its budget) until the checker is ready.
 */
async function sampleBaselines(b: Baselines, db: { boltPort: number; password: string }, nodeStarts: number): Promise<void> {
  for (let k = 0; k < nodeStarts; k++) b.nodeStarts.push(await bareNodeStartup());
  for (let k = 0; k < 10; k++) b.connects.push(await connectAndQuery(db.boltPort, db.password));
  // The same query on an open connection: what of connect+query is the connection and its login.
  const open = driverFor(db.boltPort, db.password);
  try {
    await open.executeQuery('RETURN 1 AS one');
    for (let k = 0; k < 10; k++) {
      const t = performance.now();
      await open.executeQuery('RETURN 1 AS one');
      b.openQueries.push(performance.now() - t);
    }
  } finally {
    await open.close();
  }
}

async function round(api: BenchServer, environmentId: string, i: number, samples: Map<Phase, number[]>): Promise<void> {
  const add = (phase: Phase, ms: number) => samples.set(phase, [...(samples.get(phase) ?? []), ms]);
  const created = await api.act('POST', DB, { environmentId, name: `bench-${i}`, plan: 'ds2', version: '5.26-grafeo' });
  const id: string = created.body.database.id;
  const boltPort: number = created.body.database.boltPort;
  const password: string = created.body.credentials.password;
  let terminated = false;
  try {
    add('create: operation finished', (await api.operationDone(id, created.body.operationId)) - created.sentAt);
    add('create: first query', (await firstQuery(boltPort, password)) - created.sentAt);

    const loader = driverFor(boltPort, password);
    try {
      const t = performance.now();
      await loader.executeQuery(`UNWIND range(1, ${NODES}) AS i CREATE (:Item {n: i, name: 'item ' + toString(i)})`);
      add('load 10k nodes', performance.now() - t);
    } finally {
      await loader.close();
    }
    const paused = await api.act('PUT', `${DB}/${id}/pause`);
    add('pause', (await api.operationDone(id, paused.body.operationId)) - paused.sentAt);

    // Read from the files of the stopped node: no process is started for it.
    const sleeping = await api.act('POST', `${DB}/${id}/snapshots`, { label: 'bench, paused' });
    add('snapshot while paused (10k nodes)', (await api.operationDone(id, sleeping.body.operationId)) - sleeping.sentAt);
    const slept = await api.call('GET', `${DB}/${id}/snapshots/${sleeping.body.snapshot.id}`);
    if (slept.body.status !== 'ready' || slept.body.counts?.nodes !== NODES) throw new Error(`paused snapshot not as expected: ${slept.text}`);

    const resumed = await api.act('PUT', `${DB}/${id}/resume`);
    add('resume: operation finished', (await api.operationDone(id, resumed.body.operationId)) - resumed.sentAt);
    add('resume: first query', (await firstQuery(boltPort, password)) - resumed.sentAt);
    // The data survived the pause (else the figures above would time an empty database).
    if ((await nodeCount(boltPort, password)) !== NODES) throw new Error('nodes lost across pause/resume');

    const restarted = await api.act('POST', `${DB}/${id}/restart`, {});
    add('restart: operation finished', (await api.operationDone(id, restarted.body.operationId)) - restarted.sentAt);
    add('restart: first query', (await firstQuery(boltPort, password)) - restarted.sentAt);
    if ((await nodeCount(boltPort, password)) !== NODES) throw new Error('nodes lost across restart');

    const snap = await api.act('POST', `${DB}/${id}/snapshots`, { label: 'bench' });
    add('snapshot (10k nodes)', (await api.operationDone(id, snap.body.operationId)) - snap.sentAt);
    const got = await api.call('GET', `${DB}/${id}/snapshots/${snap.body.snapshot.id}`);
    if (got.body.status !== 'ready' || got.body.counts?.nodes !== NODES) throw new Error(`snapshot not as expected: ${got.text}`);

    const term = await api.act('DELETE', `${DB}/${id}`);
    terminated = true;
    add('terminate', (await api.operationDone(id, term.body.operationId)) - term.sentAt);
  } finally {
    // A failed round still frees its database (server.close() would stop it anyway).
    if (!terminated) await api.call('DELETE', `${DB}/${id}`).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  let bench: BenchServer | undefined;
  const cleanup = async () => {
    const b = bench;
    bench = undefined;
    await b?.close().catch((err: unknown) => console.error(`control plane stop failed: ${(err as Error).message}`));
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const baselines: Baselines = { nodeStarts: [], connects: [], openQueries: [] };
    await bareNodeStartup(); // warms the page cache for the Node binary
    for (let k = 0; k < 10; k++) baselines.nodeStarts.push(await bareNodeStartup());

    // The bootstrap credentials are used here and never printed.
    const api = (bench = await startBenchServer({ name: 'bench-provisioning-', env: { ALLOTROPE_DB_PORTS: process.env.BENCH_DB_PORTS ?? '27000-27099' }, logLevel: 'silent' }));
    const environmentId = api.environmentId;

    // The baseline database runs through every round; its samples are taken after each round, so
    // they see the same machine load as the rounds (2 more Node start-ups each time, too).
    const base = await api.act('POST', DB, { environmentId, name: 'bench-baseline', plan: 'ds2', version: '5.26-grafeo' });
    await api.operationDone(base.body.database.id, base.body.operationId);
    const baseDb = { boltPort: base.body.database.boltPort as number, password: base.body.credentials.password as string };
    await firstQuery(baseDb.boltPort, baseDb.password);

    const samples = new Map<Phase, number[]>();
    for (let i = 0; i < ROUNDS; i++) {
      await round(api, environmentId, i, samples);
      await sampleBaselines(baselines, baseDb, 2);
    }
    const { nodeStarts, connects, openQueries } = baselines;
    const nodeStart = median(nodeStarts);
    const connect = median(connects);
    console.log(`database lifecycle through the management API, DS2, ${ROUNDS} rounds (${fromTypeScript ? 'under tsx: control plane and graph-servers load TypeScript' : 'compiled'}; times from the request to the event, polled every ${POLL_MS} ms)`);
    console.log(`baselines: bare Node start-up (node -e "", spawn to exit) median of ${nodeStarts.length}: ${fmt(nodeStart)}; new driver TCP connect + first Bolt query to a database running for seconds, median of ${connects.length}: ${fmt(connect)} (the same query on an open connection: ${fmt(median(openQueries))})`);
    const rows: string[][] = [['phase', 'median', 'min', 'max', '÷ Node start-up', '÷ connect+query']];
    for (const [phase, xs] of samples) {
      const m = median(xs);
      rows.push([phase, fmt(m), fmt(Math.min(...xs)), fmt(Math.max(...xs)), (m / nodeStart).toFixed(1), (m / connect).toFixed(1)]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const [r, row] of rows.entries()) {
      console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
      if (r === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    console.log(`whole bench: ${fmt(performance.now() - started)}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
