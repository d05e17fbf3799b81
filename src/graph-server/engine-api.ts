// The seam between the protocol front ends (Bolt, Query API) and the engine adapter.
// Front ends only see these types; the adapter only sees `Value`s, never sockets.
import type { Value, ValueMap } from './values.js';

export type QueryType = 'r' | 'w' | 'rw' | 's';

/** Counters, named as Bolt names them (the Query API camel-cases them). Absent = 0. */
export type StatKey =
  | 'nodes-created'
  | 'nodes-deleted'
  | 'relationships-created'
  | 'relationships-deleted'
  | 'properties-set'
  | 'labels-added'
  | 'labels-removed'
  | 'indexes-added'
  | 'indexes-removed'
  | 'constraints-added'
  | 'constraints-removed';

export interface Position {
  offset: number;
  line: number;
  column: number;
}

/** A Neo4j-style notification (warning or information) about a query. */
export interface Notification {
  code: string; // e.g. Neo.ClientNotification.Statement.CartesianProduct
  title: string;
  description: string;
  severity: 'WARNING' | 'INFORMATION';
  category?: string; // e.g. PERFORMANCE, DEPRECATION, UNRECOGNIZED, GENERIC
  gqlStatus?: string; // e.g. 03N90
  position?: Position;
}

/** One operator of a query plan, as Bolt's SUCCESS `plan`/`profile` carries it (profiles add rows, dbHits, time in ns). */
export interface PlanOperator {
  operatorType: string;
  identifiers: string[];
  args: Record<string, string>;
  children: PlanOperator[];
  rows?: number;
  dbHits?: number;
  time?: number;
}

export interface QuerySummary {
  stats: Partial<Record<StatKey, number>>;
  queryType: QueryType;
  notifications: Notification[];
  /** EXPLAIN: the plan (and no records). */
  plan?: PlanOperator;
  /** PROFILE: the plan with what each operator did. */
  profile?: PlanOperator;
}

export interface QueryResult {
  fields: string[];
  records: Value[][];
  summary: QuerySummary;
}

export interface QueryOptions {
  /** Fail the query with Neo.ClientError.Transaction.TransactionTimedOut past this many ms. */
  timeoutMs?: number;
  /** A read-only user or access mode: writes fail with Neo.ClientError.Security.Forbidden. */
  readOnly: boolean;
  metadata?: ValueMap;
  /** The authenticated user, for `SHOW CURRENT USER` and logs. */
  username?: string;
  /** Bookmarks the client sent (BEGIN/RUN `bookmarks`): the engine refuses ones it never issued. */
  bookmarks?: string[];
}

export interface EngineTransaction {
  run(query: string, params: ValueMap): Promise<QueryResult>;
  /** Returns the bookmark of the commit. */
  commit(): Promise<string>;
  rollback(): Promise<void>;
}

export interface GraphEngine {
  /** Auto-commit query; returns the result and the bookmark of its commit. */
  run(query: string, params: ValueMap, options: QueryOptions): Promise<QueryResult & { bookmark: string }>;
  begin(options: QueryOptions): Promise<EngineTransaction>;
}

export interface AuthenticatedUser {
  username: string;
  readOnly: boolean;
}

export interface Authenticator {
  /** `token` is the Bolt auth map ({scheme, principal, credentials, ...}); null when refused. */
  authenticate(token: ValueMap): Promise<AuthenticatedUser | null>;
}

/** An error with a Neo4j status code, e.g. Neo.ClientError.Statement.SyntaxError. */
export class CypherError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly gqlStatus: string = '50N42',
    readonly position?: Position,
  ) {
    super(message);
    this.name = 'CypherError';
  }
}
