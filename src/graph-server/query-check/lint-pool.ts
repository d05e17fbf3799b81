// A small pool of lint worker threads with a queue. A check that runs past `maxCheckMs`
// is abandoned and its worker replaced: Neo4j's front-end is superlinear on long CREATE
// scripts (a 20 kB script took 9 s here) and must not hold a CPU core the engine needs.
import type { Worker } from 'node:worker_threads';
import { siblingWorker } from '../../worker-thread.js';
import type { LintDiagnostic, LintReply, LintRequest } from './lint-protocol.js';

export type LintOutcome =
  | { kind: 'done'; diagnostics: LintDiagnostic[]; elapsedMs: number }
  | { kind: 'abandoned'; reason: 'queue-full' | 'too-slow' | 'worker-failed' | 'closed' | 'unavailable'; detail?: string };

export interface LintPoolOptions {
  size: number;
  maxCheckMs: number;
  maxQueue: number;
  /** Stop the workers after this long without work (0 = never); the next check restarts them. */
  idleStopMs: number;
  onWorkerProblem?: (detail: string) => void;
}

interface Job {
  id: number;
  query: string;
  resolve: (outcome: LintOutcome) => void;
}

interface Slot {
  worker: Worker;
  // Jobs go only to a warmed-up worker, so its start-up never counts against maxCheckMs.
  ready: boolean;
  job: Job | undefined;
  ceiling: NodeJS.Timeout | undefined;
}

function createWorker(): Worker {
  return siblingWorker(import.meta.url, 'lint-worker');
}

// After this many workers in a row die without answering anything, stop respawning.
const MAX_CONSECUTIVE_FAILURES = 3;

export class LintPool {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private consecutiveFailures = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private markReady!: () => void;
  /** Resolves once a worker has loaded and warmed up the front-end. */
  readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(private readonly options: LintPoolOptions) {
    this.slots = Array.from({ length: options.size }, () => undefined);
    for (let i = 0; i < this.slots.length; i++) this.slots[i] = this.spawn(i);
  }

  /** Worker threads currently alive (starting or ready). */
  get running(): number {
    return this.slots.filter((slot) => slot !== undefined).length;
  }

  /** A worker has the front-end loaded: a new query gets its answer within the usual budget. */
  get warm(): boolean {
    return this.slots.some((slot) => slot?.ready);
  }

  get unavailable(): boolean {
    return this.closed || this.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES;
  }

  lint(query: string): Promise<LintOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'abandoned', reason: 'closed' });
    if (this.unavailable) return Promise.resolve({ kind: 'abandoned', reason: 'unavailable' });
    if (this.queue.length >= this.options.maxQueue) return Promise.resolve({ kind: 'abandoned', reason: 'queue-full' });
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    return new Promise<LintOutcome>((resolve) => {
      this.queue.push({ id: this.nextId++, query, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const job of this.queue.splice(0)) job.resolve({ kind: 'abandoned', reason: 'closed' });
    const stopping: Promise<number>[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot) continue;
      this.slots[i] = undefined;
      if (slot.ceiling) clearTimeout(slot.ceiling);
      slot.job?.resolve({ kind: 'abandoned', reason: 'closed' });
      slot.job = undefined;
      stopping.push(slot.worker.terminate());
    }
    await Promise.all(stopping);
  }

  private spawn(index: number): Slot | undefined {
    if (this.unavailable) return undefined;
    const worker = createWorker();
    // Idle lint workers must never keep a process alive on their own.
    worker.unref();
    const slot: Slot = { worker, ready: false, job: undefined, ceiling: undefined };
    worker.on('message', (reply: LintReply) => this.onReply(slot, reply));
    worker.on('error', (err) => this.onWorkerGone(index, slot, `lint worker failed: ${err.message}`));
    worker.on('exit', (code) => this.onWorkerGone(index, slot, `lint worker exited with code ${code}`));
    return slot;
  }

  private dispatch(): void {
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      if (!this.slots[i]) this.slots[i] = this.spawn(i);
      const slot = this.slots[i];
      if (!slot?.ready || slot.job) continue;
      // Shortest query first: an application's small queries are not kept waiting behind a
      // bulk script, and the queue is bounded so the scan is cheap.
      let pick = 0;
      for (let j = 1; j < this.queue.length; j++) if (this.queue[j]!.query.length < this.queue[pick]!.query.length) pick = j;
      const job = this.queue.splice(pick, 1)[0]!;
      slot.job = job;
      slot.ceiling = setTimeout(() => this.abandon(i, slot, 'too-slow'), this.options.maxCheckMs);
      slot.ceiling.unref();
      slot.worker.postMessage({ id: job.id, query: job.query } satisfies LintRequest);
    }
    if (this.unavailable) for (const job of this.queue.splice(0)) job.resolve({ kind: 'abandoned', reason: 'unavailable' });
    this.armIdleStop();
  }

  // The front-end holds ~150–250 MB per worker: a database nobody queries should not pay for it.
  private armIdleStop(): void {
    if (this.options.idleStopMs <= 0 || this.closed || this.idleTimer || this.queue.length > 0) return;
    if (this.slots.some((slot) => slot?.job)) return;
    this.idleTimer = setTimeout(() => this.stopIdleWorkers(), this.options.idleStopMs);
    this.idleTimer.unref();
  }

  private stopIdleWorkers(): void {
    this.idleTimer = undefined;
    if (this.queue.length > 0 || this.slots.some((slot) => slot?.job)) return;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot) continue;
      this.slots[i] = undefined;
      this.retire(slot);
    }
  }

  /** Stops a worker on purpose: its exit is not a failure. */
  private retire(slot: Slot): void {
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('message');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
  }

  private onReply(slot: Slot, reply: LintReply): void {
    if (reply.type === 'ready') {
      this.consecutiveFailures = 0;
      slot.ready = true;
      this.markReady();
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    this.finish(slot);
    if (reply.type === 'result') job.resolve({ kind: 'done', diagnostics: reply.diagnostics, elapsedMs: reply.elapsedMs });
    else job.resolve({ kind: 'abandoned', reason: 'worker-failed', detail: reply.message });
    this.dispatch();
  }

  private finish(slot: Slot): void {
    if (slot.ceiling) clearTimeout(slot.ceiling);
    slot.ceiling = undefined;
    slot.job = undefined;
  }

  private abandon(index: number, slot: Slot, reason: 'too-slow'): void {
    const job = slot.job;
    this.finish(slot);
    if (this.slots[index] === slot) this.slots[index] = undefined;
    // terminate() interrupts the JavaScript the worker is running; the slot is respawned lazily.
    this.retire(slot);
    job?.resolve({ kind: 'abandoned', reason });
    this.dispatch();
  }

  private onWorkerGone(index: number, slot: Slot, detail: string): void {
    if (this.slots[index] !== slot) return;
    this.slots[index] = undefined;
    const job = slot.job;
    this.finish(slot);
    if (this.closed) return;
    this.consecutiveFailures++;
    this.options.onWorkerProblem?.(detail);
    job?.resolve({ kind: 'abandoned', reason: 'worker-failed', detail });
    this.dispatch();
  }
}
