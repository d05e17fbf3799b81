// `allotrope serve`: runs the control plane until SIGINT/SIGTERM; SIGHUP reloads the TLS certificate.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { Command } from 'commander';
import { FileClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { dataPlane } from '../server/data-plane.js';
import { findNeo4j } from '../engines/neo4j-install.js';
import { serve } from '../server/serve.js';
import { describeHolder, tryLockDataDir, waitForDataDir, type DataDirLock } from './data-dir-lock.js';
import { systemClock } from '../clock.js';
import { instanceId } from '../instance-id.js';
import { standbyLease } from '../runtime-owner.js';
import { storeDialectOf } from '../store/db.js';
import { askRouter } from '../router/control.js';
import { CliError } from './errors.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the management API (and everything plugged into it)')
    .option('--config <file>', 'JSON configuration file (environment variables override it)')
    .action(async (opts: { config?: string }) => {
      const config = loadConfig({ configFile: opts.config });
      // Neo4j versions are offered where the engine is installed and Java runs; Grafeo needs nothing.
      const neo4j = findNeo4j(config.engines.dir);
      config.engines.neo4j = neo4j.install;
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      let url: string | null = null;
      const holder = () => ({ pid: process.pid, url });
      const got = await tryLockDataDir(config.dataDir, holder);
      let lock: DataDirLock | null = 'heldBy' in got ? null : got;
      if (!lock && 'heldBy' in got) {
        // Only control planes sharing a PostgreSQL store may share a data dir: one owns the runtime, the others stand by.
        if (storeDialectOf(config.storeUrl) !== 'postgres') {
          throw new CliError(`the data dir ${config.dataDir} is in use by another allotrope serve (${describeHolder(got.heldBy)}); stop it first, or give this one its own ALLOTROPE_DATA_DIR`);
        }
      }
      const owner = got;
      let server;
      try {
        // Tests only: a clock the test moves through a file (billing across a SIGKILL needs hours to pass).
        const testClockFile = process.env.ALLOTROPE_TEST_CLOCK_FILE;
        server = await serve(config, { extend: [dataPlane], deferStart: lock === null, ...(testClockFile ? { clock: new FileClock(testClockFile) } : {}) });
        if (testClockFile) server.app.log.warn({ testClockFile }, 'ALLOTROPE_TEST_CLOCK_FILE is set: time comes from a file (for tests only)');
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${config.host}:${config.port}: address already in use (set ALLOTROPE_PORT)`);
        if (e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${config.host}:${config.port}: address not available on this machine (set ALLOTROPE_HOST)`);
        if (e.code === 'EACCES') throw new CliError(`cannot listen on ${config.host}:${config.port}: permission denied`);
        throw err;
      } finally {
        if (!server) await lock?.release();
      }
      const running = server;
      url = running.url;
      const standingBy = new AbortController();
      // Handlers before the "listening" line: whoever waits for it may send SIGTERM at once, which without a
      // handler would end this process on the spot and leave the router and the database processes running.
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.app.log.info({ signal }, 'shutting down');
        standingBy.abort();
        running.close().then(
          async () => {
            await lock?.release();
            process.exit(0);
          },
          (err: unknown) => {
            running.app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      // Said before "listening", so whoever waits for that line knows the role too.
      if (!lock && 'heldBy' in owner) process.stdout.write(`Allotrope: standing by: the databases of ${config.dataDir} are run by ${describeHolder(owner.heldBy)}; this instance takes over when it stops\n`);
      process.stdout.write(`Allotrope management API listening on ${running.url} (reference: ${running.url}/docs)\n`);
      if (!lock && 'heldBy' in owner) {
        const lease = standbyLease(running.store.db, config.dataDir, instanceId, systemClock);
        const renew = () => void lease.acquire().catch((err: unknown) => running.app.log.warn({ err }, 'could not renew the standby lease'));
        renew();
        const renewTimer = setInterval(renew, 1000);
        renewTimer.unref();
        void waitForDataDir(config.dataDir, holder, 200, standingBy.signal).then(async (taken) => {
          clearInterval(renewTimer);
          if (!taken) return;
          lock = taken;
          await lease.release().catch(() => undefined);
          const since = Date.now();
          try {
            await running.startExtensions();
          } catch (err) {
            running.app.log.error({ err }, 'taking over the runtime failed');
            process.exit(1);
          }
          running.app.log.info({ ms: Date.now() - since }, 'took over the runtime of the data dir');
          process.stdout.write(`Allotrope: this instance now runs the databases of ${config.dataDir}\n`);
        });
      }
      if (neo4j.install) running.app.log.info({ neo4j: neo4j.install.version, dir: neo4j.install.dir }, `Neo4j ${neo4j.install.version} engine found: new databases run on Neo4j by default`);
      else running.app.log.info({ enginesDir: config.engines.dir }, `only Grafeo versions are offered: ${neo4j.reason}`);
      process.on('SIGHUP', () => {
        // The router (its own process) reads its certificate again too: one reload for both.
        void askRouter<{ error?: string }>(config.dataDir, { op: 'reload-tls' }).then((reply) => {
          if (reply?.error) running.app.log.error({ err: reply.error }, 'router TLS certificate reload failed; it keeps the previous one');
        });
        if (!config.tls) return;
        try {
          (running.app.server as unknown as HttpsServer).setSecureContext({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) });
          running.app.log.info('TLS certificate reloaded');
        } catch (err) {
          running.app.log.error({ err: (err as Error).message }, 'TLS certificate reload failed; keeping the previous one');
        }
      });
    });
}
