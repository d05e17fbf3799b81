// The control plane's side of the router's endpoint table: nodes listen on loopback ports they pick
// themselves, and whatever starts, adopts, restarts or stops a node records where it listens now in
// `database_nodes` (internal_bolt_port/internal_http_port), then pokes the router so it routes there at once.
// A runtime wrapper, so no operation step has to remember it.
import type { Kysely } from 'kysely';
import type { NodeSpec, Runtime } from '../runtimes/runtime.js';
import type { Tables } from '../store/schema/index.js';

export interface EndpointRecorderOptions {
  db: Kysely<Tables>;
  /**
   * Tells the router the table changed and resolves once it serves the new table (best effort, bounded: its
   * poll catches up anyway). Awaited, so an operation that started a node ends with its URL answering.
   */
  sync(): Promise<void>;
  onError(err: unknown, stationId: string): void;
}

/** `runtime` with every start/stop recording the node's internal ports in the store. */
export function recordingEndpoints(runtime: Runtime, options: EndpointRecorderOptions): Runtime {
  const { db } = options;
  async function record(stationId: string): Promise<void> {
    try {
      const ports = await runtime.endpoint(stationId);
      await db
        .updateTable('database_nodes')
        .set({ internal_bolt_port: ports?.boltPort ?? null, internal_http_port: ports?.httpPort ?? null })
        .where('station_id', '=', stationId)
        .execute();
      await options.sync();
    } catch (err) {
      options.onError(err, stationId);
    }
  }
  const after =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, stationOf: (...args: A) => string) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        await record(stationOf(...args));
      }
    };
  const bySpec = (spec: NodeSpec) => spec.stationId;
  const byId = (stationId: string) => stationId;
  const wrapped: Runtime = Object.create(runtime) as Runtime;
  return Object.assign(wrapped, {
    start: after(runtime.start.bind(runtime), bySpec),
    restart: after(runtime.restart.bind(runtime), bySpec),
    stop: after(runtime.stop.bind(runtime), byId),
    destroy: after(runtime.destroy.bind(runtime), byId),
    empty: after(runtime.empty.bind(runtime), byId),
    restoreReplacedFiles: after(runtime.restoreReplacedFiles.bind(runtime), byId),
    async reconcile(desired: NodeSpec[]) {
      const report = await runtime.reconcile(desired);
      for (const id of [...report.started, ...report.adopted, ...report.stopped, ...report.failed.map((f) => f.stationId)]) await record(id);
      // Nodes neither desired nor found: whatever the table says about them is stale.
      await db
        .updateTable('database_nodes')
        .set({ internal_bolt_port: null, internal_http_port: null })
        .where('station_id', 'not in', desired.length ? desired.map((d) => d.stationId) : [''])
        .execute();
      await options.sync();
      return report;
    },
    onEvent(listener: Parameters<Runtime['onEvent']>[0]) {
      return runtime.onEvent((event) => {
        // A node brought back after a crash listens on new ports.
        if (event.type === 'restarted' || event.type === 'exited' || event.type === 'gave-up') void record(event.stationId);
        listener(event);
      });
    },
  });
}
