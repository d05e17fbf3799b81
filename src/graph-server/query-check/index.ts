// Neo4j's own query checks in front of the engine (issue 13): every new query text goes
// through Neo4j's Cypher front-end in a worker thread before the engine runs it. Errors
// refuse the query as Neo4j would; warnings become notifications. Results are cached by
// query text, and a check that exceeds its time budget lets the engine decide alone.
import { createHash } from 'node:crypto';
import { CypherError } from '../engine-api.js';
import type { Notification } from '../engine-api.js';
import { LruCache } from './lru.js';
import { LintPool } from './lint-pool.js';
import { defaultServiceSocket, ServiceLintPool } from './service-client.js';

/** The shared service stops this long after the last graph-server using it went away. */
export const DEFAULT_SERVICE_IDLE_EXIT_MS = 600_000;
import type { LintOutcome } from './lint-pool.js';
import { verdictFor } from './verdict.js';
import type { SchemaInfo, Verdict } from './verdict.js';

export type { SchemaInfo } from './verdict.js';

/** pino-compatible: `logger.warn({ fields }, 'message')`. */
export interface QueryCheckLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  info?(fields: Record<string, unknown>, msg: string): void;
}

export interface QueryCheckerOptions {
  /** How long a query waits for a new check before the engine decides alone; 0 turns checks off. Default 100. */
  budgetMs?: number;
  /** Query texts remembered (LRU). Default 1000. */
  cacheSize?: number;
  /** What the engine knows beyond Neo4j (its functions and procedures), read at each new check. */
  schema?: () => SchemaInfo;
  logger?: QueryCheckLogger;
  /** Worker threads running the front-end, 1–2. Default 1. */
  workers?: number;
  /** A check still running after this is abandoned and its worker replaced. Default 15000. */
  maxCheckMs?: number;
  /** New query texts waiting for a worker beyond this are not checked. Default 256. */
  maxQueue?: number;
  /**
   * Longer query texts are not waited for: the engine runs them at once. Their check starts in
   * the background at their second send (a bulk-load script is usually sent once, and its check
   * would take seconds of CPU from the load) and applies from the send after it.
   * Default 4096 (a 5 kB CREATE script takes ~1.4 s to check).
   */
  maxWaitChars?: number;
  /**
   * Query texts up to this long always wait for their check, whatever the budget (up to the longer of
   * the budget and `coldWaitMs`, then a transient error; a check past `maxCheckMs` gives up and lets the
   * engine decide): an application's queries are never run unchecked because the machine was busy, and
   * their verdict is cached. Longer ones wait the budget.
   * Default 2048.
   */
  alwaysWaitChars?: number;
  /** Longer query texts are not checked at all (a 20 kB script takes 9–17 s). Default 8192. */
  maxCheckChars?: number;
  /**
   * Stop the worker threads after this long without a new query (0 = never), releasing the
   * front-end's memory (~150–250 MB); the next new query restarts them. Default 300000 (5 min).
   */
  idleStopMs?: number;
  /**
   * While the front-end is starting (a new worker, or the shared service starting), a new query waits
   * for its check up to this long instead of the budget, then fails with a transient error: a query is
   * never left unchecked because the checker was cold. Default 30000.
   */
  coldWaitMs?: number;
  /**
   * Use the machine's shared query-check service (service.ts) over this unix socket instead of worker
   * threads in this process; it is started when nothing answers there.
   */
  service?: { socketPath?: string; idleExitMs?: number; workers?: number; managed?: boolean };
}

export interface QueryCheckStats {
  /** check() calls while checking is on (cache hits included). */
  checked: number;
  /** Answered from the cache without running the front-end. */
  cacheHits: number;
  /** Left to the engine alone because the check did not finish within the budget (or could not run). */
  overBudget: number;
  /** Refused with a CypherError. */
  refused: number;
  /** Worker threads alive now (0 when checks are off or the workers were stopped for idleness). */
  workers: number;
}

export interface QueryChecker {
  /** Resolves with Neo4j's notifications for the query; rejects with CypherError when Neo4j would refuse it. */
  check(query: string): Promise<{ notifications: Notification[] }>;
  stats(): QueryCheckStats;
  /** Resolves when the front-end is loaded in a worker (about 1 s after creation), so first checks fit the budget. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

// A query the front-end could not judge (too slow, worker failure) is remembered as accepted
// without notifications, so it is not re-checked on every send.
const UNCHECKED: Verdict = Object.freeze({ kind: 'accept', notifications: Object.freeze([]) as readonly Notification[] });
// The checker could not take the query at all (closed, full queue, workers failing): says nothing about
// the query, so it is neither cached nor run unchecked.
const UNAVAILABLE: Verdict = Object.freeze({ kind: 'accept', notifications: Object.freeze([]) as readonly Notification[] });

function unavailableError(detail: string): CypherError {
  return new CypherError(
    'Neo.TransientError.General.DatabaseUnavailable',
    `Neo4j's query check could not check this query (${detail}); it was not run. Retry it.`,
    '50N00',
  );
}

interface InFlight {
  verdict: Promise<Verdict>;
  loggedOverBudget: boolean;
}

function fingerprint(query: string): string {
  return createHash('sha256').update(query).digest('hex').slice(0, 16);
}

// Query texts may carry literal secrets, so logs name a query by fingerprint, length and first keyword.
function queryFields(query: string): Record<string, unknown> {
  const firstWord = /^\s*([A-Za-z]+)/.exec(query)?.[1]?.toUpperCase();
  return { queryId: fingerprint(query), queryLength: query.length, ...(firstWord ? { queryStart: firstWord } : {}) };
}

export function createQueryChecker(options: QueryCheckerOptions = {}): QueryChecker {
  const budgetMs = options.budgetMs ?? 100;
  if (!Number.isFinite(budgetMs) || budgetMs < 0) throw new RangeError(`budgetMs must be >= 0, got ${budgetMs}`);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 2) throw new RangeError(`workers must be 1 or 2, got ${workers}`);
  const cacheSize = options.cacheSize ?? 1000;
  const logger = options.logger;
  const maxWaitChars = options.maxWaitChars ?? 4096;
  const maxCheckChars = options.maxCheckChars ?? 8192;
  const alwaysWaitChars = options.alwaysWaitChars ?? 2048;
  const counters = { checked: 0, cacheHits: 0, overBudget: 0, refused: 0 };

  if (budgetMs === 0) {
    return {
      check: async () => ({ notifications: [] }),
      stats: () => ({ ...counters, workers: 0 }),
      ready: async () => undefined,
      close: async () => undefined,
    };
  }

  const cache = new LruCache<string, Verdict>(cacheSize);
  const inFlight = new Map<string, InFlight>();
  // Over-budget logging is once per query text; bounded like the cache.
  const loggedOverBudget = new LruCache<string, true>(cacheSize);
  // Long texts (over maxWaitChars) seen once and not checked yet; bounded like the cache.
  const seenOnce = new LruCache<string, true>(cacheSize);
  let closed = false;
  const coldWaitMs = options.coldWaitMs ?? 30_000;
  const pool: Pick<LintPool, 'lint' | 'ready' | 'running' | 'warm' | 'close'> = options.service
    ? new ServiceLintPool({
        socketPath: options.service.socketPath ?? defaultServiceSocket(),
        idleExitMs: options.service.idleExitMs ?? DEFAULT_SERVICE_IDLE_EXIT_MS,
        workers: options.service.workers ?? workers,
        managed: options.service.managed ?? false,
        onProblem: (detail) => logger?.warn({ detail }, 'query check service problem') })
    : new LintPool({
        size: workers,
        maxCheckMs: options.maxCheckMs ?? 15_000,
        maxQueue: options.maxQueue ?? 256,
        idleStopMs: options.idleStopMs ?? 300_000,
        onWorkerProblem: (detail) => logger?.warn({ detail }, 'query check worker stopped; it will be restarted'),
      });

  function readSchema(): SchemaInfo | undefined {
    try {
      return options.schema?.();
    } catch (err) {
      logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'query check could not read the engine schema');
      return undefined;
    }
  }

  // A full queue or failing workers affect every new query at once: log that once a minute, not per query.
  let lastCapacityLogMs = -Infinity;

  function settle(query: string, outcome: LintOutcome): Verdict {
    if (outcome.kind === 'done') return verdictFor(query, outcome.diagnostics, readSchema());
    if (outcome.reason === 'closed') return UNAVAILABLE;
    const capacity = outcome.reason === 'queue-full' || outcome.reason === 'unavailable';
    const now = performance.now();
    if (!capacity || now - lastCapacityLogMs > 60_000) {
      if (capacity) lastCapacityLogMs = now;
      logger?.warn({ ...queryFields(query), reason: outcome.reason, ...(outcome.detail ? { detail: outcome.detail } : {}) }, capacity ? 'query check unavailable; the query is refused with a transient error' : 'query check abandoned; the engine alone decides this query');
    }
    return capacity ? UNAVAILABLE : UNCHECKED;
  }

  function start(query: string): InFlight {
    const entry: InFlight = {
      loggedOverBudget: false,
      verdict: pool.lint(query).then((outcome) => {
        inFlight.delete(query);
        let verdict: Verdict;
        try {
          verdict = settle(query, outcome);
        } catch (err) {
          // A bug in mapping diagnostics must never fail the query itself.
          logger?.warn({ ...queryFields(query), err: err instanceof Error ? err.message : String(err) }, 'query check failed; the engine alone decides this query');
          return UNCHECKED;
        }
        // A full queue or unavailable workers say nothing about the query itself: let its
        // next send try again. A query that was too slow or crashed a worker is not retried.
        if (outcome.kind === 'done' || outcome.reason === 'too-slow' || outcome.reason === 'worker-failed') cache.set(query, verdict);
        return verdict;
      }),
    };
    inFlight.set(query, entry);
    return entry;
  }

  function answer(verdict: Verdict): { notifications: Notification[] } {
    if (verdict.kind === 'refuse') {
      counters.refused++;
      const r = verdict.refusal;
      throw new CypherError(r.code, r.message, r.gqlStatus, { ...r.position });
    }
    return { notifications: [...verdict.notifications] };
  }

  async function check(query: string): Promise<{ notifications: Notification[] }> {
    if (closed) return { notifications: [] };
    counters.checked++;
    const cached = cache.get(query);
    if (cached) {
      counters.cacheHits++;
      return answer(cached);
    }
    if (query.length > maxCheckChars) {
      cache.set(query, UNCHECKED);
      counters.overBudget++;
      logger?.warn({ ...queryFields(query), maxCheckChars }, 'query too long to check; the engine alone decides this query');
      return { notifications: [] };
    }
    if (query.length > maxWaitChars && !inFlight.has(query) && !seenOnce.has(query)) {
      seenOnce.set(query, true);
      counters.overBudget++;
      return { notifications: [] };
    }
    // A cold checker (starting, or restarting) is waited for: its slowness says nothing about the query.
    const cold = !pool.warm;
    const entry = inFlight.get(query) ?? start(query);
    let verdict: Verdict | undefined;
    if (query.length <= maxWaitChars) {
      let timer: NodeJS.Timeout | undefined;
      const overBudget = new Promise<undefined>((resolve) => {
        // A short text waits for its check; the check itself gives up at maxCheckMs (then: unchecked).
        const waitMs = cold ? coldWaitMs : query.length <= alwaysWaitChars ? Math.max(budgetMs, coldWaitMs) : budgetMs;
        timer = setTimeout(resolve, waitMs, undefined);
      });
      verdict = await Promise.race([entry.verdict, overBudget]);
      clearTimeout(timer);
    }
    if (verdict === UNAVAILABLE || (verdict === undefined && (cold ? query.length <= maxWaitChars : query.length <= alwaysWaitChars))) {
      counters.overBudget++;
      throw unavailableError(verdict === UNAVAILABLE ? 'it is not available' : cold ? `it did not start within ${coldWaitMs} ms` : 'it is too busy');
    }
    // UNCHECKED straight from a check: the front-end gave up on this text (too slow, or it failed on it).
    if (verdict === undefined || verdict === UNCHECKED) {
      counters.overBudget++;
      // An abandoned check was logged when it was abandoned.
      if (verdict === undefined && !entry.loggedOverBudget && !loggedOverBudget.has(query)) {
        entry.loggedOverBudget = true;
        loggedOverBudget.set(query, true);
        const waitedMs = query.length <= maxWaitChars ? budgetMs : 0;
        logger?.warn({ ...queryFields(query), waitedMs }, 'query check exceeded its budget; the engine alone decides this query');
      }
      return { notifications: [] };
    }
    return answer(verdict);
  }

  return {
    check,
    stats: () => ({ ...counters, workers: pool.running }),
    ready: () => pool.ready,
    close: async () => {
      closed = true;
      await pool.close();
      cache.clear();
      seenOnce.clear();
    },
  };
}
