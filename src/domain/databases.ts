// Databases: creation, the lifecycle state machine, and the records the API shows a database from (api.md §5).
// Every action that changes state writes the new state and the operation that carries it out in one
// transaction; the operations engine (src/operations/) then does the slow part.
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Caller, DeploymentAction } from '../auth/caller.js';
import { authorizeDeployment } from '../auth/policy.js';
import type { Clock } from '../clock.js';
import { hashPassword } from '../auth/passwords.js';
import { newId, normalizeId } from '../ids.js';
import { activeOperationId, enqueueOperation, isExclusiveViolation } from '../operations/queue.js';
import type { Tables } from '../store/schema/index.js';
import type { DatabaseNodesTable, DatabasesTable } from '../store/schema/lifecycle.js';
import { catalogVersions, defaultVersion, findPlan, findRegion, findVersion, GRAFEO_VERSION, type Region, type Version } from './catalog.js';
import { assertMayStartBilling } from './billing.js';
import { getEnvironment, type Environment } from './environments.js';
import { DomainError, conflict, forbidden, invalid, notFound } from '../errors.js';
import { allocatePortPair, retryWhenPortTaken, type PortRange } from './ports.js';
import { assertPlainText } from './plain-text.js';
import type { Config } from '../config.js';
import { routerTlsEndpoint, type RouterTlsEndpoint } from './connection-urls.js';

export const DATABASE_STATES = [
  'provisioning',
  'running',
  'restarting',
  'pausing',
  'paused',
  'resuming',
  'importing',
  'restoring',
  'terminating',
  'terminated',
  'failed',
] as const;
export type DatabaseState = (typeof DATABASE_STATES)[number];

export type LifecycleAction = 'create' | 'restart' | 'pause' | 'resume' | 'terminate' | 'empty' | 'change-plan';

interface Transition {
  /** States the action may start from. */
  from: readonly DatabaseState[];
  /** State while its operation runs (null: unchanged, the database is only locked). */
  during: DatabaseState | null;
  /** State once the operation finished (null: unchanged). */
  after: DatabaseState | null;
  /** How the environment-type privilege scope names the action. */
  scope: DeploymentAction;
  describe: string;
}

/**
 * The lifecycle state machine in one table. A failed operation's end state is not listed: it is read
 * from what the runtime reports (src/operations/kinds/databases.ts), so it never contradicts the process.
 */
export const TRANSITIONS: Readonly<Record<LifecycleAction, Transition>> = {
  create: { from: [], during: 'provisioning', after: 'running', scope: 'create', describe: 'create the database' },
  restart: { from: ['running', 'failed'], during: 'restarting', after: 'running', scope: 'restart', describe: 'restart the database' },
  pause: { from: ['running'], during: 'pausing', after: 'paused', scope: 'pause', describe: 'pause the database' },
  resume: { from: ['paused'], during: 'resuming', after: 'running', scope: 'resume', describe: 'resume the database' },
  terminate: { from: ['running', 'paused', 'failed'], during: 'terminating', after: 'terminated', scope: 'terminate', describe: 'terminate the database' },
  empty: { from: ['running'], during: null, after: null, scope: 'empty', describe: 'delete all data of the database' },
  'change-plan': { from: ['running', 'paused'], during: null, after: null, scope: 'change-plan', describe: 'change the plan' },
};

/** Renaming, settings and users are configuration changes; the privilege scope treats them like a plan change. */
export const CONFIGURE_SCOPE: DeploymentAction = 'change-plan';

/** Throws 409 unless `action` may start from `state`. */
export function checkTransition(state: string, action: LifecycleAction): void {
  const t = TRANSITIONS[action];
  if (!(t.from as readonly string[]).includes(state)) {
    throw conflict(`database is ${state}; ${action} needs a database that is ${t.from.join(' or ')}`);
  }
}

export interface DatabaseDeps {
  db: Kysely<Tables>;
  clock: Clock;
  publicHost: string;
  dbPorts: PortRange;
  regions: readonly Region[];
  /** What versions (engines) can be deployed here (catalogVersions). */
  versions: readonly Version[];
  /** Why Neo4j versions are not offered, when they are not. */
  neo4jMissing?: string;
  /** Where node processes listen; used to skip ports another program already holds. */
  nodeHost: string;
  /** The router's shared TLS port, when on: connection URLs then name it (connection-urls.ts). */
  routerTls?: RouterTlsEndpoint | null;
  /** Wakes the operations engine after an enqueue. */
  wake(): void;
  /**
   * Set by the backups area: whether `fromSnapshotId` can seed a new database for this caller (a ready
   * snapshot of a database the caller may clone). Throws forbidden when its environment is visible but
   * the caller's role or that environment type's scope does not allow cloning from it.
   */
  snapshotUsable?(caller: Caller, snapshotId: string): Promise<boolean>;
  /** Billing settings: with billing on, actions that start charging need credit or a valid payment method (402). */
  billing?: Config['billing'];
}

/** 402 when the action would start charging an organization that can no longer pay (src/domain/billing.ts). */
async function checkBilling(deps: DatabaseDeps, organizationId: string, what: string): Promise<void> {
  if (deps.billing?.enabled) await assertMayStartBilling({ db: deps.db, clock: deps.clock, billing: deps.billing }, organizationId, what);
}

/** DatabaseDeps from the server's configuration (node processes listen on the API's host). */
export function databaseDepsFrom(
  config: Pick<Config, 'publicHost' | 'dbPorts' | 'regions' | 'host' | 'engines' | 'billing' | 'routerTls'>,
  parts: Pick<DatabaseDeps, 'db' | 'clock' | 'wake' | 'snapshotUsable'>,
): DatabaseDeps {
  return {
    ...parts,
    publicHost: config.publicHost,
    dbPorts: config.dbPorts,
    regions: config.regions,
    versions: catalogVersions(config.engines.neo4j?.version ?? null),
    nodeHost: config.host,
    billing: config.billing,
    routerTls: routerTlsEndpoint(config),
  };
}

/** Whether operations run on a database: any at all (pending), one that holds it exclusively (locked). */
export interface DatabaseActivity {
  pending: boolean;
  locked: boolean;
}

/** A database as the API shows it (src/api/views/databases.ts): its row, its nodes (oldest first), what runs on it. */
export interface DatabaseRecord {
  row: DatabasesTable;
  nodes: DatabaseNodesTable[];
  activity: DatabaseActivity;
}

/** A database row the caller may see, with its environment (for authorization). */
export interface VisibleDatabase {
  row: DatabasesTable;
  env: Environment;
}

const EXTRAS_KINDS = ['READ_REPLICA_C'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function checkName(name: unknown): string {
  // Checked before trimming: a name that arrives with a newline is refused, not silently cleaned.
  if (typeof name === 'string') assertPlainText('name', name);
  if (typeof name !== 'string' || !NAME.test(name.trim())) {
    throw invalid('name', 'name must be 1 to 63 characters: letters, digits, _ . - (starting with a letter or digit)');
  }
  return name.trim();
}

async function nameTaken(db: Kysely<Tables> | Transaction<Tables>, environmentId: string, name: string, exceptId?: string): Promise<boolean> {
  let q = db.selectFrom('databases').select('id').where('environment_id', '=', environmentId).where('name', '=', name).where('state', '<>', 'terminated');
  if (exceptId) q = q.where('id', '<>', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** A random password of 32 URL-safe characters (192 bits). */
export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Whether any database that is not terminated lives in the environment (environments refuse deletion then). */
export async function environmentHoldsDatabases(db: Kysely<Tables>, environmentId: string): Promise<boolean> {
  const row = await db.selectFrom('databases').select('id').where('environment_id', '=', environmentId).where('state', '<>', 'terminated').executeTakeFirst();
  return row !== undefined;
}

/** The database if the caller's organization owns it and the caller may do `action` on it; 404 otherwise. */
export async function findDatabase(deps: Pick<DatabaseDeps, 'db'>, caller: Caller, id: string, action: DeploymentAction): Promise<VisibleDatabase> {
  const normalized = normalizeId(id);
  const row = normalized
    ? await deps.db.selectFrom('databases').selectAll().where('id', '=', normalized).where('organization_id', '=', caller.organizationId).executeTakeFirst()
    : undefined;
  if (!row) throw notFound(`database '${id}' does not exist`);
  let env: Environment;
  try {
    env = await getEnvironment(deps.db, caller, row.environment_id);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'not-found') throw notFound(`database '${id}' does not exist`);
    throw err;
  }
  await authorizeDeployment(deps.db, caller, env, action);
  return { row, env };
}

// ---------------------------------------------------------------------------------------------------
// Create

export interface NewDatabase {
  environmentId: string;
  name: string;
  plan: string;
  version?: string;
  edition?: string;
  region?: string;
  enabledExtrasKinds?: string[];
  fromSnapshotId?: string;
}

export interface CreatedDatabase {
  database: DatabaseRecord;
  operationId: string;
  credentials: { username: string; password: string };
}

export async function createDatabase(deps: DatabaseDeps, caller: Caller, input: NewDatabase): Promise<CreatedDatabase> {
  let env: Environment;
  try {
    env = await getEnvironment(deps.db, caller, input.environmentId);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'not-found') {
      throw invalid('environmentId', `environment '${input.environmentId}' does not exist; see GET /deployments/environments`);
    }
    throw err;
  }
  await authorizeDeployment(deps.db, caller, env, 'create');
  const name = checkName(input.name);
  const plan = findPlan(String(input.plan ?? ''));
  if (!plan) throw invalid('plan', `plan '${String(input.plan)}' does not exist; see GET /deployments/plans`);
  const version = input.version === undefined || input.version === '' ? defaultVersion(deps.versions) : findVersion(String(input.version), deps.versions);
  if (!version) {
    const wanted = String(input.version);
    if (!deps.versions.some((v) => v.engine === 'neo4j') && /^5\.26(\.\d+)?$/.test(wanted.trim())) {
      throw invalid('version', `version '${wanted}' runs on Neo4j, which is not installed on this server (run 'allotrope engines install neo4j'; it needs Java 17+ and Maven); version '${GRAFEO_VERSION.id}' runs on the embedded Grafeo engine; see GET /deployments/versions`);
    }
    throw invalid('version', `version '${wanted}' does not exist; see GET /deployments/versions`);
  }
  if (input.edition !== undefined && input.edition !== version.edition) {
    throw invalid('edition', `edition '${input.edition}' is not available for version ${version.number}; it comes as '${version.edition}'`);
  }
  const regionId = input.region ?? env.region;
  const region = findRegion(regionId, deps.regions);
  if (!region) throw invalid('region', `region '${regionId}' does not exist; see GET /deployments/regions`);
  if (region.id !== env.region) throw invalid('region', `region '${region.id}' differs from the environment's region '${env.region}'`);
  const extras = [...new Set(input.enabledExtrasKinds ?? [])];
  for (const kind of extras) {
    if (!EXTRAS_KINDS.includes(kind)) throw invalid('enabledExtrasKinds', `extras kind '${kind}' does not exist; known: ${EXTRAS_KINDS.join(', ')}`);
    if (kind === 'READ_REPLICA_C') {
      if (!plan.features.readReplicas) throw forbidden(`plan '${plan.id}' does not allow read replicas; pick DS3 or above`);
      throw invalid('enabledExtrasKinds', 'read replicas are not available on this installation yet');
    }
  }
  if (input.fromSnapshotId !== undefined && input.fromSnapshotId !== '') {
    // Another environment's snapshot copies that environment's data: the caller must be able to see it
    // (else 404, the same answer as for an unknown id) and to clone from it.
    const snapshotId = normalizeId(input.fromSnapshotId);
    if (!snapshotId || !deps.snapshotUsable || !(await deps.snapshotUsable(caller, snapshotId))) {
      throw notFound(`snapshot '${input.fromSnapshotId}' does not exist`);
    }
  }

  await checkBilling(deps, caller.organizationId, 'create the database');

  const password = newPassword();
  const passwordHash = await hashPassword(password);
  const now = deps.clock.now();
  const id = newId();
  const stationId = newId();
  let operationId = '';
  // Two creates at once on PostgreSQL can pick the same free ports; the loser's insert hits the
  // port_allocations key and it picks again.
  await retryWhenPortTaken(() => deps.db
    .transaction()
    .execute(async (trx) => {
      if (await nameTaken(trx, env.id, name)) throw conflict(`a database named '${name}' already exists in environment '${env.id}'`);
      const ports = await allocatePortPair(trx, id, deps.dbPorts, now, deps.nodeHost);
      await trx
        .insertInto('databases')
        .values({
          id,
          organization_id: caller.organizationId,
          environment_id: env.id,
          name,
          plan: plan.id,
          version_number: version.number,
          engine: version.engine,
          edition: version.edition,
          region: region.id,
          domain_name: deps.publicHost,
          bolt_port: ports.boltPort,
          http_port: ports.httpPort,
          state: TRANSITIONS.create.during!,
          needs_restart: 0,
          under_incident: 0,
          health_status: null,
          health_checked_at: null,
          enabled_extras: JSON.stringify(extras),
          auto_pause_enabled: 0,
          auto_pause_idle_minutes: 60,
          auto_resume: 0,
          created_at: now.toISOString(),
          terminated_at: null,
        })
        .execute();
      await trx
        .insertInto('database_nodes')
        .values({ station_id: stationId, database_id: id, organization_id: caller.organizationId, node_type: 'primary', created_at: now.toISOString() })
        .execute();
      await trx
        .insertInto('database_users')
        .values({
          id: newId(),
          database_id: id,
          organization_id: caller.organizationId,
          username: 'neo4j',
          description: 'initial user',
          password_hash: passwordHash,
          read_only: 0,
          expire_at: null,
          created_at: now.toISOString(),
        })
        .execute();
      operationId = await enqueueOperation(
        trx,
        {
          organizationId: caller.organizationId,
          databaseId: id,
          operationType: 'create',
          description: `Create database ${name} (${plan.name})`,
          params: input.fromSnapshotId ? { fromSnapshotId: normalizeId(input.fromSnapshotId) } : {},
        },
        now,
      );
    })
    .catch((err: unknown) => {
      // A concurrent create of the same name (another instance) lost at the unique index.
      if (/databases_live_name|databases\.environment_id, databases\.name/.test(String((err as Error)?.message)) && /unique/i.test(String((err as Error)?.message))) {
        throw conflict(`a database named '${name}' already exists in environment '${env.id}'`);
      }
      throw err;
    }));
  deps.wake();
  const database = await databaseRecord(deps.db, await deps.db.selectFrom('databases').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  return { database, operationId, credentials: { username: 'neo4j', password } };
}

// ---------------------------------------------------------------------------------------------------
// Read

const activityOf = (running: { exclusive: number }[]): DatabaseActivity => ({ pending: running.length > 0, locked: running.some((o) => o.exclusive === 1) });

/** The records of `rows`, in their order: two queries however many rows. */
async function databaseRecords(db: Kysely<Tables>, rows: DatabasesTable[]): Promise<DatabaseRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const nodes = await db.selectFrom('database_nodes').selectAll().where('database_id', 'in', ids).orderBy('created_at').execute();
  const ops = await db.selectFrom('operations').select(['database_id', 'exclusive']).where('database_id', 'in', ids).where('status', '=', 'started').execute();
  return rows.map((row) => ({ row, nodes: nodes.filter((n) => n.database_id === row.id), activity: activityOf(ops.filter((o) => o.database_id === row.id)) }));
}

async function databaseRecord(db: Kysely<Tables>, row: DatabasesTable): Promise<DatabaseRecord> {
  return (await databaseRecords(db, [row]))[0]!;
}

async function databaseActivity(db: Kysely<Tables>, databaseId: string): Promise<DatabaseActivity> {
  return activityOf(await db.selectFrom('operations').select(['exclusive']).where('database_id', '=', databaseId).where('status', '=', 'started').execute());
}

export interface DatabaseFilter {
  environmentId?: string;
  state?: string;
  limit: number;
  after?: string;
}

/** Databases the caller may see, ordered by id; returns up to `limit + 1` so the caller can tell if more remain. */
export async function listDatabases(deps: Pick<DatabaseDeps, 'db'>, caller: Caller, filter: DatabaseFilter): Promise<DatabaseRecord[]> {
  if (caller.role === 'billing') throw forbidden(`role 'billing' may not use deployments`);
  if (filter.state !== undefined && !(DATABASE_STATES as readonly string[]).includes(filter.state)) {
    throw invalid('state', `state '${filter.state}' is not one of ${DATABASE_STATES.join(', ')}`);
  }
  let query = deps.db.selectFrom('databases').selectAll().where('organization_id', '=', caller.organizationId);
  if (caller.role !== 'owner' && caller.role !== 'admin') {
    if (caller.environmentIds.length === 0) return [];
    query = query.where('environment_id', 'in', caller.environmentIds);
  }
  if (filter.environmentId !== undefined) query = query.where('environment_id', '=', normalizeId(filter.environmentId) ?? filter.environmentId);
  query = filter.state !== undefined ? query.where('state', '=', filter.state) : query.where('state', '<>', 'terminated');
  if (filter.after) query = query.where('id', '>', normalizeId(filter.after) ?? filter.after);
  return databaseRecords(deps.db, await query.orderBy('id').limit(filter.limit + 1).execute());
}

export async function getDatabase(deps: Pick<DatabaseDeps, 'db'>, caller: Caller, id: string): Promise<DatabaseRecord> {
  const { row } = await findDatabase(deps, caller, id, 'read');
  return databaseRecord(deps.db, row);
}

/** The row and what runs on it: all a database's status is made of. */
export async function getDatabaseStatus(deps: Pick<DatabaseDeps, 'db'>, caller: Caller, id: string): Promise<Pick<DatabaseRecord, 'row' | 'activity'>> {
  const { row } = await findDatabase(deps, caller, id, 'read');
  return { row, activity: await databaseActivity(deps.db, row.id) };
}

// ---------------------------------------------------------------------------------------------------
// Actions

async function startAction(
  deps: DatabaseDeps,
  caller: Caller,
  id: string,
  action: Exclude<LifecycleAction, 'create'>,
  params: Record<string, unknown>,
  description: (row: DatabasesTable) => string,
  validate?: (row: DatabasesTable, trx: Transaction<Tables>) => Promise<void>,
): Promise<string> {
  const { row } = await findDatabase(deps, caller, id, TRANSITIONS[action].scope);
  return enqueueAction(deps, row, action, params, description, validate);
}

/** The checks and the state change of an action on `row`, and its operation, in one transaction. */
async function enqueueAction(
  deps: DatabaseDeps,
  row: Pick<DatabasesTable, 'id' | 'organization_id'>,
  action: Exclude<LifecycleAction, 'create'>,
  params: Record<string, unknown>,
  description: (row: DatabasesTable) => string,
  validate?: (row: DatabasesTable, trx: Transaction<Tables>) => Promise<void>,
): Promise<string> {
  const t = TRANSITIONS[action];
  const now = deps.clock.now();
  const operationId = await deps.db
    .transaction()
    .execute(async (trx) => {
      const current = await trx.selectFrom('databases').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      // "In progress" first: while an operation holds the database its transient state says little.
      const active = await activeOperationId(trx, row.id);
      if (active) throw conflict(`operation ${active} is in progress`);
      checkTransition(current.state, action);
      await validate?.(current, trx);
      if (t.during) await trx.updateTable('databases').set({ state: t.during }).where('id', '=', row.id).execute();
      return enqueueOperation(trx, { organizationId: row.organization_id, databaseId: row.id, operationType: action, description: description(current), params }, now);
    })
    .catch(async (err: unknown) => {
      // Another control plane enqueued between our check and our insert: the store's index said no.
      if (!isExclusiveViolation(err)) throw err;
      throw conflict(`operation ${(await activeOperationId(deps.db, row.id)) ?? '(another)'} is in progress`);
    });
  deps.wake();
  return operationId;
}

export async function restartDatabase(
  deps: DatabaseDeps,
  caller: Caller,
  id: string,
  input: { reset?: boolean; stationIds?: string[] },
): Promise<{ operationId: string; stationIds: string[]; reset: boolean }> {
  const { row } = await findDatabase(deps, caller, id, 'restart');
  const nodes = await deps.db.selectFrom('database_nodes').select('station_id').where('database_id', '=', row.id).orderBy('created_at').execute();
  const all = nodes.map((n) => n.station_id);
  const wanted = (input.stationIds ?? []).map((s) => normalizeId(s) ?? s);
  for (const s of wanted) if (!all.includes(s)) throw invalid('stationIds', `station '${s}' is not a node of database '${row.id}'`);
  const stationIds = wanted.length === 0 ? all : [...new Set(wanted)];
  const reset = input.reset === true;
  const operationId = await startAction(deps, caller, row.id, 'restart', { stationIds, reset }, (r) => `${reset ? 'Reset' : 'Restart'} database ${r.name}`);
  return { operationId, stationIds, reset };
}

export async function pauseDatabase(deps: DatabaseDeps, caller: Caller, id: string): Promise<string> {
  return startAction(deps, caller, id, 'pause', {}, (r) => `Pause database ${r.name}`);
}

/**
 * Auto-pause (no caller: the control plane's own decision): a pause operation for database `id` if it
 * still runs, still has auto-pause on and nothing else is in progress. Null when any of that changed.
 */
export async function autoPauseDatabase(deps: DatabaseDeps, id: string, idleMinutes: number): Promise<string | null> {
  return systemAction(deps, id, 'pause', (r) => `Auto-pause database ${r.name}: no queries for ${idleMinutes} minutes`, (r) => r.auto_pause_enabled === 1);
}

/**
 * Auto-resume (the control plane's own decision, no caller): a resume operation for database `id` when a
 * client knocked on its parked ports, if it is still paused with auto-resume on and nothing else is in
 * progress. Null when any of that changed (another knock already started the resume, say).
 */
export async function autoResumeDatabase(deps: DatabaseDeps, id: string): Promise<string | null> {
  // A knock does not start charging an organization that can no longer pay; it stays paused (no caller to tell).
  const owner = await deps.db.selectFrom('databases').select('organization_id').where('id', '=', id).executeTakeFirst();
  if (!owner) return null;
  try {
    await checkBilling(deps, owner.organization_id, 'resume the database');
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'payment-required') return null;
    throw err;
  }
  return systemAction(deps, id, 'resume', (r) => `Auto-resume database ${r.name}: a client connected`, (r) => r.auto_resume === 1);
}

/**
 * An action the control plane starts on its own (params `{auto: true}`), while `stillWanted` holds for the
 * database inside the enqueueing transaction. Null instead of a 409 when the state, an operation in
 * progress or the setting says no.
 */
async function systemAction(
  deps: DatabaseDeps,
  id: string,
  action: 'pause' | 'resume',
  description: (row: DatabasesTable) => string,
  stillWanted: (row: DatabasesTable) => boolean,
): Promise<string | null> {
  const row = await deps.db.selectFrom('databases').select(['id', 'organization_id']).where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  try {
    return await enqueueAction(deps, row, action, { auto: true }, description, async (current) => {
      if (!stillWanted(current)) throw conflict(`auto-${action} was switched off`);
    });
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'conflict') return null;
    throw err;
  }
}

export async function resumeDatabase(deps: DatabaseDeps, caller: Caller, id: string): Promise<string> {
  const { row } = await findDatabase(deps, caller, id, TRANSITIONS.resume.scope);
  await checkBilling(deps, row.organization_id, 'resume the database');
  return enqueueAction(deps, row, 'resume', {}, (r) => `Resume database ${r.name}`);
}

export async function terminateDatabase(deps: DatabaseDeps, caller: Caller, id: string): Promise<string> {
  return startAction(deps, caller, id, 'terminate', {}, (r) => `Terminate database ${r.name}`);
}

export async function emptyDatabase(deps: DatabaseDeps, caller: Caller, id: string): Promise<string> {
  return startAction(deps, caller, id, 'empty', {}, (r) => `Delete all data of database ${r.name}`);
}

export async function changePlan(deps: DatabaseDeps, caller: Caller, id: string, targetPlanName: unknown): Promise<string> {
  const plan = typeof targetPlanName === 'string' ? findPlan(targetPlanName) : undefined;
  if (!plan) throw invalid('targetPlanName', `plan '${String(targetPlanName ?? '')}' does not exist; see GET /deployments/plans`);
  const { row: current } = await findDatabase(deps, caller, id, TRANSITIONS['change-plan'].scope);
  if (plan.priceMinorPerHour > (findPlan(current.plan)?.priceMinorPerHour ?? 0)) await checkBilling(deps, current.organization_id, `move the database to the dearer plan '${plan.id}'`);
  return enqueueAction(
    deps,
    current,
    'change-plan',
    { targetPlan: plan.id },
    (r) => `Change plan of database ${r.name} from ${r.plan.toUpperCase()} to ${plan.name}`,
    async (row) => {
      if (row.plan === plan.id) throw conflict(`database is already on plan '${plan.id}'`);
    },
  );
}

export interface DatabasePatch {
  name?: string;
  autoPause?: { enabled?: boolean; idleMinutes?: number };
  autoResume?: boolean;
}

export async function patchDatabase(deps: DatabaseDeps, caller: Caller, id: string, patch: DatabasePatch): Promise<DatabaseRecord> {
  const { row } = await findDatabase(deps, caller, id, CONFIGURE_SCOPE);
  if (row.state === 'terminated' || row.state === 'terminating') throw conflict(`database is ${row.state}; it cannot be changed`);
  const changes: Partial<DatabasesTable> = {};
  if (patch.name !== undefined) changes.name = checkName(patch.name);
  if (patch.autoPause !== undefined) {
    if (patch.autoPause.enabled !== undefined) changes.auto_pause_enabled = patch.autoPause.enabled ? 1 : 0;
    if (patch.autoPause.idleMinutes !== undefined) {
      const minutes = patch.autoPause.idleMinutes;
      if (!Number.isInteger(minutes) || minutes < 5 || minutes > 10_080) throw invalid('autoPause.idleMinutes', 'autoPause.idleMinutes must be a whole number from 5 to 10080');
      changes.auto_pause_idle_minutes = minutes;
    }
  }
  if (patch.autoResume !== undefined) changes.auto_resume = patch.autoResume ? 1 : 0;
  await deps.db.transaction().execute(async (trx) => {
    if (changes.name !== undefined && changes.name !== row.name && (await nameTaken(trx, row.environment_id, changes.name, row.id))) {
      throw conflict(`a database named '${changes.name}' already exists in environment '${row.environment_id}'`);
    }
    if (Object.keys(changes).length > 0) await trx.updateTable('databases').set(changes).where('id', '=', row.id).execute();
  });
  return databaseRecord(deps.db, await deps.db.selectFrom('databases').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow());
}
