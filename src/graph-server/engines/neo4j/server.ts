// A graph-server whose engine is Neo4j: the node's face stays ours (Bolt and HTTP ports, the users file and
// network rules, the admin channel, the activity counters for auto-pause), and behind it the Neo4j JVM
// answers every query. Bolt sessions are passed through message by message once the client has
// authenticated against our users file (bolt/connection.ts, RELAY state).
import type { Logger } from 'pino';
import net from 'node:net';
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { startAdminServer, type AdminServer } from '../../admin.js';
import type { BoltVersion } from '../../bolt/handshake.js';
import type { Relay, RelaySession } from '../../bolt/connection.js';
import { BOLT_MAGIC } from '../../bolt/handshake.js';
import { createBoltServer } from '../../bolt/server.js';
import { closeServer, listen } from '../../listening.js';
import { databaseUuid } from '../../database-id.js';
import { CypherError } from '../../engine-api.js';
import { createHttpServer } from '../../http/server.js';
import { UsersFile } from '../../users.js';
import { BoltUpstream, type UpstreamTarget } from './bolt-upstream.js';
import { NEO4J_HOME, Neo4jJvm, type Neo4jEngineFiles } from './jvm.js';
import { createNeo4jQueryEngine } from './query-engine.js';

export interface Neo4jGraphServerOptions {
  dataDir: string;
  boltPort: number;
  httpPort: number;
  usersFile: string;
  importDir?: string;
  host: string;
  advertisedHost: string;
  readOnly: boolean;
  memoryMb?: number;
  engine: Neo4jEngineFiles;
  settings?: Record<string, string>;
  logger: Logger;
  usersPollIntervalMs?: number;
  /** Neo4j Browser's static files, served on the HTTP port under /browser/. */
  browserDir?: string;
}

/** Held back while an online snapshot copies the store: requests that can commit wait, the rest go on. */
export class CommitGate {
  private inFlight = 0;
  private closed: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async enter(): Promise<void> {
    while (this.closed) await this.closed;
    this.inFlight++;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Runs `work` once no committing request is in flight, with new ones held back; returns how long writes waited. */
  async hold<T>(work: () => Promise<T>): Promise<{ result: T; heldMs: number }> {
    while (this.closed) await this.closed;
    let reopen!: () => void;
    this.closed = new Promise<void>((resolve) => (reopen = resolve));
    const started = Date.now();
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = null;
      const result = await work();
      return { result, heldMs: Date.now() - started };
    } finally {
      this.closed = null;
      reopen();
    }
  }
}

/** The Bolt versions the JVM speaks, newest first, learnt by asking it (it answers the best it has in each range). */
async function upstreamVersions(port: number): Promise<BoltVersion[]> {
  const ask = (major: number, minor: number, range: number) =>
    new Promise<BoltVersion | null>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let got = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 4) {
          socket.destroy();
          resolve(got.readUInt32BE(0) === 0 ? null : { major: got[3]!, minor: got[2]! });
        }
      });
      socket.on('error', () => resolve(null));
      socket.on('connect', () => socket.write(Buffer.concat([BOLT_MAGIC, Buffer.from([0, range, minor, major]), Buffer.alloc(12)])));
    });
  const versions: BoltVersion[] = [];
  // Each answer is the best version inside the offered range; asking again below it walks down the list.
  for (let minor = 8; minor >= 0; ) {
    const v = await ask(5, minor, minor);
    if (v?.major !== 5) break;
    versions.push(v);
    minor = v.minor - 1;
  }
  const v44 = await ask(4, 4, 0);
  if (v44) versions.push(v44);
  return versions;
}

export async function runNeo4jGraphServer(opts: Neo4jGraphServerOptions) {
  const started = Date.now();
  const { logger, host } = opts;
  const users = await UsersFile.open({ file: opts.usersFile, logger, pollIntervalMs: opts.usersPollIntervalMs });
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  if (opts.importDir) await mkdir(opts.importDir, { recursive: true, mode: 0o750 });
  const uuid = await databaseUuid(opts.dataDir);
  let boltPort = opts.boltPort;
  let httpPort = opts.httpPort;
  // Set once the JVM is up; until then sessions are refused with a transient error (drivers retry).
  let jvm: Neo4jJvm | null = null;
  let versions: BoltVersion[] = [{ major: 5, minor: 0 }];
  const target: UpstreamTarget = {
    host: '127.0.0.1',
    get port() {
      if (!jvm) throw new Error('the Neo4j engine is starting');
      return jvm.boltPort;
    },
    password: () => jvm?.password ?? '',
  };
  const gate = new CommitGate();
  let neo4jVersion = 'unknown';
  let begun = 0;
  let open = 0;
  const relay: Relay = {
    get agent() {
      return `Neo4j/${neo4jVersion}`;
    },
    get versions() {
      return versions;
    },
    open: async (version, hello, client): Promise<RelaySession> => {
      const upstream = await BoltUpstream.open(target, version, hello, client);
      return {
        request: (message) => upstream.request(message),
        send: (message) => upstream.send(message),
        internalLogon: () => BoltUpstream.internalLogon(target),
        close: () => upstream.close(),
      };
    },
    began: () => void begun++,
    txOpened: () => void open++,
    txClosed: () => void open--,
    gate,
  };
  // The Query API: answered by Neo4j through the driver, counted and gated like the relay's sessions.
  const queryApi = createNeo4jQueryEngine({
    target: () => {
      if (!jvm) throw new CypherError('Neo.TransientError.General.DatabaseUnavailable', 'The Neo4j engine is starting; retry.', '08N07');
      return { port: jvm.boltPort, password: jvm.password };
    },
    began: relay.began,
    txOpened: relay.txOpened,
    txClosed: relay.txClosed,
    gate,
  });

  const bolt = createBoltServer({
    engine: queryApi,
    relay,
    authenticator: users,
    advertisedAddress: () => `${opts.advertisedHost}:${boltPort}`,
    logger,
    allowConnection: (address) => users.allows(address),
  });
  const http = createHttpServer({
    engine: queryApi,
    authenticator: users,
    boltAddress: () => `${opts.advertisedHost}:${boltPort}`,
    get neo4jVersion() {
      return neo4jVersion;
    },
    logger,
    allowConnection: (address) => users.allows(address),
    ...(opts.browserDir ? { browserDir: opts.browserDir } : {}),
  });
  let admin: AdminServer | null = null;
  let countsDriver: import('neo4j-driver').Driver | null = null;
  const running = (): Neo4jJvm => {
    if (!jvm) throw new Error('the Neo4j engine is starting');
    return jvm;
  };
  const counts = async () => {
    const neo4j = (await import('neo4j-driver')).default;
    const j = running();
    countsDriver ??= neo4j.driver(`bolt://127.0.0.1:${j.boltPort}`, neo4j.auth.basic('neo4j', j.password), { disableLosslessIntegers: true });
    const { records } = await countsDriver.executeQuery(
      'CALL { MATCH (n) RETURN count(n) AS nodes } CALL { MATCH ()-[r]->() RETURN count(r) AS relationships } RETURN nodes, relationships',
      {},
      { routing: neo4j.routing.READ },
    );
    return { nodes: Number(records[0]!.get('nodes')), relationships: Number(records[0]!.get('relationships')) };
  };
  let closing: Promise<void> | null = null;
  const closeAll = async () => {
    await Promise.all([closeServer(bolt), closeServer(http), admin?.close()]);
    await countsDriver?.close().catch(() => undefined);
    await queryApi.close().catch(() => undefined);
    users.close();
    await jvm?.stop();
  };
  try {
    boltPort = await listen(bolt, opts.boltPort, host, 'Bolt');
    httpPort = await listen(http, opts.httpPort, host, 'HTTP');
    jvm = await Neo4jJvm.start({
      ...opts.engine,
      dataDir: opts.dataDir,
      ...(opts.importDir ? { importDir: opts.importDir } : {}),
      ...(opts.memoryMb ? { memoryMb: opts.memoryMb } : {}),
      // ROUTE answers come from Neo4j: they must name the graph-server, the only address clients reach.
      advertisedAddress: `${opts.advertisedHost}:${boltPort}`,
      ...(opts.settings ? { settings: opts.settings } : {}),
      log: (line) => logger.info({ engine: 'neo4j' }, line),
    });
    neo4jVersion = jvm.version;
    versions = await upstreamVersions(jvm.boltPort);
    if (versions.length === 0) throw new Error('the Neo4j engine answers no Bolt version this graph-server speaks');
    admin = await startAdminServer(
      opts.dataDir,
      {
        health: () => ({
          status: 'ok',
          databaseId: uuid,
          pid: process.pid,
          uptimeMs: Date.now() - started,
          rssBytes: process.memoryUsage.rss(),
          heapUsedBytes: process.memoryUsage().heapUsed,
          readOnly: opts.readOnly,
          boltPort,
          httpPort,
          openTransactions: Math.max(0, open),
          transactionsBegun: begun,
        }),
        counts,
        stats: () => ({ queryCheck: { enabled: false, budgetMs: 0, ready: false, checked: 0, cacheHits: 0, overBudget: 0, refused: 0, workers: 0 } }),
        checkpoint: async () => {
          await running().checkpoint();
        },
        // An online copy: commits are held back while Neo4j checkpoints and copies its store and logs into
        // `<dir>/neo4j/data` (the node's own layout, so a restore puts it back as it is).
        backup: async (dir) => {
          const into = join(dir, NEO4J_HOME, 'data');
          await rm(into, { recursive: true, force: true });
          const { heldMs } = await gate.hold(() => running().snapshot(into));
          logger.info({ heldMs }, 'online backup: commits were held back while the store was copied');
        },
      },
      logger,
    );
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
  // Neo4j gone means the node is gone: exit so the supervisor starts it again (committed data is in its logs).
  void jvm.exited.then((how) => {
    if (closing) return;
    logger.error({ how }, 'the Neo4j engine exited; stopping the graph-server');
    void closeAll().finally(() => process.exit(70));
  });
  logger.info({ boltPort, httpPort, neo4j: jvm.version, startMs: Date.now() - started, bolt: versions.map((v) => `${v.major}.${v.minor}`) }, 'graph-server ready (Neo4j engine)');
  return {
    boltPort,
    httpPort,
    adminSocket: admin.socketPath,
    databaseId: uuid,
    users,
    close: () => {
      closing ??= closeAll().then(() => logger.info({}, 'graph-server stopped'));
      return closing;
    },
  };
}
