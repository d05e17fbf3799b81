// The router's cost, in one run: the same Grafeo database reached through the router (its public port, as
// clients do) and straight at its node's loopback port (the baseline), alternated round by round so both
// see the same machine: small-query throughput (RETURN $i, sequential and 8 at once), a 100k-row result
// streamed to the client, and connection set-up (a new driver's first query), plain and with TLS (the
// router's self-signed certificate on the database's own port). Targets: ≥ 0.9 of the
// straight throughput for small queries, ≥ 0.95 for the large result. A real control plane runs in-process
// (serve() with the data plane) and starts the router as `allotrope serve` does.
import { spawn } from 'node:child_process';
import neo4j, { type Driver } from 'neo4j-driver';
import { DB, startBenchServer } from './lib-server.js';

const QUERIES = Number(process.env.BENCH_ROUTER_QUERIES ?? 300);
const ROWS = 100_000;
const ROUNDS = Number(process.env.BENCH_ROUTER_ROUNDS ?? 9);
const SETUPS = 27;

const RELAY = `const net = require('node:net');
const server = net.createServer({ noDelay: true }, (c) => { const u = net.connect({ host: '127.0.0.1', port: Number(process.argv[1]), noDelay: true }); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function sequential(driver: Driver): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < QUERIES; i++) await driver.executeQuery('RETURN $i AS i', { i });
  return QUERIES / ((performance.now() - t) / 1000);
}

async function parallel(driver: Driver): Promise<number> {
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < QUERIES; i += 8) await driver.executeQuery('RETURN $i AS i', { i });
    }),
  );
  return QUERIES / ((performance.now() - t) / 1000);
}

/** Rows per second of a 100k-row result consumed record by record. */
async function stream(driver: Driver): Promise<number> {
  const session = driver.session({ fetchSize: 10_000 });
  const t = performance.now();
  let n = 0;
  for await (const _ of session.run('UNWIND range(1, $n) AS i RETURN i', { n: neo4j.int(ROWS) })) n++;
  const s = (performance.now() - t) / 1000;
  await session.close();
  if (n !== ROWS) throw new Error(`streamed ${n} rows, expected ${ROWS}`);
  return ROWS / s;
}

async function setup(url: string, password: string): Promise<number> {
  const t = performance.now();
  const d = neo4j.driver(url, neo4j.auth.basic('neo4j', password));
  await d.executeQuery('RETURN 1');
  const ms = performance.now() - t;
  await d.close();
  return ms;
}

async function main(): Promise<void> {
  const bench = await startBenchServer({
    name: 'allotrope-bench-router-',
    env: { ALLOTROPE_DB_PORTS: process.env.BENCH_DB_PORTS ?? '26100-26199', ALLOTROPE_ROUTER_TLS: 'self-signed', ALLOTROPE_ROUTER_TLS_PORT: process.env.BENCH_TLS_PORT ?? '26200' },
    // Grafeo only, whatever engines this machine has installed.
    configure: (config) => (config.engines.neo4j = null),
  });
  try {
    const { body: created } = await bench.act('POST', DB, { environmentId: bench.environmentId, name: 'bench-router', plan: 'ds2', version: '5.26-grafeo' });
    await bench.operationDone(created.database.id, created.operationId);
    const password = created.credentials.password as string;
    const node = await bench.server.store.db.selectFrom('database_nodes').select('internal_bolt_port').where('database_id', '=', created.database.id).executeTakeFirstOrThrow();
    // A second reference: the smallest possible proxy hop (a bare pipe() relay in a process of its own), so
    // the router's own cost shows apart from what any extra process hop costs on this machine.
    const relay = spawn(process.execPath, ['-e', RELAY, String(node.internal_bolt_port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const relayPort = await new Promise<number>((resolve) => relay.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString()))));
    // TLS: the same database port with a TLS client (self-signed certificate, so `+ssc`).
    const urls = { router: `bolt://127.0.0.1:${created.database.boltPort}`, straight: `bolt://127.0.0.1:${node.internal_bolt_port}`, relay: `bolt://127.0.0.1:${relayPort}`, tls: `bolt+ssc://127.0.0.1:${created.database.boltPort}` };
    const drivers = Object.fromEntries(Object.entries(urls).map(([k, u]) => [k, neo4j.driver(u, neo4j.auth.basic('neo4j', password))])) as Record<keyof typeof urls, Driver>;
    const empty = () => ({ seq: [] as number[], par: [] as number[], rows: [] as number[], setup: [] as number[] });
    const figures = { router: empty(), straight: empty(), relay: empty(), tls: empty() };
    // Warm both paths (JIT, pools) before measuring.
    for (const d of Object.values(drivers)) {
      await sequential(d);
      await stream(d);
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which path goes first, so neither always gets the warmer machine.
      const order = round % 2 === 0 ? (['router', 'straight', 'relay', 'tls'] as const) : (['tls', 'relay', 'straight', 'router'] as const);
      for (const path of order) {
        figures[path].seq.push(await sequential(drivers[path]));
        figures[path].par.push(await parallel(drivers[path]));
        figures[path].rows.push(await stream(drivers[path]));
        for (let i = 0; i < SETUPS / ROUNDS; i++) figures[path].setup.push(await setup(urls[path], password));
      }
    }
    for (const d of Object.values(drivers)) await d.close();
    relay.kill();
    const summary = (f: ReturnType<typeof empty>) => ({ seq: median(f.seq), par: median(f.par), rows: median(f.rows), setup: median(f.setup) });
    const r = summary(figures.router);
    const s = summary(figures.straight);
    const p = summary(figures.relay);
    const t = summary(figures.tls);
    console.log(`straight to the node: RETURN $i ${s.seq.toFixed(0)}/s sequential, ${s.par.toFixed(0)}/s 8 at once; ${ROWS} rows at ${(s.rows / 1000).toFixed(0)}k rows/s; new driver → first query ${s.setup.toFixed(1)} ms`);
    console.log(`through a bare relay: RETURN $i ${p.seq.toFixed(0)}/s sequential, ${p.par.toFixed(0)}/s 8 at once; ${ROWS} rows at ${(p.rows / 1000).toFixed(0)}k rows/s; new driver → first query ${p.setup.toFixed(1)} ms`);
    console.log(`through the router:   RETURN $i ${r.seq.toFixed(0)}/s sequential, ${r.par.toFixed(0)}/s 8 at once; ${ROWS} rows at ${(r.rows / 1000).toFixed(0)}k rows/s; new driver → first query ${r.setup.toFixed(1)} ms`);
    console.log(`router with TLS:      RETURN $i ${t.seq.toFixed(0)}/s sequential, ${t.par.toFixed(0)}/s 8 at once; ${ROWS} rows at ${(t.rows / 1000).toFixed(0)}k rows/s; new driver → first query ${t.setup.toFixed(1)} ms`);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      `bare relay ÷ straight: small queries ${ratio(p.seq, s.seq)} sequential, ${ratio(p.par, s.par)} 8 at once; 100k-row result ${ratio(p.rows, s.rows)}\n` +
        `router ÷ straight: small queries ${ratio(r.seq, s.seq)} sequential, ${ratio(r.par, s.par)} 8 at once (target ≥ 0.90); 100k-row result ${ratio(r.rows, s.rows)} (target ≥ 0.95); set-up +${(r.setup - s.setup).toFixed(1)} ms, with TLS +${(t.setup - s.setup).toFixed(1)} ms`,
    );
  } finally {
    await bench.close();
  }
}

await main();
