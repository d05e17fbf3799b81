// Lifecycle tables (see src/store/schema/lifecycle.ts). Plain column types and partial indexes only,
// so the same migration runs on SQLite and PostgreSQL.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('databases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('environment_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('version_number', 'text', (c) => c.notNull())
    .addColumn('edition', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('domain_name', 'text', (c) => c.notNull())
    .addColumn('bolt_port', 'integer', (c) => c.notNull())
    .addColumn('http_port', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('needs_restart', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('under_incident', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('health_status', 'text')
    .addColumn('health_checked_at', 'text')
    .addColumn('enabled_extras', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('auto_pause_enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_pause_idle_minutes', 'integer', (c) => c.notNull().defaultTo(60))
    .addColumn('auto_resume', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('terminated_at', 'text')
    .execute();
  await db.schema.createIndex('databases_org_env').on('databases').columns(['organization_id', 'environment_id']).execute();
  // A name is unique among the live databases of an environment; a terminated one frees its name.
  await db.schema
    .createIndex('databases_live_name')
    .on('databases')
    .columns(['environment_id', 'name'])
    .unique()
    .where(sql.ref('state'), '<>', 'terminated')
    .execute();

  await db.schema
    .createTable('database_nodes')
    .addColumn('station_id', 'text', (c) => c.primaryKey())
    .addColumn('database_id', 'text', (c) => c.notNull().references('databases.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('node_type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('database_nodes_database').on('database_nodes').column('database_id').execute();

  await db.schema
    .createTable('database_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('database_id', 'text', (c) => c.notNull().references('databases.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('database_users_name', ['database_id', 'username'])
    .execute();

  await db.schema
    .createTable('database_settings')
    .addColumn('database_id', 'text', (c) => c.notNull().references('databases.id'))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('secret', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('database_settings_pk', ['database_id', 'key'])
    .execute();

  await db.schema
    .createTable('port_allocations')
    .addColumn('port', 'integer', (c) => c.primaryKey())
    .addColumn('database_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('allocated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('operations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('database_id', 'text', (c) => c.notNull().references('databases.id'))
    .addColumn('operation_type', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('exclusive', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('current_step', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_by', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('next_operation_id', 'text')
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('operations_database').on('operations').columns(['database_id', 'started_at']).execute();
  await db.schema.createIndex('operations_claimable').on('operations').columns(['status', 'started_at']).execute();
  // The store itself guarantees one exclusive operation per database, even with several control planes.
  await db.schema
    .createIndex('operations_one_exclusive')
    .on('operations')
    .column('database_id')
    .unique()
    .where(sql<boolean>`status = 'started' and exclusive = 1`)
    .execute();

  await db.schema
    .createTable('operation_steps')
    .addColumn('operation_id', 'text', (c) => c.notNull().references('operations.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('message', 'text')
    .addPrimaryKeyConstraint('operation_steps_pk', ['operation_id', 'position'])
    .execute();
}
