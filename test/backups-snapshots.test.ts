// Snapshots against real graph-server processes: plan gating, snapshot → more writes → restore (the
// extra writes are gone), restore into another database, create from a snapshot, clone while the
// source is being written to, the final snapshot of terminate, and the list/get/latest/delete routes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Driver } from 'neo4j-driver';
import { DB, countsOf, createDatabase, driverFor, operationFinished, query, startBackupsServer, waitForBolt, type BackupsServer } from './helpers/backups.js';
import { waitForOperation } from './helpers/lifecycle.js';

describe('snapshots, restore and clone', () => {
  let server: BackupsServer;
  let token: string;
  let source: { database: any; password: string };
  let driver: Driver;
  const drivers: Driver[] = [];

  before(async () => {
    server = await startBackupsServer();
    token = server.adminToken;
    source = await createDatabase(server, token, { environmentId: server.environmentId, name: 'source', plan: 'ds2' });
    driver = driverFor(source.database, source.password);
    drivers.push(driver);
    await query(driver, "UNWIND range(1, 50) AS i CREATE (:Item {n: i, name: 'item ' + toString(i)})");
    await query(driver, 'MATCH (a:Item {n: 1}), (b:Item {n: 2}) CREATE (a)-[:NEXT {w: 1.5}]->(b)');
  });

  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  it('refuses snapshots and scheduled backups on a developer plan with 403 naming the plan', async () => {
    const dev = await createDatabase(server, token, { environmentId: server.environmentId, name: 'dev', plan: 'ds1' });
    const snap = await server.request('POST', `${DB}/${dev.database.id}/snapshots`, { token, body: { label: 'x' } });
    assert.equal(snap.status, 403);
    assert.match(snap.body.error, /standard plan/);
    assert.match(snap.body.error, /DS1/);
    const schedule = await server.request('PUT', `${DB}/${dev.database.id}/backups/schedule`, { token, body: { enabled: true, frequency: 'daily', time: '03:00' } });
    assert.equal(schedule.status, 403);
    assert.match(schedule.body.error, /DS1/);
    // Reading the (disabled) schedule and exporting work on every plan.
    const read = await server.request('GET', `${DB}/${dev.database.id}/backups/schedule`, { token });
    assert.equal(read.status, 200);
    assert.equal(read.body.enabled, false);
  });

  let snapshotId: string;

  it('takes a snapshot with a label while the database keeps serving', async () => {
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots`, { token, body: { label: 'before the change' } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.snapshot.status, 'pending');
    assert.equal(res.body.snapshot.kind, 'on-demand');
    assert.equal(res.body.snapshot.label, 'before the change');
    snapshotId = res.body.snapshot.id;
    // The source is not locked: reads and writes go on while the snapshot runs.
    assert.equal((await query(driver, 'MATCH (n:Item) RETURN count(n) AS c'))[0].c.toNumber(), 50);
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const got = await server.request('GET', `${DB}/${source.database.id}/snapshots/${snapshotId}`, { token });
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'ready');
    assert.deepEqual(got.body.counts, { nodes: 50, relationships: 1 });
    assert.match(got.body.sha256, /^[0-9a-f]{64}$/);
    assert.ok(got.body.sizeBytes > 0);
    const list = await server.request('GET', `${DB}/${source.database.id}/snapshots`, { token });
    assert.deepEqual(list.body.map((s: any) => s.id), [snapshotId]);
    const latest = await server.request('GET', `${DB}/${source.database.id}/backups/latest`, { token });
    assert.equal(latest.body.id, snapshotId);
    const scheduled = await server.request('GET', `${DB}/${source.database.id}/backups`, { token });
    assert.deepEqual(scheduled.body, []);
  });

  it('restores a snapshot: writes made after it are gone, element ids are as they were', async () => {
    const elementIdOf3 = async () => (await query(driver, 'MATCH (n:Item {n: 3}) RETURN elementId(n) AS id'))[0].id as string;
    const before = await elementIdOf3();
    await query(driver, 'UNWIND range(1, 25) AS i CREATE (:Extra {n: i})');
    await query(driver, "MATCH (n:Item {n: 3}) SET n.name = 'changed'");
    assert.deepEqual(await countsOf(driver), { nodes: 75, relationships: 1 });
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots/${snapshotId}/restore`, { token, body: {} });
    assert.equal(res.status, 202, res.text);
    const again = await server.request('POST', `${DB}/${source.database.id}/snapshots/${snapshotId}/restore`, { token, body: {} });
    assert.equal(again.status, 409);
    const op = await operationFinished(server, token, source.database.id, res.body.operationId);
    assert.deepEqual(op.steps.map((s: any) => s.name), ['verify-snapshot', 'replace-data', 'start-node', 'keep-new-data', 'clean-up']);
    await waitForBolt(driver);
    assert.deepEqual(await countsOf(driver), { nodes: 50, relationships: 1 });
    assert.equal((await query(driver, 'MATCH (n:Item {n: 3}) RETURN n.name AS name'))[0].name, 'item 3');
    // The database keeps its identity: an element id an application kept from before the snapshot still names the node.
    assert.equal(await elementIdOf3(), before);
    const db = await server.request('GET', `${DB}/${source.database.id}`, { token });
    assert.equal(db.body.status.state, 'running');
  });

  it('restores into another database (targetDatabaseId) and creates a database from a snapshot', async () => {
    const target = await createDatabase(server, token, { environmentId: server.environmentId, name: 'target', plan: 'ds2' });
    const targetDriver = driverFor(target.database, target.password);
    drivers.push(targetDriver);
    await query(targetDriver, 'CREATE (:Other), (:Other)');
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots/${snapshotId}/restore`, { token, body: { targetDatabaseId: target.database.id } });
    assert.equal(res.status, 202, res.text);
    await operationFinished(server, token, target.database.id, res.body.operationId);
    await waitForBolt(targetDriver);
    assert.deepEqual(await countsOf(targetDriver), { nodes: 50, relationships: 1 });

    const seeded = await createDatabase(server, token, { environmentId: server.environmentId, name: 'seeded', plan: 'ds1', fromSnapshotId: snapshotId });
    const restoreStep = seeded.operation.steps.find((s: any) => s.name === 'restore-snapshot');
    assert.match(restoreStep.message, /restored snapshot/);
    const seededDriver = driverFor(seeded.database, seeded.password);
    drivers.push(seededDriver);
    assert.deepEqual(await countsOf(seededDriver), { nodes: 50, relationships: 1 });

    const unknown = await server.request('POST', DB, { token, body: { environmentId: server.environmentId, name: 'nope', plan: 'ds1', version: '5.26-grafeo', fromSnapshotId: 'f'.repeat(32) } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /snapshot '.*' does not exist/);
  });

  it('clones a running database while it is being written to; the source keeps serving', async () => {
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await query(driver, 'CREATE (:Live {at: timestamp()})');
        writes++;
      }
    })();
    const res = await server.request('POST', `${DB}/${source.database.id}/clone`, { token, body: { name: 'the-clone' } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.database.plan, 'ds2');
    assert.ok(res.body.credentials.password);
    const op = await waitForOperation(server, token, res.body.database.id, res.body.operationId, 60_000);
    writing = false;
    await writer;
    assert.equal(op.status, 'finished', JSON.stringify(op));
    assert.ok(writes > 0, 'the source accepted writes during the clone');
    const cloneDriver = driverFor(res.body.database, res.body.credentials.password);
    drivers.push(cloneDriver);
    const cloned = await countsOf(cloneDriver);
    // A consistent copy of some moment: every Item and the relationship, and a prefix of the live writes.
    assert.equal((await query(cloneDriver, 'MATCH (n:Item) RETURN count(n) AS c'))[0].c.toNumber(), 50);
    assert.equal(cloned.relationships, 1);
    const live = (await query(driver, 'MATCH (n:Live) RETURN count(n) AS c'))[0].c.toNumber();
    assert.ok(cloned.nodes - 50 <= live);
    // The clone's seed snapshot is internal: not listed among the source's snapshots.
    const list = await server.request('GET', `${DB}/${source.database.id}/snapshots`, { token });
    assert.ok(list.body.every((s: any) => s.kind !== 'clone'));
  });

  it('refuses to restore a snapshot whose stored archive was altered, leaving the data untouched', async () => {
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots`, { token, body: { label: 'to be tampered' } });
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const key = (await server.blobStore.list('snapshots/')).find((k) => k.includes(res.body.snapshot.id))!;
    const original = Buffer.concat(await (await server.blobStore.get(key)).toArray());
    // A valid archive of other data under the same key: every file checksum matches its own manifest,
    // only the archive's recorded sha256 tells it apart.
    const other = await server.request('POST', `${DB}/${source.database.id}/snapshots`, { token, body: {} });
    await operationFinished(server, token, source.database.id, other.body.operationId);
    const otherKey = (await server.blobStore.list('snapshots/')).find((k) => k.includes(other.body.snapshot.id))!;
    await server.blobStore.put(key, await server.blobStore.get(otherKey));
    assert.notDeepEqual(Buffer.concat(await (await server.blobStore.get(key)).toArray()), original);
    const before = await countsOf(driver);
    const restore = await server.request('POST', `${DB}/${source.database.id}/snapshots/${res.body.snapshot.id}/restore`, { token, body: {} });
    const op = await waitForOperation(server, token, source.database.id, restore.body.operationId, 60_000);
    assert.equal(op.status, 'failed');
    assert.match(op.error, /altered or damaged/);
    assert.match(op.error, /not changed/);
    assert.deepEqual(await countsOf(driver), before);
    assert.equal((await server.request('GET', `${DB}/${source.database.id}`, { token })).body.status.state, 'running');
    for (const id of [res.body.snapshot.id, other.body.snapshot.id]) {
      assert.equal((await server.request('DELETE', `${DB}/${source.database.id}/snapshots/${id}`, { token })).status, 204);
    }
  });

  it('deletes a snapshot', async () => {
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots`, { token, body: {} });
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const id = res.body.snapshot.id;
    const del = await server.request('DELETE', `${DB}/${source.database.id}/snapshots/${id}`, { token });
    assert.equal(del.status, 204);
    assert.equal((await server.request('GET', `${DB}/${source.database.id}/snapshots/${id}`, { token })).status, 404);
    assert.equal((await server.request('DELETE', `${DB}/${source.database.id}/snapshots/${id}`, { token })).status, 404);
  });

  it('takes a final snapshot on terminate, kept for 7 days', async () => {
    const doomed = await createDatabase(server, token, { environmentId: server.environmentId, name: 'doomed', plan: 'ds2' });
    const d = driverFor(doomed.database, doomed.password);
    await query(d, 'CREATE (:Keep {v: 42})');
    await d.close();
    const res = await server.request('DELETE', `${DB}/${doomed.database.id}`, { token });
    assert.equal(res.status, 202);
    const op = await operationFinished(server, token, doomed.database.id, res.body.operationId);
    assert.match(op.steps[0].message, /final snapshot/);
    const list = await server.request('GET', `${DB}/${doomed.database.id}/snapshots`, { token });
    assert.equal(list.status, 200);
    const final = list.body.find((s: any) => s.kind === 'final');
    assert.ok(final, JSON.stringify(list.body));
    assert.equal(final.status, 'ready');
    assert.deepEqual(final.counts, { nodes: 1, relationships: 0 });
    const keptMs = Date.parse(final.expiresAt) - Date.parse(final.createdAt);
    assert.ok(Math.abs(keptMs - 7 * 24 * 3600_000) < 5_000, `kept ${keptMs} ms`);
  });

  it('takes the final snapshot of a paused database too', async () => {
    const paused = await createDatabase(server, token, { environmentId: server.environmentId, name: 'paused', plan: 'ds2' });
    const d = driverFor(paused.database, paused.password);
    await query(d, 'CREATE (:Kept), (:Kept)');
    await d.close();
    const pause = await server.request('PUT', `${DB}/${paused.database.id}/pause`, { token });
    await operationFinished(server, token, paused.database.id, pause.body.operationId);
    const res = await server.request('DELETE', `${DB}/${paused.database.id}`, { token });
    await operationFinished(server, token, paused.database.id, res.body.operationId);
    const list = await server.request('GET', `${DB}/${paused.database.id}/snapshots`, { token });
    const final = list.body.find((s: any) => s.kind === 'final');
    assert.equal(final?.status, 'ready', JSON.stringify(list.body));
    assert.deepEqual(final.counts, { nodes: 2, relationships: 0 });
    // A final snapshot seeds a new database.
    const reborn = await createDatabase(server, token, { environmentId: server.environmentId, name: 'reborn', plan: 'ds1', fromSnapshotId: final.id });
    const r = driverFor(reborn.database, reborn.password);
    drivers.push(r);
    assert.deepEqual(await countsOf(r), { nodes: 2, relationships: 0 });
  });

  it('snapshots, exports, clones and restores into a paused database from its files; it stays paused', async () => {
    const sleeper = await createDatabase(server, token, { environmentId: server.environmentId, name: 'sleeper', plan: 'ds2' });
    const d = driverFor(sleeper.database, sleeper.password);
    await query(d, "CREATE (:Night {n: 1})-[:NEXT]->(:Night {n: 2}), (:Night {n: 3, day: date('2026-11-23')})");
    await d.close();
    const id = sleeper.database.id;
    const pause = await server.request('PUT', `${DB}/${id}/pause`, { token });
    await operationFinished(server, token, id, pause.body.operationId);
    const stillPaused = async (): Promise<void> => {
      assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'paused');
      // The router keeps the public port; what must not exist is a node process.
      assert.equal(await server.runtime.pidOf(sleeper.database.nodes[0].stationId), undefined, 'no process serves a paused database');
    };

    const snap = await server.request('POST', `${DB}/${id}/snapshots`, { token, body: { label: 'at night' } });
    assert.equal(snap.status, 202, snap.text);
    await operationFinished(server, token, id, snap.body.operationId);
    const taken = await server.request('GET', `${DB}/${id}/snapshots/${snap.body.snapshot.id}`, { token });
    assert.equal(taken.body.status, 'ready');
    assert.deepEqual(taken.body.counts, { nodes: 3, relationships: 1 });
    await stillPaused();

    const exp = await server.request('PUT', `${DB}/${id}/export`, { token, body: { format: 'cypher' } });
    assert.equal(exp.status, 202, exp.text);
    await operationFinished(server, token, id, exp.body.operationId);
    const script = await (await fetch((await server.request('GET', `${DB}/${id}/exports/${exp.body.export.id}`, { token })).body.url)).text();
    assert.match(script, /date\('2026-11-23'\)/);
    await stillPaused();

    const clone = await server.request('POST', `${DB}/${id}/clone`, { token, body: { name: 'morning' } });
    assert.equal(clone.status, 202, clone.text);
    const op = await waitForOperation(server, token, clone.body.database.id, clone.body.operationId, 60_000);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    const c = driverFor(clone.body.database, clone.body.credentials.password);
    drivers.push(c);
    assert.deepEqual(await countsOf(c), { nodes: 3, relationships: 1 });
    await stillPaused();

    // A snapshot of another database restored into it while it sleeps: it stays paused.
    const restore = await server.request('POST', `${DB}/${source.database.id}/snapshots/${snapshotId}/restore`, { token, body: { targetDatabaseId: id } });
    assert.equal(restore.status, 202, restore.text);
    assert.equal((await server.request('GET', `${DB}/${id}`, { token })).body.status.state, 'restoring');
    const restored = await operationFinished(server, token, id, restore.body.operationId);
    assert.match(restored.steps.find((s: any) => s.name === 'start-node').message, /stays paused/);
    await stillPaused();

    // The next resume serves the restored data.
    const resume = await server.request('PUT', `${DB}/${id}/resume`, { token });
    await operationFinished(server, token, id, resume.body.operationId);
    const r = driverFor(sleeper.database, sleeper.password);
    drivers.push(r);
    await waitForBolt(r);
    assert.deepEqual(await countsOf(r), { nodes: 50, relationships: 1 });
  });

  it('refuses snapshots, exports and clones of a database that is neither running nor paused', async () => {
    const gone = await createDatabase(server, token, { environmentId: server.environmentId, name: 'gone', plan: 'ds2' });
    const del = await server.request('DELETE', `${DB}/${gone.database.id}`, { token });
    await operationFinished(server, token, gone.database.id, del.body.operationId);
    for (const [method, path, body] of [
      ['POST', 'snapshots', {}],
      ['PUT', 'export', {}],
      ['POST', 'clone', { name: 'from-the-grave' }],
    ] as const) {
      const res = await server.request(method, `${DB}/${gone.database.id}/${path}`, { token, body });
      assert.equal(res.status, 409, `${path}: ${res.text}`);
      assert.match(res.body.error, /database is terminated; .* needs a database that is running or paused/);
    }
  });

  it('sweeps final snapshots after their 7 days and clone seeds after a day', async () => {
    const count = async (kind: string) => Number((await server.running.store.db.selectFrom('snapshots').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', kind).executeTakeFirstOrThrow()).n);
    assert.ok((await count('final')) >= 1);
    assert.ok((await count('clone')) >= 1);
    const onDemand = await count('on-demand');
    await server.backups.scheduler.tick(new Date(Date.now() + 2 * 24 * 3600_000));
    assert.equal(await count('clone'), 0);
    assert.ok((await count('final')) >= 1, 'final snapshots are kept for 7 days');
    await server.backups.scheduler.tick(new Date(Date.now() + 8 * 24 * 3600_000));
    assert.equal(await count('final'), 0);
    assert.equal(await count('on-demand'), onDemand, 'on-demand snapshots never expire');
    const keys = await server.blobStore.list('snapshots/');
    assert.equal(keys.length, onDemand);
  });
});
