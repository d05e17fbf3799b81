// Neo4j's older transactional HTTP endpoint (`/db/{db}/tx`, `/db/{db}/tx/commit`), which older
// clients and integrations still use: statements in, `results` + `errors` out, always 200 unless
// authentication fails. Rows hold entity properties; `meta` says what each entity was.
import { randomUUID } from 'node:crypto';
import { CypherError, type AuthenticatedUser, type EngineTransaction, type GraphEngine, type QueryResult } from '../engine-api.js';
import { Node, Path, Relationship, type Value } from '../values.js';
import { ParameterFormatError, parametersFrom, toPlainJson, type Json } from './json-values.js';

const TX_IDLE_MS = 60_000;

const STAT_NAMES: [string, string][] = [
  ['nodes-created', 'nodes_created'],
  ['nodes-deleted', 'nodes_deleted'],
  ['properties-set', 'properties_set'],
  ['relationships-created', 'relationships_created'],
  // Neo4j's own spelling.
  ['relationships-deleted', 'relationship_deleted'],
  ['labels-added', 'labels_added'],
  ['labels-removed', 'labels_removed'],
  ['indexes-added', 'indexes_added'],
  ['indexes-removed', 'indexes_removed'],
  ['constraints-added', 'constraints_added'],
  ['constraints-removed', 'constraints_removed'],
];

function rowValue(v: Value): Json {
  if (v instanceof Node || v instanceof Relationship) return toPlainJson(v.properties);
  if (v instanceof Path) {
    const out: Json[] = [];
    v.nodes.forEach((n, i) => {
      out.push(rowValue(n));
      const r = v.rels[i];
      if (r) out.push(rowValue(r));
    });
    return out;
  }
  if (Array.isArray(v)) return v.map(rowValue);
  return toPlainJson(v);
}

function metaOf(v: Value): Json {
  if (v instanceof Node) return { id: Number(v.id), elementId: v.elementId, type: 'node', deleted: false };
  if (v instanceof Relationship) return { id: Number(v.id), elementId: v.elementId, type: 'relationship', deleted: false };
  if (v instanceof Path) {
    const out: Json[] = [];
    v.nodes.forEach((n, i) => {
      out.push(metaOf(n));
      const r = v.rels[i];
      if (r) out.push(metaOf(r));
    });
    return out;
  }
  return null;
}

function resultOf(result: QueryResult, includeStats: boolean): Record<string, Json> {
  const out: Record<string, Json> = {
    columns: result.fields,
    data: result.records.map((row) => ({ row: row.map(rowValue), meta: row.map(metaOf) })),
  };
  if (includeStats) {
    const stats = result.summary.stats as Record<string, number | undefined>;
    const s: Record<string, Json> = { contains_updates: false };
    for (const [bolt, snake] of STAT_NAMES) {
      s[snake] = stats[bolt] ?? 0;
      if ((stats[bolt] ?? 0) > 0) s.contains_updates = true;
    }
    s.contains_system_updates = false;
    s.system_updates = 0;
    out.stats = s;
  }
  return out;
}

interface Statement {
  statement: string;
  parameters: ReturnType<typeof parametersFrom>;
  includeStats: boolean;
}

function statementsOf(body: unknown): Statement[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ParameterFormatError('the body must be a JSON object');
  const list = (body as { statements?: unknown }).statements ?? [];
  if (!Array.isArray(list)) throw new ParameterFormatError('"statements" must be a list');
  return list.map((s: unknown, i) => {
    const st = s as { statement?: unknown; parameters?: unknown; includeStats?: unknown } | null;
    if (!st || typeof st.statement !== 'string') throw new ParameterFormatError(`statement ${i} needs a "statement" string`);
    return { statement: st.statement, parameters: parametersFrom(st.parameters, false), includeStats: st.includeStats === true };
  });
}

interface OpenTx {
  tx: EngineTransaction;
  user: AuthenticatedUser;
  expires: number;
  timer: NodeJS.Timeout;
}

export interface LegacyReply {
  status: number;
  body: Record<string, Json>;
}

export function createLegacyTransactions(engine: GraphEngine) {
  const open = new Map<string, OpenTx>();

  function touch(id: string, o: OpenTx): void {
    clearTimeout(o.timer);
    o.expires = Date.now() + TX_IDLE_MS;
    o.timer = setTimeout(() => {
      open.delete(id);
      void o.tx.rollback().catch(() => undefined);
    }, TX_IDLE_MS);
    o.timer.unref();
  }

  function end(id: string, o: OpenTx): void {
    open.delete(id);
    clearTimeout(o.timer);
  }

  async function runAll(tx: EngineTransaction, statements: Statement[]): Promise<{ results: Json[]; error: CypherError | null }> {
    const results: Json[] = [];
    for (const st of statements) {
      try {
        results.push(resultOf(await tx.run(st.statement, st.parameters), st.includeStats));
      } catch (err) {
        if (err instanceof CypherError) return { results, error: err };
        throw err;
      }
    }
    return { results, error: null };
  }

  const errorsOf = (e: CypherError | null): Json[] => (e ? [{ code: e.code, message: e.message }] : []);

  /**
   * Handles `method` on `/db/{db}/tx[/{id}][/commit]` (`rest` is what follows `/tx`); `baseUrl`
   * is `http://host/db/{db}/tx`, for the `commit` links.
   */
  async function handle(method: string, rest: string, body: unknown, user: AuthenticatedUser, baseUrl: string): Promise<LegacyReply> {
    let statements: Statement[];
    try {
      statements = method === 'DELETE' ? [] : statementsOf(body ?? {});
    } catch (err) {
      if (err instanceof ParameterFormatError) {
        return { status: 200, body: { results: [], errors: [{ code: 'Neo.ClientError.Request.InvalidFormat', message: err.message }] } };
      }
      throw err;
    }
    const readOnly = user.readOnly;

    if (rest === '/commit' && method === 'POST') {
      const tx = await engine.begin({ readOnly, username: user.username });
      const { results, error } = await runAll(tx, statements);
      if (error) {
        await tx.rollback().catch(() => undefined);
        return { status: 200, body: { results, errors: errorsOf(error) } };
      }
      try {
        const bookmark = await tx.commit();
        return { status: 200, body: { results, errors: [], lastBookmarks: [bookmark] } };
      } catch (err) {
        if (err instanceof CypherError) return { status: 200, body: { results, errors: errorsOf(err) } };
        throw err;
      }
    }

    if (rest === '' && method === 'POST') {
      const tx = await engine.begin({ readOnly, username: user.username });
      const id = randomUUID();
      const o: OpenTx = { tx, user, expires: 0, timer: setTimeout(() => undefined, 0) };
      open.set(id, o);
      touch(id, o);
      const { results, error } = await runAll(tx, statements);
      if (error) {
        end(id, o);
        await tx.rollback().catch(() => undefined);
        return { status: 201, body: { results, errors: errorsOf(error) } };
      }
      return {
        status: 201,
        body: { commit: `${baseUrl}/${id}/commit`, results, transaction: { expires: new Date(o.expires).toUTCString() }, errors: [] },
      };
    }

    const m = /^\/([^/]+)(\/commit)?$/.exec(rest);
    const o = m ? open.get(m[1]!) : undefined;
    if (!m || !o || o.user.username !== user.username) {
      return {
        status: 404,
        body: { results: [], errors: [{ code: 'Neo.ClientError.Transaction.TransactionNotFound', message: 'Unrecognized transaction id. Transaction may have timed out and been rolled back.' }] },
      };
    }
    const id = m[1]!;
    if (method === 'DELETE' && !m[2]) {
      end(id, o);
      await o.tx.rollback();
      return { status: 200, body: { results: [], errors: [] } };
    }
    if (method !== 'POST') return { status: 405, body: { results: [], errors: [{ code: 'Neo.ClientError.Request.Invalid', message: 'Use POST or DELETE' }] } };
    touch(id, o);
    const { results, error } = await runAll(o.tx, statements);
    if (error) {
      end(id, o);
      await o.tx.rollback().catch(() => undefined);
      return { status: 200, body: { results, errors: errorsOf(error) } };
    }
    if (m[2]) {
      end(id, o);
      try {
        const bookmark = await o.tx.commit();
        return { status: 200, body: { results, errors: [], lastBookmarks: [bookmark] } };
      } catch (err) {
        if (err instanceof CypherError) return { status: 200, body: { results, errors: errorsOf(err) } };
        throw err;
      }
    }
    return {
      status: 200,
      body: { commit: `${baseUrl}/${id}/commit`, results, transaction: { expires: new Date(o.expires).toUTCString() }, errors: [] },
    };
  }

  function close(): void {
    for (const [id, o] of open) {
      end(id, o);
      void o.tx.rollback().catch(() => undefined);
    }
  }

  return { handle, close };
}
