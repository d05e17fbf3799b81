// What the runtime is told about a database's nodes and users, read fresh from the store each time a
// step runs, so a re-run after a crash uses the current plan, settings and users.
import type { Kysely } from 'kysely';
import { findPlan } from '../../domain/catalog.js';
import type { DatabaseUserEntry, NodeAccess, NodeSpec } from '../../runtimes/runtime.js';
import type { Tables } from '../../store/schema/index.js';

export async function nodeSpecsOf(db: Kysely<Tables>, databaseId: string, host: string): Promise<NodeSpec[]> {
  const database = await db.selectFrom('databases').selectAll().where('id', '=', databaseId).executeTakeFirstOrThrow();
  const nodes = await db.selectFrom('database_nodes').selectAll().where('database_id', '=', databaseId).orderBy('created_at').execute();
  const settingRows = await db.selectFrom('database_settings').select(['key', 'value']).where('database_id', '=', databaseId).orderBy('key').execute();
  const settings = Object.fromEntries(settingRows.map((s) => [s.key, s.value]));
  const plan = findPlan(database.plan);
  return nodes.map((node) => ({
    databaseId,
    stationId: node.station_id,
    boltPort: database.bolt_port,
    httpPort: database.http_port,
    host,
    advertisedHost: database.domain_name,
    readOnly: node.node_type !== 'primary',
    ...(plan ? { memoryMb: plan.memoryMb } : {}),
    settings,
    ...(database.engine === 'neo4j' ? { engine: 'neo4j' as const } : {}),
  }));
}

/**
 * Who may connect to the database's nodes: its users whose passwords still hold, and the network rules of
 * its environment (no rules: every address).
 */
export async function nodeAccessOf(db: Kysely<Tables>, databaseId: string, now: Date): Promise<NodeAccess> {
  const database = await db.selectFrom('databases').select('environment_id').where('id', '=', databaseId).executeTakeFirstOrThrow();
  const rules = await db.selectFrom('network_rules').select('ip_range').where('environment_id', '=', database.environment_id).orderBy('ip_range').execute();
  return { users: await userEntriesOf(db, databaseId, now), allow: rules.map((r) => r.ip_range) };
}

/** Users whose passwords still hold (expired ones are left out, so they can no longer connect). */
export async function userEntriesOf(db: Kysely<Tables>, databaseId: string, now: Date): Promise<DatabaseUserEntry[]> {
  const rows = await db.selectFrom('database_users').selectAll().where('database_id', '=', databaseId).orderBy('username').execute();
  const nowIso = now.toISOString();
  return rows
    .filter((u) => u.expire_at === null || u.expire_at > nowIso)
    .map((u) => ({ username: u.username, passwordHash: u.password_hash, readOnly: u.read_only === 1 }));
}
