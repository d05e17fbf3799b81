// One query-check service per machine (per user and install): Neo4j's Cypher front-end in one warm
// worker thread, shared by every graph-server over a unix socket, instead of a worker (~100–150 MB)
// in each database. The first graph-server that needs it starts it (service-client.ts); it outlives
// the graph-servers and exits `idleExitMs` after its last client left.
//
// Protocol: one JSON object per line. Client → service: {id, query}. Service → client: {type:'ready'}
// once the front-end is warm (at once for a client connecting later), {id, outcome} per query.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { LintPool, type LintOutcome } from './lint-pool.js';
import { ndjsonReader } from '../../net/ndjson.js';

export interface QueryCheckServiceOptions {
  socketPath: string;
  /** Exit this long after the last client disconnected (0 = never). */
  idleExitMs: number;
  /** Worker threads, 1–2. */
  workers?: number;
  /** Other users' graph-servers connect too (nodes running as users of their own): socket 0666 in a 0711 directory. */
  shared?: boolean;
  log?: (msg: string) => void;
}

export interface QueryCheckService {
  close(): Promise<void>;
  readonly closed: Promise<void>;
}

/**
 * The directory holding the socket, owned by this user and refused otherwise: private (0700), or for a
 * service shared with other users (nodes running as users of their own) 0711 — they can reach the
 * socket but cannot list, create or replace anything there.
 */
export function privateSocketDir(socketPath: string, shared = false): void {
  const dir = dirname(socketPath);
  const mode = shared ? 0o711 : 0o700;
  mkdirSync(dir, { recursive: true, mode });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new Error(`${dir} is not a directory of this user; the query-check socket must live in a directory of its own`);
  }
  if ((st.mode & 0o777) !== mode) chmodSync(dir, mode);
}

/** Linux: a lock in the abstract namespace, released by the kernel when its holder dies, so two starters never both serve. */
function lockName(socketPath: string): string | null {
  if (process.platform !== 'linux') return null;
  return `\0allotrope-query-check-${createHash('sha256').update(socketPath).digest('hex').slice(0, 40)}`;
}

function listenOn(server: net.Server, name: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => resolve(err);
    server.once('error', onError);
    server.listen(name, () => {
      server.off('error', onError);
      resolve(null);
    });
  });
}

/** Starts the service; resolves null when another one already serves this socket. */
export async function startQueryCheckService(options: QueryCheckServiceOptions): Promise<QueryCheckService | null> {
  const log = options.log ?? (() => undefined);
  privateSocketDir(options.socketPath, options.shared);
  const lock = net.createServer((s) => s.destroy());
  const name = lockName(options.socketPath);
  if (name) {
    const err = await listenOn(lock, name);
    if (err?.code === 'EADDRINUSE') return null;
    if (err) throw err;
  }
  const pool = new LintPool({
    size: options.workers ?? 1,
    maxCheckMs: 15_000,
    maxQueue: 1024,
    // Warm while the service runs: that is its point. The service itself exits when unused.
    idleStopMs: 0,
    onWorkerProblem: (detail) => log(`query check worker stopped (${detail}); it will be restarted`),
  });
  const clients = new Set<net.Socket>();
  let warm = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let closing = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  // No answers are shared between clients (each graph-server caches its own): with databases of different
  // tenants on one machine, a cache hit's speed would tell one whether another had sent a query text.
  const lint = (query: string): Promise<LintOutcome> => pool.lint(query);

  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (clients.size > 0 || options.idleExitMs <= 0 || closing) return;
    idleTimer = setTimeout(() => {
      log(`no graph-server used the query check for ${options.idleExitMs} ms; stopping`);
      void close();
    }, options.idleExitMs);
  };

  const server = net.createServer((socket) => {
    clients.add(socket);
    armIdle();
    socket.setNoDelay(true);
    const send = (msg: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
    };
    if (warm) send({ type: 'ready' });
    socket.on(
      'data',
      ndjsonReader({
        onMessage(value) {
          const req = value as { id?: unknown; query?: unknown } | null;
          if (typeof req?.id !== 'number' || typeof req.query !== 'string') {
            socket.destroy();
            return false;
          }
          const id = req.id;
          void lint(req.query).then((outcome) => send({ id, outcome }));
        },
        // A client never sends a line this long (graph-servers check texts up to 8 kB).
        onInvalid: () => socket.destroy(),
      }),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clients.delete(socket);
      armIdle();
    });
  });

  privateSocketDir(options.socketPath, options.shared);
  rmSync(options.socketPath, { force: true });
  const err = await listenOn(server, options.socketPath);
  if (err) {
    await pool.close();
    lock.close();
    throw err;
  }
  if (options.shared) chmodSync(options.socketPath, 0o666);
  void pool.ready.then(() => {
    warm = true;
    log('query check service warm');
    for (const c of clients) if (!c.destroyed) c.write(`${JSON.stringify({ type: 'ready' })}\n`);
  });
  armIdle();

  async function close(): Promise<void> {
    if (closing) return closed;
    closing = true;
    if (idleTimer) clearTimeout(idleTimer);
    for (const c of clients) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(options.socketPath, { force: true });
    lock.close();
    await pool.close();
    markClosed();
    return closed;
  }
  return { close, closed };
}
