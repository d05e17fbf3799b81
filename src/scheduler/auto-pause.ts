// Auto-pause: a running database with auto-pause on is paused once the router has seen no open connection
// and no traffic for `idleMinutes`. The router writes what it sees to `database_activity` (throttled); the
// idle time counts from the later of its last traffic and the database's last finished operation (a resume
// starts the clock afresh), so nothing of it lives in the API process's memory and an API restart changes nothing.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { autoPauseDatabase, type DatabaseDeps } from '../domain/databases.js';
import type { Tables } from '../store/schema/index.js';

export interface AutoPauseDeps {
  db: Kysely<Tables>;
  clock: Clock;
  logger: Logger;
  databases: DatabaseDeps;
}

/** One pass: pauses every database idle long enough; returns the ids it paused. */
export async function autoPausePass(deps: AutoPauseDeps): Promise<string[]> {
  const { db, clock, logger } = deps;
  const now = clock.now();
  const busy = db.selectFrom('operations').select('database_id').where('status', '=', 'started');
  const rows = await db
    .selectFrom('databases')
    .leftJoin('database_activity', 'database_activity.database_id', 'databases.id')
    .select(['databases.id', 'databases.name', 'databases.auto_pause_idle_minutes', 'databases.created_at', 'database_activity.open_connections', 'database_activity.last_activity_at'])
    .where('databases.state', '=', 'running')
    .where('databases.auto_pause_enabled', '=', 1)
    .where('databases.id', 'not in', busy)
    .execute();
  const paused: string[] = [];
  for (const row of rows) {
    if ((row.open_connections ?? 0) > 0) continue;
    const lastOperation = await db
      .selectFrom('operations')
      .select('finished_at')
      .where('database_id', '=', row.id)
      .where('finished_at', 'is not', null)
      .orderBy('finished_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const since = [row.created_at, row.last_activity_at, lastOperation?.finished_at].filter((t): t is string => typeof t === 'string').sort().at(-1)!;
    if (now.getTime() - Date.parse(since) < row.auto_pause_idle_minutes * 60_000) continue;
    const operationId = await autoPauseDatabase(deps.databases, row.id, row.auto_pause_idle_minutes);
    if (operationId) {
      paused.push(row.id);
      logger.info({ databaseId: row.id, operationId, idleMinutes: row.auto_pause_idle_minutes }, `auto-pausing database ${row.name}: no connection for ${row.auto_pause_idle_minutes} minutes`);
    }
  }
  return paused;
}
