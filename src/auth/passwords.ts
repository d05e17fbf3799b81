// Passwords of console users. Unlike API client secrets (256 random bits, a plain sha256 digest suffices:
// src/auth/secrets.ts), a person's password may be guessable, so it is stored as a salted scrypt hash; the
// sign-in route is rate-limited (rate-limit.ts), which keeps the slow hash from becoming a CPU sink.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { newClientSecret } from './secrets.js';

const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new random password (the same 256-bit form as a client secret); shown to its owner once. */
export const newPassword = newClientSecret;

/** `scrypt$N$r$p$<salt b64url>$<key b64url>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

// Verified against when the user does not exist, so the time taken does not reveal it.
const DUMMY = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_BYTES).toString('base64url')}`;

/** True when `password` matches `stored`; with no stored hash does the same work and answers false. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parts = (stored ?? DUMMY).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64url'), { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return stored !== undefined && key.length === expected.length && timingSafeEqual(key, expected);
}
