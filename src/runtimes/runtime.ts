// The seam between the control plane (operations engine) and whatever runs database nodes.
// A runtime knows nodes by `stationId` only; it never sees HTTP, the store or the API's shapes.
// Local processes today; Docker and Kubernetes runtimes implement the same interface later.

/** Everything a runtime needs to run one database node. */
export interface NodeSpec {
  databaseId: string;
  /** Unique per node across the whole installation; names its files and its process. */
  stationId: string;
  /** The node's own listening ports; 0 (what the control plane asks for) lets the node pick free ones. */
  boltPort: number;
  httpPort: number;
  /** Listen address: loopback, behind the router (src/router/), which owns the public ports. */
  host: string;
  /** Host name clients are told to use (routing tables, discovery): the database's `domainName`. */
  advertisedHost?: string;
  /** The whole node refuses writes (e.g. a read replica or a plan without writes). */
  readOnly?: boolean;
  /** Memory bound for the node, in MiB (the plan's memory). */
  memoryMb?: number;
  /** `settings/config` keys, already validated against the runtime's settings catalogue. */
  settings?: Record<string, string>;
  /** What runs the database: the embedded Grafeo engine (default) or Neo4j Community. */
  engine?: 'grafeo' | 'neo4j';
}

/** Where a running node listens (its internal ports; clients reach it through the router). */
export interface NodePorts {
  boltPort: number;
  httpPort: number;
}

export interface DatabaseUserEntry {
  username: string;
  /** A hash the graph-server can verify (never a plain password). */
  passwordHash: string;
  readOnly: boolean;
}

/**
 * Who may connect to a node: its users, and the client address ranges allowed (empty = every address). The
 * control plane passes none: network rules are checked at the edge (src/router/), not in nodes.
 */
export interface NodeAccess {
  users: DatabaseUserEntry[];
  /** CIDR ranges: the network rules of the database's environment. */
  allow: string[];
}

export type HealthStatus = 'healthy' | 'unhealthy' | 'stopped';

export interface NodeHealth {
  status: HealthStatus;
  checkedAt: Date;
  detail?: string;
  /** What the node has been doing, where the runtime can tell (drives auto-pause); absent = unknown. */
  activity?: NodeActivity;
}

/**
 * A running node's work counters. A change of `transactionsBegun` (or of `pid`: a new process counts from
 * zero) between two checks means queries ran; open transactions mean it is busy right now.
 */
export interface NodeActivity {
  pid: number;
  transactionsBegun: number;
  openTransactions: number;
}

export interface NodeCounts {
  nodes: number;
  relationships: number;
}

/**
 * What the runtime tells the control plane without being asked:
 * `exited` — the node died unexpectedly (show `underIncident`); `restarted` — it was brought back and is ready;
 * `unhealthy`/`healthy` — the health check changed its verdict; `gave-up` — restarts kept failing and the
 * runtime stopped trying (the database needs an operator or a restart operation).
 */
export interface RuntimeEvent {
  stationId: string;
  type: 'exited' | 'restarted' | 'healthy' | 'unhealthy' | 'gave-up';
  detail?: string;
}

export interface RestartOptions {
  /** Hard restart: kill the process at once instead of a graceful stop. Data is kept either way. */
  reset?: boolean;
}

export interface CloseOptions {
  /** Leave running nodes running (a planned control-plane restart that will adopt them again). */
  leaveRunning?: boolean;
}

/** What `reconcile` did, by station id. A node that failed to start is not retried by the runtime. */
export interface ReconcileReport {
  started: string[];
  adopted: string[];
  stopped: string[];
  failed: { stationId: string; error: string }[];
}

/** A `settings/config` key a runtime supports. Every key takes effect at the node's next (re)start. */
export interface RuntimeSetting {
  key: string;
  description: string;
  /** Masked when read back through the API. */
  secret: boolean;
  /** An error message for the user, or undefined when the value is valid. */
  validate(value: string): string | undefined;
}

export interface Runtime {
  readonly name: string;
  /** The settings keys this runtime honours (the API refuses others, listing these). */
  readonly settings: readonly RuntimeSetting[];
  /** Create the node's directories and files. Idempotent. */
  provision(spec: NodeSpec): Promise<void>;
  /** Start the node and resolve once it accepts connections. Already running with this spec: no-op. */
  start(spec: NodeSpec): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after a grace period). Already stopped: no-op. */
  stop(stationId: string): Promise<void>;
  restart(spec: NodeSpec, options?: RestartOptions): Promise<void>;
  /** Stop the node and remove every file it has. Unknown node: no-op. */
  destroy(stationId: string): Promise<void>;
  health(stationId: string): Promise<NodeHealth>;
  /** Where the node listens while it runs (null: not running, or unknown). */
  endpoint(stationId: string): Promise<NodePorts | null>;
  /** Replace the node's users and network allowlist atomically; a running node picks them up without a restart. */
  writeUsers(stationId: string, access: NodeAccess): Promise<void>;
  /** Delete all data but keep the node (it runs again afterwards if it was running). */
  empty(stationId: string): Promise<void>;
  /**
   * Full backup of a node into `targetDir` (created if missing): online while it runs, from its files while
   * it is stopped (a paused database). Either way the source keeps its data and state.
   */
  backup(stationId: string, targetDir: string): Promise<void>;
  /**
   * Replace a stopped node's data with the backup files in `sourceDir`, atomically. With `keepReplaced`
   * the data it replaces is kept aside (not served, not deleted) until `restoreReplacedFiles` puts it
   * back or `discardReplacedFiles` deletes it; data already kept aside by an earlier call is left as it is.
   */
  restoreFiles(stationId: string, sourceDir: string, options?: { keepReplaced?: boolean }): Promise<void>;
  /**
   * Put the data kept aside by `restoreFiles` back in place of the node's data, stopping the node first
   * (it is not started again); false, and the node untouched, when none was kept.
   */
  restoreReplacedFiles(stationId: string): Promise<boolean>;
  /** Delete the data kept aside by `restoreFiles` (none kept: no-op). */
  discardReplacedFiles(stationId: string): Promise<void>;
  counts(stationId: string): Promise<NodeCounts>;
  /**
   * Bring reality in line with `desired` after a control-plane start: nodes listed there run (adopted or
   * started), every other node this runtime finds is stopped.
   */
  reconcile(desired: NodeSpec[]): Promise<ReconcileReport>;
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (event: RuntimeEvent) => void): () => void;
  /** Stop supervising. Stops every node unless `leaveRunning`. */
  close(options?: CloseOptions): Promise<void>;
}

/** Kinds mirror the domain's error catalogue so the operations engine can map them without guessing. */
export type RuntimeErrorKind = 'NotFound' | 'Conflict' | 'Invalid' | 'Unavailable' | 'Failed';

export class RuntimeError extends Error {
  readonly kind: RuntimeErrorKind;
  constructor(kind: RuntimeErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.kind = kind;
  }
}

/** Station ids name directories, so only a safe alphabet is accepted. */
export function assertStationId(stationId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(stationId)) {
    throw new RuntimeError('Invalid', `station id '${stationId}' is not valid (letters, digits, '-' and '_', at most 128)`);
  }
}
