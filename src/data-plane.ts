// The data plane as one `serve()` extension: the local runtime (one graph-server process per database
// node), the database lifecycle (operations engine, routes, health) on top of it, and backups
// (snapshots, schedules, exports, imports, clones) plugged into the lifecycle's operations.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackups, createBackupsStorage } from './backups.js';
import { createLifecycle } from './lifecycle.js';
import type { Extension, ExtensionDeps } from './main.js';
import { createLocalRuntime } from './runtimes/local/local-runtime.js';
import { standbyWaiting } from './runtime-owner.js';
import { nodeOwner, privateDataDir } from './runtimes/local/node-user.js';

export async function dataPlane(deps: ExtensionDeps): Promise<Extension> {
  const { config, store, clock, logger } = deps;
  const rootDir = join(config.dataDir, 'runtime');
  // Nodes of users of their own may pass through the data dir to their directories and see nothing else.
  if (nodeOwner(config.runtime.nodeUser, 'probe')) {
    await mkdir(join(rootDir, 'nodes'), { recursive: true });
    await privateDataDir(config.dataDir, join(rootDir, 'nodes'));
  }
  const runtime = createLocalRuntime({ rootDir, nodeUser: config.runtime.nodeUser, engines: { neo4j: config.engines.neo4j }, logger: logger.child({ area: 'runtime' }) });
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
  const lifecycle = await createLifecycle({ config, store, clock, logger, runtime, backups: backups.hooks, extraKinds: backups.kinds });
  wakeEngine = () => lifecycle.engine.wake();
  return {
    routes: [lifecycle.routes, backups.routes],
    publicRoutes: [backups.downloadsRoute],
    environmentInUse: lifecycle.environmentInUse,
    async start() {
      await lifecycle.start();
      backups.scheduler.start();
    },
    async stop() {
      await backups.scheduler.stop();
      await lifecycle.stop();
      // A clean stop leaves no database process behind; the next start brings back those that should run.
      // (After a crash they keep serving, and the next start adopts them.) With a standby waiting on this
      // data dir they keep serving too: it takes the runtime over and adopts them.
      const handOver = await standbyWaiting(store.db, config.dataDir, clock).catch(() => false);
      if (handOver) logger.info('a standby control plane takes over: the database processes keep running');
      await runtime.close({ leaveRunning: handOver });
    },
  };
}
