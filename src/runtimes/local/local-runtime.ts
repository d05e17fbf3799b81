// The local runtime: one supervised `allotrope graph-server` child process per database node.
// This file is the façade: it implements the `Runtime` interface, owns the node table, the per-node locks
// and the closed flag, and wires the parts, each handed the same RuntimeContext (context.ts):
//   launch.ts       command line, spawn, pid file, wait for the ready line
//   supervision.ts  ensureRunning (keep / adopt / launch), crash restarts with back-off, `gave-up`
//   node-process.ts recorded processes, adoption, SIGTERM → SIGKILL, stopping unrecorded processes
//   health.ts       the health probe and the periodic sweep (`healthy` / `unhealthy` events)
//   data-dir.ts     node directories, wipe / restore / put-back swaps, crash recovery of a swap, backups
//   reconcile.ts    after a control-plane start: adopt or start what is desired, stop the rest
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
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  RuntimeError,
  assertStationId,
  type CloseOptions,
  type NodeAccess,
  type NodeCounts,
  type RestartOptions,
  type Runtime,
  type RuntimeEvent,
} from '../runtime.js';
import { graphServerAdminChannel } from './admin-channel.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { directGraphServerCommand, graphServerFiles } from './command.js';
import type { LocalRuntimeOptions, NodeState, RuntimeContext, RuntimeLogger, StartReport } from './context.js';
import {
  backupRunningNode,
  backupStoppedNode,
  discardReplaced,
  hasReplacedData,
  provisionFiles,
  putBackReplaced,
  swapInRestore,
  wipeDataDir,
} from './data-dir.js';
import { probe, startHealthSweeps } from './health.js';
import { commandOf } from './launch.js';
import { effectiveNodeUser, nodeOwner } from './node-user.js';
import { nodePaths, writeUsersFile, type NodePaths } from './node-files.js';
import { recordedProcess, stopNode } from './node-process.js';
import { reconcile } from './reconcile.js';
import { LOCAL_RUNTIME_SETTINGS } from './settings.js';
import { ensureRunning } from './supervision.js';

export type { LocalRuntimeOptions, RuntimeLogger, StartReport } from './context.js';
export { nodeEnvironment } from './launch.js';

export interface LocalRuntime extends Runtime {
  readonly name: 'local';
  /** What the last start of a node did (for logs and tests). */
  lastStart(stationId: string): StartReport | undefined;
  /** pid of a node's process, if it runs. */
  pidOf(stationId: string): Promise<number | undefined>;
  paths(stationId: string): NodePaths;
}

const noopLogger: RuntimeLogger = { info() {}, warn() {}, error() {} };

export function createLocalRuntime(options: LocalRuntimeOptions): LocalRuntime {
  // Absolute: nodes run with their own directory as cwd, and their argv names the data dir exactly.
  const rootDir = path.resolve(options.rootDir);
  const log = options.logger ?? noopLogger;
  const nodeUser = effectiveNodeUser(rootDir, options.nodeUser ?? (options.command ? 'same' : 'auto'), options.command ? [] : graphServerFiles(options.engines), (msg) =>
    log.warn({}, msg),
  );

  const nodes = new Map<string, NodeState>();
  const locks = new Map<string, Promise<unknown>>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  let closed = false;

  function pathsOf(stationId: string): NodePaths {
    const paths = nodePaths(rootDir, stationId);
    const owner = nodeOwner(nodeUser, stationId);
    return owner ? { ...paths, owner } : paths;
  }

  const ctx: RuntimeContext = {
    rootDir,
    command: options.command ?? directGraphServerCommand,
    env: options.env,
    engines: options.engines,
    queryCheckBudgetMs: options.queryCheckBudgetMs,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    stopGraceMs: options.stopGraceMs ?? 10_000,
    healthTimeoutMs: options.healthTimeoutMs ?? 2_000,
    adoptedPollMs: options.adoptedPollMs ?? 500,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    logMaxBytes: options.logMaxBytes ?? 10 * 1024 * 1024,
    reconcileConcurrency: Math.max(1, options.reconcileConcurrency ?? 4),
    log,
    admin: options.admin ?? graphServerAdminChannel,
    nodes,
    stateOf(stationId) {
      let node = nodes.get(stationId);
      if (!node) {
        node = { stationId, paths: pathsOf(stationId), wanted: false, failures: 0 };
        nodes.set(stationId, node);
      }
      return node;
    },
    withLock<T>(stationId: string, action: () => Promise<T>): Promise<T> {
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
    },
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          log.error({ stationId: event.stationId, err }, 'runtime event listener failed');
        }
      }
    },
    isClosed: () => closed,
  };
  const { stateOf, withLock, stopGraceMs, admin, healthTimeoutMs } = ctx;

  const stopHealthSweeps = startHealthSweeps(ctx, options.healthIntervalMs ?? 5_000);

  function assertOpen(): void {
    if (closed) throw new RuntimeError('Unavailable', 'the local runtime is closed');
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
      commandOf(ctx, spec, node.paths); // validates settings before anything is created
      await withLock(spec.stationId, () => provisionFiles(rootDir, node.paths));
    },

    async start(spec) {
      assertOpen();
      const node = stateOf(spec.stationId);
      await withLock(spec.stationId, () => ensureRunning(ctx, node, spec));
    },

    async stop(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        node.wanted = false;
        await stopNode(ctx, node, stopGraceMs);
      });
    },

    async restart(spec, restartOptions: RestartOptions = {}) {
      assertOpen();
      const node = stateOf(spec.stationId);
      await withLock(spec.stationId, async () => {
        await stopNode(ctx, node, restartOptions.reset ? 0 : stopGraceMs);
        await ensureRunning(ctx, node, spec);
      });
    },

    async destroy(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        node.wanted = false;
        await stopNode(ctx, node, stopGraceMs);
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
      return probe(ctx, stateOf(stationId));
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
        await stopNode(ctx, node, stopGraceMs);
        await wipeDataDir(node.paths);
        if (wasRunning && node.spec) await ensureRunning(ctx, node, node.spec);
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
        await backupStoppedNode(stationId, stopped.paths.dataDir, dir);
        return true;
      });
      if (offline) return;
      const node = await requireRunning(stationId);
      await backupRunningNode(admin, stationId, node.paths, dir);
    },

    async restoreFiles(stationId, sourceDir, restoreOptions = {}) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, async () => {
        if (node.proc || (await recordedProcess(node.paths))) {
          throw new RuntimeError('Conflict', `node ${stationId} must be stopped before its files are restored`);
        }
        await swapInRestore(node.paths, sourceDir, restoreOptions.keepReplaced === true);
      });
    },

    async restoreReplacedFiles(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      return withLock(stationId, async () => {
        if (!(await hasReplacedData(node.paths))) return false;
        node.wanted = false;
        await stopNode(ctx, node, stopGraceMs);
        await putBackReplaced(node.paths);
        return true;
      });
    },

    async discardReplacedFiles(stationId) {
      assertStationId(stationId);
      const node = stateOf(stationId);
      await withLock(stationId, () => discardReplaced(node.paths));
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
      return reconcile(ctx, desired);
    },

    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(closeOptions: CloseOptions = {}) {
      if (closed) return;
      closed = true;
      stopHealthSweeps();
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
            await stopNode(ctx, node, stopGraceMs);
          }),
        ),
      );
      listeners.clear();
    },
  };
  return runtime;
}
