// The users file of one database: `[{username, passwordHash, readOnly}]`, password hashes as
// `scrypt$N$r$p$salt$hash` (base64). The control plane writes it; the graph-server reads it and
// picks up changes without a restart (fs.watch, a poll in case watching misses a rename, SIGHUP).
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AuthenticatedUser, Authenticator } from './engine-api.js';
import type { ValueMap } from './values.js';

export interface UserEntry {
  username: string;
  passwordHash: string;
  readOnly: boolean;
}

// N=2^14, r=8, p=1: about 50 ms on this machine, the usual interactive-login cost.
const DEFAULT_PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node refuses scrypt work above maxmem (32 MiB by default); allow what N and r ask for.
  return { N, r, p, maxmem: 128 * N * r * 2 + 1024 * 1024 };
}

/** A hash of `password` as `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, scryptOptions(params.N, params.r, params.p));
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `hash`; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map((x) => Number(x)) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  try {
    const key = await scrypt(password, salt, expected.length, scryptOptions(N, r, p));
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** Parses and checks a users file's text; throws an Error naming what is wrong. */
export function parseUsers(text: string): UserEntry[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error('the users file must hold a JSON array');
  const seen = new Set<string>();
  return data.map((u: unknown, i) => {
    const e = u as Partial<UserEntry> | null;
    if (!e || typeof e.username !== 'string' || e.username === '') throw new Error(`user ${i}: username must be a non-empty string`);
    if (typeof e.passwordHash !== 'string' || !e.passwordHash.startsWith('scrypt$')) {
      throw new Error(`user '${e.username}': passwordHash must be an scrypt$N$r$p$salt$hash string`);
    }
    if (e.readOnly !== undefined && typeof e.readOnly !== 'boolean') throw new Error(`user '${e.username}': readOnly must be a boolean`);
    if (seen.has(e.username)) throw new Error(`user '${e.username}' appears twice`);
    seen.add(e.username);
    return { username: e.username, passwordHash: e.passwordHash, readOnly: e.readOnly ?? false };
  });
}

export interface UsersLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface UsersFileOptions {
  file: string;
  logger?: UsersLogger;
  /** How often to look at the file's mtime in case fs.watch misses a change. */
  pollIntervalMs?: number;
}

/**
 * The users of the users file, reloaded when it changes. A file that fails to parse on reload
 * leaves the previous users in force (and is logged); at start it is an error.
 */
export class UsersFile implements Authenticator {
  private users = new Map<string, UserEntry>();
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;
  private lastSignature = '';
  private reloading: Promise<void> | null = null;
  private pendingReload = false;
  // Verified (user, password, hash) digests, so the Query API does not pay scrypt on every request.
  private verified = new Set<string>();
  /** Bumped at every successful load; tests and callers can await a change. */
  generation = 0;

  private constructor(private readonly options: UsersFileOptions) {}

  static async open(options: UsersFileOptions): Promise<UsersFile> {
    const users = new UsersFile(options);
    await users.load(true);
    users.startWatching();
    return users;
  }

  get size(): number {
    return this.users.size;
  }

  async authenticate(token: ValueMap): Promise<AuthenticatedUser | null> {
    if (token.scheme !== 'basic') return null;
    const { principal, credentials } = token;
    if (typeof principal !== 'string' || typeof credentials !== 'string') return null;
    return this.check(principal, credentials);
  }

  async check(username: string, password: string): Promise<AuthenticatedUser | null> {
    const user = this.users.get(username);
    if (!user) {
      // Spend about as long as a real check so the answer time does not tell which users exist.
      await verifyPassword(password, `scrypt$${DEFAULT_PARAMS.N}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`);
      return null;
    }
    const digest = createHash('sha256').update(`${username}\0${password}\0${user.passwordHash}`).digest('base64');
    if (!this.verified.has(digest)) {
      if (!(await verifyPassword(password, user.passwordHash))) return null;
      if (this.verified.size > 1000) this.verified.clear();
      this.verified.add(digest);
    }
    // The user may have changed while scrypt ran: answer with what the file says now.
    const now = this.users.get(username);
    if (!now || now.passwordHash !== user.passwordHash) return null;
    return { username: now.username, readOnly: now.readOnly };
  }

  /** Re-reads the file now (SIGHUP calls this). */
  reload(): Promise<void> {
    if (this.reloading) {
      this.pendingReload = true;
      return this.reloading;
    }
    this.reloading = this.load(false).finally(() => {
      this.reloading = null;
      if (this.pendingReload) {
        this.pendingReload = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private async load(initial: boolean): Promise<void> {
    const { file, logger } = this.options;
    let text: string;
    let signature: string;
    try {
      const st = await stat(file);
      text = await readFile(file, 'utf8');
      signature = `${st.mtimeMs}:${st.size}:${st.ino}:${createHash('sha256').update(text).digest('hex')}`;
    } catch (err) {
      if (initial) throw new Error(`cannot read the users file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      logger?.warn({ file, err: (err as NodeJS.ErrnoException).code }, 'users file unreadable; keeping the previous users');
      return;
    }
    if (!initial && signature === this.lastSignature) return;
    let users: UserEntry[];
    try {
      users = parseUsers(text);
    } catch (err) {
      if (initial) throw new Error(`invalid users file ${file}: ${(err as Error).message}`);
      logger?.warn({ file, reason: (err as Error).message }, 'users file invalid; keeping the previous users');
      return;
    }
    this.lastSignature = signature;
    this.users = new Map(users.map((u) => [u.username, u]));
    this.verified.clear();
    this.generation++;
    if (!initial) logger?.info({ file, users: users.length }, 'users file reloaded');
  }

  private startWatching(): void {
    const { file } = this.options;
    try {
      // Watch the directory: the control plane replaces the file by rename, which ends a file watch.
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file)) void this.reload();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      this.watcher = null;
    }
    this.poll = setInterval(() => void this.reload(), this.options.pollIntervalMs ?? 2000);
    this.poll.unref();
  }
}
