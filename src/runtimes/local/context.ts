// What the parts of the local runtime share, and nothing else: the options a caller may pass, the
// per-node state (NodeState, NodeProcess) and the context object (`RuntimeContext`) that the façade
// (local-runtime.ts) builds once and hands to each part: resolved settings, the node table, the per-node
// lock and the event emitter. No part keeps state of its own outside it (health.ts keeps only its timer).
import type { ChildProcess } from 'node:child_process';
import type { NodeHealth, NodePorts, NodeSpec, RuntimeEvent } from '../runtime.js';
import type { AdminChannel } from './admin-channel.js';
import type { BackoffPolicy } from './backoff.js';
import type { CommandFactory, EngineInstalls } from './command.js';
import type { NodePaths } from './node-files.js';
import type { NodeUserSetting } from './node-user.js';
import type { ProcessIdentity } from './process-identity.js';

/** pino-compatible subset; the runtime logs lifecycle events, never user data or secrets. */
export interface RuntimeLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface LocalRuntimeOptions {
  /** Directory the runtime owns; nodes live under `<rootDir>/nodes/<stationId>/`. */
  rootDir: string;
  /** What to run for a node; default the `allotrope graph-server` command from its own light entry. */
  command?: CommandFactory;
  /** Environment of node processes (default: a few harmless variables of this process, see nodeEnvironment). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. */
  stopGraceMs?: number;
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  /** How often an adopted process (not our child) is checked for being alive. */
  adoptedPollMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Cap of each node's log file; the previous content is kept once as `.1`. */
  logMaxBytes?: number;
  logger?: RuntimeLogger;
  /** Nodes started at once by `reconcile` (default 4). */
  reconcileConcurrency?: number;
  /** Admin-channel client (health, counts, backup); default: the graph-server's own. */
  admin?: AdminChannel;
  /**
   * Which OS user nodes run as (node-user.ts). Default `auto` (a user of its own per node when running as
   * root) with the default command; `same` with a custom `command`, whose needs the runtime cannot know.
   */
  nodeUser?: NodeUserSetting;
  /** Engines installed on this machine (Neo4j nodes need it). */
  engines?: EngineInstalls;
  /** Query-check budget of nodes without their own `db.query_check.budget` (Config.runtime.queryCheckBudgetMs). */
  queryCheckBudgetMs?: number | null;
}

export interface StartReport {
  stationId: string;
  pid: number;
  /** Spawn to the ready line, ms; 0 when the node was already running or adopted. */
  readyMs: number;
  adopted: boolean;
}

/** One live process of a node: our child, or one adopted from a previous control plane. */
export interface NodeProcess {
  identity: ProcessIdentity;
  /** Where the process listens (from its ready line; a spec port 0 means the process picked one). */
  ports?: NodePorts;
  commandHash: string;
  child?: ChildProcess;
  startedAtMs: number;
  /** Set before we signal it, so its exit is not taken for a crash. */
  stopping: boolean;
  exited: Promise<string>;
  /** Stops the liveness polling of an adopted process. */
  dispose(): void;
}

export interface NodeState {
  stationId: string;
  paths: NodePaths;
  spec?: NodeSpec;
  /** The node should run: crashes are restarted while this holds. */
  wanted: boolean;
  proc?: NodeProcess;
  restartTimer?: NodeJS.Timeout;
  failures: number;
  health?: NodeHealth['status'];
  /** Why a node that should run does not (crashed and waiting to restart, or given up). */
  incident?: string;
  lastStart?: StartReport;
}

/** The runtime's settings with their defaults applied, its node table and shared functions. */
export interface RuntimeContext {
  /** Absolute: nodes run with their own directory as cwd, and their argv names the data dir exactly. */
  readonly rootDir: string;
  readonly command: CommandFactory;
  /** Environment of node processes as given (undefined: nodeEnvironment()). */
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly engines: EngineInstalls | undefined;
  readonly queryCheckBudgetMs: number | null | undefined;
  readonly readyTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly healthTimeoutMs: number;
  readonly adoptedPollMs: number;
  readonly backoff: BackoffPolicy;
  readonly logMaxBytes: number;
  readonly reconcileConcurrency: number;
  readonly log: RuntimeLogger;
  readonly admin: AdminChannel;
  /** Every node this runtime knows, by station id. */
  readonly nodes: Map<string, NodeState>;
  /** The node's state, created (not running, not wanted) on first use. */
  stateOf(stationId: string): NodeState;
  /** Serialises every action on one node: start/stop/restart and the supervisor never interleave. */
  withLock<T>(stationId: string, action: () => Promise<T>): Promise<T>;
  emit(event: RuntimeEvent): void;
  /** True once `close()` began: nothing is restarted or probed after that. */
  isClosed(): boolean;
}

/** Runs `action` on every item, at most `concurrency` at a time. */
export async function inBatches<T>(items: T[], concurrency: number, action: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await action(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
