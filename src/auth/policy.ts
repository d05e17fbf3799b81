// Who may do what: roles × environment-type privilege scope (api.md §2). Owners and admins may do
// everything in their organization; operators act only in their assigned environments, within the
// actions the environment's type allows; read-operators only read there; billing never deploys.
// An environment the caller may not see is a 404, never a 403.
import type { Kysely } from 'kysely';
import { forbidden, notFound } from '../errors.js';
import type { Tables } from '../store/schema/index.js';
import type { Caller, DeploymentAction, Role } from './caller.js';

export type EnvironmentType = 'development' | 'staging' | 'production';
export const ENVIRONMENT_TYPES: readonly EnvironmentType[] = ['development', 'staging', 'production'];

export const DEPLOYMENT_ACTIONS: readonly DeploymentAction[] = [
  'read',
  'create',
  'restart',
  'pause',
  'resume',
  'clone',
  'snapshot',
  'export',
  'change-plan',
  'switch-url',
  'terminate',
  'import',
  'restore',
  'empty',
];

/** Actions that destroy or overwrite data; production forbids them to operators by default. */
const DESTRUCTIVE: readonly DeploymentAction[] = ['terminate', 'import', 'restore', 'empty'];

export const DEFAULT_ALLOWED_ACTIONS: Readonly<Record<EnvironmentType, readonly DeploymentAction[]>> = {
  development: DEPLOYMENT_ACTIONS,
  staging: DEPLOYMENT_ACTIONS,
  production: DEPLOYMENT_ACTIONS.filter((a) => !DESTRUCTIVE.includes(a)),
};

export type AllowedActions = Readonly<Record<EnvironmentType, readonly DeploymentAction[]>>;

export interface EnvironmentRef {
  id: string;
  organizationId: string;
  type: EnvironmentType;
}

export function isOrganizationAdmin(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

/** Whether the caller may see the environment at all (its organization, and assigned unless admin). */
export function canSeeEnvironment(caller: Caller, env: { id: string; organizationId: string }): boolean {
  if (env.organizationId !== caller.organizationId) return false;
  if (isOrganizationAdmin(caller.role)) return true;
  if (caller.role === 'billing') return false;
  return caller.environmentIds.includes(env.id);
}

/** Throws 403 unless the caller is an owner or admin of its organization. */
export function requireOrganizationAdmin(caller: Caller, what: string): void {
  if (!isOrganizationAdmin(caller.role)) throw forbidden(`role '${caller.role}' may not ${what}; it needs an admin or owner`);
}

/** Throws 403 unless the caller may see and manage billing: owners, admins and the billing role (api.md §2). */
export function requireBillingAccess(caller: Caller, what: string): void {
  if (!isOrganizationAdmin(caller.role) && caller.role !== 'billing') throw forbidden(`role '${caller.role}' may not ${what}; it needs an admin, owner or billing role`);
}

/** Where the billing role may go: billing and usage only, nothing else (checked for every authenticated route). */
export const BILLING_ROLE_PATHS = '/organizations/billing';

/** Throws 403 when a billing-role caller asks for anything but `/organizations/billing…`. */
export function confineBillingRole(caller: Caller, path: string): void {
  if (caller.role !== 'billing') return;
  if (path === BILLING_ROLE_PATHS || path.startsWith(`${BILLING_ROLE_PATHS}/`)) return;
  throw forbidden(`role 'billing' may only use ${BILLING_ROLE_PATHS} and what lies below it`);
}

/** Throws 403 for roles that never touch deployments (billing). */
export function requireDeploymentRole(caller: Caller): void {
  if (caller.role === 'billing') throw forbidden(`role 'billing' may not use deployments`);
}

/**
 * The synchronous check, given the organization's allowed actions per environment type.
 * Throws not-found when the caller may not see the environment, forbidden when the action is not allowed.
 */
export function checkDeploymentAction(caller: Caller, env: EnvironmentRef, action: DeploymentAction, allowed: AllowedActions = DEFAULT_ALLOWED_ACTIONS): void {
  requireDeploymentRole(caller);
  if (!canSeeEnvironment(caller, env)) throw notFound(`environment '${env.id}' does not exist`);
  if (isOrganizationAdmin(caller.role)) return;
  // Reading is the floor of every scope: an assigned operator can always see what is there.
  if (action === 'read') return;
  if (caller.role === 'read-operator') throw forbidden(`role 'read-operator' may only read; '${action}' is not allowed`);
  if (!allowed[env.type].includes(action)) throw forbidden(`${env.type} environment: '${action}' is not allowed for operators`);
}

/** The organization's allowed actions per environment type (defaults where it has not changed them). */
export async function allowedActionsFor(db: Kysely<Tables>, organizationId: string): Promise<AllowedActions> {
  const rows = await db.selectFrom('environment_type_scopes').select(['type', 'allowed_actions']).where('organization_id', '=', organizationId).execute();
  const result: Record<EnvironmentType, readonly DeploymentAction[]> = { ...DEFAULT_ALLOWED_ACTIONS };
  for (const row of rows) {
    if ((ENVIRONMENT_TYPES as readonly string[]).includes(row.type)) {
      result[row.type as EnvironmentType] = JSON.parse(row.allowed_actions) as DeploymentAction[];
    }
  }
  return result;
}

/**
 * Authorizes a deployment action in an environment, reading the organization's scope table.
 * Throws DomainError not-found (environment not visible) or forbidden (role or scope).
 */
export async function authorizeDeployment(db: Kysely<Tables>, caller: Caller, env: EnvironmentRef, action: DeploymentAction): Promise<void> {
  requireDeploymentRole(caller);
  if (!canSeeEnvironment(caller, env)) throw notFound(`environment '${env.id}' does not exist`);
  if (isOrganizationAdmin(caller.role) || action === 'read') return;
  checkDeploymentAction(caller, env, action, await allowedActionsFor(db, caller.organizationId));
}
