// The backups area on S3 storage (a real s3rver on 127.0.0.1): snapshots and restores go through the
// bucket, and an export's presigned link downloads with plain fetch and imports into a new database.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Driver } from 'neo4j-driver';
import { DB, countsOf, createDatabase, driverFor, operationFinished, query, startBackupsServer, startS3rver, waitForBolt, type BackupsServer } from './helpers/backups.js';

const BUCKET = 'allotrope-backups';

describe('backups on S3 storage', () => {
  let dir: string;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let server: BackupsServer;
  let token: string;
  let source: { database: any; password: string };
  let driver: Driver;
  const drivers: Driver[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-backups-s3-'));
    s3 = await startS3rver(dir, BUCKET);
    server = await startBackupsServer({ s3: { endpoint: s3.endpoint, bucket: BUCKET } });
    token = server.adminToken;
    source = await createDatabase(server, token, { environmentId: server.environmentId, name: 'on-s3', plan: 'ds2' });
    driver = driverFor(source.database, source.password);
    drivers.push(driver);
    await query(driver, "UNWIND range(1, 40) AS i CREATE (:N {i: i, s: 'v' + toString(i), d: date('2024-01-01') + duration({days: i})})");
    await query(driver, 'MATCH (a:N {i: 1}), (b:N {i: 2}) CREATE (a)-[:R {w: 0.25}]->(b)');
  });

  after(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots into the bucket and restores from it', async () => {
    const res = await server.request('POST', `${DB}/${source.database.id}/snapshots`, { token, body: { label: 's3' } });
    assert.equal(res.status, 202, res.text);
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const keys = await server.blobStore.list(`snapshots/`);
    assert.equal(keys.length, 1);
    assert.ok(keys[0]!.endsWith(`${res.body.snapshot.id}.tar.gz`));
    await query(driver, 'CREATE (:Later)');
    const restore = await server.request('POST', `${DB}/${source.database.id}/snapshots/${res.body.snapshot.id}/restore`, { token, body: {} });
    await operationFinished(server, token, source.database.id, restore.body.operationId);
    await waitForBolt(driver);
    assert.deepEqual(await countsOf(driver), { nodes: 40, relationships: 1 });
  });

  it('exports with a presigned link that plain fetch downloads, and imports it into a new database', async () => {
    const res = await server.request('PUT', `${DB}/${source.database.id}/export`, { token, body: { format: 'archive' } });
    await operationFinished(server, token, source.database.id, res.body.operationId);
    const exp = (await server.request('GET', `${DB}/${source.database.id}/exports/${res.body.export.id}`, { token })).body;
    assert.ok(exp.url.startsWith(`${s3.endpoint}/${BUCKET}/`), exp.url);
    assert.match(exp.url, /X-Amz-Signature=/);
    const download = await fetch(exp.url);
    assert.equal(download.status, 200);
    const archive = Buffer.from(await download.arrayBuffer());
    assert.equal(archive.length, exp.sizeBytes);

    // s3rver does not check presigned signatures, so only the link's lifetime is checked here: it ends
    // with the export's expiresAt (24 h). Altered local links are covered in backups-export-import.
    const lifetime = Number(new URL(exp.url).searchParams.get('X-Amz-Expires'));
    assert.ok(lifetime > 24 * 3600 - 60 && lifetime <= 24 * 3600, `X-Amz-Expires ${lifetime}`);

    const target = await createDatabase(server, token, { environmentId: server.environmentId, name: 'from-s3', plan: 'ds1' });
    const form = new FormData();
    form.append('file', new Blob([archive]), 'export.tar.gz');
    const up = await fetch(new URL(`${DB}/${target.database.id}/import`, server.url), { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: form });
    assert.equal(up.status, 202);
    const { operationId } = (await up.json()) as { operationId: string };
    await operationFinished(server, token, target.database.id, operationId);
    const d = driverFor(target.database, target.password);
    drivers.push(d);
    await waitForBolt(d);
    assert.deepEqual(await countsOf(d), { nodes: 40, relationships: 1 });
    const [row] = await query(d, 'MATCH (n:N {i: 7}) RETURN n.s AS s, n.d AS d');
    assert.equal(row.s, 'v7');
    assert.equal(String(row.d), '2024-01-08');
    // The upload was removed from the bucket once imported.
    assert.deepEqual(await server.blobStore.list('imports/'), []);
  });
});
