// API client secrets. A secret is 32 random bytes (256 bits), so it is stored as a plain sha256 digest:
// brute-forcing a 256-bit preimage is infeasible, and a slow KDF (scrypt) would only turn the token
// endpoint into a CPU sink for anyone sending bad secrets. Comparison is constant-time, and an unknown
// client is compared against a dummy digest so both failures cost the same.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_BYTES = 32;

/** A new client secret: 32 random bytes, base64url (43 characters). Shown to the user once. */
export function newClientSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

// Compared against when the client does not exist, so the work done does not reveal it.
const DUMMY_HASH = hashClientSecret(randomBytes(SECRET_BYTES).toString('base64url'));

/** True when `secret` matches `storedHash`; with no stored hash does the same work and answers false. */
export function verifyClientSecret(secret: string, storedHash: string | undefined): boolean {
  const given = Buffer.from(hashClientSecret(secret), 'hex');
  const expected = Buffer.from(storedHash ?? DUMMY_HASH, 'hex');
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  return same && storedHash !== undefined;
}
