// Runs a control plane as a child process that a test may SIGKILL to simulate a crash: the real
// `allotrope serve` (lifecycle + backups, as shipped), configured with ALLOTROPE_* variables and
// `--config <file>`; plus a small API client for it. The crash tests
// of the lifecycle and of backups both start their control plane from here.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initialCredentialsPath } from '../../src/server/serve.js';
import { allotropeCommand } from './cli.js';
import type { ApiResponse, Credentials, RequestOptions } from './server.js';
import { waitFor } from './wait-for.js';
import { testStoreEnv } from './test-store.js';

export interface ControlPlaneProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  adminCredentials: Credentials;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** stdout + stderr so far, with the first-start client secret blanked out. */
  output(): string;
  /** A fresh admin access token. */
  token(): Promise<string>;
  /** SIGKILL, as a crash (its graph-server processes live on, to be adopted by the next start). */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop that also stops the database processes. */
  stop(): Promise<void>;
}

export interface ControlPlaneProcessOptions {
  /** The control plane's data directory (the caller creates and removes it). */
  dataDir: string;
  /** ALLOTROPE_DB_PORTS, e.g. from testPortRange(). */
  dbPorts: string;
  /** ALLOTROPE_ENGINES_DIR: where installed engines are found (default: none, so only Grafeo is offered). */
  enginesDir?: string;
  /** Settings written to the `--config` file (keys of src/config.ts `Config`, nested groups may be partial). */
  config?: Record<string, unknown>;
  /** ALLOTROPE_STORE_URL (default: the test store of the data dir, see test-store.ts). */
  storeUrl?: string;
  /** Extra environment variables (e.g. ALLOTROPE_BILLING, or the test-only ALLOTROPE_TEST_CLOCK_FILE). */
  env?: Record<string, string>;
}

/** The config file lives in the data dir so that it goes away with it. */
const CONFIG_FILE = 'test-serve-config.json';

export async function startControlPlaneProcess(options: ControlPlaneProcessOptions): Promise<ControlPlaneProcess> {
  const { dataDir } = options;
  const configFile = join(dataDir, CONFIG_FILE);
  writeFileSync(configFile, JSON.stringify(options.config ?? {}));
  const [command, args] = allotropeCommand(['serve', '--config', configFile]);
  const storeEnv = options.storeUrl ? { ALLOTROPE_STORE_URL: options.storeUrl } : await testStoreEnv(dataDir);
  const child = spawn(command, args, {
    env: {
      ...process.env,
      ALLOTROPE_DATA_DIR: dataDir,
      ALLOTROPE_PORT: '0',
      ALLOTROPE_HOST: '127.0.0.1',
      ALLOTROPE_PUBLIC_HOST: '127.0.0.1',
      ALLOTROPE_DB_PORTS: options.dbPorts,
      ALLOTROPE_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      // Backups stay on the local filesystem under the data dir whatever the developer's shell says.
      ALLOTROPE_STORAGE_URL: '',
      // Databases run on Grafeo unless a test asks for the installed Neo4j engine.
      ALLOTROPE_ENGINES_DIR: options.enginesDir ?? join(dataDir, 'no-engines'),
      ...storeEnv,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // The first start prints the admin client's secret and the console owner's password; keep them out of error messages.
  const shown = () => out.replace(/((?:client_secret|password):\s*)\S+/g, '$1[hidden]');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = await waitFor(
    () => {
      if (!alive()) throw new Error(`the control plane exited with ${child.exitCode ?? child.signalCode}: ${shown()}`);
      return /management API listening on (\S+)/.exec(out)?.[1];
    },
    { timeoutMs: 30_000, what: 'the control plane to listen' },
  ).catch(async (err: unknown) => {
    if (alive()) child.kill('SIGKILL');
    await exited;
    throw err;
  });
  const credentialsText = readFileSync(initialCredentialsPath(dataDir), 'utf8');
  const adminCredentials: Credentials = {
    clientId: /^ALLOTROPE_CLIENT_ID=(.*)$/m.exec(credentialsText)?.[1] ?? '',
    clientSecret: /^ALLOTROPE_CLIENT_SECRET=(.*)$/m.exec(credentialsText)?.[1] ?? '',
  };
  const request = async <T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(path, url), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text) as T, text };
  };
  const signal = async (name: NodeJS.Signals) => {
    if (alive()) child.kill(name);
    await exited;
  };
  return {
    url,
    dataDir,
    child,
    adminCredentials,
    request,
    output: shown,
    async token() {
      const res = await request<{ access_token: string }>('POST', '/organizations/oauth/token', {
        body: { grant_type: 'client_credentials', client_id: adminCredentials.clientId, client_secret: adminCredentials.clientSecret },
      });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${res.text}`);
      return res.body.access_token;
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
