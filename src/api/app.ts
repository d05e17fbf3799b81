// The management API as a Fastify instance: built here, listened on by src/server/serve.ts (and by tests).
// Public routes (token, JWKS, service endpoints) sit at the root; every other route — the built-in ones
// and those of the `routes` plugins other areas pass in — lives in one scope behind the bearer check,
// so `request.caller` is always set there.
import { readFileSync } from 'node:fs';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import { authenticateBearer, InvalidTokenError } from '../auth/bearer.js';
import { authenticateConsoleSession, CSRF_HEADER, sessionFromCookies } from '../auth/console-sessions.js';
import { loadSigningKeys, loadStoreSigningKeys, type SigningKeys } from '../auth/signing-keys.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { DomainError, invalid, unauthorized } from '../errors.js';
import { newId } from '../ids.js';
import { PACKAGE_VERSION } from '../version.js';
import type { Store } from '../store/db.js';
import { answerClientError, MAX_PATH_SEGMENT_CHARS, sendError } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { finishOpenApi } from './openapi.js';
import { rewriteAliasUrl } from './aliases.js';
import { createApiMetrics } from './metrics.js';
import { confineBillingRole } from '../auth/policy.js';
import { authRoutes } from './routes/auth.js';
import { billingRoutes } from './routes/billing.js';
import { catalogRoutes } from './routes/catalog.js';
import { consoleRoutes } from './routes/console.js';
import { environmentRoutes } from './routes/environments.js';
import { organizationRoutes } from './routes/organization.js';
import { serviceRoutes } from './routes/service.js';
import type { ApiInstance, RouteContext, RoutePlugin } from './types.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, parseFormBody, refuseCharset, validatorCompiler } from './validation.js';

export interface AppDeps {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  routes?: RoutePlugin[];
  /** Routes outside the bearer check (e.g. signed download links, which are their own credential). */
  publicRoutes?: RoutePlugin[];
  /** Token signing keys; loaded from (or created in) the data directory when omitted. */
  signingKeys?: SigningKeys;
  /** Whether databases still live in an environment (blocks its deletion with 409). */
  environmentInUse?: (environmentId: string) => Promise<boolean>;
  /** Extra readiness checks for `/readyz`: each resolves to null when fine, or a one-line problem. */
  readinessChecks?: Array<() => Promise<string | null>>;
}

// A client-supplied X-Request-Id is kept when it is short and plain, so logs can be joined across hops.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(deps: AppDeps): Promise<ApiInstance> {
  const { config, store, clock } = deps;
  // A PostgreSQL store may be shared by several control planes: their keys are shared through it.
  const keys =
    deps.signingKeys ?? (store.dialect === 'postgres' ? await loadStoreSigningKeys(store.db, config.dataDir, clock.now()) : await loadSigningKeys(config.dataDir, clock.now()));
  const ctx: RouteContext = { config, store, clock, keys, environmentInUse: deps.environmentInUse, readinessChecks: deps.readinessChecks ?? [] };

  const https = config.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {};
  const app = Fastify({
    ...https,
    loggerInstance: deps.logger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    requestIdHeader: false,
    rewriteUrl: (req) => rewriteAliasUrl(req.url ?? '/'),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
    },
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_SEGMENT_CHARS },
    // The router's and Node's parser's own refusals (bad or long URL, huge headers) get the contract's body too.
    frameworkErrors: (err, request, reply) => {
      reply.header('X-Request-Id', request.id);
      return sendError(err, request, reply);
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as ApiInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send({ error: `no route ${request.method} ${path}; see GET /docs` });
  });

  // Fastify parses text/plain by default; the contract accepts only JSON, forms and multipart (else 415).
  app.removeContentTypeParser('text/plain');
  // An empty JSON body (curl -H 'Content-Type: application/json' -X POST …/secret) means no body, not an error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // Bodies are decoded as UTF-8, so a body declared in another charset is refused instead of misread.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const refused = refuseCharset(request.headers['content-type']);
    if (refused) return done(refused, undefined);
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, (err, value) => {
      if (err) return done(err);
      if (nestedDeeperThan(value, MAX_JSON_DEPTH)) return done(invalid('body', `request body is nested more than ${MAX_JSON_DEPTH} levels deep`));
      done(null, value);
    });
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    const refused = refuseCharset(request.headers['content-type']);
    if (refused) done(refused, undefined);
    else done(null, parseFormBody(body as string));
  });
  await app.register(multipart, { limits: { fileSize: config.uploadLimitBytes, files: 1, fields: 20 } });

  // @fastify/multipart accepts multipart on every route; only routes that list it in `consumes` read it.
  app.addHook('preValidation', async (request) => {
    const consumes = (request.routeOptions.schema as { consumes?: string[] } | undefined)?.consumes;
    if (request.isMultipart() && !consumes?.includes('multipart/form-data')) {
      throw new DomainError('unsupported-media-type', `this route does not take multipart/form-data; send application/json or application/x-www-form-urlencoded`);
    }
  });

  const metrics = createApiMetrics();
  app.decorate('apiMetrics', metrics);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  // Every body route also takes form-encoded bodies; say so in the OpenAPI document (before swagger reads the route).
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { body?: unknown; consumes?: string[] } | undefined;
    if (schema?.body && !schema.consumes) schema.consumes = ['application/json', 'application/x-www-form-urlencoded'];
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Allotrope management API',
        version: PACKAGE_VERSION,
        description:
          'GrapheneDB-compatible management API of a self-hosted Allotrope install. Get a token at POST /organizations/oauth/token, then send `Authorization: Bearer <token>`. Errors are `{"error": "..."}`. Dates are RFC 7231. Collections take `?limit=` (max 1000) and `?after=<id>` and link the next page in a `Link` header. POST/PUT/PATCH accept JSON or form-encoded bodies in UTF-8 (a list field as repeated keys; another charset, or multipart outside the import route, is 415) and an `Idempotency-Key` header. The request line and headers may be 16 KiB (a longer URL is 414, larger headers 431); a path segment 100 characters (414). Ids of other entities in a body (fromSnapshotId, targetDatabaseId) are authorized like the entity: one the caller cannot see is 404. Tokens whose iat is more than 60 s ahead are refused (401).',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    transformObject: (documents) => ('openapiObject' in documents ? finishOpenApi(documents.openapiObject as Record<string, any>) : documents.swaggerObject),
  });

  await app.register(serviceRoutes(ctx, metrics));
  await app.register(authRoutes(ctx));
  await app.register(consoleRoutes(ctx));
  for (const plugin of deps.publicRoutes ?? []) await app.register(plugin);

  await app.register(async (scope: ApiInstance) => {
    scope.addHook('onRequest', async (request, reply) => {
      // Without a bearer token, a web console session cookie (same origin, with its CSRF token) is the caller.
      const session = request.headers.authorization ? null : sessionFromCookies(request.headers.cookie, config.tls !== null);
      if (session) {
        const secFetchSite = request.headers['sec-fetch-site'] as string | undefined;
        // request.host follows X-Forwarded-Host from a trusted proxy, so the origin check holds behind one.
        const where = { host: request.host, origin: request.headers.origin, secFetchSite };
        request.caller = await authenticateConsoleSession(store.db, clock, config.console.idleMinutes, session, { ...where, csrf: request.headers[CSRF_HEADER] });
        return;
      }
      try {
        request.caller = await authenticateBearer(store.db, keys, clock, request.headers.authorization);
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) throw err;
        reply.header('WWW-Authenticate', `Bearer error="invalid_token", error_description="${err.message}"`);
        throw unauthorized(err.message);
      }
      // The matched route's pattern, not the raw URL: dot segments or encodings cannot smuggle another path past it.
      confineBillingRole(request.caller, request.routeOptions.url ?? request.url.split('?')[0]!);
    });
    registerIdempotency(scope, { store, clock });
    await scope.register(catalogRoutes(ctx));
    await scope.register(environmentRoutes(ctx));
    await scope.register(organizationRoutes(ctx));
    await scope.register(billingRoutes(ctx));
    for (const plugin of deps.routes ?? []) await scope.register(plugin);
  });

  return app;
}
