// A node's directories and data on disk: creating them (owned by the node's own user where it has one),
// wiping, replacing and putting back its data dir in two renames each, finishing such a swap that a crash
// interrupted, and backups (from the files of a stopped node, through the admin channel of a running one).
// Callers (local-runtime.ts) hold the node's lock and make sure the node is stopped where that matters.
import { chmod, chown, copyFile, cp, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { RuntimeError } from '../runtime.js';
import type { AdminChannel } from './admin-channel.js';
import { chownTree } from './node-user.js';
import { writeUsersFile, type NodePaths } from './node-files.js';
import { DATABASE_ID_FILE } from '../../graph-server/database-id.js';
import { backupStoppedDatabase } from '../../graph-server/engines/grafeo/database-files.js';

/** The V8 compile cache a node uses: the runtime's shared one, or its own when it runs as a user of its own. */
export function compileCacheOf(rootDir: string, paths: NodePaths): string {
  return paths.owner ? path.join(paths.root, 'compile-cache') : path.join(rootDir, 'compile-cache');
}

/** Create the node's directories and an empty users file (kept if present), after recovering its data dir. */
export async function provisionFiles(rootDir: string, paths: NodePaths): Promise<void> {
  await recoverDataDir(paths);
  await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.importDir, { recursive: true, mode: 0o750 });
  await mkdir(paths.logDir, { recursive: true, mode: 0o700 });
  try {
    await stat(paths.usersFile);
  } catch {
    await writeUsersFile(paths, { users: [], allow: [] });
  }
  if (paths.owner) {
    // The node owns its data and import directories (restores and wipes leave them to us); the node
    // directory itself, its pid file and logs stay ours, and its users file is ours and readable by its group.
    await chmod(paths.root, 0o711);
    await chownTree(paths.dataDir, paths.owner);
    await chownTree(paths.importDir, paths.owner);
    await mkdir(compileCacheOf(rootDir, paths), { recursive: true, mode: 0o700 });
    await chownTree(compileCacheOf(rootDir, paths), paths.owner);
    await chown(paths.usersFile, process.getuid?.() ?? 0, paths.owner.gid);
    await chmod(paths.usersFile, 0o640);
  }
}

/** Delete a stopped node's data: moved aside first so a crash mid-way leaves either the old data or none, never a mix. */
export async function wipeDataDir(paths: NodePaths): Promise<void> {
  const { emptying: doomed } = swapDirs(paths);
  await rm(doomed, { recursive: true, force: true });
  await rename(paths.dataDir, doomed).catch(ignoreMissing);
  await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
  await rm(doomed, { recursive: true, force: true });
}

/** Replace a stopped node's data by a copy of `sourceDir`; with `keepReplaced` the old data is kept aside. */
export async function swapInRestore(paths: NodePaths, sourceDir: string, keepReplaced: boolean): Promise<void> {
  await mkdir(paths.root, { recursive: true });
  const { restoring, previous, replaced } = swapDirs(paths);
  // Kept aside already: this is a re-run of the same swap, and the data dir holds the new data (or none).
  const keepAside = keepReplaced && !(await pathExists(replaced));
  await rm(restoring, { recursive: true, force: true });
  await rm(previous, { recursive: true, force: true });
  await copyPlainTree(path.resolve(sourceDir), restoring);
  // The database stays the same database: it keeps its UUID, so element ids read back as they were
  // when the backup was taken (a new node, as for a clone, makes its own at first start).
  await copyFile(path.join(paths.dataDir, DATABASE_ID_FILE), path.join(restoring, DATABASE_ID_FILE), fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT' && err.code !== 'EEXIST') throw err;
  });
  // Two renames; a crash between them is finished by recoverDataDir() at the next start.
  await rename(paths.dataDir, keepAside ? replaced : previous).catch(ignoreMissing);
  await rename(restoring, paths.dataDir);
  await rm(previous, { recursive: true, force: true });
}

/** True when a restore kept the data it replaced aside (see swapInRestore). */
export function hasReplacedData(paths: NodePaths): Promise<boolean> {
  return pathExists(swapDirs(paths).replaced);
}

/** Put the data kept aside back in place of a stopped node's data. */
export async function putBackReplaced(paths: NodePaths): Promise<void> {
  const { replaced, emptying } = swapDirs(paths);
  // A crash between the renames leaves `replaced` in place, and a re-run puts it back then.
  await rm(emptying, { recursive: true, force: true });
  await rename(paths.dataDir, emptying).catch(ignoreMissing);
  await rename(replaced, paths.dataDir);
  await rm(emptying, { recursive: true, force: true });
}

export async function discardReplaced(paths: NodePaths): Promise<void> {
  await rm(swapDirs(paths).replaced, { recursive: true, force: true });
}

/** Backup of a stopped node (a paused database) from its files. */
export async function backupStoppedNode(stationId: string, dataDir: string, targetDir: string): Promise<void> {
  try {
    if (await pathExists(path.join(dataDir, 'neo4j'))) await backupStoppedNeo4j(dataDir, targetDir);
    else await backupStoppedDatabase(dataDir, targetDir);
  } catch (err) {
    throw new RuntimeError('Failed', `backup of stopped node ${stationId} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Online backup of a running node through its admin channel. */
export async function backupRunningNode(admin: AdminChannel, stationId: string, paths: NodePaths, dir: string): Promise<void> {
  if (!admin.available) {
    throw new RuntimeError('Unavailable', 'online backup needs the graph-server admin channel, which is not available');
  }
  await mkdir(dir, { recursive: true });
  // A node of its own user cannot write outside its directory: it backs up into it, and we move the files.
  const into = paths.owner ? await mkdtemp(path.join(paths.root, 'backup-')) : dir;
  try {
    if (paths.owner) await chownTree(into, paths.owner);
    await admin.request(paths.dataDir, { op: 'backup', dir: into }, 10 * 60_000);
    if (into !== dir) for (const name of await readdir(into)) await rename(path.join(into, name), path.join(dir, name));
  } catch (err) {
    throw new RuntimeError('Failed', `backup of node ${stationId} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    if (into !== dir) await rm(into, { recursive: true, force: true });
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * A stopped Neo4j node's store and transaction logs (what a backup holds, see engines/neo4j/jvm.ts), copied as
 * they are: Neo4j stopped cleanly or not, its start after a restore recovers from the logs.
 */
async function backupStoppedNeo4j(dataDir: string, targetDir: string): Promise<void> {
  for (const rel of ['neo4j/data/databases/neo4j', 'neo4j/data/transactions/neo4j']) {
    const from = path.join(dataDir, rel);
    if (!(await pathExists(from))) continue;
    await cp(from, path.join(targetDir, rel), { recursive: true, filter: (src) => path.basename(src) !== 'database_lock' });
  }
}

/** Side directories used to replace or wipe a data dir in two renames. */
function swapDirs(paths: NodePaths): { restoring: string; previous: string; emptying: string; replaced: string } {
  return {
    restoring: `${paths.dataDir}.restoring`,
    previous: `${paths.dataDir}.previous`,
    emptying: `${paths.dataDir}.emptying`,
    // Outlives restarts on purpose (recoverDataDir leaves it): the restore that made it decides its fate.
    replaced: `${paths.dataDir}.replaced`,
  };
}

/**
 * Finish or undo what a crash interrupted: a restore caught between its two renames (the data dir is
 * gone, the complete new copy and the old one both exist) is completed, an old data dir with no
 * replacement is put back; half-copied restores and wiped data awaiting deletion are removed.
 */
async function recoverDataDir(paths: NodePaths): Promise<void> {
  const { restoring, previous, emptying } = swapDirs(paths);
  if (!(await pathExists(paths.dataDir))) {
    if ((await pathExists(previous)) && (await pathExists(restoring))) await rename(restoring, paths.dataDir);
    else if (await pathExists(previous)) await rename(previous, paths.dataDir);
  }
  await Promise.all([restoring, previous, emptying].map((p) => rm(p, { recursive: true, force: true })));
}

/** Copy a backup directory, refusing links and special files: only plain files and folders get in. */
async function copyPlainTree(source: string, target: string): Promise<void> {
  let info;
  try {
    info = await lstat(source);
  } catch (err) {
    throw new RuntimeError('Invalid', `restore source ${source} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!info.isDirectory()) throw new RuntimeError('Invalid', `restore source ${source} is not a directory`);
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isDirectory()) await copyPlainTree(from, to);
    else if (entry.isFile()) await copyFile(from, to);
    else throw new RuntimeError('Invalid', `restore source holds ${entry.name}, which is neither a file nor a directory`);
  }
}
