// Routes of api.md §5 "Backups" (snapshots, scheduled backups, restore, export, import) and the clone
// command of the lifecycle table. Each handler validates, calls one domain function and shapes the answer.
import { Type } from '@sinclair/typebox';
import type { BackupsDomainDeps } from '../../domain/snapshots.js';
import {
  cloneDatabase,
  createSnapshot,
  deleteSnapshot,
  getSnapshot,
  latestBackup,
  listSnapshots,
  restoreSnapshot,
} from '../../domain/snapshots.js';
import { getBackupSchedule, putBackupSchedule } from '../../domain/backup-schedules.js';
import { getExport, listExports, startExport } from '../../domain/exports.js';
import { authorizeImport, newUploadKey, startImport } from '../../domain/imports.js';
import { DomainError, invalid } from '../../errors.js';
import { BlobTooLargeError } from '../../storage/blob-store.js';
import type { ApiInstance, RoutePlugin } from '../types.js';
import { errorResponses } from '../schemas/common.js';
import { exportView, snapshotView } from '../views/backups.js';
import { createdView } from '../views/databases.js';
import { DbParams, OperationAccepted, VENDOR } from '../schemas/databases.js';
import {
  SnapshotParams,
  ExportParams,
  Snapshot,
  Export,
  Schedule,
  PutSchedule,
  CreateSnapshot,
  Restore,
  StartExport,
  Clone,
  Cloned,
  SnapshotStarted,
  ExportStarted,
} from '../schemas/backups.js';

const BASE = '/deployments/databases/:vendor/:id';

export function backupRoutes(deps: BackupsDomainDeps): RoutePlugin {
  const tags = ['backups'];
  return async (app: ApiInstance): Promise<void> => {
    app.addHook('preValidation', async (request) => {
      const vendor = (request.params as { vendor?: string }).vendor;
      if (vendor !== undefined && vendor !== VENDOR) throw invalid('vendor', `unsupported database vendor '${vendor}'`);
      if ((request.body === undefined || request.body === null) && !request.isMultipart()) request.body = {};
    });

    app.get(`${BASE}/snapshots`, { schema: { tags, summary: 'Snapshots of a database, newest first', params: DbParams, response: { 200: Type.Array(Snapshot), ...errorResponses(403, 404) } } }, async (request) =>
      (await listSnapshots(deps, request.caller!, request.params.id)).map(snapshotView),
    );
    app.post(
      `${BASE}/snapshots`,
      { schema: { tags, summary: 'Take a snapshot (standard plans and above) of a running or paused database; 409 in any other state', params: DbParams, body: CreateSnapshot, response: { 202: SnapshotStarted, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => {
        const { snapshot, operationId } = await createSnapshot(deps, request.caller!, request.params.id, request.body ?? {});
        return reply.code(202).send({ snapshot: snapshotView(snapshot), operationId });
      },
    );
    app.get(`${BASE}/snapshots/:snapshotId`, { schema: { tags, summary: 'Get a snapshot', params: SnapshotParams, response: { 200: Snapshot, ...errorResponses(403, 404) } } }, async (request) =>
      snapshotView(await getSnapshot(deps, request.caller!, request.params.id, request.params.snapshotId)),
    );
    app.delete(`${BASE}/snapshots/:snapshotId`, { schema: { tags, summary: 'Delete a snapshot', params: SnapshotParams, response: { 204: Type.Null(), ...errorResponses(403, 404, 409) } } }, async (request, reply) => {
      await deleteSnapshot(deps, request.caller!, request.params.id, request.params.snapshotId);
      return reply.code(204).send(null);
    });
    app.post(
      `${BASE}/snapshots/:snapshotId/restore`,
      { schema: { tags, summary: 'Restore a snapshot into this database or targetDatabaseId (running: restarted with the data; paused: stays paused); 409 in any other state', params: SnapshotParams, body: Restore, response: { 202: OperationAccepted, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => reply.code(202).send(await restoreSnapshot(deps, request.caller!, request.params.id, request.params.snapshotId, request.body ?? {})),
    );

    app.get(`${BASE}/backups`, { schema: { tags, summary: 'Scheduled backups, newest first', params: DbParams, response: { 200: Type.Array(Snapshot), ...errorResponses(403, 404) } } }, async (request) =>
      (await listSnapshots(deps, request.caller!, request.params.id, ['scheduled'])).map(snapshotView),
    );
    app.get(`${BASE}/backups/latest`, { schema: { tags, summary: 'The newest completed snapshot or scheduled backup', params: DbParams, response: { 200: Snapshot, ...errorResponses(403, 404) } } }, async (request) =>
      snapshotView(await latestBackup(deps, request.caller!, request.params.id)),
    );
    app.get(`${BASE}/backups/schedule`, { schema: { tags, summary: 'The scheduled-backup setting', params: DbParams, response: { 200: Schedule, ...errorResponses(403, 404) } } }, async (request) =>
      getBackupSchedule(deps, request.caller!, request.params.id),
    );
    app.put(
      `${BASE}/backups/schedule`,
      { schema: { tags, summary: 'Change the scheduled-backup setting (enabling needs a standard plan or above)', params: DbParams, body: PutSchedule, response: { 200: Schedule, ...errorResponses(403, 404) } } },
      async (request) => putBackupSchedule(deps, request.caller!, request.params.id, request.body ?? {}),
    );

    app.put(
      `${BASE}/export`,
      { schema: { tags, summary: 'Export a running or paused database as an archive or a Cypher script; 409 in any other state', params: DbParams, body: StartExport, response: { 202: ExportStarted, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => {
        const started = await startExport(deps, request.caller!, request.params.id, request.body ?? {});
        return reply.code(202).send({ export: exportView(started.export), operationId: started.operationId });
      },
    );
    app.get(`${BASE}/exports`, { schema: { tags, summary: 'Exports of a database, newest first', params: DbParams, response: { 200: Type.Array(Export), ...errorResponses(403, 404) } } }, async (request) =>
      (await listExports(deps, request.caller!, request.params.id)).map(exportView),
    );
    app.get(`${BASE}/exports/:exportId`, { schema: { tags, summary: 'Get an export with its download link', params: ExportParams, response: { 200: Export, ...errorResponses(403, 404) } } }, async (request) =>
      exportView(await getExport(deps, request.caller!, request.params.id, request.params.exportId)),
    );

    app.put(
      `${BASE}/import`,
      {
        schema: {
          tags,
          summary: "Replace the database's data: multipart/form-data with a field 'file', or JSON {url}. A running database restarts with it, a paused one stays paused; 409 in any other state",
          consumes: ['multipart/form-data', 'application/json', 'application/x-www-form-urlencoded'],
          params: DbParams,
          response: { 202: OperationAccepted, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const caller = request.caller!;
        if (!request.isMultipart()) {
          const body = (request.body ?? {}) as { url?: unknown };
          if (typeof body !== 'object' || Array.isArray(body)) throw invalid('url', 'send JSON {"url": "https://…"} or multipart/form-data with a field named file');
          const extra = Object.keys(body).find((k) => k !== 'url');
          if (extra) throw invalid(extra, `unknown field '${extra}'; import takes {"url"} or a multipart field named file`);
          if (body.url === undefined) throw invalid('url', 'send JSON {"url": "https://…"} or multipart/form-data with a field named file');
          return reply.code(202).send(await startImport(deps, caller, request.params.id, { url: body.url as string }));
        }
        const { row } = await authorizeImport(deps, caller, request.params.id);
        const file = await request.file().catch((err: unknown) => malformedUpload(err));
        if (!file) throw invalid('file', 'the multipart body has no file; send it in a field named file');
        if (file.fieldname !== 'file') {
          // The rest of the body is not read: the client must not reuse this connection.
          reply.header('connection', 'close');
          file.file.resume();
          throw invalid('file', `the upload must be in a field named file, not '${file.fieldname}'`);
        }
        const key = newUploadKey(row.organization_id);
        let uploadFailed = false;
        file.file.once('error', () => (uploadFailed = true));
        try {
          await deps.blobStore.put(key, file.file, { maxBytes: deps.importMaxBytes });
        } catch (err) {
          // Over the limit (413, src/api/errors.ts): the rest of the body is not read.
          const tooLarge = err instanceof BlobTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE';
          if (tooLarge) reply.header('connection', 'close');
          // The upload stream broke (the body ended mid-part), not the store.
          if (uploadFailed && !tooLarge) malformedUpload(err);
          throw err;
        }
        if (file.file.truncated) {
          await deps.blobStore.delete(key);
          throw new DomainError('payload-too-large', `the upload is larger than the limit of ${deps.importMaxBytes} bytes`);
        }
        try {
          return reply.code(202).send(await startImport(deps, caller, request.params.id, { blobKey: key }));
        } catch (err) {
          await deps.blobStore.delete(key).catch(() => undefined);
          throw err;
        }
      },
    );

    app.post(
      `${BASE}/clone`,
      {
        schema: {
          tags: ['databases'],
          summary: "A new database with a copy of this one's data: an online backup of a running source (which keeps serving), or the files of a paused one (which stays paused); 409 in any other state",
          params: DbParams,
          body: Clone,
          response: {
            202: Cloned,
            ...errorResponses(403, 404, 409),
          },
        },
      },
      async (request, reply) => reply.code(202).send(createdView(deps.databases, await cloneDatabase(deps, request.caller!, request.params.id, request.body))),
    );
  };
}

/**
 * busboy fails on a malformed body (no boundary, a body that ends mid-part) with plain Errors; those are
 * the client's fault. Errors with a code (size and part limits) keep their mapping (src/api/errors.ts).
 */
function malformedUpload(err: unknown): never {
  if ((err as { code?: string }).code) throw err;
  throw invalid('file', 'the multipart body is malformed; send multipart/form-data with a boundary and a field named file');
}
