// The database answers of api.md §5 filled in from what the domain returns (rows, records): the database
// and its status, operations and their steps, database users. Each function's type is the Static<> of its
// schema in ../schemas/databases.ts, so the compiler holds the two together.
import type { Clock } from '../../clock.js';
import { connectionUrls, type RouterTlsEndpoint } from '../../domain/connection-urls.js';
import type { DatabaseActivity, DatabaseRecord } from '../../domain/databases.js';
import type { OperationRecord } from '../../operations/records.js';
import type { DatabasesTable, DatabaseUsersTable } from '../../store/schema/lifecycle.js';
import { httpDate, httpDateOrNull } from '../dates.js';
import type { Database, DatabaseUser, Operation, Status } from '../schemas/databases.js';
import { VENDOR } from '../schemas/databases.js';

/** What shaping a database needs besides its record: the time (health check age) and where clients connect. */
export interface DatabaseViewContext {
  clock: Clock;
  /** The router's shared TLS port, when on (connection URLs then name it). */
  routerTls?: RouterTlsEndpoint | null;
}

export function statusView(clock: Clock, row: DatabasesTable, activity: DatabaseActivity): Status {
  const checkedAt = row.health_checked_at ? Date.parse(row.health_checked_at) : null;
  return {
    state: row.state,
    needsRestart: row.needs_restart === 1,
    isPending: activity.pending,
    isLocked: activity.locked,
    underIncident: row.under_incident === 1,
    lastHealthCheckStatus: {
      lastCheckSecondsAgo: checkedAt === null ? null : Math.max(0, Math.floor((clock.now().getTime() - checkedAt) / 1000)),
      status: row.health_status ?? 'unknown',
    },
  };
}

export function databaseView(ctx: DatabaseViewContext, { row, nodes, activity }: DatabaseRecord): Database {
  const host = row.domain_name;
  return {
    id: row.id,
    organizationId: row.organization_id,
    environmentId: row.environment_id,
    name: row.name,
    plan: row.plan,
    version: { number: row.version_number, edition: row.edition, vendor: VENDOR, engine: row.engine },
    region: row.region,
    domainName: host,
    privateDomainName: host,
    boltPort: row.bolt_port,
    httpPort: row.http_port,
    connectionUrls: connectionUrls(row, ctx.routerTls ?? null),
    createdAt: httpDate(new Date(row.created_at)),
    status: statusView(ctx.clock, row, activity),
    enabledExtrasKinds: JSON.parse(row.enabled_extras) as string[],
    nodes: nodes.map((n) => ({ stationId: n.station_id, nodeType: n.node_type, state: row.state })),
    autoPause: { enabled: row.auto_pause_enabled === 1, idleMinutes: row.auto_pause_idle_minutes },
    autoResume: row.auto_resume === 1,
  };
}

/** A created or cloned database: the database, its operation and the initial credentials (shown once). */
export function createdView<T extends { database: DatabaseRecord }>(ctx: DatabaseViewContext, created: T): Omit<T, 'database'> & { database: Database } {
  return { ...created, database: databaseView(ctx, created.database) };
}

// Operation times are strings of UNIX epoch seconds (api.md §5).
const epochSeconds = (iso: string): string => String(Math.floor(Date.parse(iso) / 1000));

export function operationView(clock: Clock, { row, steps }: OperationRecord): Operation {
  const end = row.finished_at ? Date.parse(row.finished_at) : clock.now().getTime();
  const view: Operation = {
    id: row.id,
    databaseId: row.database_id,
    operationType: row.operation_type,
    description: row.description,
    status: row.status,
    startedAt: epochSeconds(row.started_at),
    durationInSeconds: Math.max(0, Math.round((end - Date.parse(row.started_at)) / 1000)),
    nextOperationId: row.next_operation_id,
    steps: steps.map((s) => ({
      name: s.name,
      status: s.status,
      startedAt: epochSeconds(s.started_at),
      finishedAt: s.finished_at ? epochSeconds(s.finished_at) : null,
      ...(s.message ? { message: s.message } : {}),
    })),
  };
  if (row.finished_at) view.finishedAt = epochSeconds(row.finished_at);
  if (row.error) view.error = row.error;
  return view;
}

/** Never the password hash: passwords are shown once, when made (createDatabaseUser, reset). */
export function databaseUserView(row: DatabaseUsersTable): DatabaseUser {
  return {
    id: row.id,
    username: row.username,
    description: row.description,
    expireAt: httpDateOrNull(row.expire_at ? new Date(row.expire_at) : null),
    readOnly: row.read_only === 1,
    createdAt: httpDate(new Date(row.created_at)),
  };
}
