// The data plane as one `serve()` extension: the local runtime (one graph-server process per database
// node) and the database lifecycle (operations engine, routes, health) on top of it.
import { join } from 'node:path';
import type { Extension, ExtensionDeps } from './main.js';
import { createLifecycle } from './lifecycle.js';
import { createLocalRuntime } from './runtimes/local/local-runtime.js';

export async function dataPlane(deps: ExtensionDeps): Promise<Extension> {
  const { config, store, clock, logger } = deps;
  const runtime = createLocalRuntime({ rootDir: join(config.dataDir, 'runtime'), logger: logger.child({ area: 'runtime' }) });
  const lifecycle = await createLifecycle({ config, store, clock, logger, runtime });
  return {
    routes: [lifecycle.routes],
    environmentInUse: lifecycle.environmentInUse,
    start: () => lifecycle.start(),
    async stop() {
      await lifecycle.stop();
      // A clean stop leaves no database process behind; the next start brings back those that should run.
      // (After a crash they keep serving, and the next start adopts them.)
      await runtime.close();
    },
  };
}
