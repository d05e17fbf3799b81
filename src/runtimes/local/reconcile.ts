// Reconcile after a control-plane start: every node found on disk or known in memory that is not
// desired is stopped; every desired node runs (adopted when its recorded process matches, started
// otherwise), a few at a time. Failures are reported per node, never retried here.
import { RuntimeError, assertStationId, type NodeSpec, type ReconcileReport } from '../runtime.js';
import { inBatches, type RuntimeContext } from './context.js';
import { listStationIds } from './node-files.js';
import { stopNode } from './node-process.js';
import { ensureRunning } from './supervision.js';

export async function reconcile(ctx: RuntimeContext, desired: NodeSpec[]): Promise<ReconcileReport> {
  const report: ReconcileReport = { started: [], adopted: [], stopped: [], failed: [] };
  const wanted = new Map<string, NodeSpec>();
  for (const spec of desired) {
    assertStationId(spec.stationId);
    if (wanted.has(spec.stationId)) throw new RuntimeError('Invalid', `station ${spec.stationId} is listed twice`);
    wanted.set(spec.stationId, spec);
  }
  const known = new Set([...(await listStationIds(ctx.rootDir)), ...ctx.nodes.keys()]);
  for (const stationId of known) {
    if (wanted.has(stationId)) continue;
    const node = ctx.stateOf(stationId);
    try {
      const stopped = await ctx.withLock(stationId, async () => {
        node.wanted = false;
        return stopNode(ctx, node, ctx.stopGraceMs);
      });
      if (stopped) report.stopped.push(stationId);
    } catch (err) {
      report.failed.push({ stationId, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // A few at a time: each start mostly waits for its process to load, but all at once would
  // starve a small machine and push every start past its ready timeout.
  await inBatches([...wanted.values()], ctx.reconcileConcurrency, async (spec) => {
    const node = ctx.stateOf(spec.stationId);
    try {
      const how = await ctx.withLock(spec.stationId, () => ensureRunning(ctx, node, spec));
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
}
