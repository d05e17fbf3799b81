// The OpenAPI document as a client generator sees it: /openapi.json validates against the OpenAPI 3.1
// schema (@seriousme/openapi-schema-validator), every operation documents its bodies and the error shape,
// and `openapi-typescript` turns it into types that a small program compiles against (tsc, strict) and
// then uses to call three routes of a real server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import openapiTS, { astToString } from 'openapi-typescript';
import { dataPlane } from '../src/server/data-plane.js';
import { repoRoot } from './helpers/cli.js';
import { testPortRange } from './helpers/lifecycle.js';
import { startServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);

// The program a user would write against the generated types: a typed fetch of three routes. The
// expect-error lines fail the compilation if the generated types were loose (any).
const PROGRAM = `
import type { paths, components } from './schema.js';

declare const process: { env: Record<string, string | undefined> };

type TokenBody = NonNullable<paths['/organizations/oauth/token']['post']['requestBody']>['content']['application/json'];
type Token = paths['/organizations/oauth/token']['post']['responses'][201]['content']['application/json'];
type Plans = paths['/deployments/plans']['get']['responses'][200]['content']['application/json'];
type NewEnvironment = paths['/deployments/environments']['post']['requestBody']['content']['application/json'];
type Environment = paths['/deployments/environments']['post']['responses'][201]['content']['application/json'];
type ApiError = components['schemas']['Error'];
type ImportUpload = paths['/deployments/databases/{vendor}/{id}/import']['put']['requestBody']['content']['multipart/form-data'];

// EXPECT_ERROR: 'purple' is not an environment type
const wrong: NewEnvironment = { label: 'x', type: 'purple' };
// EXPECT_ERROR: the upload field is called file
const wrongUpload: ImportUpload = { upload: 'x' };
void wrong; void wrongUpload;

const base = process.env.API_URL!;
async function call<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: 'Bearer ' + token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const parsed = await res.json();
  if (!res.ok) throw new Error(res.status + ' ' + (parsed as ApiError).error);
  return parsed as T;
}

const credentials: TokenBody = { grant_type: 'client_credentials', client_id: process.env.CLIENT_ID, client_secret: process.env.CLIENT_SECRET };
const token: Token = await call<Token>('POST', '/organizations/oauth/token', null, credentials);
const plans: Plans = await call<Plans>('GET', '/deployments/plans', token.access_token);
const input: NewEnvironment = { label: 'generated-client', type: 'staging' };
const env: Environment = await call<Environment>('POST', '/deployments/environments', token.access_token, input);
console.log(JSON.stringify({ tokenType: token.token_type, plans: plans.map((p) => p.id), environment: { label: env.label, color: env.color } }));
`;

describe('OpenAPI document for client generators', () => {
  let server: TestServer;
  let doc: any;
  let dir: string;

  before(async () => {
    server = await startServer({ extend: [dataPlane], env: { ALLOTROPE_DB_PORTS: testPortRange(), ALLOTROPE_ENGINES_DIR: join(tmpdir(), 'no-engines-here') } });
    doc = (await server.request('GET', '/openapi.json')).body;
    dir = mkdtempSync(join(tmpdir(), 'allotrope-openapi-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('validates against the OpenAPI 3.1 schema and carries the package version', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
    assert.equal(validator.version, '3.1');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    assert.equal(doc.info.version, pkg.version);
  });

  it('documents every body, every response and the error shape', () => {
    assert.deepEqual(Object.keys(doc.components.schemas.Error.properties), ['error']);
    let operations = 0;
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        assert.ok(Object.keys(op.responses).some((c) => /^2/.test(c)), `${where} documents its success`);
        for (const [code, r] of Object.entries<any>(op.responses)) {
          assert.notEqual(r.description, 'Default Response', `${where} ${code} has a description`);
          if (code === 'default' || Number(code) >= 400) assert.equal(r.content['application/json'].schema.$ref, '#/components/schemas/Error', `${where} ${code} is the error shape`);
        }
        if (method === 'post' || method === 'put' || method === 'patch') {
          // Commands without fields (pause, resume, empty, refresh a secret) take no body; every other one says which.
          if (op.requestBody) {
            const types = Object.keys(op.requestBody.content);
            assert.ok(types.includes('application/json') && types.includes('application/x-www-form-urlencoded'), `${where}: ${types}`);
          }
        }
      }
    }
    assert.ok(operations > 60, `${operations} operations`);
    const imp = doc.paths['/deployments/databases/{vendor}/{id}/import'].put.requestBody;
    assert.equal(imp.required, true);
    assert.deepEqual(Object.keys(imp.content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
    assert.deepEqual(imp.content['multipart/form-data'].schema.required, ['file']);
    // Bodies whose fields are all optional are optional themselves (restart, snapshot, export, the token call).
    assert.equal(doc.paths['/deployments/databases/{vendor}/{id}/restart'].put.requestBody.required, false);
    assert.equal(doc.paths['/organizations/oauth/token'].post.requestBody.required, false);
    assert.equal(doc.paths['/deployments/databases/{vendor}'].post.requestBody.required, true);
    assert.equal(doc.paths['/downloads/{key}'].get.parameters.find((p: any) => p.in === 'path').name, 'key');
  });

  it('the /docs page names each body media type once', async () => {
    const page = (await server.request('GET', '/docs')).text;
    assert.doesNotMatch(page, /\(or application\/x-www-form-urlencoded\)/);
    assert.match(page, /application\/json or application\/x-www-form-urlencoded/);
    assert.match(page, /multipart\/form-data/);
    assert.match(page, new RegExp(`Allotrope management API ${doc.info.version.replaceAll('.', '\\.')}`));
  });

  it('openapi-typescript generates types that a program compiles against and uses to call three routes', async () => {
    const ast = await openapiTS(structuredClone(doc));
    writeFileSync(join(dir, 'schema.d.ts'), astToString(ast));
    // (Spelled out here: tsc reads the directive even inside this file's template literal.)
    writeFileSync(join(dir, 'main.ts'), PROGRAM.replaceAll('EXPECT_ERROR', '@ts-expect-error'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: [] }, files: ['main.ts'] }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch((err: { stdout?: string }) => {
      throw new Error(`the program does not compile against the generated types:\n${err.stdout}`);
    });
    const { stdout } = await run(process.execPath, [join(dir, 'main.js')], {
      env: { ...process.env, API_URL: server.url, CLIENT_ID: server.adminCredentials.clientId, CLIENT_SECRET: server.adminCredentials.clientSecret },
    });
    const out = JSON.parse(stdout);
    assert.equal(out.tokenType, 'Bearer');
    assert.ok(out.plans.includes('ds1'));
    assert.deepEqual(out.environment, { label: 'generated-client', color: 'yellow' });
  });
});
