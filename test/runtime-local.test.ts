// The local runtime supervising real processes. Most tests run a small stand-in node (a Node.js
// one-liner that listens on the bolt port, prints the graph-server's ready line and exits on SIGTERM),
// so they test the supervisor and not the graph-server; test/runtime-graph-server.test.ts runs the real one.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NodeSpec, RuntimeEvent } from '../src/runtimes/runtime.js';
import { createLocalRuntime, nodeEnvironment, type LocalRuntime, type LocalRuntimeOptions } from '../src/runtimes/local/local-runtime.js';
import { nodePaths, readPidRecord, writePidRecord } from '../src/runtimes/local/node-files.js';
import { readProcessIdentity } from '../src/runtimes/local/process-identity.js';
import { noAdminChannel } from '../src/runtimes/local/admin-channel.js';
import { DEFAULT_BACKOFF, backoffDelayMs } from '../src/runtimes/local/backoff.js';
import { waitFor } from './helpers/wait-for.js';
import { freePort } from './helpers/free-port.js';

const FAKE_NODE = `
const net = require('node:net');
const args = process.argv.slice(1);
const flag = (name) => args[args.indexOf(name) + 1];
if (!process.env.FAKE_IGNORE_SIGTERM) process.on('SIGTERM', () => process.exit(0));
else process.on('SIGTERM', () => {});
const server = net.createServer((socket) => socket.end());
const listen = (cb) => server.listen(Number(flag('--bolt-port')), flag('--host'), cb);
process.on('SIGUSR2', () => server.close());
setInterval(() => {}, 1 << 30); // stays alive while not listening
process.on('SIGUSR1', () => listen(() => {}));
listen(() => {
  console.log('starting up');
  // Port 0 picks a free one, as graph-server does; the ready line names the real ports.
  console.log(JSON.stringify({ event: 'ready', boltPort: server.address().port, httpPort: Number(flag('--http-port')) || 1 }));
  if (process.env.FAKE_CRASH_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.FAKE_CRASH_AFTER_MS));
  if (process.env.FAKE_LOG_BYTES) console.log('x'.repeat(Number(process.env.FAKE_LOG_BYTES)));
});
`;

const fakeCommand: LocalRuntimeOptions['command'] = ({ args }) => [process.execPath, '-e', FAKE_NODE, '--', ...args];

const tempDirs: string[] = [];
const runtimes: LocalRuntime[] = [];
const extraProcesses: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'allotrope-runtime-'));
  tempDirs.push(dir);
  return dir;
}

async function specFor(stationId: string, extra: Partial<NodeSpec> = {}): Promise<NodeSpec> {
  return { databaseId: `db-${stationId}`, stationId, boltPort: await freePort(), httpPort: await freePort(), host: '127.0.0.1', ...extra };
}

function runtimeWith(rootDir: string, options: Partial<LocalRuntimeOptions> = {}): LocalRuntime {
  const runtime = createLocalRuntime({ rootDir, command: fakeCommand, admin: noAdminChannel, stopGraceMs: 2_000, healthIntervalMs: 100, ...options });
  runtimes.push(runtime);
  return runtime;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function alive(pid: number): Promise<boolean> {
  return (await readProcessIdentity(pid)) !== null;
}

function collectEvents(runtime: LocalRuntime): RuntimeEvent[] {
  const events: RuntimeEvent[] = [];
  runtime.onEvent((e) => events.push(e));
  return events;
}

/**
 * Resolves once the runtime's first back-off has surely run out for every node: a witness node of the
 * same runtime is killed after the event under test, and its restart (after that same back-off) awaited.
 * What the runtime would do on its own to another node after a back-off would have happened by then.
 */
async function backoffRanOut(runtime: LocalRuntime, events: RuntimeEvent[]): Promise<void> {
  await runtime.start(await specFor('witness'));
  process.kill((await runtime.pidOf('witness'))!, 'SIGKILL');
  await waitFor(() => events.some((e) => e.stationId === 'witness' && e.type === 'restarted'), { what: 'the witness node to be restarted after the back-off' });
}

const eventsOf = (events: RuntimeEvent[], stationId: string) => events.filter((e) => e.stationId === stationId);

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
  for (const child of extraProcesses.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

after(async () => {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('local runtime: lifecycle', () => {
  test('start resolves once the node is ready, and a second start changes nothing', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.start(spec);
    assert.equal(await canConnect(spec.boltPort), true);
    const pid = await runtime.pidOf('s1');
    assert.ok(pid);
    const first = runtime.lastStart('s1');
    assert.ok(first && first.readyMs > 0 && !first.adopted);
    await runtime.start(spec);
    assert.equal(await runtime.pidOf('s1'), pid);
    assert.equal((await runtime.health('s1')).status, 'healthy');
  });

  test('stop ends the process, frees the port and is idempotent', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.stop('s1'); // never started: no-op
    await runtime.start(spec);
    const pid = (await runtime.pidOf('s1'))!;
    await runtime.stop('s1');
    assert.equal(await alive(pid), false);
    assert.equal(await canConnect(spec.boltPort), false);
    assert.equal((await runtime.health('s1')).status, 'stopped');
    await runtime.stop('s1');
    assert.equal(await runtime.pidOf('s1'), undefined);
  });

  test('restart replaces the process; reset kills it without a grace period', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.start(spec);
    const pid1 = (await runtime.pidOf('s1'))!;
    await runtime.restart(spec);
    const pid2 = (await runtime.pidOf('s1'))!;
    assert.notEqual(pid2, pid1);
    assert.equal(await alive(pid1), false);
    await runtime.restart(spec, { reset: true });
    const pid3 = (await runtime.pidOf('s1'))!;
    assert.notEqual(pid3, pid2);
    assert.equal(await canConnect(spec.boltPort), true);
  });

  test('a node that ignores SIGTERM is killed after the grace period', async () => {
    const runtime = runtimeWith(await tempDir(), { stopGraceMs: 300, env: { ...nodeEnvironment(), FAKE_IGNORE_SIGTERM: '1' } });
    await runtime.start(await specFor('s1'));
    const pid = (await runtime.pidOf('s1'))!;
    const t0 = performance.now();
    await runtime.stop('s1');
    assert.ok(performance.now() - t0 >= 280);
    assert.equal(await alive(pid), false);
  });

  test('start fails with the node output when the process exits before it is ready', async () => {
    const runtime = runtimeWith(await tempDir(), {
      command: () => [process.execPath, '-e', "console.error('cannot open the store'); process.exit(2)"],
    });
    await assert.rejects(runtime.start(await specFor('s1')), /exited with code 2 before it was ready; last output: cannot open the store/);
    assert.equal(await runtime.pidOf('s1'), undefined);
  });

  test('start times out when the node never prints its ready line, leaving no process behind', async () => {
    const dir = await tempDir();
    const runtime = runtimeWith(dir, {
      readyTimeoutMs: 300,
      command: ({ paths }) => [process.execPath, '-e', 'setInterval(() => {}, 1000)', '--', paths.dataDir],
    });
    await assert.rejects(runtime.start(await specFor('s1')), /not ready within 300 ms/);
    assert.equal(await runtime.pidOf('s1'), undefined);
  });

  test('destroy stops the node, removes its files and frees the port', async () => {
    const dir = await tempDir();
    const runtime = runtimeWith(dir);
    const spec = await specFor('s1');
    await runtime.start(spec);
    const pid = (await runtime.pidOf('s1'))!;
    await runtime.destroy('s1');
    assert.equal(await alive(pid), false);
    await assert.rejects(stat(path.join(dir, 'nodes', 's1')), { code: 'ENOENT' });
    // The port can be bound again.
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(spec.boltPort, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runtime.destroy('s1');
  });

  test('empty wipes the data directory and brings a running node back', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.start(spec);
    const dataDir = runtime.paths('s1').dataDir;
    await writeFile(path.join(dataDir, 'store.grafeo'), 'data');
    await runtime.empty('s1');
    assert.deepEqual(await readdir(dataDir), []);
    assert.equal(await canConnect(spec.boltPort), true);
  });

  test('close stops every node it supervises', async () => {
    const runtime = runtimeWith(await tempDir());
    await runtime.start(await specFor('a'));
    await runtime.start(await specFor('b'));
    const pids = [(await runtime.pidOf('a'))!, (await runtime.pidOf('b'))!];
    await runtime.close();
    for (const pid of pids) assert.equal(await alive(pid), false);
  });

  test("nodes do not inherit the control plane's secrets from its environment", async () => {
    process.env.ALLOTROPE_TEST_SECRET = 'do-not-leak';
    try {
      const runtime = runtimeWith(await tempDir(), {
        command: ({ args }) => [process.execPath, '-e', `console.log('secret=' + process.env.ALLOTROPE_TEST_SECRET);\n${FAKE_NODE}`, '--', ...args],
      });
      await runtime.start(await specFor('s1'));
      const log = await readFile(runtime.paths('s1').logFile, 'utf8');
      assert.match(log, /secret=undefined/);
    } finally {
      delete process.env.ALLOTROPE_TEST_SECRET;
    }
  });

  test('refuses station ids that could escape the data directory', async () => {
    const runtime = runtimeWith(await tempDir());
    await assert.rejects(runtime.start(await specFor('../evil')), /station id '..\/evil' is not valid/);
    await assert.rejects(runtime.destroy('a/b'), /is not valid/);
  });
});

describe('local runtime: supervision', () => {
  test('back-off doubles from 0.5 s up to 30 s by default', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelayMs(DEFAULT_BACKOFF, n)), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test('a node killed with SIGKILL is reported and restarted after a back-off, then healthy', async () => {
    const runtime = runtimeWith(await tempDir(), { backoff: { initialMs: 300 } });
    const events = collectEvents(runtime);
    const spec = await specFor('s1');
    await runtime.start(spec);
    const pid = (await runtime.pidOf('s1'))!;
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'exited'), { what: 'exited event' });
    assert.match(events.find((e) => e.type === 'exited')!.detail!, /SIGKILL/);
    await waitFor(() => events.some((e) => e.type === 'restarted'), { what: 'restarted event' });
    assert.ok(performance.now() - killedAt >= 300, 'restarted before the back-off delay');
    const newPid = (await runtime.pidOf('s1'))!;
    assert.notEqual(newPid, pid);
    assert.equal((await runtime.health('s1')).status, 'healthy');
    assert.equal(await canConnect(spec.boltPort), true);
  });

  test('a node that keeps crashing is restarted with growing delays, then given up', async () => {
    const runtime = runtimeWith(await tempDir(), {
      env: { ...nodeEnvironment(), FAKE_CRASH_AFTER_MS: '10' },
      backoff: { initialMs: 50, maxMs: 200, maxConsecutiveFailures: 3 },
    });
    const events = collectEvents(runtime);
    const times: number[] = [];
    runtime.onEvent((e) => {
      if (e.type === 'exited') times.push(performance.now());
    });
    await runtime.start(await specFor('s1'));
    await waitFor(() => events.some((e) => e.type === 'gave-up'), { what: 'gave-up event' });
    assert.equal(events.filter((e) => e.type === 'restarted').length, 3);
    assert.equal(events.filter((e) => e.type === 'exited').length, 4);
    // Gaps between crashes contain the back-off: 50, 100, 200 ms (+ start time).
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(gaps[0]! >= 50 && gaps[1]! >= 100 && gaps[2]! >= 200, `gaps ${gaps.join(', ')}`);
    assert.equal(await runtime.pidOf('s1'), undefined);
    const health = await runtime.health('s1');
    assert.equal(health.status, 'unhealthy');
    assert.match(health.detail!, /gave up after 3 failed restarts/);
  });

  test('a node that ran for the stable period starts again from the shortest back-off', async () => {
    // Each run outlives `stableMs`, so the count of failures restarts every time and it never gives up.
    const runtime = runtimeWith(await tempDir(), {
      env: { ...nodeEnvironment(), FAKE_CRASH_AFTER_MS: '150' },
      backoff: { initialMs: 20, maxMs: 5_000, stableMs: 100, maxConsecutiveFailures: 1 },
    });
    const events = collectEvents(runtime);
    await runtime.start(await specFor('s1'));
    await waitFor(() => events.filter((e) => e.type === 'restarted').length >= 3, { what: 'three restarts' });
    assert.equal(events.filter((e) => e.type === 'gave-up').length, 0);
  });

  test('a stopped node is not restarted', async () => {
    const runtime = runtimeWith(await tempDir(), { backoff: { initialMs: 20 } });
    const events = collectEvents(runtime);
    await runtime.start(await specFor('s1'));
    await runtime.stop('s1');
    await backoffRanOut(runtime, events);
    assert.deepEqual(eventsOf(events, 's1').filter((e) => e.type === 'exited' || e.type === 'restarted'), []);
    assert.equal(await runtime.pidOf('s1'), undefined);
  });

  test('health turns unhealthy when the node stops answering, and healthy again', async () => {
    const runtime = runtimeWith(await tempDir(), { healthIntervalMs: 50, healthTimeoutMs: 200 });
    const events = collectEvents(runtime);
    const spec = await specFor('s1');
    await runtime.start(spec);
    const pid = (await runtime.pidOf('s1'))!;
    process.kill(pid, 'SIGUSR2'); // the stand-in closes its listener but keeps running
    await waitFor(() => events.some((e) => e.type === 'unhealthy'), { what: 'unhealthy event' });
    const sick = await runtime.health('s1');
    assert.equal(sick.status, 'unhealthy');
    assert.match(sick.detail!, /cannot connect/);
    process.kill(pid, 'SIGUSR1'); // listens again
    await waitFor(() => events.some((e) => e.type === 'healthy'), { what: 'healthy event' });
    assert.equal(events.filter((e) => e.type === 'exited').length, 0);
  });
});

describe('local runtime: crash recovery', () => {
  // Compiled tests (npm test) import the compiled runtime; tests run from TypeScript go through tsx.
  const fromTypeScript = import.meta.url.endsWith('.ts');
  const runtimeModule = fileURLToPath(new URL(`../src/runtimes/local/local-runtime.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));

  /** A separate control plane that starts one node, says so, and waits to be killed with SIGKILL. */
  async function controlPlaneThatDies(rootDir: string, spec: NodeSpec): Promise<number> {
    const script = `
      import { createLocalRuntime } from ${JSON.stringify(runtimeModule)};
      const FAKE = ${JSON.stringify(FAKE_NODE)};
      const runtime = createLocalRuntime({ rootDir: ${JSON.stringify(rootDir)},
        command: ({ args }) => [process.execPath, '-e', FAKE, '--', ...args] });
      await runtime.start(${JSON.stringify(spec)});
      console.log('node-pid ' + await runtime.pidOf(${JSON.stringify(spec.stationId)}));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, [...(fromTypeScript ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    extraProcesses.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const nodePid = await waitFor(() => /node-pid (\d+)/.exec(out)?.[1], { timeoutMs: 20_000, what: 'control plane to start its node' });
    child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, { what: 'control plane to die' });
    return Number(nodePid);
  }

  test('after the control plane is killed, reconcile stops a node that should not run', async () => {
    const dir = await tempDir();
    const spec = await specFor('stray');
    const nodePid = await controlPlaneThatDies(dir, spec);
    assert.equal(await alive(nodePid), true, 'the node outlives its control plane');
    const runtime = runtimeWith(dir);
    const report = await runtime.reconcile([]);
    assert.deepEqual(report.stopped, ['stray']);
    assert.equal(await alive(nodePid), false);
    assert.equal(await canConnect(spec.boltPort), false);
  });

  test('after the control plane is killed, reconcile adopts a node that should run, and supervises it', async () => {
    const dir = await tempDir();
    const spec = await specFor('keep');
    const nodePid = await controlPlaneThatDies(dir, spec);
    const runtime = runtimeWith(dir, { adoptedPollMs: 50, backoff: { initialMs: 50 } });
    const events = collectEvents(runtime);
    const report = await runtime.reconcile([spec]);
    assert.deepEqual(report.adopted, ['keep']);
    assert.equal(await runtime.pidOf('keep'), nodePid);
    assert.equal((await runtime.health('keep')).status, 'healthy');
    // An adopted process that dies is noticed by polling and restarted like our own child.
    process.kill(nodePid, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'restarted'), { what: 'restart of the adopted node' });
    const newPid = (await runtime.pidOf('keep'))!;
    assert.notEqual(newPid, nodePid);
    assert.equal(await canConnect(spec.boltPort), true);
  });

  test('a node asked for port 0 listens where its ready line says; endpoint() reports it, also after adoption', async () => {
    const dir = await tempDir();
    const spec = await specFor('ephemeral', { boltPort: 0, httpPort: 0 });
    const nodePid = await controlPlaneThatDies(dir, spec);
    const runtime = runtimeWith(dir);
    const report = await runtime.reconcile([spec]);
    assert.deepEqual(report.adopted, ['ephemeral']);
    assert.equal(await runtime.pidOf('ephemeral'), nodePid);
    const ports = await runtime.endpoint('ephemeral');
    assert.ok(ports && ports.boltPort > 0, JSON.stringify(ports));
    assert.equal(await canConnect(ports.boltPort), true);
    assert.equal((await runtime.health('ephemeral')).status, 'healthy');
    await runtime.stop('ephemeral');
    assert.equal(await runtime.endpoint('ephemeral'), null);
  });

  test('a node recorded before its ready line (its control plane killed while it started) is started again, not adopted without ports', async () => {
    const dir = await tempDir();
    const spec = await specFor('half-started', { boltPort: 0, httpPort: 0 });
    const nodePid = await controlPlaneThatDies(dir, spec);
    // What the record holds when the control plane dies between spawn and the ready line: pid, no ports.
    const paths = nodePaths(dir, 'half-started');
    const { ports: _ports, ...early } = (await readPidRecord(paths))!;
    await writePidRecord(paths, early);
    const runtime = runtimeWith(dir);
    const report = await runtime.reconcile([spec]);
    assert.deepEqual(report.started, ['half-started']);
    assert.equal(await alive(nodePid), false, 'the process whose ports were unknown is stopped');
    const ports = await runtime.endpoint('half-started');
    assert.ok(ports && ports.boltPort > 0, `endpoint() names where the new process listens: ${JSON.stringify(ports)}`);
    assert.equal(await canConnect(ports.boltPort), true);
  });

  test('reconcile restarts a surviving node whose desired spec changed meanwhile', async () => {
    const dir = await tempDir();
    const spec = await specFor('changed');
    const nodePid = await controlPlaneThatDies(dir, spec);
    const runtime = runtimeWith(dir);
    const moved = { ...spec, boltPort: await freePort() };
    const report = await runtime.reconcile([moved]);
    assert.deepEqual(report.started, ['changed']);
    assert.equal(await alive(nodePid), false);
    assert.equal(await canConnect(moved.boltPort), true);
  });

  test('a pid file naming a reused pid never gets that process killed', async () => {
    const dir = await tempDir();
    const runtime = runtimeWith(dir);
    const spec = await specFor('s1');
    await runtime.start(spec);
    await runtime.close({ leaveRunning: true });
    const paths = runtime.paths('s1');
    const record = JSON.parse(await readFile(paths.pidFile, 'utf8')) as { pid: number; startTime: string };
    process.kill(record.pid, 'SIGKILL');
    await waitFor(async () => !(await alive(record.pid)), { what: 'node to die' });

    // An unrelated process now holds the recorded pid: same pid number, other start time and argv.
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    extraProcesses.push(bystander);
    await waitFor(() => bystander.pid, { what: 'bystander pid' });
    const bystanderId = (await waitFor(() => readProcessIdentity(bystander.pid!), { what: 'bystander identity' }))!;
    await writeFile(paths.pidFile, JSON.stringify({ ...record, pid: bystander.pid }));
    const second = runtimeWith(dir);
    assert.equal(await second.pidOf('s1'), undefined, 'start time differs: not our node');
    assert.deepEqual((await second.reconcile([])).stopped, []);
    assert.equal(await alive(bystander.pid!), true);

    // Even with the right start time, a process whose command line does not name the node is not ours.
    await writeFile(paths.pidFile, JSON.stringify({ ...record, pid: bystander.pid, startTime: bystanderId.startTime }));
    const third = runtimeWith(dir);
    assert.deepEqual((await third.reconcile([])).stopped, []);
    assert.equal(await alive(bystander.pid!), true);
  });
});

describe('local runtime: reconcile failures', () => {
  test('a desired node that fails to start is reported and shown unhealthy until a start succeeds', async () => {
    const dir = await tempDir();
    const marker = path.join(dir, 'allow-start');
    // Refuses to start until the marker file exists, like a node whose port is taken for a while.
    const gated: LocalRuntimeOptions['command'] = ({ args }) => [
      process.execPath, '-e', `if (!require('node:fs').existsSync(${JSON.stringify(marker)})) { console.error('port in use'); process.exit(1); }\n${FAKE_NODE}`, '--', ...args,
    ];
    const runtime = runtimeWith(dir, { command: gated, backoff: { initialMs: 20 } });
    const events = collectEvents(runtime);
    const spec = await specFor('s1');
    const report = await runtime.reconcile([spec]);
    assert.equal(report.failed.length, 1);
    assert.match(report.failed[0]!.error, /port in use/);
    const health = await runtime.health('s1');
    assert.equal(health.status, 'unhealthy');
    assert.match(health.detail!, /failed to start/);
    await writeFile(marker, '');
    await backoffRanOut(runtime, events); // no retry behind the caller, though a start would now succeed
    assert.deepEqual(eventsOf(events, 's1'), []);
    assert.equal(await runtime.pidOf('s1'), undefined);
    await runtime.start(spec);
    assert.equal((await runtime.health('s1')).status, 'healthy');
  });

  test('a failed start() is not retried behind the caller', async () => {
    // Node s1 cannot start; the witness can.
    const command: LocalRuntimeOptions['command'] = (launch) => (launch.spec.stationId === 's1' ? [process.execPath, '-e', 'process.exit(1)'] : fakeCommand(launch));
    const runtime = runtimeWith(await tempDir(), { command, backoff: { initialMs: 20 } });
    const events = collectEvents(runtime);
    await assert.rejects(runtime.start(await specFor('s1')));
    await backoffRanOut(runtime, events);
    assert.deepEqual(eventsOf(events, 's1'), []);
    assert.equal((await runtime.health('s1')).status, 'stopped');
  });
});

describe('local runtime: processes without a pid file', () => {
  /** A node process as a control plane killed between spawn and pid file would leave it. */
  async function unrecordedNode(runtime: LocalRuntime, spec: NodeSpec): Promise<ChildProcess> {
    await runtime.provision(spec);
    const args = ['--data-dir', runtime.paths(spec.stationId).dataDir, '--bolt-port', String(spec.boltPort), '--host', '127.0.0.1'];
    const child = spawn(process.execPath, ['-e', FAKE_NODE, '--', ...args], { stdio: 'ignore' });
    extraProcesses.push(child);
    await waitFor(() => canConnect(spec.boltPort), { what: 'unrecorded node to listen' });
    return child;
  }

  test('reconcile stops a node process that no pid file records', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('lost');
    const child = await unrecordedNode(runtime, spec);
    const report = await runtime.reconcile([]);
    assert.deepEqual(report.stopped, ['lost']);
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, { what: 'unrecorded node to exit' });
  });

  test('start replaces an unrecorded process that holds the node data directory', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('lost');
    const child = await unrecordedNode(runtime, spec);
    await runtime.start(spec);
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, { what: 'unrecorded node to exit' });
    const pid = await runtime.pidOf('lost');
    assert.ok(pid && pid !== child.pid);
    assert.equal(await canConnect(spec.boltPort), true);
  });
});

describe('local runtime: files', () => {
  test('writeUsers replaces the users file atomically and keeps it private', async () => {
    const runtime = runtimeWith(await tempDir());
    await runtime.provision(await specFor('s1'));
    const file = runtime.paths('s1').usersFile;
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { users: [], allow: [] });
    const many = (n: number) =>
      Array.from({ length: 200 }, (_, i) => ({ username: `u${n}-${i}`, passwordHash: `hash-${n}-${i}`.repeat(10), readOnly: i % 2 === 0 }));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const { users } = JSON.parse(await readFile(file, 'utf8')) as { users: unknown[] };
        assert.ok(users.length === 0 || users.length === 200, 'a reader saw a partial file');
        reads += 1;
      }
    })();
    for (let n = 0; n < 30; n++) await runtime.writeUsers('s1', { users: many(n), allow: [] });
    writing = false;
    await reader;
    assert.ok(reads > 0);
    const final = (JSON.parse(await readFile(file, 'utf8')) as { users: { username: string; readOnly: boolean }[] }).users;
    assert.equal(final[0]!.username, 'u29-0');
    assert.equal(final[0]!.readOnly, true);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(path.dirname(file))).filter((f) => f.endsWith('.tmp')), []);
  });

  test("the node's output goes to its log file, capped in size", async () => {
    const runtime = runtimeWith(await tempDir(), { logMaxBytes: 4096, healthIntervalMs: 50, env: { ...nodeEnvironment(), FAKE_LOG_BYTES: '10000' } });
    await runtime.start(await specFor('s1'));
    const log = runtime.paths('s1').logFile;
    await waitFor(async () => (await readFile(`${log}.1`, 'utf8').catch(() => '')).includes('"event":"ready"'), { what: 'rotated log' });
    await waitFor(async () => (await stat(log)).size <= 4096, { what: 'log under its cap' });
  });

  test('restoreFiles replaces the data of a stopped node and refuses a running one', async () => {
    const dir = await tempDir();
    const runtime = runtimeWith(dir);
    const spec = await specFor('s1');
    await runtime.start(spec);
    const source = await tempDir();
    await writeFile(path.join(source, 'backup_full_0000.grafeo'), 'restored');
    await assert.rejects(runtime.restoreFiles('s1', source), /must be stopped/);
    await runtime.stop('s1');
    await writeFile(path.join(runtime.paths('s1').dataDir, 'old.grafeo'), 'old');
    await runtime.restoreFiles('s1', source);
    assert.deepEqual(await readdir(runtime.paths('s1').dataDir), ['backup_full_0000.grafeo']);
  });

  test('restoreFiles can keep the replaced data aside, through a restart, until it is put back or discarded', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.provision(spec);
    const dataDir = runtime.paths('s1').dataDir;
    await writeFile(path.join(dataDir, 'graph.grafeo'), 'old');
    const source = await tempDir();
    await writeFile(path.join(source, 'graph.grafeo'), 'new');
    assert.equal(await runtime.restoreReplacedFiles('s1'), false);
    await runtime.restoreFiles('s1', source, { keepReplaced: true });
    // A re-run of the same swap keeps what was first set aside, not the new data now in place.
    await runtime.restoreFiles('s1', source, { keepReplaced: true });
    await runtime.start(spec);
    assert.equal(await readFile(path.join(dataDir, 'graph.grafeo'), 'utf8'), 'new');
    assert.equal(await runtime.restoreReplacedFiles('s1'), true);
    assert.equal((await runtime.health('s1')).status, 'stopped');
    assert.equal(await readFile(path.join(dataDir, 'graph.grafeo'), 'utf8'), 'old');
    assert.equal(await runtime.restoreReplacedFiles('s1'), false);
    await runtime.restoreFiles('s1', source, { keepReplaced: true });
    await runtime.discardReplacedFiles('s1');
    assert.equal(await runtime.restoreReplacedFiles('s1'), false);
    assert.equal(await readFile(path.join(dataDir, 'graph.grafeo'), 'utf8'), 'new');
  });

  test('restoreFiles refuses links in the backup, leaving the data as it was', async () => {
    const runtime = runtimeWith(await tempDir());
    await runtime.provision(await specFor('s1'));
    const dataDir = runtime.paths('s1').dataDir;
    await writeFile(path.join(dataDir, 'graph.grafeo'), 'current');
    const source = await tempDir();
    await writeFile(path.join(source, 'graph.grafeo'), 'restored');
    await symlink('/etc/passwd', path.join(source, 'sneaky'));
    await assert.rejects(runtime.restoreFiles('s1', source), /sneaky, which is neither a file nor a directory/);
    assert.equal(await readFile(path.join(dataDir, 'graph.grafeo'), 'utf8'), 'current');
    await assert.rejects(runtime.restoreFiles('s1', path.join(source, 'missing')), /cannot be read: ENOENT/);
  });

  test('a restore interrupted between its two renames is completed at the next start', async () => {
    const runtime = runtimeWith(await tempDir());
    const spec = await specFor('s1');
    await runtime.provision(spec);
    const dataDir = runtime.paths('s1').dataDir;
    // The state a crash leaves: data moved aside, the complete new copy not yet in place.
    await writeFile(path.join(dataDir, 'graph.grafeo'), 'old');
    await rename(dataDir, `${dataDir}.previous`);
    await mkdir(`${dataDir}.restoring`);
    await writeFile(path.join(`${dataDir}.restoring`, 'graph.grafeo'), 'new');
    await runtime.start(spec);
    assert.equal(await readFile(path.join(dataDir, 'graph.grafeo'), 'utf8'), 'new');
    assert.deepEqual((await readdir(path.dirname(dataDir))).filter((f) => f.startsWith('data.')), []);
  });
});
