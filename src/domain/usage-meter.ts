// The meter: what each database is charged for, as append-only rows written in the same transaction as
// the state change that alters it. Usage is derived from these rows (src/domain/usage.ts), never from a
// timer, so a control-plane crash or restart cannot lose or double a minute.
//
// Transient states (restarting, pausing, resuming, importing, …) never start a row: the meter changes only
// where a state settles — when an operation ends (the engine calls recordUsageEvent in the transaction
// that ends it) or when the runtime gives up on a node. So a pause is charged as running until it is done,
// and a resume starts charging compute when the database runs again.
import type { Kysely, Transaction } from 'kysely';
import { newId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';
import { findPlan } from './catalog.js';

export type Meter = 'running' | 'paused' | 'stopped';

/**
 * What a database in `state` is charged for. Compute while it can serve (or is being worked on with its
 * process up); storage only while paused, and while failed (its data is kept until a restart or terminate);
 * nothing before it first runs and once terminated.
 */
export function meterOf(state: string): Meter {
  switch (state) {
    case 'running':
    case 'restarting':
    case 'pausing':
    case 'importing':
    case 'restoring':
      return 'running';
    case 'paused':
    case 'resuming':
    case 'failed':
      return 'paused';
    default:
      return 'stopped';
  }
}

export interface MeterPrices {
  /** Storage-only rate per GB of the plan's storage per month (config billing.storageMicrosPerGbMonth). */
  storageMicrosPerGbMonth: number;
}

/**
 * Appends a meter row for the database if what it is charged for (meter, plan) differs from its last row.
 * Call inside the transaction that changes its state or plan. A database that never ran gets no row.
 */
export async function recordUsageEvent(trx: Transaction<Tables> | Kysely<Tables>, databaseId: string, now: Date, prices: MeterPrices): Promise<boolean> {
  const row = await trx.selectFrom('databases').select(['organization_id', 'environment_id', 'state', 'plan']).where('id', '=', databaseId).executeTakeFirst();
  if (!row) return false;
  const meter = meterOf(row.state);
  const last = await trx.selectFrom('usage_events').select(['seq', 'meter', 'plan']).where('database_id', '=', databaseId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (last ? last.meter === meter && last.plan === row.plan : meter === 'stopped') return false;
  const plan = findPlan(row.plan);
  await trx
    .insertInto('usage_events')
    .values({
      id: newId(),
      organization_id: row.organization_id,
      database_id: databaseId,
      environment_id: row.environment_id,
      seq: (last ? Number(last.seq) : 0) + 1,
      meter,
      plan: row.plan,
      // Cents per hour → micro-dollars per hour.
      compute_micros_per_hour: (plan?.priceMinorPerHour ?? 0) * 10_000,
      storage_gb: plan?.storageGb ?? 0,
      storage_micros_per_gb_month: prices.storageMicrosPerGbMonth,
      at: now.toISOString(),
    })
    .execute();
  return true;
}

/**
 * At start-up: a meter row for every database whose state says otherwise than its last row and that no
 * operation holds (its end will write the row). Databases that ran before billing existed (an upgrade)
 * start being metered here; otherwise it finds nothing.
 */
export async function meterSettledDatabases(db: Kysely<Tables>, now: Date, prices: MeterPrices): Promise<number> {
  const busy = db.selectFrom('operations').select('database_id').where('status', '=', 'started');
  const rows = await db.selectFrom('databases').select('id').where('state', '<>', 'terminated').where('id', 'not in', busy).execute();
  let written = 0;
  for (const { id } of rows) if (await db.transaction().execute((trx) => recordUsageEvent(trx, id, now, prices))) written++;
  return written;
}
