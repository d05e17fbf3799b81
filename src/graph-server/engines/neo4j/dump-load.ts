// Importing a `.dump` (what `neo4j-admin database dump` writes, and what Aura and GrapheneDB hand out):
// `neo4j-admin database load` into a scratch Neo4j home, in a JVM of its own, then a scratch Neo4j started
// on it to prove the store opens and to count it. Only then is the store handed to the swap.
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LoadResult } from '../grafeo/cypher-dump.js';
import { NEO4J_HOME, type Neo4jEngineFiles } from './jvm.js';
import { bounded, countGraph, Neo4jImportError, openScratchNeo4j, takeStore, type ScratchNeo4j, type ScratchOptions } from './scratch.js';

/** The first bytes of a dump in Neo4j 5's format (`org.neo4j.dbms.archive.DumpZstdFormatV1.MAGIC_HEADER`), a zstd stream after it. */
export const DUMP_MAGIC = 'DZV1';

export interface DumpLoadLimits extends ScratchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Most bytes of disk the loaded store may take (a dump is compressed: a small one can expand to fill the
   * disk). Watched while neo4j-admin writes (every 500 ms) and checked once it is done; beyond it the load is
   * stopped and refused. None: no bound.
   */
  maxStoreBytes?: number;
}

/** Bytes of disk the files under `dir` take (allocated blocks: preallocated and sparse files count as they are). */
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await diskUsage(path);
    else total += await lstat(path).then((st) => st.blocks * 512, () => 0);
  }
  return total;
}

function tooLarge(maxStoreBytes: number): Neo4jImportError {
  return new Neo4jImportError(`the dump expands to more than ${Math.round(maxStoreBytes / 2 ** 20)} MiB on disk, the limit for imports (10 × the largest import); it was stopped`);
}

/** Runs `neo4j-admin database load neo4j` (AdminTool, from the install's jars) with `home` as NEO4J_HOME. */
function adminLoad(engine: Neo4jEngineFiles, home: string, fromDir: string, onChild: (kill: () => void) => void): Promise<void> {
  const args = [
    '-Xmx256m',
    ...(engine.jvmFlags ?? ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
    ...(engine.cdsArchive ? [`-XX:SharedArchiveFile=${engine.cdsArchive}`] : []),
    '-XX:-UsePerfData',
    `-Djava.io.tmpdir=${home}`,
    '-cp',
    join(engine.installDir, 'lib', '*'),
    'org.neo4j.cli.AdminTool',
    'database',
    'load',
    'neo4j',
    `--from-path=${fromDir}`,
    '--overwrite-destination=true',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(engine.java, args, { cwd: home, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NEO4J_HOME: home, NEO4J_CONF: join(home, 'conf') } });
    onChild(() => child.kill('SIGKILL'));
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new Error(`cannot start '${engine.java}': ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      // AdminTool's own words say what is wrong with the dump ("Not a valid Neo4j archive", a format it cannot read…).
      const reason = output.split('\n').map((l) => l.trim()).filter((l) => l && !/^\s*at /.test(l) && !/^WARNING/.test(l)).slice(-3).join(' ');
      reject(new Neo4jImportError(`neo4j-admin database load refused the dump (${signal ? `signal ${signal}` : `exit ${code}`}): ${reason || 'no message'}`));
    });
  });
}

/**
 * Loads the dump `dumpFile` (which must be named `neo4j.dump`, as `database load` expects) into a new
 * store in `scratchDir`, opens it in a scratch Neo4j to count it, and moves the store to `incoming`.
 */
export async function loadNeo4jDump(engine: Neo4jEngineFiles, dumpFile: string, scratchDir: string, incoming: string, limits: DumpLoadLimits): Promise<LoadResult> {
  if (basename(dumpFile) !== 'neo4j.dump') throw new Error('the dump file must be named neo4j.dump');
  const home = join(scratchDir, NEO4J_HOME);
  await mkdir(join(home, 'conf'), { recursive: true, mode: 0o700 });
  await writeFile(join(home, 'conf', 'neo4j.conf'), '', { mode: 0o600 });
  let kill: (() => void) | null = null;
  let scratch: ScratchNeo4j | null = null;
  let stopped = false;
  const counts = await bounded(
    async () => {
      const max = limits.maxStoreBytes;
      let over = false;
      const watch = max
        ? setInterval(() => {
            void diskUsage(home).then((bytes) => {
              if (bytes <= max || over) return;
              over = true;
              (kill as (() => void) | null)?.();
            });
          }, 500)
        : null;
      try {
        await adminLoad(engine, home, dirname(dumpFile), (k) => (kill = k));
      } catch (err) {
        if (over && max) throw tooLarge(max);
        throw err;
      } finally {
        if (watch) clearInterval(watch);
      }
      if (max && (over || (await diskUsage(home)) > max)) throw tooLarge(max);
      if (stopped) throw new Error('stopped');
      try {
        scratch = await openScratchNeo4j(engine, scratchDir, limits);
      } catch (err) {
        throw new Neo4jImportError(`the dump was loaded but Neo4j could not open it: ${(err as Error).message}`);
      }
      if (stopped) {
        await scratch.close(0);
        throw new Error('the import was stopped');
      }
      return countGraph(scratch.driver);
    },
    limits,
    () => new Neo4jImportError(`the dump took longer than ${Math.round(limits.timeoutMs / 1000)} s to load, the limit for imports; it was stopped`),
    async () => {
      stopped = true;
      (kill as (() => void) | null)?.();
      await (scratch as ScratchNeo4j | null)?.close(0);
    },
  ).catch(async (err: unknown) => {
    await (scratch as ScratchNeo4j | null)?.close(5_000);
    throw err;
  });
  await (scratch as ScratchNeo4j | null)?.close();
  await takeStore(scratchDir, incoming);
  return { statements: 0, ...counts };
}
