// The control plane's half of the router, for serve's data plane (and test servers built the same way): make
// sure the data dir's router runs (adopting one that does), have the runtime record every node's loopback
// ports for it, show its counters on /metrics, and on a clean stop either stop it with the nodes
// (ALLOTROPE_ON_EXIT=stop) or leave both serving for the next serve to adopt (`keep`).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Runtime } from '../runtimes/runtime.js';
import type { Store } from '../store/db.js';
import { setTimeout as delay } from 'node:timers/promises';
import { askRouter } from './control.js';
import { registerRouterMetrics } from './metrics.js';
import { recordingEndpoints } from './node-endpoints.js';
import { ensureRouter, stopRouter } from './process.js';

/** How long a node start waits for a router that is still starting, and for the router to serve a new table. */
const ROUTER_START_WAIT_MS = 20_000;
const SYNC_TIMEOUT_MS = 10_000;
/** How often the owner checks the recorded node ports and the router (see AttachedRouter.watch). */
const WATCH_MS = 2_000;

export interface AttachedRouter<R extends Runtime> {
  /** `runtime`, recording node ports for the router. */
  runtime: Runtime;
  registerMetrics(registry: Registry): void;
  /** Tells the router to re-read its table now; resolves once it serves it (bounded). */
  poke(): Promise<void>;
  /**
   * While this instance owns the runtime: every WATCH_MS, record again any node whose ports in the store are
   * not where it listens now (a missed event must not leave a database unroutable), and start the router
   * again if it stopped answering. Returns the stop function.
   */
  watch(): () => void;
  /** Closes the runtime and, unless onExit is `keep` (or `keepServing`: a standby takes over), stops the nodes and the router. */
  close(options?: { keepServing?: boolean }): Promise<void>;
  inner: R;
}

export async function attachRouter<R extends Runtime>(deps: { config: Config; store: Store; logger: Logger }, runtime: R): Promise<AttachedRouter<R>> {
  const { config, store, logger } = deps;
  // A new router starts alongside the API (not awaited: its start-up would add to serve's); it reads the
  // endpoint table when it is up, so nothing is lost meanwhile.
  let router = await ensureRouter(config, { wait: false });
  if (router.adopted) logger.info({ pid: router.pid }, 'router adopted');
  else
    router.ready.then(
      (pid) => logger.info({ pid }, 'router started'),
      (err: unknown) => logger.error({ err: (err as Error).message }, 'the router did not start: databases are not reachable until it runs'),
    );
  async function sync(): Promise<void> {
    // A router still starting reads the whole table when it is up; one that never comes up is logged above.
    const up = await Promise.race([router.ready.then(() => true, () => false), delay(ROUTER_START_WAIT_MS, false)]);
    if (up) await askRouter(config.dataDir, { op: 'sync' }, SYNC_TIMEOUT_MS);
  }
  async function checkOnce(): Promise<void> {
    if (!(await askRouter(config.dataDir, { op: 'ping' }, 1_000))) {
      // A router only slow to answer keeps its lock, and the one started here then exits: nothing changes.
      const again = await ensureRouter(config, { wait: false });
      if (!again.adopted) {
        again.ready.then(
          (pid) => {
            router = again;
            logger.warn({ pid }, 'the router had stopped answering: started it again');
          },
          () => undefined,
        );
      }
    }
    const rows = await store.db.selectFrom('database_nodes').select(['station_id', 'internal_bolt_port', 'internal_http_port']).execute();
    let changed = false;
    for (const row of rows) {
      const ports = await runtime.endpoint(row.station_id).catch(() => null);
      const bolt = ports?.boltPort ?? null;
      const http = ports?.httpPort ?? null;
      if (bolt === row.internal_bolt_port && http === row.internal_http_port) continue;
      await store.db.updateTable('database_nodes').set({ internal_bolt_port: bolt, internal_http_port: http }).where('station_id', '=', row.station_id).execute();
      changed = true;
    }
    if (changed) await sync();
  }
  return {
    inner: runtime,
    watch() {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        checkOnce()
          .catch((err: unknown) => logger.warn({ err }, 'checking the router and the recorded node ports failed'))
          .finally(() => (running = false));
      }, WATCH_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
    runtime: recordingEndpoints(runtime, {
      db: store.db,
      sync,
      onError: (err, stationId) => logger.warn({ err, stationId }, "could not record a node's ports for the router"),
    }),
    registerMetrics: (registry) => registerRouterMetrics(registry, config.dataDir),
    poke: sync,
    async close(options = {}) {
      const keep = config.onExit === 'keep' || options.keepServing === true;
      await runtime.close({ leaveRunning: keep });
      if (keep) return;
      // A router still starting would otherwise come up after this stop and stay.
      await router.ready.catch(() => undefined);
      await stopRouter(config.dataDir);
    },
  };
}
