// The store: Kysely over SQLite (embedded default: better-sqlite3, or node:sqlite on Node 24+) or PostgreSQL
// (`pg`, for several control planes sharing one store). Domain code only sees `Store.db` (a Kysely
// instance) and dialect-neutral queries; the few differences (int8 as numbers, the migration lock, the
// claim's SKIP LOCKED) are settled here and by `Store.dialect` where a caller must choose.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { migrations as knownMigrations } from './migrations/index.js';
import { openNodeSqlite, preferNodeSqlite } from './node-sqlite.js';
import type { Tables } from './schema/index.js';

export type StoreDialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Tables>;
  readonly dialect: StoreDialect;
  close(): Promise<void>;
}

/** A migration may say older code cannot live with the schema it leaves (architecture decision 7). */
export interface StoreMigration extends Migration {
  /** Set on a migration that older control planes must not run against: they refuse to start once it is applied. */
  readonly breaking?: boolean;
}

export interface OpenStoreOptions {
  /** Apply pending migrations (default true). False opens without touching the schema (store copy's source). */
  migrate?: boolean;
  /** The migrations this code knows (tests pass their own). */
  migrations?: Record<string, StoreMigration>;
  /** Connections in the PostgreSQL pool (default 10). */
  poolSize?: number;
}

export interface MigrationReport {
  /** Applied now (or, for a dry run, pending), in order. */
  applied: string[];
  /** Already applied before. */
  alreadyApplied: string[];
  /** Applied to the store by newer code and unknown to this version (none breaking, else it refuses). */
  unknown: string[];
}

/** What tells store URLs apart. */
export function storeDialectOf(url: string): StoreDialect {
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  sqlitePath(url);
  return 'sqlite';
}

/** The URL with its password replaced, for messages and logs. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

/** Opens the store named by `url` (`sqlite:<path>`, a plain file path, or `postgres://…`) and applies pending migrations. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const store = await connectStore(url, options);
  if (options.migrate === false) return store;
  try {
    await migrateStore(store, { migrations: options.migrations });
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** Connects without migrating. */
export async function connectStore(url: string, options: Pick<OpenStoreOptions, 'poolSize'> = {}): Promise<Store> {
  if (storeDialectOf(url) === 'postgres') {
    const { default: pg } = await import('pg');
    // int8 (count(*), bigint columns) and numeric arrive as strings by default: the store's values fit a double.
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') => {
        if (oid === 20 || oid === 1700) return (value: string) => Number(value);
        return pg.types.getTypeParser(oid, format);
      },
    };
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types: types as never });
    // An idle client losing its server (a PostgreSQL restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      await db.destroy();
      throw new Error(`ALLOTROPE_STORE_URL: cannot connect to ${redactStoreUrl(url)}: ${(err as Error).message}`);
    }
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = await openSqlite(path);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

// Held around the whole check-and-migrate on PostgreSQL so two instances starting at once take turns.
const MIGRATE_LOCK = 7_310_281_019;
const BREAKING_PREFIX = 'breaking:';

/**
 * Applies pending migrations (or, with `dryRun`, lists them) under a lock. Refuses a store that newer code
 * migrated past a breaking migration this version does not know; a newer, non-breaking schema is used as it is.
 */
export async function migrateStore(store: Store, options: { dryRun?: boolean; migrations?: Record<string, StoreMigration> } = {}): Promise<MigrationReport> {
  const migrations = options.migrations ?? (knownMigrations as Record<string, StoreMigration>);
  if (store.dialect === 'sqlite') return migrateLocked(store.db, migrations, options.dryRun ?? false);
  return store.db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATE_LOCK)})`.execute(conn);
    try {
      return await migrateLocked(conn, migrations, options.dryRun ?? false);
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATE_LOCK)})`.execute(conn);
    }
  });
}

async function migrateLocked(db: Kysely<Tables>, migrations: Record<string, StoreMigration>, dryRun: boolean): Promise<MigrationReport> {
  const known = Object.keys(migrations).sort();
  const tables = new Set((await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name));
  const applied = tables.has('kysely_migration')
    ? (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((r) => r.name)
    : [];
  const unknown = applied.filter((name) => !(name in migrations));
  if (tables.has('store_meta')) {
    const markers = await db.selectFrom('store_meta').select('key').where('key', 'like', `${BREAKING_PREFIX}%`).execute();
    const beyond = markers.map((m) => m.key.slice(BREAKING_PREFIX.length)).filter((name) => !(name in migrations));
    if (beyond.length > 0) {
      throw new Error(
        `store migration: the store was migrated by a newer Allotrope past breaking migration ${beyond.sort().join(', ')}, which this version (knowing up to ${known.at(-1)}) cannot work with; run the newer version`,
      );
    }
  }
  const pending = known.filter((name) => !applied.includes(name));
  if (dryRun) return { applied: pending, alreadyApplied: applied.filter((n) => n in migrations), unknown };
  if (unknown.length > 0) {
    // Newer code added migrations older code can live with (a rolling upgrade): use the schema as it is.
    if (pending.length > 0) {
      throw new Error(`store migration: the store has migrations this version does not know (${unknown.join(', ')}) and lacks ${pending.join(', ')}; run the newer version`);
    }
    return { applied: [], alreadyApplied: applied.filter((n) => n in migrations), unknown };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations } satisfies MigrationProvider,
    // Branches add numbered migrations in parallel; one merged later with a lower number still runs.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`store migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  const done = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const breaking = known.filter((name) => migrations[name]!.breaking);
  if (breaking.length > 0) {
    const now = new Date().toISOString();
    for (const name of breaking) {
      await db
        .insertInto('store_meta')
        .values({ key: `${BREAKING_PREFIX}${name}`, value: 'breaking', updated_at: now })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
    }
  }
  return { applied: done, alreadyApplied: applied, unknown };
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

/** The file of a SQLite store URL, or null for a PostgreSQL URL. */
export function sqliteFileOf(url: string): string | null {
  return storeDialectOf(url) === 'postgres' ? null : sqlitePath(url);
}

function sqlitePath(url: string): string {
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  if (url.includes('://')) throw new Error(`ALLOTROPE_STORE_URL: unsupported store URL scheme in '${url.split('://')[0]}://'`);
  return url;
}
