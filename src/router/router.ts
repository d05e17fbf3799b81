// The router: its own process (`allotrope router`), one per data dir, owning every database's public
// ports. Each accepted connection is checked against its environment's network rules on the client's real
// address (PROXY protocol v2 from trusted load balancers), then piped to the loopback port of the node that
// serves the database now, with back-pressure both ways. Nothing past the first bytes is read: a Bolt
// client's ROUTE answer names the address the driver dialed (graph-server answers ROUTE with HELLO's
// routing.address), so drivers keep coming back here, also after a switch.
//
// The endpoint table comes from the store (src/router/table.ts): re-read every `pollMs` and at once when the
// API pokes the control socket. A paused database with auto-resume gets its resume operation started here
// (the API's operations engine picks it up) while the first connection is held; a database whose ports
// moved to another database (a switch) has its open connections drained: they run on for `switchDrainMs`,
// then are closed. Per database the router writes activity (open connections, last traffic) to the store,
// which the API's auto-pause scheduler reads.
import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { cidrContains, parseIp, unmapIpv4 } from '../net/cidr.js';
import type { Tables } from '../store/schema/index.js';
import { withPublicBolt } from '../net/public-bolt.js';
import { readProxyHeader } from './proxy-protocol.js';
import { sniff } from './sniff.js';
import type { RouterTls } from './tls.js';
import { refuseBolt, refuseHttp, type Refusal } from './refusals.js';
import { readEndpointTable, type Endpoint, type EndpointTable } from './table.js';

export interface RouterOptions {
  db: Kysely<Tables>;
  logger: Logger;
  /** Interface the public ports listen on. */
  host: string;
  /** CIDRs whose connections must start with a PROXY protocol v2 header. */
  trustedProxies: string[];
  pollMs?: number;
  autoResumeWaitMs?: number;
  switchDrainMs?: number;
  /** How often activity is written to the store (at most). */
  activityWriteMs?: number;
  /** Host names are `<database id>.<publicHost>` on the shared TLS port. */
  publicHost: string;
  /** TLS termination (src/router/tls.ts): TLS clients are accepted on every database port and on `tlsPort`. */
  tls?: RouterTls | null;
  /** The shared TLS port, where the server name (SNI) picks the database. */
  tlsPort?: number;
  /** Starts the resume operation of a paused database (domain autoResumeDatabase). */
  autoResume(databaseId: string): Promise<string | null>;
  now?: () => Date;
}

type Kind = 'bolt' | 'http';

interface Conn {
  client: net.Socket;
  upstream: net.Socket | null;
  databaseId: string;
  port: number;
  kind: Kind;
  address: string;
  drainTimer?: NodeJS.Timeout;
  /** Bytes both ways at the last activity sample. */
  bytes: number;
}

interface Activity {
  open: number;
  lastAt: number;
  dirty: boolean;
}


export interface Router {
  start(): Promise<void>;
  /** Re-read the table now (the control socket's `poke`). */
  refresh(): Promise<void>;
  metrics(): { refusals: Record<string, number>; openConnections: number; acceptedConnections: number };
  /** Ports listened on now. */
  ports(): number[];
  close(): Promise<void>;
}

export function createRouter(options: RouterOptions): Router {
  const { db, logger } = options;
  const pollMs = options.pollMs ?? 250;
  const autoResumeWaitMs = options.autoResumeWaitMs ?? 30_000;
  const switchDrainMs = options.switchDrainMs ?? 10_000;
  const activityWriteMs = options.activityWriteMs ?? 1_000;
  const now = options.now ?? (() => new Date());
  let table: EndpointTable = { byPort: new Map(), byId: new Map(), byTlsName: new Map(), signature: '' };
  const tls = options.tls ?? null;
  const tlsPort = tls ? (options.tlsPort ?? null) : null;
  const listeners = new Map<number, net.Server>();
  const conns = new Set<Conn>();
  /** Every accepted client socket, forwarded or not yet (held, being refused). */
  const sockets = new Set<net.Socket>();
  const refusals: Record<string, number> = {};
  let accepted = 0;
  const activity = new Map<string, Activity>();
  const waiters = new Set<() => void>();
  const resuming = new Map<string, Promise<unknown>>();
  let pollTimer: NodeJS.Timeout | null = null;
  let activityTimer: NodeJS.Timeout | null = null;
  let refreshing: Promise<void> | null = null;
  let again = false;
  let closed = false;

  function refuse(reason: string): void {
    refusals[reason] = (refusals[reason] ?? 0) + 1;
  }

  function allowed(endpoint: Endpoint, address: string): boolean {
    if (endpoint.rules.length === 0) return true;
    const ip = parseIp(address);
    if (!ip) return false;
    const plain = unmapIpv4(ip);
    return endpoint.rules.some((rule) => cidrContains(rule, plain));
  }

  function touch(databaseId: string, delta = 0): void {
    let a = activity.get(databaseId);
    if (!a) activity.set(databaseId, (a = { open: 0, lastAt: Date.now(), dirty: true }));
    a.open += delta;
    a.lastAt = Date.now();
    a.dirty = true;
  }

  async function writeActivity(): Promise<void> {
    // Traffic is seen by sampling byte counters here, not by a listener on every chunk (which would cost
    // every forwarded message a little).
    for (const conn of conns) {
      const bytes = conn.client.bytesRead + conn.client.bytesWritten;
      if (bytes === conn.bytes) continue;
      conn.bytes = bytes;
      const a = activity.get(conn.databaseId);
      if (a) {
        a.lastAt = Date.now();
        a.dirty = true;
      }
    }
    const at = now().toISOString();
    for (const [databaseId, a] of activity) {
      if (!a.dirty) continue;
      a.dirty = false;
      const row = { open_connections: a.open, last_activity_at: new Date(a.lastAt).toISOString(), updated_at: at };
      await db
        .insertInto('database_activity')
        .values({ database_id: databaseId, ...row })
        .onConflict((oc) => oc.column('database_id').doUpdateSet(row))
        .execute();
    }
  }

  // Ports another program holds: tried again every few seconds, said once per cause.
  const listenFailures = new Map<number, { at: number; reason: string }>();

  /** Starts listening on `port`; settles once it listens or failed (a failure is logged and retried later). */
  function listen(port: number): Promise<void> {
    const failed = listenFailures.get(port);
    if (failed && Date.now() - failed.at < 5_000) return Promise.resolve();
    const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => accept(socket, port));
    const settled = new Promise<void>((resolve) => {
      server.once('listening', resolve);
      server.once('error', () => resolve());
    });
    server.on('listening', () => listenFailures.delete(port));
    server.on('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code ?? err.message;
      if (listenFailures.get(port)?.reason !== reason) logger.error({ port, err: err.message }, 'cannot listen on a database port; trying again every 5 s');
      listenFailures.set(port, { at: Date.now(), reason });
      if (listeners.get(port) === server) listeners.delete(port);
    });
    listeners.set(port, server);
    server.listen({ port, host: options.host, exclusive: true });
    return settled;
  }

  async function applyTable(next: EndpointTable): Promise<void> {
    const previous = table;
    table = next;
    // New ports are listening before the refresh resolves: a `sync` answered means the endpoints are served.
    const opening: Promise<void>[] = [];
    for (const port of next.byPort.keys()) if (!listeners.has(port)) opening.push(listen(port));
    if (tlsPort !== null && !listeners.has(tlsPort)) opening.push(listen(tlsPort));
    await Promise.all(opening);
    for (const [port, server] of listeners) {
      if (next.byPort.has(port) || port === tlsPort) continue;
      listeners.delete(port);
      server.close();
    }
    for (const conn of conns) {
      const entry = conn.port === tlsPort ? (next.byId.has(conn.databaseId) ? { endpoint: next.byId.get(conn.databaseId)! } : undefined) : next.byPort.get(conn.port);
      if (!entry) {
        // The database is gone (terminated): nothing left to serve.
        conn.client.destroy();
        continue;
      }
      if (entry.endpoint.databaseId !== conn.databaseId) {
        // A switch: the port now belongs to the other database. Let the work in flight finish, then close.
        if (!conn.drainTimer) {
          conn.drainTimer = setTimeout(() => conn.client.destroy(), switchDrainMs);
          conn.drainTimer.unref();
        }
        continue;
      }
      if (!allowed(entry.endpoint, conn.address)) {
        refuse('network-rule-changed');
        logger.info({ databaseId: conn.databaseId, address: conn.address }, 'closing a connection its network rules no longer allow');
        conn.client.destroy();
      }
    }
    if (previous.signature !== next.signature) for (const wake of [...waiters]) wake();
  }

  async function refresh(): Promise<void> {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        try {
          await applyTable(await readEndpointTable(db, options.publicHost));
        } catch (err) {
          logger.error({ err }, 'reading the endpoint table failed; keeping the previous one');
        }
      } while (again && !closed);
    })().finally(() => (refreshing = null));
    return refreshing;
  }

  /** Resolves once `ready(endpoint)` holds or `ms` passed (false). */
  function waitFor(databaseId: string, ready: (e: Endpoint) => boolean, ms: number): Promise<Endpoint | null> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const e = table.byId.get(databaseId);
        if (e && ready(e)) {
          done(e);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => done(null), ms);
      const done = (e: Endpoint | null): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(e);
      };
      const wake = (): void => void check();
      if (check()) return;
      waiters.add(wake);
    });
  }

  const routable = (e: Endpoint) => e.state === 'running' && e.target !== null;
  // Transient states a held connection waits through (a restart, a restore, a resume under way).
  const WAITABLE = new Set(['restarting', 'resuming', 'restoring', 'importing', 'provisioning']);

  function accept(socket: net.Socket, port: number): void {
    accepted += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    let address = unmapped(socket.remoteAddress ?? '');
    const fromProxy = options.trustedProxies.some((p) => cidrContains(p.includes('/') ? p : `${p}/${p.includes(':') ? 128 : 32}`, address));
    let proxyDone = !fromProxy;
    const deadline = setTimeout(() => socket.destroy(), 30_000);
    deadline.unref();
    const onData = (data: Buffer): void => {
      head = Buffer.concat([head, data]);
      if (!proxyDone) {
        const proxy = readProxyHeader(head);
        if (proxy.kind === 'need-more') return;
        // A trusted balancer may also connect without a header (its own checks): then its address is the client's.
        if (proxy.kind === 'invalid') {
          refuse('proxy-protocol');
          clearTimeout(deadline);
          socket.destroy();
          return;
        }
        proxyDone = true;
        if (proxy.kind === 'header') {
          if (proxy.address) address = unmapped(proxy.address);
          head = head.subarray(proxy.length);
        }
      }
      // The first bytes tell TLS, Bolt and HTTP apart (src/router/sniff.ts).
      const what = sniff(head);
      if (what === 'need-more' && head.length < 64) return;
      socket.off('data', onData);
      socket.pause();
      clearTimeout(deadline);
      if (what === 'tls' && tls) void terminated(socket, port, head, address);
      else if (port === tlsPort) {
        // The shared port serves TLS only: nothing names the database otherwise.
        refuse('not-tls');
        socket.destroy();
      } else void route(socket, table.byPort.get(port), port, head, address, what === 'bolt' ? 'bolt' : 'http');
    };
    socket.on('data', onData);
    socket.resume();
  }

  /** TLS on a database port (the database is the port's) or on the shared port (the server name says). */
  async function terminated(raw: net.Socket, port: number, head: Buffer, address: string): Promise<void> {
    let socket: net.Socket;
    let servername: string | null;
    try {
      ({ socket, servername } = await tls!.terminate(raw, head));
    } catch (err) {
      refuse('tls-handshake');
      logger.debug({ err: (err as Error).message, address }, 'TLS handshake failed');
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let inner: Buffer;
    try {
      inner = await readUntil(socket, (b) => sniff(b) !== 'need-more' || b.length >= 64);
    } catch {
      return;
    }
    const what = sniff(inner);
    const kind: Kind = what === 'bolt' ? 'bolt' : 'http';
    if (port !== tlsPort) return route(socket, table.byPort.get(port), port, inner, address, kind);
    const endpoint = servername ? table.byTlsName.get(servername.toLowerCase().replace(/\.$/, '')) : undefined;
    let target: Kind = kind;
    if (kind === 'http') {
      // WebSocket Bolt (Neo4j Browser, browser drivers) goes to the node's Bolt port, other HTTP to its Query API.
      try {
        inner = await readUntil(socket, (b) => b.includes('\r\n\r\n') || b.length >= 16_384, inner);
      } catch {
        return;
      }
      if (/^upgrade:\s*websocket\s*$/im.test(inner.toString('latin1'))) target = 'bolt';
    }
    return route(socket, endpoint ? { endpoint, kind: target } : undefined, port, inner, address, kind);
  }

  /** Starts a resume operation for a paused auto-resume database (one attempt at a time). */
  function resumeFor(id: string): void {
    if (resuming.has(id)) return;
    const attempt = options
      .autoResume(id)
      .then((operationId) => {
        if (operationId) logger.info({ databaseId: id, operationId }, 'auto-resuming a paused database: a client connected');
        // Not started (an operation still holds the database, or its state moved on): held connections ask again.
        else logger.info({ databaseId: id }, 'auto-resume not started yet; trying again while connections wait');
      })
      .catch((err: unknown) => logger.error({ err, databaseId: id }, 'auto-resume failed to start'))
      .finally(() =>
        setTimeout(() => {
          resuming.delete(id);
          // Held connections look again (and resume again if the database is still paused).
          for (const wake of [...waiters]) wake();
        }, 1_000).unref(),
      );
    resuming.set(id, attempt);
  }

  async function route(socket: net.Socket, entry: { endpoint: Endpoint; kind: Kind } | undefined, port: number, head: Buffer, address: string, kind: Kind): Promise<void> {
    const reply = (reason: string, refusal: Refusal): void => {
      refuse(reason);
      if (kind === 'bolt') refuseBolt(socket, head, refusal);
      else refuseHttp(socket, refusal);
    };
    // The request line whole, so that forward() can add the public Bolt header after it — only for what starts
    // like an HTTP request (`GET /…`): other bytes go to the node as they are, which refuses them at once.
    if (kind === 'http' && !head.includes('\r\n') && /^[A-Z]{3,12} \S/.test(head.subarray(0, 16).toString('latin1'))) {
      try {
        head = await readUntil(socket, (b) => b.includes('\r\n') || b.length >= 16_384, head);
      } catch {
        return;
      }
    }
    if (!entry) return reply('unknown-port', { code: 'Neo.ClientError.Database.DatabaseNotFound', message: 'No database is served on this port.', httpStatus: 404 });
    let endpoint = entry.endpoint;
    if (!allowed(endpoint, address)) {
      logger.info({ databaseId: endpoint.databaseId, address }, 'connection refused by network rules');
      return reply('network-rule', {
        code: 'Neo.ClientError.Security.Forbidden',
        message: `Connections from ${address} are not allowed by the network rules of environment '${endpoint.environmentLabel}' (${endpoint.rules.join(', ')}).`,
        httpStatus: 403,
      });
    }
    if (!routable(endpoint)) {
      // The table may be up to one poll old (a pause that just finished): decide on the store as it is now.
      await refresh();
      const fresh = port === tlsPort ? table.byId.get(endpoint.databaseId) : table.byPort.get(port)?.endpoint;
      if (fresh && fresh.databaseId === endpoint.databaseId) endpoint = fresh;
    }
    if (!routable(endpoint)) {
      const resumable = endpoint.state === 'paused' && endpoint.autoResume;
      // A running database without a routable node: its node is being brought back after a crash.
      if (!resumable && !WAITABLE.has(endpoint.state) && endpoint.state !== 'running') {
        return reply('unavailable', {
          code: 'Neo.TransientError.General.DatabaseUnavailable',
          message: `Database '${endpoint.name}' is ${endpoint.state}${endpoint.state === 'paused' ? ' and auto-resume is off; resume it first' : ''}.`,
          httpStatus: 503,
        });
      }
      // Held: nothing is read from the client meanwhile, so its bytes wait in the kernel (back-pressure). A
      // database that turns paused while the connection waits (a pause ending) is resumed then.
      const closedEarly = new Promise<null>((resolve) => socket.once('close', () => resolve(null)));
      const readyOrResume = (e: Endpoint): boolean => {
        if (e.state === 'paused' && e.autoResume) resumeFor(e.databaseId);
        return routable(e);
      };
      const ready = await Promise.race([waitFor(endpoint.databaseId, readyOrResume, autoResumeWaitMs), closedEarly]);
      if (socket.destroyed) return;
      if (!ready) {
        return reply('resume-timeout', {
          code: 'Neo.TransientError.General.DatabaseUnavailable',
          message: `Database '${endpoint.name}' did not become available within ${autoResumeWaitMs} ms; retry shortly.`,
          httpStatus: 503,
        });
      }
      // The port may have changed hands meanwhile (a switch): follow what the port serves now.
      const now = port === tlsPort ? (table.byId.has(endpoint.databaseId) ? { endpoint: table.byId.get(endpoint.databaseId)! } : undefined) : table.byPort.get(port);
      if (!now || !routable(now.endpoint)) return reply('unavailable', { code: 'Neo.TransientError.General.DatabaseUnavailable', message: 'The database is not available; retry shortly.', httpStatus: 503 });
      endpoint = now.endpoint;
    }
    forward(socket, port, entry.kind, endpoint, head, address, kind);
  }

  function forward(client: net.Socket, port: number, portKind: Kind, endpoint: Endpoint, head: Buffer, address: string, kind: Kind): void {
    const target = endpoint.target!;
    // An HTTP request for the node's Query API learns where the database's Bolt is public (the node only knows
    // its loopback port): discovery (`GET /`, Neo4j Browser's connect URL) names that port.
    if (kind === 'http' && portKind === 'http') head = withPublicBolt(head, port === tlsPort ? port : endpoint.boltPort, client instanceof TLSSocket);
    const upstream = net.connect({ host: '127.0.0.1', port: portKind === 'bolt' ? target.boltPort : target.httpPort, noDelay: true });
    upstream.setNoDelay(true);
    const conn: Conn = { client, upstream, databaseId: endpoint.databaseId, port, kind, address, bytes: 0 };
    conns.add(conn);
    touch(endpoint.databaseId, +1);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (conn.drainTimer) clearTimeout(conn.drainTimer);
      conns.delete(conn);
      touch(endpoint.databaseId, -1);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', (err) => {
      if (!connected && !client.destroyed) {
        logger.warn({ databaseId: endpoint.databaseId, err: err.message }, 'the database node did not accept a forwarded connection');
        finished = true;
        conns.delete(conn);
        touch(endpoint.databaseId, -1);
        const refusal = { code: 'Neo.TransientError.General.DatabaseUnavailable', message: 'The database is not reachable right now; retry shortly.', httpStatus: 503 };
        refuse('node-unreachable');
        if (kind === 'bolt') refuseBolt(client, head, refusal);
        else refuseHttp(client, refusal);
        return;
      }
      finish();
    });
    client.on('close', finish);
    upstream.on('close', () => {
      if (connected) finish();
    });
  }

  return {
    async start() {
      await refresh();
      pollTimer = setInterval(() => void refresh(), pollMs);
      activityTimer = setInterval(() => void writeActivity().catch((err: unknown) => logger.warn({ err }, 'writing database activity failed')), activityWriteMs);
    },
    refresh,
    metrics: () => ({ refusals: { ...refusals }, openConnections: conns.size, acceptedConnections: accepted }),
    ports: () => [...listeners.keys()].sort((a, b) => a - b),
    async close() {
      closed = true;
      if (pollTimer) clearInterval(pollTimer);
      if (activityTimer) clearInterval(activityTimer);
      // Every client socket first: a server's close() waits for its connections to end.
      for (const conn of conns) conn.client.destroy();
      for (const socket of sockets) socket.destroy();
      await Promise.all([...listeners.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      listeners.clear();
      await writeActivity().catch(() => undefined);
    },
  };
}

/** Reads from `socket` until `enough(bytes)` (starting from `initial`); leaves the socket paused. */
function readUntil(socket: net.Socket, enough: (b: Buffer) => boolean, initial: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = initial;
    if (enough(buf) && buf.length > 0) return resolve(buf);
    const timer = setTimeout(() => fail(), 30_000);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (!enough(buf)) return;
      done();
      socket.pause();
      resolve(buf);
    };
    const fail = (): void => {
      done();
      socket.destroy();
      reject(new Error('closed before the first bytes'));
    };
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', fail);
    };
    socket.on('data', onData);
    socket.once('end', fail);
    socket.resume();
  });
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
