// Node's built-in SQLite (node:sqlite) behind the interface Kysely's SqliteDialect expects of better-sqlite3.
// Used on Node ≥ 24: there better-sqlite3 12's native Statement destructor trips a Node assertion
// (nodejs/node#65446, "RemoveEnvironmentCleanupHook: (env) != nullptr") and aborts the process, while
// better-sqlite3 13, which avoids it, does not run on Node 20. Node 20 and 22 keep better-sqlite3.
import type { SqliteDatabase, SqliteStatement } from 'kysely';

type SqlValue = null | number | bigint | string | Uint8Array;

interface StatementSync {
  all(...params: SqlValue[]): unknown[];
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...params: SqlValue[]): IterableIterator<unknown>;
  columns(): unknown[];
}

interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  close(): void;
}

interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { timeout?: number }) => DatabaseSync;
}

/** True when this Node has a usable built-in SQLite that should be preferred. */
export function preferNodeSqlite(): boolean {
  return Number(process.versions.node.split('.')[0]) >= 24;
}

export async function openNodeSqlite(path: string, busyTimeoutMs: number): Promise<{ database: SqliteDatabase; exec(sql: string): void }> {
  // A computed specifier keeps TypeScript (with Node 20's types) from resolving a module it doesn't know.
  const specifier = 'node:sqlite';
  const { DatabaseSync } = (await import(specifier)) as NodeSqliteModule;
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  const database: SqliteDatabase = {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = db.prepare(sql);
      const args = (parameters: ReadonlyArray<unknown>) => parameters as SqlValue[];
      return {
        // Kysely reads rows from statements that return columns (SELECT, … RETURNING) and runs the others.
        reader: stmt.columns().length > 0,
        all: (parameters) => stmt.all(...args(parameters)),
        run: (parameters) => stmt.run(...args(parameters)),
        iterate: (parameters) => stmt.iterate(...args(parameters)),
      };
    },
  };
  return { database, exec: (sql) => db.exec(sql) };
}
