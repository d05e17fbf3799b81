// The Query API of a Neo4j node: HTTP queries run on the JVM through the official neo4j-driver, as the
// internal user, with Neo4j's own access modes, timeouts, errors and bookmarks passed back unchanged.
import neo4j, { Neo4jError, type Driver, type QueryResult as DriverResult, type Result, type Session, type Transaction } from 'neo4j-driver';
import { CypherError, type EngineTransaction, type GraphEngine, type Notification, type QueryOptions, type QueryResult, type QueryType, type StatKey } from '../../engine-api.js';
import type { Value } from '../../values.js';
import { ADMINISTRATION_REFUSED, isAdministrationCommand } from './admin-commands.js';
import { fromDriver, toDriverMap } from './driver-values.js';

function refuseAdministration(query: string): void {
  if (isAdministrationCommand(query)) throw new CypherError('Neo.ClientError.Security.Forbidden', ADMINISTRATION_REFUSED, '42NFF');
}

const DATABASE = 'neo4j';

export interface Neo4jQueryEngineOptions {
  /** Where the JVM answers Bolt and its internal password; throws while the engine is starting. */
  target: () => { port: number; password: string };
  /** The node's activity counters and backup gate, shared with the Bolt relay. */
  began: () => void;
  txOpened: () => void;
  txClosed: () => void;
  gate: { enter(): Promise<void>; leave(): void };
}

export interface Neo4jQueryEngine extends GraphEngine {
  close(): Promise<void>;
}

const COUNTERS: [string, StatKey][] = [
  ['nodesCreated', 'nodes-created'],
  ['nodesDeleted', 'nodes-deleted'],
  ['relationshipsCreated', 'relationships-created'],
  ['relationshipsDeleted', 'relationships-deleted'],
  ['propertiesSet', 'properties-set'],
  ['labelsAdded', 'labels-added'],
  ['labelsRemoved', 'labels-removed'],
  ['indexesAdded', 'indexes-added'],
  ['indexesRemoved', 'indexes-removed'],
  ['constraintsAdded', 'constraints-added'],
  ['constraintsRemoved', 'constraints-removed'],
];

/** Neo4j's failures keep their code, message and GQL status; the driver's own (connection lost) become transient. */
function cypherError(err: unknown): unknown {
  // neo4j-driver asks Intl for the local time of a zoned datetime, which Intl cannot give beyond ±275,760 years.
  if (err instanceof RangeError) {
    return new CypherError('Neo.DatabaseError.Statement.ExecutionFailed', `A value in the result cannot be read through neo4j-driver: ${err.message} (a datetime in a named time zone beyond the years ±275,760? Use an offset or Bolt)`, '50N00');
  }
  if (!(err instanceof Neo4jError)) return err;
  if (!err.code.startsWith('Neo.')) {
    return new CypherError('Neo.TransientError.General.DatabaseUnavailable', `The Neo4j engine cannot be reached: ${err.message}`, '08N07');
  }
  const p = (err.diagnosticRecord as { _position?: { offset?: unknown; line?: unknown; column?: unknown } } | undefined)?._position;
  const position =
    p && p.offset !== undefined ? { offset: Number(p.offset), line: Number(p.line), column: Number(p.column) } : undefined;
  return new CypherError(err.code, err.message, err.gqlStatus, position);
}

function notifications(summary: DriverResult['summary']): Notification[] {
  return summary.notifications.map((n) => {
    const out: Notification = {
      code: n.code,
      title: n.title,
      description: n.description,
      severity: n.rawSeverityLevel === 'WARNING' ? 'WARNING' : 'INFORMATION',
    };
    if (n.rawCategory) out.category = n.rawCategory;
    const p = n.position as { offset?: number; line?: number; column?: number };
    if (p.offset !== undefined) out.position = { offset: p.offset, line: p.line ?? 0, column: p.column ?? 0 };
    return out;
  });
}

async function collect(result: Result): Promise<QueryResult> {
  const fields = await result.keys();
  const { records, summary } = await result;
  const updates = summary.counters.updates() as Record<string, number>;
  const stats: QueryResult['summary']['stats'] = {};
  for (const [driverName, ours] of COUNTERS) if (updates[driverName]) stats[ours] = updates[driverName];
  return {
    fields: fields.map(String),
    records: records.map((r) => fields.map((k) => fromDriver(r.get(k)) as Value)),
    summary: { stats, queryType: (summary.queryType ?? 'r') as QueryType, notifications: notifications(summary) },
  };
}

export function createNeo4jQueryEngine(options: Neo4jQueryEngineOptions): Neo4jQueryEngine {
  let driver: Driver | null = null;
  const connect = (): Driver => {
    if (driver) return driver;
    const { port, password } = options.target();
    driver = neo4j.driver(`bolt://127.0.0.1:${port}`, neo4j.auth.basic('neo4j', password), {
      // Integers past 2^53 must come back whole.
      disableLosslessIntegers: false,
      userAgent: 'allotrope-query-api',
    });
    return driver;
  };

  const session = (o: QueryOptions): Session =>
    connect().session({ database: DATABASE, defaultAccessMode: o.readOnly ? neo4j.session.READ : neo4j.session.WRITE });

  const txConfig = (o: QueryOptions) => ({
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    ...(o.metadata ? { metadata: toDriverMap(o.metadata) } : {}),
  });

  const bookmarkOf = (s: Session): string => s.lastBookmarks()[0] ?? '';

  return {
    async run(query, params, o) {
      refuseAdministration(query);
      options.began();
      const s = session(o);
      await options.gate.enter();
      try {
        const result = await collect(s.run(query, toDriverMap(params), txConfig(o)));
        return { ...result, bookmark: bookmarkOf(s) };
      } catch (err) {
        throw cypherError(err);
      } finally {
        options.gate.leave();
        await s.close().catch(() => undefined);
      }
    },

    async begin(o): Promise<EngineTransaction> {
      options.began();
      const s = session(o);
      let tx: Transaction;
      try {
        tx = await s.beginTransaction(txConfig(o));
      } catch (err) {
        await s.close().catch(() => undefined);
        throw cypherError(err);
      }
      options.txOpened();
      let ended = false;
      const end = async () => {
        if (ended) return;
        ended = true;
        options.txClosed();
        await s.close().catch(() => undefined);
      };
      return {
        async run(query, params) {
          refuseAdministration(query);
          try {
            return await collect(tx.run(query, toDriverMap(params)));
          } catch (err) {
            throw cypherError(err);
          }
        },
        async commit() {
          await options.gate.enter();
          try {
            await tx.commit();
            return bookmarkOf(s);
          } catch (err) {
            throw cypherError(err);
          } finally {
            options.gate.leave();
            await end();
          }
        },
        async rollback() {
          try {
            if (tx.isOpen()) await tx.rollback();
          } catch (err) {
            throw cypherError(err);
          } finally {
            await end();
          }
        },
      };
    },

    async close() {
      await driver?.close();
      driver = null;
    },
  };
}
