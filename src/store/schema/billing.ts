// Tables of billing: one account per organization (its credit and payment method), the append-only meter
// of every database (one row per change of what it is charged for, written in the transaction of the state
// change), and the stored life of deleted snapshots. Money is integer micro-dollars (1e-6 USD); timestamps
// ISO-8601 UTC text.

export interface BillingAccountsTable {
  organization_id: string;
  /** The credit granted when the account opened (ALLOTROPE_BILLING_INITIAL_CREDIT then), micro-dollars. */
  credit_micros: number;
  /** JSON of the payment provider's method (`{"provider":"built-in","type":"card",…}`), or null. */
  payment_method: string | null;
  /** Charging starts here: usage before the account opened (billing off then) is showback only. */
  opened_at: string;
  updated_at: string;
}

export interface UsageEventsTable {
  id: string;
  organization_id: string;
  database_id: string;
  environment_id: string;
  /** 1, 2, … per database; (database_id, seq) is unique, so two writers can never interleave a meter. */
  seq: number;
  /** running | paused | stopped: what the database is charged for from `at` until its next event. */
  meter: string;
  /** The plan in force and its prices at the time, so later catalogue changes never reprice the past. */
  plan: string;
  compute_micros_per_hour: number;
  storage_gb: number;
  storage_micros_per_gb_month: number;
  at: string;
}

export interface SnapshotStorageTable {
  snapshot_id: string;
  organization_id: string;
  database_id: string;
  environment_id: string;
  size_bytes: number;
  stored_from: string;
  stored_until: string;
}

export interface BillingTables {
  billing_accounts: BillingAccountsTable;
  usage_events: UsageEventsTable;
  snapshot_storage: SnapshotStorageTable;
}
