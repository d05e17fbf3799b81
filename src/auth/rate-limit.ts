// Failed-attempt limiter for the token endpoint: after `maxFailures` failures from one address within
// `windowMs`, further attempts from it get 429 until the oldest failure leaves the window. The failures
// are rows in the store (`token_failures`), so control planes sharing a store share the count: guessing
// round-robin across instances gains nothing. Rows older than the window are swept as failures arrive.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';

export class FailedAttemptLimiter {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Seconds the address must wait, or 0 when it may try now. */
  async retryAfterSeconds(address: string): Promise<number> {
    const now = this.clock.now().getTime();
    const recent = await this.db
      .selectFrom('token_failures')
      .select('failed_at')
      .where('address', '=', address)
      .where('failed_at', '>', new Date(now - this.windowMs).toISOString())
      .orderBy('failed_at', 'desc')
      .limit(this.maxFailures)
      .execute();
    if (recent.length < this.maxFailures) return 0;
    const oldest = Date.parse(recent[recent.length - 1]!.failed_at);
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  async recordFailure(address: string): Promise<void> {
    const now = this.clock.now();
    await this.db.insertInto('token_failures').values({ id: newId(), address, failed_at: now.toISOString() }).execute();
    // Whatever left the window no longer counts, for any address: the table holds one window's failures.
    await this.db.deleteFrom('token_failures').where('failed_at', '<=', new Date(now.getTime() - this.windowMs).toISOString()).execute();
  }
}
