// A Grafeo database's footprint and start-up, as the local runtime runs it (`graph-server-main`, one
// process per database, the shared query-check service on): idle RSS of 1 and of 10 databases, RSS
// right after a 100k-node load, a settle time later (BENCH_FOOTPRINT_SETTLE_MS, default 2 min) and a settle
// time after deleting the nodes again; create → first query (fresh data dir) and resume → first query (the
// same data dir started again), and the first start on a machine whose query-check service is not running.
// Baseline, same run: a bare Node start-up (`node -e ""`, spawn to exit). The query-check service's own
// RSS is shown once: it is shared.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import neo4j from 'neo4j-driver';
import { writeUsers } from '../test/helpers/graph-server-process.js';
import { nodeEnvironment } from '../src/runtimes/local/local-runtime.js';

const fromTypeScript = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(`../src/runtimes/local/graph-server-main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));
const LOADER = fromTypeScript ? ['--import', 'tsx'] : [];
const SETTLE_MS = Number(process.env.BENCH_FOOTPRINT_SETTLE_MS ?? 120_000);
const ROUNDS = Number(process.env.BENCH_FOOTPRINT_ROUNDS ?? 5);
const IDLE_MS = 5_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function bareNodeStartMs(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => spawn(process.execPath, ['-e', '']).once('exit', () => resolve()));
    runs.push(performance.now() - t);
  }
  return median(runs);
}

interface Db {
  child: ChildProcess;
  boltPort: number;
  dataDir: string;
}

let root = '';
let usersFile = '';
let socket = '';
const running = new Set<ChildProcess>();

async function startDb(name: string): Promise<Db> {
  const dataDir = join(root, name);
  const child = spawn(
    process.execPath,
    [...LOADER, MAIN, 'graph-server', '--data-dir', dataDir, '--bolt-port', '0', '--http-port', '0', '--users-file', usersFile, '--query-check-socket', socket, '--query-check-service-idle-ms', '5000'],
    { stdio: ['ignore', 'pipe', process.env.BENCH_FOOTPRINT_STDERR ? 'inherit' : 'ignore'], env: nodeEnvironment() },
  );
  running.add(child);
  let out = '';
  const ready = await new Promise<{ boltPort: number }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { boltPort: number });
    });
    child.once('exit', (code) => reject(new Error(`graph-server exited ${code} before it was ready`)));
  });
  return { child, boltPort: ready.boltPort, dataDir };
}

async function stopDb(db: Db): Promise<void> {
  if (db.child.exitCode !== null) return;
  const exited = new Promise((resolve) => db.child.once('exit', resolve));
  db.child.kill('SIGTERM');
  await exited;
  running.delete(db.child);
}

async function query(db: Db, text: string): Promise<number> {
  const driver = neo4j.driver(`bolt://127.0.0.1:${db.boltPort}`, neo4j.auth.basic('admin', 'secret-1'), { logging: { level: 'error', logger: () => {} } });
  try {
    const res = await driver.executeQuery(text);
    return res.records.length;
  } finally {
    await driver.close();
  }
}

/** From spawn to the first query answered (a new driver, as an application connects). */
async function toFirstQuery(name: string): Promise<{ ms: number; db: Db }> {
  const t = performance.now();
  const db = await startDb(name);
  await query(db, 'MATCH (n:Item {id: 1}) RETURN n');
  return { ms: performance.now() - t, db };
}

function servicePid(): number | null {
  try {
    const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes('service-main') && l.includes(socket));
    return line ? Number(line.trim().split(/\s+/)[0]) : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'bench-footprint-'));
  usersFile = join(root, 'users.json');
  socket = join(root, 'qc', 'check.sock');
  await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }]);
  const bare = await bareNodeStartMs();
  console.log(`baseline: bare Node start-up (node -e "", spawn to exit) median of 7: ${ms(bare)}`);

  // The first database on a machine whose query-check service is not running starts the service too.
  const cold = await toFirstQuery('cold');
  await stopDb(cold.db);

  const creates: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c = await toFirstQuery(`round-${i}`);
    creates.push(c.ms);
    await stopDb(c.db);
    const r = await toFirstQuery(`round-${i}`);
    resumes.push(r.ms);
    await stopDb(r.db);
  }
  console.log(`\n${`start-up (median of ${ROUNDS})`.padEnd(30)}    time   × bare Node`);
  console.log(`create → first query          ${ms(median(creates)).padStart(8)}   ${(median(creates) / bare).toFixed(1)}`);
  console.log(`resume → first query          ${ms(median(resumes)).padStart(8)}   ${(median(resumes) / bare).toFixed(1)}`);
  console.log(`first create, service cold    ${ms(cold.ms).padStart(8)}   ${(cold.ms / bare).toFixed(1)}`);

  const dbs: Db[] = [];
  for (let i = 0; i < 10; i++) {
    const db = await startDb(`idle-${i}`);
    await query(db, 'RETURN 1 AS one');
    dbs.push(db);
  }
  await delay(IDLE_MS);
  const each = dbs.map((d) => rss(d.child.pid!));
  const svc = servicePid();
  const svcRss = svc ? rss(svc) : 0;
  console.log(`\nidle RSS (${IDLE_MS / 1000} s after one query each)`);
  console.log(`1 database                    ${mib(each[0]!)}`);
  console.log(`10 databases                  ${mib(each.reduce((a, b) => a + b, 0))} (median ${mib(median(each))} each)`);
  console.log(`query-check service (shared)  ${mib(svcRss)}`);
  for (const d of dbs.slice(1)) await stopDb(d);

  const load = dbs[0]!;
  const t = performance.now();
  await query(load, "UNWIND range(1, 100000) AS i CREATE (:Item {id: i, name: 'item ' + toString(i)})");
  const loadMs = performance.now() - t;
  const after = rss(load.child.pid!);
  await delay(SETTLE_MS);
  const settled = rss(load.child.pid!);
  console.log(`\n100k-node load (${ms(loadMs)})`);
  console.log(`RSS right after               ${mib(after)}`);
  console.log(`${`RSS ${(SETTLE_MS / 1000).toFixed(0)} s later`.padEnd(30)}${mib(settled)}`);
  // A read burst: the 100k nodes returned three times; what an idle server gives back (idle-memory.ts).
  for (let i = 0; i < 3; i++) await query(load, 'MATCH (n:Item) RETURN n');
  console.log(`${'3 full reads, right after'.padEnd(30)}${mib(rss(load.child.pid!))}`);
  await delay(SETTLE_MS);
  console.log(`${`3 full reads, ${(SETTLE_MS / 1000).toFixed(0)} s later`.padEnd(30)}${mib(rss(load.child.pid!))}`);
  // The burst over: the nodes deleted, how much of it comes back to the machine.
  await query(load, 'MATCH (n:Item) DETACH DELETE n');
  await delay(SETTLE_MS);
  console.log(`${`nodes deleted, ${(SETTLE_MS / 1000).toFixed(0)} s later`.padEnd(30)}${mib(rss(load.child.pid!))}`);
  await stopDb(load);
}

const cleanup = async () => {
  for (const c of running) c.kill('SIGTERM');
  await delay(500);
  if (root) await rm(root, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
try {
  await main();
} finally {
  await cleanup();
}
