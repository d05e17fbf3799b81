// `GET /docs`: a self-contained HTML reference rendered from the OpenAPI document (no scripts, no CDN),
// so it works offline and shows exactly what /openapi.json says.

interface OpenApiDoc {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, OpenApiOperation>>;
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: unknown }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A compact, readable rendering of a JSON Schema: `{ label: string, type: "development" | … }`. */
function schemaText(schema: unknown, depth = 0): string {
  if (!schema || typeof schema !== 'object') return 'any';
  const s = schema as Record<string, unknown>;
  const pad = '  '.repeat(depth + 1);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!;
  if (Array.isArray(s.anyOf)) return s.anyOf.map((x) => schemaText(x, depth)).join(' | ');
  if (Array.isArray(s.oneOf)) return s.oneOf.map((x) => schemaText(x, depth)).join(' | ');
  if (s.type === 'array') return `${schemaText(s.items, depth)}[]`;
  if (s.type === 'object' || s.properties) {
    const props = (s.properties ?? {}) as Record<string, unknown>;
    const required = new Set((s.required as string[] | undefined) ?? []);
    const keys = Object.keys(props);
    if (keys.length === 0) return 'object';
    const lines = keys.map((k) => `${pad}${k}${required.has(k) ? '' : '?'}: ${schemaText(props[k], depth + 1)}`);
    return `{\n${lines.join(',\n')}\n${'  '.repeat(depth)}}`;
  }
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return typeof s.type === 'string' ? s.type : 'any';
}

export function renderDocsPage(doc: OpenApiDoc): string {
  const title = doc.info?.title ?? 'API';
  const groups = new Map<string, string[]>();
  const toc: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const anchor = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
      const tag = op.tags?.[0] ?? 'other';
      const parts: string[] = [];
      parts.push(`<section id="${esc(anchor)}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>`);
      if (op.summary) parts.push(`<p>${esc(op.summary)}</p>`);
      if (op.description) parts.push(`<p class="d">${esc(op.description)}</p>`);
      parts.push(`<p class="auth">${op.security && op.security.length === 0 ? 'No authentication.' : 'Requires <code>Authorization: Bearer &lt;token&gt;</code>.'}</p>`);
      if (op.parameters?.length) {
        parts.push('<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>');
        for (const p of op.parameters) {
          parts.push(`<tr><td><code>${esc(p.name)}</code>${p.required ? ' *' : ''}</td><td>${esc(p.in)}</td><td><code>${esc(schemaText(p.schema))}</code></td><td>${esc(p.description ?? (p.schema as { description?: string } | undefined)?.description ?? '')}</td></tr>`);
        }
        parts.push('</table>');
      }
      const body = op.requestBody?.content;
      if (body) {
        // One block per distinct schema, headed by the media types that take it (JSON and form share one).
        const bySchema = new Map<string, string[]>();
        for (const [type, media] of Object.entries(body)) {
          const text = schemaText(media.schema);
          bySchema.set(text, [...(bySchema.get(text) ?? []), type]);
        }
        parts.push(`<h4>Request body${op.requestBody?.required ? '' : ' (optional)'}</h4>`);
        for (const [text, types] of bySchema) parts.push(`<p>${esc(types.join(' or '))}</p><pre>${esc(text)}</pre>`);
      }
      parts.push('<h4>Responses</h4><dl>');
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        const media = r.content ? Object.values(r.content)[0] : undefined;
        parts.push(`<dt>${esc(code)}</dt><dd>${media?.schema ? `<pre>${esc(schemaText(media.schema))}</pre>` : esc(r.description ?? '')}</dd>`);
      }
      parts.push('</dl></section>');
      groups.set(tag, [...(groups.get(tag) ?? []), parts.join('\n')]);
      toc.push(`<li><a href="#${esc(anchor)}"><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`);
    }
  }
  const body = [...groups.entries()].map(([tag, ops]) => `<h2>${esc(tag)}</h2>\n${ops.join('\n')}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:22rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f6f6f8;padding:1rem;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0}nav a{text-decoration:none;color:#222}
main{padding:1rem 2rem;max-width:60rem}
section{border-top:1px solid #ddd;padding:.5rem 0}
pre{background:#f6f6f8;padding:.5rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.m{font:bold 11px monospace;padding:1px 4px;border-radius:3px;color:#fff;background:#666}
.get{background:#2b7a3d}.post{background:#1c5fa8}.put{background:#a86a1c}.patch{background:#7a3da8}.delete{background:#a82b2b}
.d{color:#444}.auth{font-size:13px;color:#666}
</style></head>
<body><nav><strong>${esc(title)} ${esc(doc.info?.version ?? '')}</strong><p><a href="/openapi.json">openapi.json</a></p><ul>${toc.join('')}</ul></nav>
<main><h1>${esc(title)}</h1><p>${esc(doc.info?.description ?? '')}</p>
${body}
</main></body></html>`;
}
