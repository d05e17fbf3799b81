// Databases (api.md §5): lifecycle, users, configuration and operations, under
// /deployments/databases/{vendor}. Handlers validate, call one domain function and shape the answer.
import { Type, type TSchema } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Caller } from '../../auth/caller.js';
import type { Clock } from '../../clock.js';
import {
  DATABASE_STATES,
  changePlan,
  createDatabase,
  emptyDatabase,
  findDatabase,
  getDatabase,
  getDatabaseStatus,
  listDatabases,
  patchDatabase,
  pauseDatabase,
  restartDatabase,
  resumeDatabase,
  terminateDatabase,
  type DatabaseDeps,
} from '../../domain/databases.js';
import { switchConnectionUrl } from '../../domain/switch-url.js';
import { createDatabaseUser, deleteDatabaseUser, listDatabaseUsers, resetDatabaseUserPassword, type UsersDeps } from '../../domain/database-users.js';
import { getDatabaseConfiguration, putDatabaseConfiguration, type SettingsDeps } from '../../domain/database-settings.js';
import { getEnvironment } from '../../domain/environments.js';
import { invalid, notFound } from '../../domain/errors.js';
import { normalizeId } from '../../ids.js';
import { getOperation, listOperations } from '../../operations/operation-json.js';
import type { Tables } from '../../store/schema/index.js';
import type { ApiInstance, RoutePlugin } from '../app.js';
import { PageQuery, pageRequest, sendPage } from '../pagination.js';
import { HttpDate, Id, PlainText, StringEnum, errorResponses } from '../schemas/common.js';

export interface DatabaseRouteDeps {
  db: Kysely<Tables>;
  clock: Clock;
  databases: DatabaseDeps;
  users: UsersDeps;
  settings: SettingsDeps;
}

const VENDOR = 'graphneo';
const BASE = '/deployments/databases/:vendor';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const Status = Type.Object({
  state: Type.String({ description: `one of ${DATABASE_STATES.join(', ')}` }),
  needsRestart: Type.Boolean(),
  isPending: Type.Boolean({ description: 'An operation runs on the database' }),
  isLocked: Type.Boolean({ description: 'An operation holds the database exclusively' }),
  underIncident: Type.Boolean({ description: 'The health check fails or the process died and is being brought back' }),
  lastHealthCheckStatus: Type.Object({
    lastCheckSecondsAgo: Nullable(Type.Integer()),
    status: Type.String({ description: 'healthy, unhealthy, stopped or unknown (never checked)' }),
  }),
});

const Database = Type.Object({
  id: Id,
  organizationId: Id,
  environmentId: Id,
  name: Type.String(),
  plan: Type.String(),
  version: Type.Object({ number: Type.String(), edition: Type.String(), vendor: Type.String(), engine: Type.String({ description: 'neo4j (Neo4j Community) or grafeo (the embedded engine); kept for the life of the database' }) }),
  region: Type.String(),
  domainName: Type.String(),
  privateDomainName: Type.String(),
  boltPort: Type.Integer(),
  httpPort: Type.Integer(),
  connectionUrls: Type.Object({ bolt: Type.String(), neo4j: Type.String(), http: Type.String(), browser: Type.String() }),
  createdAt: HttpDate,
  status: Status,
  enabledExtrasKinds: Type.Array(Type.String()),
  nodes: Type.Array(Type.Object({ stationId: Type.String(), nodeType: Type.String(), state: Type.String() })),
  autoPause: Type.Object({ enabled: Type.Boolean(), idleMinutes: Type.Integer() }),
  autoResume: Type.Boolean(),
});

const CreateDatabase = Type.Object(
  {
    environmentId: Type.String(),
    name: PlainText(),
    plan: Type.String({ description: 'Plan id, e.g. ds1 (see GET /deployments/plans)' }),
    version: Type.Optional(Type.String({ description: 'Version id or number (see GET /deployments/versions); default: the default version' })),
    edition: Type.Optional(Type.String()),
    region: Type.Optional(Type.String({ description: "Must be the environment's region (the default)" })),
    enabledExtrasKinds: Type.Optional(Type.Array(Type.String())),
    fromSnapshotId: Type.Optional(Type.String({ description: "A ready snapshot to seed the database with. Its database's environment must be visible to the caller (404 otherwise, as for an unknown id) and allow 'clone' (403 otherwise)" })),
  },
  { additionalProperties: false },
);

const Credentials = Type.Object({ username: Type.String(), password: Type.String({ description: 'Shown only in this answer' }) });
const Created = Type.Object({ database: Database, operationId: Id, credentials: Credentials });
const OperationAccepted = Type.Object({ operationId: Id });

const Step = Type.Object({
  name: Type.String(),
  status: Type.String(),
  startedAt: Type.String({ description: 'UNIX epoch seconds' }),
  finishedAt: Nullable(Type.String({ description: 'UNIX epoch seconds' })),
  message: Type.Optional(Type.String()),
});

const Operation = Type.Object({
  id: Id,
  databaseId: Id,
  operationType: Type.String(),
  description: Type.String(),
  status: Type.String({ description: 'started, finished or failed' }),
  startedAt: Type.String({ description: 'UNIX epoch seconds, as a string' }),
  finishedAt: Type.Optional(Type.String({ description: 'UNIX epoch seconds, as a string' })),
  durationInSeconds: Type.Integer(),
  nextOperationId: Nullable(Id),
  steps: Type.Array(Step),
  error: Type.Optional(Type.String()),
});

const DatabaseUser = Type.Object({
  id: Id,
  username: Type.String(),
  description: Nullable(Type.String()),
  expireAt: Nullable(HttpDate),
  readOnly: Type.Boolean(),
  createdAt: HttpDate,
});
const DatabaseUserWithPassword = Type.Composite([DatabaseUser, Type.Object({ password: Type.String({ description: 'Shown only in this answer' }) })]);
const CreateDatabaseUser = Type.Object(
  {
    username: Type.Optional(PlainText()),
    description: Type.Optional(PlainText()),
    expireAt: Type.Optional(Type.String({ description: "RFC 7231 date or 'never'" })),
    readOnly: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ConfigurationEntry = Type.Object({ key: Type.String(), value: Type.String(), secret: Type.Boolean() });
const Configuration = Type.Object({ configuration: Type.Array(ConfigurationEntry) });
const PutConfiguration = Type.Object(
  {
    configuration: Type.Array(
      Type.Object(
        { key: Type.String(), value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]), secret: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

// Checked (with the contract's message) by the preValidation hook before the schema sees it.
const Vendor = StringEnum([VENDOR] as const, { description: "Database vendor: 'graphneo' (Neo4j-compatible)" });
const VendorParams = Type.Object({ vendor: Vendor });
const DbParams = Type.Object({ vendor: Vendor, id: Type.String() });
const OperationParams = Type.Object({ vendor: Vendor, id: Type.String(), operationId: Type.String() });
const UserParams = Type.Object({ vendor: Vendor, id: Type.String(), userId: Type.String() });

const ListQuery = Type.Composite([
  Type.Object({ environmentId: Type.Optional(Type.String()), state: Type.Optional(Type.String()) }),
  PageQuery,
], { additionalProperties: false });

const Restart = Type.Object(
  { reset: Type.Optional(Type.Boolean()), stationIds: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);
const PlanChange = Type.Object({ targetPlanName: Type.String() }, { additionalProperties: false });
const SwitchUrl = Type.Object({ targetDatabaseId: Type.String({ description: 'The database to exchange connection URLs with' }) }, { additionalProperties: false });
const Patch = Type.Object(
  {
    name: Type.Optional(PlainText()),
    autoPause: Type.Optional(
      Type.Union(
        [
          Type.Object({ enabled: Type.Optional(Type.Boolean()), idleMinutes: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
          Type.Boolean({ description: 'Shorthand for {"enabled": …}' }),
        ],
        { description: 'Pause the database once no transaction (no query) has begun on it for idleMinutes (5 to 10080); an open transaction keeps it running. The control plane checks at every health pass and starts an ordinary pause operation' },
      ),
    ),
    autoResume: Type.Optional(Type.Boolean({ description: 'While the database is paused, the control plane holds its ports; the first client that connects starts a resume operation. That client is turned away (Bolt: the socket is closed, which drivers retry; HTTP: 503 with Retry-After: 2), so a driver managed transaction (executeQuery, executeRead/Write) succeeds once the database runs, 1-4 s later' })),
  },
  { additionalProperties: false },
);

export function databaseRoutes(deps: DatabaseRouteDeps): RoutePlugin {
  const { databases } = deps;
  const tags = ['databases'];
  return async (app: ApiInstance): Promise<void> => {
    // The vendor segment is checked before anything else about the request.
    app.addHook('preValidation', async (request) => {
      const vendor = (request.params as { vendor?: string }).vendor;
      if (vendor !== undefined && vendor !== VENDOR) throw invalid('vendor', `unsupported database vendor '${vendor}'`);
      // Commands whose body fields are all optional (restart, create user) may come without a body.
      if (request.body === undefined || request.body === null) request.body = {};
    });

    app.post(
      BASE,
      { schema: { tags, summary: 'Create a database; the initial password is shown only in this answer', params: VendorParams, body: CreateDatabase, response: { 202: Created, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => reply.code(202).send(await createDatabase(databases, request.caller!, request.body)),
    );

    app.get(
      BASE,
      { schema: { tags, summary: 'List databases (terminated ones only with ?state=terminated)', params: VendorParams, querystring: ListQuery, response: { 200: Type.Array(Database), ...errorResponses(403) } } },
      async (request, reply) => {
        const page = pageRequest(request.query);
        const items = await listDatabases(databases, request.caller!, { ...page, environmentId: request.query.environmentId, state: request.query.state });
        return sendPage(request, reply, items, page.limit, (d) => d.id);
      },
    );

    app.get(
      '/deployments/environments/:id/databases',
      { schema: { tags, summary: 'The databases of an environment (terminated ones excluded)', params: Type.Object({ id: Type.String() }), querystring: PageQuery, response: { 200: Type.Array(Database), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        const env = await getEnvironment(deps.db, request.caller!, request.params.id);
        const page = pageRequest(request.query);
        const items = await listDatabases(databases, request.caller!, { ...page, environmentId: env.id });
        return sendPage(request, reply, items, page.limit, (d) => d.id);
      },
    );

    app.get(`${BASE}/:id`, { schema: { tags, summary: 'Get a database', params: DbParams, response: { 200: Database, ...errorResponses(403, 404) } } }, async (request) =>
      getDatabase(databases, request.caller!, request.params.id),
    );

    app.get(`${BASE}/:id/status`, { schema: { tags, summary: "A database's status and flags", params: DbParams, response: { 200: Status, ...errorResponses(403, 404) } } }, async (request) =>
      getDatabaseStatus(databases, request.caller!, request.params.id),
    );

    app.delete(
      `${BASE}/:id`,
      { schema: { tags, summary: 'Terminate a database: stop it, take the final snapshot, free its endpoint', params: DbParams, response: { 202: OperationAccepted, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => reply.code(202).send({ operationId: await terminateDatabase(databases, request.caller!, request.params.id) }),
    );

    const restartSchema = {
      schema: {
        tags,
        summary: 'Restart a database (reset: kill instead of a graceful stop); stationIds empty = every node',
        params: DbParams,
        body: Restart,
        response: { 202: Type.Object({ operationId: Id, stationIds: Type.Array(Type.String()), reset: Type.Boolean() }), ...errorResponses(403, 404, 409) },
      },
    };
    for (const method of ['POST', 'PUT'] as const) {
      app.route({
        method,
        url: `${BASE}/:id/restart`,
        ...restartSchema,
        handler: async (request, reply) => reply.code(202).send(await restartDatabase(databases, request.caller!, request.params.id, request.body ?? {})),
      });
    }

    const command = (path: string, summary: string, run: (id: string, caller: Caller) => Promise<string>) =>
      app.put(`${BASE}/:id/${path}`, { schema: { tags, summary, params: DbParams, response: { 202: OperationAccepted, ...errorResponses(403, 404, 409) } } }, async (request, reply) =>
        reply.code(202).send({ operationId: await run(request.params.id, request.caller!) }),
      );
    command('pause', 'Pause a database: stop compute, keep data (409 unless running)', (id, caller) => pauseDatabase(databases, caller, id));
    command('resume', 'Resume a paused database (409 unless paused)', (id, caller) => resumeDatabase(databases, caller, id));
    command('empty', 'Delete all data of a database, keeping the database', (id, caller) => emptyDatabase(databases, caller, id));

    for (const method of ['POST', 'PUT'] as const) {
      app.route({
        method,
        url: `${BASE}/:id/plan/change`,
        schema: { tags, summary: 'Change the plan; a running database restarts to apply it (nextOperationId)', params: DbParams, body: PlanChange, response: { 202: OperationAccepted, ...errorResponses(403, 404, 409) } },
        handler: async (request, reply) => reply.code(202).send({ operationId: await changePlan(databases, request.caller!, request.params.id, request.body.targetPlanName) }),
      });
    }

    for (const method of ['POST', 'PUT'] as const) {
      app.route({
        method,
        url: `${BASE}/:id/connection-url/switch`,
        schema: {
          tags,
          summary:
            'Switch connection URL: this database and targetDatabaseId (same organization and region) exchange domain name and ports; new connections reach the other database at once, open ones are drained then closed (docs/router.md)',
          params: DbParams,
          body: SwitchUrl,
          response: { 202: OperationAccepted, ...errorResponses(400, 403, 404, 409) },
        },
        handler: async (request, reply) =>
          reply.code(202).send({ operationId: await switchConnectionUrl(databases, request.caller!, request.params.id, request.body.targetDatabaseId) }),
      });
    }

    app.patch(
      `${BASE}/:id`,
      { schema: { tags, summary: 'Rename a database or change its auto-pause/auto-resume', params: DbParams, body: Patch, response: { 200: Database, ...errorResponses(403, 404, 409) } } },
      async (request) => {
        const { autoPause, ...rest } = request.body;
        return patchDatabase(databases, request.caller!, request.params.id, { ...rest, ...(autoPause === undefined ? {} : { autoPause: typeof autoPause === 'boolean' ? { enabled: autoPause } : autoPause }) });
      },
    );

    app.get(
      `${BASE}/:id/operations`,
      { schema: { tags, summary: "A database's operations, newest first", params: DbParams, querystring: PageQuery, response: { 200: Type.Array(Operation), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        const { row } = await findDatabase(databases, request.caller!, request.params.id, 'read');
        const page = pageRequest(request.query);
        const items = await listOperations(deps.db, row.id, deps.clock, { limit: page.limit + 1, ...(page.after ? { after: normalizeId(page.after) ?? page.after } : {}) });
        return sendPage(request, reply, items, page.limit, (o) => o.id);
      },
    );

    app.get(
      `${BASE}/:id/operations/:operationId`,
      { schema: { tags, summary: 'Get an operation', params: OperationParams, response: { 200: Operation, ...errorResponses(403, 404) } } },
      async (request) => {
        const { row } = await findDatabase(databases, request.caller!, request.params.id, 'read');
        const op = await getOperation(deps.db, row.id, normalizeId(request.params.operationId) ?? '', deps.clock);
        if (!op) throw notFound(`operation '${request.params.operationId}' does not exist on this database`);
        return op;
      },
    );

    app.get(`${BASE}/:id/users`, { schema: { tags, summary: "A database's users (never a password)", params: DbParams, response: { 200: Type.Array(DatabaseUser), ...errorResponses(403, 404) } } }, async (request) =>
      listDatabaseUsers(deps.users, request.caller!, request.params.id),
    );

    app.post(
      `${BASE}/:id/users`,
      { schema: { tags, summary: 'Create a database user; the password is shown only in this answer', params: DbParams, body: CreateDatabaseUser, response: { 201: DatabaseUserWithPassword, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => reply.code(201).send(await createDatabaseUser(deps.users, request.caller!, request.params.id, request.body ?? {})),
    );

    app.post(
      `${BASE}/:id/users/:userId/password`,
      { schema: { tags, summary: "Replace a user's password with a new random one", params: UserParams, response: { 200: Type.Object({ password: Type.String() }), ...errorResponses(403, 404, 409) } } },
      async (request) => resetDatabaseUserPassword(deps.users, request.caller!, request.params.id, request.params.userId),
    );

    app.delete(
      `${BASE}/:id/users/:userId`,
      { schema: { tags, summary: 'Delete a database user', params: UserParams, response: { 204: Type.Null(), ...errorResponses(403, 404, 409) } } },
      async (request, reply) => {
        await deleteDatabaseUser(deps.users, request.caller!, request.params.id, request.params.userId);
        return reply.code(204).send(null);
      },
    );

    app.get(
      `${BASE}/:id/settings/config`,
      { schema: { tags, summary: "A database's configuration (secret values masked)", params: DbParams, response: { 200: Configuration, ...errorResponses(403, 404) } } },
      async (request) => getDatabaseConfiguration(deps.settings, request.caller!, request.params.id),
    );

    app.put(
      `${BASE}/:id/settings/config`,
      { schema: { tags, summary: 'Replace the configuration; takes effect at the next restart (needsRestart)', params: DbParams, body: PutConfiguration, response: { 200: Configuration, ...errorResponses(403, 404, 409) } } },
      async (request) => putDatabaseConfiguration(deps.settings, request.caller!, request.params.id, request.body.configuration),
    );
  };
}
