// The reference's older resource paths, served as aliases of the graphneo routes (scripts written to the
// reference keep working): the URL is rewritten before routing, so an alias is the same route — same
// schema, authorization, idempotency and answers. The OpenAPI document lists them as deprecated copies.

/** alias path (OpenAPI form) → the route it stands for. */
export const PATH_ALIASES: ReadonlyArray<readonly [alias: string, target: string]> = [
  ['/databases', '/deployments/databases/{vendor}'],
  ['/databases/{id}', '/deployments/databases/{vendor}/{id}'],
  ['/databases/{id}/restart', '/deployments/databases/{vendor}/{id}/restart'],
  ['/databases/{id}/backups/latest', '/deployments/databases/{vendor}/{id}/backups/latest'],
];

const ALIAS = /^\/databases(\/[^/?#]+(?:\/restart|\/backups\/latest)?)?\/?(?=\?|$)/;

/** The URL routing sees: `/databases/…` of the aliases above → `/deployments/databases/graphneo/…`; others unchanged. */
export function rewriteAliasUrl(url: string): string {
  const m = ALIAS.exec(url);
  if (!m) return url;
  return `/deployments/databases/graphneo${m[1] ?? ''}${url.slice(m[0].length)}`;
}

type Json = Record<string, any>;

/** Adds the aliases to an OpenAPI document: copies of their targets without the vendor parameter, marked deprecated. */
export function documentAliases(paths: Json): void {
  for (const [alias, target] of PATH_ALIASES) {
    const item = paths[target] as Json | undefined;
    if (!item) continue;
    const copy: Json = {};
    for (const [method, op] of Object.entries(item) as [string, Json][]) {
      copy[method] = {
        ...structuredClone(op),
        deprecated: true,
        summary: `${op.summary ?? ''} (alias of ${method.toUpperCase()} ${target.replace('{vendor}', 'graphneo')})`,
        parameters: (op.parameters ?? []).filter((p: Json) => !(p.in === 'path' && p.name === 'vendor')).map((p: Json) => structuredClone(p)),
      };
      if (op.operationId) copy[method].operationId = `${op.operationId}Alias`;
    }
    paths[alias] = copy;
  }
}
