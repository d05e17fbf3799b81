// Ids of other entities in a request body (fromSnapshotId, restore's targetDatabaseId, clone's source and
// environmentId) are authorized like the entity itself: an operator scoped to environment A cannot seed,
// restore or clone with another environment's data. Invisible → 404 (as an unknown id), visible but not
// allowed by the environment type's scope → 403; either way no database and no operation is started.
// The databases and snapshots of other environments are store rows: every refusal happens before a
// process would be involved.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newSnapshotRow } from '../src/domain/snapshots.js';
import { newId } from '../src/ids.js';
import { DB, startBackupsServer, type BackupsServer } from './helpers/backups.js';
import { insertDatabaseRow } from './helpers/lifecycle-store.js';

describe('ids from another environment in a request body', () => {
  let server: BackupsServer;
  let admin: string;
  let envA: string;
  let envB: string;
  let envProd: string;
  let operatorA: string; // assigned to A only
  let operatorAProd: string; // assigned to A and the production environment
  const db: Record<'A' | 'B' | 'P', string> = { A: '', B: '', P: '' };
  const snap: Record<'A' | 'B' | 'P', string> = { A: '', B: '', P: '' };
  let port = 61_000;

  function insertDatabase(environmentId: string, name: string): Promise<string> {
    return insertDatabaseRow(server.running.store, server.running.bootstrap!.organization.id, {
      environment_id: environmentId,
      name,
      plan: 'ds2',
      domain_name: '127.0.0.1',
      bolt_port: port++,
      http_port: port++,
    });
  }

  async function insertReadySnapshot(databaseId: string): Promise<string> {
    const id = newId();
    const row = newSnapshotRow(id, { id: databaseId, organization_id: server.running.bootstrap!.organization.id }, 'on-demand', null, null, new Date(), null, null);
    await server.running.store.db.insertInto('snapshots').values({ ...row, status: 'ready', blob_key: `snapshots/${id}` }).execute();
    return id;
  }

  async function tokenFor(name: string, environmentIds: string[]): Promise<string> {
    const res = await server.request('POST', '/organizations/api-clients', { token: admin, body: { name, role: 'operator', environmentIds } });
    assert.equal(res.status, 201, res.text);
    return server.token({ clientId: res.body.clientId, clientSecret: res.body.clientSecret });
  }

  async function counts(): Promise<{ databases: number; operations: number }> {
    const q = server.running.store.db;
    const d = await q.selectFrom('databases').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const o = await q.selectFrom('operations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { databases: Number(d.n), operations: Number(o.n) };
  }

  /** Runs `attempt`, asserts its status and that no database or operation appeared. */
  async function refused(what: string, expected: number, attempt: () => Promise<{ status: number; body: any; text: string }>): Promise<string> {
    const before = await counts();
    const res = await attempt();
    assert.equal(res.status, expected, `${what}: ${res.text}`);
    assert.deepEqual(Object.keys(res.body), ['error'], what);
    assert.deepEqual(await counts(), before, `${what} started nothing`);
    return res.body.error;
  }

  before(async () => {
    server = await startBackupsServer();
    admin = server.adminToken;
    envA = server.environmentId;
    const mk = async (label: string, type: string) => {
      const res = await server.request('POST', '/deployments/environments', { token: admin, body: { label, type } });
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    };
    envB = await mk('other', 'development');
    envProd = await mk('prod', 'production');
    db.A = await insertDatabase(envA, 'in-a');
    db.B = await insertDatabase(envB, 'in-b');
    db.P = await insertDatabase(envProd, 'in-prod');
    for (const k of ['A', 'B', 'P'] as const) snap[k] = await insertReadySnapshot(db[k]);
    operatorA = await tokenFor('op-a', [envA]);
    operatorAProd = await tokenFor('op-a-prod', [envA, envProd]);
    // Production forbids operators to copy data out of it (clone), though creating there stays allowed.
    const scope = await server.request('PUT', '/organizations/environment-types/production', {
      token: admin,
      body: { allowedActions: ['read', 'create', 'restart', 'pause', 'resume', 'snapshot', 'change-plan', 'switch-url'] },
    });
    assert.equal(scope.status, 200, scope.text);
  });
  after(async () => server?.stop());

  test('fromSnapshotId of another environment (or of production) is 404, like an unknown snapshot', async () => {
    const create = (token: string, fromSnapshotId: string) => () =>
      server.request('POST', DB, { token, body: { environmentId: envA, name: `seed-${fromSnapshotId.slice(0, 6)}`, plan: 'ds1', fromSnapshotId } });
    assert.equal(await refused('snapshot of B', 404, create(operatorA, snap.B)), `snapshot '${snap.B}' does not exist`);
    assert.equal(await refused('snapshot of production', 404, create(operatorA, snap.P)), `snapshot '${snap.P}' does not exist`);
    assert.equal(await refused('unknown snapshot', 404, create(operatorA, 'f'.repeat(32))), `snapshot '${'f'.repeat(32)}' does not exist`);
  });

  test("fromSnapshotId of a visible environment whose scope forbids clone is 403", async () => {
    const error = await refused('snapshot of production, assigned', 403, () =>
      server.request('POST', DB, { token: operatorAProd, body: { environmentId: envA, name: 'seed-prod', plan: 'ds1', fromSnapshotId: snap.P } }),
    );
    assert.equal(error, "production environment: 'clone' is not allowed for operators");
  });

  test('restore into a database of another environment is 404; from another environment too', async () => {
    assert.equal(
      await refused('restore A into B', 404, () => server.request('POST', `${DB}/${db.A}/snapshots/${snap.A}/restore`, { token: operatorA, body: { targetDatabaseId: db.B } })),
      `database '${db.B}' does not exist`,
    );
    await refused('restore B into A', 404, () => server.request('POST', `${DB}/${db.B}/snapshots/${snap.B}/restore`, { token: operatorA, body: { targetDatabaseId: db.A } }));
    // A snapshot id of B under a database of A is no snapshot of that database.
    await refused("B's snapshot under A's database", 404, () => server.request('POST', `${DB}/${db.A}/snapshots/${snap.B}/restore`, { token: operatorA, body: {} }));
  });

  test("restoring production's snapshot into another environment needs clone in production: 403", async () => {
    const error = await refused('restore production into A', 403, () =>
      server.request('POST', `${DB}/${db.P}/snapshots/${snap.P}/restore`, { token: operatorAProd, body: { targetDatabaseId: db.A } }),
    );
    assert.equal(error, "production environment: 'clone' is not allowed for operators");
  });

  test('clone of another environment is 404; into another environment is refused naming environmentId', async () => {
    await refused('clone B into A', 404, () => server.request('POST', `${DB}/${db.B}/clone`, { token: operatorA, body: { name: 'copy-b', environmentId: envA } }));
    const error = await refused('clone A into B', 400, () => server.request('POST', `${DB}/${db.A}/clone`, { token: operatorA, body: { name: 'copy-a', environmentId: envB } }));
    assert.match(error, new RegExp(`environment '${envB}' does not exist`));
    await refused('clone production', 403, () => server.request('POST', `${DB}/${db.P}/clone`, { token: operatorAProd, body: { name: 'copy-p', environmentId: envA } }));
  });

  test('the same requests inside the caller\'s own environment are accepted', async () => {
    const restore = await server.request('POST', `${DB}/${db.A}/snapshots/${snap.A}/restore`, { token: operatorA, body: { targetDatabaseId: db.A } });
    assert.equal(restore.status, 202, restore.text);
  });
});
