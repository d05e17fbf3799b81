// Reading operations back: an operation's row with its steps in order, for one database. The API shapes
// them (src/api/views/databases.ts operationView).
import type { Kysely } from 'kysely';
import type { Tables } from '../store/schema/index.js';
import type { OperationStepsTable, OperationsTable } from '../store/schema/lifecycle.js';

export interface OperationRecord {
  row: OperationsTable;
  /** By position, first step first. */
  steps: OperationStepsTable[];
}

/** Operations of one database with their steps, newest first. */
export async function listOperations(db: Kysely<Tables>, databaseId: string, page: { limit: number; after?: string } = { limit: 100 }): Promise<OperationRecord[]> {
  let query = db.selectFrom('operations').selectAll().where('database_id', '=', databaseId);
  if (page.after) {
    const anchor = await db.selectFrom('operations').select(['started_at', 'id']).where('id', '=', page.after).executeTakeFirst();
    if (anchor) {
      query = query.where((eb) =>
        eb.or([eb('started_at', '<', anchor.started_at), eb.and([eb('started_at', '=', anchor.started_at), eb('id', '<', anchor.id)])]),
      );
    }
  }
  const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  if (rows.length === 0) return [];
  const steps = await db
    .selectFrom('operation_steps')
    .selectAll()
    .where(
      'operation_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('position')
    .execute();
  return rows.map((row) => ({ row, steps: steps.filter((s) => s.operation_id === row.id) }));
}

export async function findOperation(db: Kysely<Tables>, databaseId: string, operationId: string): Promise<OperationRecord | undefined> {
  const row = await db.selectFrom('operations').selectAll().where('id', '=', operationId).where('database_id', '=', databaseId).executeTakeFirst();
  if (!row) return undefined;
  const steps = await db.selectFrom('operation_steps').selectAll().where('operation_id', '=', row.id).orderBy('position').execute();
  return { row, steps };
}
