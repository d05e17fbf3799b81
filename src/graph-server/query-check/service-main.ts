// The query-check service's process (service.ts), started detached by the first graph-server that
// needs it: `node service-main.js <socket path> <idle exit ms> [workers] [shared]`. Logs one line per event to stderr.
import { startQueryCheckService } from './service.js';

const [socketPath, idle, workers, shared] = process.argv.slice(2);
if (!socketPath || !idle || !/^\d+$/.test(idle)) {
  process.stderr.write('usage: service-main <socket path> <idle exit ms> [workers] [shared]\n');
  process.exit(2);
}
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} query-check[${process.pid}] ${msg}\n`);
const service = await startQueryCheckService({
  socketPath,
  idleExitMs: Number(idle),
  workers: workers ? Number(workers) : 1,
  shared: shared === 'shared',
  log,
}).catch((err: Error) => {
  log(`cannot start: ${err.message}`);
  process.exit(1);
});
if (!service) {
  log('another query check service serves this socket; exiting');
  process.exit(0);
}
log(`serving ${socketPath}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void service.close());
await service.closed;
process.exit(0);
