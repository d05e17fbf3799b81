// The stored life of deleted snapshots, kept for billing (GB-months): written just before a snapshot's row
// is deleted, wherever that happens (user delete, retention, the expiry sweep). Live snapshots are read
// from the snapshots table itself. Clone seeds are internal and never billed.
import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './schema/index.js';

export async function recordSnapshotGone(db: Transaction<Tables> | Kysely<Tables>, snapshotId: string, now: Date): Promise<void> {
  const s = await db.selectFrom('snapshots').select(['organization_id', 'database_id', 'kind', 'status', 'size_bytes', 'created_at']).where('id', '=', snapshotId).executeTakeFirst();
  if (s?.status !== 'ready' || s.kind === 'clone' || s.size_bytes === null) return;
  const owner = await db.selectFrom('databases').select('environment_id').where('id', '=', s.database_id).executeTakeFirst();
  await db
    .insertInto('snapshot_storage')
    .values({
      snapshot_id: snapshotId,
      organization_id: s.organization_id,
      database_id: s.database_id,
      environment_id: owner?.environment_id ?? '',
      size_bytes: Number(s.size_bytes),
      stored_from: s.created_at,
      stored_until: now.toISOString(),
    })
    .onConflict((oc) => oc.column('snapshot_id').doNothing())
    .execute();
}
