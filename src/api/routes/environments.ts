// Environments and their network rules (api.md §4).
import { Type } from '@sinclair/typebox';
import {
  addNetworkRule,
  createEnvironment,
  deleteEnvironment,
  deleteNetworkRule,
  getEnvironment,
  listEnvironments,
  listNetworkRules,
  updateEnvironment,
} from '../../domain/environments.js';
import type { ApiInstance, RouteContext } from '../types.js';
import { pageRequest, sendPage } from '../pagination.js';
import { IdParams, PageQuery, errorResponses } from '../schemas/common.js';
import { CreateEnvironment, CreateNetworkRule, Environment, NetworkRule, NetworkRuleParams, UpdateEnvironment } from '../schemas/identity.js';
import { environmentView, networkRuleView } from '../views/identity.js';

export function environmentRoutes(ctx: RouteContext) {
  const db = ctx.store.db;
  const tags = ['environments'];
  return async (app: ApiInstance): Promise<void> => {
    app.get(
      '/deployments/environments',
      { schema: { tags, summary: 'List the environments the caller may use', querystring: PageQuery, response: { 200: Type.Array(Environment), ...errorResponses(403) } } },
      async (request, reply) => {
        const page = pageRequest(request.query);
        const items = await listEnvironments(db, request.caller!, page);
        return sendPage(request, reply, items, page.limit, (e) => e.id).map(environmentView);
      },
    );

    app.post(
      '/deployments/environments',
      { schema: { tags, summary: 'Create an environment (admin)', body: CreateEnvironment, response: { 201: Environment, ...errorResponses(403, 409) } } },
      async (request, reply) => {
        const env = await createEnvironment(db, request.caller!, request.body, { regions: ctx.config.regions, clock: ctx.clock });
        return reply.code(201).send(environmentView(env));
      },
    );

    app.get(
      '/deployments/environments/:id',
      { schema: { tags, summary: 'Get an environment', params: IdParams, response: { 200: Environment, ...errorResponses(403, 404) } } },
      async (request) => environmentView(await getEnvironment(db, request.caller!, request.params.id)),
    );

    app.patch(
      '/deployments/environments/:id',
      { schema: { tags, summary: 'Rename an environment or change its type (admin)', params: IdParams, body: UpdateEnvironment, response: { 200: Environment, ...errorResponses(403, 404, 409) } } },
      async (request) => environmentView(await updateEnvironment(db, request.caller!, request.params.id, request.body)),
    );

    app.delete(
      '/deployments/environments/:id',
      { schema: { tags, summary: 'Delete an environment (admin); 409 while it holds databases', params: IdParams, response: { 204: Type.Null(), ...errorResponses(403, 404, 409) } } },
      async (request, reply) => {
        await deleteEnvironment(db, request.caller!, request.params.id, ctx.environmentInUse);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/deployments/environments/:id/network-rules',
      { schema: { tags, summary: "List an environment's network rules (IP allowlist)", params: IdParams, response: { 200: Type.Array(NetworkRule), ...errorResponses(403, 404) } } },
      async (request) => (await listNetworkRules(db, request.caller!, request.params.id)).map(networkRuleView),
    );
    app.post(
      '/deployments/environments/:id/network-rules',
      {
        schema: {
          tags,
          summary: 'Add a network rule (admin)',
          description: "An environment with no rules accepts connections from every address; with rules, only matching client addresses connect to its databases (Bolt and the Query API): others have their Bolt socket closed unread and get 403 over HTTP. Running databases apply a change within one health pass (about 5 s), without a restart; already open connections are not cut.",
          params: IdParams,
          body: CreateNetworkRule,
          response: { 201: NetworkRule, ...errorResponses(403, 404) },
        },
      },
      async (request, reply) => reply.code(201).send(networkRuleView(await addNetworkRule(db, request.caller!, request.params.id, request.body, ctx.clock))),
    );
    app.delete(
      '/deployments/environments/:id/network-rules/:ruleId',
      { schema: { tags, summary: 'Delete a network rule (admin)', params: NetworkRuleParams, response: { 204: Type.Null(), ...errorResponses(403, 404) } } },
      async (request, reply) => {
        await deleteNetworkRule(db, request.caller!, request.params.id, request.params.ruleId);
        return reply.code(204).send(null);
      },
    );
  };
}
