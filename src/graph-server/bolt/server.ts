// The Bolt listener: like Neo4j, one port serves raw Bolt, Bolt over WebSocket (Neo4j Browser and
// the browser driver) and the HTTP discovery document; the first bytes of a connection decide.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Authenticator, GraphEngine } from '../engine-api.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './chunking.js';
import { BoltConnection, type ByteChannel, type Logger, type Relay } from './connection.js';
import { BOLT_MAGIC } from './handshake.js';

export interface BoltServerOptions {
  engine: GraphEngine;
  /** Pass sessions through to an engine that speaks Bolt (a Neo4j node) once the client has authenticated. */
  relay?: Relay;
  authenticator: Authenticator;
  /** "host:port" that clients should use: the ROUTE answer and the discovery document. */
  advertisedAddress: () => string;
  logger?: Logger;
  /**
   * Open sockets this server (one database) holds at most (default 1000); more are closed on accept,
   * before the handshake, which drivers see as an unavailable server and retry.
   */
  maxConnections?: number;
  /** Of those, sockets not yet authenticated (handshake, HELLO/LOGON pending) at most (default 250); more are closed on accept. */
  maxUnauthenticatedConnections?: number;
  /**
   * Time from accept to an authenticated session (handshake + HELLO, and LOGON on 5.1+) before the socket
   * is closed (default 10 s); after the handshake it first gets a FAILURE. Runs again after a LOGOFF.
   */
  authTimeoutMs?: number;
  /** Largest reassembled Bolt message accepted (default 64 MiB); larger ones get FAILURE + close. */
  maxMessageBytes?: number;
  /** Offer Manifest v1 negotiation to clients that propose it (default true). */
  manifest?: boolean;
  /** The network rules: false closes a client's socket before it is read (default: every address). */
  allowConnection?: (remoteAddress: string | undefined) => boolean;
}

export interface BoltServer extends net.Server {
  /** Destroys every open connection (close() does this too, so that it completes promptly). */
  destroyConnections(): void;
  /** Number of open client sockets. */
  readonly openConnections: number;
  /** Of those, the ones without an authenticated Bolt session yet. */
  readonly unauthenticatedConnections: number;
}

export const NEO4J_VERSION = '5.26.0';
// A client that sends nothing recognisable in this time is dropped.
const SNIFF_TIMEOUT_MS = 10_000;
// A driver authenticates in milliseconds; a socket idle before authenticating only holds a slot.
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
// Per database (one graph-server each). Drivers pool 100 connections each by default; 1000 leaves room for
// ten application instances, and an unauthenticated flood is capped well below it so real clients still get in.
export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_MAX_UNAUTHENTICATED_CONNECTIONS = 250;
// A graceful end() is followed by destroy() if the peer never closes its side.
const END_GRACE_MS = 2_000;

export function createBoltServer(options: BoltServerOptions): BoltServer {
  const sockets = new Set<net.Socket>();
  // Sockets without an authenticated Bolt session (discovery and WebSocket upgrades included).
  const unauthenticated = new Set<net.Socket>();
  const connections = new WeakMap<net.Socket, BoltConnection>();
  const deadlines = new WeakMap<net.Socket, NodeJS.Timeout>();
  let connectionCount = 0;
  const logger = options.logger;
  const authTimeoutMs = options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxUnauthenticated = options.maxUnauthenticatedConnections ?? DEFAULT_MAX_UNAUTHENTICATED_CONNECTIONS;

  /** Closes the socket unless it authenticates within authTimeoutMs (a FAILURE first once a version was agreed). */
  const armAuthDeadline = (socket: net.Socket) => {
    unauthenticated.add(socket);
    const timer = setTimeout(() => {
      if (!unauthenticated.has(socket) || socket.destroyed) return;
      logger?.info({ remoteAddress: socket.remoteAddress, authTimeoutMs }, 'closing a Bolt connection that did not authenticate in time');
      const conn = connections.get(socket);
      if (conn) conn.authenticationExpired(authTimeoutMs);
      else socket.destroy();
      setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
    }, authTimeoutMs);
    timer.unref();
    clearTimeout(deadlines.get(socket));
    deadlines.set(socket, timer);
  };

  const authenticated = (socket: net.Socket) => {
    unauthenticated.delete(socket);
    clearTimeout(deadlines.get(socket));
  };

  const startBolt = (channel: ByteChannel, socket: net.Socket): BoltConnection => {
    const conn = new BoltConnection(channel, {
      engine: options.engine,
      authenticator: options.authenticator,
      advertisedAddress: options.advertisedAddress,
      logger,
      connectionId: `bolt-${++connectionCount}`,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      manifest: options.manifest,
      ...(options.relay ? { relay: options.relay } : {}),
      onAuthenticated: () => authenticated(socket),
      // LOGOFF leaves an open socket without a user: it gets a new deadline to LOGON again.
      onLoggedOff: () => armAuthDeadline(socket),
    });
    connections.set(socket, conn);
    return conn;
  };

  const endSocket = (socket: net.Socket) => {
    socket.end();
    setTimeout(() => socket.destroy(), END_GRACE_MS).unref();
  };

  const serveTcp = (socket: net.Socket, head: Buffer) => {
    socket.setNoDelay(true);
    const conn = startBolt(
      {
        write: (data) => {
          if (!socket.destroyed && socket.writable) socket.write(data);
        },
        end: () => endSocket(socket),
        whenWritable: () =>
          socket.writableNeedDrain && !socket.destroyed
            ? new Promise<void>((resolve) => {
                const done = () => {
                  socket.off('drain', done);
                  socket.off('close', done);
                  resolve();
                };
                socket.on('drain', done);
                socket.on('close', done);
              })
            : Promise.resolve(),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      },
      socket,
    );
    socket.on('data', (d: Buffer) => conn.receive(d));
    socket.once('close', () => conn.transportClosed());
    conn.receive(head);
  };

  // Loaded at the first WebSocket upgrade (Neo4j Browser): `ws` took a noticeable share of start-up.
  let wss: Promise<WebSocketServer> | null = null;
  const webSockets = () =>
    (wss ??= import('ws').then(
      ({ WebSocketServer: Server }) => new Server({ noServer: true, maxPayload: (options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) + 1024 }),
    ));

  const serveWebSocket = (ws: WebSocket, socket: net.Socket) => {
    const conn = startBolt(
      {
        write: (data) => {
          if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
        },
        end: () => {
          ws.close(1000);
          setTimeout(() => ws.terminate(), END_GRACE_MS).unref();
        },
        pause: () => ws.pause(),
        resume: () => ws.resume(),
      },
      socket,
    );
    // Frames do not align with Bolt messages: feed every payload into the same byte stream.
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      conn.receive(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    });
    ws.once('close', () => conn.transportClosed());
    ws.on('error', (err) => logger?.warn({ err: err.message }, 'bolt websocket error'));
  };

  const discovery = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Connection', 'close');
    if (req.method !== 'GET') {
      res.writeHead(405, { 'Content-Type': 'application/json' }).end('{"error":"method not allowed"}');
      return;
    }
    const address = options.advertisedAddress();
    const body = JSON.stringify({
      bolt_direct: `bolt://${address}`,
      bolt_routing: `neo4j://${address}`,
      neo4j_version: NEO4J_VERSION,
      neo4j_edition: 'community',
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' }).end(body);
  };

  // Never listens: sniffed sockets are handed to it so Node parses the HTTP request.
  const http = createHttpServer(discovery);
  http.on('upgrade', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.destroy();
      return;
    }
    webSockets().then(
      (server) => server.handleUpgrade(req, socket, head, (ws) => serveWebSocket(ws, socket)),
      () => socket.destroy(),
    );
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  const server = net.createServer((socket) => {
    if (options.allowConnection && !options.allowConnection(socket.remoteAddress)) {
      logger?.info({ remoteAddress: socket.remoteAddress }, 'bolt connection refused by the network rules');
      socket.destroy();
      return;
    }
    if (sockets.size >= maxConnections || unauthenticated.size >= maxUnauthenticated) {
      logger?.warn(
        { remoteAddress: socket.remoteAddress, open: sockets.size, unauthenticated: unauthenticated.size, maxConnections, maxUnauthenticated },
        'bolt connection refused: too many connections',
      );
      socket.destroy();
      return;
    }
    sockets.add(socket);
    armAuthDeadline(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      authenticated(socket);
    });
    socket.on('error', (err) => logger?.info({ err: err.message }, 'bolt socket error'));
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    let head: Buffer = Buffer.alloc(0);
    const sniff = (data: Buffer) => {
      head = head.length ? Buffer.concat([head, data]) : data;
      const first = head[0];
      if (first !== BOLT_MAGIC[0] && first !== 0x47 /* G */) return socket.destroy();
      if (head.length < 4) return;
      socket.off('data', sniff);
      socket.setTimeout(0);
      if (head.subarray(0, 4).equals(BOLT_MAGIC)) {
        serveTcp(socket, head);
      } else if (head.subarray(0, 4).toString('latin1') === 'GET ') {
        socket.pause();
        socket.unshift(head);
        http.emit('connection', socket);
        socket.resume();
      } else {
        socket.destroy();
      }
    };
    socket.on('data', sniff);
  }) as BoltServer;

  const destroyConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    close(callback);
    destroyConnections();
    return server;
  };
  Object.defineProperty(server, 'destroyConnections', { value: destroyConnections });
  Object.defineProperty(server, 'openConnections', { get: () => sockets.size });
  Object.defineProperty(server, 'unauthenticatedConnections', { get: () => unauthenticated.size });
  return server;
}
