// A named leadership held through the store, so a periodic job (the backup scheduler, the health pass)
// runs on one control plane at a time when several share a store. The holder renews it on every round;
// when it stops renewing (it died), another takes it over once `ttlMs` has passed. One upsert whose
// conflict clause only takes the row over from its own holder or an expired one: atomic on both dialects.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Tables } from './schema/index.js';

export class LeaderLease {
  constructor(
    private readonly db: Kysely<Tables>,
    readonly name: string,
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /** Takes or renews the lease; true while this holder has it. */
  async acquire(): Promise<boolean> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const expires = new Date(now.getTime() + this.ttlMs).toISOString();
    await this.db
      .insertInto('leader_leases')
      .values({ name: this.name, holder: this.holder, acquired_at: nowIso, expires_at: expires })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            expires_at: eb.ref('excluded.expires_at'),
            acquired_at: eb.case().when('leader_leases.holder', '=', this.holder).then(eb.ref('leader_leases.acquired_at')).else(eb.ref('excluded.acquired_at')).end(),
          }))
          .where((eb) => eb.or([eb('leader_leases.holder', '=', this.holder), eb('leader_leases.expires_at', '<', nowIso)])),
      )
      .execute();
    const row = await this.db.selectFrom('leader_leases').select('holder').where('name', '=', this.name).executeTakeFirst();
    return row?.holder === this.holder;
  }

  /** Gives the lease up (a clean stop), so another instance takes over at once. */
  async release(): Promise<void> {
    await this.db.deleteFrom('leader_leases').where('name', '=', this.name).where('holder', '=', this.holder).execute();
  }

  /** Who holds it now, if anyone holds it unexpired. */
  async currentHolder(): Promise<string | undefined> {
    const row = await this.db.selectFrom('leader_leases').select(['holder', 'expires_at']).where('name', '=', this.name).executeTakeFirst();
    return row && row.expires_at >= this.clock.now().toISOString() ? row.holder : undefined;
  }
}
