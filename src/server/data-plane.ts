// The data plane as one `serve()` extension: the local runtime (one graph-server process per database
// node), the database lifecycle (operations engine, routes, health) on top of it, and backups
// (snapshots, schedules, exports, imports, clones) plugged into the lifecycle's operations.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackups, createBackupsStorage } from './backups.js';
import { createLifecycle } from './lifecycle.js';
import type { Extension, ExtensionDeps } from './serve.js';
import { createLocalRuntime } from '../runtimes/local/local-runtime.js';
import { standbyWaiting } from '../runtime-owner.js';
import { nodeOwner, privateDataDir } from '../runtimes/local/node-user.js';
import { attachRouter } from '../router/attach.js';

export async function dataPlane(deps: ExtensionDeps): Promise<Extension> {
  const { config, store, clock, logger } = deps;
  const rootDir = join(config.dataDir, 'runtime');
  // Nodes of users of their own may pass through the data dir to their directories and see nothing else.
  if (nodeOwner(config.runtime.nodeUser, 'probe')) {
    await mkdir(join(rootDir, 'nodes'), { recursive: true });
    await privateDataDir(config.dataDir, join(rootDir, 'nodes'));
  }
  // The router owns the public ports and forwards to the nodes' loopback ports, which the runtime wrapper
  // records in the store (and pokes the router about) at every start and stop.
  const router = await attachRouter(deps, createLocalRuntime({ rootDir, nodeUser: config.runtime.nodeUser, engines: { neo4j: config.engines.neo4j }, queryCheckBudgetMs: config.runtime.queryCheckBudgetMs, logger: logger.child({ area: 'runtime' }) }));
  const runtime = router.runtime;
  const blobStore = createBackupsStorage({ config, clock, ...(config.backups.storageUrl ? { storageUrl: config.backups.storageUrl } : {}) });
  // The backups area enqueues operations that the lifecycle's engine runs; the engine exists only after.
  let wakeEngine = (): void => undefined;
  const backups = createBackups({
    config,
    store,
    clock,
    logger,
    runtime,
    blobStore,
    wake: () => wakeEngine(),
    settings: { importHosts: config.backups.importHosts, importAllowHttp: config.backups.importAllowHttp },
  });
  const lifecycle = await createLifecycle({ config, store, clock, logger, runtime, backups: backups.hooks, extraKinds: backups.kinds, endpointsChanged: router.poke });
  wakeEngine = () => lifecycle.engine.wake();
  // Whether this instance owns the runtime (a standby's start is deferred until it takes over).
  let ranRuntime = false;
  let stopWatch = (): void => undefined;
  return {
    routes: [lifecycle.routes, backups.routes],
    publicRoutes: [backups.downloadsRoute],
    environmentInUse: lifecycle.environmentInUse,
    registerMetrics: router.registerMetrics,
    async start() {
      ranRuntime = true;
      await lifecycle.start();
      stopWatch = router.watch();
      backups.scheduler.start();
    },
    async stop() {
      stopWatch();
      await backups.scheduler.stop();
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
