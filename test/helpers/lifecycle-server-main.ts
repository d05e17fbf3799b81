// Child-process entry for the lifecycle crash test: the management API with the lifecycle ONLY (no backups,
// so terminating a database takes no final snapshot, unlike `allotrope serve`), configured like
// `allotrope serve` from ALLOTROPE_* variables and `--config <file>`. SIGTERM closes it cleanly; a test
// SIGKILLs it to simulate a crash. Started by control-plane-process.ts.
import { loadConfig } from '../../src/config.js';
import { createLogger, serve } from '../../src/main.js';
import { lifecycleExtension } from './lifecycle.js';

const at = process.argv.indexOf('--config');
const config = loadConfig({ env: process.env, ...(at >= 0 ? { configFile: process.argv[at + 1] } : {}) });
const running = await serve(config, {
  logger: createLogger(config.logLevel),
  extend: [lifecycleExtension({ leaseMs: config.operations.leaseMs, healthIntervalMs: config.runtime.healthIntervalMs })],
  announce: () => undefined,
});
process.stdout.write(`lifecycle test server: management API listening on ${running.url}\n`);
process.once('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
