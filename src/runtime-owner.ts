// Control planes sharing one data dir on one machine (and one PostgreSQL store) elect one owner of the
// local runtime: the holder of the data-dir lock (src/cli/data-dir-lock.ts) runs the database processes,
// the operations and the schedulers; the others serve the API and stand by. A standby says so through a
// lease in the store, so that the owner, stopping cleanly, leaves the database processes running for the
// standby to adopt instead of stopping them: a zero-downtime upgrade is "start the new version, stop the
// old one". When the owner dies the kernel frees the lock and the standby takes over at once.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { Kysely } from 'kysely';
import type { Clock } from './clock.js';
import { LeaderLease } from './store/leader-lease.js';
import type { Tables } from './store/schema/index.js';

/** How long a standby's word lasts without renewal; it renews every second. */
export const STANDBY_LEASE_MS = 5_000;

function leaseName(dataDir: string): string {
  let real = dataDir;
  try {
    real = realpathSync(dataDir);
  } catch {
    // a data dir that is gone has no standby either
  }
  return `runtime-standby:${createHash('sha256').update(real).digest('hex').slice(0, 24)}`;
}

/** The lease a standby of `dataDir` holds while it waits. */
export function standbyLease(db: Kysely<Tables>, dataDir: string, holder: string, clock: Clock): LeaderLease {
  return new LeaderLease(db, leaseName(dataDir), holder, STANDBY_LEASE_MS, clock);
}

/** Whether another instance stands by to take over the runtime of `dataDir`. */
export async function standbyWaiting(db: Kysely<Tables>, dataDir: string, clock: Clock): Promise<boolean> {
  return (await new LeaderLease(db, leaseName(dataDir), '', STANDBY_LEASE_MS, clock).currentHolder()) !== undefined;
}
