// The S3 store against a real S3-compatible server (s3rver) on 127.0.0.1, random port, temp directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobNotFoundError, BlobTooLargeError, InvalidKeyError } from '../src/storage/blob-store.js';
import { S3BlobStore, createBlobStore, parseS3Url } from '../src/storage/s3.js';
import { waitFor } from './helpers/wait-for.js';
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/clock.js';
import { createBackupsStorage } from '../src/server/backups.js';

// s3rver runs in a plain `node` child: under the tsx loader, one of koa's dependencies
// (generator-function) resolves to its ESM build and s3rver fails to start. The child exits when its
// stdin closes, so it cannot outlive this test file.
const S3RVER_SCRIPT = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2], configureBuckets: [{ name: process.argv[3] }] });
server.run().then((address) => process.stdout.write(JSON.stringify(address) + '\\n'));
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

async function startS3rver(directory: string, bucket: string): Promise<{ child: ChildProcess; port: number }> {
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['-e', S3RVER_SCRIPT, modulePath, directory, bucket], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const line = await waitFor(() => (output.includes('\n') ? output.split('\n')[0] : null), { what: 's3rver to listen' });
  return { child, port: (JSON.parse(line!) as AddressInfo).port };
}

const BUCKET = 'allotrope-backups';
const MIB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function pattern(bytes: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

describe('s3 blob store', () => {
  let dir: string;
  let server: ChildProcess;
  let endpoint: string;
  let store: S3BlobStore;
  const commands: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-s3rver-'));
    const started = await startS3rver(dir, BUCKET);
    server = started.child;
    endpoint = `http://127.0.0.1:${started.port}`;
    store = new S3BlobStore({
      bucket: BUCKET,
      prefix: 'tenant/one',
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      partSizeBytes: 5 * MIB,
    });
    // Record which S3 calls complete, to observe multipart progress without timing guesses.
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          const result = await next(args);
          commands.push(String(context.commandName));
          return result;
        } catch (err) {
          commands.push(`${String(context.commandName)} failed: ${String(err)}`);
          throw err;
        }
      },
      { step: 'initialize', name: 'recordCommands' },
    );
  });

  after(async () => {
    store.close();
    const exited = once(server, 'exit');
    server.stdin!.end();
    await exited;
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, stats, reads, lists and deletes a blob under the configured prefix', async () => {
    const data = Buffer.from('snapshot bytes');
    const result = await store.put('db1/s1.tar.gz', Readable.from([data]), { contentType: 'application/gzip' });
    assert.deepEqual(result, { sizeBytes: data.length, sha256: sha256(data) });
    assert.deepEqual(await store.stat('db1/s1.tar.gz'), { sizeBytes: data.length });
    assert.deepEqual(await buffer(await store.get('db1/s1.tar.gz')), data);
    await store.put('db1/s2.tar.gz', Readable.from([Buffer.from('two')]));
    await store.put('db10/s3.tar.gz', Readable.from([Buffer.from('three')]));
    assert.deepEqual(await store.list('db1/'), ['db1/s1.tar.gz', 'db1/s2.tar.gz']);
    assert.deepEqual(await store.list('db1'), ['db1/s1.tar.gz', 'db1/s2.tar.gz', 'db10/s3.tar.gz']);
    await store.delete('db1/s2.tar.gz');
    assert.deepEqual(await store.list('db1/'), ['db1/s1.tar.gz']);
  });

  it('uploads a blob larger than a part as a multipart upload and reads it back intact', async () => {
    const data = pattern(11 * MIB + 123, 5);
    commands.length = 0;
    const result = await store.put('big/multi.bin', Readable.from([data.subarray(0, 4 * MIB), data.subarray(4 * MIB)]));
    assert.equal(result.sizeBytes, data.length);
    assert.equal(result.sha256, sha256(data));
    assert.equal(commands.filter((c) => c === 'UploadPartCommand').length, 3);
    assert.ok(commands.includes('CompleteMultipartUploadCommand'));
    assert.equal(sha256(await buffer(await store.get('big/multi.bin'))), sha256(data));
  });

  it('shows nothing while a multipart upload is under way, and aborts it when the source fails', async () => {
    commands.length = 0;
    const source = new PassThrough();
    const writing = store.put('big/interrupted.bin', source);
    source.write(pattern(6 * MIB, 1));
    await waitFor(() => commands.includes('UploadPartCommand'), { what: 'a first part to be uploaded' });
    assert.equal(await store.stat('big/interrupted.bin'), null);
    source.destroy(new Error('upload connection lost'));
    await assert.rejects(writing, /upload connection lost/);
    // The parts are discarded with AbortMultipartUpload; s3rver answers it with MethodNotAllowed (it has
    // no abort), so only the attempt can be checked here.
    assert.ok(commands.some((c) => c.startsWith('AbortMultipartUploadCommand')), commands.join());
    assert.equal(await store.stat('big/interrupted.bin'), null);
  });

  it('refuses a blob over maxBytes and stores nothing', async () => {
    await assert.rejects(store.put('limits/too-big', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 }), BlobTooLargeError);
    assert.equal(await store.stat('limits/too-big'), null);
  });

  it('reports missing blobs and rejects unsafe keys', async () => {
    await assert.rejects(store.get('missing/blob'), BlobNotFoundError);
    assert.equal(await store.stat('missing/blob'), null);
    await store.delete('missing/blob');
    await assert.rejects(store.get('../other-tenant/blob'), InvalidKeyError);
    await assert.rejects(store.put('/abs', Readable.from([Buffer.from('x')])), InvalidKeyError);
  });

  it('gives a presigned link that plain fetch downloads without credentials', async () => {
    const data = Buffer.from('exported archive contents');
    await store.put('exports/e1.tar.gz', Readable.from([data]));
    const url = await store.signedDownloadUrl('exports/e1.tar.gz', { expiresInSeconds: 600, fileName: 'test_db.tar.gz' });
    assert.match(url, /X-Amz-Signature=/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), data);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="test_db.tar.gz"/);
  });

  it('gives a presigned link that stops working once expired', async () => {
    // Signed two hours ago for one hour: already expired, no waiting needed.
    const past = new S3BlobStore({
      bucket: BUCKET,
      prefix: 'tenant/one',
      endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      clock: { now: () => new Date(Date.now() - 2 * 3600_000) },
    });
    try {
      const url = await past.signedDownloadUrl('exports/e1.tar.gz', { expiresInSeconds: 3600, fileName: 'e1.tar.gz' });
      const response = await fetch(url);
      assert.equal(response.status, 403);
      await response.arrayBuffer();
    } finally {
      past.close();
    }
  });

  it('is what createBlobStore builds from an s3:// URL and the usual AWS variables (read by loadConfig)', async () => {
    const { s3 } = loadConfig({ env: { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'eu-west-1' } }).backups;
    assert.deepEqual(s3, { region: 'eu-west-1', endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const fromUrl = createBlobStore(`s3://${BUCKET}/from-env`, {
      publicBaseUrl: 'http://unused',
      downloadSecret: 'unused-secret-0123456789',
      s3: { forcePathStyle: true, region: s3.region, endpoint: s3.endpoint!, credentials: s3.credentials! },
    });
    assert.equal(fromUrl.kind, 's3');
    try {
      await fromUrl.put('k/v', Readable.from([Buffer.from('via env')]));
      assert.deepEqual(await buffer(await store.client.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: BUCKET, Key: 'from-env/k/v' })).then((o) => o.Body as Readable)), Buffer.from('via env'));
    } finally {
      (fromUrl as S3BlobStore).close();
    }
  });

  it("is what serve builds from Config.backups.s3 (createBackupsStorage): the region, endpoint and keys reach the S3 client", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'allotrope-s3-config-'));
    try {
      const config = loadConfig({ env: { ALLOTROPE_DATA_DIR: dataDir, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SESSION_TOKEN: 'tok', AWS_DEFAULT_REGION: 'eu-central-1' } });
      const built = createBackupsStorage({ config, clock: systemClock, storageUrl: `s3://${BUCKET}/served` }) as S3BlobStore;
      try {
        assert.equal(built.kind, 's3');
        assert.equal(built.prefix, 'served');
        assert.equal(await built.client.config.region(), 'eu-central-1');
        const url = await built.client.config.endpoint!();
        assert.equal(`${url.protocol}//${url.hostname}:${url.port}`, endpoint);
        // Given in code (the SDK marks them CREDENTIALS_CODE), not found by its own look at the environment.
        const { accessKeyId, secretAccessKey, sessionToken } = await built.client.config.credentials();
        assert.deepEqual({ accessKeyId, secretAccessKey, sessionToken }, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', sessionToken: 'tok' });
      } finally {
        built.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('parses s3:// URLs and refuses bad bucket names', () => {
    assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b' });
    assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    assert.throws(() => parseS3Url('s3://ab/x'), /not a valid bucket name/);
    assert.throws(() => parseS3Url('s3://Bad_Bucket/x'), /not a valid bucket name/);
    assert.throws(() => parseS3Url('s3://bucket/../x'), InvalidKeyError);
  });
});
