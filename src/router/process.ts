// `allotrope router`: the router as its own process, one per data dir (a lock like serve's), reading the same
// configuration as serve. `serve` starts it detached when none runs (ensureRouter) and adopts a running one,
// so restarting the API drops no database connection. It stops on SIGTERM/SIGINT or a `stop` request on its
// control socket (serve sends one when it exits with ALLOTROPE_ON_EXIT=stop).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { lockDataDir } from '../cli/data-dir-lock.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { autoResumeDatabase, databaseDepsFrom } from '../domain/databases.js';
import { createLogger } from '../server/serve.js';
import { openStore } from '../store/db.js';
import { askRouter, controlSocketPath, serveControl, type RouterPing } from './control.js';
import { createRouter } from './router.js';
import { createRouterTls, routerTlsOptions } from './tls.js';

/** How often a router checks that its data dir still exists. */
const DATA_DIR_CHECK_MS = 5_000;

export async function runRouterProcess(config: Config): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger(config.logLevel).child({ area: 'router' });
  const lock = await lockDataDir(config.dataDir, () => ({ pid: process.pid, url: null }), 'router');
  const store = await openStore(config.storeUrl);
  const deps = databaseDepsFrom(config, { db: store.db, clock: systemClock, wake: () => undefined });
  // TLS (docs/tls.md): on every database port next to plain connections, and on one shared port by SNI.
  const tlsOptions = routerTlsOptions(config);
  const tls = tlsOptions ? await createRouterTls(tlsOptions) : null;
  const router = createRouter({
    db: store.db,
    logger,
    host: config.host,
    publicHost: config.publicHost,
    tls,
    tlsPort: config.routerTls.port,
    trustedProxies: config.trustedProxies,
    autoResumeWaitMs: config.router.autoResumeWaitMs,
    switchDrainMs: config.router.switchDrainMs,
    autoResume: (databaseId) => autoResumeDatabase(deps, databaseId),
  });
  await router.start();
  const startedAt = new Date().toISOString();
  let stopping: Promise<void> | null = null;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ why }, 'router stopping');
      control.close();
      await router.close();
      await store.close();
      await lock.release();
      rmSync(controlSocketPath(config.dataDir), { force: true });
      process.exit(0);
    })());
  // A socket file left by a killed router would make listen fail; the lock proves nobody uses it.
  rmSync(controlSocketPath(config.dataDir), { force: true });
  const control = await serveControl(config.dataDir, (request) => {
    switch (request.op) {
      case 'ping':
        return { pid: process.pid, dataDir: realpathSync(config.dataDir), startedAt } satisfies RouterPing;
      case 'poke':
        void router.refresh();
        return { ok: true };
      case 'sync':
        // Answered once the store's endpoint table, as it is now, is what the router serves.
        return router.refresh().then(() => ({ ok: true }));
      case 'metrics':
        return router.metrics();
      case 'reload-tls':
        if (!tls) return { ok: true, tls: false };
        return tls.reload().then(
          () => ({ ok: true, tls: true }),
          (err: unknown) => ({ error: (err as Error).message }),
        );
      case 'stop':
        setImmediate(() => void stop('asked over the control socket'));
        return { ok: true };
      default:
        return { error: 'unknown op' };
    }
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A data dir deleted under a router (a removed install, a test's temporary dir) leaves it nothing to serve.
  const gone = setInterval(() => {
    if (!existsSync(config.dataDir)) void stop('its data dir was removed');
  }, DATA_DIR_CHECK_MS);
  gone.unref();
  // SIGHUP reloads the TLS certificate (a broken file keeps the one in use). The terminal or service manager
  // that started serve does not take the router down with it: a hang-up is nothing more.
  process.on('SIGHUP', () => {
    if (!tls) return;
    tls.reload().then(
      () => logger.info('router TLS certificate reloaded'),
      (err: unknown) => logger.error({ err: (err as Error).message }, 'router TLS certificate reload failed; keeping the previous one'),
    );
  });
  logger.info({ pid: process.pid, ports: router.ports().length }, 'router ready');
  process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`);
}

export interface EnsureRouterOptions {
  timeoutMs?: number;
  /**
   * Resolve as soon as a new router is spawned (default: once it answers). Its start-up then overlaps the
   * API's; `ready` settles when it answers (or rejects after `timeoutMs`).
   */
  wait?: boolean;
}

/** Where serve leaves its resolved configuration for the router it starts (same settings, however given). */
export function routerConfigPath(dataDir: string): string {
  return join(dataDir, 'router-config.json');
}

/** Asks the data dir's router to stop and waits until it no longer answers. */
export async function stopRouter(dataDir: string, timeoutMs = 10_000): Promise<void> {
  if (!(await askRouter(dataDir, { op: 'stop' }))) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await askRouter(dataDir, { op: 'ping' }, 500))) await delay(25);
}

/** Adopts the data dir's running router, or starts one detached; resolves with its pid once it answers. */
export async function ensureRouter(config: Config, options: EnsureRouterOptions = {}): Promise<{ pid: number; adopted: boolean; ready: Promise<number> }> {
  const running = await askRouter<RouterPing>(config.dataDir, { op: 'ping' });
  if (running?.pid) return { pid: running.pid, adopted: true, ready: Promise.resolve(running.pid) };
  const fromTypeScript = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../cli/main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));
  const loader = fromTypeScript ? ['--import', import.meta.resolve('tsx')] : [];
  const logFile = join(config.dataDir, 'router.log');
  // The router never reaches the blob store: the S3 keys stay out of the file.
  const forRouter: Config = { ...config, backups: { ...config.backups, s3: { ...config.backups.s3, credentials: null } } };
  writeFileSync(routerConfigPath(config.dataDir), `${JSON.stringify(forRouter)}\n`, { mode: 0o600 });
  const fd = openSync(logFile, 'a', 0o600);
  let pid = 0;
  try {
    const child = spawn(process.execPath, [...loader, main, 'router', '--resolved-config', routerConfigPath(config.dataDir)], {
      // Its own session: no terminal signal or service-manager stop of serve reaches it.
      detached: true,
      stdio: ['ignore', fd, fd],
      env: process.env,
      cwd: process.cwd(),
    });
    child.unref();
    pid = child.pid ?? 0;
  } finally {
    closeSync(fd);
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ping = await askRouter<RouterPing>(config.dataDir, { op: 'ping' }, 1_000);
      if (ping?.pid) return ping.pid;
      await delay(50);
    }
    throw new Error(`the router did not start within ${timeoutMs} ms; see ${logFile}`);
  })();
  if (options.wait === false) {
    ready.catch(() => undefined);
    return { pid, adopted: false, ready };
  }
  return { pid: await ready, adopted: false, ready };
}
