// A scratch Neo4j: the launcher JVM on a data dir of its own (a copy of a store, or an empty one), reached
// through neo4j-driver. Exports read a snapshot copy this way, so the live node is neither touched nor
// slowed; imports build the new store this way, so the node's data is only replaced once it is complete.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import neo4j, { type Driver } from 'neo4j-driver';
import { NEO4J_HOME, Neo4jJvm, type Neo4jEngineFiles } from './jvm.js';

/** A refusal of an import or export done through a scratch Neo4j, meant for the user. */
export class Neo4jImportError extends Error {
  override readonly name = 'Neo4jImportError';
}

/** Where Neo4j keeps database `neo4j`, relative to a data dir: what a backup, an import or a restore holds. */
export const NEO4J_STORE_DIRS = [`${NEO4J_HOME}/data/databases/neo4j`, `${NEO4J_HOME}/data/transactions/neo4j`];

export interface ScratchNeo4j {
  jvm: Neo4jJvm;
  driver: Driver;
  /** Closes the driver and stops the JVM cleanly (a checkpoint: the store is complete); SIGKILL after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export interface ScratchOptions {
  /** Heap is half, page cache a quarter (jvm.ts `memoryFlags`). */
  memoryMb?: number;
  log?: (line: string) => void;
}

/** Starts Neo4j on `dataDir` (its home is `<dataDir>/neo4j`; a store already there is opened, else one is made). */
export async function openScratchNeo4j(engine: Neo4jEngineFiles, dataDir: string, options: ScratchOptions = {}): Promise<ScratchNeo4j> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const jvm = await Neo4jJvm.start({
    ...engine,
    dataDir,
    memoryMb: options.memoryMb ?? 512,
    advertisedAddress: '127.0.0.1:7687',
    log: options.log ?? (() => undefined),
  });
  const driver = neo4j.driver(`bolt://127.0.0.1:${jvm.boltPort}`, neo4j.auth.basic('neo4j', jvm.password), { connectionTimeout: 30_000 });
  return {
    jvm,
    driver,
    async close(graceMs = 60_000) {
      await driver.close().catch(() => undefined);
      await jvm.stop(graceMs);
    },
  };
}

export async function countGraph(driver: Driver): Promise<{ nodes: number; relationships: number }> {
  const count = async (query: string) => (await driver.executeQuery(query, {}, { database: 'neo4j', routing: 'READ' })).records[0]!.get('c').toNumber() as number;
  return { nodes: await count('MATCH (n) RETURN count(n) AS c'), relationships: await count('MATCH ()-[r]->() RETURN count(r) AS c') };
}

/**
 * Moves the store of a stopped scratch Neo4j (`dataDir`) into `incoming` in node layout, the shape
 * `unpackArchive` gives a Neo4j archive: the swap steps take it from there. Its system database (users,
 * the scratch password) stays behind; the node makes its own.
 */
export async function takeStore(dataDir: string, incoming: string): Promise<void> {
  const store = await stat(join(dataDir, NEO4J_STORE_DIRS[0]!)).catch(() => null);
  if (!store?.isDirectory()) throw new Neo4jImportError('Neo4j left no database neo4j behind');
  await rm(incoming, { recursive: true, force: true });
  for (const rel of NEO4J_STORE_DIRS) {
    await mkdir(join(incoming, rel, '..'), { recursive: true, mode: 0o700 });
    await rename(join(dataDir, rel), join(incoming, rel));
  }
  await rm(join(incoming, NEO4J_STORE_DIRS[0]!, 'database_lock'), { force: true });
}

/**
 * Runs `work` with a time bound and an abort signal: past `timeoutMs` (or on abort) `onStop` runs (it
 * kills what `work` waits on) and the promise rejects with `timeoutError` (or the signal's reason).
 */
export async function bounded<T>(work: () => Promise<T>, limits: { timeoutMs: number; signal?: AbortSignal }, timeoutError: () => Error, onStop: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const stop = (err: Error) => {
      void onStop().finally(() => reject(err));
    };
    timer = setTimeout(() => stop(timeoutError()), limits.timeoutMs);
    onAbort = () => stop(limits.signal?.reason instanceof Error ? limits.signal.reason : new Error('the import was stopped'));
    if (limits.signal?.aborted) onAbort();
    else limits.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const running = work();
  // Once stopped, `work` fails too (its JVM is gone); that second failure is not the answer.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) limits.signal?.removeEventListener('abort', onAbort);
  }
}
