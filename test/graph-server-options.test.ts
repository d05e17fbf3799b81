// graph-server options as a real process: --read-only and --query-check.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import neo4j6 from 'neo4j-driver';
import { hashPassword } from '../src/graph-server/users.js';
import { allotropeCommand } from './helpers/cli.js';
import { waitFor } from './helpers/wait-for.js';

// Cheap scrypt for tests: the cost is in the hash, so verification stays cheap too.
const FAST = { N: 1024, r: 8, p: 1 };

interface Ready {
  event: 'ready';
  boltPort: number;
  httpPort: number;
  adminSocket: string;
  databaseId: string;
}

interface Running {
  child: ChildProcess;
  ready: Ready;
  startMs: number;
  stderr: () => string;
}

function graphServerCommand(args: string[]): [string, string[]] {
  const cliMain = fileURLToPath(new URL(`../src/cli/main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
  if (existsSync(cliMain) && /^\s*registerGraphServerCommand\(program\)/m.test(readFileSync(cliMain, 'utf8'))) {
    return allotropeCommand(['graph-server', ...args]);
  }
  // Until the allotrope CLI entry exists, run the graph-server command's own entry.
  const ts = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../src/graph-server/standalone.${ts ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, ts ? ['--import', 'tsx', entry, 'graph-server', ...args] : [entry, 'graph-server', ...args]];
}

async function startServer(dataDir: string, usersFile: string, extra: string[] = []): Promise<Running> {
  const [cmd, args] = graphServerCommand([
    '--data-dir', dataDir, '--bolt-port', '0', '--http-port', '0', '--users-file', usersFile, ...extra,
  ]);
  const started = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor(() => child.exitCode !== null || out.includes('\n'), { timeoutMs: 20_000, what: 'the ready line' });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) {
    child.kill('SIGKILL');
    throw new Error(`graph-server exited ${child.exitCode} before it was ready: ${err}`);
  }
  const ready = JSON.parse(line) as Ready;
  return { child, ready, startMs: Date.now() - started, stderr: () => err };
}

async function stopServer(s: Running): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}

async function writeUsers(file: string, users: { username: string; password: string; readOnly?: boolean }[]): Promise<void> {
  const entries = await Promise.all(
    users.map(async (u) => ({ username: u.username, passwordHash: await hashPassword(u.password, FAST), readOnly: u.readOnly ?? false })),
  );
  // Replace by rename, as the control plane does, so the server never reads half a file.
  await writeFile(`${file}.tmp`, JSON.stringify(entries));
  await rename(`${file}.tmp`, file);
}

describe('graph-server --read-only', () => {
  test('refuses writes from every user and still serves reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-ro-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    let server: Running | undefined;
    let d: ReturnType<typeof neo4j6.driver> | undefined;
    try {
      server = await startServer(join(dir, 'data'), usersFile, ['--read-only']);
      d = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'pw'));
      await assert.rejects(d.executeQuery('CREATE (:X)'), { code: 'Neo.ClientError.Security.Forbidden' });
      const { records } = await d.executeQuery('MATCH (n) RETURN count(n) AS c');
      assert.equal(records[0]!.get('c').toNumber(), 0);
    } finally {
      await d?.close();
      if (server) await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('graph-server --query-check', () => {
  test("Neo4j's front-end adds its notifications to the summary", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-qc-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    let server: Running | undefined;
    let d: ReturnType<typeof neo4j6.driver> | undefined;
    try {
      server = await startServer(join(dir, 'data'), usersFile, ['--query-check']);
      const driver = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'pw'));
      d = driver;
      // The first check of a text may miss its time budget while the front-end loads; it is
      // cached when it finishes, so a later send of the same text gets the verdict.
      const summary = await waitFor(
        async () => {
          const res = await driver.executeQuery('MATCH (a), (b) RETURN count(*) AS c');
          return res.summary.notifications.length ? res.summary : undefined;
        },
        { timeoutMs: 20_000, what: 'a cartesian-product notification' },
      );
      assert.match(summary.notifications[0]!.code, /CartesianProduct/);
    } finally {
      await d?.close();
      if (server) await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
