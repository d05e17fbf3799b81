// Password hashes, for database users (the graph-server verifies them from its users file) and console users.
// A password may be guessable, so it is stored as a salted scrypt hash (unlike API client secrets: 256 random
// bits, a plain sha256 digest suffices, src/auth/secrets.ts); the console's sign-in route and Bolt's
// authentication are rate-limited or deadline-bound, which keeps the slow hash from becoming a CPU sink.
// Format: `scrypt$N$r$p$<salt>$<key>` in base64 (hashes written with base64url before read the same).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { newClientSecret } from './secrets.js';

// N=2^14, r=8, p=1: about 50 ms on this machine, the usual interactive-login cost.
const DEFAULT_PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node refuses scrypt work above maxmem (32 MiB by default); allow what N and r ask for.
  return { N, r, p, maxmem: 128 * N * r * 2 + 1024 * 1024 };
}

/** A new random password (the same 256-bit form as a client secret); shown to its owner once. */
export const newPassword = newClientSecret;

/** A hash of `password` as `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, scryptOptions(params.N, params.r, params.p));
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

// Verified against when there is no stored hash (no such user), so the time taken does not reveal it.
const DUMMY = `scrypt$${DEFAULT_PARAMS.N}$${DEFAULT_PARAMS.r}$${DEFAULT_PARAMS.p}$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;

/**
 * Whether `password` matches `hash`; false (never a throw) for a malformed hash. Without a hash (no such user)
 * the same work is done and the answer is false.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const parts = (hash ?? DUMMY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map((x) => Number(x)) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  // Node's base64 decoder reads the base64url alphabet too.
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length < 16) return false;
  try {
    const key = await scrypt(password, salt, expected.length, scryptOptions(N, r, p));
    return timingSafeEqual(key, expected) && hash !== undefined;
  } catch {
    return false;
  }
}
