// Databases (api.md §5): lifecycle, users, configuration and operations, under
// /deployments/databases/{vendor}. Handlers validate, call one domain function and shape the answer.
import { Type, } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Caller } from '../../auth/caller.js';
import type { Clock } from '../../clock.js';
import {
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
import { invalid, notFound } from '../../errors.js';
import { normalizeId } from '../../ids.js';
import { findOperation, listOperations } from '../../operations/records.js';
import type { Tables } from '../../store/schema/index.js';
import type { ApiInstance, RoutePlugin } from '../types.js';
import { pageRequest, sendPage } from '../pagination.js';
import { PageQuery, errorResponses } from '../schemas/common.js';
import {
  Status,
  Database,
  CreateDatabase,
  Created,
  OperationAccepted,
  RestartAccepted,
  NewPassword,
  Operation,
  DatabaseUser,
  DatabaseUserWithPassword,
  CreateDatabaseUser,
  Configuration,
  PutConfiguration,
  VendorParams,
  DbParams,
  OperationParams,
  UserParams,
  ListQuery,
  Restart,
  PlanChange,
  SwitchUrl,
  Patch,
  VENDOR,
} from '../schemas/databases.js';
import { createdView, databaseUserView, databaseView, operationView, statusView } from '../views/databases.js';

export interface DatabaseRouteDeps {
  db: Kysely<Tables>;
  clock: Clock;
  databases: DatabaseDeps;
  users: UsersDeps;
  settings: SettingsDeps;
}

const BASE = '/deployments/databases/:vendor';

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
      async (request, reply) => reply.code(202).send(createdView(databases, await createDatabase(databases, request.caller!, request.body))),
    );

    app.get(
      BASE,
      { schema: { tags, summary: 'List databases (terminated ones only with ?state=terminated)', params: VendorParams, querystring: ListQuery, response: { 200: Type.Array(Database), ...errorResponses(403) } } },
      async (request, reply) => {
        const page = pageRequest(request.query);
        const items = await listDatabases(databases, request.caller!, { ...page, environmentId: request.query.environmentId, state: request.query.state });
        return sendPage(request, reply, items, page.limit, (d) => d.row.id).map((d) => databaseView(databases, d));
      },
    );

    app.get(
      '/deployments/environments/:id/databases',
      { schema: { tags, summary: 'The databases of an environment (terminated ones excluded)', params: Type.Object({ id: Type.String() }), querystring: PageQuery, response: { 200: Type.Array(Database), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        const env = await getEnvironment(deps.db, request.caller!, request.params.id);
        const page = pageRequest(request.query);
        const items = await listDatabases(databases, request.caller!, { ...page, environmentId: env.id });
        return sendPage(request, reply, items, page.limit, (d) => d.row.id).map((d) => databaseView(databases, d));
      },
    );

    app.get(`${BASE}/:id`, { schema: { tags, summary: 'Get a database', params: DbParams, response: { 200: Database, ...errorResponses(403, 404) } } }, async (request) =>
      databaseView(databases, await getDatabase(databases, request.caller!, request.params.id)),
    );

    app.get(`${BASE}/:id/status`, { schema: { tags, summary: "A database's status and flags", params: DbParams, response: { 200: Status, ...errorResponses(403, 404) } } }, async (request) => {
      const { row, activity } = await getDatabaseStatus(databases, request.caller!, request.params.id);
      return statusView(databases.clock, row, activity);
    },
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
        response: { 202: RestartAccepted, ...errorResponses(403, 404, 409) },
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
        const patched = await patchDatabase(databases, request.caller!, request.params.id, { ...rest, ...(autoPause === undefined ? {} : { autoPause: typeof autoPause === 'boolean' ? { enabled: autoPause } : autoPause }) });
        return databaseView(databases, patched);
      },
    );

    app.get(
      `${BASE}/:id/operations`,
      { schema: { tags, summary: "A database's operations, newest first", params: DbParams, querystring: PageQuery, response: { 200: Type.Array(Operation), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        const { row } = await findDatabase(databases, request.caller!, request.params.id, 'read');
        const page = pageRequest(request.query);
        const items = await listOperations(deps.db, row.id, { limit: page.limit + 1, ...(page.after ? { after: normalizeId(page.after) ?? page.after } : {}) });
        return sendPage(request, reply, items, page.limit, (o) => o.row.id).map((o) => operationView(deps.clock, o));
      },
    );

    app.get(
      `${BASE}/:id/operations/:operationId`,
      { schema: { tags, summary: 'Get an operation', params: OperationParams, response: { 200: Operation, ...errorResponses(403, 404) } } },
      async (request) => {
        const { row } = await findDatabase(databases, request.caller!, request.params.id, 'read');
        const op = await findOperation(deps.db, row.id, normalizeId(request.params.operationId) ?? '');
        if (!op) throw notFound(`operation '${request.params.operationId}' does not exist on this database`);
        return operationView(deps.clock, op);
      },
    );

    app.get(`${BASE}/:id/users`, { schema: { tags, summary: "A database's users (never a password)", params: DbParams, response: { 200: Type.Array(DatabaseUser), ...errorResponses(403, 404) } } }, async (request) =>
      (await listDatabaseUsers(deps.users, request.caller!, request.params.id)).map(databaseUserView),
    );

    app.post(
      `${BASE}/:id/users`,
      { schema: { tags, summary: 'Create a database user; the password is shown only in this answer', params: DbParams, body: CreateDatabaseUser, response: { 201: DatabaseUserWithPassword, ...errorResponses(403, 404, 409) } } },
      async (request, reply) => {
        const { user, password } = await createDatabaseUser(deps.users, request.caller!, request.params.id, request.body ?? {});
        return reply.code(201).send({ ...databaseUserView(user), password });
      },
    );

    app.post(
      `${BASE}/:id/users/:userId/password`,
      { schema: { tags, summary: "Replace a user's password with a new random one", params: UserParams, response: { 200: NewPassword, ...errorResponses(403, 404, 409) } } },
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
