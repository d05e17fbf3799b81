// Environments: the organization's deployment spaces, each of a type (development/staging/production,
// shown as a colour) that decides what operators may do there, placed in one region, with an IP allowlist
// (network rules) enforced where database connections are accepted.
import type { Kysely } from 'kysely';
import type { Caller } from '../auth/caller.js';
import { ENVIRONMENT_TYPES, canSeeEnvironment, requireDeploymentRole, requireOrganizationAdmin, type EnvironmentType } from '../auth/policy.js';
import type { Clock } from '../clock.js';
import { newId, normalizeId } from '../ids.js';
import { CidrError, formatCidr, parseCidr } from '../net/cidr.js';
import type { Tables } from '../store/schema/index.js';
import type { EnvironmentRow, NetworkRuleRow } from '../store/schema/identity.js';
import { findRegion, type Region } from './catalog.js';
import { conflict, invalid, notFound } from '../errors.js';
import { assertPlainText } from './plain-text.js';

export type EnvironmentColor = 'green' | 'yellow' | 'red';
export const ENVIRONMENT_COLORS: Readonly<Record<EnvironmentType, EnvironmentColor>> = {
  development: 'green',
  staging: 'yellow',
  production: 'red',
};

export interface NetworkRule {
  id: string;
  label: string;
  ipRange: string;
  createdAt: Date;
}

export interface Environment {
  id: string;
  organizationId: string;
  label: string;
  type: EnvironmentType;
  color: EnvironmentColor;
  region: string;
  cidr: string | null;
  createdAt: Date;
  networkRules: NetworkRule[];
}

export interface PageRequest {
  limit: number;
  after?: string;
}

type Db = Kysely<Tables>;

function toRule(row: NetworkRuleRow): NetworkRule {
  return { id: row.id, label: row.label, ipRange: row.ip_range, createdAt: new Date(row.created_at) };
}

function toEnvironment(row: EnvironmentRow, rules: NetworkRuleRow[]): Environment {
  const type = row.type as EnvironmentType;
  return {
    id: row.id,
    organizationId: row.organization_id,
    label: row.label,
    type,
    color: ENVIRONMENT_COLORS[type],
    region: row.region,
    cidr: row.cidr,
    createdAt: new Date(row.created_at),
    networkRules: rules.filter((r) => r.environment_id === row.id).map(toRule),
  };
}

async function rulesOf(db: Db, environmentIds: string[]): Promise<NetworkRuleRow[]> {
  if (environmentIds.length === 0) return [];
  return db.selectFrom('network_rules').selectAll().where('environment_id', 'in', environmentIds).orderBy('created_at').orderBy('id').execute();
}

/** Canonical CIDR (`10.0.0.0/8`, `2001:db8::/32`) or null when `input` is not one. A bare address is a /32 or /128. */
export function canonicalCidr(input: string): string | null {
  try {
    return formatCidr(parseCidr(input));
  } catch (err) {
    if (err instanceof CidrError) return null;
    throw err;
  }
}

async function findVisibleRow(db: Db, caller: Caller, id: string): Promise<EnvironmentRow> {
  requireDeploymentRole(caller);
  const normalized = normalizeId(id);
  const row = normalized
    ? await db.selectFrom('environments').selectAll().where('id', '=', normalized).where('organization_id', '=', caller.organizationId).executeTakeFirst()
    : undefined;
  if (!row || !canSeeEnvironment(caller, { id: row.id, organizationId: row.organization_id })) throw notFound(`environment '${id}' does not exist`);
  return row;
}

/** The environment, if the caller's organization owns it and the caller may see it; 404 otherwise. */
export async function getEnvironment(db: Db, caller: Caller, id: string): Promise<Environment> {
  const row = await findVisibleRow(db, caller, id);
  return toEnvironment(row, await rulesOf(db, [row.id]));
}

/** Environments the caller may see, ordered by id; returns up to `limit + 1` so the caller can tell if more remain. */
export async function listEnvironments(db: Db, caller: Caller, page: PageRequest): Promise<Environment[]> {
  requireDeploymentRole(caller);
  let query = db.selectFrom('environments').selectAll().where('organization_id', '=', caller.organizationId);
  if (caller.role !== 'owner' && caller.role !== 'admin') {
    if (caller.environmentIds.length === 0) return [];
    query = query.where('id', 'in', caller.environmentIds);
  }
  if (page.after) query = query.where('id', '>', normalizeId(page.after) ?? page.after);
  const rows = await query.orderBy('id').limit(page.limit + 1).execute();
  const rules = await rulesOf(db, rows.map((r) => r.id));
  return rows.map((r) => toEnvironment(r, rules));
}

function checkType(type: string): EnvironmentType {
  if (!(ENVIRONMENT_TYPES as readonly string[]).includes(type)) throw invalid('type', `type '${type}' is not one of ${ENVIRONMENT_TYPES.join(', ')}`);
  return type as EnvironmentType;
}

function checkLabel(label: string): string {
  assertPlainText('label', label);
  const trimmed = label.trim();
  if (trimmed === '' || trimmed.length > 100) throw invalid('label', 'label must be 1 to 100 characters');
  return trimmed;
}

async function labelTaken(db: Db, organizationId: string, label: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom('environments').select('id').where('organization_id', '=', organizationId).where('label', '=', label);
  if (exceptId) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export interface NewEnvironment {
  label: string;
  type: string;
  region?: string;
  cidr?: string | null;
}

/** Inserts an environment without a caller check (bootstrap, CLI). */
export async function insertEnvironment(db: Db, organizationId: string, input: NewEnvironment, ctx: { regions: readonly Region[]; clock: Clock }): Promise<Environment> {
  const label = checkLabel(input.label);
  const type = checkType(input.type);
  const regionId = input.region ?? ctx.regions.find((r) => r.default)?.id ?? ctx.regions[0]!.id;
  const region = findRegion(regionId, ctx.regions);
  if (!region) throw invalid('region', `region '${regionId}' does not exist; see GET /deployments/regions`);
  let cidr: string | null = null;
  if (input.cidr !== undefined && input.cidr !== null && input.cidr !== '') {
    cidr = canonicalCidr(input.cidr);
    if (!cidr) throw invalid('cidr', `cidr '${input.cidr}' is not an IPv4 or IPv6 CIDR range`);
  }
  if (await labelTaken(db, organizationId, label)) throw conflict(`an environment labelled '${label}' already exists`);
  const row: EnvironmentRow = { id: newId(), organization_id: organizationId, label, type, region: region.id, cidr, created_at: ctx.clock.now().toISOString() };
  await db.insertInto('environments').values(row).execute();
  return toEnvironment(row, []);
}

export async function createEnvironment(db: Db, caller: Caller, input: NewEnvironment, ctx: { regions: readonly Region[]; clock: Clock }): Promise<Environment> {
  requireOrganizationAdmin(caller, 'create environments');
  return insertEnvironment(db, caller.organizationId, input, ctx);
}

export async function updateEnvironment(db: Db, caller: Caller, id: string, patch: { label?: string; type?: string }): Promise<Environment> {
  requireOrganizationAdmin(caller, 'change environments');
  const row = await findVisibleRow(db, caller, id);
  const changes: Partial<EnvironmentRow> = {};
  if (patch.label !== undefined) {
    changes.label = checkLabel(patch.label);
    if (await labelTaken(db, caller.organizationId, changes.label, row.id)) throw conflict(`an environment labelled '${changes.label}' already exists`);
  }
  if (patch.type !== undefined) changes.type = checkType(patch.type);
  if (Object.keys(changes).length > 0) await db.updateTable('environments').set(changes).where('id', '=', row.id).execute();
  return getEnvironment(db, caller, row.id);
}

/**
 * Deletes an environment. `inUse` reports whether databases still live in it (the databases table
 * belongs to the lifecycle area); 409 while it does.
 */
export async function deleteEnvironment(db: Db, caller: Caller, id: string, inUse?: (environmentId: string) => Promise<boolean>): Promise<void> {
  requireOrganizationAdmin(caller, 'delete environments');
  const row = await findVisibleRow(db, caller, id);
  if (inUse && (await inUse(row.id))) throw conflict(`environment '${row.id}' still holds databases; terminate them first`);
  await db.deleteFrom('environments').where('id', '=', row.id).execute();
}

export async function listNetworkRules(db: Db, caller: Caller, environmentId: string): Promise<NetworkRule[]> {
  const row = await findVisibleRow(db, caller, environmentId);
  return (await rulesOf(db, [row.id])).map(toRule);
}

export async function addNetworkRule(db: Db, caller: Caller, environmentId: string, input: { label: string; ipRange: string }, clock: Clock): Promise<NetworkRule> {
  requireOrganizationAdmin(caller, 'change network rules');
  const env = await findVisibleRow(db, caller, environmentId);
  assertPlainText('label', input.label);
  const label = input.label.trim();
  if (label === '' || label.length > 100) throw invalid('label', 'label must be 1 to 100 characters');
  const ipRange = canonicalCidr(input.ipRange);
  if (!ipRange) throw invalid('ipRange', `ipRange '${input.ipRange}' is not an IPv4 or IPv6 CIDR range`);
  const row: NetworkRuleRow = { id: newId(), organization_id: env.organization_id, environment_id: env.id, label, ip_range: ipRange, created_at: clock.now().toISOString() };
  await db.insertInto('network_rules').values(row).execute();
  return toRule(row);
}

export async function deleteNetworkRule(db: Db, caller: Caller, environmentId: string, ruleId: string): Promise<void> {
  requireOrganizationAdmin(caller, 'change network rules');
  const env = await findVisibleRow(db, caller, environmentId);
  const id = normalizeId(ruleId);
  const result = id ? await db.deleteFrom('network_rules').where('id', '=', id).where('environment_id', '=', env.id).executeTakeFirst() : undefined;
  if (!result || result.numDeletedRows === 0n) throw notFound(`network rule '${ruleId}' does not exist`);
}

/** Network rules of an environment without a caller check (for the connection router). */
export async function networkRulesOf(db: Db, environmentId: string): Promise<NetworkRule[]> {
  return (await rulesOf(db, [environmentId])).map(toRule);
}
