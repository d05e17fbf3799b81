// Billing (see src/store/schema/billing.ts). Plain column types only, for SQLite and PostgreSQL.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('billing_accounts')
    .addColumn('organization_id', 'text', (c) => c.primaryKey())
    .addColumn('credit_micros', 'bigint', (c) => c.notNull())
    .addColumn('payment_method', 'text')
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('usage_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('database_id', 'text', (c) => c.notNull())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('meter', 'text', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('compute_micros_per_hour', 'bigint', (c) => c.notNull())
    .addColumn('storage_gb', 'integer', (c) => c.notNull())
    .addColumn('storage_micros_per_gb_month', 'bigint', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('usage_events_database_seq').unique().on('usage_events').columns(['database_id', 'seq']).execute();
  await db.schema.createIndex('usage_events_organization').on('usage_events').columns(['organization_id', 'at']).execute();

  await db.schema
    .createTable('snapshot_storage')
    .addColumn('snapshot_id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('database_id', 'text', (c) => c.notNull())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('stored_from', 'text', (c) => c.notNull())
    .addColumn('stored_until', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('snapshot_storage_organization').on('snapshot_storage').columns(['organization_id', 'stored_until']).execute();
}
