// The catalog: what can be deployed (api.md §3).
import { Type } from '@sinclair/typebox';
import { PLANS, VERSIONS } from '../../domain/catalog.js';
import type { ApiInstance, RouteContext } from '../app.js';
import { errorResponses } from '../schemas/common.js';
import { Plan, Region, Version } from '../schemas/catalog.js';

export function catalogRoutes(ctx: RouteContext) {
  return async (app: ApiInstance): Promise<void> => {
    app.get(
      '/deployments/versions',
      { schema: { tags: ['catalog'], summary: 'Database versions each configured runtime can run', response: { 200: Type.Array(Version), ...errorResponses() } } },
      async () => VERSIONS.filter((v) => ctx.config.regions.some((r) => r.runtime === v.runtime)),
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
