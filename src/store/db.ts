// The store: Kysely over better-sqlite3 (embedded default). Domain code only sees `Store.db`
// (a Kysely instance) and dialect-neutral SQL, so a PostgreSQL dialect can be added here alone.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { migrations } from './migrations/index.js';
import { openNodeSqlite, preferNodeSqlite } from './node-sqlite.js';
import type { Tables } from './schema/index.js';

export type StoreDialect = 'sqlite';

export interface Store {
  readonly db: Kysely<Tables>;
  readonly dialect: StoreDialect;
  close(): Promise<void>;
}

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Opens the store named by `url` (`sqlite:<path>` or a plain file path) and applies pending migrations. */
export async function openStore(url: string): Promise<Store> {
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = await openSqlite(path);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`store migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

const BUSY_TIMEOUT_MS = 5000;

async function openSqlite(path: string): Promise<SqliteDatabase> {
  let exec: (sql: string) => void;
  let database: SqliteDatabase;
  if (preferNodeSqlite()) {
    ({ database, exec } = await openNodeSqlite(path, BUSY_TIMEOUT_MS));
  } else {
    const { default: Database } = await import('better-sqlite3');
    const sqlite = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    database = sqlite;
    exec = (sql) => sqlite.exec(sql);
  }
  exec('PRAGMA journal_mode = WAL');
  exec('PRAGMA synchronous = NORMAL');
  exec('PRAGMA foreign_keys = ON');
  exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return database;
}

function sqlitePath(url: string): string {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new Error('ALLOTROPE_STORE_URL: PostgreSQL stores are not supported yet; use a SQLite file path');
  }
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  if (url.includes('://')) throw new Error(`ALLOTROPE_STORE_URL: unsupported store URL scheme in '${url.split('://')[0]}://'`);
  return url;
}
