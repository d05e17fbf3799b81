// A database's `settings/config` (api.md §5 "Configuration"): the keys its runtime supports, validated
// by the runtime's own catalogue, secret values masked on the way out. A change takes effect at the next
// (re)start, so it sets `needsRestart` until then.
import type { Kysely } from 'kysely';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../clock.js';
import type { Tables } from '../store/schema/index.js';
import { CONFIGURE_SCOPE, findDatabase } from './databases.js';
import { conflict, invalid } from '../errors.js';

/** What the domain needs to know of a runtime setting (the local runtime's `LOCAL_RUNTIME_SETTINGS` fits). */
export interface SettingDefinition {
  key: string;
  secret: boolean;
  /** A user-facing problem with the value, or undefined when it is valid. */
  validate(value: string): string | undefined;
}

export interface SettingsDeps {
  db: Kysely<Tables>;
  clock: Clock;
  settings: readonly SettingDefinition[];
}

export interface ConfigurationEntry {
  key: string;
  value: string;
  secret: boolean;
}

/** What a secret value reads as; sending it back unchanged keeps the stored value. */
export const MASK = '********';

export async function getDatabaseConfiguration(deps: SettingsDeps, caller: Caller, databaseId: string): Promise<{ configuration: ConfigurationEntry[] }> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  const rows = await deps.db.selectFrom('database_settings').selectAll().where('database_id', '=', row.id).orderBy('key').execute();
  return { configuration: rows.map((r) => ({ key: r.key, value: r.secret === 1 ? MASK : r.value, secret: r.secret === 1 })) };
}

export async function putDatabaseConfiguration(
  deps: SettingsDeps,
  caller: Caller,
  databaseId: string,
  configuration: { key: string; value: unknown; secret?: boolean }[],
): Promise<{ configuration: ConfigurationEntry[] }> {
  const { row } = await findDatabase(deps, caller, databaseId, CONFIGURE_SCOPE);
  if (row.state === 'terminated' || row.state === 'terminating') throw conflict(`database is ${row.state}; its configuration cannot change`);
  const byKey = new Map(deps.settings.map((s) => [s.key, s]));
  const supported = deps.settings.map((s) => s.key).join(', ');
  const current = new Map(
    (await deps.db.selectFrom('database_settings').selectAll().where('database_id', '=', row.id).execute()).map((r) => [r.key, r]),
  );
  const next = new Map<string, ConfigurationEntry>();
  for (const [i, entry] of configuration.entries()) {
    const definition = byKey.get(entry.key);
    if (!definition) throw invalid(`configuration[${i}].key`, `unknown setting '${entry.key}'; supported: ${supported}`);
    if (next.has(entry.key)) throw invalid(`configuration[${i}].key`, `setting '${entry.key}' is given twice`);
    const secret = definition.secret || entry.secret === true;
    let value = typeof entry.value === 'string' ? entry.value : typeof entry.value === 'number' || typeof entry.value === 'boolean' ? String(entry.value) : undefined;
    if (value === undefined) throw invalid(`configuration[${i}].value`, `setting '${entry.key}' needs a string value`);
    const stored = current.get(entry.key);
    if (secret && value === MASK && stored) value = stored.value;
    const problem = definition.validate(value);
    if (problem) throw invalid(`configuration[${i}].value`, `setting '${entry.key}': ${problem}`);
    next.set(entry.key, { key: entry.key, value, secret });
  }
  const changed =
    next.size !== current.size || [...next.values()].some((e) => current.get(e.key)?.value !== e.value || (current.get(e.key)?.secret === 1) !== e.secret);
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('database_settings').where('database_id', '=', row.id).execute();
    if (next.size > 0) {
      await trx
        .insertInto('database_settings')
        .values([...next.values()].map((e) => ({ database_id: row.id, organization_id: row.organization_id, key: e.key, value: e.value, secret: e.secret ? 1 : 0, updated_at: now })))
        .execute();
    }
    if (changed) await trx.updateTable('databases').set({ needs_restart: 1 }).where('id', '=', row.id).execute();
  });
  return getDatabaseConfiguration(deps, caller, row.id);
}
