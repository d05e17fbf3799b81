// Starts a real management API on a free loopback port with a temporary data directory, for tests.
// `startServer` runs it in this process (fast; lets a test inject a clock, extra route plugins or whole
// extensions); `startServerProcess` runs `allotrope serve` as a child process (what a user runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutePlugin } from '../../src/api/types.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, initialCredentialsPath, serve, type RunningServer, type ServeOptions } from '../../src/server/serve.js';
import type { DestinationStream } from 'pino';
import { allotropeCommand } from './cli.js';
import { waitFor } from './wait-for.js';
import { testStoreEnv } from './test-store.js';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent form-encoded; arrays become repeated keys. */
  form?: Record<string, string | number | boolean | string[]>;
  headers?: Record<string, string>;
}

export interface TestServerBase {
  url: string;
  dataDir: string;
  adminCredentials: Credentials;
  /** A token for `credentials` (the bootstrap admin by default). */
  token(credentials?: Credentials): Promise<string>;
  /** One HTTP request against the server; the body is parsed as JSON when it is JSON. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

export interface TestServer extends TestServerBase {
  config: Config;
  running: RunningServer;
}

export interface StartServerOptions {
  clock?: Clock;
  /** Extra ALLOTROPE_* variables (the data dir and port are set by the helper unless given here). */
  env?: Record<string, string>;
  configFile?: string;
  /** Route plugins registered behind the bearer check. */
  routes?: RoutePlugin[];
  /** Whole extensions (routes + start/stop), as src/server/serve.ts takes them. */
  extend?: ServeOptions['extend'];
  /** Reuse this data directory (e.g. to restart on the same store); it is then not deleted by stop(). */
  dataDir?: string;
  /** Capture the server's log lines (level from ALLOTROPE_LOG_LEVEL in `env`, else TEST_LOG_LEVEL or silent). */
  logStream?: DestinationStream;
}

/** The bootstrap credentials written on first start (empty when this store was not bootstrapped by serve). */
function parseCredentialsFile(dataDir: string): Credentials {
  let text = '';
  try {
    text = readFileSync(initialCredentialsPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const get = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1] ?? '';
  return { clientId: get('ALLOTROPE_CLIENT_ID'), clientSecret: get('ALLOTROPE_CLIENT_SECRET') };
}

function clientFor(url: string, adminCredentials: Credentials) {
  const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(options.form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
      body = params.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(new URL(path, url), { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
  const token = async (credentials: Credentials = adminCredentials): Promise<string> => {
    const res = await request<{ access_token: string }>('POST', '/organizations/oauth/token', {
      form: { grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret },
    });
    if (res.status !== 201) throw new Error(`token request failed: ${res.status} ${res.text}`);
    return res.body.access_token;
  };
  return { request, token };
}

/** Starts the API in this process. */
export async function startServer(opts: StartServerOptions = {}): Promise<TestServer> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'allotrope-test-'));
  try {
    const config = loadConfig({
      configFile: opts.configFile,
      env: {
        ALLOTROPE_DATA_DIR: dataDir,
        ALLOTROPE_PORT: '0',
        ALLOTROPE_HOST: '127.0.0.1',
        ALLOTROPE_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        ...(await testStoreEnv(dataDir)),
        ...opts.env,
      },
    });
    const extend = [...(opts.extend ?? [])];
    if (opts.routes?.length) extend.push(async () => ({ routes: opts.routes }));
    const running = await serve(config, { clock: opts.clock, logger: createLogger(config.logLevel, opts.logStream), extend, announce: () => undefined });
    const adminCredentials = running.bootstrap
      ? { clientId: running.bootstrap.client.clientId, clientSecret: running.bootstrap.clientSecret }
      : parseCredentialsFile(dataDir);
    const client = clientFor(running.url, adminCredentials);
    return {
      url: running.url,
      dataDir,
      config,
      running,
      adminCredentials,
      ...client,
      async stop() {
        await running.close();
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface TestServerProcess extends TestServerBase {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** Runs `allotrope serve` as a child process and waits until it listens. */
export async function startServerProcess(opts: { env?: Record<string, string>; args?: string[]; dataDir?: string } = {}): Promise<TestServerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'allotrope-test-'));
  const [cmd, args] = allotropeCommand(['serve', ...(opts.args ?? [])]);
  const storeEnv = await testStoreEnv(dataDir);
  const child = spawn(cmd, args, {
    // Databases run on Grafeo unless a test points ALLOTROPE_ENGINES_DIR at the installed Neo4j engine.
    env: { ...process.env, ALLOTROPE_DATA_DIR: dataDir, ALLOTROPE_PORT: '0', ALLOTROPE_HOST: '127.0.0.1', ALLOTROPE_LOG_LEVEL: 'warn', ALLOTROPE_ENGINES_DIR: join(dataDir, 'no-engines'), ...storeEnv, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`allotrope serve exited with ${child.exitCode}: ${out}`);
      return /listening on (https?:\/\/\S+) /.exec(out)?.[1];
    }, { timeoutMs: 30_000, what: 'allotrope serve to listen' });
    const adminCredentials = parseCredentialsFile(dataDir);
    return { url, dataDir, adminCredentials, child, output: () => out, ...clientFor(url, adminCredentials), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
