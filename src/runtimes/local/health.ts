// The health probe of a node (its admin channel answers, and its Bolt port accepts a connection) and
// the periodic sweep over every running node, which caps the node logs and emits `healthy`/`unhealthy`
// when the verdict changes. Only a verdict change is an event; a crash is supervision.ts's `exited`.
import net from 'node:net';
import type { NodeActivity, NodeHealth } from '../runtime.js';
import { inBatches, type NodeState, type RuntimeContext } from './context.js';
import { capChildLog } from './node-log.js';
import { recordedProcess } from './node-process.js';

export async function probe(ctx: RuntimeContext, node: NodeState): Promise<NodeHealth> {
  const checkedAt = new Date();
  const running = node.proc ?? (await recordedProcess(node.paths));
  // A node that should run but does not is an incident, not a stop.
  if (!running) return node.incident ? { status: 'unhealthy', checkedAt, detail: node.incident } : { status: 'stopped', checkedAt };
  const spec = node.spec;
  try {
    // Both: the admin channel proves the server's loop answers, the Bolt port that clients get in.
    const reply = ctx.admin.available ? await ctx.admin.request(node.paths.dataDir, { op: 'health' }, ctx.healthTimeoutMs) : null;
    const boltPort = running.ports?.boltPort ?? spec?.boltPort;
    if (spec && boltPort) await tcpProbe(connectHost(spec.host), boltPort, ctx.healthTimeoutMs);
    const activity = activityOf(reply);
    return activity ? { status: 'healthy', checkedAt, activity } : { status: 'healthy', checkedAt };
  } catch (err) {
    return { status: 'unhealthy', checkedAt, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Sweeps every `intervalMs` (a sweep still running is not overlapped); returns the function that stops them. */
export function startHealthSweeps(ctx: RuntimeContext, intervalMs: number): () => void {
  let running = false;
  const sweep = async (): Promise<void> => {
    if (running || ctx.isClosed()) return;
    running = true;
    try {
      // A few nodes at a time, so one hung node's timeout does not delay everyone's verdict.
      await inBatches([...ctx.nodes.values()], 8, async (node) => {
        if (!node.proc || node.proc.stopping) return;
        await capChildLog(node.paths, ctx.logMaxBytes).catch(() => undefined);
        const result = await probe(ctx, node);
        if (!node.proc || node.proc.stopping || result.status === 'stopped') return;
        if (result.status !== node.health) {
          node.health = result.status;
          ctx.emit({ stationId: node.stationId, type: result.status === 'healthy' ? 'healthy' : 'unhealthy', detail: result.detail });
        }
      });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The activity counters of a graph-server's health reply, when it has them (older servers do not). */
function activityOf(reply: unknown): NodeActivity | undefined {
  const r = reply as Partial<Record<'pid' | 'transactionsBegun' | 'openTransactions', unknown>> | null;
  const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!r || !count(r.pid) || !count(r.transactionsBegun) || !count(r.openTransactions)) return undefined;
  return { pid: r.pid, transactionsBegun: r.transactionsBegun, openTransactions: r.openTransactions };
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
