// Access tokens: JWTs signed with the installation's ES256 key. Only our algorithm and our keys are
// accepted (an `alg: none` token or one signed by a foreign key is refused); expiry is checked against
// the injected clock.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Role } from './caller.js';
import { TOKEN_ALG, type SigningKeys } from './signing-keys.js';

export const TOKEN_ISSUER = 'allotrope';
/** How far in the future a token's `iat` may lie: clocks of several instances drift a little, never a minute. */
export const MAX_CLOCK_SKEW_SECONDS = 60;

export interface AccessTokenClaims {
  /** The client's public `client_id`. */
  sub: string;
  org: string;
  role: Role;
  env: string[];
  /** The client's token generation when issued; a secret refresh bumps it and revokes older tokens. */
  gen: number;
  iat: number;
  exp: number;
  jti: string;
}

export async function issueAccessToken(
  keys: SigningKeys,
  clock: Clock,
  ttlSeconds: number,
  claims: { clientId: string; organizationId: string; role: Role; environmentIds: string[]; generation: number },
): Promise<string> {
  await keys.refresh();
  const iat = Math.floor(clock.now().getTime() / 1000);
  return new SignJWT({ org: claims.organizationId, role: claims.role, env: claims.environmentIds, gen: claims.generation })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: keys.current.kid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(claims.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(newId())
    .sign(keys.current.privateKey);
}

export class InvalidTokenError extends Error {}

/** Verifies signature, algorithm, issuer and expiry; throws InvalidTokenError with a short reason. */
export async function verifyAccessToken(keys: SigningKeys, clock: Clock, token: string): Promise<AccessTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        if (!header.kid) throw new InvalidTokenError('token signed by an unknown key');
        // A key we do not know yet may be a rotation another process just wrote: look once more.
        if (!keys.publicKey(header.kid)) await keys.refresh({ force: true });
        const key = keys.publicKey(header.kid);
        if (!key) throw new InvalidTokenError('token signed by an unknown key');
        return key;
      },
      { algorithms: [TOKEN_ALG], issuer: TOKEN_ISSUER, currentDate: clock.now(), requiredClaims: ['sub', 'iat', 'exp', 'jti'] },
    ));
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError('token expired');
    throw new InvalidTokenError('token is not valid');
  }
  // jose checks `iat` only against a maximum age; a token dated ahead would outlive its stated lifetime.
  if (typeof payload.iat !== 'number' || payload.iat > clock.now().getTime() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    throw new InvalidTokenError('token issued in the future');
  }
  const { org, role, env, gen } = payload as Record<string, unknown>;
  if (typeof org !== 'string' || typeof role !== 'string' || !Array.isArray(env) || typeof gen !== 'number') {
    throw new InvalidTokenError('token is not valid');
  }
  return payload as unknown as AccessTokenClaims;
}
