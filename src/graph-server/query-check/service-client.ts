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

export interface ServiceClientOptions {
  socketPath: string;
  /** The service exits this long after its last client (passed when this client starts it). */
  idleExitMs: number;
  workers?: number;
  onProblem?: (detail: string) => void;
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
    let buffered = '';
    socket.on('connect', () => {
      this.connecting = false;
      this.socket = socket;
      this.retryMs = 25;
      for (const job of this.pending.values()) this.send(job);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let msg: { type?: string; id?: number; outcome?: LintOutcome };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          socket.destroy();
          return;
        }
        if (msg.type === 'ready') {
          this.serviceReady = true;
          this.markReady();
          continue;
        }
        const job = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!job || !msg.outcome) continue;
        this.pending.delete(job.id);
        job.resolve(msg.outcome);
      }
    });
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

  /** Starts the service, detached (its own session, no pipes to us), at most once every 5 s. */
  private startService(): void {
    const now = performance.now();
    if (now - this.lastSpawnMs < 5_000) return;
    this.lastSpawnMs = now;
    try {
      privateSocketDir(this.options.socketPath);
      const logFd = openSync(join(dirname(this.options.socketPath), 'service.log'), 'a', 0o600);
      const loader = fromTypeScript ? ['--import', import.meta.resolve('tsx')] : [];
      const child = spawn(
        process.execPath,
        [...loader, SERVICE_MAIN, this.options.socketPath, String(this.options.idleExitMs), String(this.options.workers ?? 1)],
        { detached: true, stdio: ['ignore', 'ignore', logFd] },
      );
      closeSync(logFd);
      child.on('error', (err) => this.options.onProblem?.(`cannot start the query check service: ${err.message}`));
      child.unref();
    } catch (err) {
      this.options.onProblem?.(`cannot start the query check service: ${(err as Error).message}`);
    }
  }
}
