// The client credentials grant (RFC 6749 §4.4): checks a client id and secret and issues an access token.
// An unknown client and a wrong secret give the same answer after the same work.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { unauthorized } from '../errors.js';
import type { Tables } from '../store/schema/index.js';
import type { Role } from './caller.js';
import { verifyClientSecret } from './secrets.js';
import type { SigningKeys } from './signing-keys.js';
import { issueAccessToken } from './tokens.js';

export interface TokenGrant {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** Issues a token for valid credentials; throws unauthorized('invalid_client') otherwise. */
export async function grantClientCredentials(
  db: Kysely<Tables>,
  keys: SigningKeys,
  clock: Clock,
  ttlSeconds: number,
  credentials: { clientId: string; clientSecret: string },
): Promise<TokenGrant> {
  // Lookups by a malformed id still run so their timing matches a well-formed unknown id.
  const row = await db
    .selectFrom('api_clients')
    .select(['id', 'organization_id', 'client_id', 'secret_hash', 'role', 'token_generation'])
    .where('client_id', '=', credentials.clientId.trim().toLowerCase())
    .executeTakeFirst();
  const ok = verifyClientSecret(credentials.clientSecret, row?.secret_hash);
  if (!ok || !row) throw unauthorized('invalid_client');
  const envRows = await db.selectFrom('api_client_environments').select('environment_id').where('api_client_id', '=', row.id).orderBy('environment_id').execute();
  const access_token = await issueAccessToken(keys, clock, ttlSeconds, {
    clientId: row.client_id,
    organizationId: row.organization_id,
    role: row.role as Role,
    environmentIds: envRows.map((r) => r.environment_id),
    generation: row.token_generation,
  });
  await db.updateTable('api_clients').set({ last_used_at: clock.now().toISOString() }).where('id', '=', row.id).execute();
  return { access_token, token_type: 'Bearer', expires_in: ttlSeconds };
}
