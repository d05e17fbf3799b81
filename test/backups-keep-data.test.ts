// A restore or import never costs a database its data, against real graph-server processes: an archive
// whose engine file has the right checksum but is no database is refused before the swap; when the new
// data does not start, the old data is put back and served again; a database left `failed` still takes
// an import and a terminate (with a final snapshot of its intact data).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Driver } from 'neo4j-driver';
import { Header } from 'tar';
import { RuntimeError, type Runtime } from '../src/runtimes/runtime.js';
import { DB, countsOf, createDatabase, driverFor, operationFinished, query, startBackupsServer, waitForBolt, type BackupsServer } from './helpers/backups.js';
import { waitForOperation } from './helpers/lifecycle.js';

function tarGz(entries: { path: string; body: Buffer; type?: 'File' | 'Directory' }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const size = e.type === 'Directory' ? 0 : e.body.length;
    const header = new Header({ path: e.path, type: e.type ?? 'File', size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
    header.encode();
    blocks.push(header.block!);
    if (size > 0) blocks.push(e.body, Buffer.alloc((512 - (size % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Our archive layout with a manifest telling the truth about every file's size and sha256. */
function archiveOf(files: { path: string; body: Buffer }[], directories: string[] = []): Buffer {
  const manifest = Buffer.from(
    JSON.stringify({
      formatVersion: 1,
      engine: { name: 'grafeo', version: '0.6.0' },
      database: { id: 'b'.repeat(32), name: 'forged' },
      createdAt: new Date().toUTCString(),
      counts: { nodes: 0, relationships: 0 },
      files: files.map((f) => ({ path: f.path, sizeBytes: f.body.length, sha256: createHash('sha256').update(f.body).digest('hex') })),
    }),
  );
  return tarGz([
    { path: 'manifest.json', body: manifest },
    ...directories.map((d) => ({ path: `${d}/`, body: Buffer.alloc(0), type: 'Directory' as const })),
    ...files,
  ]);
}

describe('restore and import keep the old data', () => {
  let server: BackupsServer;
  let token: string;
  let archive: Buffer;
  const drivers: Driver[] = [];
  // Starts still to fail, injected between the control plane and the real local runtime.
  let failingStarts = 0;

  before(async () => {
    server = await startBackupsServer({
      settings: { importMaxBytes: 1024 * 1024 },
      wrapRuntime: (runtime): Runtime => ({
        ...runtime,
        async start(spec) {
          if (failingStarts > 0) {
            failingStarts--;
            throw new RuntimeError('Failed', `node ${spec.stationId} did not start (injected by the test)`);
          }
          return runtime.start(spec);
        },
      }),
    });
    token = server.adminToken;
    // A real archive to import: the export of a database holding two :New nodes.
    const source = await createDatabase(server, token, { environmentId: server.environmentId, name: 'new-data', plan: 'ds1' });
    const s = driverFor(source.database, source.password);
    drivers.push(s);
    await query(s, 'CREATE (:New), (:New)');
    const res = await server.request('PUT', `${DB}/${source.database.id}/export`, { token, body: { format: 'archive' } });
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const got = await server.request('GET', `${DB}/${source.database.id}/exports/${res.body.export.id}`, { token });
    archive = Buffer.from(await (await fetch(got.body.url)).arrayBuffer());
  });

  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  async function databaseWithOldData(name: string, plan = 'ds1'): Promise<{ id: string; driver: Driver }> {
    const db = await createDatabase(server, token, { environmentId: server.environmentId, name, plan });
    const driver = driverFor(db.database, db.password);
    drivers.push(driver);
    await query(driver, 'UNWIND range(1, 5) AS i CREATE (:Old {i: i})');
    return { id: db.database.id, driver };
  }

  async function importFails(id: string, data: Buffer): Promise<any> {
    const form = new FormData();
    form.append('file', new Blob([data]), 'upload.bin');
    const res = await fetch(new URL(`${DB}/${id}/import`, server.url), { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: form });
    const body: any = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    const op = await waitForOperation(server, token, id, body.operationId, 60_000);
    assert.equal(op.status, 'failed', JSON.stringify(op));
    assert.doesNotMatch(op.error, /\/tmp|\/work|backups-work/);
    return op;
  }

  async function importSucceeds(id: string, data: Buffer): Promise<void> {
    const form = new FormData();
    form.append('file', new Blob([data]), 'upload.bin');
    const res = await fetch(new URL(`${DB}/${id}/import`, server.url), { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: form });
    const body: any = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    await operationFinished(server, token, id, body.operationId);
  }

  const stateOf = async (id: string): Promise<string> => (await server.request('GET', `${DB}/${id}`, { token })).body.status.state;

  it('refuses an engine file of noise with the right checksum before the swap; the database serves its old data', async () => {
    const { id, driver } = await databaseWithOldData('noise');
    const op = await importFails(id, archiveOf([{ path: 'graph.grafeo', body: randomBytes(1600) }]));
    assert.match(op.error, /graph\.grafeo is not a database this server can open/);
    assert.match(op.error, /not changed/);
    assert.ok(!op.steps.some((s: any) => s.name === 'replace-data' && s.status === 'finished'), JSON.stringify(op.steps));
    assert.equal(await stateOf(id), 'running');
    assert.deepEqual(await countsOf(driver), { nodes: 5, relationships: 0 });
  });

  it('refuses an archive carrying files besides graph.grafeo (a database-id directory would stop the node starting)', async () => {
    const { id, driver } = await databaseWithOldData('extra-files');
    const op = await importFails(id, archiveOf([{ path: 'graph.grafeo', body: randomBytes(1600) }, { path: 'database-id/x', body: Buffer.from('x') }], ['database-id']));
    assert.match(op.error, /the archive holds 'database-id', which is not part of a database backup/);
    assert.equal(await stateOf(id), 'running');
    assert.deepEqual(await countsOf(driver), { nodes: 5, relationships: 0 });
  });

  it('puts the old data back and serves it when the new data does not start', async () => {
    const { id, driver } = await databaseWithOldData('no-start');
    failingStarts = 1;
    const op = await importFails(id, archive);
    assert.equal(failingStarts, 0);
    assert.match(op.error, /did not start with the new data; its previous data was put back and is served again/);
    assert.equal(await stateOf(id), 'running');
    await waitForBolt(driver);
    assert.deepEqual(await countsOf(driver), { nodes: 5, relationships: 0 });
    assert.equal((await query(driver, 'MATCH (n:New) RETURN count(n) AS c'))[0].c.toNumber(), 0);
    // Nothing kept aside lingers to be put back later: the next import sticks.
    await importSucceeds(id, archive);
    await waitForBolt(driver);
    assert.deepEqual(await countsOf(driver), { nodes: 2, relationships: 0 });
  });

  it('lets a failed database take an import, which mends it', async () => {
    const { id, driver } = await databaseWithOldData('mended');
    failingStarts = 3; // the new data, the old data put back, and the retry when the operation settles
    const op = await importFails(id, archive);
    assert.match(op.error, /nor with its previous data/);
    assert.equal(await stateOf(id), 'failed');
    await importSucceeds(id, archive);
    assert.equal(await stateOf(id), 'running');
    await waitForBolt(driver);
    assert.deepEqual(await countsOf(driver), { nodes: 2, relationships: 0 });
  });

  it('terminates a failed database with a final snapshot of its old data', async () => {
    const { id } = await databaseWithOldData('doomed', 'ds2');
    failingStarts = 3; // the new data, the old data put back, and the retry when the operation settles
    await importFails(id, archive);
    assert.equal(await stateOf(id), 'failed');
    const res = await server.request('DELETE', `${DB}/${id}`, { token });
    assert.equal(res.status, 202, res.text);
    await operationFinished(server, token, id, res.body.operationId);
    const list = await server.request('GET', `${DB}/${id}/snapshots`, { token });
    const final = list.body.find((s: any) => s.kind === 'final');
    assert.equal(final?.status, 'ready', JSON.stringify(list.body));
    assert.deepEqual(final.counts, { nodes: 5, relationships: 0 });
  });
});
