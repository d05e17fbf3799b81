// A graph-server's side of the shared query-check service (service.ts): the same lint() a local
// LintPool offers, over the service's unix socket. When nothing answers there it starts the service
// (detached, so it outlives this graph-server) and keeps trying; a query waits meanwhile, and the
// checker (index.ts) bounds that wait. The connection stays open: an open client keeps the service up.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LintOutcome } from './lint-pool.js';
import { privateSocketDir } from './service.js';
import { ndjsonReader } from '../../net/ndjson.js';

export interface ServiceClientOptions {
  socketPath: string;
  /** The service exits this long after its last client (passed when this client starts it). */
  idleExitMs: number;
  workers?: number;
  /** The service is started by someone else (the local runtime, for nodes running as users of their own): never start one. */
  managed?: boolean;
  onProblem?: (detail: string) => void;
}

export interface ServiceStart {
  socketPath: string;
  idleExitMs: number;
  workers?: number;
  /** Reachable by other users' graph-servers (socket 0666 in a 0711 directory of this user). */
  shared?: boolean;
}

/** Starts a query-check service on the socket, detached (its own session, no pipes to the caller); logs to `service.log` beside it. */
export function spawnQueryCheckService(start: ServiceStart): void {
  privateSocketDir(start.socketPath, start.shared);
  const logFd = openSync(join(dirname(start.socketPath), 'service.log'), 'a', 0o600);
  try {
    const loader = fromTypeScript ? ['--import', import.meta.resolve('tsx')] : [];
    const args = [...loader, SERVICE_MAIN, start.socketPath, String(start.idleExitMs), String(start.workers ?? 1), ...(start.shared ? ['shared'] : [])];
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', logFd] });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(logFd);
  }
}

/** Resolves true when a service answers on the socket. */
export function serviceAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The socket of the service the local runtime starts for nodes running as users of their own: one per
 * control-plane user and install, reachable by those users.
 */
export function sharedServiceSocket(): string {
  return defaultServiceSocket().replace(/allotrope-query-check-(\d+)/, 'allotrope-query-check-$1-shared');
}

/** How long the runtime's shared service stays up after the last node using it went away. */
export const SHARED_QUERY_CHECK_IDLE_MS = 600_000;

/** Starts the shared service unless one answers (the local runtime, before it starts a Grafeo node of its own user). */
export async function ensureSharedQueryCheckService(idleExitMs: number): Promise<string> {
  const socketPath = sharedServiceSocket();
  if (!(await serviceAnswers(socketPath))) spawnQueryCheckService({ socketPath, idleExitMs, shared: true });
  return socketPath;
}

const fromTypeScript = import.meta.url.endsWith('.ts');
const SERVICE_MAIN = fileURLToPath(new URL(`./service-main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));

/**
 * The default socket: private to this user and to this install (a service started from another checkout
 * runs other code), in the system's temporary directory.
 */
export function defaultServiceSocket(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const install = createHash('sha256').update(SERVICE_MAIN).digest('hex').slice(0, 12);
  return join(tmpdir(), `allotrope-query-check-${uid}`, `${install}.sock`);
}

interface Pending {
  id: number;
  query: string;
  sends: number;
  resolve: (outcome: LintOutcome) => void;
}

export class ServiceLintPool {
  private socket: net.Socket | null = null;
  private connecting = false;
  private serviceReady = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lastSpawnMs = -Infinity;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 25;
  private markReady!: () => void;
  /** Resolves the first time the service says its front-end is warm. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(private readonly options: ServiceClientOptions) {
    this.connect();
  }

  /** Connected to a warm service: a new query gets its answer within the usual budget. */
  get warm(): boolean {
    return this.serviceReady && this.socket !== null && !this.connecting;
  }

  /** Front-end workers this process holds: none, they live in the service. */
  get running(): number {
    return 0;
  }

  get unavailable(): boolean {
    return this.closed;
  }

  lint(query: string): Promise<LintOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'abandoned', reason: 'closed' });
    return new Promise<LintOutcome>((resolve) => {
      const job: Pending = { id: this.nextId++, query, sends: 0, resolve };
      this.pending.set(job.id, job);
      this.send(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const job of this.pending.values()) job.resolve({ kind: 'abandoned', reason: 'closed' });
    this.pending.clear();
    this.socket?.destroy();
    this.socket = null;
  }

  private send(job: Pending): void {
    if (!this.socket || this.connecting) return;
    job.sends++;
    this.socket.write(`${JSON.stringify({ id: job.id, query: job.query })}\n`);
  }

  private connect(): void {
    if (this.closed || this.connecting) return;
    this.connecting = true;
    const socket = net.connect(this.options.socketPath);
    socket.unref();
    socket.on('connect', () => {
      this.connecting = false;
      this.socket = socket;
      this.retryMs = 25;
      for (const job of this.pending.values()) this.send(job);
    });
    socket.on(
      'data',
      ndjsonReader({
        onMessage: (value) => {
          const msg = value as { type?: string; id?: number; outcome?: LintOutcome };
          if (msg.type === 'ready') {
            this.serviceReady = true;
            this.markReady();
            return;
          }
          const job = msg.id === undefined ? undefined : this.pending.get(msg.id);
          if (!job || !msg.outcome) return;
          this.pending.delete(job.id);
          job.resolve(msg.outcome);
        },
        onInvalid: () => socket.destroy(),
      }),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.connecting && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) this.startService();
      else if (!this.connecting) this.options.onProblem?.(`query check service connection failed: ${err.code ?? err.message}`);
    });
    socket.on('close', () => {
      const wasConnected = this.socket === socket;
      this.connecting = false;
      this.socket = null;
      this.serviceReady = false;
      if (this.closed) return;
      if (wasConnected) {
        // The service went away mid-check: a query sent twice (it may be what killed it) is not sent again.
        for (const job of [...this.pending.values()]) {
          if (job.sends >= 2) {
            this.pending.delete(job.id);
            job.resolve({ kind: 'abandoned', reason: 'worker-failed', detail: 'the query check service stopped twice while checking it' });
          }
        }
      }
      this.retryTimer = setTimeout(() => this.connect(), wasConnected ? 0 : this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, 500);
    });
  }

  /** Starts the service (unless someone else manages it), at most once every 5 s. */
  private startService(): void {
    if (this.options.managed) return;
    const now = performance.now();
    if (now - this.lastSpawnMs < 5_000) return;
    this.lastSpawnMs = now;
    try {
      spawnQueryCheckService({ socketPath: this.options.socketPath, idleExitMs: this.options.idleExitMs, workers: this.options.workers });
    } catch (err) {
      this.options.onProblem?.(`cannot start the query check service: ${(err as Error).message}`);
    }
  }
}
