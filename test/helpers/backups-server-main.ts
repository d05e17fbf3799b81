// Child-process entry for crash tests of the backups area: the management API with lifecycle and
// backups wired in (local blob store), configured from ALLOTROPE_* variables. SIGTERM closes it
// cleanly; a test SIGKILLs it to simulate a crash.
import { loadConfig } from '../../src/config.js';
import { createLogger, serve } from '../../src/main.js';
import { backupsExtension } from './backups.js';

const config = loadConfig({ env: process.env });
const running = await serve(config, {
  logger: createLogger(config.logLevel),
  extend: [backupsExtension({ downloadsUrl: 'http://127.0.0.1:9', downloadSecret: 'x'.repeat(64) })],
  announce: () => undefined,
});
process.stdout.write(`backups server listening on ${running.url}\n`);
process.once('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
