// Row types of every table, one file per area. Timestamps are ISO-8601 text (UTC), booleans 0/1 integers,
// JSON columns text — portable across SQLite and PostgreSQL.
import type { IdentityTables } from './identity.js';
import type { LifecycleTables } from './lifecycle.js';
import type { BackupTables } from './backups.js';
import type { SharedTables } from './shared.js';
import type { BillingTables } from './billing.js';
import type { ConsoleTables } from './console.js';

export interface Tables extends IdentityTables, LifecycleTables, BackupTables, SharedTables, BillingTables, ConsoleTables {}
