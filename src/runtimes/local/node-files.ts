// The files of one local node and how they are written. Layout under the runtime's root directory:
//   nodes/<stationId>/data/         the graph-server's --data-dir (engine files, admin socket)
//   nodes/<stationId>/import/       the only files `LOAD CSV FROM 'file:///…'` may read
//   nodes/<stationId>/users.json    users with password hashes; the graph-server reloads it on change
//   nodes/<stationId>/node.pid      pid + start time + argv of the running process (crash recovery)
//   nodes/<stationId>/logs/         graph-server.log (+ .1 after rotation): the child's stdout/stderr
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { assertStationId, type NodeAccess } from '../runtime.js';
import type { ProcessIdentity } from './process-identity.js';
import type { NodeOwner } from './node-user.js';
import { syncDirectory } from '../../storage/durable.js';

export interface NodePaths {
  root: string;
  dataDir: string;
  importDir: string;
  usersFile: string;
  pidFile: string;
  logDir: string;
  logFile: string;
  /** The node's own OS user, when it has one (node-user.ts). */
  owner?: NodeOwner;
}

export function nodePaths(runtimeRoot: string, stationId: string): NodePaths {
  assertStationId(stationId);
  const root = path.join(runtimeRoot, 'nodes', stationId);
  return {
    root,
    dataDir: path.join(root, 'data'),
    importDir: path.join(root, 'import'),
    usersFile: path.join(root, 'users.json'),
    pidFile: path.join(root, 'node.pid'),
    logDir: path.join(root, 'logs'),
    logFile: path.join(root, 'logs', 'graph-server.log'),
  };
}

/** Station ids that have a directory under the runtime root (what a crashed control plane left behind). */
export async function listStationIds(runtimeRoot: string): Promise<string[]> {
  try {
    const entries = await readdir(path.join(runtimeRoot, 'nodes'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(e.name)).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Write-then-rename so a reader (the graph-server, or us after a crash) sees the old or the new content,
 * never half of it. fsync before the rename so a power cut cannot leave an empty file in its place.
 */
export async function writeFileAtomic(file: string, content: string, mode = 0o600, group?: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', mode);
  try {
    if (group !== undefined) {
      await handle.chown(process.getuid?.() ?? 0, group);
      await handle.chmod(mode);
    }
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(file));
}


export interface PidRecord extends ProcessIdentity {
  /** Hash of the command the process was started with: an adopted process must match the desired one. */
  commandHash: string;
  startedAt: string;
  /** Where the process listens (its ready line), for whoever adopts it later. */
  ports?: { boltPort: number; httpPort: number };
}

export async function readPidRecord(paths: NodePaths): Promise<PidRecord | null> {
  let text: string;
  try {
    text = await readFile(paths.pidFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<PidRecord>;
    if (
      typeof value.pid === 'number' &&
      typeof value.startTime === 'string' &&
      Array.isArray(value.argv) &&
      typeof value.commandHash === 'string'
    ) {
      return value as PidRecord;
    }
  } catch {
    // A torn or foreign file is treated as absent: the process it named cannot be verified.
  }
  return null;
}

export async function writePidRecord(paths: NodePaths, record: PidRecord): Promise<void> {
  await writeFileAtomic(paths.pidFile, `${JSON.stringify(record)}\n`, 0o644);
}

export async function removePidRecord(paths: NodePaths): Promise<void> {
  await rm(paths.pidFile, { force: true });
}

/**
 * The users file the graph-server reads (src/graph-server/users.ts): `{"users": [{"username","passwordHash",
 * "readOnly"}], "allow": [CIDR…]}` with `scrypt$…` hashes. The graph-server watches the directory, so a
 * rename is picked up within moments.
 */
export async function writeUsersFile(paths: NodePaths, access: NodeAccess): Promise<void> {
  const body = {
    users: access.users.map((u) => ({ username: u.username, passwordHash: u.passwordHash, readOnly: u.readOnly })),
    allow: [...access.allow],
  };
  await mkdir(paths.root, { recursive: true });
  // A node of its own user reads the file through its group and cannot change it.
  await writeFileAtomic(paths.usersFile, `${JSON.stringify(body, null, 2)}\n`, paths.owner ? 0o640 : 0o600, paths.owner?.gid);
}
