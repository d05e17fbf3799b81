// Roles × environment types (api.md §2): every role against every environment type and deployment action,
// the per-organization scope table, and the rule that what a caller may not see is a 404.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Caller, DeploymentAction, Role } from '../src/auth/caller.js';
import { DEPLOYMENT_ACTIONS, ENVIRONMENT_TYPES, authorizeDeployment, type EnvironmentType } from '../src/auth/policy.js';
import { systemClock } from '../src/clock.js';
import { insertApiClient } from '../src/domain/api-clients.js';
import { DomainError } from '../src/errors.js';
import { createOrganization } from '../src/domain/organizations.js';
import { insertEnvironment } from '../src/domain/environments.js';
import { startServer, type TestServer } from './helpers/server.js';

const DESTRUCTIVE = new Set<DeploymentAction>(['terminate', 'import', 'restore', 'empty']);

/** The contract's table, written out independently of src/auth/policy.ts. */
function expected(role: Role, type: EnvironmentType, action: DeploymentAction, assigned: boolean): 'ok' | 'forbidden' | 'not-found' {
  if (role === 'billing') return 'forbidden';
  if (role === 'owner' || role === 'admin') return 'ok';
  if (!assigned) return 'not-found';
  if (action === 'read') return 'ok';
  if (role === 'read-operator') return 'forbidden';
  return type === 'production' && DESTRUCTIVE.has(action) ? 'forbidden' : 'ok';
}

async function outcome(fn: () => Promise<void>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (err instanceof DomainError) return err.kind;
    throw err;
  }
}

describe('privilege scope', () => {
  let server: TestServer;
  let orgId: string;
  const envs = {} as Record<EnvironmentType, { id: string; organizationId: string; type: EnvironmentType }>;

  before(async () => {
    server = await startServer();
    const admin = await server.token();
    for (const type of ENVIRONMENT_TYPES) {
      const res = await server.request('POST', '/deployments/environments', { token: admin, body: { label: `env-${type}`, type } });
      assert.equal(res.status, 201);
      assert.equal(res.body.color, { development: 'green', staging: 'yellow', production: 'red' }[type]);
      envs[type] = { id: res.body.id, organizationId: res.body.organizationId, type };
      orgId = res.body.organizationId;
    }
  });
  after(async () => server.stop());

  test('every role × environment type × action follows the default table', async () => {
    const db = server.running.store.db;
    const roles: Role[] = ['owner', 'admin', 'operator', 'read-operator', 'billing'];
    let checked = 0;
    for (const role of roles) {
      for (const assigned of [true, false]) {
        const caller: Caller = { organizationId: orgId, clientId: 'c'.repeat(32), role, environmentIds: assigned ? Object.values(envs).map((e) => e.id) : [] };
        for (const type of ENVIRONMENT_TYPES) {
          for (const action of DEPLOYMENT_ACTIONS) {
            const got = await outcome(() => authorizeDeployment(db, caller, envs[type], action));
            assert.equal(got, expected(role, type, action, assigned), `${role} ${assigned ? 'assigned' : 'unassigned'} ${type} ${action}`);
            checked++;
          }
        }
      }
    }
    assert.equal(checked, 5 * 2 * 3 * DEPLOYMENT_ACTIONS.length);
  });

  test('the production refusal names the environment type and the action', async () => {
    const caller: Caller = { organizationId: orgId, clientId: 'c'.repeat(32), role: 'operator', environmentIds: [envs.production.id] };
    await assert.rejects(
      authorizeDeployment(server.running.store.db, caller, envs.production, 'terminate'),
      (err: DomainError) => err.kind === 'forbidden' && err.message === "production environment: 'terminate' is not allowed for operators",
    );
  });

  test("another organization's environment is not found, even for its admins", async () => {
    const caller: Caller = { organizationId: 'f'.repeat(32), clientId: 'c'.repeat(32), role: 'admin', environmentIds: [] };
    assert.equal(await outcome(() => authorizeDeployment(server.running.store.db, caller, envs.development, 'read')), 'not-found');
  });

  test('an admin can change the scope of a type per organization; operators follow it', async () => {
    const admin = await server.token();
    const list = await server.request('GET', '/organizations/environment-types', { token: admin });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((t: { type: string }) => t.type), ['development', 'staging', 'production']);
    assert.ok(!list.body[2].allowedActions.includes('terminate'));

    const put = await server.request('PUT', '/organizations/environment-types/staging', { token: admin, body: { allowedActions: ['read', 'create', 'pause'] } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { type: 'staging', color: 'yellow', allowedActions: ['read', 'create', 'pause'] });
    const prod = await server.request('PUT', '/organizations/environment-types/production', { token: admin, form: { allowedActions: ['read', 'terminate'] } });
    assert.equal(prod.status, 200, prod.text);

    const caller: Caller = { organizationId: orgId, clientId: 'c'.repeat(32), role: 'operator', environmentIds: Object.values(envs).map((e) => e.id) };
    const db = server.running.store.db;
    assert.equal(await outcome(() => authorizeDeployment(db, caller, envs.staging, 'pause')), 'ok');
    assert.equal(await outcome(() => authorizeDeployment(db, caller, envs.staging, 'restart')), 'forbidden');
    assert.equal(await outcome(() => authorizeDeployment(db, caller, envs.production, 'terminate')), 'ok');
    assert.equal(await outcome(() => authorizeDeployment(db, caller, envs.production, 'restart')), 'forbidden');
    assert.equal(await outcome(() => authorizeDeployment(db, caller, envs.development, 'terminate')), 'ok', 'other types keep their defaults');

    const bad = await server.request('PUT', '/organizations/environment-types/staging', { token: admin, body: { allowedActions: ['read', 'fly'] } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /allowedActions\[1\]/);
    const badType = await server.request('PUT', '/organizations/environment-types/purple', { token: admin, body: { allowedActions: [] } });
    assert.equal(badType.status, 400);
    assert.match(badType.body.error, /type/);
  });

  test('roles over HTTP: operators see only their environments and cannot administer; billing sees no deployments', async () => {
    const admin = await server.token();
    const mk = async (role: string, environmentIds: string[]) => {
      const res = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: `${role}-client`, role, environmentIds } });
      assert.equal(res.status, 201, res.text);
      return server.token({ clientId: res.body.clientId, clientSecret: res.body.clientSecret });
    };
    const operator = await mk('operator', [envs.staging.id]);
    const reader = await mk('read-operator', [envs.production.id]);

    const seen = await server.request('GET', '/deployments/environments', { token: operator });
    assert.equal(seen.status, 200);
    assert.deepEqual(seen.body.map((e: { id: string }) => e.id), [envs.staging.id]);
    assert.equal((await server.request('GET', `/deployments/environments/${envs.staging.id}`, { token: operator })).status, 200);
    assert.equal((await server.request('GET', `/deployments/environments/${envs.production.id}`, { token: operator })).status, 404);
    assert.equal((await server.request('GET', `/deployments/environments/${envs.production.id}/network-rules`, { token: reader })).status, 200);

    const create = await server.request('POST', '/deployments/environments', { token: operator, body: { label: 'x', type: 'development' } });
    assert.equal(create.status, 403);
    assert.match(create.body.error, /role 'operator'/);
    assert.equal((await server.request('GET', '/organizations/api-clients', { token: reader })).status, 403);
    assert.equal((await server.request('PUT', '/organizations/environment-types/staging', { token: operator, body: { allowedActions: ['read'] } })).status, 403);
    assert.equal((await server.request('POST', `/deployments/environments/${envs.staging.id}/network-rules`, { token: operator, body: { label: 'x', ipRange: '10.0.0.0/8' } })).status, 403);

    const { client, clientSecret } = await insertApiClient(server.running.store.db, orgId, { name: 'billing', role: 'billing' }, systemClock);
    const billing = await server.token({ clientId: client.clientId, clientSecret });
    assert.equal((await server.request('GET', '/deployments/environments', { token: billing })).status, 403);
  });

  test("another organization's environments and API clients are 404, never 403", async () => {
    const db = server.running.store.db;
    const other = await createOrganization(db, 'other-org', systemClock);
    const otherEnv = await insertEnvironment(db, other.id, { label: 'theirs', type: 'production' }, { regions: server.config.regions, clock: systemClock });
    const { client: otherClient, clientSecret } = await insertApiClient(db, other.id, { name: 'their admin', role: 'admin' }, systemClock);
    const admin = await server.token();
    for (const [method, path] of [
      ['GET', `/deployments/environments/${otherEnv.id}`],
      ['PATCH', `/deployments/environments/${otherEnv.id}`],
      ['DELETE', `/deployments/environments/${otherEnv.id}`],
      ['GET', `/deployments/environments/${otherEnv.id}/network-rules`],
      ['POST', `/deployments/environments/${otherEnv.id}/network-rules`],
      ['GET', `/organizations/api-clients/${otherClient.id}`],
      ['PATCH', `/organizations/api-clients/${otherClient.id}`],
      ['POST', `/organizations/api-clients/${otherClient.id}/secret`],
      ['DELETE', `/organizations/api-clients/${otherClient.id}`],
    ] as const) {
      const body = method === 'PATCH' ? { label: 'mine' } : method === 'POST' && path.endsWith('rules') ? { label: 'x', ipRange: '10.0.0.0/8' } : undefined;
      const res = await server.request(method, path, { token: admin, body: path.includes('api-clients') && method === 'PATCH' ? { name: 'x' } : body });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
    // Nor can an admin hand another organization's environment to its own client.
    const steal = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name: 'thief', environmentIds: [otherEnv.id] } });
    assert.equal(steal.status, 400);
    assert.match(steal.body.error, /does not exist/);
    // And the other organization sees none of ours.
    const theirToken = await server.token({ clientId: otherClient.clientId, clientSecret });
    const theirList = await server.request('GET', '/deployments/environments', { token: theirToken });
    assert.deepEqual(theirList.body.map((e: { id: string }) => e.id), [otherEnv.id]);
  });
});
