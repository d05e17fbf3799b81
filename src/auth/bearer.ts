// The bearer check run before every authenticated route: verifies the JWT, then looks the client up so a
// deleted client or a refreshed secret (a new token generation) revokes older tokens at once. Role and
// environments come from the store, so a PATCH of a client's environments applies to live tokens too.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Tables } from '../store/schema/index.js';
import type { Caller, Role } from './caller.js';
import type { SigningKeys } from './signing-keys.js';
import { InvalidTokenError, verifyAccessToken } from './tokens.js';

export { InvalidTokenError };

/** The caller behind an `Authorization` header value; throws InvalidTokenError with a short reason. */
export async function authenticateBearer(db: Kysely<Tables>, keys: SigningKeys, clock: Clock, header: string | undefined): Promise<Caller> {
  if (!header) throw new InvalidTokenError('missing bearer token');
  const m = /^Bearer[ ]+([A-Za-z0-9_\-.=]+)\s*$/i.exec(header);
  if (!m) throw new InvalidTokenError('malformed Authorization header; expected Bearer <token>');
  const claims = await verifyAccessToken(keys, clock, m[1]!);
  const row = await db
    .selectFrom('api_clients')
    .select(['id', 'organization_id', 'role', 'token_generation'])
    .where('client_id', '=', claims.sub)
    .executeTakeFirst();
  if (!row || row.organization_id !== claims.org || row.token_generation !== claims.gen) throw new InvalidTokenError('token revoked');
  const envRows = await db.selectFrom('api_client_environments').select('environment_id').where('api_client_id', '=', row.id).execute();
  return { organizationId: row.organization_id, clientId: row.id, role: row.role as Role, environmentIds: envRows.map((r) => r.environment_id) };
}
