// The router (src/router/) owns every database's public ports and forwards to the node that serves it now:
// nodes listen on loopback ports of their own choosing, recorded here by the control plane; the router writes
// per-database activity (open connections, last traffic) that the auto-pause scheduler reads.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('database_nodes').addColumn('internal_bolt_port', 'integer').execute();
  await db.schema.alterTable('database_nodes').addColumn('internal_http_port', 'integer').execute();
  await db.schema
    .createTable('database_activity')
    .addColumn('database_id', 'text', (c) => c.primaryKey())
    .addColumn('open_connections', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
