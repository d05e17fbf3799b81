// One graph-server: the Grafeo engine of one data dir behind Bolt, the Query API and the admin
// channel. `runGraphServer` wires them and returns a handle; the CLI adds signals and the ready line.
import { mkdir } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { startAdminServer, type AdminServer, type QueryCheckAdminStats } from './admin.js';
import { createBoltServer, NEO4J_VERSION, type BoltServerOptions } from './bolt/server.js';
import { closeServer, listen } from './listening.js';
import { openGrafeoEngine, type GrafeoEngine, type QueryCheck, type StuckQueryPolicy } from './engines/grafeo/engine.js';
import { createHttpServer } from './http/server.js';
import type { QueryChecker, QueryCheckerOptions } from './query-check/index.js';
import { releaseMemoryWhenIdle } from './idle-memory.js';
import { UsersFile } from './users.js';

export interface GraphServerOptions {
  dataDir: string;
  boltPort: number;
  httpPort: number;
  usersFile: string;
  /** The only directory `LOAD CSV FROM 'file:///…'` may read (created if missing); none: file URLs are refused. */
  importDir?: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Refuse every write, whoever the user. */
  readOnly?: boolean;
  /** Host clients should use in ROUTE answers and discovery (default: host, or 127.0.0.1 for 0.0.0.0/::). */
  advertisedHost?: string;
  /** A custom check before the engine sees a query (tests); wins over `queryCheck`. */
  checkQuery?: QueryCheck;
  /**
   * Run Neo4j's Cypher front-end before the engine (src/graph-server/query-check): its errors
   * refuse a query as Neo4j would, its warnings become notifications. Off by default here (the
   * worker costs ~270 MiB and about a second of CPU at start); the `graph-server` command turns
   * it on with a budget of DEFAULT_QUERY_CHECK_BUDGET_MS. `{budgetMs: 0}` is off.
   */
  queryCheck?: boolean | QueryCheckerOptions;
  logger?: Logger;
  usersPollIntervalMs?: number;
  /** What to do about a query still running long after its timeout (see StuckQueryPolicy). */
  stuckQuery?: StuckQueryPolicy;
  /** Bolt limits: authentication deadline and connection caps (defaults in bolt/server.ts). */
  bolt?: Pick<BoltServerOptions, 'authTimeoutMs' | 'maxConnections' | 'maxUnauthenticatedConnections'>;
  /** Neo4j Browser's static files, served on the HTTP port under /browser/. */
  browserDir?: string;
  /**
   * Run a full garbage collection once the server is idle after a burst (src/graph-server/idle-memory.ts). The
   * `graph-server` command turns it on; off by default here, where the process may be a test's own.
   */
  releaseMemoryWhenIdle?: boolean | { intervalMs: number };
}

/** The `graph-server` command's default time budget of a new query's check. */
export const DEFAULT_QUERY_CHECK_BUDGET_MS = 100;

export interface GraphServerHandle {
  boltPort: number;
  httpPort: number;
  adminSocket: string;
  databaseId: string;
  engine: GrafeoEngine;
  users: UsersFile;
  /** The query check's counters (all 0 and `enabled: false` when it is off). */
  queryCheckStats(): QueryCheckAdminStats;
  /** Stops listening, rolls back open transactions, checkpoints and closes the database. */
  close(): Promise<void>;
}

export async function runGraphServer(opts: GraphServerOptions): Promise<GraphServerHandle> {
  const started = Date.now();
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? pino({ name: 'graph-server' }, pino.destination(2));
  const advertisedHost = opts.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

  const users = await UsersFile.open({ file: opts.usersFile, logger, pollIntervalMs: opts.usersPollIntervalMs });
  let checker: QueryChecker | null = null;
  const checkOptions = typeof opts.queryCheck === 'object' ? opts.queryCheck : {};
  let checkerReady = false;
  if (!opts.checkQuery && opts.queryCheck && checkOptions.budgetMs !== 0) {
    // Loaded only when asked for: the checker brings Neo4j's Cypher front-end with it.
    const { createQueryChecker } = await import('./query-check/index.js');
    checker = createQueryChecker({ logger, ...checkOptions });
    void checker.ready().then(() => {
      checkerReady = true;
      logger.info({}, 'query check ready');
    });
  }
  const queryCheckStats = (): QueryCheckAdminStats => {
    const s = checker?.stats();
    return {
      enabled: checker !== null,
      budgetMs: checker ? (checkOptions.budgetMs ?? DEFAULT_QUERY_CHECK_BUDGET_MS) : 0,
      ready: checkerReady,
      checked: s?.checked ?? 0,
      cacheHits: s?.cacheHits ?? 0,
      overBudget: s?.overBudget ?? 0,
      refused: s?.refused ?? 0,
      workers: s?.workers ?? 0,
    };
  };
  const checkQuery = opts.checkQuery ?? (checker ? (query: string) => checker!.check(query) : undefined);
  // The real ports once listening (0 picks one); the engine's shims and ROUTE answers read them.
  let boltPort = opts.boltPort;
  let httpPort = opts.httpPort;
  let engine: GrafeoEngine;
  try {
    if (opts.importDir) await mkdir(opts.importDir, { recursive: true, mode: 0o750 });
    engine = await openGrafeoEngine({
      dataDir: opts.dataDir,
      readOnly: opts.readOnly,
      checkQuery,
      shims: { boltAddress: () => `${advertisedHost}:${boltPort}` },
      ...(opts.stuckQuery ? { stuckQuery: opts.stuckQuery } : {}),
      ...(opts.importDir ? { importDir: opts.importDir } : {}),
    });
  } catch (err) {
    users.close();
    await checker?.close();
    throw err;
  }

  const bolt = createBoltServer({
    engine,
    authenticator: users,
    advertisedAddress: () => `${advertisedHost}:${boltPort}`,
    logger,
    allowConnection: (address) => users.allows(address),
    ...opts.bolt,
  });
  const http = createHttpServer({
    engine,
    authenticator: users,
    boltAddress: () => `${advertisedHost}:${boltPort}`,
    neo4jVersion: NEO4J_VERSION,
    logger,
    allowConnection: (address) => users.allows(address),
    ...(opts.browserDir ? { browserDir: opts.browserDir } : {}),
  });
  let admin: AdminServer | null = null;
  const idle = opts.releaseMemoryWhenIdle;
  const stopIdleCollection = idle
    ? releaseMemoryWhenIdle({
        activity: () => ({ begun: engine.transactionsBegun, open: engine.openTransactions }),
        ...(typeof idle === 'object' ? { intervalMs: idle.intervalMs } : {}),
        onCollect: (before, after) =>
          logger.info({ heapBytes: [before.heapUsed, after.heapUsed], rssBytes: [before.rss, after.rss] }, 'idle: memory of the last burst released'),
      })
    : () => undefined;
  const closeAll = async () => {
    stopIdleCollection();
    await Promise.all([closeServer(bolt), closeServer(http), admin?.close()]);
    users.close();
    await engine.close();
    await checker?.close();
  };

  try {
    boltPort = await listen(bolt, opts.boltPort, host, 'Bolt');
    httpPort = await listen(http, opts.httpPort, host, 'HTTP');
    admin = await startAdminServer(
      opts.dataDir,
      {
        health: () => ({
          status: 'ok',
          databaseId: engine.databaseUuid,
          pid: process.pid,
          uptimeMs: Date.now() - started,
          rssBytes: process.memoryUsage.rss(),
          heapUsedBytes: process.memoryUsage().heapUsed,
          readOnly: opts.readOnly ?? false,
          boltPort,
          httpPort,
          openTransactions: engine.openTransactions,
          transactionsBegun: engine.transactionsBegun,
        }),
        counts: () => engine.counts(),
        stats: () => ({ queryCheck: queryCheckStats() }),
        checkpoint: async () => engine.checkpoint(),
        backup: (dir) => engine.backup(dir),
      },
      logger,
    );
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }

  let closing: Promise<void> | null = null;
  logger.info({ boltPort, httpPort, dataDir: opts.dataDir, startMs: Date.now() - started }, 'graph-server ready');
  return {
    boltPort,
    httpPort,
    adminSocket: admin.socketPath,
    databaseId: engine.databaseUuid,
    engine,
    users,
    queryCheckStats,
    close: () => {
      closing ??= closeAll().then(() => logger.info({}, 'graph-server stopped'));
      return closing;
    },
  };
}
