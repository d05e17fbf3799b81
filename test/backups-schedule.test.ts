// Scheduled backups with real graph-server processes and a hand-moved "now": the setting's validation
// and plan gating, one backup per due time however many ticks (or concurrent ticks) see it, a missed
// backup taken once after a short outage, and retention deleting the oldest scheduled backups.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DB, createDatabase, driverFor, operationFinished, query, startBackupsServer, type BackupsServer } from './helpers/backups.js';

describe('scheduled backups', () => {
  let server: BackupsServer;
  let token: string;
  let db: { database: any; password: string };

  before(async () => {
    server = await startBackupsServer();
    token = server.adminToken;
    db = await createDatabase(server, token, { environmentId: server.environmentId, name: 'scheduled', plan: 'ds2' });
    const d = driverFor(db.database, db.password);
    await query(d, 'CREATE (:A), (:B)');
    await d.close();
  });

  after(async () => {
    await server?.stop();
  });

  it('validates the schedule and reads it back', async () => {
    const path = `${DB}/${db.database.id}/backups/schedule`;
    assert.deepEqual((await server.request('GET', path, { token })).body, { enabled: false, frequency: 'daily', time: '03:00', timezone: 'UTC', retention: 7, dayOfWeek: 0, dayOfMonth: 1 });
    for (const [body, field] of [
      [{ frequency: 'hourly' }, /frequency/],
      [{ time: '25:00' }, /time/],
      [{ timezone: 'Mars/Olympus' }, /timezone/],
      [{ retention: 0 }, /retention/],
      [{ frequency: 'monthly', dayOfMonth: 31 }, /dayOfMonth/],
    ] as const) {
      const res = await server.request('PUT', path, { token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.error, field);
    }
    const put = await server.request('PUT', path, { token, body: { enabled: true, frequency: 'daily', time: '03:00', timezone: 'UTC', retention: 2 } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.retention, 2);
    assert.deepEqual((await server.request('GET', path, { token })).body, put.body);
  });

  async function tickAndWait(at: string): Promise<string[]> {
    const report = await server.backups.scheduler.tick(new Date(at));
    for (const operationId of report.started) await operationFinished(server, token, db.database.id, operationId);
    return report.started;
  }

  it('takes one backup per due time, however many ticks see it', async () => {
    // Nothing is due before the next 03:00 UTC after the schedule was set.
    assert.deepEqual((await server.backups.scheduler.tick(new Date())).started, []);
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    const dueAt = `${tomorrow}T03:00:20.000Z`;
    // Two ticks at once (as two control planes would): the conditional update lets one of them win.
    const [a, b] = await Promise.all([server.backups.scheduler.tick(new Date(dueAt)), server.backups.scheduler.tick(new Date(dueAt))]);
    assert.equal(a.started.length + b.started.length, 1);
    for (const id of [...a.started, ...b.started]) await operationFinished(server, token, db.database.id, id);
    assert.deepEqual(await tickAndWait(`${tomorrow}T03:05:00.000Z`), []);
    const backups = await server.request('GET', `${DB}/${db.database.id}/backups`, { token });
    assert.equal(backups.body.length, 1);
    assert.equal(backups.body[0].kind, 'scheduled');
    assert.equal(backups.body[0].status, 'ready');
    assert.deepEqual(backups.body[0].counts, { nodes: 2, relationships: 0 });
    const latest = await server.request('GET', `${DB}/${db.database.id}/backups/latest`, { token });
    assert.equal(latest.body.id, backups.body[0].id);
  });

  it('takes a backup missed during a short outage once, and keeps only `retention` backups', async () => {
    const day = (n: number) => new Date(Date.now() + n * 24 * 3600_000).toISOString().slice(0, 10);
    const first = (await server.request('GET', `${DB}/${db.database.id}/backups`, { token })).body[0].id;
    // Down from before 03:00 until 05:00 two days later: only that day's 03:00 backup is taken, once.
    assert.equal((await tickAndWait(`${day(3)}T05:00:00.000Z`)).length, 1);
    assert.deepEqual(await tickAndWait(`${day(3)}T05:01:00.000Z`), []);
    assert.equal((await tickAndWait(`${day(4)}T03:00:30.000Z`)).length, 1);
    const backups = await server.request('GET', `${DB}/${db.database.id}/backups`, { token });
    assert.equal(backups.body.length, 2, JSON.stringify(backups.body));
    assert.ok(!backups.body.some((s: any) => s.id === first), 'the oldest backup was deleted');
    const keys = await server.blobStore.list('snapshots/');
    assert.equal(keys.length, 2);
    assert.ok(!keys.some((k) => k.includes(first)), 'its archive was deleted too');
    // Of several missed due times only the newest is taken (day 5's is more than a day late).
    assert.equal((await tickAndWait(`${day(6)}T04:00:00.000Z`)).length, 1);
    assert.equal((await tickAndWait(`${day(9)}T03:00:00.000Z`)).length, 1);
    const kept = await server.request('GET', `${DB}/${db.database.id}/backups`, { token });
    assert.equal(kept.body.length, 2);
    assert.ok(Date.parse(kept.body[0].createdAt) > Date.parse(kept.body[1].createdAt), 'newest first');
  });

  it('does not fire when the schedule is disabled', async () => {
    const put = await server.request('PUT', `${DB}/${db.database.id}/backups/schedule`, { token, body: { enabled: false } });
    assert.equal(put.status, 200);
    assert.equal(put.body.retention, 2);
    const day = new Date(Date.now() + 20 * 24 * 3600_000).toISOString().slice(0, 10);
    assert.deepEqual(await tickAndWait(`${day}T03:00:30.000Z`), []);
  });

  it('checks roles: a read-operator reads snapshots but may not take, export, import or clone; an unassigned operator sees nothing', async () => {
    const client = async (body: Record<string, unknown>) => {
      const res = await server.request('POST', '/organizations/api-clients', { token, body });
      assert.equal(res.status, 201, res.text);
      return server.token({ clientId: res.body.clientId, clientSecret: res.body.clientSecret });
    };
    const reader = await client({ name: 'reader', role: 'read-operator', environmentIds: [server.environmentId] });
    const base = `${DB}/${db.database.id}`;
    assert.equal((await server.request('GET', `${base}/snapshots`, { token: reader })).status, 200);
    assert.equal((await server.request('GET', `${base}/backups/schedule`, { token: reader })).status, 200);
    for (const [method, path, body] of [
      ['POST', '/snapshots', {}],
      ['PUT', '/export', { format: 'archive' }],
      ['GET', '/exports', undefined],
      ['PUT', '/import', { url: 'https://bucket.s3.eu-west-1.amazonaws.com/x.tar.gz' }],
      ['POST', '/clone', { name: 'stolen' }],
      ['PUT', '/backups/schedule', { enabled: false }],
    ] as const) {
      const res = await server.request(method, `${base}${path}`, { token: reader, ...(body ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.match(res.body.error, /read-operator/);
    }
    const stranger = await client({ name: 'stranger', role: 'operator', environmentIds: [] });
    for (const path of ['/snapshots', '/backups', '/backups/latest', '/backups/schedule', '/exports']) {
      assert.equal((await server.request('GET', `${base}${path}`, { token: stranger })).status, 404, path);
    }
  });
});
