// The Operation object of the API (api.md §5): times as strings of UNIX epoch seconds.
import type { Kysely } from 'kysely';
import type { Tables } from '../store/schema/index.js';
import type { OperationStepsTable, OperationsTable } from '../store/schema/lifecycle.js';
import type { Clock } from '../clock.js';

export interface OperationStepJson {
  name: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  message?: string;
}

export interface OperationJson {
  id: string;
  databaseId: string;
  operationType: string;
  description: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  durationInSeconds: number;
  nextOperationId: string | null;
  steps: OperationStepJson[];
  error?: string;
}

const epochSeconds = (iso: string): string => String(Math.floor(Date.parse(iso) / 1000));

export function operationJson(row: OperationsTable, steps: OperationStepsTable[], clock: Clock): OperationJson {
  const end = row.finished_at ? Date.parse(row.finished_at) : clock.now().getTime();
  const json: OperationJson = {
    id: row.id,
    databaseId: row.database_id,
    operationType: row.operation_type,
    description: row.description,
    status: row.status,
    startedAt: epochSeconds(row.started_at),
    durationInSeconds: Math.max(0, Math.round((end - Date.parse(row.started_at)) / 1000)),
    nextOperationId: row.next_operation_id,
    steps: steps
      .sort((a, b) => a.position - b.position)
      .map((s) => ({
        name: s.name,
        status: s.status,
        startedAt: epochSeconds(s.started_at),
        finishedAt: s.finished_at ? epochSeconds(s.finished_at) : null,
        ...(s.message ? { message: s.message } : {}),
      })),
  };
  if (row.finished_at) json.finishedAt = epochSeconds(row.finished_at);
  if (row.error) json.error = row.error;
  return json;
}

/** Operations of one database with their steps, newest first. */
export async function listOperations(
  db: Kysely<Tables>,
  databaseId: string,
  clock: Clock,
  page: { limit: number; after?: string } = { limit: 100 },
): Promise<OperationJson[]> {
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
    .execute();
  return rows.map((r) => operationJson(r, steps.filter((s) => s.operation_id === r.id), clock));
}

export async function getOperation(db: Kysely<Tables>, databaseId: string, operationId: string, clock: Clock): Promise<OperationJson | undefined> {
  const row = await db.selectFrom('operations').selectAll().where('id', '=', operationId).where('database_id', '=', databaseId).executeTakeFirst();
  if (!row) return undefined;
  const steps = await db.selectFrom('operation_steps').selectAll().where('operation_id', '=', row.id).execute();
  return operationJson(row, steps, clock);
}
