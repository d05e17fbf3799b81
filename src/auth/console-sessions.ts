// Console sign-in: people (console users) sign in with a password and get a session cookie (httpOnly,
// SameSite=Strict, Secure under TLS). The cookie is the second way, beside a bearer token, to become a
// Caller: a session acts as its user's role (owner/admin) in the user's organization. Every request made
// with it must be same-origin and carry the session's CSRF token in `X-CSRF-Token` (403 otherwise); the
// token is derived from the session value, so only pages that can read the sign-in answer know it.
// Sessions end on sign-out, after `idleMinutes` without a request, and at the latest after 12 hours.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { forbidden, unauthorized } from '../errors.js';
import { newId } from '../ids.js';
import type { Tables } from '../store/schema/index.js';
import type { Caller, Role } from './caller.js';
import { hashPassword, newPassword, verifyPassword } from './passwords.js';
import { hashClientSecret } from './secrets.js';

type Db = Kysely<Tables>;

export const CSRF_HEADER = 'x-csrf-token';
const MAX_SESSION_MS = 12 * 3_600_000;
// last_seen_at is written at most this often, so a page polling every second does not write every time.
const TOUCH_EVERY_MS = 15_000;

export interface ConsoleUser {
  id: string;
  organizationId: string;
  username: string;
  role: Role;
}

/** The cookie's name: with TLS the `__Host-` prefix pins it to this origin, secure and path /. */
export function sessionCookieName(tls: boolean): string {
  return tls ? '__Host-allotrope_session' : 'allotrope_session';
}

export function sessionCookie(tls: boolean, value: string | null): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(tls ? ['Secure'] : []), ...(value === null ? ['Max-Age=0'] : [])];
  return `${sessionCookieName(tls)}=${value ?? ''}; ${attrs.join('; ')}`;
}

/** The session value from a Cookie header, or null. */
export function sessionFromCookies(header: string | undefined, tls: boolean): string | null {
  if (!header) return null;
  const name = sessionCookieName(tls);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
    }
  }
  return null;
}

/** The CSRF token of a session: a digest of its value, so nothing more is stored. */
export function csrfTokenFor(session: string): string {
  return createHash('sha256').update(`csrf:${session}`).digest('base64url');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws 403 unless `header` is the session's CSRF token. */
export function requireCsrf(session: string, header: string | string[] | undefined): void {
  const csrf = Array.isArray(header) ? header[0] : header;
  if (!csrf || !sameToken(csrf, csrfTokenFor(session))) throw forbidden('a console session request needs its CSRF token in the X-CSRF-Token header');
}

/** What a request tells about where it comes from. */
export interface RequestOrigin {
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
}

/** Throws 403 unless the request comes from a page of this origin (when the browser says where it comes from). */
export function requireSameOrigin(req: RequestOrigin): void {
  if (req.secFetchSite !== undefined && req.secFetchSite !== 'same-origin' && req.secFetchSite !== 'none') {
    throw forbidden(`console requests must come from the console's own origin (Sec-Fetch-Site: ${req.secFetchSite})`);
  }
  if (req.origin !== undefined) {
    let host: string | null = null;
    try {
      host = new URL(req.origin).host;
    } catch {
      host = null;
    }
    if (host === null || host !== req.host) throw forbidden(`console requests must come from the console's own origin, not ${req.origin}`);
  }
}

/** Checks the password; on success opens a session and returns its cookie value (and drops sessions that ended unused). */
export async function signIn(db: Db, clock: Clock, idleMinutes: number, username: string, password: string): Promise<{ session: string; user: ConsoleUser }> {
  const row = await db.selectFrom('console_users').selectAll().where('username', '=', username).executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash);
  if (!row || !ok) throw unauthorized('wrong username or password');
  const session = randomBytes(32).toString('base64url');
  const now = clock.now().toISOString();
  await db
    .deleteFrom('console_sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<', new Date(clock.now().getTime() - idleMinutes * 60_000).toISOString()), eb('created_at', '<', new Date(clock.now().getTime() - MAX_SESSION_MS).toISOString())]))
    .execute();
  await db.insertInto('console_sessions').values({ token_hash: hashClientSecret(session), user_id: row.id, created_at: now, last_seen_at: now }).execute();
  return { session, user: { id: row.id, organizationId: row.organization_id, username: row.username, role: row.role as Role } };
}

export async function signOut(db: Db, session: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('token_hash', '=', hashClientSecret(session)).execute();
}

/** The user behind a live session (touching it), or a 401 naming why not. */
export async function sessionUser(db: Db, clock: Clock, idleMinutes: number, session: string): Promise<ConsoleUser> {
  const tokenHash = hashClientSecret(session);
  const row = await db
    .selectFrom('console_sessions')
    .innerJoin('console_users', 'console_users.id', 'console_sessions.user_id')
    .select(['console_users.id', 'console_users.organization_id', 'console_users.username', 'console_users.role', 'console_sessions.created_at', 'console_sessions.last_seen_at'])
    .where('console_sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) throw unauthorized('not signed in to the console (or the session ended); sign in again');
  const now = clock.now().getTime();
  const lastSeen = Date.parse(row.last_seen_at);
  if (now - lastSeen > idleMinutes * 60_000 || now - Date.parse(row.created_at) > MAX_SESSION_MS) {
    await db.deleteFrom('console_sessions').where('token_hash', '=', tokenHash).execute();
    throw unauthorized('the console session expired; sign in again');
  }
  if (now - lastSeen > TOUCH_EVERY_MS) await db.updateTable('console_sessions').set({ last_seen_at: new Date(now).toISOString() }).where('token_hash', '=', tokenHash).execute();
  return { id: row.id, organizationId: row.organization_id, username: row.username, role: row.role as Role };
}

/**
 * The Caller of an API request authenticated by a console session: same origin, the session's CSRF token in
 * X-CSRF-Token (403 without it), a live session (401). The user's role applies in every environment.
 */
export async function authenticateConsoleSession(
  db: Db,
  clock: Clock,
  idleMinutes: number,
  session: string,
  req: RequestOrigin & { csrf: string | string[] | undefined },
): Promise<Caller> {
  requireSameOrigin(req);
  requireCsrf(session, req.csrf);
  const user = await sessionUser(db, clock, idleMinutes, session);
  return { organizationId: user.organizationId, clientId: user.id, role: user.role, environmentIds: [] };
}

/**
 * Creates the console owner account when there is no console user yet (first start, or the first start of
 * a version with the console): username `owner`, a random password, in the oldest organization. Returns
 * the password to show once, or null when a console user exists (or there is no organization).
 */
export async function ensureConsoleOwner(db: Db, clock: Clock): Promise<{ username: string; password: string; organizationId: string } | null> {
  const any = await db.selectFrom('console_users').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const org = await db.selectFrom('organizations').select('id').orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
  if (!org) return null;
  const password = newPassword();
  try {
    await db
      .insertInto('console_users')
      .values({ id: newId(), organization_id: org.id, username: 'owner', password_hash: await hashPassword(password), role: 'owner', created_at: clock.now().toISOString() })
      .execute();
  } catch (err) {
    // Another instance on the same store created it first (username is unique): that one shows the password.
    if (await db.selectFrom('console_users').select('id').where('username', '=', 'owner').executeTakeFirst()) return null;
    throw err;
  }
  return { username: 'owner', password, organizationId: org.id };
}
