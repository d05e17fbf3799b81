// Tables of the backups area: snapshots (on-demand, scheduled, final, and the hidden ones a clone is
// seeded from), exports with their download files, and one backup schedule per database.
// Timestamps ISO-8601 UTC text, booleans 0/1.

export interface SnapshotsTable {
  id: string;
  organization_id: string;
  /** The database the snapshot was taken of. */
  database_id: string;
  /** on-demand | scheduled | final | clone */
  kind: string;
  label: string | null;
  /** pending | ready | failed */
  status: string;
  /** Blob store key of the archive; set once ready. */
  blob_key: string | null;
  size_bytes: number | null;
  sha256: string | null;
  node_count: number | null;
  relationship_count: number | null;
  /** Why it failed, for the user. */
  error: string | null;
  /** The operation that takes it (snapshot, terminate, or the clone's create). */
  operation_id: string | null;
  /** For scheduled backups: the due time it was taken for. */
  due_at: string | null;
  created_at: string;
  /** Deleted by the sweep after this (final and clone snapshots); null: kept until deleted. */
  expires_at: string | null;
}

export interface ExportsTable {
  id: string;
  organization_id: string;
  database_id: string;
  /** archive | cypher */
  format: string;
  /** pending | ready | failed */
  status: string;
  blob_key: string | null;
  file_name: string;
  size_bytes: number | null;
  sha256: string | null;
  error: string | null;
  operation_id: string;
  created_at: string;
  /** The download link stops working, and the file is deleted by the sweep, after this. */
  expires_at: string;
}

export interface BackupSchedulesTable {
  database_id: string;
  organization_id: string;
  enabled: number;
  /** daily | weekly | monthly */
  frequency: string;
  /** HH:MM in `timezone` */
  time: string;
  timezone: string;
  retention: number;
  day_of_week: number;
  day_of_month: number;
  /** The due time of the last scheduled backup started (or when the schedule was last changed). */
  last_due_at: string;
  updated_at: string;
}

export interface BackupTables {
  snapshots: SnapshotsTable;
  exports: ExportsTable;
  backup_schedules: BackupSchedulesTable;
}
