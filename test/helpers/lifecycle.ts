// Starts the management API with the database lifecycle wired in by serve's data plane (router, local
// runtime running the real graph-server; no backups area), in this process or as a child process that a
// test may SIGKILL, plus small API helpers.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { SettingDefinition } from '../../src/domain/database-settings.js';
import type { Lifecycle } from '../../src/server/lifecycle.js';
import { dataPlane, type DataPlaneOverrides } from '../../src/server/data-plane.js';
import type { Extension, ExtensionDeps } from '../../src/server/serve.js';
import { graphServerCommand, typeScriptLoaderOptions, type CommandFactory } from '../../src/runtimes/local/command.js';
import type { EngineInstalls } from '../../src/runtimes/local/command.js';
import { nodeEnvironment, type LocalRuntime } from '../../src/runtimes/local/local-runtime.js';
import { testFileTag } from './leftover-processes.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './control-plane-process.js';
import { startServer, type ApiResponse, type RequestOptions, type TestServer } from './server.js';
import { waitFor } from './wait-for.js';

const fromTypeScript = import.meta.url.endsWith('.ts');
const ext = fromTypeScript ? 'ts' : 'js';
const standalone = fileURLToPath(new URL(`../../src/graph-server/standalone.${ext}`, import.meta.url));

/** The graph-server command: the allotrope CLI once it registers `graph-server`, else the graph-server's own entry. */
export const testGraphServerCommand: CommandFactory = (launch) =>
  existsSync(standalone)
    ? [process.execPath, ...launch.nodeOptions, ...typeScriptLoaderOptions, standalone, 'graph-server', ...launch.args]
    : graphServerCommand(launch);

export interface LifecycleTestOptions {
  /** `settings/config` catalogue (default: the local runtime's). */
  settings?: readonly SettingDefinition[];
  healthIntervalMs?: number;
  leaseMs?: number;
  concurrency?: number;
  /** Engine installs the local runtime launches nodes with (default: none). */
  engines?: EngineInstalls;
}

/**
 * Test servers' local runtimes: the graph-server command, short intervals, and the nodes' environment
 * carrying the test file's tag (test/helpers/leftover-processes.ts) besides the variables nodes get.
 */
export const testRuntimeOptions = {
  command: testGraphServerCommand,
  env: { ...nodeEnvironment(), ...testFileTag() },
  healthIntervalMs: 300,
  stopGraceMs: 5_000,
  backoff: { initialMs: 200 },
} satisfies DataPlaneOverrides['runtime'];

/**
 * A test server's config: nodes run as this user (the command is the test's, see LocalRuntimeOptions.nodeUser)
 * with a short health interval.
 */
export function testDataPlaneConfig(config: Config, runtime: Partial<Config['runtime']> = {}): Config {
  return { ...config, runtime: { ...config.runtime, nodeUser: 'same', healthIntervalMs: 500, ...runtime } };
}

/** An `extend` factory for serve(): serve's data plane (src/server/data-plane.ts) without the backups area. */
export function lifecycleExtension(options: LifecycleTestOptions = {}, expose?: (parts: { lifecycle: Lifecycle; runtime: LocalRuntime }) => void) {
  return async (deps: ExtensionDeps): Promise<Extension> => {
    const config: Config = {
      ...testDataPlaneConfig(deps.config, options.healthIntervalMs ? { healthIntervalMs: options.healthIntervalMs } : {}),
      operations: { concurrency: options.concurrency ?? deps.config.operations.concurrency, leaseMs: options.leaseMs ?? deps.config.operations.leaseMs },
      // Versions of an installed engine are offered (and its nodes run) when the test gives it.
      engines: { ...deps.config.engines, ...(options.engines ? { neo4j: options.engines.neo4j } : {}) },
    };
    return dataPlane(
      { ...deps, config },
      {
        runtime: testRuntimeOptions,
        lifecycle: { pollIntervalMs: 200, ...(options.settings ? { settings: options.settings } : {}) },
        backups: false,
        expose: (parts) => expose?.({ lifecycle: parts.lifecycle, runtime: parts.runtime }),
      },
    );
  };
}

// Database port ranges for test servers. Below the kernel's ephemeral range (32768+ on Linux), so no
// client socket of this machine can hold one of them as its local port, and claimed across the test
// files running at once: a claim is a directory owned by a live pid.
const PORT_SLOT = 40;
const PORT_BASE = 20_000;
const PORT_SLOTS = Math.floor((32_760 - PORT_BASE) / PORT_SLOT);
const claimRoot = join(tmpdir(), 'allotrope-test-ports');
const claimed: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claim(slot: number): boolean {
  const dir = join(claimRoot, String(slot));
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number(readFileSafe(join(dir, 'pid')));
    if (!owner || owner === process.pid || alive(owner)) return false;
    // Left by a test process that is gone; take it over (renaming away first, so only one taker wins).
    try {
      renameSync(dir, `${dir}.stale-${process.pid}`);
    } catch {
      return false;
    }
    rmSync(`${dir}.stale-${process.pid}`, { recursive: true, force: true });
    return claim(slot);
  }
  writeFileSync(join(dir, 'pid'), String(process.pid));
  claimed.push(dir);
  return true;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

process.once('exit', () => {
  for (const dir of claimed) rmSync(dir, { recursive: true, force: true });
});

/** A range of `size` (≤ 40) database ports no other test server of this machine uses. */
export function testPortRange(size = PORT_SLOT): string {
  if (size > PORT_SLOT) throw new Error(`testPortRange gives at most ${PORT_SLOT} ports`);
  mkdirSync(claimRoot, { recursive: true });
  const start = Math.floor(Math.random() * PORT_SLOTS);
  for (let i = 0; i < PORT_SLOTS; i++) {
    const slot = (start + i) % PORT_SLOTS;
    if (claim(slot)) {
      const first = PORT_BASE + slot * PORT_SLOT;
      return `${first}-${first + size - 1}`;
    }
  }
  throw new Error(`every test port range under ${claimRoot} is claimed by a live process`);
}

export interface LifecycleServer extends TestServer {
  lifecycle: Lifecycle;
  runtime: LocalRuntime;
  adminToken: string;
  environmentId: string;
}

export async function startLifecycleServer(options: LifecycleTestOptions & { dataDir?: string; dbPorts?: string; clock?: Clock; env?: Record<string, string> } = {}): Promise<LifecycleServer> {
  let parts!: { lifecycle: Lifecycle; runtime: LocalRuntime };
  const server = await startServer({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    env: { ALLOTROPE_DB_PORTS: options.dbPorts ?? testPortRange(), ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ...options.env },
    extend: [lifecycleExtension(options, (p) => (parts = p))],
  });
  const adminToken = await server.token();
  const envs = await server.request<{ id: string }[]>('GET', '/deployments/environments', { token: adminToken });
  return { ...server, ...parts, adminToken, environmentId: envs.body[0]!.id };
}

const DB = '/deployments/databases/graphneo';

export interface Api {
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

/** Polls an operation until it is no longer `started`; returns it. */
export async function waitForOperation(api: Api, token: string, databaseId: string, operationId: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    async () => {
      const res = await api.request('GET', `${DB}/${databaseId}/operations/${operationId}`, { token });
      if (res.status !== 200) throw new Error(`GET operation: ${res.status} ${res.text}`);
      return res.body.status !== 'started' && res.body;
    },
    { timeoutMs, intervalMs: 100, what: `operation ${operationId} to end` },
  );
}

export async function createDatabaseAndWait(api: Api, token: string, environmentId: string, name: string): Promise<{ database: any; password: string; operation: any }> {
  const res = await api.request('POST', DB, { token, body: { environmentId, name, plan: 'ds1', version: '5.26-grafeo' } });
  if (res.status !== 202) throw new Error(`create: ${res.status} ${res.text}`);
  const operation = await waitForOperation(api, token, res.body.database.id, res.body.operationId);
  if (operation.status !== 'finished') throw new Error(`create failed: ${JSON.stringify(operation)}`);
  return { database: res.body.database, password: res.body.credentials.password, operation };
}

/** The real `allotrope serve` (lifecycle and backups) in a child process (see control-plane-process.ts). */
export type LifecycleServerProcess = ControlPlaneProcess;

/**
 * Runs `allotrope serve` as a child process on `dataDir` (created when omitted; the caller removes it),
 * with a short health interval and the given operation lease.
 */
export async function startLifecycleServerProcess(options: { dataDir?: string; dbPorts: string; leaseMs?: number; enginesDir?: string }): Promise<LifecycleServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'allotrope-lifecycle-'));
  return startControlPlaneProcess({
    dataDir,
    dbPorts: options.dbPorts,
    ...(options.enginesDir ? { enginesDir: options.enginesDir } : {}),
    config: { operations: { leaseMs: options.leaseMs ?? 30_000 }, runtime: { healthIntervalMs: 300 } },
  });
}

/** Removes a data dir left by startLifecycleServerProcess. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
