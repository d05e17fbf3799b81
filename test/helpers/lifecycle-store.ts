// A real SQLite store in a temp dir, with the rows the operations engine needs (a database to hang
// operations on), for engine tests that use fake step functions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { newId } from '../../src/ids.js';
import { openStore, type Store } from '../../src/store/db.js';
import type { DatabasesTable } from '../../src/store/schema/lifecycle.js';
import { dropPgDatabase, freshPgDatabase, testPgUrl } from './test-store.js';

export interface TempStore {
  store: Store;
  dir: string;
  close(): Promise<void>;
}

export async function openTempStore(): Promise<TempStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'allotrope-ops-'));
  const pgDatabase = testPgUrl ? await freshPgDatabase(testPgUrl) : undefined;
  const store = await openStore(pgDatabase?.url ?? path.join(dir, 'store.sqlite'));
  return {
    store,
    dir,
    close: async () => {
      await store.close();
      if (pgDatabase) await dropPgDatabase(testPgUrl!, pgDatabase.name);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const silentLogger = pino({ level: 'silent' });

let nextPort = 40000;

/** Inserts a bare database row (state `running`; `fields` override any column) and returns its id. */
export async function insertDatabaseRow(store: Store, organizationId = newId(), fields: Partial<DatabasesTable> = {}): Promise<string> {
  const id = newId();
  await store.db
    .insertInto('databases')
    .values({
      id,
      organization_id: organizationId,
      environment_id: newId(),
      name: `db-${id.slice(0, 6)}`,
      plan: 'ds1',
      version_number: '5.26.0',
      engine: 'grafeo',
      edition: 'community',
      region: 'local',
      domain_name: 'localhost',
      bolt_port: nextPort++,
      http_port: nextPort++,
      state: 'running',
      needs_restart: 0,
      under_incident: 0,
      health_status: null,
      health_checked_at: null,
      enabled_extras: '[]',
      auto_pause_enabled: 0,
      auto_pause_idle_minutes: 60,
      auto_resume: 0,
      created_at: new Date().toISOString(),
      terminated_at: null,
      ...fields,
    })
    .execute();
  return id;
}

/** Adds a primary node to a database row and returns its station id. */
export async function insertNodeRow(store: Store, databaseId: string): Promise<string> {
  const stationId = newId();
  const db = await store.db.selectFrom('databases').select('organization_id').where('id', '=', databaseId).executeTakeFirstOrThrow();
  await store.db
    .insertInto('database_nodes')
    .values({ station_id: stationId, database_id: databaseId, organization_id: db.organization_id, node_type: 'primary', created_at: new Date().toISOString() })
    .execute();
  return stationId;
}
