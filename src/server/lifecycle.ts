// The database lifecycle as one unit for src/server/serve.ts: the operations engine with the database operation
// kinds, the routes, runtime-event and health bookkeeping, and the start-up order that makes a crash of
// the control plane harmless: recover operations → reconcile the runtime → start workers → poll health.
//
// Wiring (an `extend` factory of serve()):
//   const runtime = createLocalRuntime({ rootDir: join(config.dataDir, 'runtime'), logger });
//   const lifecycle = await createLifecycle({ config, store, clock, logger, runtime });
//   return { routes: [lifecycle.routes], environmentInUse: lifecycle.environmentInUse,
//            start: () => lifecycle.start(), stop: async () => { await lifecycle.stop(); await runtime.close(); } };
// stop() only stops the workers; whether database processes outlive the control plane is the runtime's
// close() policy (`leaveRunning`), and reconcile adopts them at the next start either way.
import type { Caller } from '../auth/caller.js';
import type { Logger } from 'pino';
import type { RoutePlugin } from '../api/types.js';
import { databaseRoutes } from '../api/routes/databases.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SettingDefinition } from '../domain/database-settings.js';
import { TRANSITIONS, databaseDepsFrom, environmentHoldsDatabases } from '../domain/databases.js';
import { switchConnectionUrlKind } from '../operations/kinds/switch-url.js';
import { meterSettledDatabases, recordUsageEvent } from '../domain/usage-meter.js';
import { createAccessSync } from '../scheduler/access-sync.js';
import { autoPausePass } from '../scheduler/auto-pause.js';
import { OperationsEngine } from '../operations/engine.js';
import type { OperationKind, StepContext } from '../operations/kind.js';
import { databaseOperationKinds } from '../operations/kinds/databases.js';
import { nodeAccessOf, nodeSpecsOf } from '../domain/node-specs.js';
import type { NodeHealth, NodeSpec, Runtime, RuntimeEvent } from '../runtimes/runtime.js';
import type { Store } from '../store/db.js';
import { LeaderLease } from '../store/leader-lease.js';

export interface LifecycleOptions {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  runtime: Runtime;
  /** Keys `settings/config` accepts; default: the runtime's own catalogue. */
  settings?: readonly SettingDefinition[];
  /** Hooks of the backups area (final snapshot on terminate, seeding from a snapshot on create). */
  backups?: {
    finalSnapshot?(ctx: StepContext): Promise<string | void>;
    restoreSnapshot?(ctx: StepContext, stationId: string, snapshotId: string): Promise<string | void>;
    snapshotUsable?(caller: Caller, snapshotId: string): Promise<boolean>;
  };
  /** Operation kinds of other areas (snapshot, export, restore, import) run by the same engine. */
  extraKinds?: readonly OperationKind[];
  /** Tells the router its endpoint table changed (a switch); it also polls, so this only makes it immediate. */
  endpointsChanged?(): void | Promise<void>;
  /** How often idle workers look for operations enqueued elsewhere (default 1 s). */
  pollIntervalMs?: number;
}

export interface Lifecycle {
  routes: RoutePlugin;
  start(): Promise<void>;
  stop(): Promise<void>;
  engine: OperationsEngine;
  /** For buildApp's `environmentInUse`: an environment holding live databases cannot be deleted. */
  environmentInUse(environmentId: string): Promise<boolean>;
  /** One health pass now (tests; the timer calls it every `config.runtime.healthIntervalMs`). */
  checkHealth(): Promise<void>;
}

export async function createLifecycle(options: LifecycleOptions): Promise<Lifecycle> {
  const { config, store, clock, runtime } = options;
  const db = store.db;
  const logger = options.logger.child({ area: 'lifecycle' });
  const nodeHost = config.host;
  const afterStates = Object.fromEntries(Object.entries(TRANSITIONS).map(([action, t]) => [action, t.after])) as Record<keyof typeof TRANSITIONS, string | null>;

  const engine = new OperationsEngine({
    db,
    clock,
    logger,
    kinds: [
      ...databaseOperationKinds({ runtime, nodeHost, afterStates, ...options.backups }),
      switchConnectionUrlKind({ endpointsChanged: options.endpointsChanged ?? (() => undefined), tlsPublicHost: config.routerTls.mode === 'off' ? null : config.publicHost }),
      ...(options.extraKinds ?? []),
    ],
    concurrency: config.operations.concurrency,
    leaseMs: config.operations.leaseMs,
    pollIntervalMs: options.pollIntervalMs,
    // The embedded SQLite store has exactly one control plane, so claims found at start are a dead process's.
    singleInstance: store.dialect === 'sqlite',
    // Several control planes share a PostgreSQL store: concurrent claims pass over each other's rows.
    skipLocked: store.dialect === 'postgres',
    onOperationEnd: (trx, databaseId, now) => recordUsageEvent(trx, databaseId, now, config.billing),
  });

  const databases = databaseDepsFrom(config, {
    db,
    clock,
    wake: () => engine.wake(),
    ...(options.backups?.snapshotUsable ? { snapshotUsable: options.backups.snapshotUsable } : {}),
  });
  const routes = databaseRoutes({
    db,
    clock,
    databases,
    users: { db, clock, runtime, logger },
    settings: { db, clock, settings: options.settings ?? runtime.settings },
  });

  // Databases an exclusive operation holds right now (a subquery; Kysely builders are immutable, so one serves all).
  const busy = db.selectFrom('operations').select('database_id').where('status', '=', 'started').where('exclusive', '=', 1);

  async function databaseOfStation(stationId: string): Promise<string | undefined> {
    const row = await db.selectFrom('database_nodes').select('database_id').where('station_id', '=', stationId).executeTakeFirst();
    return row?.database_id;
  }

  // What the runtime reports unasked: a dead or unhealthy process shows as `underIncident` until it is back.
  async function onRuntimeEvent(event: RuntimeEvent): Promise<void> {
    const databaseId = await databaseOfStation(event.stationId);
    if (!databaseId) return;
    const incident = event.type === 'exited' || event.type === 'unhealthy' || event.type === 'gave-up';
    const health = event.type === 'exited' || event.type === 'gave-up' ? 'stopped' : incident ? 'unhealthy' : 'healthy';
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('databases')
        .set({
          under_incident: incident ? 1 : 0,
          health_status: health,
          health_checked_at: clock.now().toISOString(),
          // Nobody brings the node back any more: `running` would contradict the process. A restart revives it.
          ...(event.type === 'gave-up' ? { state: 'failed' } : {}),
        })
        .where('id', '=', databaseId)
        .where('state', '=', 'running')
        .where('id', 'not in', busy)
        .execute();
      if (event.type === 'gave-up') await recordUsageEvent(trx, databaseId, clock.now(), config.billing);
    });
    logger[incident ? 'warn' : 'info']({ databaseId, stationId: event.stationId, event: event.type, detail: event.detail }, `database node ${event.type}`);
  }

  const accessSync = createAccessSync({ db, runtime, logger, nodeHost, startedAt: clock.now() });

  async function checkHealth(): Promise<void> {
    const now = clock.now();
    // Auto-pause counts idleness from the router's view (src/scheduler/auto-pause.ts).
    const paused = new Set(await autoPausePass({ db, clock, logger, databases }).catch((err: unknown) => (logger.error({ err }, 'auto-pause pass failed'), [] as string[])));
    const rows = await db.selectFrom('databases').select('id').where('state', '=', 'running').where('id', 'not in', busy).execute();
    for (const { id } of rows) {
      if (paused.has(id)) continue;
      const nodes = await db.selectFrom('database_nodes').select('station_id').where('database_id', '=', id).execute();
      const healths: NodeHealth[] = await Promise.all(nodes.map((n) => runtime.health(n.station_id).catch(() => ({ status: 'unhealthy' as const, checkedAt: now }))));
      const status = healths.every((h) => h.status === 'healthy') ? 'healthy' : healths.some((h) => h.status === 'stopped') ? 'stopped' : 'unhealthy';
      await db
        .updateTable('databases')
        .set({ health_status: status, health_checked_at: clock.now().toISOString(), under_incident: status === 'healthy' ? 0 : 1 })
        .where('id', '=', id)
        .where('state', '=', 'running')
        // An operation that began meanwhile (empty, plan change) may stop the node on purpose.
        .where('id', 'not in', busy)
        .execute();
    }
    await accessSync.pass(now);
  }

  let unsubscribe: (() => void) | null = null;
  let healthTimer: NodeJS.Timeout | null = null;
  let healthRunning = false;
  // One health pass at a time across control planes sharing the store (taken over when the holder stops renewing).
  const healthLease = new LeaderLease(db, 'health', engine.workerId, Math.max(3 * config.runtime.healthIntervalMs, 10_000), clock);

  return {
    routes,
    engine,
    environmentInUse: (environmentId) => environmentHoldsDatabases(db, environmentId),
    checkHealth,
    async start() {
      unsubscribe = runtime.onEvent((event) => {
        onRuntimeEvent(event).catch((err: unknown) => logger.error({ err }, 'recording a runtime event failed'));
      });
      const recovery = await engine.recover();
      if (recovery.released.length > 0) logger.warn({ operations: recovery.released }, 'resuming operations interrupted by the last stop');
      // Databases meant to run are started or adopted; every other node is stopped. Databases in a
      // transient state are left to their (resumed) operation, whose current step is re-run.
      const running = await db.selectFrom('databases').select('id').where('state', '=', 'running').execute();
      const desired: NodeSpec[] = [];
      for (const { id } of running) {
        const access = await nodeAccessOf(db, id, clock.now());
        for (const spec of await nodeSpecsOf(db, id, nodeHost)) {
          await runtime.writeUsers(spec.stationId, access);
          desired.push(spec);
        }
      }
      const report = await runtime.reconcile(desired);
      for (const failure of report.failed) {
        logger.error({ stationId: failure.stationId, error: failure.error }, 'a database node could not be started at start-up');
        await onRuntimeEvent({ stationId: failure.stationId, type: 'gave-up', detail: failure.error });
      }
      logger.info({ started: report.started.length, adopted: report.adopted.length, stopped: report.stopped.length }, 'runtime reconciled');
      const metered = await meterSettledDatabases(db, clock.now(), config.billing);
      if (metered > 0) logger.info({ databases: metered }, 'usage meter started for databases that had none or disagreed with their state');
      engine.start();
      engine.wake();
      healthTimer = setInterval(() => {
        if (healthRunning) return;
        healthRunning = true;
        healthLease
          .acquire()
          .then((leader) => (leader ? checkHealth() : undefined))
          .catch((err: unknown) => logger.error({ err }, 'health pass failed'))
          .finally(() => (healthRunning = false));
      }, config.runtime.healthIntervalMs);
      healthTimer.unref();
    },
    async stop() {
      if (healthTimer) clearInterval(healthTimer);
      healthTimer = null;
      await healthLease.release().catch((err: unknown) => logger.warn({ err }, 'could not release the health lease'));
      unsubscribe?.();
      unsubscribe = null;
      await engine.stop();
    },
  };
}
