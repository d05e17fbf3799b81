// The catalog: what can be deployed (api.md §3).
import { Type } from '@sinclair/typebox';
import { catalogVersions, PLANS } from '../../domain/catalog.js';
import type { ApiInstance, RouteContext } from '../types.js';
import { errorResponses } from '../schemas/common.js';
import { Plan, Region, Version } from '../schemas/catalog.js';

export function catalogRoutes(ctx: RouteContext) {
  return async (app: ApiInstance): Promise<void> => {
    app.get(
      '/deployments/versions',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Database versions each configured runtime can run',
          description:
            'Neo4j Community versions (`engine: "neo4j"`, the default) are listed where the Neo4j engine is installed and Java runs; the Grafeo version (`engine: "grafeo"`, id `5.26-grafeo`) is always there and is the default otherwise.',
          response: { 200: Type.Array(Version), ...errorResponses() },
        },
      },
      async () => catalogVersions(ctx.config.engines.neo4j?.version ?? null).filter((v) => ctx.config.regions.some((r) => r.runtime === v.runtime)),
    );
    app.get(
      '/deployments/plans',
      { schema: { tags: ['catalog'], summary: 'Plans: sizes, prices and features', response: { 200: Type.Array(Plan), ...errorResponses() } } },
      async () => [...PLANS],
    );
    app.get(
      '/deployments/regions',
      { schema: { tags: ['catalog'], summary: 'Regions: configured placement targets, each backed by one runtime', response: { 200: Type.Array(Region), ...errorResponses() } } },
      async () => ctx.config.regions,
    );
  };
}
