// Request fuzzing driven by the server's own /openapi.json: for every operation, fast-check generates path
// parameters, query strings, headers (content types, charsets) and bodies (schema-shaped objects with
// wrong types, random JSON, huge strings, deep nesting, form-encoded fields, garbage bytes), sent with a
// valid admin token. The contract (api.md §1): never a 5xx for bad input, and every error body is exactly
// `{"error": "<string>"}`. A fixed seed and run count make a failure reproducible.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createDatabase, operationFinished, startBackupsServer, type BackupsServer } from './helpers/backups.js';
import { testPortRange } from './helpers/lifecycle.js';

const DB = '/deployments/databases/graphneo';
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);

// Every well-formed create (or clone) would start a real graph-server process. The server gets a port
// range of exactly two ports, the fixture database's Bolt and HTTP ports, so any further database fails
// cleanly at port allocation, before a process starts, with the documented capacity answer
// 503 "no free database ports left …". That one 503 is allowed on the routes that create a database;
// any other 5xx is a bug. (Capping the fuzzer's POSTs instead would also hide what a create does with
// well-formed but hostile values.)
const CAPACITY = /^no free database ports left in \d+-\d+; /;

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: 'path' | 'query'; schema: Schema }[];
  bodySchema?: Schema;
  contentTypes: string[];
}
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
}
interface FuzzRequest {
  op: Operation;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  kind: string;
}

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });

/** Strings a hostile client sends: unicode, control characters, traversal, SQL and template text, huge ones. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style string is one of the attacks
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '%00', '\u0000', "' OR 1=1 --", '${jndi:x}', '{{7*7}}', '__proto__', 'constructor', 'null', 'NaN', '-1', '1e309', '\ud800', 'graphneo', 'ds1', 'never', 'daily'),
  fc.nat(5000).map((n) => 'x'.repeat(n)),
  fc.constant('y'.repeat(200_000)),
);

/** A value of any JSON type, with the awkward numbers. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-1, 0, 2 ** 53 + 1, -(2 ** 63), 1e308, 0.5, true, false, null, [], {}),
  nastyString,
);

/** A value for `schema`: `strict` keeps to its types (to get past validation), else any value may stand in. */
function valueFor(schema: Schema | undefined, ids: string[], depth = 0, strict = false): fc.Arbitrary<unknown> {
  if (!schema || depth > 3) return anyValue;
  const options: fc.Arbitrary<unknown>[] = strict ? [] : [anyValue];
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (schema.enum) options.push(fc.constantFrom(...schema.enum));
  for (const sub of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) options.push(valueFor(sub, ids, depth + 1, strict));
  for (const type of types) {
    if (type === 'string' && !schema.enum) options.push(strict ? fc.oneof(fc.constantFrom(...ids), fc.string({ minLength: 1, maxLength: 30 })) : nastyString, fc.constantFrom(...ids));
    if (type === 'integer' || type === 'number') options.push(strict ? fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1000, 1000) }) : fc.oneof(fc.integer({ min: (schema.minimum ?? 0) - 2, max: (schema.maximum ?? 1000) + 2 }), fc.double()));
    if (type === 'boolean') options.push(fc.boolean());
    if (type === 'array') options.push(fc.array(valueFor(schema.items, ids, depth + 1, strict), { maxLength: 3 }));
    if (type === 'object') options.push(objectFor(schema, ids, depth + 1, strict));
  }
  return options.length ? fc.oneof(...options) : anyValue;
}

/** An object shaped like the schema: some fields present, each well or badly typed, now and then an unknown one. */
function objectFor(schema: Schema, ids: string[], depth = 0, strict = false): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valueFor(s, ids, depth, strict)]));
  if (strict) return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
  return fc
    .tuple(fc.record(model, { requiredKeys: [] }), fc.option(fc.dictionary(printable(12), anyValue, { maxKeys: 2 }), { freq: 4 }))
    .map(([known, extra]) => ({ ...known, ...(extra ?? {}) }));
}

/** encodeURIComponent that survives lone surrogates (they become U+FFFD). */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
/** Path segments sent as they are, not encoded: malformed escapes, encoded slashes and dots. */
const RAW_SEGMENTS = ['%', '%zz', '%00', '%2e%2e', '%2F..%2F', '..%2f..%2fetc%2fpasswd', '%c0%ae', '%ff', '%E2%80%AE'];

function deepNesting(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function formEncode(value: unknown): string {
  const params = new URLSearchParams();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, typeof item === 'object' ? JSON.stringify(item) : String(item));
  } else params.append('value', String(value));
  return params.toString();
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset="utf-8"',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=nonsense',
  'application/json; foo=bar',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  'text/plain',
  'application/xml',
  'application/octet-stream',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/json, text/plain',
  '*/*',
  '',
];

function requestArbitrary(ops: Operation[], idsFor: (param: string) => string[], allIds: string[]): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...ops).chain((op) => {
    const pathParams = op.params.filter((p) => p.in === 'path');
    const queryParams = op.params.filter((p) => p.in === 'query');
    // The vendor segment is almost always right, so the fuzzer gets past it into the database routes.
    const pathValue = (name: string): fc.Arbitrary<string> =>
      name === 'vendor' ? fc.oneof({ weight: 12, arbitrary: fc.constant('graphneo') }, { weight: 1, arbitrary: fc.constantFrom(...idsFor(name), '%ff', 'x'.repeat(300)) }) :
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...idsFor(name)) },
        { weight: 2, arbitrary: fc.uuid().map((u) => u.replaceAll('-', '')) },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 2, arbitrary: nastyString.filter((s) => s.length < 3000 && s.length > 0).map(encode) },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
      );
    const query = fc.array(
      fc.tuple(fc.oneof(fc.constantFrom(...(queryParams.length ? queryParams.map((p) => p.name) : ['x'])), printable(10)), fc.oneof(nastyString.filter((s) => s.length < 2000), fc.constantFrom(...allIds), fc.integer().map(String))),
      { maxLength: 3 },
    );
    const bodyCapable = !['GET', 'HEAD', 'DELETE'].includes(op.method) || false;
    const schemaBody = op.bodySchema ? objectFor(op.bodySchema, allIds) : fc.dictionary(printable(12), anyValue, { maxKeys: 3 });
    // Well-typed bodies with real ids get past validation into the handlers (and start real operations).
    const validBody = op.bodySchema ? objectFor(op.bodySchema, allIds, 0, true) : fc.constant({});
    const body: fc.Arbitrary<{ kind: string; body?: string | Uint8Array; type?: string }> = bodyCapable
      ? fc.oneof(
          { weight: 6, arbitrary: schemaBody.map((v) => ({ kind: 'schema-json', body: JSON.stringify(v), type: 'application/json' })) },
          { weight: 4, arbitrary: validBody.map((v) => ({ kind: 'typed-json', body: JSON.stringify(v), type: 'application/json' })) },
          { weight: 1, arbitrary: validBody.map((v) => ({ kind: 'typed-form', body: formEncode(v), type: 'application/x-www-form-urlencoded' })) },
          { weight: 3, arbitrary: schemaBody.map((v) => ({ kind: 'schema-form', body: formEncode(v), type: 'application/x-www-form-urlencoded' })) },
          { weight: 2, arbitrary: fc.jsonValue().map((v) => ({ kind: 'random-json', body: JSON.stringify(v) ?? 'null', type: 'application/json' })) },
          { weight: 1, arbitrary: fc.constantFrom('array', 'object').chain((k) => fc.integer({ min: 100, max: 20_000 }).map((d) => ({ kind: 'deep-json', body: deepNesting(d, k as 'array' | 'object'), type: 'application/json' }))) },
          { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 3_000_000 }).map((n) => ({ kind: 'huge-json', body: JSON.stringify({ name: 'z'.repeat(n), label: 'z'.repeat(n) }), type: 'application/json' })) },
          { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => ({ kind: 'garbage-bytes', body: b })) },
          { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '[1,]', 'nul', '"\\ud800"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '\ufeff{}', '').map((b) => ({ kind: 'broken-json', body: b, type: 'application/json' })) },
          { weight: 1, arbitrary: fc.constant({ kind: 'no-body' }) },
        )
      : fc.constant({ kind: 'no-body' });
    const extraHeaders = fc.record(
      {
        'content-type': fc.oneof(fc.constantFrom(...CONTENT_TYPES), printable(40)),
        'idempotency-key': fc.oneof(fc.uuid(), printable(80)),
        'x-request-id': printable(100),
        accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', ''),
        'accept-charset': fc.constantFrom('utf-16', 'latin1', '*'),
        'if-none-match': printable(20),
      },
      { requiredKeys: [] },
    );
    const keepType = fc.integer({ min: 0, max: 4 }).map((n) => n > 0);
    return fc.record({ values: fc.tuple(...pathParams.map((p) => pathValue(p.name))), query, body, extraHeaders: fc.option(extraHeaders, { freq: 2 }).map((h) => h ?? {}), keepType }).map(({ values, query: q, body: b, extraHeaders: h, keepType }) => {
      let path = op.path;
      pathParams.forEach((p, i) => {
        path = path.replace(`{${p.name}}`, String(values[i]));
      });
      if (q.length) path += '?' + q.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
      const headers: Record<string, string> = { ...h };
      // Usually the content type matches the body; otherwise the fuzzed one stands.
      if (keepType && b.type) headers['content-type'] = b.type;
      if (headers['content-type'] === '' || b.body === undefined) delete headers['content-type'];
      return { op, path, headers, body: b.body, kind: b.kind };
    });
  });
}

describe('OpenAPI-driven request fuzzing', () => {
  let server: BackupsServer;
  let ops: Operation[];
  const ids: Record<string, string[]> = {};
  let fixtureId: string;

  before(async () => {
    server = await startBackupsServer({ dbPorts: testPortRange(2) });
    const token = server.adminToken;
    const fixture = await createDatabase(server, token, { environmentId: server.environmentId, name: 'fuzz-fixture', plan: 'ds2' });
    const dbId = (fixtureId = fixture.database.id as string);
    const snap = await server.request('POST', `${DB}/${dbId}/snapshots`, { token, body: { label: 'fuzz' } });
    await operationFinished(server, token, dbId, snap.body.operationId);
    const user = await server.request('POST', `${DB}/${dbId}/users`, { token, body: { username: 'fuzz' } });
    const env2 = await server.request('POST', '/deployments/environments', { token, body: { label: 'fuzz-env', type: 'staging' } });
    const rule = await server.request('POST', `/deployments/environments/${env2.body.id}/network-rules`, { token, body: { label: 'r', ipRange: '10.0.0.0/8' } });
    // A client the fuzzer may refresh or delete; never the admin's own, whose token every request carries.
    const client = await server.request('POST', '/organizations/api-clients', { token, body: { name: 'fuzz victim', environmentIds: [env2.body.id] } });
    const idOf = (id: string) => [id, `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`, id.toUpperCase()];
    ids.vendor = ['graphneo', 'graphneo', 'neo4j', 'GRAPHNEO'];
    ids.id = [...idOf(dbId), ...idOf(server.environmentId), ...idOf(env2.body.id), ...idOf(client.body.id)];
    ids.snapshotId = idOf(snap.body.snapshot.id);
    ids.operationId = idOf(fixture.operation.id);
    ids.userId = idOf(user.body.id);
    ids.ruleId = idOf(rule.body.id);
    ids.exportId = [randomBytes(16).toString('hex')];
    ids.type = ['development', 'staging', 'production', 'red'];
    const doc = (await server.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, any>> };
    ops = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const content = op.requestBody?.content ?? {};
        ops.push({
          method: method.toUpperCase(),
          path,
          params: (op.parameters ?? []).filter((p: any) => p.in === 'path' || p.in === 'query'),
          bodySchema: content['application/json']?.schema,
          contentTypes: Object.keys(content),
        });
      }
    }
  });

  after(async () => server?.stop());

  test('findings of earlier runs stay fixed: a malformed %-escape, an overlong path segment, deep JSON with an Idempotency-Key, malformed multipart', async () => {
    const token = server.adminToken;
    const part = '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n';
    const cases: [string, string, RequestInit, number, RegExp][] = [
      ['PUT', `${DB}/${fixtureId}/import`, { headers: { 'content-type': 'multipart/form-data' }, body: 'garbage' }, 400, /multipart body is malformed/],
      ['PUT', `${DB}/${fixtureId}/import`, { headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: 'garbage' }, 400, /multipart body is malformed/],
      ['PUT', `${DB}/${fixtureId}/import`, { headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: part + 'z'.repeat(70_000) }, 400, /multipart body is malformed/],
      ['GET', `${DB}/%zz`, {}, 400, /malformed path segment/],
      ['GET', `${DB}/${'x'.repeat(300)}`, {}, 414, /longer than 100 characters/],
      ['PUT', `${DB}/${'a'.repeat(32)}/resume`, { headers: { 'content-type': 'application/json', 'idempotency-key': randomBytes(8).toString('hex') }, body: '['.repeat(5000) + ']'.repeat(5000) }, 400, /nested more than 64 levels/],
    ];
    for (const [method, path, init, status, message] of cases) {
      const res = await fetch(new URL(path, server.url), { method, ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
      const text = await res.text();
      assert.equal(res.status, status, `${method} ${path.slice(0, 60)}: ${text}`);
      assert.deepEqual(Object.keys(JSON.parse(text)), ['error'], text);
      assert.match(JSON.parse(text).error, message);
    }
  });

  test(`${RUNS} generated requests (seed ${SEED}): no 5xx, every error body is exactly {"error": string}, the server stays up`, async () => {
    assert.ok(ops.length >= 50, `the OpenAPI document lists ${ops.length} operations`);
    const allIds = Object.values(ids).flat();
    const requests = fc.sample(requestArbitrary(ops, (name) => ids[name] ?? allIds, allIds), { seed: SEED, numRuns: RUNS });
    const byClass: Record<string, number> = {};
    const byStatus: Record<number, number> = {};
    const violations: string[] = [];
    let capacity = 0;
    const started = Date.now();
    for (const req of requests) {
      const res = await fetch(new URL(req.path, server.url), {
        method: req.op.method,
        headers: { ...req.headers, authorization: `Bearer ${server.adminToken}` },
        body: req.body,
      });
      const text = await res.text();
      byClass[`${String(res.status)[0]}xx`] = (byClass[`${String(res.status)[0]}xx`] ?? 0) + 1;
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      const where = `${req.op.method} ${req.path.slice(0, 160)} [${req.kind}, content-type ${JSON.stringify(req.headers['content-type'] ?? null)}] → ${res.status}`;
      if (res.status < 400) continue;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        violations.push(`${where}: body is not JSON: ${text.slice(0, 200)}`);
        continue;
      }
      const contract = !!body && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 1 && typeof (body as { error?: unknown }).error === 'string';
      if (!contract) violations.push(`${where}: body is not {"error": string}: ${text.slice(0, 200)}`);
      if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) violations.push(`${where}: content-type ${res.headers.get('content-type')}`);
      if (res.status >= 500) {
        const createsDatabase = req.op.method === 'POST' && (req.op.path === '/deployments/databases/{vendor}' || req.op.path.endsWith('/clone'));
        if (res.status === 503 && createsDatabase && contract && CAPACITY.test((body as { error: string }).error)) capacity++;
        else violations.push(`${where}: ${text.slice(0, 200)}`);
      }
    }
    const health = await fetch(new URL('/healthz', server.url));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz suite: ${requests.length} requests over ${ops.length} operations in ${seconds} s (seed ${SEED}); ` +
        `${Object.entries(byClass).sort().map(([k, v]) => `${k} ${v}`).join(', ')} (503 capacity answers: ${capacity}); ` +
        `statuses ${JSON.stringify(byStatus)}; ${violations.length} contract violations`,
    );
    // One line per kind of violation (status + the body's shape), so a run names each bug once.
    const kinds = new Map<string, string>();
    for (const v of violations) {
      const key = v.replace(/^.*?→ (\d+): (.{0,40}).*?(\{"[a-z]+":"?[^,"]{0,30}).*$/s, '$1 $2 $3');
      if (!kinds.has(key)) kinds.set(key, v.slice(0, 400));
    }
    for (const example of kinds.values()) console.log(`fuzz violation: ${example}`);
    assert.equal(health.status, 200, 'the server is alive after the run');
    assert.deepEqual(violations.slice(0, 20), [], `${violations.length} contract violations`);
  });
});
