// Starts the management API with serve's data plane (lifecycle AND backups; local runtime running the real
// graph-server, a blob store on the local filesystem or a real s3rver), plus the unauthenticated
// `/downloads/…` route on a loopback listener of its own, whose address the local blob store's links name
// (the API's port is known only once it listens). Also: s3rver in a child process, the real `allotrope serve` as a child process
// for crash tests, and small API helpers for backup tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import neo4j, { type Driver } from 'neo4j-driver';
import type { ApiInstance } from '../../src/api/types.js';
import { sendError } from '../../src/api/errors.js';
import type { Backups, BackupsSettings } from '../../src/server/backups.js';
import { dataPlane } from '../../src/server/data-plane.js';
import type { Lifecycle } from '../../src/server/lifecycle.js';
import type { ExtensionDeps, Extension } from '../../src/server/serve.js';
import type { LocalRuntime } from '../../src/runtimes/local/local-runtime.js';
import type { Runtime } from '../../src/runtimes/runtime.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/fs.js';
import { S3BlobStore } from '../../src/storage/s3.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './control-plane-process.js';
import { testDataPlaneConfig, testPortRange, testRuntimeOptions, waitForOperation, type Api } from './lifecycle.js';
import { startServer, type TestServer } from './server.js';
import { waitFor } from './wait-for.js';
import { freePort } from './free-port.js';

export const DB = '/deployments/databases/graphneo';

export interface S3Target {
  endpoint: string;
  bucket: string;
}

export interface BackupsServer extends TestServer {
  lifecycle: Lifecycle;
  backups: Backups;
  runtime: LocalRuntime;
  blobStore: BlobStore;
  adminToken: string;
  environmentId: string;
  /** Base URL of the `/downloads/…` listener (local storage). */
  downloadsUrl: string;
  /** The HMAC secret of local download links (to forge an expired one). */
  downloadSecret: string;
}

export interface BackupsParts {
  lifecycle: Lifecycle;
  backups: Backups;
  runtime: LocalRuntime;
  blobStore: BlobStore;
}

/** A serve() extension: serve's data plane (src/server/data-plane.ts) with a test's blob store; the schedule loop is left to the test's ticks. */
export function backupsExtension(
  options: { s3?: S3Target; settings?: BackupsSettings; downloadsUrl: string; downloadSecret: string; wrapRuntime?: (runtime: LocalRuntime) => Runtime },
  expose?: (parts: BackupsParts) => Promise<void> | void,
) {
  return async (deps: ExtensionDeps): Promise<Extension> => {
    const config = testDataPlaneConfig(deps.config);
    const blobStore: BlobStore = options.s3
      ? new S3BlobStore({
          bucket: options.s3.bucket,
          prefix: 'backups',
          endpoint: options.s3.endpoint,
          region: 'eu-west-1',
          forcePathStyle: true,
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        })
      : new FsBlobStore({ root: join(config.dataDir, 'blobs'), publicBaseUrl: options.downloadsUrl, downloadSecret: options.downloadSecret, clock: deps.clock });
    return dataPlane(
      { ...deps, config },
      {
        runtime: testRuntimeOptions,
        ...(options.wrapRuntime ? { wrapRuntime: options.wrapRuntime } : {}),
        lifecycle: { pollIntervalMs: 200 },
        backups: { blobStore, schedule: false, ...(options.settings ? { settings: options.settings } : {}) },
        expose: (parts) => expose?.({ lifecycle: parts.lifecycle, backups: parts.backups!, runtime: parts.runtime, blobStore }),
      },
    );
  };
}

/** `wrapRuntime` puts a test's own layer between the control plane and the real local runtime (to inject a failure). */
export async function startBackupsServer(
  options: {
    s3?: S3Target;
    settings?: BackupsSettings;
    wrapRuntime?: (runtime: LocalRuntime) => Runtime;
    /** ALLOTROPE_DB_PORTS (default: a claimed test range of 40). */
    dbPorts?: string;
    /** More ALLOTROPE_* variables. */
    env?: Record<string, string>;
  } = {},
): Promise<BackupsServer> {
  const downloadPort = await freePort();
  const downloadsUrl = `http://127.0.0.1:${downloadPort}`;
  const downloadSecret = randomBytes(32).toString('hex');
  let parts!: BackupsParts;
  const downloads = Fastify() as unknown as ApiInstance;
  downloads.setErrorHandler((err, request, reply) => sendError(err, request, reply));

  const extension = backupsExtension({ ...options, downloadsUrl, downloadSecret }, async (p) => {
    parts = p;
    await downloads.register(p.backups.downloadsRoute);
  });

  const server = await startServer({
    env: { ALLOTROPE_DB_PORTS: options.dbPorts ?? testPortRange(), ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ...options.env },
    extend: [extension],
  });
  try {
    await downloads.listen({ host: '127.0.0.1', port: downloadPort });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const adminToken = await server.token();
  const envs = await server.request<{ id: string }[]>('GET', '/deployments/environments', { token: adminToken });
  return {
    ...server,
    ...parts,
    adminToken,
    environmentId: envs.body[0]!.id,
    downloadsUrl,
    downloadSecret,
    async stop() {
      await downloads.close();
      await server.stop();
    },
  };
}

/** Creates a database on `plan` and waits for it to run; returns it with the neo4j password. */
export async function createDatabase(api: Api, token: string, body: Record<string, unknown>): Promise<{ database: any; password: string; operation: any }> {
  const res = await api.request('POST', DB, { token, body: { version: '5.26-grafeo', ...body } });
  if (res.status !== 202) throw new Error(`create: ${res.status} ${res.text}`);
  const operation = await waitForOperation(api, token, res.body.database.id, res.body.operationId, 60_000);
  if (operation.status !== 'finished') throw new Error(`create failed: ${JSON.stringify(operation)}`);
  return { database: res.body.database, password: res.body.credentials.password, operation };
}

/** Waits for an operation to end and asserts it finished; returns it. */
export async function operationFinished(api: Api, token: string, databaseId: string, operationId: string): Promise<any> {
  const op = await waitForOperation(api, token, databaseId, operationId, 60_000);
  if (op.status !== 'finished') throw new Error(`operation ${op.operationType} failed: ${op.error} ${JSON.stringify(op.steps)}`);
  return op;
}

export function driverFor(database: { boltPort: number }, password: string): Driver {
  return neo4j.driver(`bolt://127.0.0.1:${database.boltPort}`, neo4j.auth.basic('neo4j', password), { disableLosslessIntegers: false, logging: undefined });
}

export async function query(driver: Driver, cypher: string, params: Record<string, unknown> = {}): Promise<any[]> {
  const session = driver.session();
  try {
    const result = await session.run(cypher, params);
    return result.records.map((r) => r.toObject());
  } finally {
    await session.close();
  }
}

/** Node and relationship counts through Bolt. */
export async function countsOf(driver: Driver): Promise<{ nodes: number; relationships: number }> {
  const [n] = await query(driver, 'MATCH (n) RETURN count(n) AS c');
  const [r] = await query(driver, 'MATCH ()-[r]->() RETURN count(r) AS c');
  return { nodes: Number(n.c), relationships: Number(r.c) };
}

/** Waits until the database answers Bolt queries (after a restore or import restarted it). */
export async function waitForBolt(driver: Driver): Promise<void> {
  await waitFor(async () => (await query(driver, 'RETURN 1 AS one')).length === 1, { timeoutMs: 20_000, what: 'the database to answer over Bolt' });
}

// s3rver runs in a plain `node` child: under the tsx loader one of koa's dependencies resolves to its ESM
// build and s3rver fails to start. The child exits when its stdin closes.
const S3RVER_SCRIPT = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2], configureBuckets: [{ name: process.argv[3] }] });
server.run().then((address) => process.stdout.write(JSON.stringify(address) + '\\n'));
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

export async function startS3rver(directory: string, bucket: string): Promise<{ child: ChildProcess; endpoint: string; stop(): Promise<void> }> {
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['-e', S3RVER_SCRIPT, modulePath, directory, bucket], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await waitFor(() => (output.includes('\n') ? output.split('\n')[0] : null), { what: 's3rver to listen' });
  return {
    child,
    endpoint: `http://127.0.0.1:${(JSON.parse(line!) as AddressInfo).port}`,
    async stop() {
      child.stdin!.end();
      await exited;
    },
  };
}

/** The real `allotrope serve` (lifecycle + backups, blobs under the data dir) in a child process. */
export type BackupsServerProcess = ControlPlaneProcess;

/** Runs `allotrope serve` as a child process on `dataDir` (the caller creates and removes it). */
export async function startBackupsServerProcess(dataDir: string, dbPorts: string): Promise<BackupsServerProcess> {
  return startControlPlaneProcess({ dataDir, dbPorts, config: { runtime: { healthIntervalMs: 500 } } });
}
