// Organizations: the tenant boundary. Holds the first-start bootstrap (organization `default`, environment
// `development`, an admin API client) and the per-organization privilege scope of each environment type.
import type { Kysely } from 'kysely';
import type { Caller, DeploymentAction } from '../auth/caller.js';
import { DEPLOYMENT_ACTIONS, ENVIRONMENT_TYPES, allowedActionsFor, requireOrganizationAdmin, type EnvironmentType } from '../auth/policy.js';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';
import { insertApiClient, type ApiClient } from './api-clients.js';
import type { Region } from './catalog.js';
import { ENVIRONMENT_COLORS, insertEnvironment, type Environment, type EnvironmentColor } from './environments.js';
import { conflict, invalid, notFound } from '../errors.js';
import { assertPlainText } from './plain-text.js';

type Db = Kysely<Tables>;

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
}

export async function createOrganization(db: Db, name: string, clock: Clock): Promise<Organization> {
  const trimmed = name.trim();
  assertPlainText('name', name);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,99}$/.test(trimmed)) throw invalid('name', `organization name '${name}' must be 1 to 100 letters, digits, spaces, '.', '_' or '-'`);
  const existing = await db.selectFrom('organizations').select('id').where('name', '=', trimmed).executeTakeFirst();
  if (existing) throw conflict(`organization '${trimmed}' already exists`);
  const row = { id: newId(), name: trimmed, created_at: clock.now().toISOString() };
  await db.insertInto('organizations').values(row).execute();
  return { id: row.id, name: row.name, createdAt: new Date(row.created_at) };
}

/** The organization named `name` (or with that id); 404 when there is none. */
export async function findOrganization(db: Db, nameOrId: string): Promise<Organization> {
  const row = await db.selectFrom('organizations').selectAll().where((eb) => eb.or([eb('name', '=', nameOrId), eb('id', '=', nameOrId)])).executeTakeFirst();
  if (!row) throw notFound(`organization '${nameOrId}' does not exist`);
  return { id: row.id, name: row.name, createdAt: new Date(row.created_at) };
}

export interface BootstrapResult {
  organization: Organization;
  environment: Environment;
  client: ApiClient;
  clientSecret: string;
}

/**
 * On an empty store: creates organization `default`, environment `development` in the default region and
 * an admin API client. Returns null when the store already holds an organization.
 */
export async function bootstrapIfEmpty(db: Db, ctx: { regions: readonly Region[]; clock: Clock }): Promise<BootstrapResult | null> {
  const any = await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const organization = await createOrganization(db, 'default', ctx.clock);
  const environment = await insertEnvironment(db, organization.id, { label: 'development', type: 'development' }, ctx);
  const { client, clientSecret } = await insertApiClient(db, organization.id, { name: 'initial admin', role: 'admin', environmentIds: [] }, ctx.clock);
  return { organization, environment, client, clientSecret };
}

export interface EnvironmentTypeScope {
  type: EnvironmentType;
  color: EnvironmentColor;
  allowedActions: DeploymentAction[];
}

export async function listEnvironmentTypeScopes(db: Db, caller: Caller): Promise<EnvironmentTypeScope[]> {
  const allowed = await allowedActionsFor(db, caller.organizationId);
  return ENVIRONMENT_TYPES.map((type) => ({ type, color: ENVIRONMENT_COLORS[type], allowedActions: [...allowed[type]] }));
}

/** Replaces what operators may do in environments of `type` within the caller's organization. */
export async function setEnvironmentTypeScope(db: Db, caller: Caller, type: string, allowedActions: string[], clock: Clock): Promise<EnvironmentTypeScope> {
  requireOrganizationAdmin(caller, 'change environment types');
  if (!(ENVIRONMENT_TYPES as readonly string[]).includes(type)) throw notFound(`environment type '${type}' does not exist; it is one of ${ENVIRONMENT_TYPES.join(', ')}`);
  const unknown = allowedActions.find((a) => !(DEPLOYMENT_ACTIONS as readonly string[]).includes(a));
  if (unknown !== undefined) throw invalid('allowedActions', `action '${unknown}' is not one of ${DEPLOYMENT_ACTIONS.join(', ')}`);
  // Stored in catalogue order without duplicates so the answer reads the same however it was sent.
  const actions = DEPLOYMENT_ACTIONS.filter((a) => allowedActions.includes(a));
  const now = clock.now().toISOString();
  await db
    .insertInto('environment_type_scopes')
    .values({ organization_id: caller.organizationId, type, allowed_actions: JSON.stringify(actions), updated_at: now })
    .onConflict((oc) => oc.columns(['organization_id', 'type']).doUpdateSet({ allowed_actions: JSON.stringify(actions), updated_at: now }))
    .execute();
  const t = type as EnvironmentType;
  return { type: t, color: ENVIRONMENT_COLORS[t], allowedActions: actions };
}
