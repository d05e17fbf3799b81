// One `allotrope serve` per data dir. Two on one data dir fight over the same databases (a second one adopted
// every running node, and stopping it stopped them all). The lock is a listening unix socket named after the
// data dir's real path — in Linux's abstract namespace, which the kernel releases the moment the holder dies,
// so a crash never leaves a stale lock (elsewhere a socket file, removed when nothing answers on it). A second
// `serve` asks the holder who it is and refuses, naming its pid and API address.
import { createHash } from 'node:crypto';
import { realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CliError } from './errors.js';

export interface DataDirHolder {
  pid: number;
  /** The API's address once listening. */
  url: string | null;
}

export interface DataDirLock {
  release(): Promise<void>;
}

/** What holds the lock: `serve` (the API) or `router` (src/router/, one per data dir as well). */
export type LockRole = 'serve' | 'router';

function socketName(dataDir: string, role: LockRole): string {
  const real = realpathSync(dataDir);
  const prefix = role === 'serve' ? 'allotrope-data-dir' : 'allotrope-router';
  if (process.platform === 'linux') return `\0${prefix}-${createHash('sha256').update(real).digest('hex').slice(0, 40)}`;
  return join(real, `${role}.lock`);
}

function ask(name: string): Promise<DataDirHolder | null> {
  return new Promise((resolve) => {
    const socket = net.connect(name);
    let text = '';
    const done = (holder: DataDirHolder | null) => {
      socket.destroy();
      resolve(holder);
    };
    socket.setTimeout(3_000, () => done({ pid: 0, url: null }));
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as DataDirHolder);
      } catch {
        done({ pid: 0, url: null });
      }
    });
    socket.on('error', () => done(null));
  });
}

/** Takes the data dir for this process, or names the serve (router) that holds it. */
async function attemptLock(dataDir: string, holder: () => DataDirHolder, role: LockRole = 'serve'): Promise<DataDirLock | { heldBy: DataDirHolder }> {
  const name = socketName(dataDir, role);
  const server = net.createServer((socket) => socket.end(`${JSON.stringify(holder())}\n`));
  for (let attempt = 0; ; attempt++) {
    const taken = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen(name, () => {
        server.off('error', resolve);
        resolve(null);
      });
    });
    if (!taken) break;
    if (taken.code !== 'EADDRINUSE') throw new CliError(`cannot lock the data dir ${dataDir}: ${taken.code ?? taken.message}`);
    const other = await ask(name);
    if (other) return { heldBy: other };
    // A socket file nobody answers on is what a crashed holder left (never in the abstract namespace).
    if (attempt > 0 || name.startsWith('\0')) throw new CliError(`cannot lock the data dir ${dataDir}: its lock is held but does not answer`);
    rmSync(name, { force: true });
  }
  server.unref();
  return {
    release: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/** What a refusal says of the holder. */
export function describeHolder(other: DataDirHolder): string {
  return other.pid ? `pid ${other.pid}${other.url ? `, API at ${other.url}` : ''}` : 'another process';
}

/** Takes the data dir for this process; throws a CliError naming the holder when another one has it. */
export async function lockDataDir(dataDir: string, holder: () => DataDirHolder, role: LockRole = 'serve'): Promise<DataDirLock> {
  const got = await attemptLock(dataDir, holder, role);
  if ('heldBy' in got) {
    throw new CliError(`the data dir ${dataDir} is in use by another allotrope ${role} (${describeHolder(got.heldBy)}); stop it first, or give this one its own ALLOTROPE_DATA_DIR`);
  }
  return got;
}

/** Takes the data dir now, or says who holds it (a standby waits with waitForDataDir). */
export async function tryLockDataDir(dataDir: string, holder: () => DataDirHolder): Promise<DataDirLock | { heldBy: DataDirHolder }> {
  return attemptLock(dataDir, holder);
}

/**
 * Waits until the holder lets the data dir go (it stopped or died: the kernel frees the lock at once)
 * and takes it; resolves null when `signal` aborts first.
 */
export async function waitForDataDir(dataDir: string, holder: () => DataDirHolder, intervalMs: number, signal: AbortSignal): Promise<DataDirLock | null> {
  while (!signal.aborted) {
    // The holder dying between our bind and our question reads as "held but does not answer": try again.
    const got = await attemptLock(dataDir, holder).catch((err: unknown) => {
      if (err instanceof CliError) return null;
      throw err;
    });
    if (got && !('heldBy' in got)) return got;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  return null;
}
