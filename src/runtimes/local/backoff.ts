// Restart pacing for a node that keeps dying: exponential, capped, and forgiven after a stable run.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A run at least this long counts as stable: the next crash starts again from `initialMs`. */
  stableMs: number;
  /** Consecutive failed runs after which the runtime stops trying and emits `gave-up`. */
  maxConsecutiveFailures: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 500,
  maxMs: 30_000,
  stableMs: 60_000,
  maxConsecutiveFailures: 20,
};

/** Delay before restart number `failures` (1 = first restart after a crash). */
export function backoffDelayMs(policy: BackoffPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(exponent, 30));
}
