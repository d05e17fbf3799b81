// A graph-server as a real child process for tests: start it on free ports, read its ready line, stop it
// with SIGTERM, and write its users file the way the control plane does.
import { spawn, type ChildProcess } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { hashPassword } from '../../src/auth/passwords.js';
import { allotropeCommand } from './cli.js';
import { waitFor } from './wait-for.js';

// Cheap scrypt for tests: the cost is in the hash, so verification stays cheap too.
export const FAST = { N: 1024, r: 8, p: 1 };

export interface Ready {
  event: 'ready';
  boltPort: number;
  httpPort: number;
  adminSocket: string;
  databaseId: string;
}

export interface Running {
  child: ChildProcess;
  ready: Ready;
  startMs: number;
  stderr: () => string;
}

function graphServerCommand(args: string[]): [string, string[]] {
  return allotropeCommand(['graph-server', ...args]);
}

export async function startServer(dataDir: string, usersFile: string, extra: string[] = [], { readyTimeoutMs = 20_000 } = {}): Promise<Running> {
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
    await waitFor(() => child.exitCode !== null || out.includes('\n'), { timeoutMs: readyTimeoutMs, what: 'the ready line' });
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

export async function stopServer(s: Running): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}

/** Writes a users file: the bare array form, or with `allow` (network rules) the object form. */
export async function writeUsers(file: string, users: { username: string; password: string; readOnly?: boolean }[], allow?: string[]): Promise<void> {
  const entries = await Promise.all(
    users.map(async (u) => ({ username: u.username, passwordHash: await hashPassword(u.password, FAST), readOnly: u.readOnly ?? false })),
  );
  // Replace by rename, as the control plane does, so the server never reads half a file.
  await writeFile(`${file}.tmp`, JSON.stringify(allow === undefined ? entries : { users: entries, allow }));
  await rename(`${file}.tmp`, file);
}
