// Finishing touches on the OpenAPI document @fastify/swagger builds from the route schemas, so that
// generators (openapi-typescript, openapi-generator) get a complete, valid 3.1 document: the shared error
// shape as a component that every operation names for its other statuses, optional bodies marked optional,
// the import route's multipart/JSON/form bodies (its handler reads the body itself, so it has no body schema
// to validate against), the signed-download wildcard as a named path parameter, and the media types of the
// routes that answer something other than JSON.

import { documentAliases } from './aliases.js';
import { ImportFromUrl } from './schemas/backups.js';
import { ErrorBody } from './schemas/common.js';

type Json = Record<string, any>;

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const ERROR_SCHEMA = {
  ...ErrorBody,
  additionalProperties: false,
  description: 'Every 4xx/5xx answer of the API. A 500 says only `internal error <request id>`.',
};

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the action runs as an operation (poll GET …/operations/{operationId})',
  '204': 'No content',
  '400': 'Invalid request: the error names the field at fault',
  '401': 'Missing, malformed, expired or revoked credentials',
  '402': 'Payment required',
  '403': "The caller's role or the environment type does not allow the action",
  '404': 'No such entity visible to the caller',
  '409': 'The state of the entity forbids the action, or another operation is in progress',
  '413': 'Body or upload over the configured limit',
  '415': 'Unsupported content type or charset',
  '429': 'Rate limited; see Retry-After',
  '503': 'Not ready',
};

const IMPORT_PATH = '/deployments/databases/{vendor}/{id}/import';

const isErrorSchema = (schema: Json | undefined) =>
  !!schema && schema.type === 'object' && Array.isArray(schema.required) && schema.required.length === 1 && schema.required[0] === 'error' && Object.keys(schema.properties ?? {}).length === 1;

/** Replaces `anyOf: [X, {type: null}]` by X; returns whether null was allowed. */
function dropNull(media: Json): boolean {
  const alts = media.schema?.anyOf as Json[] | undefined;
  if (!alts?.some((a) => a.type === 'null')) return false;
  const rest = alts.filter((a) => a.type !== 'null');
  media.schema = rest.length === 1 ? rest[0] : { anyOf: rest };
  return true;
}

export function finishOpenApi(doc: Json): Json {
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.Error = ERROR_SCHEMA;

  const paths: Json = {};
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    let name = path;
    if (path.includes('{*}')) {
      name = path.replace('{*}', '{key}');
      for (const op of Object.values(item as Json)) {
        for (const p of (op as Json).parameters ?? []) if (p.in === 'path' && p.name === '*') Object.assign(p, { name: 'key', description: 'The blob key of the signed link' });
      }
    }
    paths[name] = item;
    for (const [method, op] of Object.entries(item as Json) as [string, Json][]) {
      const body = op.requestBody as Json | undefined;
      if (body) {
        let nullable = false;
        for (const media of Object.values(body.content as Json)) nullable = dropNull(media as Json) || nullable;
        const first = Object.values(body.content as Json)[0] as Json;
        const required = first.schema?.required as string[] | undefined;
        body.required = !nullable && !!required && required.length > 0;
      }
      if (path === IMPORT_PATH && method === 'put') {
        op.requestBody = {
          required: true,
          description: 'The archive (or Cypher script) as a multipart field named `file`, or the https URL to fetch it from.',
          content: {
            'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The export archive (.tar.gz), a Cypher script, or (Neo4j databases) a neo4j-admin .dump' } } } },
            'application/json': { schema: ImportFromUrl },
            'application/x-www-form-urlencoded': { schema: ImportFromUrl },
          },
        };
      }
      const responses = (op.responses ??= {}) as Json;
      for (const [code, response] of Object.entries(responses) as [string, Json][]) {
        if (response.description === 'Default Response' || !response.description) response.description = STATUS_TEXT[code] ?? 'Response';
        const json = response.content?.['application/json'];
        if (Number(code) >= 400 && isErrorSchema(json?.schema)) json.schema = ERROR_REF;
        // A 204 has no body; `Type.Null()` in the route schema only says so to the serializer.
        if (code === '204') delete response.content;
      }
      if (op.requestBody && !responses['415']) responses['415'] = { description: STATUS_TEXT['415'], content: { 'application/json': { schema: ERROR_REF } } };
      responses.default = { description: 'Any other error (e.g. 429 with Retry-After, 500 naming the request id)', content: { 'application/json': { schema: ERROR_REF } } };
    }
  }
  documentAliases(paths);
  doc.paths = paths;

  const setOk = (path: string, mediaType: string, schema: Json, description: string) => {
    const ok = doc.paths[path]?.get?.responses?.['200'];
    if (ok) Object.assign(ok, { description, content: { [mediaType]: { schema } } });
  };
  setOk('/openapi.json', 'application/json', { type: 'object', additionalProperties: true }, 'This document');
  setOk('/docs', 'text/html', { type: 'string' }, 'An HTML reference rendered from this document');
  setOk('/metrics', 'text/plain', { type: 'string' }, 'Prometheus text exposition format');
  const download = doc.paths['/downloads/{key}']?.get;
  if (download) download.responses['200'] = { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
  return doc;
}
