// The local runtime: one supervised `allotrope graph-server` child process per database node.
//
// Crash safety. Nodes are spawned detached (own process group) with their output going straight into a
// log file, so they outlive a control plane killed with SIGKILL and keep serving. Each node has a pid
// file holding pid + kernel start time + argv + a hash of its command. On `reconcile()` after a restart:
//   - a recorded process that is still the same process (pid AND start time match, so a reused pid is
//     never mistaken for ours) and runs exactly the command we would run now is ADOPTED: supervised by
//     polling /proc, signalled by pid. Adoption means a control-plane restart costs the database no
//     downtime and no dropped Bolt connections; the only loss is the exit code of an adopted process.
//   - a recorded process whose command differs (ports or settings changed meanwhile) is stopped and
//     started again, because it would not honour the desired spec;
//   - every recorded process of a node that is not desired is stopped;
//   - a process whose argv names a node's data dir but that no pid file records (a control plane
//     killed between spawn and pid file) is found by scanning /proc and stopped, so none is orphaned.
// A node that dies on its own is restarted with exponential back-off (`exited`, then `restarted`; after
// too many failures `gave-up`). A failed start() or reconcile() start is reported, never retried
// behind the caller. `close()` stops every node by default, so a clean shutdown leaves nothing running.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, copyFile, cp, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  RuntimeError,
  assertStationId,
  type CloseOptions,
  type NodeAccess,
  type NodeActivity,
  type NodeCounts,
  type NodeHealth,
  type NodePorts,
  type NodeSpec,
  type ReconcileReport,
  type RestartOptions,
  type Runtime,
  type RuntimeEvent,
} from '../runtime.js';
import { graphServerAdminChannel, type AdminChannel } from './admin-channel.js';
import { DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from './backoff.js';
import { buildLaunch, directGraphServerCommand, graphServerFiles, type CommandFactory, type EngineInstalls } from './command.js';
import { chownTree, effectiveNodeUser, nodeOwner, type NodeUserSetting } from './node-user.js';
import {
  listStationIds,
  nodePaths,
  readPidRecord,
  removePidRecord,
  writePidRecord,
  writeUsersFile,
  type NodePaths,
  type PidRecord,
} from './node-files.js';
import { LogTail, capChildLog, openChildLog } from './node-log.js';
import { DATABASE_ID_FILE } from '../../graph-server/database-id.js';
import { ensureSharedQueryCheckService, SHARED_QUERY_CHECK_IDLE_MS } from '../../graph-server/query-check/service-client.js';
import { backupStoppedDatabase } from '../../graph-server/engines/grafeo/database-files.js';
import { LOCAL_RUNTIME_SETTINGS } from './settings.js';
import { findProcessesWithArg, isSameProcess, readProcessIdentity, type ProcessIdentity } from './process-identity.js';

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

export interface LocalRuntime extends Runtime {
  readonly name: 'local';
  /** What the last start of a node did (for logs and tests). */
  lastStart(stationId: string): StartReport | undefined;
  /** pid of a node's process, if it runs. */
  pidOf(stationId: string): Promise<number | undefined>;
  paths(stationId: string): NodePaths;
}

/** One live process of a node: our child, or one adopted from a previous control plane. */
interface NodeProcess {
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

interface NodeState {
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

const noopLogger: RuntimeLogger = { info() {}, warn() {}, error() {} };

/** The activity counters of a graph-server's health reply, when it has them (older servers do not). */
function activityOf(reply: unknown): NodeActivity | undefined {
  const r = reply as Partial<Record<'pid' | 'transactionsBegun' | 'openTransactions', unknown>> | null;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!r || !count(r.pid) || !count(r.transactionsBegun) || !count(r.openTransactions)) return undefined;
  return { pid: r.pid, transactionsBegun: r.transactionsBegun, openTransactions: r.openTransactions };
}
export function createLocalRuntime(options: LocalRuntimeOptions): LocalRuntime {
  // Absolute: nodes run with their own directory as cwd, and their argv names the data dir exactly.
  const rootDir = path.resolve(options.rootDir);
  const command = options.command ?? directGraphServerCommand;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const healthIntervalMs = options.healthIntervalMs ?? 5_000;
  const healthTimeoutMs = options.healthTimeoutMs ?? 2_000;
  const adoptedPollMs = options.adoptedPollMs ?? 500;
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const logMaxBytes = options.logMaxBytes ?? 10 * 1024 * 1024;
  const log = options.logger ?? noopLogger;
  const admin = options.admin ?? graphServerAdminChannel;
  const reconcileConcurrency = Math.max(1, options.reconcileConcurrency ?? 4);
  const nodeUser = effectiveNodeUser(rootDir, options.nodeUser ?? (options.command ? 'same' : 'auto'), options.command ? [] : graphServerFiles(options.engines), (msg) =>
    log.warn({}, msg),
  );

  const nodes = new Map<string, NodeState>();
  const locks = new Map<string, Promise<unknown>>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  let closed = false;
  let healthRunning = false;

  const healthTimer = setInterval(() => void healthSweep(), healthIntervalMs);
  healthTimer.unref();

  function emit(event: RuntimeEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        log.error({ stationId: event.stationId, err }, 'runtime event listener failed');
      }
    }
  }

  function compileCacheOf(paths: NodePaths): string {
    return paths.owner ? path.join(paths.root, 'compile-cache') : path.join(rootDir, 'compile-cache');
  }

  function pathsOf(stationId: string): NodePaths {
    const paths = nodePaths(rootDir, stationId);
    const owner = nodeOwner(nodeUser, stationId);
    return owner ? { ...paths, owner } : paths;
  }

  function stateOf(stationId: string): NodeState {
    let node = nodes.get(stationId);
    if (!node) {
      node = { stationId, paths: pathsOf(stationId), wanted: false, failures: 0 };
      nodes.set(stationId, node);
    }
    return node;
  }

  /** Serialises every action on one node: start/stop/restart and the supervisor never interleave. */
  function withLock<T>(stationId: string, action: () => Promise<T>): Promise<T> {
    const previous = locks.get(stationId) ?? Promise.resolve();
    const next = previous.then(action, action);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    locks.set(stationId, settled);
    void settled.then(() => {
      if (locks.get(stationId) === settled) locks.delete(stationId);
    });
    return next;
  }

  function assertOpen(): void {
    if (closed) throw new RuntimeError('Unavailable', 'the local runtime is closed');
  }

  function commandOf(spec: NodeSpec, paths: NodePaths): { argv: string[]; hash: string } {
    const argv = command(buildLaunch(spec, paths, { queryCheckBudgetMs: options.queryCheckBudgetMs }, options.engines));
    if (argv.length === 0 || !argv[0]) throw new RuntimeError('Invalid', 'the node command is empty');
    return { argv, hash: createHash('sha256').update(JSON.stringify(argv)).digest('hex') };
  }

  async function provisionFiles(paths: NodePaths): Promise<void> {
    await recoverDataDir(paths);
    await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(paths.importDir, { recursive: true, mode: 0o750 });
    await mkdir(paths.logDir, { recursive: true, mode: 0o700 });
    try {
      await stat(paths.usersFile);
    } catch {
      await writeUsersFile(paths, { users: [], allow: [] });
    }
    if (paths.owner) {
      // The node owns its data and import directories (restores and wipes leave them to us); the node
      // directory itself, its pid file and logs stay ours, and its users file is ours and readable by its group.
      await chmod(paths.root, 0o711);
      await chownTree(paths.dataDir, paths.owner);
      await chownTree(paths.importDir, paths.owner);
      await mkdir(compileCacheOf(paths), { recursive: true, mode: 0o700 });
      await chownTree(compileCacheOf(paths), paths.owner);
      await chown(paths.usersFile, process.getuid?.() ?? 0, paths.owner.gid);
      await chmod(paths.usersFile, 0o640);
    }
  }

  /** A process left by an earlier control plane (or an earlier run of this one), verified by start time. */
  async function recordedProcess(paths: NodePaths): Promise<PidRecord | null> {
    const record = await readPidRecord(paths);
    if (!record) return null;
    if (await isSameProcess(record, paths.dataDir)) return record;
    // The pid is gone or now belongs to someone else: the record is stale.
    await removePidRecord(paths);
    return null;
  }

  function watchChild(child: ChildProcess): Promise<string> {
    return new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
  }

  function adopt(node: NodeState, record: ProcessIdentity & { commandHash: string; ports?: NodePorts }): NodeProcess {
    let timer: NodeJS.Timeout | undefined;
    let disposed = false;
    const exited = new Promise<string>((resolve) => {
      const poll = async (): Promise<void> => {
        if (disposed) return;
        if (!(await isSameProcess(record, node.paths.dataDir))) {
          resolve('exited (adopted process; exit status unknown)');
          return;
        }
        timer = setTimeout(() => void poll(), adoptedPollMs);
        timer.unref();
      };
      timer = setTimeout(() => void poll(), adoptedPollMs);
      timer.unref();
    });
    return {
      identity: record,
      commandHash: record.commandHash,
      ...(record.ports ? { ports: record.ports } : {}),
      startedAtMs: Date.now(),
      stopping: false,
      exited,
      dispose() {
        disposed = true;
        if (timer) clearTimeout(timer);
      },
    };
  }

  /** Spawns the node's process and resolves once it printed its ready line. */
  async function launch(node: NodeState, spec: NodeSpec): Promise<NodeProcess> {
    const { argv, hash } = commandOf(spec, node.paths);
    await provisionFiles(node.paths);
    // Grafeo nodes of users of their own share one query-check service, which only this runtime may start.
    if (spec.engine !== 'neo4j' && node.paths.owner) await ensureSharedQueryCheckService(SHARED_QUERY_CHECK_IDLE_MS).catch(() => undefined);
    const childLog = await openChildLog(node.paths, logMaxBytes);
    const spawnedAt = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: node.paths.root,
        // A shared V8 compile cache makes every later node start faster (Node >= 22; ignored by older ones).
        // A node of its own user keeps its own: it cannot write the shared one.
        env: { NODE_COMPILE_CACHE: compileCacheOf(node.paths), ...(options.env ?? nodeEnvironment()) },
        ...(node.paths.owner ? { uid: node.paths.owner.uid, gid: node.paths.owner.gid } : {}),
        stdio: ['ignore', childLog.fd, childLog.fd],
        detached: true, // own process group: no terminal signals, and we can signal the whole group
      });
    } finally {
      await childLog.close(); // the child holds its own copy of the descriptor
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const exited = watchChild(child);
    if (child.pid === undefined) {
      const err = await spawnError;
      throw new RuntimeError('Failed', `cannot start the node process '${argv[0]}': ${err.message}`);
    }
    const pid = child.pid;
    const proc: NodeProcess = {
      identity: { pid, startTime: '', argv },
      commandHash: hash,
      child,
      startedAtMs: Date.now(),
      stopping: false,
      exited,
      dispose() {},
    };
    // Record the pid before waiting for readiness: a control plane killed right now must still find it.
    const early = await readProcessIdentity(pid);
    if (early) {
      proc.identity = { pid, startTime: early.startTime, argv };
      await writePidRecord(node.paths, { ...proc.identity, commandHash: hash, startedAt: new Date().toISOString() });
    }

    const tail = new LogTail(node.paths.logFile, childLog.offset);
    let exitDetail: string | undefined;
    void exited.then((detail) => (exitDetail = detail));
    const deadline = Date.now() + readyTimeoutMs;
    let lastLines: string[] = [];
    for (;;) {
      const lines = await tail.readLines();
      if (lines.length) lastLines = [...lastLines, ...lines].slice(-5);
      const ready = lines.find(isReadyLine);
      if (ready) {
        proc.ports = readyPorts(ready, spec);
        break;
      }
      if (exitDetail !== undefined) {
        await removePidRecord(node.paths);
        throw new RuntimeError('Failed', `node ${node.stationId} ${exitDetail} before it was ready${lastOutput(lastLines, tail.pending)}`);
      }
      if (Date.now() > deadline) {
        await terminate(node, proc, 0);
        await removePidRecord(node.paths);
        throw new RuntimeError('Failed', `node ${node.stationId} was not ready within ${readyTimeoutMs} ms${lastOutput(lastLines, tail.pending)}`);
      }
      await delay(10);
    }
    const readyMs = Math.round(performance.now() - spawnedAt);
    // The process may have rewritten its argv (process.title) while starting: record what /proc shows now.
    const settled = await readProcessIdentity(pid);
    if (settled && (!proc.identity.startTime || settled.startTime === proc.identity.startTime)) proc.identity = settled;
    await writePidRecord(node.paths, { ...proc.identity, commandHash: hash, startedAt: new Date().toISOString(), ...(proc.ports ? { ports: proc.ports } : {}) });
    node.lastStart = { stationId: node.stationId, pid, readyMs, adopted: false };
    log.info({ stationId: node.stationId, pid, readyMs }, 'node started');
    return proc;
  }

  /** Follow a process we now own: an exit we did not ask for is a crash, restarted with back-off. */
  function supervise(node: NodeState, proc: NodeProcess): void {
    node.proc = proc;
    node.health = 'healthy';
    node.incident = undefined;
    void proc.exited.then((detail) => {
      proc.dispose();
      if (node.proc === proc) node.proc = undefined;
      if (proc.stopping || closed) return;
      void removePidRecord(node.paths).catch(() => undefined);
      node.health = 'stopped';
      node.incident = `restarting after it ${detail}`;
      log.warn({ stationId: node.stationId, pid: proc.identity.pid, detail }, 'node exited unexpectedly');
      emit({ stationId: node.stationId, type: 'exited', detail });
      if (Date.now() - proc.startedAtMs >= backoff.stableMs) node.failures = 0;
      scheduleRestart(node, detail);
    });
  }

  function scheduleRestart(node: NodeState, reason: string): void {
    if (!node.wanted || closed || node.restartTimer) return;
    node.failures += 1;
    if (node.failures > backoff.maxConsecutiveFailures) {
      node.wanted = false;
      node.incident = `gave up after ${node.failures - 1} failed restarts; last: ${reason}`;
      log.error({ stationId: node.stationId, failures: node.failures - 1 }, 'node keeps failing; restarts given up');
      emit({ stationId: node.stationId, type: 'gave-up', detail: `${node.failures - 1} restarts failed; last: ${reason}` });
      return;
    }
    const waitMs = backoffDelayMs(backoff, node.failures);
    node.restartTimer = setTimeout(() => {
      node.restartTimer = undefined;
      void withLock(node.stationId, async () => {
        if (!node.wanted || closed || node.proc || !node.spec) return;
        try {
          const proc = await launch(node, node.spec);
          supervise(node, proc);
          emit({ stationId: node.stationId, type: 'restarted', detail: `after ${node.failures} attempt(s)` });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          log.warn({ stationId: node.stationId, err: message }, 'node restart failed');
          scheduleRestart(node, message);
        }
      });
    }, waitMs);
    node.restartTimer.unref();
  }

  function signal(pid: number, sig: NodeJS.Signals): void {
    try {
      process.kill(-pid, sig); // the whole group: a node may have helpers of its own
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async function terminate(node: NodeState, proc: NodeProcess, graceMs: number): Promise<void> {
    proc.stopping = true;
    const gone = proc.exited.then(() => true);
    if (graceMs > 0) {
      signal(proc.identity.pid, 'SIGTERM');
      if (await within(gone, graceMs)) return finish();
      log.warn({ stationId: node.stationId, pid: proc.identity.pid, graceMs }, 'node ignored SIGTERM; killing it');
    }
    signal(proc.identity.pid, 'SIGKILL');
    if (!(await within(gone, 10_000))) {
      throw new RuntimeError('Failed', `node ${node.stationId} (pid ${proc.identity.pid}) did not exit after SIGKILL`);
    }
    return finish();

    function finish(): void {
      proc.dispose();
      if (node.proc === proc) node.proc = undefined;
    }
  }

  /** Stop whatever runs for this node: our child, an adopted process, or one only the pid file knows. */
  async function stopNode(node: NodeState, graceMs: number): Promise<boolean> {
    if (node.restartTimer) {
      clearTimeout(node.restartTimer);
      node.restartTimer = undefined;
    }
    let stopped = false;
    if (node.proc) {
      await terminate(node, node.proc, graceMs);
      stopped = true;
    } else {
      const record = await recordedProcess(node.paths);
      if (record) {
        await terminate(node, adopt(node, record), graceMs);
        stopped = true;
      }
    }
    if (await stopUnrecorded(node, graceMs)) stopped = true;
    await removePidRecord(node.paths);
    node.health = 'stopped';
    node.incident = undefined;
    return stopped;
  }

  /** Stop processes serving this node's data dir that no pid file or supervisor knows of. */
  async function stopUnrecorded(node: NodeState, graceMs: number, keepPid?: number): Promise<boolean> {
    let stopped = false;
    for (const identity of await findProcessesWithArg(node.paths.dataDir)) {
      if (identity.pid === keepPid || identity.pid === node.proc?.identity.pid) continue;
      log.warn({ stationId: node.stationId, pid: identity.pid }, 'stopping an unrecorded process of this node');
      await terminate(node, adopt(node, { ...identity, commandHash: '' }), graceMs);
      stopped = true;
    }
    return stopped;
  }

  /** Make the node run `spec`; returns how (`started` or `adopted`) or `running` when nothing changed. */
  async function ensureRunning(node: NodeState, spec: NodeSpec): Promise<'started' | 'adopted' | 'running'> {
    node.spec = spec;
    node.wanted = true;
    if (node.restartTimer) {
      clearTimeout(node.restartTimer);
      node.restartTimer = undefined;
    }
    const { hash } = commandOf(spec, node.paths);
    if (node.proc) {
      if (node.proc.commandHash === hash) return 'running';
      // A different spec (ports, settings): the running process cannot honour it.
      await terminate(node, node.proc, stopGraceMs);
    } else {
      const record = await recordedProcess(node.paths);
      if (record && record.commandHash === hash) {
        await stopUnrecorded(node, stopGraceMs, record.pid);
        const proc = adopt(node, record);
        supervise(node, proc);
        node.failures = 0;
        node.lastStart = { stationId: node.stationId, pid: record.pid, readyMs: 0, adopted: true };
        log.info({ stationId: node.stationId, pid: record.pid }, 'node adopted');
        return 'adopted';
      }
      if (record) await terminate(node, adopt(node, record), stopGraceMs);
    }
    await stopUnrecorded(node, stopGraceMs);
    node.failures = 0;
    try {
      supervise(node, await launch(node, spec));
    } catch (err) {
      // The caller hears of the failure; no one should retry behind its back.
      node.wanted = false;
      throw err;
    }
    return 'started';
  }

  async function probe(node: NodeState): Promise<NodeHealth> {
    const checkedAt = new Date();
    const running = node.proc ?? (await recordedProcess(node.paths));
    // A node that should run but does not is an incident, not a stop.
    if (!running) return node.incident ? { status: 'unhealthy', checkedAt, detail: node.incident } : { status: 'stopped', checkedAt };
    const spec = node.spec;
    try {
      // Both: the admin channel proves the server's loop answers, the Bolt port that clients get in.
      const reply = admin.available ? await admin.request(node.paths.dataDir, { op: 'health' }, healthTimeoutMs) : null;
      const boltPort = running.ports?.boltPort ?? spec?.boltPort;
      if (spec && boltPort) await tcpProbe(connectHost(spec.host), boltPort, healthTimeoutMs);
      const activity = activityOf(reply);
      return activity ? { status: 'healthy', checkedAt, activity } : { status: 'healthy', checkedAt };
    } catch (err) {
      return { status: 'unhealthy', checkedAt, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async function healthSweep(): Promise<void> {
    if (healthRunning || closed) return;
    healthRunning = true;
    try {
      // A few nodes at a time, so one hung node's timeout does not delay everyone's verdict.
      await inBatches([...nodes.values()], 8, async (node) => {
        if (!node.proc || node.proc.stopping) return;
        await capChildLog(node.paths, logMaxBytes).catch(() => undefined);
        const result = await probe(node);
        if (!node.proc || node.proc.stopping || result.status === 'stopped') return;
        if (result.status !== node.health) {
          node.health = result.status;
          emit({ stationId: node.stationId, type: result.status === 'healthy' ? 'healthy' : 'unhealthy', detail: result.detail });
        }
      });
    } finally {
      healthRunning = false;
    }
  }

  async function requireRunning(stationId: string): Promise<NodeState> {
    assertStationId(stationId);
    const node = stateOf(stationId);
    if (!node.proc && !(await recordedProcess(node.paths))) {
      throw new RuntimeError('Conflict', `node ${stationId} is not running`);
    }
    return node;
  }

  const runtime: LocalRuntime = {
    name: 'local',
    settings: LOCAL_RUNTIME_SETTINGS,

    paths: (stationId) => pathsOf(stationId),

    lastStart: (stationId) => nodes.get(stationId)?.lastStart,

    async pidOf(stationId) {
      const node = stateOf(stationId);
      if (node.proc) return node.proc.identity.pid;
      return (await recordedProcess(node.paths))?.pid;
    },

    async provision(spec) {
      assertOpen();
      const node = stateOf(spec.stationId);
      commandOf(spec, node.paths); // validates settings before anything is created
      await withLock(spec.stationId, () => provisionFiles(node.paths));
    },

    async start(spec) {
      assertOpen();
      const node = stateOf(spec.stationId);
      await withLock(spec.stationId, () => ensureRunning(node, spec));
    },

    async stop(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        node.wanted = false;
        await stopNode(node, stopGraceMs);
      });
    },

    async restart(spec, restartOptions: RestartOptions = {}) {
      assertOpen();
      const node = stateOf(spec.stationId);
      await withLock(spec.stationId, async () => {
        await stopNode(node, restartOptions.reset ? 0 : stopGraceMs);
        await ensureRunning(node, spec);
      });
    },

    async destroy(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        node.wanted = false;
        await stopNode(node, stopGraceMs);
        await rm(node.paths.root, { recursive: true, force: true });
        nodes.delete(stationId);
      });
    },

    async endpoint(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      if (node.proc) return node.proc.ports ?? null;
      return (await recordedProcess(node.paths))?.ports ?? null;
    },

    async health(stationId) {
      assertStationId(stationId);
      return probe(stateOf(stationId));
    },

    async writeUsers(stationId, access: NodeAccess) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      // Under the node's lock, so a concurrent destroy cannot be followed by a write that recreates its files.
      await withLock(stationId, () => writeUsersFile(node.paths, access));
    },

    async empty(stationId) {
      assertOpen();
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        const wasRunning = node.wanted || node.proc !== undefined || (await recordedProcess(node.paths)) !== null;
        if (wasRunning && !node.spec) {
          throw new RuntimeError('Conflict', `node ${stationId} runs but this runtime has no spec for it; reconcile first`);
        }
        await stopNode(node, stopGraceMs);
        // Move aside first so a crash mid-way leaves either the old data or none, never a mix.
        const { emptying: doomed } = swapDirs(node.paths);
        await rm(doomed, { recursive: true, force: true });
        await rename(node.paths.dataDir, doomed).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await mkdir(node.paths.dataDir, { recursive: true, mode: 0o700 });
        await rm(doomed, { recursive: true, force: true });
        if (wasRunning && node.spec) await ensureRunning(node, node.spec);
      });
    },

    async backup(stationId, targetDir) {
      assertStationId(stationId);
      const stopped = stateOf(stationId);
      const dir = path.resolve(targetDir);
      // A stopped node (a paused database) is backed up from its files, under its lock so nothing starts
      // it meanwhile; a resume that comes first makes this an online backup instead.
      const offline = await withLock(stationId, async () => {
        if (stopped.proc || (await recordedProcess(stopped.paths))) return false;
        if (stopped.wanted) {
          throw new RuntimeError('Conflict', `node ${stationId} is restarting after its process stopped; try again once it runs`);
        }
        try {
          if (await exists(path.join(stopped.paths.dataDir, 'neo4j'))) await backupStoppedNeo4j(stopped.paths.dataDir, dir);
          else await backupStoppedDatabase(stopped.paths.dataDir, dir);
        } catch (err) {
          throw new RuntimeError('Failed', `backup of stopped node ${stationId} failed: ${(err as Error).message}`, { cause: err });
        }
        return true;
      });
      if (offline) return;
      const node = await requireRunning(stationId);
      if (!admin.available) {
        throw new RuntimeError('Unavailable', 'online backup needs the graph-server admin channel, which is not available');
      }
      await mkdir(dir, { recursive: true });
      // A node of its own user cannot write outside its directory: it backs up into it, and we move the files.
      const into = node.paths.owner ? await mkdtemp(path.join(node.paths.root, 'backup-')) : dir;
      try {
        if (node.paths.owner) await chownTree(into, node.paths.owner);
        await admin.request(node.paths.dataDir, { op: 'backup', dir: into }, 10 * 60_000);
        if (into !== dir) for (const name of await readdir(into)) await rename(path.join(into, name), path.join(dir, name));
      } catch (err) {
        throw new RuntimeError('Failed', `backup of node ${stationId} failed: ${(err as Error).message}`, { cause: err });
      } finally {
        if (into !== dir) await rm(into, { recursive: true, force: true });
      }
    },

    async restoreFiles(stationId, sourceDir, restoreOptions = {}) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        if (node.proc || (await recordedProcess(node.paths))) {
          throw new RuntimeError('Conflict', `node ${stationId} must be stopped before its files are restored`);
        }
        await mkdir(node.paths.root, { recursive: true });
        const { restoring, previous, replaced } = swapDirs(node.paths);
        // Kept aside already: this is a re-run of the same swap, and the data dir holds the new data (or none).
        const keepAside = restoreOptions.keepReplaced === true && !(await pathExists(replaced));
        await rm(restoring, { recursive: true, force: true });
        await rm(previous, { recursive: true, force: true });
        await copyPlainTree(path.resolve(sourceDir), restoring);
        // The database stays the same database: it keeps its UUID, so element ids read back as they were
        // when the backup was taken (a new node, as for a clone, makes its own at first start).
        await copyFile(path.join(node.paths.dataDir, DATABASE_ID_FILE), path.join(restoring, DATABASE_ID_FILE), fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT' && err.code !== 'EEXIST') throw err;
        });
        // Two renames; a crash between them is finished by recoverDataDir() at the next start.
        await rename(node.paths.dataDir, keepAside ? replaced : previous).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await rename(restoring, node.paths.dataDir);
        await rm(previous, { recursive: true, force: true });
      });
    },

    async restoreReplacedFiles(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      return withLock(stationId, async () => {
        const { replaced, emptying } = swapDirs(node.paths);
        if (!(await pathExists(replaced))) return false;
        node.wanted = false;
        await stopNode(node, stopGraceMs);
        // A crash between the renames leaves `replaced` in place, and a re-run puts it back then.
        await rm(emptying, { recursive: true, force: true });
        await rename(node.paths.dataDir, emptying).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await rename(replaced, node.paths.dataDir);
        await rm(emptying, { recursive: true, force: true });
        return true;
      });
    },

    async discardReplacedFiles(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, () => rm(swapDirs(node.paths).replaced, { recursive: true, force: true }));
    },

    async counts(stationId) {
      const node = await requireRunning(stationId);
      if (!admin.available) {
        throw new RuntimeError('Unavailable', 'counts need the graph-server admin channel, which is not available');
      }
      let reply: Partial<NodeCounts>;
      try {
        reply = (await admin.request(node.paths.dataDir, { op: 'counts' }, healthTimeoutMs * 5)) as Partial<NodeCounts>;
      } catch (err) {
        throw new RuntimeError('Failed', `counts of node ${stationId} failed: ${(err as Error).message}`, { cause: err });
      }
      return { nodes: Number(reply.nodes ?? 0), relationships: Number(reply.relationships ?? 0) };
    },

    async reconcile(desired) {
      assertOpen();
      const report: ReconcileReport = { started: [], adopted: [], stopped: [], failed: [] };
      const wanted = new Map<string, NodeSpec>();
      for (const spec of desired) {
        assertStationId(spec.stationId);
        if (wanted.has(spec.stationId)) throw new RuntimeError('Invalid', `station ${spec.stationId} is listed twice`);
        wanted.set(spec.stationId, spec);
      }
      const known = new Set([...(await listStationIds(rootDir)), ...nodes.keys()]);
      for (const stationId of known) {
        if (wanted.has(stationId)) continue;
        const node = stateOf(stationId);
        try {
          const stopped = await withLock(stationId, async () => {
            node.wanted = false;
            return stopNode(node, stopGraceMs);
          });
          if (stopped) report.stopped.push(stationId);
        } catch (err) {
          report.failed.push({ stationId, error: err instanceof Error ? err.message : String(err) });
        }
      }
      // A few at a time: each start mostly waits for its process to load, but all at once would
      // starve a small machine and push every start past its ready timeout.
      await inBatches([...wanted.values()], reconcileConcurrency, async (spec) => {
        const node = stateOf(spec.stationId);
        try {
          const how = await withLock(spec.stationId, () => ensureRunning(node, spec));
          if (how === 'adopted') report.adopted.push(spec.stationId);
          else if (how === 'started') report.started.push(spec.stationId);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          report.failed.push({ stationId: spec.stationId, error: message });
          // Reported, not retried: the control plane decides (it marks the database failed; a restart revives it).
          node.incident = `failed to start: ${message}`;
        }
      });
      return report;
    },

    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(closeOptions: CloseOptions = {}) {
      if (closed) return;
      closed = true;
      clearInterval(healthTimer);
      await Promise.all(
        [...nodes.values()].map((node) =>
          withLock(node.stationId, async () => {
            if (node.restartTimer) clearTimeout(node.restartTimer);
            node.restartTimer = undefined;
            if (closeOptions.leaveRunning) {
              // Let go: the pid file stays so the next control plane adopts or stops the process.
              if (node.proc) {
                node.proc.stopping = true;
                node.proc.dispose();
                node.proc.child?.unref();
              }
              return;
            }
            await stopNode(node, stopGraceMs);
          }),
        ),
      );
      listeners.clear();
    },
  };
  return runtime;
}

/**
 * True if `done` settles within `ms`. The timer is referenced on purpose: an adopted process's exit is
 * seen by polling, and someone awaiting it must keep the event loop alive.
 */
async function within(done: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Nodes get only these from the control plane's environment: it may hold secrets (store and S3
// credentials, signing keys) that a database process has no business seeing.
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_ENV'];

export function nodeEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * A stopped Neo4j node's store and transaction logs (what a backup holds, see engines/neo4j/jvm.ts), copied as
 * they are: Neo4j stopped cleanly or not, its start after a restore recovers from the logs.
 */
async function backupStoppedNeo4j(dataDir: string, targetDir: string): Promise<void> {
  for (const rel of ['neo4j/data/databases/neo4j', 'neo4j/data/transactions/neo4j']) {
    const from = path.join(dataDir, rel);
    if (!(await exists(from))) continue;
    await cp(from, path.join(targetDir, rel), { recursive: true, filter: (src) => path.basename(src) !== 'database_lock' });
  }
}

/** Side directories used to replace or wipe a data dir in two renames. */
function swapDirs(paths: NodePaths): { restoring: string; previous: string; emptying: string; replaced: string } {
  return {
    restoring: `${paths.dataDir}.restoring`,
    previous: `${paths.dataDir}.previous`,
    emptying: `${paths.dataDir}.emptying`,
    // Outlives restarts on purpose (recoverDataDir leaves it): the restore that made it decides its fate.
    replaced: `${paths.dataDir}.replaced`,
  };
}

function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Finish or undo what a crash interrupted: a restore caught between its two renames (the data dir is
 * gone, the complete new copy and the old one both exist) is completed, an old data dir with no
 * replacement is put back; half-copied restores and wiped data awaiting deletion are removed.
 */
async function recoverDataDir(paths: NodePaths): Promise<void> {
  const { restoring, previous, emptying } = swapDirs(paths);
  if (!(await exists(paths.dataDir))) {
    if ((await exists(previous)) && (await exists(restoring))) await rename(restoring, paths.dataDir);
    else if (await exists(previous)) await rename(previous, paths.dataDir);
  }
  await Promise.all([restoring, previous, emptying].map((p) => rm(p, { recursive: true, force: true })));
}

/** Copy a backup directory, refusing links and special files: only plain files and folders get in. */
async function copyPlainTree(source: string, target: string): Promise<void> {
  let info;
  try {
    info = await lstat(source);
  } catch (err) {
    throw new RuntimeError('Invalid', `restore source ${source} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!info.isDirectory()) throw new RuntimeError('Invalid', `restore source ${source} is not a directory`);
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isDirectory()) await copyPlainTree(from, to);
    else if (entry.isFile()) await copyFile(from, to);
    else throw new RuntimeError('Invalid', `restore source holds ${entry.name}, which is neither a file nor a directory`);
  }
}

async function inBatches<T>(items: T[], concurrency: number, action: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await action(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** The ports a node's ready line names; the spec's own where it names none (a custom command). */
function readyPorts(line: string, spec: NodeSpec): NodePorts | undefined {
  const value = JSON.parse(line) as { boltPort?: unknown; httpPort?: unknown };
  const port = (v: unknown, fallback: number) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : fallback);
  const ports = { boltPort: port(value.boltPort, spec.boltPort), httpPort: port(value.httpPort, spec.httpPort) };
  return ports.boltPort > 0 && ports.httpPort > 0 ? ports : undefined;
}

function isReadyLine(line: string): boolean {
  if (!line.includes('"ready"')) return false;
  try {
    const value = JSON.parse(line) as { event?: unknown };
    return value.event === 'ready';
  } catch {
    return false;
  }
}

function lastOutput(lines: string[], pending: string): string {
  const text = [...lines, pending].join('\n').trim().slice(-500);
  return text ? `; last output: ${text}` : '';
}

function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer on ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${host}:${port}: ${err.message}`));
    });
  });
}
