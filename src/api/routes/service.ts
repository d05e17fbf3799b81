// Service endpoints (api.md §7): liveness, readiness, metrics, the OpenAPI document and its HTML rendering.
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { ApiInstance, RouteContext } from '../types.js';
import { renderDocsPage } from '../docs-page.js';
import type { ApiMetrics } from '../metrics.js';
import { ErrorBody } from '../schemas/common.js';

export function serviceRoutes(ctx: RouteContext, metrics: ApiMetrics) {
  return async (app: ApiInstance): Promise<void> => {
    const tags = ['service'];
    app.get('/healthz', { schema: { tags, summary: 'Liveness', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

    app.get(
      '/readyz',
      {
        schema: {
          tags,
          summary: 'Readiness: the store (and registered checks, e.g. runtimes) reachable',
          security: [],
          response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: ErrorBody },
        },
      },
      async (_request, reply) => {
        try {
          await sql`select 1`.execute(ctx.store.db);
        } catch {
          return reply.code(503).send({ error: 'store unreachable' });
        }
        for (const check of ctx.readinessChecks) {
          const problem = await check().catch((err: unknown) => `readiness check failed: ${(err as Error).message}`);
          if (problem) return reply.code(503).send({ error: problem });
        }
        return { status: 'ready' as const };
      },
    );

    app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics', security: [], produces: ['text/plain'] } as object }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });

    app.get('/openapi.json', { schema: { tags, summary: 'This API as OpenAPI 3.1', security: [] } }, async () => app.swagger());

    let page: string | undefined;
    app.get('/docs', { schema: { tags, summary: 'API reference (HTML), rendered from /openapi.json', security: [] } }, async (_request, reply) => {
      page ??= renderDocsPage(app.swagger() as Parameters<typeof renderDocsPage>[0]);
      return reply.type('text/html; charset=utf-8').send(page);
    });
  };
}
