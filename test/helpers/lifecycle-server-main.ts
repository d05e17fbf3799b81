// Child-process entry for crash tests: the management API with the lifecycle wired in, configured from
// ALLOTROPE_* variables. SIGTERM closes it cleanly; a test SIGKILLs it to simulate a crash.
import { loadConfig } from '../../src/config.js';
import { createLogger, serve } from '../../src/main.js';
import { lifecycleExtension } from './lifecycle.js';

const config = loadConfig({ env: process.env });
const running = await serve(config, {
  logger: createLogger(config.logLevel),
  extend: [lifecycleExtension({ leaseMs: Number(process.env.LIFECYCLE_TEST_LEASE_MS ?? 30_000), healthIntervalMs: 300 })],
  announce: () => undefined,
});
process.stdout.write(`lifecycle server listening on ${running.url}\n`);
process.once('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
