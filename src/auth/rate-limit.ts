// Failed-attempt limiter for the token endpoint: after `maxFailures` failures from one address within
// `windowMs`, further attempts from it get 429 until the oldest failure leaves the window. In memory,
// per process: enough to stop guessing against one instance (several instances each keep their own count).
import type { Clock } from '../clock.js';

// Bounds the memory an address-spraying client can make us hold.
const MAX_TRACKED_ADDRESSES = 10_000;

export class FailedAttemptLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Seconds the address must wait, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const times = this.recent(address);
    if (times.length < this.maxFailures) return 0;
    const oldest = times[times.length - this.maxFailures]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.clock.now().getTime()) / 1000));
  }

  recordFailure(address: string): void {
    const times = this.recent(address);
    times.push(this.clock.now().getTime());
    if (times.length > this.maxFailures) times.splice(0, times.length - this.maxFailures);
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > MAX_TRACKED_ADDRESSES) {
      const oldestAddress = this.failures.keys().next().value;
      if (oldestAddress !== undefined) this.failures.delete(oldestAddress);
    }
  }

  private recent(address: string): number[] {
    const cutoff = this.clock.now().getTime() - this.windowMs;
    const times = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}
