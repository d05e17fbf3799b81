// Connection set-up time with and without TLS: one real graph-server, and in front of it the router's
// TLS layer (src/router/tls.ts) behind the test forwarder (sniff → terminate → pipe; the router core's
// own forwarding is measured by its bench). Each sample is a new neo4j-driver: connect, Bolt handshake,
// login, `RETURN 1`, close. Three ways, alternating sample by sample so the machine's other load falls
// on all alike: straight to the node (the baseline), through the front in plain Bolt, and through the
// front with `bolt+ssc://<id>.<host>` (TLS 1.3, ECDSA P-256). Prints medians and each as baseline ÷ way.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { newId } from '../src/ids.js';
import { createRouterTls } from '../src/router/tls.js';
import { startServer, stopServer, writeUsers } from '../test/helpers/graph-server-process.js';
import { resolveDomainTo } from '../test/helpers/test-dns.js';
import { startForwarder } from '../test/helpers/tls-forwarder.js';

const SAMPLES = Number(process.env.BENCH_TLS_SAMPLES ?? 60);
const DOMAIN = 'allotrope.test';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function connectOnce(url: string): Promise<number> {
  const t = performance.now();
  const driver = neo4j.driver(url, neo4j.auth.basic('bench', 'bench-pw'), { maxConnectionPoolSize: 1 });
  try {
    await driver.executeQuery('RETURN 1 AS one');
  } finally {
    await driver.close();
  }
  return performance.now() - t;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-tls-'));
const usersFile = join(dir, 'users.json');
await writeUsers(usersFile, [{ username: 'bench', password: 'bench-pw' }]);
const server = await startServer(join(dir, 'data'), usersFile);
const id = newId();
const routerTls = await createRouterTls({ selfSigned: { dir: join(dir, 'tls'), hosts: [DOMAIN] } });
const undoDns = resolveDomainTo(DOMAIN, '127.0.0.1');
const front = startForwarder({ tls: routerTls, publicHost: DOMAIN, backends: new Map([[id, server.ready]]), plainBackend: server.ready });
try {
  const port = await front.listen('127.0.0.1');
  const ways = {
    straight: `bolt://127.0.0.1:${server.ready.boltPort}`,
    'front, plain': `bolt://127.0.0.1:${port}`,
    'front, TLS': `bolt+ssc://${id}.${DOMAIN}:${port}`,
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  const names = Object.keys(ways) as (keyof typeof ways)[];
  for (const name of names) await connectOnce(ways[name]); // warm-up (JIT, the node's first login)
  for (let i = 0; i < SAMPLES; i++) {
    // Rotate which goes first.
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!;
      times[name]!.push(await connectOnce(ways[name]));
    }
  }
  const base = median(times.straight!);
  console.log(`new driver + connect + login + RETURN 1, median of ${SAMPLES} each:`);
  for (const name of names) {
    const m = median(times[name]!);
    console.log(`  ${name.padEnd(14)} ${m.toFixed(2)} ms   straight ÷ this: ${(base / m).toFixed(2)}`);
  }
  console.log(`  TLS adds ${(median(times['front, TLS']!) - median(times['front, plain']!)).toFixed(2)} ms over the plain front`);
} finally {
  undoDns();
  await front.close();
  await stopServer(server);
  await rm(dir, { recursive: true, force: true });
}
