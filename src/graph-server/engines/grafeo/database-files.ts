// Work on Grafeo database files outside a graph-server: reading a file's counts, and the full backup of
// a stopped node's data directory. Opening a file loads it (about 0.3 s per million nodes here) and a
// backup writes it out again (0.9 s per million), all in synchronous native calls; the control plane runs
// them in a one-shot worker thread so its event loop (API, operation heartbeats) never waits on them.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { siblingWorker } from '../../../worker-thread.js';
import type * as GrafeoModule from '@grafeo-db/js';
// A type only: the worker loads the dump module when a dump is asked for, this file never does.
import type { DumpCounts } from './cypher-dump.js';

/** The engine's file in a graph-server data directory. */
export const DATABASE_FILE = 'graph.grafeo';

export interface GrafeoFileInfo {
  nodes: number;
  relationships: number;
  engineVersion: string;
}

export type FileJob =
  | { op: 'inspect'; path: string }
  | { op: 'verify'; path: string }
  | { op: 'backup-stopped'; dataDir: string; targetDir: string }
  | { op: 'dump-cypher'; grafeoFile: string; target: string };
/** `name` carries the error's class name (e.g. CypherScriptError) across the thread boundary. */
export type FileReply = { ok: true; value: unknown } | { ok: false; message: string; name: string };

const requireCjs = createRequire(import.meta.url);
/** @grafeo-db/js is CommonJS with a native addon; loading it through require keeps its types. */
export function grafeo(): typeof GrafeoModule {
  return requireCjs('@grafeo-db/js') as typeof GrafeoModule;
}

/** Counts and engine version of a database file, opened read-only (blocks the calling thread). */
export function inspectFileHere(path: string): GrafeoFileInfo {
  const db = grafeo().GrafeoDB.openReadOnly(path);
  try {
    return { nodes: db.nodeCount(), relationships: db.edgeCount(), engineVersion: db.version() };
  } finally {
    db.close();
  }
}

/**
 * Opens a database file the way a graph-server does (read-write: a WAL beside it is replayed) and reads
 * its counts, so a file the engine would refuse is refused before it replaces any data (blocks the
 * calling thread). Errors name the file by its base name only.
 */
export function verifyFileHere(path: string): GrafeoFileInfo {
  let db: GrafeoModule.GrafeoDB;
  try {
    db = grafeo().GrafeoDB.open(path);
  } catch (err) {
    const reason = ((err as Error).message.split('\n')[0] ?? '').split(path).join(DATABASE_FILE);
    throw new Error(`the engine cannot open it: ${reason}`);
  }
  try {
    return { nodes: db.nodeCount(), relationships: db.edgeCount(), engineVersion: db.version() };
  } finally {
    db.close();
  }
}

/**
 * Full backup of a stopped database's files (`dataDir`, as the graph-server leaves them) into `targetDir`,
 * the same files an online backup writes (blocks the calling thread). Opening read-write replays a WAL a
 * crash may have left, as the next start would. The caller makes sure no process has the database open.
 * A data dir that never held a database file gives the backup of an empty one.
 */
export async function backupStoppedHere(dataDir: string, targetDir: string): Promise<void> {
  const { GrafeoDB } = grafeo();
  // No data dir at all means the node was destroyed (or never made): that is no empty database.
  if (!(await stat(dataDir).then((s) => s.isDirectory(), () => false))) throw new Error(`the data directory ${dataDir} does not exist`);
  const path = join(dataDir, DATABASE_FILE);
  const exists = await stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  const scratch = exists ? null : await mkdtemp(join(tmpdir(), 'allotrope-empty-'));
  let db: GrafeoModule.GrafeoDB;
  try {
    db = scratch ? GrafeoDB.create(join(scratch, DATABASE_FILE)) : GrafeoDB.open(path);
  } catch (err) {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    throw new Error(`cannot open the database at ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    await mkdir(targetDir, { recursive: true });
    db.backupFull(targetDir);
  } finally {
    db.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs one job in a fresh worker thread, which ends with it. */
function inWorker(job: FileJob): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = siblingWorker(import.meta.url, 'database-files-worker');
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: FileReply) =>
      finish(() => {
        if (reply.ok) return resolve(reply.value);
        const err = new Error(reply.message);
        err.name = reply.name;
        reject(err);
      }),
    );
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the database file worker stopped (exit code ${code}) before it answered`))));
    worker.postMessage(job);
  });
}

/** Counts and engine version of a database file, read in a worker thread. */
export async function inspectGrafeoFile(path: string): Promise<GrafeoFileInfo> {
  return (await inWorker({ op: 'inspect', path })) as GrafeoFileInfo;
}

/** {@link verifyFileHere}, in a worker thread. */
export async function verifyGrafeoFile(path: string): Promise<GrafeoFileInfo> {
  return (await inWorker({ op: 'verify', path })) as GrafeoFileInfo;
}

/**
 * The Cypher script of database file `grafeoFile` (a backup) written to `target`, in a worker thread: the
 * dump opens a copy of the file, which blocks for as long as the file takes to load. Errors keep their
 * class name (`err.name`, e.g. 'CypherScriptError').
 */
export async function dumpCypherInWorker(grafeoFile: string, target: string): Promise<DumpCounts> {
  return (await inWorker({ op: 'dump-cypher', grafeoFile, target })) as DumpCounts;
}

/** {@link backupStoppedHere}, in a worker thread. */
export async function backupStoppedDatabase(dataDir: string, targetDir: string): Promise<void> {
  await inWorker({ op: 'backup-stopped', dataDir, targetDir });
}
