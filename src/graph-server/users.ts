// The users file of one database: `{"users": [{username, passwordHash, readOnly}], "allow": [CIDR…]}`
// (or just the users array, the older form), password hashes as `scrypt$N$r$p$salt$hash` (base64).
// `allow` is the environment's network rules: when it lists ranges, only clients from those addresses
// may connect (empty or absent: everyone). The control plane writes the file; the graph-server reads it
// and picks up changes without a restart (fs.watch, a poll in case watching misses a rename, SIGHUP).
import { createHash } from 'node:crypto';
import { verifyPassword } from '../auth/passwords.js';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CidrError, cidrContains, parseCidr, type Cidr } from '../net/cidr.js';
import type { AuthenticatedUser, Authenticator } from './engine-api.js';
import type { ValueMap } from './values.js';

export interface UserEntry {
  username: string;
  passwordHash: string;
  readOnly: boolean;
}

export interface AccessFile {
  users: UserEntry[];
  /** Client address ranges allowed to connect; empty = every address. */
  allow: Cidr[];
}

/** Parses and checks a users file's text (either form); throws an Error naming what is wrong. */
export function parseAccess(text: string): AccessFile {
  const data: unknown = JSON.parse(text);
  if (Array.isArray(data)) return { users: checkUsers(data), allow: [] };
  const obj = data as { users?: unknown; allow?: unknown } | null;
  if (!obj || typeof obj !== 'object' || !Array.isArray(obj.users)) throw new Error('the users file must hold {"users": [...], "allow": [...]} or a JSON array of users');
  const allow = obj.allow ?? [];
  if (!Array.isArray(allow)) throw new Error('"allow" must be a list of CIDR ranges');
  return {
    users: checkUsers(obj.users),
    allow: allow.map((range: unknown, i) => {
      if (typeof range !== 'string') throw new Error(`allow ${i}: must be a CIDR string`);
      try {
        return parseCidr(range);
      } catch (err) {
        throw new Error(`allow ${i}: ${err instanceof CidrError ? err.message : String(err)}`);
      }
    }),
  };
}

/** The users of a users file's text (either form). */
export function parseUsers(text: string): UserEntry[] {
  return parseAccess(text).users;
}

function checkUsers(data: unknown[]): UserEntry[] {
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
  private allow: Cidr[] = [];
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

  /** Whether a client at `address` (as the socket reports it) may connect under the network rules. */
  allows(address: string | undefined): boolean {
    if (this.allow.length === 0) return true;
    if (!address) return false;
    return this.allow.some((range) => cidrContains(range, address));
  }

  /** The allowed ranges in force (empty = every address). */
  get allowedRanges(): readonly Cidr[] {
    return this.allow;
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
      await verifyPassword(password, undefined);
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
    let allow: Cidr[];
    try {
      ({ users, allow } = parseAccess(text));
    } catch (err) {
      if (initial) throw new Error(`invalid users file ${file}: ${(err as Error).message}`);
      logger?.warn({ file, reason: (err as Error).message }, 'users file invalid; keeping the previous users');
      return;
    }
    this.lastSignature = signature;
    this.users = new Map(users.map((u) => [u.username, u]));
    this.allow = allow;
    this.verified.clear();
    this.generation++;
    if (!initial) logger?.info({ file, users: users.length, allowedRanges: allow.length }, 'users file reloaded');
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
