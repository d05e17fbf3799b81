// The admin channel between the control plane and one graph-server: HTTP over a unix socket in
// the data dir (mode 0600, so only the platform's user reaches it). One request shape,
// `{op, dir?}`, so the client is one function.
import { createHash } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';

export type AdminRequest =
  | { op: 'health' }
  | { op: 'counts' }
  | { op: 'checkpoint' }
  | { op: 'stats' }
  | { op: 'backup'; dir: string };

export interface AdminHealth {
  status: 'ok';
  databaseId: string;
  pid: number;
  uptimeMs: number;
  rssBytes: number;
  /** V8 heap in use (garbage not yet collected included): falls back once an idle server collects after a burst. */
  heapUsedBytes: number;
  readOnly: boolean;
  boltPort: number;
  httpPort: number;
  openTransactions: number;
  /** Transactions (explicit or auto-commit) begun since the process started: the control plane's idle clock. */
  transactionsBegun: number;
}

export interface AdminCounts {
  nodes: number;
  relationships: number;
}

/** The query check's counters since the graph-server started (src/graph-server/query-check). */
export interface QueryCheckAdminStats {
  enabled: boolean;
  budgetMs: number;
  /** Neo4j's front-end is loaded in a worker: new checks can now finish within the budget. */
  ready: boolean;
  /** Checks asked for (cache hits included). */
  checked: number;
  cacheHits: number;
  /** Left to the engine alone: over budget, too long to check, or no worker available. */
  overBudget: number;
  refused: number;
  /** Worker threads alive now (0 once stopped for idleness). */
  workers: number;
}

export interface AdminStats {
  queryCheck: QueryCheckAdminStats;
}

export interface AdminResponses {
  health: AdminHealth;
  counts: AdminCounts;
  checkpoint: { checkpointed: true };
  stats: AdminStats;
  backup: { dir: string; durationMs: number };
}

export interface AdminHandlers {
  health(): AdminHealth;
  counts(): AdminCounts | Promise<AdminCounts>;
  stats(): AdminStats;
  checkpoint(): Promise<void>;
  backup(dir: string): Promise<void>;
}

// A unix socket path is limited to 108 bytes; a data dir deep enough falls back to the temp dir
// under a name both sides derive from the data dir.
const MAX_SOCKET_PATH = 100;

export function adminSocketPath(dataDir: string): string {
  const inDir = join(dataDir, 'admin.sock');
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH) return inDir;
  const digest = createHash('sha256').update(normalize(dataDir)).digest('hex').slice(0, 24);
  return join(tmpdir(), `allotrope-admin-${digest}.sock`);
}

export class AdminError extends Error {
  override name = 'AdminError';
}

function checkRequest(body: unknown): AdminRequest {
  const req = body as Partial<AdminRequest> | null;
  switch (req?.op) {
    case 'health':
    case 'counts':
    case 'checkpoint':
    case 'stats':
      return { op: req.op };
    case 'backup': {
      const dir = (req as { dir?: unknown }).dir;
      if (typeof dir !== 'string' || !isAbsolute(dir) || normalize(dir) !== dir.replace(/\/+$/, '') || dir.includes('\0')) {
        throw new AdminError('backup needs "dir", an absolute normalized path');
      }
      return { op: 'backup', dir };
    }
    default:
      throw new AdminError(`unknown op; expected one of health, counts, stats, backup, checkpoint`);
  }
}

export interface AdminServer {
  socketPath: string;
  close(): Promise<void>;
}

export async function startAdminServer(
  dataDir: string,
  handlers: AdminHandlers,
  logger?: { error(obj: object, msg: string): void },
): Promise<AdminServer> {
  const socketPath = adminSocketPath(dataDir);
  // A socket left by a killed process would make listen fail with EADDRINUSE; the database file
  // lock already guarantees that no other live server owns this data dir.
  await rm(socketPath, { force: true });
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return reply(405, { error: 'use POST with {"op": ...}' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        let parsed: AdminRequest;
        try {
          parsed = checkRequest(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
        } catch (err) {
          return reply(400, { error: err instanceof AdminError ? err.message : 'the body must be JSON' });
        }
        try {
          switch (parsed.op) {
            case 'health':
              return reply(200, handlers.health());
            case 'counts':
              return reply(200, await handlers.counts());
            case 'stats':
              return reply(200, handlers.stats());
            case 'checkpoint':
              await handlers.checkpoint();
              return reply(200, { checkpointed: true });
            case 'backup': {
              const started = Date.now();
              await handlers.backup(parsed.dir);
              return reply(200, { dir: parsed.dir, durationMs: Date.now() - started });
            }
          }
        } catch (err) {
          logger?.error({ op: parsed.op, err: (err as Error).message }, 'admin request failed');
          return reply(500, { error: `${parsed.op} failed: ${(err as Error).message.split('\n')[0]}` });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => rm(socketPath, { force: true })),
  };
}

/** Sends one admin request to the graph-server of `dataDir`; throws AdminError with its message. */
export async function adminRequest<R extends AdminRequest>(
  dataDir: string,
  req: R,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<AdminResponses[R['op']]> {
  const socketPath = adminSocketPath(dataDir);
  const payload = JSON.stringify(req);
  return new Promise((resolve, reject) => {
    const r = request(
      { socketPath, path: '/', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: { error?: string } & Record<string, unknown>;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
          } catch {
            return reject(new AdminError(`admin channel answered ${res.statusCode} without JSON`));
          }
          if (res.statusCode !== 200) return reject(new AdminError(body.error ?? `admin channel answered ${res.statusCode}`));
          resolve(body as unknown as AdminResponses[R['op']]);
        });
        res.on('error', (err) => reject(new AdminError(`admin channel: ${err.message}`)));
      },
    );
    r.on('timeout', () => r.destroy(new AdminError(`admin request ${req.op} timed out after ${timeoutMs} ms`)));
    r.on('error', (err: NodeJS.ErrnoException) =>
      reject(err instanceof AdminError ? err : new AdminError(`cannot reach the graph-server admin channel at ${socketPath}: ${err.code ?? err.message}`)),
    );
    r.end(payload);
  });
}
