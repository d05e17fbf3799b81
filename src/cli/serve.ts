// `allotrope serve`: runs the control plane until SIGINT/SIGTERM; SIGHUP reloads the TLS certificate.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { dataPlane } from '../data-plane.js';
import { findNeo4j } from '../engines/neo4j-install.js';
import { serve } from '../main.js';
import { lockDataDir } from './data-dir-lock.js';
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
      const lock = await lockDataDir(config.dataDir, () => ({ pid: process.pid, url }));
      let server;
      try {
        server = await serve(config, { extend: [dataPlane] });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${config.host}:${config.port}: address already in use (set ALLOTROPE_PORT)`);
        if (e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${config.host}:${config.port}: address not available on this machine (set ALLOTROPE_HOST)`);
        if (e.code === 'EACCES') throw new CliError(`cannot listen on ${config.host}:${config.port}: permission denied`);
        throw err;
      } finally {
        if (!server) await lock.release();
      }
      const running = server;
      url = running.url;
      process.stdout.write(`Allotrope management API listening on ${running.url} (reference: ${running.url}/docs)\n`);
      if (neo4j.install) running.app.log.info({ neo4j: neo4j.install.version, dir: neo4j.install.dir }, `Neo4j ${neo4j.install.version} engine found: new databases run on Neo4j by default`);
      else running.app.log.info({ enginesDir: config.engines.dir }, `only Grafeo versions are offered: ${neo4j.reason}`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.app.log.info({ signal }, 'shutting down');
        running.close().then(
          async () => {
            await lock.release();
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
