// The durable operations engine: in-process workers claim operations from the store with a lease,
// keep the lease alive with a heartbeat while they run the kind's steps, record every step, and end
// the operation `finished` or `failed`. A worker that dies (kill -9) leaves a claim behind; the next
// start (embedded store) or lease expiry (shared store) gives it back to the queue and the current
// step is re-run — steps are idempotent. After `maxAttempts` claims the operation is failed cleanly
// instead, so a step that keeps killing the server cannot loop forever.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { RuntimeError } from '../runtimes/runtime.js';
import type { Tables } from '../store/schema/index.js';
import type { OperationsTable } from '../store/schema/lifecycle.js';
import { OperationError, toRecord, type OperationKind, type StepContext } from './kind.js';
import { hideServerPaths } from './server-paths.js';
import {
  advanceStep,
  claimOperation,
  endOperation,
  enqueueOperation,
  heartbeat,
  recordStepEnd,
  recordStepStart,
  releaseOperation,
  setNextOperation,
  unclaimOperation,
} from './queue.js';

export interface EngineOptions {
  db: Kysely<Tables>;
  clock: Clock;
  logger: Logger;
  kinds: readonly OperationKind[];
  /** Workers running operations at once. */
  concurrency: number;
  leaseMs: number;
  /** How often an idle worker looks for work it was not woken for (another instance's enqueue). */
  pollIntervalMs?: number;
  /** Claims after which an operation is failed instead of re-run. */
  maxAttempts?: number;
  /**
   * True when no other control plane shares the store (the embedded SQLite store): every claim found at
   * start-up then belongs to a dead process and is released at once instead of waiting for its lease.
   */
  singleInstance: boolean;
  /** Adds `FOR UPDATE SKIP LOCKED` to the claim (PostgreSQL). */
  skipLocked?: boolean;
  /** How long stop() waits for running steps before abandoning them to recovery. */
  stopTimeoutMs?: number;
  /** A step still running after this long fails the operation (a step may set its own `timeoutMs`). Default 15 min. */
  stepTimeoutMs?: number;
  /**
   * Written in the transaction that ends any operation, after the kind's own onSuccess/onFailure: the
   * billing meter records the state the database settled in (src/domain/usage-meter.ts).
   */
  onOperationEnd?(trx: Transaction<Tables>, databaseId: string, now: Date): Promise<unknown>;
}

export interface RecoveryReport {
  released: string[];
}

export class OperationsEngine {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly kinds = new Map<string, OperationKind>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private loops: Promise<void>[] = [];
  private stopping = false;
  private started = false;
  /** Idle workers waiting for work; wake() releases them all. */
  private readonly waiters = new Set<() => void>();
  private readonly pollIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly stepTimeoutMs: number;

  constructor(private readonly options: EngineOptions) {
    for (const kind of options.kinds) {
      if (this.kinds.has(kind.type)) throw new Error(`operation kind '${kind.type}' is registered twice`);
      this.kinds.set(kind.type, kind);
    }
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 15 * 60_000;
  }

  /** Gives back the claims of dead workers so their current step is re-run. Call before start(). */
  async recover(): Promise<RecoveryReport> {
    const { db, clock, logger } = this.options;
    const claimed = await db
      .selectFrom('operations')
      .select(['id', 'locked_by', 'operation_type', 'current_step', 'lease_expires_at'])
      .where('status', '=', 'started')
      .where('locked_by', 'is not', null)
      .execute();
    const nowIso = clock.now().toISOString();
    // Shared store: a claim is a dead worker's when its lease ran out, or when it names a process of this
    // machine that no longer exists (a control plane that died here, e.g. the runtime owner a standby replaces).
    const stale = this.options.singleInstance ? claimed : claimed.filter((op) => (op.lease_expires_at ?? '') < nowIso || deadLocalWorker(op.locked_by!));
    for (const op of stale) {
      await releaseOperation(db, op.id, op.locked_by);
      logger.warn({ operationId: op.id, operationType: op.operation_type, step: op.current_step }, 'operation interrupted by a control-plane stop; it will resume');
    }
    return { released: stale.map((op) => op.id) };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    for (let i = 0; i < Math.max(1, this.options.concurrency); i++) this.loops.push(this.loop());
  }

  /** Tell idle workers that an operation was enqueued. */
  wake(): void {
    for (const done of [...this.waiters]) done();
  }

  /** Stop claiming; wait for running steps (bounded), then give unfinished operations back to the queue. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.wake();
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const timer = delay(timeoutMs, 'timeout' as const, { ref: false });
    if ((await Promise.race([all.then(() => 'done' as const), timer])) === 'timeout') {
      for (const r of this.running.values()) r.controller.abort(new Error('the control plane is stopping'));
    }
    await Promise.race([Promise.all(this.loops), delay(1000, undefined, { ref: false })]);
    this.loops = [];
    this.started = false;
  }

  /** Operations this process is running right now. */
  get busy(): number {
    return this.running.size;
  }

  /** Claims and runs one operation in the caller's flow; false when none was runnable. For tests and tools. */
  async runOnce(): Promise<boolean> {
    const row = await claimOperation(this.options.db, this.workerId, this.options.clock.now(), this.options.leaseMs, {
      skipLocked: this.options.skipLocked,
    });
    if (!row) return false;
    await this.track(row);
    return true;
  }

  private async loop(): Promise<void> {
    const { db, clock, leaseMs, logger } = this.options;
    let failures = 0;
    while (!this.stopping) {
      let row: OperationsTable | undefined;
      try {
        row = await claimOperation(db, this.workerId, clock.now(), leaseMs, { skipLocked: this.options.skipLocked });
        failures = 0;
      } catch (err) {
        failures++;
        logger.error({ err }, 'claiming an operation failed');
        await delay(Math.min(5000, 100 * 2 ** failures), undefined, { ref: false });
        continue;
      }
      if (row && this.stopping) {
        await unclaimOperation(db, row.id, this.workerId).catch((err: unknown) => logger.warn({ err, operationId: row.id }, 'could not release a claim while stopping'));
        break;
      }
      if (row) {
        await this.track(row);
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, this.pollIntervalMs);
        timer.unref();
        this.waiters.add(done);
      });
    }
  }

  private async track(row: OperationsTable): Promise<void> {
    const controller = new AbortController();
    const done = this.run(row, controller).catch((err: unknown) => {
      this.options.logger.error({ err, operationId: row.id }, 'operation runner crashed; the operation will be retried after its lease expires');
    });
    this.running.set(row.id, { controller, done });
    try {
      await done;
    } finally {
      this.running.delete(row.id);
    }
  }

  private async run(row: OperationsTable, controller: AbortController): Promise<void> {
    const { db, clock, leaseMs } = this.options;
    const logger = this.options.logger.child({ operationId: row.id, databaseId: row.database_id, operationType: row.operation_type });
    const operation = toRecord(row);
    const ctx: StepContext = { operation, db, clock, logger, resumed: false, signal: controller.signal };
    const kind = this.kinds.get(row.operation_type);
    if (!kind) {
      await this.fail(ctx, undefined, row.current_step, new OperationError(`operation type '${row.operation_type}' is not known to this server version`));
      return;
    }
    if (row.attempts > this.maxAttempts) {
      const stepName = kind.steps[row.current_step]?.name ?? 'finish';
      await this.fail(
        ctx,
        kind,
        row.current_step,
        new OperationError(`the control plane stopped ${row.attempts - 1} times while step '${stepName}' was running; the operation was abandoned, retry the action`),
      );
      return;
    }

    let leaseLost = false;
    const beat = setInterval(() => {
      heartbeat(db, row.id, this.workerId, clock.now(), leaseMs)
        .then((held) => {
          if (!held && !leaseLost) {
            leaseLost = true;
            logger.warn('lost the lease of a running operation; another worker owns it now');
            controller.abort(new Error('lease lost'));
          }
        })
        .catch((err: unknown) => logger.warn({ err }, 'heartbeat failed'));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    beat.unref();

    try {
      for (let position = row.current_step; position < kind.steps.length; position++) {
        const step = kind.steps[position]!;
        ctx.resumed = position === row.current_step && row.attempts > 1;
        const resumedNote = ctx.resumed ? 'resumed after the control plane restarted' : null;
        await recordStepStart(db, row.id, position, step.name, clock.now(), resumedNote);
        let message: string | void;
        try {
          message = await withTimeout(step.run(ctx), step.timeoutMs ?? this.stepTimeoutMs, step.name, controller);
        } catch (err) {
          if (leaseLost) return;
          if (this.stopping && controller.signal.aborted) return; // abandoned at stop: recovery re-runs this step
          await this.fail(ctx, kind, position, err);
          return;
        }
        if (leaseLost) return;
        // Keep both: the user should see that the step was re-run, and what it did.
        const note = resumedNote && message ? `${hideServerPaths(message)} (${resumedNote})` : message ? hideServerPaths(message) : resumedNote;
        await recordStepEnd(db, row.id, position, 'finished', clock.now(), note);
        if (!(await advanceStep(db, row.id, this.workerId, position + 1))) return;
        if (this.stopping && position + 1 < kind.steps.length) {
          await releaseOperation(db, row.id, this.workerId);
          logger.info('control plane stopping; operation handed back to the queue between steps');
          return;
        }
      }
      await this.finish(ctx, kind);
    } finally {
      clearInterval(beat);
    }
  }

  private async finish(ctx: StepContext, kind: OperationKind): Promise<void> {
    const { db, clock } = this.options;
    let nextId: string | undefined;
    await db.transaction().execute(async (trx) => {
      if (!(await endOperation(trx, ctx.operation.id, this.workerId, { status: 'finished', now: clock.now() }))) return;
      const followUp = await kind.onSuccess?.(trx, ctx);
      if (followUp) {
        nextId = await enqueueOperation(
          trx,
          {
            organizationId: ctx.operation.organizationId,
            databaseId: ctx.operation.databaseId,
            operationType: followUp.operationType,
            description: followUp.description,
            params: followUp.params,
          },
          clock.now(),
        );
        await setNextOperation(trx, ctx.operation.id, nextId);
      }
      await this.options.onOperationEnd?.(trx, ctx.operation.databaseId, clock.now());
    });
    ctx.logger.info({ nextOperationId: nextId }, 'operation finished');
    if (nextId) this.wake();
  }

  /** Ends the operation `failed` with a message the user can act on; the stack only goes to the log. */
  private async fail(ctx: StepContext, kind: OperationKind | undefined, position: number, err: unknown): Promise<void> {
    const { db, clock } = this.options;
    const stepName = kind?.steps[position]?.name;
    const error = userFacing(err, stepName);
    ctx.logger.error({ err, step: stepName }, 'operation failed');
    let settled: unknown;
    try {
      settled = await kind?.settle?.(ctx, error);
    } catch (settleErr) {
      ctx.logger.error({ err: settleErr }, 'settling a failed operation failed');
    }
    await db.transaction().execute(async (trx) => {
      if (stepName) await recordStepEnd(trx, ctx.operation.id, position, 'failed', clock.now(), error.message);
      if (!(await endOperation(trx, ctx.operation.id, this.workerId, { status: 'failed', now: clock.now(), error: error.message }))) return;
      await kind?.onFailure?.(trx, ctx, error, settled);
      await this.options.onOperationEnd?.(trx, ctx.operation.databaseId, clock.now());
    });
  }
}

/** Bounds a step so that a hung runtime call cannot keep its operation `started` for ever. */
async function withTimeout<T>(work: Promise<T>, timeoutMs: number, stepName: string, controller: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const limit = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
      const error = new OperationError(`step '${stepName}' did not finish within ${limit}; retry the action`);
      reject(error); // before the abort, so a step that returns on abort does not count as finished
      controller.abort(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error as stored on the operation (and its snapshot or export): a message to act on, without server paths. */
function userFacing(err: unknown, stepName: string | undefined): OperationError {
  let message: string;
  if (err instanceof OperationError || err instanceof RuntimeError || err instanceof DomainError) message = err.message;
  else {
    const detail = err instanceof Error ? err.message : String(err);
    message = `step '${stepName ?? 'unknown'}' failed unexpectedly: ${detail}; retry the action, and see the server log if it fails again`;
  }
  const shown = hideServerPaths(message);
  if (err instanceof OperationError && shown === message) return err;
  return new OperationError(shown, { cause: err });
}

/** Whether `workerId` (`host:pid:random`, see OperationsEngine.workerId) names a process of this machine that is gone. */
function deadLocalWorker(workerId: string): boolean {
  const [host, pidText] = workerId.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
