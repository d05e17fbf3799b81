// A tiny scripted GraphEngine for the Bolt tests: it understands a handful of query shapes, keeps
// "nodes" with transactional visibility, and records what the Bolt layer passed to it.
import { setTimeout as delay } from 'node:timers/promises';
import {
  CypherError,
  type AuthenticatedUser,
  type Authenticator,
  type EngineTransaction,
  type GraphEngine,
  type QueryOptions,
  type QueryResult,
} from '../../src/graph-server/engine-api.js';
import { Node, Path, Relationship, type Value, type ValueMap } from '../../src/graph-server/values.js';

export const DB_UUID = '0f0e0d0c-0b0a-4908-8706-050403020100';
export const nodeElementId = (id: bigint) => `4:${DB_UUID}:${id}`;
export const relElementId = (id: bigint) => `5:${DB_UUID}:${id}`;

function node(id: bigint, labels: string[], properties: ValueMap): Node {
  return new Node(id, labels, properties, nodeElementId(id));
}

function rel(id: bigint, start: bigint, end: bigint, type: string, properties: ValueMap): Relationship {
  return new Relationship(id, start, end, type, properties, relElementId(id), nodeElementId(start), nodeElementId(end));
}

/** alice -KNOWS-> bob <-LIKES- carol ; the path walks alice → bob → carol (second hop against direction). */
export function graphFixture() {
  const alice = node(1n, ['Person'], { name: 'Alice' });
  const bob = node(2n, ['Person', 'Admin'], { name: 'Bob' });
  const carol = node(3n, ['Person'], { name: 'Carol' });
  const knows = rel(10n, 1n, 2n, 'KNOWS', { since: 2020n });
  const likes = rel(11n, 3n, 2n, 'LIKES', {});
  const path = new Path([alice, bob, carol], [knows, likes]);
  return { alice, bob, carol, knows, likes, path };
}

const ok = (fields: string[], records: Value[][], extra: Partial<QueryResult['summary']> = {}): QueryResult => ({
  fields,
  records,
  summary: { stats: {}, queryType: 'r', notifications: [], ...extra },
});

function literal(expr: string, params: ValueMap): Value {
  if (expr.startsWith('$')) {
    const name = expr.slice(1);
    if (!(name in params)) throw new CypherError('Neo.ClientError.Statement.ParameterMissing', `Expected parameter(s): ${name}`, '42N51');
    return params[name] as Value;
  }
  if (/^-?\d+$/.test(expr)) return BigInt(expr);
  if (/^-?\d+\.\d+$/.test(expr)) return Number(expr);
  if (/^'.*'$/.test(expr)) return expr.slice(1, -1);
  throw new CypherError('Neo.ClientError.Statement.SyntaxError', `Invalid input '${expr}'`, '42001', { offset: 7, line: 1, column: 8 });
}

function returnItems(items: string, params: ValueMap, row: ValueMap = {}): { fields: string[]; values: Value[] } {
  const fields: string[] = [];
  const values: Value[] = [];
  for (const item of items.split(/,\s*/)) {
    const m = /^(.+?)(?:\s+AS\s+(\w+))?$/.exec(item.trim());
    if (!m) throw new CypherError('Neo.ClientError.Statement.SyntaxError', `Invalid input '${item}'`, '42001');
    const expr = m[1] as string;
    fields.push(m[2] ?? expr);
    values.push(expr in row ? (row[expr] as Value) : literal(expr, params));
  }
  return { fields, values };
}

export class FakeEngine implements GraphEngine {
  committed: string[] = [];
  private bookmarkSeq = 0;
  activeCalls = 0;
  maxActiveCalls = 0;
  lastOptions: QueryOptions | null = null;
  openTransactions = 0;
  rolledBack = 0;

  async run(query: string, params: ValueMap, options: QueryOptions): Promise<QueryResult & { bookmark: string }> {
    this.lastOptions = options;
    const writes: string[] = [];
    const result = await this.execute(query, params, options, writes);
    this.committed.push(...writes);
    return { ...result, bookmark: this.nextBookmark() };
  }

  async begin(options: QueryOptions): Promise<EngineTransaction> {
    this.lastOptions = options;
    this.openTransactions++;
    const writes: string[] = [];
    let open = true;
    const finish = () => {
      if (!open) throw new CypherError('Neo.ClientError.Transaction.TransactionNotFound', 'transaction already closed');
      open = false;
      this.openTransactions--;
    };
    return {
      run: (query, params) => {
        if (!open) throw new CypherError('Neo.ClientError.Transaction.TransactionNotFound', 'transaction already closed');
        return this.execute(query, params, options, writes);
      },
      commit: async () => {
        finish();
        this.committed.push(...writes);
        return this.nextBookmark();
      },
      rollback: async () => {
        finish();
        this.rolledBack++;
      },
    };
  }

  private nextBookmark(): string {
    return `FB:fake-${++this.bookmarkSeq}`;
  }

  private async execute(query: string, params: ValueMap, options: QueryOptions, writes: string[]): Promise<QueryResult> {
    this.activeCalls++;
    this.maxActiveCalls = Math.max(this.maxActiveCalls, this.activeCalls);
    try {
      return await this.answer(query.trim(), params, options, writes);
    } finally {
      this.activeCalls--;
    }
  }

  private async answer(q: string, params: ValueMap, options: QueryOptions, writes: string[]): Promise<QueryResult> {
    let m: RegExpExecArray | null;
    if ((m = /^SLEEP (\d+)$/.exec(q))) {
      await delay(Number(m[1]));
      return ok(['slept'], [[BigInt(m[1] as string)]]);
    }
    if (q === 'CRASH') throw new Error('the fake engine crashed on purpose');
    if ((m = /^FAIL (\S+)$/.exec(q))) {
      throw new CypherError(`Neo.ClientError.Statement.${m[1]}`, `Invalid input 'FAIL': expected a clause`, '42001', { offset: 0, line: 1, column: 1 });
    }
    if (q === 'RETURN GRAPH') {
      const g = graphFixture();
      return ok(['a', 'r', 'p'], [[g.alice, g.knows, g.path]]);
    }
    if ((m = /^CREATE \(:Item \{name: \$name\}\)$/.exec(q))) {
      if (options.readOnly) throw new CypherError('Neo.ClientError.Security.Forbidden', 'Writing in read access mode not allowed.', '42NFF');
      writes.push(String(params.name));
      return ok([], [], { queryType: 'w', stats: { 'nodes-created': 1, 'labels-added': 1, 'properties-set': 1 } });
    }
    if (q === 'MATCH (n:Item) RETURN n.name AS name') {
      return ok(['name'], [...this.committed, ...writes].map((n) => [n]));
    }
    if (q === 'NOTIFY') {
      return ok(['x'], [[1n]], {
        notifications: [
          {
            code: 'Neo.ClientNotification.Statement.CartesianProduct',
            title: 'This query builds a cartesian product',
            description: 'A cartesian product is slow.',
            severity: 'WARNING',
            category: 'PERFORMANCE',
            gqlStatus: '03N90',
            position: { offset: 3, line: 1, column: 4 },
          },
        ],
      });
    }
    if ((m = /^UNWIND range\(1, (\$?\w+)\) AS i RETURN (.+)$/.exec(q))) {
      const n = literal(m[1] as string, params);
      const count = typeof n === 'bigint' ? Number(n) : typeof n === 'number' ? n : 0;
      const records: Value[][] = [];
      let fields: string[] = [];
      for (let i = 1; i <= count; i++) {
        const r = returnItems(m[2] as string, params, { i: BigInt(i) });
        fields = r.fields;
        records.push(r.values);
      }
      if (count === 0) fields = returnItems(m[2] as string, params, { i: 0n }).fields;
      return ok(fields, records);
    }
    if ((m = /^RETURN (.+)$/.exec(q))) {
      const r = returnItems(m[1] as string, params);
      return ok(r.fields, [r.values]);
    }
    throw new CypherError('Neo.ClientError.Statement.SyntaxError', `Invalid input '${q.slice(0, 20)}'`, '42001', { offset: 0, line: 1, column: 1 });
  }
}

export const USERS: Record<string, { password: string; readOnly: boolean }> = {
  neo4j: { password: 'secret-pass', readOnly: false },
  reader: { password: 'reader-pass', readOnly: true },
};

export class FakeAuthenticator implements Authenticator {
  attempts = 0;
  async authenticate(token: ValueMap): Promise<AuthenticatedUser | null> {
    this.attempts++;
    if (token.scheme !== 'basic' || typeof token.principal !== 'string') return null;
    const user = USERS[token.principal];
    if (!user || user.password !== token.credentials) return null;
    return { username: token.principal, readOnly: user.readOnly };
  }
}
