// The key pair that signs access tokens (ES256), kept in `<data dir>/keys/jwt-signing-keys.json` (mode 0600).
// The file holds every key still published: after a rotation the previous key stays in the JWKS until
// the tokens it signed have expired, and the newest key signs. A running server picks a rotation up by
// itself: it looks at the file (a stat) at most once a second before signing or publishing, and at once
// when a token names a key it does not know, so no restart is needed.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

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
  let snapshot = await toSnapshot(file);
  let stamp = fileStamp(path);
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
        const now = fileStamp(path);
        if (now === stamp) return;
        const changed = readKeyFile(path);
        if (!changed) return;
        snapshot = await toSnapshot(changed);
        stamp = now;
      } catch {
        // Half a rotation (or a broken file) must not take signing down: keep the keys in use.
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
  file.keys = file.keys.filter((_key, i) => {
    const supersededAt = file.keys[i + 1]?.createdAt;
    return supersededAt === undefined || Date.parse(supersededAt) + tokenTtlSeconds * 1000 > now.getTime();
  });
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
