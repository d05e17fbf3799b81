// The processes of one node and how they end: finding a process an earlier control plane recorded
// (verified by start time, so a reused pid is never taken for ours), adopting it (its exit seen by
// polling /proc), and stopping whatever runs for a node — our child, an adopted process, one only the
// pid file knows, or one no pid file records (found by its data dir on the command line).
import type { ChildProcess } from 'node:child_process';
import { RuntimeError, type NodePorts } from '../runtime.js';
import type { NodeProcess, NodeState, RuntimeContext } from './context.js';
import { readPidRecord, removePidRecord, type NodePaths, type PidRecord } from './node-files.js';
import { findProcessesWithArg, isSameProcess, type ProcessIdentity } from './process-identity.js';

/** A process left by an earlier control plane (or an earlier run of this one), verified by start time. */
export async function recordedProcess(paths: NodePaths): Promise<PidRecord | null> {
  const record = await readPidRecord(paths);
  if (!record) return null;
  if (await isSameProcess(record, paths.dataDir)) return record;
  // The pid is gone or now belongs to someone else: the record is stale.
  await removePidRecord(paths);
  return null;
}

/** Resolves with how our child ended (`exited with code …` or `killed by …`). */
export function watchChild(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
  });
}

/** Follow a process that is not our child: it is alive while /proc shows the same process. */
export function adopt(ctx: RuntimeContext, node: NodeState, record: ProcessIdentity & { commandHash: string; ports?: NodePorts }): NodeProcess {
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;
  const exited = new Promise<string>((resolve) => {
    const poll = async (): Promise<void> => {
      if (disposed) return;
      if (!(await isSameProcess(record, node.paths.dataDir))) {
        resolve('exited (adopted process; exit status unknown)');
        return;
      }
      timer = setTimeout(() => void poll(), ctx.adoptedPollMs);
      timer.unref();
    };
    timer = setTimeout(() => void poll(), ctx.adoptedPollMs);
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
export async function terminate(ctx: RuntimeContext, node: NodeState, proc: NodeProcess, graceMs: number): Promise<void> {
  proc.stopping = true;
  const gone = proc.exited.then(() => true);
  if (graceMs > 0) {
    signal(proc.identity.pid, 'SIGTERM');
    if (await within(gone, graceMs)) return finish();
    ctx.log.warn({ stationId: node.stationId, pid: proc.identity.pid, graceMs }, 'node ignored SIGTERM; killing it');
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
export async function stopNode(ctx: RuntimeContext, node: NodeState, graceMs: number): Promise<boolean> {
  if (node.restartTimer) {
    clearTimeout(node.restartTimer);
    node.restartTimer = undefined;
  }
  let stopped = false;
  if (node.proc) {
    await terminate(ctx, node, node.proc, graceMs);
    stopped = true;
  } else {
    const record = await recordedProcess(node.paths);
    if (record) {
      await terminate(ctx, node, adopt(ctx, node, record), graceMs);
      stopped = true;
    }
  }
  if (await stopUnrecorded(ctx, node, graceMs)) stopped = true;
  await removePidRecord(node.paths);
  node.health = 'stopped';
  node.incident = undefined;
  return stopped;
}

/** Stop processes serving this node's data dir that no pid file or supervisor knows of. */
export async function stopUnrecorded(ctx: RuntimeContext, node: NodeState, graceMs: number, keepPid?: number): Promise<boolean> {
  let stopped = false;
  for (const identity of await findProcessesWithArg(node.paths.dataDir)) {
    if (identity.pid === keepPid || identity.pid === node.proc?.identity.pid) continue;
    ctx.log.warn({ stationId: node.stationId, pid: identity.pid }, 'stopping an unrecorded process of this node');
    await terminate(ctx, node, adopt(ctx, node, { ...identity, commandHash: '' }), graceMs);
    stopped = true;
  }
  return stopped;
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
