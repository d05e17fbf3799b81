// The store each test server or store opens: a SQLite file in its data dir (default), or — when
// ALLOTROPE_TEST_PG_URL names a PostgreSQL server (a superuser URL) — a fresh database of its own,
// `allotrope_t_<hash of the data dir>`, so a control plane restarted on the same data dir finds its store
// again. The databases made here are dropped when the test process ends.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';

export const testPgUrl: string | undefined = process.env.ALLOTROPE_TEST_PG_URL || undefined;

const created = new Set<string>();
let cleanupHooked = false;

/** A URL like `base` naming database `name`. */
export function pgUrlWithDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(base: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the server at `base` (if it does not exist) and returns its URL. */
export async function createPgDatabase(base: string, name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad test database name ${name}`);
  await admin(base, async (client) => {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`create database ${name}`);
      } catch (err) {
        // Two helpers of one test creating the same data dir's database at once.
        if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
      }
    }
  });
  created.add(name);
  hookCleanup(base);
  return pgUrlWithDatabase(base, name);
}

export async function dropPgDatabase(base: string, name: string): Promise<void> {
  created.delete(name);
  await admin(base, (client) => client.query(`drop database if exists ${name} with (force)`));
}

function hookCleanup(base: string): void {
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.once('beforeExit', () => {
    void Promise.all([...created].map((name) => dropPgDatabase(base, name).catch(() => undefined)));
  });
}

/** The store URL a test server on `dataDir` uses: undefined (the SQLite default in the data dir) unless PostgreSQL is asked for. */
export async function testStoreUrlFor(dataDir: string): Promise<string | undefined> {
  if (!testPgUrl) return undefined;
  const name = `allotrope_t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 20)}`;
  return createPgDatabase(testPgUrl, name);
}

/** Environment for a control plane on `dataDir`: ALLOTROPE_STORE_URL when the tests run on PostgreSQL. */
export async function testStoreEnv(dataDir: string): Promise<Record<string, string>> {
  const url = await testStoreUrlFor(dataDir);
  return url ? { ALLOTROPE_STORE_URL: url } : {};
}

/** A fresh, uniquely named PostgreSQL database for one store (dropped at exit). */
export async function freshPgDatabase(base: string): Promise<{ url: string; name: string }> {
  const name = `allotrope_t_${randomBytes(8).toString('hex')}`;
  return { url: await createPgDatabase(base, name), name };
}
