// The data plane as one `serve()` extension: the local runtime (one graph-server process per database
// node), the database lifecycle (operations engine, routes, health) on top of it, and backups
// (snapshots, schedules, exports, imports, clones) plugged into the lifecycle's operations. The one place
// it is assembled: test servers call it too, with overrides (test/helpers/lifecycle.ts, backups.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackups, createBackupsStorage, type Backups, type BackupsSettings } from './backups.js';
import { createLifecycle, type Lifecycle, type LifecycleOptions } from './lifecycle.js';
import type { Extension, ExtensionDeps } from './serve.js';
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../runtimes/local/local-runtime.js';
import type { Runtime } from '../runtimes/runtime.js';
import type { BlobStore } from '../storage/blob-store.js';
import { standbyWaiting } from '../runtime-owner.js';
import { nodeOwner, privateDataDir } from '../runtimes/local/node-user.js';
import { attachRouter } from '../router/attach.js';

/** What a test server changes in the data plane; `serve` uses none. Config pieces go in through `deps.config`. */
export interface DataPlaneOverrides {
  /** Local runtime options over those the config gives (a test's graph-server command, shorter intervals; the nodes' user is config.runtime.nodeUser). */
  runtime?: Partial<Omit<LocalRuntimeOptions, 'rootDir' | 'nodeUser'>>;
  /** A layer between the control plane and the local runtime (a test injecting a failure). */
  wrapRuntime?(runtime: LocalRuntime): Runtime;
  lifecycle?: Pick<LifecycleOptions, 'settings' | 'pollIntervalMs'>;
  /** `false`: the lifecycle alone, no backups area. */
  backups?:
    | false
    | {
        /** Instead of the config's import settings. */
        settings?: BackupsSettings;
        /** Instead of the store ALLOTROPE_STORAGE_URL names. */
        blobStore?: BlobStore;
        /** Whether start() starts the schedule loop (default true; a test ticks it itself). */
        schedule?: boolean;
      };
  /** Sees the assembled parts before the extension is returned (a test reaches into them). */
  expose?(parts: DataPlaneParts): void | Promise<void>;
}

export interface DataPlaneParts {
  lifecycle: Lifecycle;
  /** Null with `backups: false`. */
  backups: Backups | null;
  /** The local runtime itself (under the router's port recording and any wrapRuntime layer). */
  runtime: LocalRuntime;
  blobStore: BlobStore | null;
}

export async function dataPlane(deps: ExtensionDeps, overrides: DataPlaneOverrides = {}): Promise<Extension> {
  const { config, store, clock, logger } = deps;
  const rootDir = join(config.dataDir, 'runtime');
  // Nodes of users of their own may pass through the data dir to their directories and see nothing else.
  if (nodeOwner(config.runtime.nodeUser, 'probe')) {
    await mkdir(join(rootDir, 'nodes'), { recursive: true });
    await privateDataDir(config.dataDir, join(rootDir, 'nodes'));
  }
  // The router owns the public ports and forwards to the nodes' loopback ports, which the runtime wrapper
  // records in the store (and pokes the router about) at every start and stop.
  const local = createLocalRuntime({
    rootDir,
    nodeUser: config.runtime.nodeUser,
    engines: { neo4j: config.engines.neo4j },
    queryCheckBudgetMs: config.runtime.queryCheckBudgetMs,
    logger: logger.child({ area: 'runtime' }),
    ...overrides.runtime,
  });
  const router = await attachRouter(deps, overrides.wrapRuntime ? overrides.wrapRuntime(local) : local);
  const runtime = router.runtime;
  const backupsOverrides = overrides.backups === false ? null : (overrides.backups ?? {});
  const blobStore = backupsOverrides
    ? (backupsOverrides.blobStore ?? createBackupsStorage({ config, clock, ...(config.backups.storageUrl ? { storageUrl: config.backups.storageUrl } : {}) }))
    : null;
  // The backups area enqueues operations that the lifecycle's engine runs; the engine exists only after.
  let wakeEngine = (): void => undefined;
  const backups =
    backupsOverrides && blobStore
      ? createBackups({
          config,
          store,
          clock,
          logger,
          runtime,
          blobStore,
          wake: () => wakeEngine(),
          settings: backupsOverrides.settings ?? { importHosts: config.backups.importHosts, importAllowHttp: config.backups.importAllowHttp },
        })
      : null;
  const lifecycle = await createLifecycle({
    config,
    store,
    clock,
    logger,
    runtime,
    endpointsChanged: router.poke,
    ...(backups ? { backups: backups.hooks, extraKinds: backups.kinds } : {}),
    ...overrides.lifecycle,
  });
  wakeEngine = () => lifecycle.engine.wake();
  await overrides.expose?.({ lifecycle, backups, runtime: local, blobStore });
  // Whether this instance owns the runtime (a standby's start is deferred until it takes over).
  let ranRuntime = false;
  let stopWatch = (): void => undefined;
  return {
    routes: backups ? [lifecycle.routes, backups.routes] : [lifecycle.routes],
    publicRoutes: backups ? [backups.downloadsRoute] : [],
    environmentInUse: lifecycle.environmentInUse,
    registerMetrics: router.registerMetrics,
    async start() {
      ranRuntime = true;
      await lifecycle.start();
      stopWatch = router.watch();
      if (backups && backupsOverrides?.schedule !== false) backups.scheduler.start();
    },
    async stop() {
      stopWatch();
      await backups?.scheduler.stop();
      await lifecycle.stop();
      // ALLOTROPE_ON_EXIT=stop (the default): a clean stop leaves no database process and no router behind;
      // the next start brings back those that should run. `keep`: both keep serving and the next start adopts
      // them (as after a crash). With a standby waiting on this data dir they keep serving too: it takes the
      // runtime over and adopts them. A standby that never ran the runtime leaves the owner's router alone.
      const handOver = !ranRuntime || (await standbyWaiting(store.db, config.dataDir, clock).catch(() => false));
      if (handOver && ranRuntime) logger.info('a standby control plane takes over: the router and the database processes keep running');
      await router.close({ keepServing: handOver });
    },
  };
}
