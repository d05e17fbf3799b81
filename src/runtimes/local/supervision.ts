// Supervision: making a node run its spec (keeping a matching process, adopting a recorded one,
// or launching a new one) and following it afterwards. An exit we did not ask for is a crash: the node
// is restarted with exponential back-off (`exited`, then `restarted`), and after too many failed
// restarts the runtime gives up (`gave-up`). Callers hold the node's lock; the restart takes it itself.
import type { NodeSpec } from '../runtime.js';
import { backoffDelayMs } from './backoff.js';
import type { NodeProcess, NodeState, RuntimeContext } from './context.js';
import { commandOf, launch } from './launch.js';
import { removePidRecord } from './node-files.js';
import { adopt, recordedProcess, stopUnrecorded, terminate } from './node-process.js';

/** Make the node run `spec`; returns how (`started` or `adopted`) or `running` when nothing changed. */
export async function ensureRunning(ctx: RuntimeContext, node: NodeState, spec: NodeSpec): Promise<'started' | 'adopted' | 'running'> {
  node.spec = spec;
  node.wanted = true;
  if (node.restartTimer) {
    clearTimeout(node.restartTimer);
    node.restartTimer = undefined;
  }
  const { hash } = commandOf(ctx, spec, node.paths);
  if (node.proc) {
    if (node.proc.commandHash === hash) return 'running';
    // A different spec (ports, settings): the running process cannot honour it.
    await terminate(ctx, node, node.proc, ctx.stopGraceMs);
  } else {
    const record = await recordedProcess(node.paths);
    // A record without ports was written before the node's ready line (the control plane died while it
    // started): where it listens, or whether it ever will, is unknown, so it is started again, not adopted.
    if (record && record.commandHash === hash && record.ports) {
      await stopUnrecorded(ctx, node, ctx.stopGraceMs, record.pid);
      const proc = adopt(ctx, node, record);
      supervise(ctx, node, proc);
      node.failures = 0;
      node.lastStart = { stationId: node.stationId, pid: record.pid, readyMs: 0, adopted: true };
      ctx.log.info({ stationId: node.stationId, pid: record.pid }, 'node adopted');
      return 'adopted';
    }
    if (record) await terminate(ctx, node, adopt(ctx, node, record), ctx.stopGraceMs);
  }
  await stopUnrecorded(ctx, node, ctx.stopGraceMs);
  node.failures = 0;
  try {
    supervise(ctx, node, await launch(ctx, node, spec));
  } catch (err) {
    // The caller hears of the failure; no one should retry behind its back.
    node.wanted = false;
    throw err;
  }
  return 'started';
}

/** Follow a process we now own: an exit we did not ask for is a crash, restarted with back-off. */
function supervise(ctx: RuntimeContext, node: NodeState, proc: NodeProcess): void {
  node.proc = proc;
  node.health = 'healthy';
  node.incident = undefined;
  void proc.exited.then((detail) => {
    proc.dispose();
    if (node.proc === proc) node.proc = undefined;
    if (proc.stopping || ctx.isClosed()) return;
    void removePidRecord(node.paths).catch(() => undefined);
    node.health = 'stopped';
    node.incident = `restarting after it ${detail}`;
    ctx.log.warn({ stationId: node.stationId, pid: proc.identity.pid, detail }, 'node exited unexpectedly');
    ctx.emit({ stationId: node.stationId, type: 'exited', detail });
    if (Date.now() - proc.startedAtMs >= ctx.backoff.stableMs) node.failures = 0;
    scheduleRestart(ctx, node, detail);
  });
}

function scheduleRestart(ctx: RuntimeContext, node: NodeState, reason: string): void {
  if (!node.wanted || ctx.isClosed() || node.restartTimer) return;
  node.failures += 1;
  if (node.failures > ctx.backoff.maxConsecutiveFailures) {
    node.wanted = false;
    node.incident = `gave up after ${node.failures - 1} failed restarts; last: ${reason}`;
    ctx.log.error({ stationId: node.stationId, failures: node.failures - 1 }, 'node keeps failing; restarts given up');
    ctx.emit({ stationId: node.stationId, type: 'gave-up', detail: `${node.failures - 1} restarts failed; last: ${reason}` });
    return;
  }
  const waitMs = backoffDelayMs(ctx.backoff, node.failures);
  node.restartTimer = setTimeout(() => {
    node.restartTimer = undefined;
    void ctx.withLock(node.stationId, async () => {
      if (!node.wanted || ctx.isClosed() || node.proc || !node.spec) return;
      try {
        const proc = await launch(ctx, node, node.spec);
        supervise(ctx, node, proc);
        ctx.emit({ stationId: node.stationId, type: 'restarted', detail: `after ${node.failures} attempt(s)` });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.log.warn({ stationId: node.stationId, err: message }, 'node restart failed');
        scheduleRestart(ctx, node, message);
      }
    });
  }, waitMs);
  node.restartTimer.unref();
}
