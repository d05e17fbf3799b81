// Billing over HTTP with the shipped data plane (real graph-server processes) and an injected clock:
// credit, the 402 paths (no method, credit spent, expired card; create, clone, resume, dearer plan), the
// payment method, billing off (nothing refused, usage still reported as showback, JSON and CSV; snapshots
// by GB-month), and who may reach billing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, type Clock } from '../src/clock.js';
import { insertApiClient } from '../src/domain/api-clients.js';
import { formatGbMonths, formatMicros, snapshotMicros } from '../src/domain/usage.js';
import { meterSettledDatabases } from '../src/domain/usage-meter.js';
import { dataPlane } from '../src/server/data-plane.js';
import { createDatabaseAndWait, testPortRange, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { startServer } from './helpers/server.js';

const DB = '/deployments/databases/graphneo';
const MIN = 60_000;

type BillingServer = Pick<LifecycleServer, 'request' | 'token' | 'stop' | 'running' | 'adminToken' | 'environmentId'>;

/** The shipped data plane (lifecycle and backups, so snapshots too) in this process, with `clock`. */
async function startDataPlaneServer(clock: Clock, env: Record<string, string>): Promise<BillingServer> {
  const server = await startServer({ clock, env: { ALLOTROPE_DB_PORTS: testPortRange(), ALLOTROPE_PUBLIC_HOST: '127.0.0.1', ...env }, extend: [dataPlane] });
  const adminToken = await server.token();
  const envs = await server.request<{ id: string }[]>('GET', '/deployments/environments', { token: adminToken });
  return { ...server, adminToken, environmentId: envs.body[0]!.id };
}

async function clientToken(server: BillingServer, clock: Clock, role: 'billing' | 'operator' | 'read-operator', environmentIds: string[] = []): Promise<string> {
  const db = server.running.store.db;
  const org = await db.selectFrom('environments').select('organization_id').where('id', '=', server.environmentId).executeTakeFirstOrThrow();
  const { client, clientSecret } = await insertApiClient(db, org.organization_id, { name: `${role}-client`, role, environmentIds }, clock);
  return server.token({ clientId: client.clientId, clientSecret });
}

describe('billing on: credit, payment method and 402', () => {
  const clock = new ManualClock();
  let server: BillingServer;
  let token: string;
  let first: { id: string };

  before(async () => {
    server = await startDataPlaneServer(clock, { ALLOTROPE_BILLING: 'on', ALLOTROPE_BILLING_INITIAL_CREDIT: '0.01' });
    token = server.adminToken;
  });
  after(async () => server?.stop());

  test('a new organization starts with the configured credit and no payment method', async () => {
    const res = await server.request('GET', '/organizations/billing', { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.paymentMethod, null);
    assert.equal(res.body.creditBalance, '0.01');
    assert.equal(res.body.currency, 'USD');
    assert.equal(res.body.enabled, true);
  });

  test('with credit left no payment method is needed; once it is spent, create, resume and a dearer plan answer 402 saying what to do', async () => {
    first = (await createDatabaseAndWait(server, token, server.environmentId, 'first')).database;
    // $0.01 buys 12 minutes of DS1 ($0.05/h); the 13th started minute spends it.
    clock.advance(13 * MIN);
    const billing = (await server.request('GET', '/organizations/billing', { token })).body;
    assert.equal(billing.creditBalance, '0.00');
    assert.equal(billing.charges, '0.01');

    const create = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'second', plan: 'ds1', version: '5.26-grafeo' } });
    assert.equal(create.status, 402, create.text);
    assert.deepEqual(Object.keys(create.body), ['error']);
    assert.match(create.body.error, /^cannot create the database: the organization's credit of \$0\.01 is spent and it has no payment method; add one: PUT \/organizations\/billing\/payment-method$/);
    const clone = await server.request('POST', `${DB}/${first.id}/clone`, { token, body: { name: 'copy' } });
    assert.equal(clone.status, 402, clone.text);
    assert.match(clone.body.error, /^cannot create the database: .*PUT \/organizations\/billing\/payment-method$/);
    assert.equal((await server.request('GET', DB, { token })).body.length, 1, 'a refused create or clone leaves no database behind');
    assert.equal((await server.running.store.db.selectFrom('snapshots').select('id').execute()).length, 0, 'nor the seed of the refused clone');

    // Pausing lowers the bill, so it is never refused.
    const pause = await server.request('PUT', `${DB}/${first.id}/pause`, { token });
    assert.equal(pause.status, 202, pause.text);
    assert.equal((await waitForOperation(server, token, first.id, pause.body.operationId)).status, 'finished');
    const resume = await server.request('PUT', `${DB}/${first.id}/resume`, { token });
    assert.equal(resume.status, 402, resume.text);
    assert.match(resume.body.error, /^cannot resume the database: .*PUT \/organizations\/billing\/payment-method$/);
    const dearer = await server.request('PUT', `${DB}/${first.id}/plan/change`, { token, body: { targetPlanName: 'ds2' } });
    assert.equal(dearer.status, 402, dearer.text);
    assert.match(dearer.body.error, /^cannot move the database to the dearer plan 'ds2': /);
    assert.equal((await server.request('GET', `${DB}/${first.id}`, { token })).body.status.state, 'paused');
  });

  test('a card pays until the end of its expiry month; an expired card is not valid (402 again); invoice pays', async () => {
    const now = clock.now();
    const expMonth = now.getUTCMonth() + 1;
    const expYear = now.getUTCFullYear();
    const past = await server.request('PUT', '/organizations/billing/payment-method', { token, body: { type: 'card', last4: '4242', expMonth: expMonth === 1 ? 12 : expMonth - 1, expYear: expMonth === 1 ? expYear - 1 : expYear } });
    assert.equal(past.status, 400, past.text);
    assert.match(past.body.error, /expMonth\/expYear must not be in the past/);
    const bad = await server.request('PUT', '/organizations/billing/payment-method', { token, body: { type: 'card', last4: 'abcd', expMonth, expYear } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /last4/);

    const card = await server.request('PUT', '/organizations/billing/payment-method', { token, body: { type: 'card', last4: '4242', expMonth, expYear } });
    assert.equal(card.status, 200, card.text);
    assert.deepEqual(card.body.paymentMethod, { type: 'card', provider: 'built-in', last4: '4242', expMonth, expYear, valid: true });
    const resume = await server.request('PUT', `${DB}/${first.id}/resume`, { token });
    assert.equal(resume.status, 202, resume.text);
    assert.equal((await waitForOperation(server, token, first.id, resume.body.operationId)).status, 'finished');

    // The first instant of the next month: the card has expired.
    clock.set(new Date(Date.UTC(expYear, expMonth, 1, 0, 0, 1)));
    token = await server.token();
    const billing = (await server.request('GET', '/organizations/billing', { token })).body;
    assert.equal(billing.paymentMethod.valid, false);
    assert.notEqual(billing.amountOwed, '0.00');
    const create = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'second', plan: 'ds1', version: '5.26-grafeo' } });
    assert.equal(create.status, 402, create.text);
    assert.match(create.body.error, new RegExp(`its card ending 4242 expired at the end of ${String(expMonth).padStart(2, '0')}/${expYear}; add a valid payment method: PUT /organizations/billing/payment-method$`));

    const invoice = await server.request('PUT', '/organizations/billing/payment-method', { token, body: { type: 'invoice' } });
    assert.equal(invoice.status, 200, invoice.text);
    assert.deepEqual(invoice.body.paymentMethod, { type: 'invoice', provider: 'built-in', valid: true });
    const second = await createDatabaseAndWait(server, token, server.environmentId, 'second');
    assert.equal(second.operation.status, 'finished');
  });
});

describe('billing off: nothing refused, usage reported (showback)', () => {
  const start = new Date(Date.UTC(2026, 10, 30, 23, 0, 0));
  const clock = new ManualClock(start);
  let server: BillingServer;
  let token: string;
  let db: { id: string; name: string };
  let other: { id: string };

  before(async () => {
    server = await startDataPlaneServer(clock, { ALLOTROPE_BILLING_INITIAL_CREDIT: '0' });
    token = server.adminToken;
  });
  after(async () => server?.stop());

  test('creating needs neither credit nor a payment method, and the account is untouched', async () => {
    db = (await createDatabaseAndWait(server, token, server.environmentId, 'showback')).database;
    clock.advance(90 * MIN);
    token = await server.token();
    const again = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'another', plan: 'ds2', version: '5.26-grafeo' } });
    assert.equal(again.status, 202, again.text);
    await waitForOperation(server, token, again.body.database.id, again.body.operationId);
    other = again.body.database;
    const billing = (await server.request('GET', '/organizations/billing', { token })).body;
    assert.equal(billing.enabled, false);
    assert.equal(billing.charges, '0.00');
    assert.equal(billing.accountOpenedAt, null);
  });

  test('usage is reported per database and per environment, as JSON and CSV, across a month boundary', async () => {
    clock.advance(30 * MIN);
    token = await server.token();
    const from = start.toISOString();
    const res = await server.request('GET', `/organizations/billing/usage?from=${from}`, { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.charged, false);
    const mine = res.body.lines.find((l: any) => l.databaseId === db.id);
    // 120 minutes of DS1 at $0.05/h = $0.10; the other database ran 30 minutes of DS2 at $0.12/h = $0.06.
    assert.deepEqual(
      { minutes: mine.minutes, hours: mine.hours, amount: mine.amount, amountExact: mine.amountExact, plan: mine.plan, kind: mine.kind, databaseName: mine.databaseName },
      { minutes: 120, hours: '2.00', amount: '0.10', amountExact: '0.100000', plan: 'ds1', kind: 'running', databaseName: 'showback' },
    );
    assert.equal(res.body.totals.amountExact, '0.160000');
    assert.equal(res.body.totals.amount, '0.16');

    // The month boundary (December 1st, 00:00 UTC) splits the first database's 120 minutes 60 / 60.
    const november = (await server.request('GET', '/organizations/billing/statements/2026-11', { token })).body;
    const december = (await server.request('GET', '/organizations/billing/statements/2026-12', { token })).body;
    assert.equal(november.lines.find((l: any) => l.databaseId === db.id).minutes, 60);
    assert.equal(december.lines.find((l: any) => l.databaseId === db.id).minutes, 60);
    assert.equal(december.amountDue, '0.00');
    assert.equal(december.charges, '0.00');

    const byEnv = (await server.request('GET', `/organizations/billing/usage?from=${from}&groupBy=environment`, { token })).body;
    assert.deepEqual(byEnv.lines.map((l: any) => [l.environmentId, l.databaseId, l.plan, l.amount]).sort(), [
      [server.environmentId, null, 'ds1', '0.10'],
      [server.environmentId, null, 'ds2', '0.06'],
    ]);

    for (const ask of [{ q: '&format=csv', headers: {} as Record<string, string> }, { q: '', headers: { accept: 'text/csv' } }]) {
      const csv = await server.request('GET', `/organizations/billing/usage?from=${from}${ask.q}`, { token, headers: ask.headers });
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      const rows = csv.text.trimEnd().split('\r\n');
      assert.equal(rows.length, 4, csv.text);
      assert.ok(rows.some((r) => r.includes(`${db.id},showback,ds1,running,120,2.00,0.000000,0.10,0.100000,USD`)), csv.text);
      assert.equal(rows.at(-1), ',,,,,total,,,,0.16,0.160000,USD');
    }
  });

  test('the OpenAPI document records the billing routes, CSV included', async () => {
    const doc = (await server.request('GET', '/openapi.json')).body;
    for (const path of ['/organizations/billing', '/organizations/billing/payment-method', '/organizations/billing/usage', '/organizations/billing/statements/{month}']) {
      assert.ok(doc.paths[path], path);
    }
    const usage = doc.paths['/organizations/billing/usage'].get;
    assert.deepEqual(Object.keys(usage.responses['200'].content).sort(), ['application/json', 'text/csv']);
    assert.ok(usage.parameters.some((p: any) => p.name === 'groupBy'));
    assert.deepEqual(doc.paths['/organizations/billing/payment-method'].put.requestBody.content['application/json'].schema.properties.type.enum, ['card', 'invoice']);
  });

  test('bad usage queries answer 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['?from=yesterday', /^from must be a date/],
      ['?from=2026-12-02&to=2026-12-01', /^to \(/],
      ['?groupBy=plan', /groupBy/],
    ];
    for (const [q, message] of cases) {
      const res = await server.request('GET', `/organizations/billing/usage${q}`, { token });
      assert.equal(res.status, 400, q);
      assert.match(res.body.error, message);
    }
    const month = await server.request('GET', '/organizations/billing/statements/2026-13', { token });
    assert.equal(month.status, 400);
    assert.match(month.body.error, /^month must be written yyyy-mm/);
  });

  test('the billing role reaches billing and nothing else; operators and read-operators do not reach billing', async () => {
    const billing = await clientToken(server, clock, 'billing');
    for (const path of ['/organizations/billing', '/organizations/billing/usage', '/organizations/billing/statements/2026-12']) {
      assert.equal((await server.request('GET', path, { token: billing })).status, 200, path);
    }
    assert.equal((await server.request('PUT', '/organizations/billing/payment-method', { token: billing, body: { type: 'invoice' } })).status, 200);
    for (const [method, path] of [
      ['GET', '/deployments/environments'],
      ['GET', '/deployments/plans'],
      ['GET', DB],
      ['GET', `${DB}/${db.id}`],
      ['GET', '/organizations/api-clients'],
      ['GET', '/organizations/environment-types'],
    ] as const) {
      const res = await server.request(method, path, { token: billing });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error, "role 'billing' may only use /organizations/billing and what lies below it");
    }
    for (const role of ['operator', 'read-operator'] as const) {
      const t = await clientToken(server, clock, role, [server.environmentId]);
      const res = await server.request('GET', '/organizations/billing', { token: t });
      assert.equal(res.status, 403, role);
      assert.equal(res.body.error, `role '${role}' may not read billing; it needs an admin, owner or billing role`);
      assert.equal((await server.request('GET', '/organizations/billing/usage', { token: t })).status, 403);
      assert.equal((await server.request('PUT', '/organizations/billing/payment-method', { token: t, body: { type: 'invoice' } })).status, 403);
      assert.equal((await server.request('GET', DB, { token: t })).status, 200, `${role} still reaches its deployments`);
    }
  });

  test('snapshots are charged by GB-month while kept, and stop counting once deleted', async () => {
    const taken = await server.request('POST', `${DB}/${other.id}/snapshots`, { token, body: { label: 'kept' } });
    assert.equal(taken.status, 202, taken.text);
    assert.equal((await waitForOperation(server, token, other.id, taken.body.operationId)).status, 'finished');
    const snapshot = (await server.request('GET', `${DB}/${other.id}/snapshots/${taken.body.snapshot.id}`, { token })).body;
    assert.ok(snapshot.sizeBytes > 0);
    const takenAt = clock.now().getTime();
    // Kept ten years (small test snapshots need long to cost a micro-dollar), then deleted.
    clock.advance(3650 * 86_400_000);
    token = await server.token();
    assert.equal((await server.request('DELETE', `${DB}/${other.id}/snapshots/${snapshot.id}`, { token })).status, 204);
    const keptMs = clock.now().getTime() - takenAt;
    clock.advance(365 * 86_400_000);
    token = await server.token();
    const from = new Date(takenAt - 60 * MIN).toISOString();
    const report = (await server.request('GET', `/organizations/billing/usage?from=${from}`, { token })).body;
    const line = report.lines.find((l: any) => l.kind === 'snapshots');
    assert.ok(line, JSON.stringify(report.lines));
    assert.equal(line.databaseId, other.id);
    assert.equal(line.gbMonths, formatGbMonths(BigInt(snapshot.sizeBytes) * BigInt(keptMs)));
    assert.equal(line.amountExact, formatMicros(snapshotMicros(snapshot.sizeBytes, keptMs, 50_000), 6));
    assert.notEqual(line.amountExact, '0.000000');
    assert.equal(report.totals.snapshots, line.amount);
  });

  test('at start-up, a database the meter has no row for (it ran before billing existed) starts being metered', async () => {
    const store = server.running.store.db;
    await store.deleteFrom('usage_events').where('database_id', '=', db.id).execute();
    const prices = { storageMicrosPerGbMonth: 100_000 };
    assert.equal(await meterSettledDatabases(store, clock.now(), prices), 1);
    const rows = await store.selectFrom('usage_events').selectAll().where('database_id', '=', db.id).execute();
    assert.deepEqual(rows.map((r) => [r.meter, r.plan, r.at]), [['running', 'ds1', clock.now().toISOString()]]);
    assert.equal(await meterSettledDatabases(store, clock.now(), prices), 0, 'a second pass finds nothing to write');
  });
});
