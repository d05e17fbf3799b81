// Memory a burst used goes back to the system once the server is idle again. Two things kept it:
// - V8 collects garbage only when JavaScript allocates, so an idle graph-server kept its heap as large as the
//   last burst made it (100k nodes read three times: heap 226 MiB, RSS 700 MiB, the same 20 s later);
// - the engine's native buffers, once freed, stay in glibc's heap: freed chunks between live ones are not
//   returned by glibc's own trimming, only by malloc_trim(3) (in the engine alone: 519 → 169 MiB).
// So once no transaction is open and none began for a whole check interval, and the heap or the RSS grew by
// more than `slackBytes` (16 MiB) since the last release, a release runs (`release` below: full collections,
// then malloc_trim(0), called through koffi — an FFI library, loaded at the first release, skipped where there
// is no glibc). Measured with the graph-server on Node 20: after the three reads, RSS 454 → ~150 MiB.
import v8 from 'node:v8';
import { setTimeout as delay } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';

export interface IdleMemoryOptions {
  /** Transactions begun so far and open now (the engine's counters): what tells activity from idleness. */
  activity(): { begun: number; open: number };
  intervalMs?: number;
  slackBytes?: number;
  /** Told of each release (for the log). */
  onCollect?(before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage): void;
}

export const IDLE_MEMORY_INTERVAL_MS = 3_000;
const SLACK_BYTES = 16 * 1024 * 1024;
/** Time for finalizers to free what the collection found unreachable before malloc_trim runs. */
const FINALIZE_MS = 1_000;
/** The second trim of a release, for memory freed late. */
const LATE_TRIM_MS = 4_000;

/** V8's full collection, exposed for this process if it was not started with --expose-gc (as jest does). */
function fullCollection(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** glibc's malloc_trim(0) through koffi, or null (not Linux/glibc, or koffi cannot load). */
async function loadMallocTrim(): Promise<(() => void) | null> {
  if (process.platform !== 'linux') return null;
  try {
    const koffi = (await import('koffi')).default;
    const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    return () => void trim(0);
  } catch {
    return null;
  }
}

/**
 * One release: the engine's native results are freed by finalizers that run after a collection, not in it,
 * so trimming at once found them still allocated (a 210 MiB heap: RSS 747 → 632 MiB only). So: collect, let
 * finalizers run, collect again, wait, trim; and collect and trim once more a few seconds later for what was
 * freed late. Node 20: 426 → 135 MiB. Node 24 frees later still (why was not found): 561 → 390 MiB at the
 * end of the release, the rest at the next one. The late steps run even if queries arrived meanwhile (one
 * more full collection, tens of ms for a heap this size).
 */
async function release(gc: () => void, trim: Promise<(() => void) | null>): Promise<void> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const [fn] = await Promise.all([trim, delay(FINALIZE_MS)]);
  fn?.();
  await delay(LATE_TRIM_MS);
  gc();
  await delay(FINALIZE_MS);
  fn?.();
}

/** Starts the idle check; returns its stop function. Without a way to collect, it does nothing. */
export function releaseMemoryWhenIdle(options: IdleMemoryOptions): () => void {
  const gc = fullCollection();
  if (!gc) return () => undefined;
  const slack = options.slackBytes ?? SLACK_BYTES;
  let trim: Promise<(() => void) | null> | null = null;
  let baseline = process.memoryUsage();
  let seen = options.activity().begun;
  let releasing = false;
  const timer = setInterval(() => {
    const { begun, open } = options.activity();
    const idle = open === 0 && begun === seen;
    seen = begun;
    if (!idle || releasing) return;
    const before = process.memoryUsage();
    if (before.heapUsed - baseline.heapUsed < slack && before.rss - baseline.rss < slack) return;
    releasing = true;
    trim ??= loadMallocTrim();
    void release(gc, trim)
      .catch(() => undefined)
      .finally(() => {
        releasing = false;
        baseline = process.memoryUsage();
        options.onCollect?.(before, baseline);
      });
  }, options.intervalMs ?? IDLE_MEMORY_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
