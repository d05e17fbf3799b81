// The local runtime running the real graph-server, reached with the official neo4j-driver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import neo4j, { type Driver } from 'neo4j-driver';
import { hashPassword } from '../src/auth/passwords.js';
import { graphServerCommand } from '../src/runtimes/local/command.js';
import { createLocalRuntime, type LocalRuntime } from '../src/runtimes/local/local-runtime.js';
import { nodePaths, writeUsersFile } from '../src/runtimes/local/node-files.js';
import { readProcessIdentity } from '../src/runtimes/local/process-identity.js';
import type { NodeSpec, RuntimeEvent } from '../src/runtimes/runtime.js';
import { waitFor } from './helpers/wait-for.js';
import { freePort } from './helpers/free-port.js';

const fromTypeScript = import.meta.url.endsWith('.ts');
// Most tests run the runtime's default command (a light entry with only `graph-server`); the adoption
// test runs `allotrope graph-server` through the full CLI entry.

async function count(driver: Driver): Promise<number> {
  const { records } = await driver.executeQuery('MATCH (p:Person) RETURN count(p) AS c');
  return (records[0]!.get('c') as { toNumber(): number }).toNumber();
}

describe('local runtime with the real graph-server', () => {
  let dir: string;
  let runtime: LocalRuntime;
  let spec: NodeSpec;
  let driver: Driver;
  const events: RuntimeEvent[] = [];
  const readyTimes: number[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'allotrope-runtime-gs-'));
    runtime = createLocalRuntime({ rootDir: dir, healthIntervalMs: 200, stopGraceMs: 5_000, backoff: { initialMs: 200 } });
    runtime.onEvent((e) => events.push(e));
    spec = { databaseId: 'db1', stationId: 'st1', boltPort: await freePort(), httpPort: await freePort(), host: '127.0.0.1' };
    await runtime.writeUsers(spec.stationId, { users: [{ username: 'neo4j', passwordHash: await hashPassword('first-password'), readOnly: false }], allow: [] });
  });

  after(async () => {
    await driver?.close();
    await runtime?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (readyTimes.length) console.log(`# graph-server spawn-to-ready ms: ${readyTimes.join(', ')}`);
  });

  function connect(password = 'first-password'): Driver {
    return neo4j.driver(`bolt://127.0.0.1:${spec.boltPort}`, neo4j.auth.basic('neo4j', password), { connectionTimeout: 3_000, maxConnectionPoolSize: 2 });
  }

  test('starts a node that neo4j-driver can write to and read from, healthy through the admin channel', async () => {
    await runtime.start(spec);
    readyTimes.push(runtime.lastStart('st1')!.readyMs);
    driver = connect();
    await driver.executeQuery('UNWIND range(1, 50) AS i CREATE (:Person {i: i})-[:KNOWS]->(:Pet {i: i})');
    assert.equal(await count(driver), 50);
    assert.equal((await runtime.health('st1')).status, 'healthy');
    assert.deepEqual(await runtime.counts('st1'), { nodes: 100, relationships: 50 });
  });

  test('new passwords apply to new connections without a restart', async () => {
    const pid = await runtime.pidOf('st1');
    await runtime.writeUsers('st1', { users: [{ username: 'neo4j', passwordHash: await hashPassword('second-password'), readOnly: false }], allow: [] });
    const fresh = connect('second-password');
    try {
      await waitFor(async () => (await count(fresh)) === 50, { timeoutMs: 5_000, intervalMs: 100, what: 'the new password to work' });
    } finally {
      await fresh.close();
    }
    assert.equal(await runtime.pidOf('st1'), pid);
    await driver.close();
    driver = connect('second-password');
  });

  test('an online backup writes the engine backup files', async () => {
    const target = path.join(dir, 'backup-1');
    await runtime.backup('st1', target);
    assert.ok((await readdir(target)).length > 0);
  });

  test('a graph-server killed with SIGKILL comes back by itself with its data', async () => {
    const pid = (await runtime.pidOf('st1'))!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'exited' && e.stationId === 'st1'), { what: 'exited event' });
    await waitFor(() => events.some((e) => e.type === 'restarted' && e.stationId === 'st1'), { timeoutMs: 20_000, what: 'restarted event' });
    readyTimes.push(runtime.lastStart('st1')!.readyMs);
    assert.notEqual(await runtime.pidOf('st1'), pid);
    await driver.close();
    driver = connect('second-password');
    assert.equal(await count(driver), 50);
  });

  test('stop refuses connections and keeps the data; restart brings it back', async () => {
    await runtime.stop('st1');
    await driver.close();
    driver = connect('second-password');
    await assert.rejects(driver.verifyConnectivity(), /ECONNREFUSED/);
    assert.equal((await runtime.health('st1')).status, 'stopped');
    await runtime.restart(spec);
    readyTimes.push(runtime.lastStart('st1')!.readyMs);
    await driver.close();
    driver = connect('second-password');
    assert.equal(await count(driver), 50);
  });

  test('the read-only setting makes the node refuse writes', async () => {
    const readOnly = { ...spec, settings: { 'server.databases.default_to_read_only': 'true' } };
    await runtime.restart(readOnly);
    readyTimes.push(runtime.lastStart('st1')!.readyMs);
    await driver.close();
    driver = connect('second-password');
    assert.equal(await count(driver), 50);
    await assert.rejects(driver.executeQuery('CREATE (:Person {i: 0})'), (err: { code?: string }) => /Forbidden|ReadOnly|AccessMode/i.test(err.code ?? ''));
  });

  test('empty deletes all data and the node runs again', async () => {
    await runtime.empty('st1');
    await driver.close();
    driver = connect('second-password');
    assert.equal(await count(driver), 0);
  });

  test('destroy removes the node and frees its port', async () => {
    await driver.close();
    await runtime.destroy('st1');
    assert.equal(existsSync(path.join(dir, 'nodes', 'st1')), false);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(spec.boltPort, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('a real graph-server outlives its control plane', () => {
  const runtimeModule = fileURLToPath(new URL(`../src/runtimes/local/local-runtime.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));

  test('a control plane killed with SIGKILL leaves the node serving; the next one adopts it without a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'allotrope-runtime-gs-'));
    const spec: NodeSpec = { databaseId: 'db2', stationId: 'st2', boltPort: await freePort(), httpPort: await freePort(), host: '127.0.0.1' };
    const paths = nodePaths(dir, spec.stationId);
    await writeUsersFile(paths, { users: [{ username: 'neo4j', passwordHash: await hashPassword('pw-of-st2'), readOnly: false }], allow: [] });
    // Through the full allotrope CLI here. Both control planes must build the same command line, or the
    // second would restart the node.
    const cli = graphServerCommand;
    const prefix = cli({ spec, paths, args: [], nodeOptions: [] });
    const script = `
      import { createLocalRuntime } from ${JSON.stringify(runtimeModule)};
      const prefix = ${JSON.stringify(prefix)};
      const runtime = createLocalRuntime({ rootDir: ${JSON.stringify(dir)}, command: ({ args }) => [...prefix, ...args] });
      await runtime.start(${JSON.stringify(spec)});
      console.log('node-pid ' + await runtime.pidOf(${JSON.stringify(spec.stationId)}));
      setInterval(() => {}, 1000);
    `;
    const controlPlane = spawn(process.execPath, [...(fromTypeScript ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let runtime: LocalRuntime | undefined;
    let driver: Driver | undefined;
    try {
      let out = '';
      controlPlane.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const nodePid = Number(await waitFor(() => /node-pid (\d+)/.exec(out)?.[1], { timeoutMs: 30_000, what: 'the first control plane to start its node' }));
      driver = neo4j.driver(`bolt://127.0.0.1:${spec.boltPort}`, neo4j.auth.basic('neo4j', 'pw-of-st2'), { maxConnectionPoolSize: 1 });
      await driver.executeQuery('CREATE (:Person {name: "before"})');
      controlPlane.kill('SIGKILL');
      await waitFor(() => controlPlane.signalCode !== null, { what: 'the control plane to die' });
      // The database keeps serving, over the connection the driver already has.
      await driver.executeQuery('CREATE (:Person {name: "between"})');

      runtime = createLocalRuntime({ rootDir: dir, command: cli, adoptedPollMs: 100 });
      const report = await runtime.reconcile([spec]);
      assert.deepEqual(report.adopted, ['st2']);
      assert.equal(await runtime.pidOf('st2'), nodePid);
      assert.equal((await runtime.health('st2')).status, 'healthy');
      assert.deepEqual(await runtime.counts('st2'), { nodes: 2, relationships: 0 });
      assert.equal(await count(driver), 2);
      await driver.close();
      driver = undefined;
      await runtime.close();
      // (Not /proc/<pid>: the orphaned node is reaped by init, which in a container may leave a zombie.)
      assert.equal(await readProcessIdentity(nodePid), null, 'close() stops the adopted node');
    } finally {
      await driver?.close();
      if (controlPlane.exitCode === null && controlPlane.signalCode === null) controlPlane.kill('SIGKILL');
      await runtime?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
