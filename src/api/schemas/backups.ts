// Wire shapes of the backup routes (api.md §5 "Backups"): snapshots, exports, the schedule, and the bodies
// of snapshot, restore, export and clone. Shared by the routes, /openapi.json, ../views/backups.ts and the
// SDK's types.
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_HOST_PATTERNS } from '../../storage/safe-fetch.js';
import { HttpDate, Id, PlainText, StringEnum } from './common.js';
import { Credentials, Database, Vendor } from './databases.js';

// A database's own routes take ./databases.ts DbParams.
export const SnapshotParams = Type.Object({ vendor: Vendor, id: Type.String(), snapshotId: Type.String() });
export const ExportParams = Type.Object({ vendor: Vendor, id: Type.String(), exportId: Type.String() });

export const Snapshot = Type.Object({
  id: Id,
  databaseId: Id,
  kind: Type.String({ description: 'on-demand, scheduled or final' }),
  label: Type.Union([Type.String(), Type.Null()]),
  status: Type.String({ description: 'pending, ready or failed' }),
  sizeBytes: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]),
  counts: Type.Union([Type.Object({ nodes: Type.Integer(), relationships: Type.Integer() }), Type.Null()]),
  createdAt: HttpDate,
  expiresAt: Type.Union([HttpDate, Type.Null()]),
  error: Type.Optional(Type.String()),
});
export type Snapshot = Static<typeof Snapshot>;

export const Export = Type.Object({
  id: Id,
  databaseId: Id,
  status: Type.String({ description: 'pending, ready or failed' }),
  format: Type.String({ description: 'archive or cypher' }),
  sizeBytes: Type.Union([Type.Integer(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()]),
  url: Type.Union([Type.String({ description: 'Download link that needs no token; expires at expiresAt' }), Type.Null()]),
  expiresAt: HttpDate,
  createdAt: HttpDate,
  error: Type.Optional(Type.String()),
});
export type Export = Static<typeof Export>;

export const Schedule = Type.Object({
  enabled: Type.Boolean(),
  frequency: StringEnum(['daily', 'weekly', 'monthly'] as const),
  time: Type.String({ description: 'HH:MM, 24-hour, in timezone' }),
  timezone: Type.String({ description: 'IANA time zone, e.g. UTC or Europe/Paris' }),
  retention: Type.Integer({ description: 'How many scheduled backups are kept' }),
  dayOfWeek: Type.Integer({ description: '0 = Sunday … 6 = Saturday (weekly)' }),
  dayOfMonth: Type.Integer({ description: '1 … 28 (monthly)' }),
});
export const PutSchedule = Type.Partial(Schedule, { additionalProperties: false });

export const CreateSnapshot = Type.Object({ label: Type.Optional(Type.Union([PlainText(), Type.Null()])) }, { additionalProperties: false });
export const Restore = Type.Object(
  { targetDatabaseId: Type.Optional(Type.String({ description: "Default: this database. Another one must be visible to the caller (404 otherwise) and allow 'restore'; this database's environment must then allow 'clone'" })) },
  { additionalProperties: false },
);
export const StartExport = Type.Object({ format: Type.Optional(StringEnum(['archive', 'cypher'] as const)) }, { additionalProperties: false });
export const Clone = Type.Object(
  { name: PlainText(), environmentId: Type.Optional(Type.String()), plan: Type.Optional(Type.String()), version: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const SnapshotStarted = Type.Object({ snapshot: Snapshot, operationId: Id });
export const ExportStarted = Type.Object({ export: Export, operationId: Id });
export const Cloned = Type.Object({ database: Database, operationId: Id, credentials: Credentials });
/** The signature of a `/downloads/…` link of the local blob store (src/storage/fs.ts). */
export const DownloadQuery = Type.Object({
  expires: Type.Optional(Type.String()),
  signature: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
});
/** The JSON or form body of the import route; its handler reads the body itself, so the schema only documents it (../openapi.ts). */
export const ImportFromUrl = Type.Object(
  { url: Type.String({ description: `https URL of an archive or Cypher script on an allowed host (default: Amazon S3, ${DEFAULT_HOST_PATTERNS.join(', ')})` }) },
  { additionalProperties: false },
);
