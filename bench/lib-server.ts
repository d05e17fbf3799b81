// The control plane the benchmarks drive: serve() with the data plane, as `allotrope serve` runs it, on a
// temporary data dir, with a token of the bootstrap admin (never printed) and the management API calls
// they make. (`lib-` files are not benchmarks: bench/run.ts skips them.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig, type Config } from '../src/config.js';
import { dataPlane } from '../src/server/data-plane.js';
import { createLogger, serve, type RunningServer } from '../src/server/serve.js';

export const DB = '/deployments/databases/graphneo';
/** How often operationDone() polls by default: the times it returns are at most this much late. */
export const OPERATION_POLL_MS = 20;

export interface ApiResult {
  status: number;
  body: any;
  text: string;
}

export interface BenchServer {
  server: RunningServer;
  dataDir: string;
  /** The bootstrap environment. */
  environmentId: string;
  /** One API request as the bootstrap admin; a JSON body is parsed. */
  call(method: string, path: string, body?: unknown): Promise<ApiResult>;
  /** Sends an action (expects 202 with an operationId); returns the response body and when it was sent. */
  act(method: string, path: string, body?: unknown): Promise<{ body: any; sentAt: number }>;
  /** Polls the operation every `pollMs` until it ends; returns when it was first seen finished (performance.now()). */
  operationDone(databaseId: string, operationId: string, options?: { timeoutMs?: number; pollMs?: number }): Promise<number>;
  /** Stops the control plane (and with it the router and the database nodes) and removes the data dir. */
  close(): Promise<void>;
}

export interface BenchServerOptions {
  /** Prefix of the temporary data dir. */
  name: string;
  /** More ALLOTROPE_* variables (ALLOTROPE_DB_PORTS at least, so benchmarks run at once do not collide). */
  env: Record<string, string>;
  logLevel?: Config['logLevel'];
  /** Changes to the loaded config before serve() (e.g. an engine install). */
  configure?(config: Config): void;
}

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), options.name));
  let server: RunningServer | undefined;
  const close = async () => {
    const s = server;
    server = undefined;
    try {
      await s?.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    const logLevel = options.logLevel ?? 'error';
    const config = loadConfig({
      env: { ALLOTROPE_DATA_DIR: dataDir, ALLOTROPE_HOST: '127.0.0.1', ALLOTROPE_PORT: '0', ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ALLOTROPE_LOG_LEVEL: logLevel, ...options.env },
    });
    options.configure?.(config);
    server = await serve(config, { extend: [dataPlane], logger: createLogger(logLevel), announce: () => undefined });
    const url = server.url;
    if (!server.bootstrap) throw new Error('the temporary store was not bootstrapped');
    const tokenRes = await fetch(new URL('/organizations/oauth/token', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: server.bootstrap.client.clientId, client_secret: server.bootstrap.clientSecret }),
    });
    if (tokenRes.status !== 201) throw new Error(`token request: ${tokenRes.status}`);
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;

    const call = async (method: string, path: string, body?: unknown): Promise<ApiResult> => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(new URL(path, url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text, text };
    };
    const act = async (method: string, path: string, body?: unknown) => {
      const sentAt = performance.now();
      const res = await call(method, path, body);
      if (res.status !== 202) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
      return { body: res.body, sentAt };
    };
    const operationDone = async (databaseId: string, operationId: string, { timeoutMs = 60_000, pollMs = OPERATION_POLL_MS } = {}) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const res = await call('GET', `${DB}/${databaseId}/operations/${operationId}`);
        if (res.status !== 200) throw new Error(`GET operation: ${res.status} ${res.text}`);
        if (res.body.status === 'finished') return performance.now();
        if (res.body.status !== 'started') throw new Error(`operation ${res.body.operationType} ${res.body.status}: ${res.body.error ?? ''}`);
        if (performance.now() > deadline) throw new Error(`operation ${operationId} still running after ${timeoutMs} ms`);
        await delay(pollMs);
      }
    };
    const environments = await call('GET', '/deployments/environments');
    return { server, dataDir, environmentId: environments.body[0].id, call, act, operationDone, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
