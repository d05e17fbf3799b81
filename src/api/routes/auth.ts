// The token endpoint (OAuth 2.0 client credentials, api.md §2) and the public keys that verify tokens.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { grantClientCredentials } from '../../auth/client-credentials.js';
import { FailedAttemptLimiter } from '../../auth/rate-limit.js';
import { DomainError, invalid, unauthorized } from '../../errors.js';
import type { ApiInstance, RouteContext } from '../types.js';
import { ErrorBody } from '../schemas/common.js';
import { Jwks, TokenRequest, TokenResponse } from '../schemas/identity.js';

/** client_id and client_secret from `Authorization: Basic`, form-decoded as RFC 6749 §2.3.1 asks. */
function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | null {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replaceAll('+', ' '));
    } catch {
      return s;
    }
  };
  return { clientId: decode(decoded.slice(0, colon)), clientSecret: decode(decoded.slice(colon + 1)) };
}

/** The token endpoint; its query string (GET) is never logged. */
export const TOKEN_PATH = '/organizations/oauth/token';

export function authRoutes(ctx: RouteContext) {
  return async (app: ApiInstance): Promise<void> => {
    const limiter = new FailedAttemptLimiter(ctx.store.db, ctx.config.auth.maxFailedAttempts, ctx.config.auth.failureWindowMs, ctx.clock);

    const grant = async (request: FastifyRequest, reply: FastifyReply, fields: Static<typeof TokenRequest>) => {
      const address = request.ip;
      const wait = await limiter.retryAfterSeconds(address);
      if (wait > 0) throw new DomainError('rate-limited', `too many failed attempts; retry in ${wait} seconds`, undefined, wait);
      if (fields.grant_type !== undefined && fields.grant_type !== 'client_credentials') throw invalid('grant_type', 'unsupported_grant_type');
      const basic = basicCredentials(request.headers.authorization);
      const clientId = basic?.clientId ?? fields.client_id;
      const clientSecret = basic?.clientSecret ?? fields.client_secret;
      try {
        if (!clientId || !clientSecret) throw unauthorized('invalid_client');
        const granted = await grantClientCredentials(ctx.store.db, ctx.keys, ctx.clock, ctx.config.tokenTtlSeconds, { clientId, clientSecret });
        reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
        return reply.code(201).send(granted);
      } catch (err) {
        if (err instanceof DomainError && err.kind === 'unauthorized') {
          await limiter.recordFailure(address);
          if (basic) reply.header('WWW-Authenticate', 'Basic realm="allotrope"');
        }
        throw err;
      }
    };

    app.post(
      TOKEN_PATH,
      {
        schema: {
          tags: ['auth'],
          summary: 'Get an access token (OAuth 2.0 client credentials)',
          description:
            'Exchange client credentials for a bearer token valid for one hour. Credentials come in the body (form-encoded or JSON) or as HTTP Basic. `grant_type` may be omitted; any value other than `client_credentials` is refused. After repeated failures from one address the endpoint answers 429 with `Retry-After`.',
          security: [],
          body: Type.Union([TokenRequest, Type.Null()]),
          response: { 201: TokenResponse, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => grant(request, reply, request.body ?? {}),
    );

    // The reference tells users to "run a GET" on the token URL; the same fields as query parameters.
    app.get(
      TOKEN_PATH,
      {
        schema: {
          tags: ['auth'],
          summary: 'Get an access token with the credentials in the query string (compatibility; prefer POST)',
          description:
            'For scripts written to the reference, which says to "run a GET" here. Takes the fields of the POST as query parameters (or HTTP Basic). A secret in a URL can end up in shell history, proxy and server access logs and browser history: prefer POST with a body or HTTP Basic. This server never logs the query string of this path.',
          security: [],
          querystring: TokenRequest,
          response: { 201: TokenResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => grant(request, reply, request.query),
    );

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          tags: ['auth'],
          summary: 'Public keys that verify access tokens (JWKS)',
          security: [],
          response: { 200: Jwks },
        },
      },
      async () => {
        await ctx.keys.refresh();
        return ctx.keys.jwks;
      },
    );
  };
}
