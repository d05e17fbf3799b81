// What Neo4j's query checks cost a client, end to end: two real graph-server processes, one with
// the check on (default budget) and one with it off (`--query-check-budget-ms 0`), driven through
// neo4j-driver over Bolt. Reports the round trip of a repeated small parameterised query and the
// load time of a movies-like script, each as speed on ÷ off (targets ≥ 0.95 and ≥ 0.9).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j from 'neo4j-driver';
import { adminRequest } from '../src/graph-server/admin.js';
import { hashPassword } from '../src/auth/passwords.js';
import { moviesScript } from './query-check.js';

interface Server {
  name: string;
  child: ChildProcess;
  dir: string;
  dataDir: string;
  driver: ReturnType<typeof neo4j.driver>;
}

const fromTypeScript = import.meta.url.endsWith('.ts');

async function waitUntil(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(condition))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function start(name: string, extra: string[]): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), `bench-qc-${name}-`));
  const dataDir = join(dir, 'data');
  const usersFile = join(dir, 'users.json');
  const passwordHash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  await writeFile(`${usersFile}.tmp`, JSON.stringify([{ username: 'bench', passwordHash, readOnly: false }]));
  await rename(`${usersFile}.tmp`, usersFile);
  const main = fileURLToPath(new URL(`../src/cli/main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));
  const args = [...(fromTypeScript ? ['--import', 'tsx'] : []), main, 'graph-server', '--data-dir', dataDir, '--bolt-port', '0', '--http-port', '0', '--users-file', usersFile, ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitUntil(`${name} ready line`, 30_000, () => {
      if (child.exitCode !== null) throw new Error(`${name} graph-server exited ${child.exitCode}`);
      return out.includes('\n');
    });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { boltPort } = JSON.parse(out.split('\n')[0]!) as { boltPort: number };
  const driver = neo4j.driver(`bolt://127.0.0.1:${boltPort}`, neo4j.auth.basic('bench', 'pw'));
  return { name, child, dir, dataDir, driver };
}

async function stop(s: Server | undefined): Promise<void> {
  if (!s) return;
  await s.driver.close();
  if (s.child.exitCode === null) {
    const exited = new Promise((resolve) => s.child.once('exit', resolve));
    s.child.kill('SIGTERM');
    await exited;
  }
  await rm(s.dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);

const ROUND_TRIP_QUERY = 'MATCH (n:Item) WHERE n.id = $id RETURN n.id AS id, n.name AS name';

/**
 * Per-query round trips of the same parameterised query on both servers, alternating query by
 * query (and which goes first), so the machine's other load falls on both sides alike.
 */
async function alternatingRoundTrips(on: Server, off: Server, pairs: number): Promise<{ on: number[]; off: number[] }> {
  const sOn = on.driver.session();
  const sOff = off.driver.session();
  const out = { on: [] as number[], off: [] as number[] };
  const once = async (session: typeof sOn, i: number) => {
    const t = performance.now();
    await session.run(ROUND_TRIP_QUERY, { id: neo4j.int(i % 100) });
    return performance.now() - t;
  };
  try {
    for (let i = 0; i < pairs; i++) {
      if (i % 2 === 0) {
        out.on.push(await once(sOn, i));
        out.off.push(await once(sOff, i));
      } else {
        out.off.push(await once(sOff, i));
        out.on.push(await once(sOn, i));
      }
    }
  } finally {
    await Promise.all([sOn.close(), sOff.close()]);
  }
  return out;
}

/**
 * The first movies of the script, whole (three lines each), within `maxChars`: a script between
 * the checker's maxWaitChars (4096) and maxCheckChars (8192) is checked in the background while
 * the engine runs it, so that is where the check competes with the load for the CPU.
 */
function moviesPrefix(maxChars: number): string {
  const lines = moviesScript().split('\n');
  const groups: string[] = [];
  for (let i = 0; i < lines.length; ) {
    // A movie is its CREATE, its people's CREATE and its relationships' multi-line CREATE.
    let j = i + 2;
    while (j + 1 < lines.length && !lines[j + 1]!.startsWith('CREATE')) j++;
    groups.push(lines.slice(i, j + 1).join('\n'));
    i = j + 1;
  }
  let out = '';
  for (const g of groups) {
    if (out.length + g.length + 1 > maxChars) break;
    out += (out ? '\n' : '') + g;
  }
  return out;
}

async function loadScript(s: Server, base: string, round: number): Promise<number> {
  await s.driver.executeQuery('MATCH (n) WHERE n:Movie OR n:Person DETACH DELETE n');
  // A new text each round, as a script is usually sent once: its check never comes from the cache.
  const script = `${base}\n// load ${round}`;
  const t = performance.now();
  await s.driver.executeQuery(script);
  return performance.now() - t;
}

async function main(): Promise<void> {
  let on: Server | undefined;
  let off: Server | undefined;
  try {
    [on, off] = await Promise.all([start('on', []), start('off', ['--query-check-budget-ms', '0'])]);
    const checkerStarted = performance.now();
    await waitUntil('the query check worker', 60_000, async () => (await adminRequest(on!.dataDir, { op: 'stats' }).catch(() => null))?.queryCheck.ready === true);
    console.log(`query check worker ready ${fmt(performance.now() - checkerStarted)} after the ready line (${fromTypeScript ? 'under tsx' : 'compiled'})`);
    for (const s of [on, off]) await s.driver.executeQuery('UNWIND range(0, 99) AS i CREATE (:Item {id: i, name: "item " + toString(i)})');

    // 1. Round trip of a repeated small query: the first send is checked, the rest are cache hits.
    await alternatingRoundTrips(on, off, 300);
    const rt = await alternatingRoundTrips(on, off, 4000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rtOnMs = median(rt.on);
    const rtOffMs = median(rt.off);
    const rtRatio = rtOffMs / rtOnMs;
    console.log(
      `repeated small query, Bolt round trip (median of 4000 alternating sends): check on ${fmt(rtOnMs)}, off ${fmt(rtOffMs)}; speed on ÷ off ${rtRatio.toFixed(3)} (target >= 0.95); means ${fmt(mean(rt.on))} / ${fmt(mean(rt.off))}`,
    );

    // 2. The movies-like script (too long to check: the engine alone decides it), then a part of
    // it short enough to be checked in the background while it runs; a new text each time.
    let ldRatio = Infinity;
    for (const [label, script] of [['movies-like script', moviesScript()], ['first movies of it', moviesPrefix(8000)]] as const) {
      const ldOn: number[] = [];
      const ldOff: number[] = [];
      for (let round = 0; round < 16; round++) {
        if (round % 2 === 0) {
          ldOff.push(await loadScript(off, script, round));
          ldOn.push(await loadScript(on, script, round));
        } else {
          ldOn.push(await loadScript(on, script, round));
          ldOff.push(await loadScript(off, script, round));
        }
      }
      const ldOnMs = median(ldOn);
      const ldOffMs = median(ldOff);
      ldRatio = Math.min(ldRatio, ldOffMs / ldOnMs);
      const creates = (script.match(/\bCREATE\b/g) ?? []).length;
      console.log(
        `${label} (${script.length} chars, ${creates} CREATE clauses) load: check on ${fmt(ldOnMs)}, off ${fmt(ldOffMs)}; speed on ÷ off ${(ldOffMs / ldOnMs).toFixed(3)} (target >= 0.9)`,
      );
    }
    const stats = (await adminRequest(on.dataDir, { op: 'stats' })).queryCheck;
    const health = await adminRequest(on.dataDir, { op: 'health' });
    const healthOff = await adminRequest(off.dataDir, { op: 'health' });
    console.log(`check-on server stats: ${JSON.stringify(stats)}`);
    console.log(`RSS: check on ${(health.rssBytes / 2 ** 20).toFixed(0)} MiB, off ${(healthOff.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    if (rtRatio < 0.95 || ldRatio < 0.9) process.exitCode = 1;
  } finally {
    await Promise.all([stop(on), stop(off)]);
  }
}

await main();
