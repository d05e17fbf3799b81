// The Neo4j engine's launcher (engines/neo4j) driven from Node, as the supervisor will drive it: a
// JVM on a free loopback port, the official driver over Bolt, a SIGKILL and a restart, a snapshot,
// a SIGTERM. Needs `node scripts/install-neo4j.mjs` first; without its cache (or java) it skips and
// says why. Timings and memory are printed as diagnostics: docs/neo4j-engine.md quotes them.
// ALLOTROPE_NEO4J_CACHE names another cache; ALLOTROPE_NEO4J_JVM_FLAGS replaces the JVM flags (heap included).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import neo4j from 'neo4j-driver';
import { installedNeo4j } from './helpers/neo4j-engine.js';
import { freePort } from './helpers/free-port.js';

const repo = new URL('../../', import.meta.url).pathname;
const pinned = /<neo4j\.version>([^<]+)<\/neo4j\.version>/.exec(readFileSync(join(repo, 'engines/neo4j/pom.xml'), 'utf8'))?.[1] ?? '?';
const installed = installedNeo4j();
const cache = process.env.ALLOTROPE_NEO4J_CACHE ?? (installed.install ? installed.install.dir : join(homedir(), '.cache', 'allotrope/engines/neo4j', pinned));
const launcherJar = join(cache, 'lib/allotrope-neo4j-launcher.jar');

interface Manifest {
  jvmFlags: string[];
  cdsArchive?: string;
}
const manifest: Manifest | undefined = existsSync(join(cache, 'manifest.json'))
  ? (JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8')) as Manifest)
  : undefined;
/** A database node's JVM: a small heap, and what install-neo4j.mjs recorded (serial GC, C1 only, add-opens, its AppCDS archive). */
const JVM_FLAGS = process.env.ALLOTROPE_NEO4J_JVM_FLAGS?.split(/\s+/).filter(Boolean) ?? [
  '-Xms64m',
  '-Xmx256m',
  ...(manifest?.jvmFlags ?? []),
  ...(manifest?.cdsArchive ? [`-XX:SharedArchiveFile=${join(cache, manifest.cdsArchive)}`] : []),
];
const PASSWORD = 'internal-' + Math.random().toString(36).slice(2);

function skipReason(): string | undefined {
  if (!existsSync(launcherJar) || !manifest) return `Neo4j engine not installed: no ${launcherJar} (run: node scripts/install-neo4j.mjs)`;
  if (spawnSync('java', ['-version']).error) return 'java is not on PATH';
  return undefined;
}

function diskMiB(dir: string): number {
  return Math.round(Number(spawnSync('du', ['-sk', dir], { encoding: 'utf8' }).stdout.split('\t')[0]) / 1024);
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

/** CPU seconds (user + system, all threads) the process has used so far: a figure the machine's load does not inflate. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Math.round(((Number(fields[11]) + Number(fields[12])) / 100) * 10) / 10;
}

interface Launched {
  child: ChildProcess;
  port: number;
  readyMs: number;
  readyCpuSeconds: number;
  lines: string[];
  /** Resolves with the next stdout line that starts with OK, ERROR or STOPPED. */
  nextAnswer(): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function launch(home: string, passwordFile: string): Promise<Launched> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    'java',
    [...JVM_FLAGS, '-cp', join(cache, 'lib/*'), 'dev.allotrope.neo4j.Launcher',
      '--home', home, '--bolt-port', String(port), '--pagecache', '16m', '--password-file', passwordFile],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('READY ')) resolve(performance.now() - started);
      else if (/^(OK|ERROR|STOPPED)\b/.test(line)) waiting.shift()?.(line);
    });
    void exited.then(({ code, signal }) => reject(new Error(`launcher exited (${code ?? signal}) before READY:\n${stderr}`)));
  });
  const readyMs = await ready;
  const readyCpuSeconds = cpuSeconds(child.pid!);
  assert.equal(lines.at(-1), `READY bolt=127.0.0.1:${port} version=${pinned}`);
  return { child, port, readyMs, readyCpuSeconds, lines, exited, nextAnswer: () => new Promise((resolve) => waiting.push(resolve)) };
}

function connect(port: number, password = PASSWORD) {
  return neo4j.driver(`bolt://127.0.0.1:${port}`, neo4j.auth.basic('neo4j', password), {
    logging: { level: 'error', logger: () => {} },
  });
}

test('Neo4j launcher: Bolt, exact temporal and spatial values, crash recovery, snapshot, clean stop', async (t) => {
  const reason = skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'allotrope-neo4j-'));
  const home = join(root, 'home');
  const passwordFile = join(root, 'internal-password');
  writeFileSync(passwordFile, PASSWORD + '\n', { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  const figures: Record<string, number | string> = { jvmFlags: JVM_FLAGS.join(' ') };
  const running: Launched[] = [];
  t.after(() => {
    for (const l of running) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
  });

  // First start creates the store and sets the internal password.
  let node = await launch(home, passwordFile);
  running.push(node);
  figures.firstStartReadyMs = Math.round(node.readyMs);
  figures.firstStartReadyCpuS = node.readyCpuSeconds;
  let driver = connect(node.port);
  let t0 = performance.now();
  await driver.executeQuery('RETURN 1');
  figures.firstQueryAfterReadyMs = Math.round(performance.now() - t0);
  figures.loadAverage1m = loadavg()[0]!.toFixed(1);

  await t.test('auth is on: the default password is refused and the initial-password file is gone', async () => {
    assert.ok(!existsSync(join(home, 'data/dbms/auth.ini')));
    const wrong = connect(node.port, 'neo4j');
    await assert.rejects(wrong.verifyAuthentication().then((ok) => (ok ? undefined : Promise.reject(new Error('refused')))));
    await wrong.close();
  });

  await t.test('temporal and spatial values round-trip exactly', async () => {
    const { LocalDateTime, DateTime, Duration, Point } = neo4j.types;
    const values = {
      ldt: new LocalDateTime(2024, 2, 29, 23, 59, 58, 123456789),
      dt: new DateTime(2024, 7, 1, 12, 30, 15, 987654321, undefined, 'Europe/London'),
      dtWinter: new DateTime(2024, 1, 15, 8, 0, 0, 1, undefined, 'Europe/London'),
      dur: new Duration(14, 3, 3723, 5),
      p3: new Point(neo4j.int(4979), 12.5, 56.25, 100.125),
      p2: new Point(neo4j.int(7203), -1.5, 2.75),
    };
    await driver.executeQuery('CREATE (:Typed {id: 1, ldt: $ldt, dt: $dt, dtWinter: $dtWinter, dur: $dur, p3: $p3, p2: $p2})', values);
    const { records } = await driver.executeQuery(
      'MATCH (n:Typed {id: 1}) RETURN n.ldt AS ldt, n.dt AS dt, n.dtWinter AS dtWinter, n.dur AS dur, n.p3 AS p3, n.p2 AS p2, ' +
        "n.dt.offset AS offset, n.dtWinter.offset AS winterOffset, n.ldt.nanosecond AS nanos, toString(n.dt) AS dtText",
    );
    const r = records[0]!;
    for (const key of ['ldt', 'dur', 'p3', 'p2'] as const) {
      assert.equal(String(r.get(key)), String(values[key]), key);
    }
    // Sent with a zone id only, a DateTime comes back with the offset the server worked out for it.
    assert.equal(String(r.get('dt')), '2024-07-01T12:30:15.987654321+01:00[Europe/London]');
    assert.equal(String(r.get('dtWinter')), '2024-01-15T08:00:00.000000001Z[Europe/London]');
    assert.equal(r.get('dt').timeZoneId, 'Europe/London');
    assert.equal(r.get('dt').nanosecond.toNumber(), 987654321);
    assert.equal(r.get('offset'), '+01:00');
    assert.equal(r.get('winterOffset'), 'Z');
    assert.equal(r.get('nanos').toNumber(), 123456789);
    assert.equal(r.get('dtText'), '2024-07-01T12:30:15.987654321+01:00[Europe/London]');
    assert.deepEqual([r.get('dur').months.toNumber(), r.get('dur').days.toNumber(), r.get('dur').seconds.toNumber(), r.get('dur').nanoseconds.toNumber()], [14, 3, 3723, 5]);
    assert.deepEqual([r.get('p3').srid.toNumber(), r.get('p3').x, r.get('p3').y, r.get('p3').z], [4979, 12.5, 56.25, 100.125]);
    assert.deepEqual([r.get('p2').srid.toNumber(), r.get('p2').x, r.get('p2').y], [7203, -1.5, 2.75]);
  });

  await t.test('LOAD CSV reads from the import directory and nowhere else', async () => {
    writeFileSync(join(home, 'import/people.csv'), 'name\nAda\nAlan\n');
    const { records } = await driver.executeQuery("LOAD CSV WITH HEADERS FROM 'file:///people.csv' AS row RETURN collect(row.name) AS names");
    assert.deepEqual(records[0]?.get('names'), ['Ada', 'Alan']);
    // A path that climbs out of the import directory is resolved inside it, so the password file beside it is not found.
    await assert.rejects(driver.executeQuery("LOAD CSV FROM 'file:///../../internal-password' AS row RETURN row"));
  });

  figures.idleRssMiB = rssMiB(node.child.pid!);

  await t.test('committed data survives a SIGKILL', async () => {
    await driver.executeQuery("CREATE (:Committed {name: 'before the crash'})");
    await driver.close();
    node.child.kill('SIGKILL');
    assert.equal((await node.exited).signal, 'SIGKILL');
    node = await launch(home, passwordFile);
    running.push(node);
    figures.restartAfterSigkillReadyMs = Math.round(node.readyMs);
    figures.restartAfterSigkillReadyCpuS = node.readyCpuSeconds;
    driver = connect(node.port);
    t0 = performance.now();
    const { records } = await driver.executeQuery('MATCH (n:Committed) RETURN n.name AS name');
    figures.firstQueryAfterRecoveryMs = Math.round(performance.now() - t0);
    assert.deepEqual(records.map((r) => r.get('name')), ['before the crash']);
    const typed = await driver.executeQuery('MATCH (n:Typed) RETURN n.ldt AS ldt');
    assert.equal(String(typed.records[0]?.get('ldt')), '2024-02-29T23:59:58.123456789');
  });

  await t.test('100k nodes, then an online snapshot opens as a database of its own', async () => {
    t0 = performance.now();
    const session = driver.session();
    await session.run("UNWIND range(1, 100000) AS i CALL (i) { CREATE (:Bulk {i: i, name: 'node ' + i}) } IN TRANSACTIONS OF 10000 ROWS");
    await session.close();
    figures.create100kNodesMs = Math.round(performance.now() - t0);
    figures.rssAfter100kNodesMiB = rssMiB(node.child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    figures.rssAfter100kNodesSettledMiB = rssMiB(node.child.pid!);

    // Writes are held back here simply by this test issuing none until the answer.
    const snapshot = join(root, 'snapshot');
    t0 = performance.now();
    node.child.stdin!.write(`snapshot ${snapshot}\n`);
    assert.equal(await node.nextAnswer(), `OK snapshot ${snapshot}`);
    figures.onlineSnapshotMs = Math.round(performance.now() - t0);
    figures.dataDirAfter100kNodesMiB = diskMiB(join(home, 'data'));
    figures.snapshotMiB = diskMiB(snapshot);

    const copyHome = join(root, 'copy');
    mkdirSync(copyHome);
    cpSync(snapshot, join(copyHome, 'data'), { recursive: true });
    const copy = await launch(copyHome, passwordFile);
    running.push(copy);
    const copyDriver = connect(copy.port);
    const { records } = await copyDriver.executeQuery('MATCH (n:Bulk) RETURN count(n) AS n, max(n.i) AS top');
    assert.equal(records[0]?.get('n').toNumber(), 100000);
    assert.equal(records[0]?.get('top').toNumber(), 100000);
    await copyDriver.close();
    copy.child.stdin!.end(); // end of input stops the launcher too
    assert.equal(await copy.nextAnswer(), 'STOPPED');
    assert.equal((await copy.exited).code, 0);
  });

  await t.test('SIGTERM shuts down cleanly', async () => {
    await driver.close();
    t0 = performance.now();
    node.child.kill('SIGTERM');
    assert.equal(await node.nextAnswer(), 'STOPPED');
    const { code, signal } = await node.exited;
    figures.sigtermStopMs = Math.round(performance.now() - t0);
    assert.ok(code === 143 || signal === 'SIGTERM', `exit ${code ?? signal}`);
    assert.equal(node.lines.filter((l) => l.startsWith('ERROR')).length, 0);
  });
});
