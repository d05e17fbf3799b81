// The web console (docs/console.md): its static files at /console (shipped in the package's console/
// directory; nothing is fetched at run time) and the sign-in session routes under /console/api/session.
// API calls made by the console go to the ordinary routes with the session cookie and X-CSRF-Token
// (app.ts, src/auth/console-sessions.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import {
  CSRF_HEADER,
  csrfTokenFor,
  requireCsrf,
  requireSameOrigin,
  sessionCookie,
  sessionFromCookies,
  sessionUser,
  signIn,
  signOut,
  type ConsoleUser,
} from '../../auth/console-sessions.js';
import { FailedAttemptLimiter } from '../../auth/rate-limit.js';
import { DomainError, forbidden, unauthorized } from '../../errors.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiInstance, RouteContext } from '../types.js';
import { ErrorBody } from '../schemas/common.js';
import { SessionAnswer, SignInBody } from '../schemas/console.js';

// From dist/src/api/routes/ (built) or src/api/routes/ (tsx) to the package's console/ directory.
const STATIC_DIR = [new URL('../../../../console/', import.meta.url), new URL('../../../console/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(join(dir, 'index.html')));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Every file of the console, read once at start: only these names are ever served (no path from the request reaches the disk). */
function loadStatic(): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!STATIC_DIR) return files;
  for (const name of readdirSync(STATIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type && /^[a-z0-9][a-z0-9.-]*$/.test(name)) files.set(name, { body: readFileSync(join(STATIC_DIR, name)), type });
  }
  return files;
}

// The console talks to this origin, and to databases' Query API endpoints on their own ports (connect-src http: https:).
const CSP = "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";


export function consoleRoutes(ctx: RouteContext) {
  const tls = ctx.config.tls !== null;
  const idle = ctx.config.console.idleMinutes;
  return async (app: ApiInstance): Promise<void> => {
    const files = loadStatic();
    const limiter = new FailedAttemptLimiter(ctx.store.db, ctx.config.auth.maxFailedAttempts, ctx.config.auth.failureWindowMs, ctx.clock);
    // Counted apart from the token endpoint's failures from the same address (one table, two keys).
    const limitKey = (ip: string) => `console ${ip}`;
    const answer = (user: ConsoleUser, session: string) => ({
      user: { id: user.id, username: user.username, role: user.role, organizationId: user.organizationId },
      csrfToken: csrfTokenFor(session),
      idleMinutes: idle,
    });
    // request.host follows X-Forwarded-Host from a trusted proxy, so the origin check holds behind one.
    const origin = (request: FastifyRequest) => ({
      host: request.host,
      origin: request.headers.origin,
      secFetchSite: request.headers['sec-fetch-site'] as string | undefined,
    });

    const sendFile = (name: string) => async (_request: unknown, reply: FastifyReply) => {
      const file = files.get(name);
      if (!file) return reply.code(404).type('text/plain; charset=utf-8').send(STATIC_DIR ? `no console file ${name}` : 'the console files are missing from this installation (console/ next to package.json)');
      return reply
        .header('Content-Security-Policy', CSP)
        .header('X-Content-Type-Options', 'nosniff')
        .header('X-Frame-Options', 'DENY')
        .header('Referrer-Policy', 'no-referrer')
        .header('Cache-Control', 'no-cache')
        .type(file.type)
        .send(file.body);
    };
    app.get('/console', { schema: { hide: true } }, sendFile('index.html'));
    app.get<{ Params: { file: string } }>('/console/:file', { schema: { hide: true } }, (request, reply) => sendFile(request.params.file)(request, reply));

    app.post(
      '/console/api/session',
      {
        schema: {
          tags: ['console'],
          summary: 'Sign in to the web console (sets the session cookie)',
          description:
            'Checks a console user\'s password and sets an httpOnly, SameSite=Strict session cookie (Secure under TLS). Requests made with the cookie must send the returned csrfToken as `X-CSRF-Token`. Only from the console\'s own origin; repeated failures from one address answer 429.',
          security: [],
          body: SignInBody,
          response: { 201: SessionAnswer, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => {
        requireSameOrigin(origin(request));
        // A JSON body only: a cross-site HTML form cannot send one, so nobody is signed in to an account not theirs.
        if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw forbidden('sign in with a JSON body');
        const wait = await limiter.retryAfterSeconds(limitKey(request.ip));
        if (wait > 0) throw new DomainError('rate-limited', `too many failed sign-ins; retry in ${wait} seconds`, undefined, wait);
        try {
          const { session, user } = await signIn(ctx.store.db, ctx.clock, idle, request.body.username, request.body.password);
          reply.header('Set-Cookie', sessionCookie(tls, session)).header('Cache-Control', 'no-store');
          return reply.code(201).send(answer(user, session));
        } catch (err) {
          if (err instanceof DomainError && err.kind === 'unauthorized') await limiter.recordFailure(limitKey(request.ip));
          throw err;
        }
      },
    );

    app.get(
      '/console/api/session',
      {
        schema: {
          tags: ['console'],
          summary: 'The signed-in console user and the session\'s CSRF token (401 when not signed in)',
          security: [],
          response: { 200: SessionAnswer, 401: ErrorBody, 403: ErrorBody },
        },
      },
      async (request, reply) => {
        requireSameOrigin(origin(request));
        const session = sessionFromCookies(request.headers.cookie, tls);
        if (!session) throw unauthorized('not signed in to the console');
        const user = await sessionUser(ctx.store.db, ctx.clock, idle, session);
        reply.header('Cache-Control', 'no-store');
        return answer(user, session);
      },
    );

    app.delete(
      '/console/api/session',
      {
        schema: {
          tags: ['console'],
          summary: 'Sign out of the web console (needs X-CSRF-Token)',
          security: [],
          response: { 204: Type.Null(), 403: ErrorBody },
        },
      },
      async (request, reply) => {
        requireSameOrigin(origin(request));
        const session = sessionFromCookies(request.headers.cookie, tls);
        if (session) {
          requireCsrf(session, request.headers[CSRF_HEADER]);
          await signOut(ctx.store.db, session);
        }
        return reply.header('Set-Cookie', sessionCookie(tls, null)).code(204).send(null);
      },
    );
  };
}
