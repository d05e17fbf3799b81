// One engine transaction: every query runs in one (so a timed-out or refused auto-commit query can be
// rolled back). Grafeo cannot cancel a query, so a timeout fails the transaction while the query runs on.
import type * as GrafeoModule from '@grafeo-db/js';
import { Node, Path, Relationship, isValueMap, type Value, type ValueMap } from '../../values.js';
import {
  CypherError,
  type EngineTransaction,
  type Notification,
  type PlanOperator,
  type QueryResult,
  type QuerySummary,
  type QueryType,
} from '../../engine-api.js';
import type { EngineQueryOptions, GrafeoEngine } from './engine.js';
import { classifyQuery, countersWrote, statsOf } from './classification.js';
import { forbidden, timedOut, toCypherError } from './errors.js';
import { rewriteElementIds } from './element-ids.js';
import { assertPlanReadsOnly, confineLoadCsv, withUserUrls, type ConfinedQuery } from './load-csv.js';
import { toEngineParams } from './parameters.js';
import { parsePlanText, planMode } from './plan.js';
import { answerToolShim, rewriteToolQuery } from './tool-shims.js';

type GrafeoTx = GrafeoModule.Transaction;
type GrafeoResult = GrafeoModule.QueryResult;

export class GrafeoTransaction implements EngineTransaction {
  private state: 'open' | 'committed' | 'rolledBack' | 'failed' = 'open';
  /** The engine query still running (a timed-out one keeps running: Grafeo cannot cancel). */
  private running: Promise<unknown> | null = null;
  private readonly deadline: number | null;
  private failure: CypherError | null = null;

  constructor(
    private readonly engine: GrafeoEngine,
    private readonly tx: GrafeoTx,
    private readonly options: EngineQueryOptions,
  ) {
    this.deadline = options.timeoutMs && options.timeoutMs > 0 ? Date.now() + options.timeoutMs : null;
  }

  async run(query: string, params: ValueMap): Promise<QueryResult> {
    this.assertUsable();
    if (this.running) await this.running.catch(() => undefined);
    if (this.engine.shims) {
      const shimmed = answerToolShim(query, this.engine.shims, this.options.username);
      if (shimmed) return shimmed;
    }
    const cls = classifyQuery(query);
    if (this.options.readOnly && cls.writes) {
      // Like any error in Neo4j, a refused write ends its transaction.
      const error = forbidden();
      this.fail(error);
      throw error;
    }
    const notifications: Notification[] = [];
    if (this.engine.checkQuery) {
      try {
        notifications.push(...(await this.engine.checkQuery(query)).notifications);
      } catch (err) {
        // As in Neo4j, a refused query fails its transaction: only a rollback is accepted after it.
        const error = toCypherError(err);
        this.fail(error);
        throw error;
      }
    }
    const engineParams = toEngineParams(params);
    this.assertUsable();
    let files: ConfinedQuery;
    try {
      files = confineLoadCsv(this.engine.shims ? rewriteToolQuery(query) : query, this.engine.importDir);
    } catch (err) {
      const error = toCypherError(err);
      this.fail(error);
      throw error;
    }
    const planned = planMode(rewriteElementIds(files.query, this.engine.databaseUuid));
    // Grafeo's PROFILE runs the query but gives no records: Neo4j's gives both. So a reading query is
    // profiled and then run for its records; a writing one (which must run once) gets its EXPLAIN plan.
    const engineQuery = planned.mode === 'PROFILE' ? planned.body : planned.mode ? `${planned.mode} ${planned.body}` : planned.body;
    let profile: PlanOperator | null = null;
    let result: GrafeoResult;
    let exec: Promise<GrafeoResult> | null = null;
    try {
      if (files.checkPlan) {
        const plan = await this.withDeadline(this.engine.track(this.tx.executeCypher(`EXPLAIN ${planned.body}`, engineParams)));
        assertPlanReadsOnly(String(plan.toArray()[0]?.plan ?? ''), files.approved);
      }
      if (planned.mode === 'PROFILE') {
        const how = cls.writes ? 'EXPLAIN' : 'PROFILE';
        const text = await this.withDeadline(this.engine.track(this.tx.executeCypher(`${how} ${planned.body}`, engineParams)));
        profile = parsePlanText(String(text.rows()[0]?.[0] ?? ''), true);
      }
      exec = this.engine.track(this.tx.executeCypher(engineQuery, engineParams));
      this.running = exec;
      result = await this.withDeadline(exec);
    } catch (err) {
      const error = toCypherError(err);
      const told = files.approved.size ? new CypherError(error.code, withUserUrls(error.message, files.approved), error.gqlStatus, error.position) : error;
      this.fail(told);
      throw told;
    } finally {
      if (this.running === exec && this.state !== 'failed') this.running = null;
    }
    this.running = null;
    const counters = result.counters;
    if (this.options.readOnly && countersWrote(counters)) {
      const error = forbidden();
      this.fail(error);
      throw error;
    }
    let converted: { fields: string[]; records: Value[][] };
    try {
      converted = this.engine.convert(result);
      const { nodes, rels } = (converted as ReturnType<GrafeoEngine['convert']>).approximate;
      if (nodes.size || rels.size) converted.records = await this.exactEntities(converted.records, nodes, rels);
    } catch (err) {
      const error =
        err instanceof CypherError
          ? err
          : new CypherError('Neo.DatabaseError.Statement.ExecutionFailed', `Could not read the result: ${(err as Error).message}`);
      this.fail(error);
      throw error;
    }
    let plan: PlanOperator | null = null;
    if (planned.mode === 'EXPLAIN') {
      plan = parsePlanText(String(converted.records[0]?.[0] ?? ''), false);
      converted = { fields: [], records: [] };
    }
    if (profile && cls.writes) profile.rows = converted.records.length;
    const queryType: QueryType = cls.schema ? 's' : cls.writes ? (converted.fields.length || planned.mode ? 'rw' : 'w') : 'r';
    const summary: QuerySummary = { stats: planned.mode === 'EXPLAIN' ? {} : statsOf(counters, cls), queryType, notifications };
    if (plan) summary.plan = plan;
    if (profile) summary.profile = profile;
    return { ...converted, summary };
  }

  async commit(): Promise<string> {
    this.assertUsable();
    if (this.running) await this.running.catch(() => undefined);
    try {
      this.tx.commit();
    } catch (err) {
      this.state = 'failed';
      this.finish();
      throw toCypherError(err);
    }
    this.state = 'committed';
    this.finish();
    return this.engine.bookmark();
  }

  async rollback(): Promise<void> {
    if (this.state === 'committed' || this.state === 'rolledBack') return;
    if (this.state === 'failed') {
      // fail() already rolls the engine transaction back once its query ends; a timed-out query
      // may run on for a while and the client should not wait for it.
      this.state = 'rolledBack';
      this.finish();
      return;
    }
    if (this.running) await this.running.catch(() => undefined);
    this.running = null;
    try {
      if (this.tx.isActive) this.tx.rollback();
    } finally {
      this.state = 'rolledBack';
      this.finish();
    }
  }

  /**
   * Paths (and mixed lists) come from Grafeo's plain form, which reads a whole Float as an Integer:
   * fetch their nodes and relationships again through Arrow, in this transaction, and swap them in.
   * Entities gone by now (deleted by the query) keep their approximate form.
   */
  private async exactEntities(records: Value[][], nodes: Set<bigint>, rels: Map<bigint, bigint>): Promise<Value[][]> {
    const exact = new Map<string, Node | Relationship>();
    const collect = async (query: string, params: Record<string, unknown>) => {
      const res = await this.withDeadline(this.engine.track(this.tx.executeCypher(query, params)));
      for (const [v] of this.engine.convert(res).records) if (v instanceof Node || v instanceof Relationship) exact.set(v.elementId, v);
    };
    if (nodes.size) await collect('MATCH (n) WHERE id(n) IN $ids RETURN n', { ids: [...nodes] });
    if (rels.size) {
      await collect('MATCH (a)-[r]->() WHERE id(a) IN $starts AND id(r) IN $ids RETURN r', {
        starts: [...new Set(rels.values())],
        ids: [...rels.keys()],
      });
    }
    const swap = (v: Value): Value => {
      if (v instanceof Node || v instanceof Relationship) return exact.get(v.elementId) ?? v;
      if (v instanceof Path) return new Path(v.nodes.map((n) => swap(n) as Node), v.rels.map((r) => swap(r) as Relationship));
      if (Array.isArray(v)) return v.map(swap);
      if (isValueMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
      return v;
    };
    return records.map((row) => row.map(swap));
  }

  private finish(): void {
    this.engine.forget(this);
  }

  /** @internal Whether an engine query of this transaction is still running. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** @internal At shutdown: forget the transaction without waiting for its running query. */
  abandon(): void {
    this.state = 'rolledBack';
    this.finish();
  }

  /** After a failure the transaction can only be rolled back (as in Neo4j); roll back in the background once the engine is done. */
  private fail(error: CypherError): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    const pending = this.running ?? Promise.resolve();
    void pending
      .catch(() => undefined)
      .then(() => {
        this.running = null;
        if (this.tx.isActive) this.tx.rollback();
      })
      .catch(() => undefined);
  }

  private assertUsable(): void {
    if (this.state === 'committed' || this.state === 'rolledBack') {
      throw new CypherError('Neo.ClientError.Transaction.TransactionNotFound', 'The transaction has already been closed', '25N03');
    }
    if (this.state === 'failed') {
      throw new CypherError(
        'Neo.ClientError.Transaction.TransactionTerminated',
        `The transaction can only be rolled back after an earlier error${this.failure ? `: ${this.failure.message}` : ''}`,
        '25N06',
      );
    }
    if (this.deadline !== null && Date.now() >= this.deadline) {
      const error = timedOut(this.options.timeoutMs!);
      this.fail(error);
      throw error;
    }
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    if (this.deadline === null) return p;
    const left = this.deadline - Date.now();
    const timeoutMs = this.options.timeoutMs!;
    const stuck = this.engine.stuckQuery;
    let watchdog: NodeJS.Timeout | undefined;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(timedOut(timeoutMs));
        if (stuck) {
          watchdog = setTimeout(() => stuck.onStuck({ timeoutMs, overdueMs: stuck.graceMs }), stuck.graceMs);
          watchdog.unref();
        }
      }, Math.max(0, left));
      const settle = () => {
        clearTimeout(timer);
        clearTimeout(watchdog);
      };
      p.then(
        (v) => {
          settle();
          resolve(v);
        },
        (e: unknown) => {
          settle();
          reject(e as Error);
        },
      );
    });
  }
}
