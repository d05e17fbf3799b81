// Each database runs on one engine: `grafeo` (in-process, every database before this migration) or `neo4j`
// (Neo4j Community in a JVM). Chosen by the version at create time and kept for the database's life.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('databases').addColumn('engine', 'text', (c) => c.notNull().defaultTo('grafeo')).execute();
}
