// The operations queue in the store: enqueue (inside the caller's transaction), claim with a lease,
// heartbeat, step records, and the two ends. Every write by a worker is guarded by `locked_by = me`,
// so a worker whose lease was taken over can no longer change the operation.
import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';
import type { OperationsTable } from '../store/schema/lifecycle.js';
import { conflict } from '../errors.js';

type Db = Kysely<Tables> | Transaction<Tables>;

export interface NewOperation {
  organizationId: string;
  databaseId: string;
  operationType: string;
  description: string;
  params?: Record<string, unknown>;
  /** Holds the database exclusively (default). */
  exclusive?: boolean;
}

/** The exclusive operation running on a database, if any. */
export async function activeOperationId(db: Db, databaseId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('operations')
    .select('id')
    .where('database_id', '=', databaseId)
    .where('status', '=', 'started')
    .where('exclusive', '=', 1)
    .executeTakeFirst();
  return row?.id;
}

/** 409 `operation <id> is in progress` when the database is held; call inside the enqueuing transaction. */
export async function assertNoActiveOperation(db: Db, databaseId: string): Promise<void> {
  const active = await activeOperationId(db, databaseId);
  if (active) throw conflict(`operation ${active} is in progress`);
}

/** Whether `err` is the store refusing a second exclusive operation (a race the check above lost). */
export function isExclusiveViolation(err: unknown): boolean {
  const text = `${(err as { code?: string })?.code ?? ''} ${(err as Error)?.message ?? ''}`;
  return /operations_one_exclusive|operations\.database_id/.test(text) && /unique/i.test(text);
}

/**
 * Writes the operation row; call it in the same transaction as the state change that asks for it.
 * The partial unique index `operations_one_exclusive` backs the check against a racing instance.
 */
export async function enqueueOperation(trx: Transaction<Tables>, op: NewOperation, now: Date): Promise<string> {
  const exclusive = op.exclusive ?? true;
  if (exclusive) await assertNoActiveOperation(trx, op.databaseId);
  const id = newId();
  await trx
    .insertInto('operations')
    .values({
      id,
      organization_id: op.organizationId,
      database_id: op.databaseId,
      operation_type: op.operationType,
      description: op.description,
      status: 'started',
      exclusive: exclusive ? 1 : 0,
      params: JSON.stringify(op.params ?? {}),
      current_step: 0,
      attempts: 0,
      locked_by: null,
      lease_expires_at: null,
      started_at: now.toISOString(),
      finished_at: null,
      next_operation_id: null,
      error: null,
    })
    .execute();
  return id;
}

/**
 * Claims the oldest runnable operation: never claimed, released, or whose lease expired.
 * One UPDATE … WHERE id = (SELECT …) RETURNING is atomic on SQLite (writers are serialised). On
 * PostgreSQL the inner SELECT gets `FOR UPDATE SKIP LOCKED` so concurrent instances claim different rows.
 */
export async function claimOperation(
  db: Kysely<Tables>,
  workerId: string,
  now: Date,
  leaseMs: number,
  options: { skipLocked?: boolean; types?: string[] } = {},
): Promise<OperationsTable | undefined> {
  const nowIso = now.toISOString();
  let next = db
    .selectFrom('operations')
    .select('id')
    .where('status', '=', 'started')
    .where((eb) => eb.or([eb('locked_by', 'is', null), eb('lease_expires_at', '<', nowIso)]))
    .orderBy('started_at')
    .orderBy('id')
    .limit(1);
  if (options.types) next = next.where('operation_type', 'in', options.types);
  if (options.skipLocked) next = next.forUpdate().skipLocked();
  return db
    .updateTable('operations')
    .set({
      locked_by: workerId,
      lease_expires_at: new Date(now.getTime() + leaseMs).toISOString(),
      attempts: sql`attempts + 1`,
    })
    .where('id', '=', next)
    .where('status', '=', 'started')
    // Checked again on the row as updated: on PostgreSQL a claim that waited for another's row lock must
    // not take the row that other claim just took (the subquery is not re-evaluated).
    .where((eb) => eb.or([eb('locked_by', 'is', null), eb('lease_expires_at', '<', nowIso)]))
    .returningAll()
    .executeTakeFirst();
}

/** Extends the lease; false when this worker no longer holds the operation. */
export async function heartbeat(db: Kysely<Tables>, id: string, workerId: string, now: Date, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable('operations')
    .set({ lease_expires_at: new Date(now.getTime() + leaseMs).toISOString() })
    .where('id', '=', id)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'started')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Records that step `position` starts (again, after a crash: its row is reused). */
export async function recordStepStart(db: Db, operationId: string, position: number, name: string, now: Date, message: string | null): Promise<void> {
  const iso = now.toISOString();
  await db
    .insertInto('operation_steps')
    .values({ operation_id: operationId, position, name, status: 'started', started_at: iso, finished_at: null, message })
    .onConflict((oc) => oc.columns(['operation_id', 'position']).doUpdateSet({ status: 'started', started_at: iso, finished_at: null, message }))
    .execute();
}

export async function recordStepEnd(
  db: Db,
  operationId: string,
  position: number,
  status: 'finished' | 'failed',
  now: Date,
  message: string | null,
): Promise<void> {
  await db
    .updateTable('operation_steps')
    .set({ status, finished_at: now.toISOString(), message })
    .where('operation_id', '=', operationId)
    .where('position', '=', position)
    .execute();
}

/** Moves the operation past a finished step; false when the lease was lost. */
export async function advanceStep(db: Kysely<Tables>, id: string, workerId: string, nextStep: number): Promise<boolean> {
  const result = await db
    .updateTable('operations')
    .set({ current_step: nextStep })
    .where('id', '=', id)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'started')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Ends the operation; `workerId` null ends it whoever holds it (recovery). False when it was not ours to end. */
export async function endOperation(
  trx: Transaction<Tables>,
  id: string,
  workerId: string | null,
  end: { status: 'finished' | 'failed'; now: Date; error?: string },
): Promise<boolean> {
  let query = trx
    .updateTable('operations')
    .set({
      status: end.status,
      finished_at: end.now.toISOString(),
      error: end.error ?? null,
      locked_by: null,
      lease_expires_at: null,
    })
    .where('id', '=', id)
    .where('status', '=', 'started');
  if (workerId !== null) query = query.where('locked_by', '=', workerId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function setNextOperation(trx: Transaction<Tables>, id: string, nextId: string): Promise<void> {
  await trx.updateTable('operations').set({ next_operation_id: nextId }).where('id', '=', id).execute();
}

/** Gives an operation back to the queue (engine stopping, or recovery of a dead worker's claim). */
export async function releaseOperation(db: Db, id: string, workerId: string | null): Promise<void> {
  let query = db.updateTable('operations').set({ locked_by: null, lease_expires_at: null }).where('id', '=', id).where('status', '=', 'started');
  if (workerId !== null) query = query.where('locked_by', '=', workerId);
  await query.execute();
}

/** Undoes a claim that ran nothing (the engine began stopping as it claimed), so the attempt does not count. */
export async function unclaimOperation(db: Db, id: string, workerId: string): Promise<void> {
  await db
    .updateTable('operations')
    .set({ locked_by: null, lease_expires_at: null, attempts: sql`attempts - 1` })
    .where('id', '=', id)
    .where('locked_by', '=', workerId)
    .where('status', '=', 'started')
    .execute();
}
