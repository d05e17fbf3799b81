// What the runtime is told about a database's nodes and users, read fresh from the store each time a
// step runs, so a re-run after a crash uses the current plan, settings and users.
import type { Kysely } from 'kysely';
import { findPlan } from './catalog.js';
import type { DatabaseUserEntry, NodeAccess, NodeSpec } from '../runtimes/runtime.js';
import type { Tables } from '../store/schema/index.js';

/**
 * Nodes listen on loopback ports of their own choosing (0): the router owns the database's public ports and
 * forwards there. Neither the public ports nor the domain name reach the node, so a switch (which swaps them)
 * leaves its command, and so its process, as it is. `_host` (the API's interface) is no longer used for nodes.
 */
export async function nodeSpecsOf(db: Kysely<Tables>, databaseId: string, _host: string): Promise<NodeSpec[]> {
  const database = await db.selectFrom('databases').selectAll().where('id', '=', databaseId).executeTakeFirstOrThrow();
  const nodes = await db.selectFrom('database_nodes').selectAll().where('database_id', '=', databaseId).orderBy('created_at').execute();
  const settingRows = await db.selectFrom('database_settings').select(['key', 'value']).where('database_id', '=', databaseId).orderBy('key').execute();
  const settings = Object.fromEntries(settingRows.map((s) => [s.key, s.value]));
  const plan = findPlan(database.plan);
  return nodes.map((node) => ({
    databaseId,
    stationId: node.station_id,
    boltPort: 0,
    httpPort: 0,
    host: '127.0.0.1',
    readOnly: node.node_type !== 'primary',
    ...(plan ? { memoryMb: plan.memoryMb } : {}),
    settings,
    ...(database.engine === 'neo4j' ? { engine: 'neo4j' as const } : {}),
  }));
}

/**
 * Who may connect to the database's nodes: its users whose passwords still hold. Network rules are checked by
 * the router on the client's real address (a node sees only the router's loopback connections), so none go here.
 */
export async function nodeAccessOf(db: Kysely<Tables>, databaseId: string, now: Date): Promise<NodeAccess> {
  return { users: await userEntriesOf(db, databaseId, now), allow: [] };
}

/** Users whose passwords still hold (expired ones are left out, so they can no longer connect). */
export async function userEntriesOf(db: Kysely<Tables>, databaseId: string, now: Date): Promise<DatabaseUserEntry[]> {
  const rows = await db.selectFrom('database_users').selectAll().where('database_id', '=', databaseId).orderBy('username').execute();
  const nowIso = now.toISOString();
  return rows
    .filter((u) => u.expire_at === null || u.expire_at > nowIso)
    .map((u) => ({ username: u.username, passwordHash: u.password_hash, readOnly: u.read_only === 1 }));
}
