// The PostgreSQL store: the same migrations as SQLite under a lock, the breaking-migration marker, the
// `allotrope migrate` and `allotrope store copy` commands, and the dialect differences the store settles
// (int8 as numbers, unique violations recognised). Needs a PostgreSQL server: ALLOTROPE_TEST_PG_URL, a
// superuser URL (CI sets it; see docs/postgresql.md). Without it this file is skipped, saying so.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { isExclusiveViolation } from '../src/operations/queue.js';
import { migrations } from '../src/store/migrations/index.js';
import { ManualClock } from '../src/clock.js';
import { LeaderLease } from '../src/store/leader-lease.js';
import { migrateStore, openStore, type Store, type StoreMigration } from '../src/store/db.js';
import { allotropeCommand } from './helpers/cli.js';
import { insertDatabaseRow } from './helpers/lifecycle-store.js';
import { startServer } from './helpers/server.js';
import { freshPgDatabase, testPgUrl } from './helpers/test-store.js';
import { waitFor } from './helpers/wait-for.js';
import { decodeProtectedHeader } from 'jose';
import { rotateStoreSigningKey } from '../src/auth/signing-keys.js';

const skip = testPgUrl ? false : 'ALLOTROPE_TEST_PG_URL is not set: no PostgreSQL server to test against (see docs/postgresql.md)';
if (skip) process.stdout.write(`# store-postgres: skipped: ${skip}\n`);

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [cmd, argv] = allotropeCommand(args);
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'allotrope-pg-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function tableNames(db: Kysely<unknown>): Promise<string[]> {
  return (await db.introspection.getTables()).map((t) => t.name).sort();
}

async function withStore<T>(url: string, fn: (store: Store) => Promise<T>, migrationsToUse?: Record<string, StoreMigration>): Promise<T> {
  const store = await openStore(url, migrationsToUse ? { migrations: migrationsToUse } : {});
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('PostgreSQL store', { skip }, () => {
  test('the same migrations make the same tables and columns on both dialects; instances starting at once take turns', async () => {
    const { url } = await freshPgDatabase(testPgUrl!);
    const sqliteUrl = `sqlite:${join(tempDir(), 'a.db')}`;
    // Four control planes opening one fresh store at once: one migrates, the others find it done.
    const stores = await Promise.all([1, 2, 3, 4].map(() => openStore(url)));
    try {
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(stores[0]!.db);
      assert.deepEqual(applied.rows.map((r) => r.name), Object.keys(migrations).sort());
      await withStore(sqliteUrl, async (lite) => {
        assert.deepEqual(await tableNames(stores[0]!.db as Kysely<unknown>), await tableNames(lite.db as Kysely<unknown>));
        // Names only: SQLite reports a text primary key as nullable, PostgreSQL does not.
        const columns = async (db: Kysely<unknown>) => Object.fromEntries((await db.introspection.getTables()).map((t) => [t.name, t.columns.map((c) => c.name).sort()]));
        assert.deepEqual(await columns(stores[0]!.db as Kysely<unknown>), await columns(lite.db as Kysely<unknown>));
      });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('values come back with the same types on both dialects; unique violations are recognised on both', async () => {
    const { url } = await freshPgDatabase(testPgUrl!);
    for (const storeUrl of [url, `sqlite:${join(tempDir(), 'b.db')}`]) {
      await withStore(storeUrl, async (store) => {
        const databaseId = await insertDatabaseRow(store);
        await store.db
          .insertInto('snapshots')
          .values({ id: `s-${databaseId}`, organization_id: 'o', database_id: databaseId, kind: 'manual', label: 'Ä ✓', status: 'completed', blob_key: null, size_bytes: 2 ** 40 + 3, sha256: null, node_count: 7, relationship_count: 0, error: null, operation_id: null, due_at: null, created_at: new Date(0).toISOString(), expires_at: null })
          .execute();
        const row = await store.db.selectFrom('snapshots').selectAll().executeTakeFirstOrThrow();
        assert.strictEqual(row.size_bytes, 2 ** 40 + 3, `${store.dialect}: bigint as a number`);
        assert.strictEqual(row.node_count, 7);
        assert.strictEqual(row.label, 'Ä ✓');
        const count = await store.db.selectFrom('snapshots').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.strictEqual(count.n, 1, `${store.dialect}: count(*) as a number`);
        const db = await store.db.selectFrom('databases').select(['needs_restart', 'bolt_port']).executeTakeFirstOrThrow();
        assert.strictEqual(db.needs_restart, 0);
        assert.strictEqual(typeof db.bolt_port, 'number');
        // Two exclusive operations on one database: the partial unique index refuses the second, recognisably.
        const op = (id: string) => ({ id, organization_id: 'o', database_id: databaseId, operation_type: 't', description: 'd', status: 'started', exclusive: 1, params: '{}', current_step: 0, attempts: 0, locked_by: null, lease_expires_at: null, started_at: new Date().toISOString(), finished_at: null, next_operation_id: null, error: null });
        await store.db.insertInto('operations').values(op('op1')).execute();
        const err = await store.db.insertInto('operations').values(op('op2')).execute().then(() => null, (e: unknown) => e);
        assert.ok(err, `${store.dialect}: the second exclusive operation is refused`);
        assert.ok(isExclusiveViolation(err), `${store.dialect}: recognised: ${(err as Error).message}`);
      });
    }
  });

  test('a store migrated past a breaking migration refuses older code; a newer non-breaking migration does not', async () => {
    for (const storeUrl of [(await freshPgDatabase(testPgUrl!)).url, `sqlite:${join(tempDir(), 'c.db')}`]) {
      const extra: StoreMigration = { up: async (db) => void (await db.schema.createTable('newer_feature').addColumn('id', 'text', (c) => c.primaryKey()).execute()) };
      const newer = { ...migrations, '9998_newer_feature': extra };
      await withStore(storeUrl, async () => undefined, newer);
      // Older code (today's migrations) starts against a newer schema it can live with.
      await withStore(storeUrl, async (store) => {
        const report = await migrateStore(store);
        assert.deepEqual(report.unknown, ['9998_newer_feature']);
      });
      const breaking: StoreMigration = { breaking: true, up: async (db) => void (await db.schema.alterTable('newer_feature').addColumn('x', 'text').execute()) };
      await withStore(storeUrl, async () => undefined, { ...newer, '9999_breaking_change': breaking });
      const newest = Object.keys(migrations).sort().at(-1)!;
      await assert.rejects(openStore(storeUrl), new RegExp(`migrated by a newer Allotrope past breaking migration 9999_breaking_change, which this version \\(knowing up to ${newest}\\) cannot work with`));
      // The code that knows it still opens the store.
      await withStore(storeUrl, async () => undefined, { ...newer, '9999_breaking_change': breaking });
    }
  });

  test('allotrope migrate lists pending migrations with --dry-run, applies them, then reports the store up to date', async () => {
    const { url } = await freshPgDatabase(testPgUrl!);
    const env = { ALLOTROPE_STORE_URL: url, ALLOTROPE_DATA_DIR: tempDir() };
    // An admin command does not make a new installation in an empty database unless asked.
    const admin = await runCli(['admin', 'create-client', '--name', 'robot'], env);
    assert.equal(admin.status, 1);
    assert.match(admin.stderr, /^allotrope: no Allotrope store in postgres:\/\/.*allotrope_t_\w+ \(its database holds no Allotrope tables\); check ALLOTROPE_STORE_URL, or pass --init/);
    const dry = await runCli(['migrate', '--dry-run'], env);
    assert.equal(dry.status, 0, dry.stderr);
    for (const name of Object.keys(migrations)) assert.match(dry.stdout, new RegExp(`^pending ${name}$`, 'm'));
    assert.match(dry.stdout, /pending \(nothing applied: --dry-run\)/);
    const applied = await runCli(['migrate'], env);
    assert.equal(applied.status, 0, applied.stderr);
    for (const name of Object.keys(migrations)) assert.match(applied.stdout, new RegExp(`^applied ${name}$`, 'm'));
    const again = await runCli(['migrate'], env);
    assert.match(again.stdout, new RegExp(`up to date \\(${Object.keys(migrations).length} migrations applied\\)`));
    const bad = await runCli(['migrate'], { ...env, ALLOTROPE_STORE_URL: 'postgres://nobody:secret-pw@127.0.0.1:1/x' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^allotrope: ALLOTROPE_STORE_URL: cannot connect to postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/x/);
    assert.ok(!bad.stderr.includes('secret-pw'), 'the password is not shown');
  });

  test('allotrope store copy moves an install from SQLite to PostgreSQL: the same credentials, environments and rows; a non-empty target needs --force', async () => {
    const dataDir = tempDir();
    const sqliteUrl = `sqlite:${join(dataDir, 'allotrope.db')}`;
    const first = await startServer({ dataDir, env: { ALLOTROPE_STORE_URL: sqliteUrl } });
    let environments: unknown;
    try {
      const token = await first.token();
      for (const label of ['staging-a', 'prod-b']) {
        const res = await first.request('POST', '/deployments/environments', { token, body: { label, type: label.startsWith('prod') ? 'production' : 'staging', region: 'local' } });
        assert.equal(res.status, 201, res.text);
      }
      environments = (await first.request('GET', '/deployments/environments', { token })).body;
    } finally {
      await first.stop();
    }
    const { url } = await freshPgDatabase(testPgUrl!);
    const copy = await runCli(['store', 'copy', '--from', sqliteUrl, '--to', url]);
    assert.equal(copy.status, 0, copy.stderr);
    assert.match(copy.stdout, /^ {2}organizations: 1 rows$/m);
    assert.match(copy.stdout, /^ {2}environments: 3 rows$/m);
    assert.match(copy.stdout, /row counts verified/);
    // Parents before children.
    assert.ok(copy.stdout.indexOf('organizations:') < copy.stdout.indexOf('environments:'));
    assert.ok(copy.stdout.indexOf('api_clients:') < copy.stdout.indexOf('api_client_environments:'));

    const again = await runCli(['store', 'copy', '--from', sqliteUrl, '--to', url]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^allotrope: store copy: the target is not empty \(.*organizations.*\); pass --force to replace its contents\n$/);
    const forced = await runCli(['store', 'copy', '--from', sqliteUrl, '--to', url, '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /emptied the target/);

    // The install now runs on PostgreSQL: the admin credentials work and the environments are the same.
    const moved = await startServer({ dataDir, env: { ALLOTROPE_STORE_URL: url } });
    try {
      assert.equal(moved.running.store.dialect, 'postgres');
      const token = await moved.token(first.adminCredentials);
      assert.deepEqual((await moved.request('GET', '/deployments/environments', { token })).body, environments);
    } finally {
      await moved.stop();
    }
  });

  test('a leader lease is held by one holder at a time, renewed by it, taken over once it lapses, and given up on release (both dialects)', async () => {
    for (const storeUrl of [(await freshPgDatabase(testPgUrl!)).url, `sqlite:${join(tempDir(), 'd.db')}`]) {
      await withStore(storeUrl, async (store) => {
        const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
        const a = new LeaderLease(store.db, 'scheduler', 'a', 10_000, clock);
        const b = new LeaderLease(store.db, 'scheduler', 'b', 10_000, clock);
        const both = await Promise.all([a.acquire(), b.acquire()]);
        assert.equal(both.filter(Boolean).length, 1, `${store.dialect}: one leader`);
        const [leader, other] = both[0] ? [a, b] : [b, a];
        clock.advance(8_000);
        assert.equal(await leader.acquire(), true, 'renewed');
        clock.advance(8_000);
        assert.equal(await other.acquire(), false, 'the renewal counts from when it was renewed');
        clock.advance(2_001);
        assert.equal(await other.acquire(), true, `${store.dialect}: taken over once the lease lapsed`);
        assert.equal(await leader.acquire(), false);
        await other.release();
        assert.equal(await leader.acquire(), true, 'free at once after a release');
      });
    }
  });

  test('two control planes on one store: a token from one is accepted by the other, a key rotation reaches both, failed attempts count across both', async () => {
    const dataDir = tempDir();
    const { url } = await freshPgDatabase(testPgUrl!);
    const env = { ALLOTROPE_STORE_URL: url };
    const a = await startServer({ dataDir, env });
    // In-process servers take no data-dir lock; on PostgreSQL neither keeps its signing keys in the data dir.
    const second = await startServer({ dataDir, env });
    try {
      const token = await a.token();
      assert.equal((await second.request('GET', '/deployments/plans', { token })).status, 200, "a's token accepted by the other");
      const rotated = await rotateStoreSigningKey(a.running.store.db, new Date(), 3600);
      const fresh = await waitFor(async () => {
        const t = await second.token(a.adminCredentials);
        return decodeProtectedHeader(t).kid === rotated ? t : undefined;
      }, { timeoutMs: 5_000, what: 'the other instance to sign with the rotated key' });
      assert.equal((await a.request('GET', '/deployments/plans', { token: fresh })).status, 200);
      assert.equal((await a.request('GET', '/deployments/plans', { token })).status, 200, 'the previous key is still published');

      // Guessing alternately at both instances is limited like guessing at one.
      const max = a.config.auth.maxFailedAttempts;
      for (let i = 0; i < max; i++) {
        const res = await [a, second][i % 2]!.request('POST', '/organizations/oauth/token', { form: { client_id: a.adminCredentials.clientId, client_secret: 'wrong' } });
        assert.equal(res.status, 401);
      }
      for (const api of [a, second]) {
        const limited = await api.request('POST', '/organizations/oauth/token', { form: { client_id: a.adminCredentials.clientId, client_secret: a.adminCredentials.clientSecret } });
        assert.equal(limited.status, 429);
      }
    } finally {
      await second.stop();
      await a.stop();
    }
  });
});
