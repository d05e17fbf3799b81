// The backups area as one unit for src/server/serve.ts: operation kinds (snapshot, export, restore, import) for
// the lifecycle's engine, the lifecycle hooks (final snapshot on terminate, create from a snapshot or a
// clone), the authenticated routes, the unauthenticated `/downloads/…` route of local storage, and the
// scheduled-backup loop.
import type { Caller } from '../auth/caller.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RoutePlugin } from '../api/types.js';
import { backupRoutes } from '../api/routes/backups.js';
import { downloadRoutes } from '../api/routes/downloads.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { databaseDepsFrom } from '../domain/databases.js';
import { snapshotUsableBy, type BackupsDomainDeps } from '../domain/snapshots.js';
import type { LifecycleOptions } from './lifecycle.js';
import type { OperationKind } from '../operations/kind.js';
import { backupOperationKinds, restoreSnapshotInto, takeFinalSnapshot, type BackupKindsDeps } from '../operations/kinds/backups.js';
import type { Runtime } from '../runtimes/runtime.js';
import { createBackupScheduler, type BackupScheduler } from '../scheduler/backups.js';
import type { BlobStore } from '../storage/blob-store.js';
import { FsBlobStore } from '../storage/fs.js';
import { createBlobStore, type CreateBlobStoreOptions } from '../storage/s3.js';
import { DEFAULT_HOST_PATTERNS, type SafeFetchOptions } from '../storage/safe-fetch.js';
import type { Store } from '../store/db.js';

export interface BackupsSettings {
  /** Host patterns `{url}` imports may come from (default `*.amazonaws.com`). */
  importHosts?: readonly string[];
  /** Allow http:// import URLs (default false). */
  importAllowHttp?: boolean;
  /** Largest import, upload or download (default config.uploadLimitBytes). */
  importMaxBytes?: number;
  /** Memory cap of a Cypher-script import's loading process (default config.backups.cypherImportMaxMemoryBytes). */
  cypherImportMaxMemoryBytes?: number;
  /** Time bound of a Cypher-script import (default config.backups.cypherImportTimeoutMs). */
  cypherImportTimeoutMs?: number;
  /** Lifetime of export links (default 24 h). */
  exportTtlSeconds?: number;
  /** How long a final snapshot is kept after terminate (default 7 days). */
  finalSnapshotRetentionDays?: number;
  /** How often the scheduler ticks (default 30 s). */
  schedulerIntervalMs?: number;
  /** Extra safe-fetch settings (resolver, CA certificates; `trustAddress` for tests only). */
  fetch?: Omit<SafeFetchOptions, 'maxBytes' | 'hostPatterns' | 'allowHttp'>;
}

export interface BackupsOptions {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  runtime: Runtime;
  blobStore: BlobStore;
  /** Wakes the operations engine (`() => lifecycle.engine.wake()`). */
  wake(): void;
  settings?: BackupsSettings;
}

export interface Backups {
  kinds: OperationKind[];
  routes: RoutePlugin;
  hooks: NonNullable<LifecycleOptions['backups']>;
  scheduler: BackupScheduler;
  /** `/downloads/…` for local storage; register OUTSIDE the authenticated scope. A no-op plugin on S3. */
  downloadsRoute: RoutePlugin;
}

export function createBackups(options: BackupsOptions): Backups {
  const { config, store, clock, runtime, blobStore } = options;
  const settings = options.settings ?? {};
  const logger = options.logger.child({ area: 'backups' });
  const db = store.db;
  const importMaxBytes = settings.importMaxBytes ?? config.uploadLimitBytes;
  const importHosts = settings.importHosts ?? DEFAULT_HOST_PATTERNS;
  const importAllowHttp = settings.importAllowHttp ?? false;
  const finalRetentionMs = (settings.finalSnapshotRetentionDays ?? 7) * 24 * 3600_000;

  const kindsDeps: BackupKindsDeps = {
    runtime,
    blobStore,
    nodeHost: config.host,
    workRoot: join(config.dataDir, 'backups-work'),
    importMaxBytes,
    importFetch: { ...settings.fetch, hostPatterns: importHosts, allowHttp: importAllowHttp },
    cypherImport: {
      maxMemoryBytes: settings.cypherImportMaxMemoryBytes ?? config.backups.cypherImportMaxMemoryBytes,
      timeoutMs: settings.cypherImportTimeoutMs ?? config.backups.cypherImportTimeoutMs,
    },
    neo4jVersion: config.engines.neo4j?.version ?? null,
    neo4j: config.engines.neo4j
      ? { installDir: config.engines.neo4j.dir, mainClass: config.engines.neo4j.mainClass, java: config.engines.neo4j.java, jvmFlags: config.engines.neo4j.jvmFlags, cdsArchive: config.engines.neo4j.cdsArchive }
      : null,
  };

  const snapshotUsable = (caller: Caller, snapshotId: string) => snapshotUsableBy(db, caller, snapshotId);
  const databases = databaseDepsFrom(config, { db, clock, wake: () => options.wake(), snapshotUsable });
  const domain: BackupsDomainDeps = {
    db,
    clock,
    blobStore,
    wake: () => options.wake(),
    databases,
    finalSnapshotRetentionMs: finalRetentionMs,
    exportTtlSeconds: settings.exportTtlSeconds ?? 24 * 3600,
    importMaxBytes,
    importHosts,
    importAllowHttp,
  };

  const scheduler = createBackupScheduler({ store, clock, logger, blobStore, wake: () => options.wake(), intervalMs: settings.schedulerIntervalMs });

  return {
    kinds: backupOperationKinds(kindsDeps),
    routes: backupRoutes(domain),
    hooks: {
      finalSnapshot: (ctx) => takeFinalSnapshot(kindsDeps, ctx, finalRetentionMs),
      restoreSnapshot: (ctx, stationId, snapshotId) => restoreSnapshotInto(kindsDeps, ctx, stationId, snapshotId),
      snapshotUsable,
    },
    scheduler,
    downloadsRoute: blobStore instanceof FsBlobStore ? downloadRoutes({ blobStore, clock }) : async () => undefined,
  };
}

/**
 * The HMAC key of local download links, kept in the data directory so links survive a restart; made on
 * first use (64 hex characters, mode 0600). Never logged.
 */
export function loadDownloadSecret(dataDir: string): string {
  const path = join(dataDir, 'download-signing-key');
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(text)) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return secret;
}

/**
 * The blob store backups live in: `storageUrl` (ALLOTROPE_STORAGE_URL: `s3://bucket/prefix`, `file:///dir`
 * or an absolute path), by default `<dataDir>/blobs`. Local download links point at `publicBaseUrl`, the
 * address clients reach this server at (default from config: scheme, publicHost and port).
 */
export function createBackupsStorage(options: { config: Config; clock: Clock; storageUrl?: string; publicBaseUrl?: string }): BlobStore {
  const { config } = options;
  const host = config.publicHost.includes(':') ? `[${config.publicHost}]` : config.publicHost;
  const publicBaseUrl = options.publicBaseUrl ?? `${config.tls ? 'https' : 'http'}://${host}:${config.port}`;
  return createBlobStore(options.storageUrl ?? join(config.dataDir, 'blobs'), {
    publicBaseUrl,
    downloadSecret: loadDownloadSecret(config.dataDir),
    clock: options.clock,
    s3: s3Options(config.backups.s3),
  });
}

/** Config.backups.s3 as the S3 store's options (absent endpoint and keys: AWS itself, the SDK's default chain). */
function s3Options(s3: Config['backups']['s3']): CreateBlobStoreOptions['s3'] {
  return { region: s3.region, ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), ...(s3.credentials ? { credentials: s3.credentials } : {}) };
}
