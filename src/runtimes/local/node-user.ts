// Which OS user a database node runs as. A node runs code its database users steer (Cypher, and a whole
// JVM for Neo4j), so it must not be able to read the control plane's secrets (signing keys, the store,
// other databases' files and backups). Started as root, the local runtime runs every node as a user of
// its own: uid = gid = NODE_ID_BASE + a 24-bit hash of the node's station id (no /etc/passwd entry needed),
// owning only its node directory; everything else in the data dir is private to the control plane (umask
// 077, see privateDataDir). Not started as root, nodes run as the control plane's user, and the secrets'
// protection is the query-level confinement plus the least-privilege set-up in SECURITY.md.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface NodeOwner {
  uid: number;
  gid: number;
}

/** `auto`: a user of its own per node when the control plane runs as root; `same`: the control plane's user; or one fixed user. */
export type NodeUserSetting = 'auto' | 'same' | NodeOwner;

/** First id of the range nodes' users are taken from (well above any system or login user). */
export const NODE_ID_BASE = 100_000_000;
const NODE_ID_SPAN = 1 << 24;

/** Reads ALLOTROPE_NODE_USER: `auto`, `same`, `<uid>[:<gid>]` or a user name from /etc/passwd. */
export function parseNodeUser(value: string, passwd = () => readFileSync('/etc/passwd', 'utf8')): NodeUserSetting {
  const v = value.trim();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'same') return 'same';
  const ids = /^(\d+)(?::(\d+))?$/.exec(v);
  if (ids) {
    const uid = Number(ids[1]);
    const gid = ids[2] === undefined ? uid : Number(ids[2]);
    if (uid === 0 || uid > 0xfffffffe || gid > 0xfffffffe) throw new Error(`'${v}' is not an unprivileged uid[:gid]`);
    return { uid, gid };
  }
  if (/^[a-z_][a-z0-9_-]*\$?$/i.test(v)) {
    let text = '';
    try {
      text = passwd();
    } catch {
      // no passwd file: the name cannot be found
    }
    const row = text.split('\n').map((l) => l.split(':')).find((f) => f[0] === v);
    if (!row) throw new Error(`no user '${v}' in /etc/passwd`);
    const uid = Number(row[2]);
    if (!Number.isInteger(uid) || uid === 0) throw new Error(`user '${v}' is root`);
    return { uid, gid: Number(row[3]) };
  }
  throw new Error(`'${v}' is not auto, same, uid[:gid] or a user name`);
}

/** The owner of a node's process and files, or null when it runs as the control plane's user. */
export function nodeOwner(setting: NodeUserSetting, stationId: string, isRoot = process.getuid?.() === 0): NodeOwner | null {
  if (setting === 'same') return null;
  if (setting !== 'auto') return setting;
  if (!isRoot) return null;
  const id = NODE_ID_BASE + (createHash('sha256').update(stationId).digest().readUInt32BE(0) % NODE_ID_SPAN);
  return { uid: id, gid: id };
}

/** Gives a node's directory tree to its owner (links themselves, never what they point at). */
export async function chownTree(dir: string, owner: NodeOwner): Promise<void> {
  let info;
  try {
    info = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (info.uid !== owner.uid || info.gid !== owner.gid) await lchown(dir, owner.uid, owner.gid);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(dir)) await chownTree(path.join(dir, entry), owner);
}

/**
 * Makes the data dir safe to share with nodes of other users: files the control plane creates from now on
 * are private (umask 077), what is already there is made private, and only the way down to the nodes'
 * directories stays open (search permission, no listing) on `openPath` and each directory between.
 */
export async function privateDataDir(dataDir: string, openPath: string): Promise<void> {
  process.umask(0o077);
  for (const entry of await readdir(dataDir)) {
    const full = path.join(dataDir, entry);
    if (full === openPath || openPath.startsWith(full + path.sep)) continue;
    const info = await lstat(full);
    if (!info.isSymbolicLink()) await chmod(full, info.mode & 0o700);
  }
  for (let dir = openPath; ; dir = path.dirname(dir)) {
    const info = await lstat(dir);
    await chmod(dir, (info.mode & 0o700) | 0o011);
    if (dir === dataDir || dir === path.dirname(dir)) break;
  }
}

/**
 * Whether `owner` can reach what a node needs: search the nodes' directory and read each file given (the
 * graph-server's code). Checked by a process running as that user; null when it can, else the reason.
 */
export function ownerCanRun(owner: NodeOwner, nodesDir: string, files: string[]): string | null {
  const script = `const fs=require('node:fs');for(const [p,m] of JSON.parse(process.argv[1])){try{fs.accessSync(p,m)}catch(e){console.log(p);process.exit(3)}}`;
  const checks = [[nodesDir, 1], ...files.map((f) => [f, 4])];
  const result = spawnSync(process.execPath, ['-e', script, JSON.stringify(checks)], { uid: owner.uid, gid: owner.gid, encoding: 'utf8', timeout: 10_000 });
  if (result.error) return `cannot start a process as uid ${owner.uid}: ${result.error.message}`;
  if (result.status === 0) return null;
  const blocked = result.stdout.trim();
  return blocked ? `uid ${owner.uid} cannot reach ${blocked}` : `a process as uid ${owner.uid} failed (exit ${result.status})`;
}

/**
 * The setting the runtime applies: `setting`, or `same` (with one warning saying why) when a node's user
 * could not run the graph-server from where it is installed. Makes `rootDir` and its nodes' directory
 * searchable (not listable) by other users when nodes get users of their own.
 */
export function effectiveNodeUser(rootDir: string, setting: NodeUserSetting, files: string[], warn: (msg: string) => void): NodeUserSetting {
  const probe = nodeOwner(setting, 'preflight');
  if (!probe) return setting;
  const nodesDir = path.join(rootDir, 'nodes');
  mkdirSync(nodesDir, { recursive: true, mode: 0o711 });
  for (const dir of [rootDir, nodesDir]) chmodSync(dir, (statSync(dir).mode & 0o700) | 0o011);
  const blocked = ownerCanRun(probe, nodesDir, files);
  if (blocked === null) return setting;
  warn(
    `database nodes run as the control plane's own user, not as users of their own: ${blocked}. Make the install and the data dir's parent directories readable/searchable by other users, or set ALLOTROPE_NODE_USER=same to silence this (see SECURITY.md)`,
  );
  return 'same';
}
