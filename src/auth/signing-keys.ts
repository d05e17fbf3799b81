// The key pair that signs access tokens (ES256), kept in `<data dir>/keys/jwt-signing-keys.json` (mode 0600).
// The file holds every key still published: after a rotation the previous key stays in the JWKS until
// the tokens it signed have expired, and the newest key signs. A running server picks a rotation up by
// itself: it looks at the file (a stat) at most once a second before signing or publishing, and at once
// when a token names a key it does not know, so no restart is needed.
// Control planes sharing a PostgreSQL store share their keys through it instead (`signing_keys`, see
// loadStoreSigningKeys): a token from one instance is accepted by all, and a rotation reaches all.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Tables } from '../store/schema/index.js';

export const TOKEN_ALG = 'ES256';

interface StoredKey {
  kid: string;
  alg: typeof TOKEN_ALG;
  createdAt: string;
  privateJwk: JWK;
}

interface KeyFile {
  keys: StoredKey[];
}

export interface SigningKeys {
  /** The key new tokens are signed with. */
  readonly current: { kid: string; privateKey: CryptoKey };
  /** Public keys of every published key, as `GET /.well-known/jwks.json` serves them. */
  readonly jwks: { keys: JWK[] };
  /** The public key for a token's `kid`, or undefined for a key we never issued. */
  publicKey(kid: string): CryptoKey | undefined;
  /**
   * Re-reads the key file if it changed since it was read (checked at most once a second unless `force`).
   * A file that cannot be read leaves the keys as they were.
   */
  refresh(options?: { force?: boolean }): Promise<void>;
}

type KeySnapshot = Omit<SigningKeys, 'refresh'>;

export function signingKeysPath(dataDir: string): string {
  return join(dataDir, 'keys', 'jwt-signing-keys.json');
}

/** Loads the signing keys from the data directory, generating the first key pair on first start. */
export async function loadSigningKeys(dataDir: string, now: Date): Promise<SigningKeys> {
  const path = signingKeysPath(dataDir);
  let file = readKeyFile(path);
  if (!file) {
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const fresh: KeyFile = { keys: [await newStoredKey(now)] };
    try {
      // `wx`: when two processes start on one data dir at once, the second keeps the first one's key.
      writeFileSync(path, JSON.stringify(fresh, null, 2), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    file = readKeyFile(path);
    if (!file) throw new Error(`signing keys ${path}: could not be created`);
  }
  return refreshingKeys(await toSnapshot(file), fileStamp(path), async () => ({
    stamp: fileStamp(path),
    // Read only when the stamp moved; half a rotation (or a broken file) keeps the keys in use and is tried again.
    snapshot: () => {
      const changed = readKeyFile(path);
      if (!changed) throw new Error(`signing keys ${path}: unreadable`);
      return toSnapshot(changed);
    },
  }));
}

/**
 * Signing keys that re-read their source when asked (at most once a second unless forced): `read` says the
 * source's stamp now and how to build the keys from it, or null to keep the keys in use. A source that
 * cannot be read (a half rotation, the store gone for a moment) never takes signing down.
 */
async function refreshingKeys(initial: KeySnapshot, initialStamp: string, read: () => Promise<{ stamp: string; snapshot: () => Promise<KeySnapshot> } | null>): Promise<SigningKeys> {
  let snapshot = initial;
  let stamp = initialStamp;
  let checkedAt = Date.now();
  return {
    get current() {
      return snapshot.current;
    },
    get jwks() {
      return snapshot.jwks;
    },
    publicKey: (kid) => snapshot.publicKey(kid),
    async refresh({ force = false } = {}) {
      if (!force && Date.now() - checkedAt < 1000) return;
      checkedAt = Date.now();
      try {
        const next = await read();
        if (!next || next.stamp === stamp) return;
        snapshot = await next.snapshot();
        stamp = next.stamp;
      } catch {
        // Keep the keys in use.
      }
    },
  };
}

/** What tells one version of the key file from another (rotation renames a new file over it). */
function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Adds a new signing key (running servers sign with it within a second or so) and keeps older keys published while tokens they
 * signed may still be valid: a key superseded more than `tokenTtlSeconds` ago is dropped.
 * Returns the new key's id.
 */
export async function rotateSigningKey(dataDir: string, now: Date, tokenTtlSeconds: number): Promise<string> {
  const path = signingKeysPath(dataDir);
  const file = readKeyFile(path) ?? { keys: [] };
  file.keys = stillPublished(file.keys, now, tokenTtlSeconds);
  const fresh = await newStoredKey(now);
  file.keys.push(fresh);
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  // Written beside and renamed over, so a crash never leaves a half-written key file.
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(file, null, 2), { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return fresh.kid;
}

/** The keys (oldest first) whose tokens may still be valid: a key superseded more than a token lifetime ago is dropped. */
function stillPublished(keys: StoredKey[], now: Date, tokenTtlSeconds: number): StoredKey[] {
  return keys.filter((_key, i) => {
    const supersededAt = keys[i + 1]?.createdAt;
    return supersededAt === undefined || Date.parse(supersededAt) + tokenTtlSeconds * 1000 > now.getTime();
  });
}

async function newStoredKey(now: Date): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
  return { kid: randomBytes(12).toString('base64url'), alg: TOKEN_ALG, createdAt: now.toISOString(), privateJwk: await exportJWK(privateKey) };
}

function readKeyFile(path: string): KeyFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`signing keys ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`signing keys ${path}: not valid JSON`);
  }
  const keys = (parsed as KeyFile | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`signing keys ${path}: holds no keys`);
  return { keys };
}

async function toSnapshot(file: KeyFile): Promise<KeySnapshot> {
  const publicKeys = new Map<string, CryptoKey>();
  const published: JWK[] = [];
  let current: { kid: string; privateKey: CryptoKey } | undefined;
  for (const stored of file.keys) {
    const { d: _private, ...pub } = stored.privateJwk;
    const publicJwk: JWK = { ...pub, kid: stored.kid, alg: stored.alg, use: 'sig' };
    publicKeys.set(stored.kid, (await importJWK(publicJwk, stored.alg)) as CryptoKey);
    published.push(publicJwk);
    current = { kid: stored.kid, privateKey: (await importJWK(stored.privateJwk, stored.alg)) as CryptoKey };
  }
  return {
    current: current!,
    jwks: { keys: published },
    publicKey: (kid) => publicKeys.get(kid),
  };
}

// ---- Keys in the store (control planes sharing a PostgreSQL store) ----

async function readStoreKeys(db: Kysely<Tables>): Promise<StoredKey[]> {
  const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
  return rows.map((r) => ({ kid: r.kid, alg: TOKEN_ALG, createdAt: r.created_at, privateJwk: JSON.parse(r.private_jwk) as JWK }));
}

async function insertStoreKeys(db: Kysely<Tables>, keys: StoredKey[]): Promise<void> {
  for (const k of keys) {
    await db
      .insertInto('signing_keys')
      .values({ kid: k.kid, alg: k.alg, private_jwk: JSON.stringify(k.privateJwk), created_at: k.createdAt })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }
}

/**
 * Loads the signing keys from the store. An empty store is seeded with the data directory's key file when
 * there is one (an install moved from SQLite keeps its tokens valid), else with a new key pair. The rows
 * are read again at most once a second (at once for a token naming an unknown key).
 */
export async function loadStoreSigningKeys(db: Kysely<Tables>, dataDir: string, now: Date): Promise<SigningKeys> {
  let keys = await readStoreKeys(db);
  if (keys.length === 0) {
    // Two instances seeding at once: both rows stay, the newest signs, both are published.
    await insertStoreKeys(db, readKeyFile(signingKeysPath(dataDir))?.keys ?? [await newStoredKey(now)]);
    keys = await readStoreKeys(db);
  }
  return refreshingKeys(await toSnapshot({ keys }), keys.map((k) => k.kid).join(','), async () => {
    const fresh = await readStoreKeys(db);
    return fresh.length === 0 ? null : { stamp: fresh.map((k) => k.kid).join(','), snapshot: () => toSnapshot({ keys: fresh }) };
  });
}

/** rotateSigningKey for keys kept in the store: every instance signs with the new key within a second or so. */
export async function rotateStoreSigningKey(db: Kysely<Tables>, now: Date, tokenTtlSeconds: number): Promise<string> {
  const fresh = await newStoredKey(now);
  await insertStoreKeys(db, [fresh]);
  const keep = new Set(stillPublished(await readStoreKeys(db), now, tokenTtlSeconds).map((k) => k.kid));
  keep.add(fresh.kid);
  await db.deleteFrom('signing_keys').where('kid', 'not in', [...keep]).execute();
  return fresh.kid;
}
