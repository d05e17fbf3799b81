// Neo4j nodes against Grafeo nodes, in one run, through a real control plane (serve() with the data plane, as
// `allotrope serve` runs it) and neo4j-driver: create → first query, resume → first query, small-query
// throughput (sequential, and 8 at once), and idle RSS of a node's whole process tree (graph-server + JVM).
// Baseline: a bare Node start-up, measured in the same run. Needs the Neo4j engine installed
// (`allotrope engines install neo4j`); without it, says so and measures Grafeo only.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import neo4j, { type Driver } from 'neo4j-driver';
import { defaultEnginesDir, findNeo4j } from '../src/engines/neo4j-install.js';
import { DB, startBenchServer } from './lib-server.js';

const QUERIES = Number(process.env.BENCH_ENGINES_QUERIES ?? 2000);
const fmt = (ms: number) => (ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

async function bareNodeStartMs(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => spawn(process.execPath, ['-e', '']).once('exit', () => resolve()));
    runs.push(performance.now() - t);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

/** RSS of a process and all its descendants (the graph-server and, on Neo4j nodes, its JVM). */
function treeRss(pid: number): number {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const want = new Set([pid]);
  let grown = true;
  while (grown) {
    grown = false;
    for (const [p, pp] of rows) if (want.has(pp) && !want.has(p)) (want.add(p), (grown = true));
  }
  return rows.filter(([p]) => want.has(p)).reduce((sum, [, , rss]) => sum + rss * 1024, 0);
}

async function main(): Promise<void> {
  const enginesDirs = [process.env.ALLOTROPE_ENGINES_DIR, defaultEnginesDir(), join(homedir(), '.cache', 'allotrope', 'engines')].filter((d): d is string => !!d);
  const neo4jInstall = enginesDirs.map((d) => findNeo4j(d).install).find((i) => i) ?? null;
  if (!neo4jInstall) {
    const missing = findNeo4j(defaultEnginesDir());
    console.log(`Neo4j engine not installed (${'reason' in missing ? missing.reason : 'unknown'}); measuring Grafeo only`);
  }
  const baseline = await bareNodeStartMs();
  console.log(`baseline: bare Node start-up ${fmt(baseline)}`);

  const bench = await startBenchServer({ name: 'allotrope-bench-engines-', env: { ALLOTROPE_DB_PORTS: '26000-26099' }, configure: (config) => (config.engines.neo4j = neo4jInstall) });
  const call = async (method: string, path: string, body?: unknown) => (await bench.call(method, path, body)).body;
  const firstQuery = async (driver: Driver) => {
    for (;;) {
      try {
        await driver.executeQuery('RETURN 1');
        return performance.now();
      } catch {
        await delay(20);
      }
    }
  };
  const results: Record<string, { create: number; resume: number; seq: number; par: number; idle: number }> = {};
  try {
    for (const version of neo4jInstall ? ['5.26-grafeo', '5.26'] : ['5.26-grafeo']) {
      const label = version === '5.26' ? `neo4j ${neo4jInstall!.version}` : 'grafeo';
      const t0 = performance.now();
      const created = await call('POST', DB, { environmentId: bench.environmentId, name: `bench-${version.replace('.', '-')}`, plan: 'ds2', version });
      const id = created.database.id as string;
      const driver = neo4j.driver(`bolt://127.0.0.1:${created.database.boltPort}`, neo4j.auth.basic('neo4j', created.credentials.password), { connectionTimeout: 2_000 });
      const create = (await firstQuery(driver)) - t0;
      await bench.operationDone(id, created.operationId);

      let t = performance.now();
      for (let i = 0; i < QUERIES; i++) await driver.executeQuery('RETURN $i AS i', { i });
      const seq = QUERIES / ((performance.now() - t) / 1000);
      t = performance.now();
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < QUERIES; i += 8) await driver.executeQuery('RETURN $i AS i', { i });
      }));
      const par = QUERIES / ((performance.now() - t) / 1000);

      await delay(10_000);
      const station = readFileSync(join(bench.dataDir, 'runtime', 'nodes', (await call('GET', `${DB}/${id}`)).nodes[0].stationId, 'node.pid'), 'utf8');
      const idle = treeRss(Number(JSON.parse(station).pid));

      const paused = await call('PUT', `${DB}/${id}/pause`);
      await bench.operationDone(id, paused.operationId);
      const t1 = performance.now();
      const resumed = await call('PUT', `${DB}/${id}/resume`);
      const resume = (await firstQuery(driver)) - t1;
      await bench.operationDone(id, resumed.operationId);
      await driver.close();
      results[label] = { create, resume, seq, par, idle };
      console.log(
        `${label}: create → first query ${fmt(create)} (${(create / baseline).toFixed(1)}× Node start-up), resume → first query ${fmt(resume)} (${(resume / baseline).toFixed(1)}×), ` +
          `RETURN $i ${seq.toFixed(0)}/s sequential, ${par.toFixed(0)}/s 8 at once, idle RSS ${mib(idle)}`,
      );
      const gone = await call('DELETE', `${DB}/${id}`);
      await bench.operationDone(id, gone.operationId);
    }
    const g = results.grafeo;
    const n = Object.entries(results).find(([k]) => k.startsWith('neo4j'))?.[1];
    if (g && n) {
      console.log(
        `neo4j ÷ grafeo: create → first query ${(n.create / g.create).toFixed(1)}×, resume → first query ${(n.resume / g.resume).toFixed(1)}×, ` +
          `throughput ${(n.seq / g.seq).toFixed(2)}× sequential and ${(n.par / g.par).toFixed(2)}× 8 at once, idle RSS ${(n.idle / g.idle).toFixed(1)}×`,
      );
    }
  } finally {
    await bench.close();
  }
}

await main();
