// Connection credentials of a database (api.md §5 "Database users"). Passwords are random, shown once,
// stored as scrypt hashes, and pushed to the database's nodes at once (the graph-server reloads its
// users file), so new connections use them within seconds without a restart.
import type { Kysely } from 'kysely';
import type { Caller } from '../auth/caller.js';
import type { Clock } from '../clock.js';
import { hashPassword } from '../auth/passwords.js';
import { newId, normalizeId } from '../ids.js';
import { nodeAccessOf } from './node-specs.js';
import type { Runtime } from '../runtimes/runtime.js';
import type { Tables } from '../store/schema/index.js';
import type { DatabaseUsersTable } from '../store/schema/lifecycle.js';
import { CONFIGURE_SCOPE, findDatabase, newPassword } from './databases.js';
import { assertPlainText } from './plain-text.js';
import { conflict, invalid, notFound } from '../errors.js';

export interface UsersDeps {
  db: Kysely<Tables>;
  clock: Clock;
  runtime: Runtime;
  logger: { warn(obj: object, msg: string): void };
}

export interface NewDatabaseUser {
  username?: string;
  description?: string;
  expireAt?: string;
  readOnly?: boolean;
}

const USERNAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function parseExpiry(value: string | undefined, now: Date): string | null {
  if (value === undefined || value === '' || value === 'never') return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid('expireAt', `expireAt '${value}' is not a date (RFC 7231, e.g. 'Sun, 06 Nov 2044 08:49:37 GMT') or 'never'`);
  if (ms <= now.getTime()) throw invalid('expireAt', 'expireAt must be in the future');
  return new Date(ms).toISOString();
}

async function mutableDatabase(deps: UsersDeps, caller: Caller, databaseId: string) {
  const found = await findDatabase(deps, caller, databaseId, CONFIGURE_SCOPE);
  if (found.row.state === 'terminated' || found.row.state === 'terminating') throw conflict(`database is ${found.row.state}; its users cannot change`);
  return found.row;
}

/** Rewrites every node's users file; a node that cannot take it now gets the users at its next start. */
async function pushUsers(deps: UsersDeps, databaseId: string): Promise<void> {
  const access = await nodeAccessOf(deps.db, databaseId, deps.clock.now());
  const nodes = await deps.db.selectFrom('database_nodes').select('station_id').where('database_id', '=', databaseId).execute();
  for (const node of nodes) {
    try {
      await deps.runtime.writeUsers(node.station_id, access);
    } catch (err) {
      deps.logger.warn({ err, databaseId, stationId: node.station_id }, 'could not hand users to a node; it gets them at its next start');
    }
  }
}

export async function listDatabaseUsers(deps: UsersDeps, caller: Caller, databaseId: string): Promise<DatabaseUsersTable[]> {
  const { row } = await findDatabase(deps, caller, databaseId, 'read');
  return deps.db.selectFrom('database_users').selectAll().where('database_id', '=', row.id).orderBy('created_at').orderBy('username').execute();
}

/** The new user's row and its password (the row keeps only the hash; the password is shown once). */
export async function createDatabaseUser(deps: UsersDeps, caller: Caller, databaseId: string, input: NewDatabaseUser): Promise<{ user: DatabaseUsersTable; password: string }> {
  const database = await mutableDatabase(deps, caller, databaseId);
  const now = deps.clock.now();
  const username = input.username === undefined || input.username === '' ? `user_${newId().slice(0, 8)}` : input.username;
  if (!USERNAME.test(username)) throw invalid('username', 'username must be 1 to 64 characters: letters, digits, _ . - (starting with a letter)');
  if (input.description !== undefined) assertPlainText('description', input.description);
  if (input.description !== undefined && input.description.length > 500) throw invalid('description', 'description must be at most 500 characters');
  const expireAt = parseExpiry(input.expireAt, now);
  const password = newPassword();
  const row: DatabaseUsersTable = {
    id: newId(),
    database_id: database.id,
    organization_id: database.organization_id,
    username,
    description: input.description ?? null,
    password_hash: await hashPassword(password),
    read_only: input.readOnly ? 1 : 0,
    expire_at: expireAt,
    created_at: now.toISOString(),
  };
  await deps.db.transaction().execute(async (trx) => {
    const taken = await trx.selectFrom('database_users').select('id').where('database_id', '=', database.id).where('username', '=', username).executeTakeFirst();
    if (taken) throw conflict(`user '${username}' already exists on this database`);
    await trx.insertInto('database_users').values(row).execute();
  });
  await pushUsers(deps, database.id);
  return { user: row, password };
}

async function findUser(deps: UsersDeps, databaseId: string, userId: string): Promise<DatabaseUsersTable> {
  const id = normalizeId(userId);
  const row = id ? await deps.db.selectFrom('database_users').selectAll().where('id', '=', id).where('database_id', '=', databaseId).executeTakeFirst() : undefined;
  if (!row) throw notFound(`user '${userId}' does not exist on this database`);
  return row;
}

export async function resetDatabaseUserPassword(deps: UsersDeps, caller: Caller, databaseId: string, userId: string): Promise<{ password: string }> {
  const database = await mutableDatabase(deps, caller, databaseId);
  const user = await findUser(deps, database.id, userId);
  const password = newPassword();
  const passwordHash = await hashPassword(password);
  await deps.db.updateTable('database_users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
  await pushUsers(deps, database.id);
  return { password };
}

export async function deleteDatabaseUser(deps: UsersDeps, caller: Caller, databaseId: string, userId: string): Promise<void> {
  const database = await mutableDatabase(deps, caller, databaseId);
  const user = await findUser(deps, database.id, userId);
  await deps.db.deleteFrom('database_users').where('id', '=', user.id).execute();
  await pushUsers(deps, database.id);
}
