// Organization administration: API clients (api.md §6) and the privilege scope of each environment type (§2).
import { Type } from '@sinclair/typebox';
import {
  createApiClient,
  deleteApiClient,
  getApiClient,
  listApiClients,
  refreshApiClientSecret,
  updateApiClient,
} from '../../domain/api-clients.js';
import { listEnvironmentTypeScopes, setEnvironmentTypeScope } from '../../domain/organizations.js';
import type { ApiInstance, RouteContext } from '../types.js';
import { pageRequest, sendPage } from '../pagination.js';
import { IdParams, PageQuery, errorResponses } from '../schemas/common.js';
import { ApiClient, ApiClientWithSecret, ClientSecret, CreateApiClient, EnvironmentType, EnvironmentTypeScope, UpdateApiClient, UpdateEnvironmentTypeScope } from '../schemas/identity.js';
import { apiClientView } from '../views/identity.js';

export function organizationRoutes(ctx: RouteContext) {
  const db = ctx.store.db;
  return async (app: ApiInstance): Promise<void> => {
    const tags = ['api clients'];
    app.get(
      '/organizations/api-clients',
      { schema: { tags, summary: "List the organization's API clients (admin)", querystring: PageQuery, response: { 200: Type.Array(ApiClient), ...errorResponses(403) } } },
      async (request, reply) => {
        const page = pageRequest(request.query);
        const items = await listApiClients(db, request.caller!, page);
        return sendPage(request, reply, items, page.limit, (c) => c.id).map(apiClientView);
      },
    );
    app.post(
      '/organizations/api-clients',
      { schema: { tags, summary: 'Create an API client (admin); the secret is shown only in this answer', body: CreateApiClient, response: { 201: ApiClientWithSecret, ...errorResponses(403) } } },
      async (request, reply) => {
        const { client, clientSecret } = await createApiClient(db, request.caller!, request.body, ctx.clock);
        return reply.code(201).send({ ...apiClientView(client), clientSecret });
      },
    );
    app.get(
      '/organizations/api-clients/:id',
      { schema: { tags, summary: 'Get an API client (admin)', params: IdParams, response: { 200: ApiClient, ...errorResponses(403, 404) } } },
      async (request) => apiClientView(await getApiClient(db, request.caller!, request.params.id)),
    );
    app.patch(
      '/organizations/api-clients/:id',
      { schema: { tags, summary: "Rename an API client or change its environments (admin)", params: IdParams, body: UpdateApiClient, response: { 200: ApiClient, ...errorResponses(403, 404) } } },
      async (request) => apiClientView(await updateApiClient(db, request.caller!, request.params.id, request.body)),
    );
    app.post(
      '/organizations/api-clients/:id/secret',
      {
        schema: {
          tags,
          summary: 'Refresh the secret (admin): the old secret and every token issued with it stop working',
          params: IdParams,
          response: { 200: ClientSecret, ...errorResponses(403, 404) },
        },
      },
      async (request) => refreshApiClientSecret(db, request.caller!, request.params.id, ctx.clock),
    );
    app.delete(
      '/organizations/api-clients/:id',
      { schema: { tags, summary: 'Delete an API client (admin); its tokens stop working', params: IdParams, response: { 204: Type.Null(), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        await deleteApiClient(db, request.caller!, request.params.id);
        return reply.code(204).send(null);
      },
    );

    const typeTags = ['environments'];
    app.get(
      '/organizations/environment-types',
      { schema: { tags: typeTags, summary: 'What operators may do in each environment type', response: { 200: Type.Array(EnvironmentTypeScope), ...errorResponses() } } },
      async (request) => listEnvironmentTypeScopes(db, request.caller!),
    );
    app.put(
      '/organizations/environment-types/:type',
      {
        schema: {
          tags: typeTags,
          summary: 'Change what operators may do in an environment type (admin)',
          params: Type.Object({ type: EnvironmentType }),
          body: UpdateEnvironmentTypeScope,
          response: { 200: EnvironmentTypeScope, ...errorResponses(403, 404) },
        },
      },
      async (request) => setEnvironmentTypeScope(db, request.caller!, request.params.type, request.body.allowedActions, ctx.clock),
    );
  };
}
