// The backup answers of api.md §5 "Backups" filled in from the domain's rows: snapshots (scheduled backups
// too) and exports. Typed by the Static<> of their schemas in ../schemas/backups.ts.
import type { ExportRecord } from '../../domain/exports.js';
import type { SnapshotsTable } from '../../store/schema/backups.js';
import { httpDate, httpDateOrNull } from '../dates.js';
import type { Export, Snapshot } from '../schemas/backups.js';

export function snapshotView(row: SnapshotsTable): Snapshot {
  return {
    id: row.id,
    databaseId: row.database_id,
    kind: row.kind,
    label: row.label,
    status: row.status,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    sha256: row.sha256,
    counts: row.node_count === null ? null : { nodes: Number(row.node_count), relationships: Number(row.relationship_count ?? 0) },
    createdAt: httpDate(new Date(row.created_at)),
    expiresAt: httpDateOrNull(row.expires_at ? new Date(row.expires_at) : null),
    ...(row.error ? { error: row.error } : {}),
  };
}

export function exportView({ row, url }: ExportRecord): Export {
  return {
    id: row.id,
    databaseId: row.database_id,
    status: row.status,
    format: row.format,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    sha256: row.sha256,
    url,
    expiresAt: httpDate(new Date(row.expires_at)),
    createdAt: httpDate(new Date(row.created_at)),
    ...(row.error ? { error: row.error } : {}),
  };
}
