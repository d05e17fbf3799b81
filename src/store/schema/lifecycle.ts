// Tables of the database lifecycle: databases, their nodes, users, settings, port allocations, and the
// durable operations (with their steps) that change them. Timestamps ISO-8601 UTC text, booleans 0/1.

export interface DatabasesTable {
  id: string;
  organization_id: string;
  environment_id: string;
  name: string;
  plan: string;
  version_number: string;
  /** grafeo | neo4j: what runs the database, chosen by its version at create time. */
  engine: string;
  edition: string;
  region: string;
  domain_name: string;
  bolt_port: number;
  http_port: number;
  /** provisioning | running | restarting | pausing | paused | resuming | importing | restoring | terminating | terminated | failed */
  state: string;
  /** A settings change waits for the next restart. */
  needs_restart: number;
  /** The runtime reported the process dead or unhealthy and not yet back. */
  under_incident: number;
  /** healthy | unhealthy | stopped, or null before the first check. */
  health_status: string | null;
  health_checked_at: string | null;
  /** JSON array of extras kinds. */
  enabled_extras: string;
  auto_pause_enabled: number;
  auto_pause_idle_minutes: number;
  auto_resume: number;
  created_at: string;
  terminated_at: string | null;
}

export interface DatabaseNodesTable {
  station_id: string;
  database_id: string;
  organization_id: string;
  /** primary | read-replica */
  node_type: string;
  created_at: string;
  /** Where the node listens now (loopback; the router forwards there); null while it does not run. */
  internal_bolt_port: number | null;
  internal_http_port: number | null;
}

/** What the router sees of a database's clients (written by the router, throttled; read by auto-pause). */
export interface DatabaseActivityTable {
  database_id: string;
  open_connections: number;
  /** Last byte in either direction, or the last connection's close. */
  last_activity_at: string;
  updated_at: string;
}

export interface DatabaseUsersTable {
  id: string;
  database_id: string;
  organization_id: string;
  username: string;
  description: string | null;
  password_hash: string;
  read_only: number;
  /** ISO date, or null for "never". */
  expire_at: string | null;
  created_at: string;
}

export interface DatabaseSettingsTable {
  database_id: string;
  organization_id: string;
  key: string;
  value: string;
  secret: number;
  updated_at: string;
}

/** One row per public port in use; the primary key is what makes two databases never share one. */
export interface PortAllocationsTable {
  port: number;
  database_id: string;
  /** bolt | http */
  kind: string;
  allocated_at: string;
}

export interface OperationsTable {
  id: string;
  organization_id: string;
  database_id: string;
  operation_type: string;
  description: string;
  /** started | finished | failed */
  status: string;
  /** 1 while it holds the database exclusively (a partial unique index allows one such started row). */
  exclusive: number;
  /** JSON parameters of the operation kind. */
  params: string;
  /** Index of the step to run next (or re-run after a crash). */
  current_step: number;
  /** How many times a worker claimed it; bounded so a step that kills the server cannot loop forever. */
  attempts: number;
  locked_by: string | null;
  lease_expires_at: string | null;
  started_at: string;
  finished_at: string | null;
  next_operation_id: string | null;
  error: string | null;
}

export interface OperationStepsTable {
  operation_id: string;
  position: number;
  name: string;
  /** started | finished | failed */
  status: string;
  started_at: string;
  finished_at: string | null;
  message: string | null;
}

export interface LifecycleTables {
  databases: DatabasesTable;
  database_nodes: DatabaseNodesTable;
  database_activity: DatabaseActivityTable;
  database_users: DatabaseUsersTable;
  database_settings: DatabaseSettingsTable;
  port_allocations: PortAllocationsTable;
  operations: OperationsTable;
  operation_steps: OperationStepsTable;
}
