// Starts the control plane: data directory, logger, store (migrated), first-start bootstrap, the API.
// Other areas (operations, runtimes, scheduler) plug in through `extend`, which receives the same
// dependencies and returns routes plus start/stop hooks.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import { buildApp } from '../api/app.js';
import type { ApiInstance, RoutePlugin } from '../api/types.js';
import { TOKEN_PATH } from '../api/routes/auth.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ensureConsoleOwner } from '../auth/console-sessions.js';
import { bootstrapIfEmpty, type BootstrapResult } from '../domain/organizations.js';
import { openStore, type Store } from '../store/db.js';
import type { Registry } from 'prom-client';
import { ephemeralPortRange, overlap } from '../net/ephemeral-ports.js';

/** Secrets never reach the log, whatever a request or an error carries. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  '*.client_secret',
  '*.clientSecret',
  '*.password',
  '*.access_token',
  '*.accessToken',
  '*.secret',
  '*.token',
  'body',
];

// Query parameters whose values are never logged (a client may put credentials or a signed link's signature there).
const SECRET_QUERY = /secret|password|token|signature|credential|key/i;

/** The URL as logged: values of secret-looking query parameters replaced. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  // GET /organizations/oauth/token carries the credentials in the query: none of it is logged.
  if (decodeURIComponentSafe(url.slice(0, q)).replace(/\/+$/, '').toLowerCase() === TOKEN_PATH) return `${url.slice(0, q)}?[redacted]`;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return eq !== -1 && SECRET_QUERY.test(decodeURIComponentSafe(name)) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'allotrope' },
      // Replaces Fastify's request serializer (ours wins over its defaults) to scrub the query string.
      serializers: {
        req: (req: LoggedRequest) => ({ method: req.method, url: loggableUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
      },
    },
    destination,
  );
}

export interface ExtensionDeps {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
}

/** What another area adds to the running server. */
export interface Extension {
  routes?: RoutePlugin | RoutePlugin[];
  /** Routes served without a bearer token; each must carry its own credential check. */
  publicRoutes?: RoutePlugin[];
  environmentInUse?: (environmentId: string) => Promise<boolean>;
  readinessChecks?: Array<() => Promise<string | null>>;
  /** Registers the area's metrics on the API's Prometheus registry (served at /metrics). */
  registerMetrics?(registry: Registry): void;
  /** Called once the API listens. */
  start?(): Promise<void>;
  /** Called on shutdown, before the store closes. */
  stop?(): Promise<void>;
}

export interface ServeOptions {
  clock?: Clock;
  logger?: Logger;
  extend?: Array<(deps: ExtensionDeps) => Promise<Extension>>;
  /** Where the first-start credentials are shown; defaults to stdout. */
  announce?: (text: string) => void;
  /**
   * Serve the API but leave the extensions' start hooks (the runtime, operations, schedulers) until
   * `startExtensions()`: a standby instance waiting to own the runtime of a shared data dir.
   */
  deferStart?: boolean;
}

export interface RunningServer {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 */
  url: string;
  app: ApiInstance;
  store: Store;
  config: Config;
  /** Set on the first start of an empty store: the admin client created then. */
  bootstrap: BootstrapResult | null;
  /** Runs the extensions' start hooks (once); serve() does it itself unless `deferStart`. */
  startExtensions(): Promise<void>;
  close(): Promise<void>;
}

export function initialCredentialsPath(dataDir: string): string {
  return join(dataDir, 'initial-credentials');
}

function writeInitialCredentials(dataDir: string, result: BootstrapResult): string {
  const path = initialCredentialsPath(dataDir);
  const text = [
    `# Allotrope initial admin API client, created ${result.client.createdAt.toISOString()}.`,
    '# Keep this file secret; store the credentials elsewhere and delete it. Shell-sourceable.',
    `ALLOTROPE_CLIENT_ID=${result.client.clientId}`,
    `ALLOTROPE_CLIENT_SECRET=${result.clientSecret}`,
    `ALLOTROPE_ORGANIZATION_ID=${result.organization.id}`,
    `ALLOTROPE_ENVIRONMENT_ID=${result.environment.id}`,
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export function consoleCredentialsPath(dataDir: string): string {
  return join(dataDir, 'console-credentials');
}

function writeConsoleCredentials(dataDir: string, username: string, password: string, at: Date): string {
  const path = consoleCredentialsPath(dataDir);
  const text = [
    `# Allotrope web console owner account (sign in at /console), created ${at.toISOString()}.`,
    '# Keep this file secret; store the password elsewhere and delete it. Shell-sourceable.',
    `ALLOTROPE_CONSOLE_USERNAME=${username}`,
    `ALLOTROPE_CONSOLE_PASSWORD=${password}`,
    '',
  ].join('\n');
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export async function serve(config: Config, opts: ServeOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(config.storeUrl);
  const extensions: Extension[] = [];
  let app: ApiInstance | undefined;
  try {
    const announce = opts.announce ?? ((text: string) => process.stdout.write(text));
    const bootstrap = await bootstrapIfEmpty(store.db, { regions: config.regions, clock });
    if (bootstrap) {
      const path = writeInitialCredentials(config.dataDir, bootstrap);
      announce(
        [
          '',
          "Allotrope: first start. Created organization 'default', environment 'development' and an admin API client:",
          `  client_id:     ${bootstrap.client.clientId}`,
          `  client_secret: ${bootstrap.clientSecret}`,
          `Shown only this once; also written to ${path} (mode 0600).`,
          '',
          '',
        ].join('\n'),
      );
      logger.info({ clientId: bootstrap.client.clientId, organizationId: bootstrap.organization.id }, 'bootstrap: created default organization and admin client');
    }
    const owner = await ensureConsoleOwner(store.db, clock);
    if (owner) {
      const path = writeConsoleCredentials(config.dataDir, owner.username, owner.password, clock.now());
      announce(['Web console owner account (sign in at /console):', `  username: ${owner.username}`, `  password: ${owner.password}`, `Shown only this once; also written to ${path} (mode 0600).`, '', ''].join('\n'));
      logger.info({ username: owner.username, organizationId: owner.organizationId }, 'bootstrap: created the console owner account');
    }
    const risky = overlap(config.dbPorts, ephemeralPortRange());
    if (risky) {
      logger.warn(
        { dbPorts: `${config.dbPorts.first}-${config.dbPorts.last}`, ephemeral: ephemeralPortRange() },
        `ALLOTROPE_DB_PORTS overlaps this machine's ephemeral port range at ${risky.first}-${risky.last}: an outgoing connection can hold a database's port and keep it from starting; choose a range outside it`,
      );
    }
    for (const factory of opts.extend ?? []) extensions.push(await factory({ config, store, clock, logger }));
    app = await buildApp({
      config,
      store,
      clock,
      logger,
      routes: extensions.flatMap((e) => (e.routes === undefined ? [] : Array.isArray(e.routes) ? e.routes : [e.routes])),
      publicRoutes: extensions.flatMap((e) => e.publicRoutes ?? []),
      environmentInUse: async (id) => {
        for (const e of extensions) if (e.environmentInUse && (await e.environmentInUse(id))) return true;
        return false;
      },
      readinessChecks: extensions.flatMap((e) => e.readinessChecks ?? []),
    });
    for (const e of extensions) e.registerMetrics?.(app.apiMetrics.registry);
    await app.listen({ host: config.host, port: config.port });
    let started: Promise<void> | null = null;
    const startExtensions = (): Promise<void> =>
      (started ??= (async () => {
        for (const e of extensions) await e.start?.();
      })());
    if (!opts.deferStart) await startExtensions();
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `${config.tls ? 'https' : 'http'}://${host}:${address.port}`;
    logger.info({ url }, 'management API listening');
    const running = app;
    let closed = false;
    return {
      url,
      app: running,
      store,
      config,
      bootstrap,
      startExtensions,
      async close() {
        if (closed) return;
        closed = true;
        await started?.catch(() => undefined);
        for (const e of [...extensions].reverse()) await e.stop?.();
        await running.close();
        await store.close();
      },
    };
  } catch (err) {
    for (const e of [...extensions].reverse()) await e.stop?.().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
}
