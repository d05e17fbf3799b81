import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobNotFoundError, BlobTooLargeError, InvalidKeyError, validateKey } from '../src/storage/blob-store.js';
import { DownloadLinkError, FsBlobStore, verifyDownloadSignature } from '../src/storage/fs.js';
import { createBlobStore } from '../src/storage/s3.js';
import { waitFor } from './helpers/wait-for.js';

const SECRET = 'test-download-secret-0123456789abcdef';

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Deterministic pseudo-random bytes, produced chunk by chunk so the test itself holds little in memory.
function generated(totalBytes: number, chunkBytes = 1 << 20): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  let seed = 7;
  const stream = new Readable({
    read() {
      if (sent >= totalBytes) return void this.push(null);
      const n = Math.min(chunkBytes, totalBytes - sent);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        chunk.writeUInt32LE(seed, i);
      }
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

describe('fs blob store', () => {
  let root: string;
  let store: FsBlobStore;
  const now = new Date('2026-01-01T00:00:00Z');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'allotrope-fs-store-'));
    store = new FsBlobStore({ root, publicBaseUrl: 'https://allotrope.test/base/', downloadSecret: SECRET, clock: { now: () => now } });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a blob and reads it back with its size and sha256', async () => {
    const data = Buffer.from('hello backups\n');
    const result = await store.put('db1/snapshots/s1.tar.gz', Readable.from([data]));
    assert.deepEqual(result, { sizeBytes: data.length, sha256: sha256(data) });
    assert.deepEqual(await buffer(await store.get('db1/snapshots/s1.tar.gz')), data);
    assert.deepEqual(await store.stat('db1/snapshots/s1.tar.gz'), { sizeBytes: data.length });
  });

  it('streams a 48 MB blob through in chunks and hashes it correctly', async () => {
    const source = generated(48 * 1024 * 1024);
    const result = await store.put('big/blob.bin', source.stream);
    assert.equal(result.sizeBytes, 48 * 1024 * 1024);
    assert.equal(result.sha256, source.sha256());
    const back = createHash('sha256');
    for await (const chunk of await store.get('big/blob.bin')) back.update(chunk as Buffer);
    assert.equal(back.digest('hex'), result.sha256);
    await store.delete('big/blob.bin');
  });

  it('never shows a blob before its write has completed, and a failed write leaves the old blob intact', async () => {
    await store.put('atomic/blob', Readable.from([Buffer.from('old contents')]));
    const source = new PassThrough();
    const writing = store.put('atomic/blob', source);
    source.write(Buffer.alloc(64 * 1024, 1));
    // The temp file exists (the write is under way) while readers still see the old blob in full.
    await waitFor(async () => (await readdir(join(root, 'atomic'))).some((n) => n.startsWith('.tmp-')), { what: 'temp file' });
    assert.deepEqual(await buffer(await store.get('atomic/blob')), Buffer.from('old contents'));
    assert.deepEqual(await store.list('atomic/'), ['atomic/blob']);
    source.destroy(new Error('client went away'));
    await assert.rejects(writing, /client went away/);
    assert.deepEqual(await buffer(await store.get('atomic/blob')), Buffer.from('old contents'));
    assert.deepEqual(await readdir(join(root, 'atomic')), ['blob']);
  });

  it('a completed overwrite replaces the blob whole', async () => {
    await store.put('atomic/blob', Readable.from([Buffer.from('new contents!')]));
    assert.equal((await readFile(join(root, 'atomic', 'blob'))).toString(), 'new contents!');
  });

  it('refuses a blob over maxBytes and keeps nothing of it', async () => {
    await assert.rejects(store.put('limits/too-big', Readable.from([Buffer.alloc(1000), Buffer.alloc(1000)]), { maxBytes: 1500 }), BlobTooLargeError);
    assert.equal(await store.stat('limits/too-big'), null);
    assert.deepEqual(await readdir(join(root, 'limits')), []);
    const ok = await store.put('limits/fits', Readable.from([Buffer.alloc(1500)]), { maxBytes: 1500 });
    assert.equal(ok.sizeBytes, 1500);
  });

  it('rejects unsafe keys before touching the disk', async () => {
    const bad = ['', '../escape', 'a/../../escape', '/etc/passwd', 'a//b', 'a/b/', '.hidden', 'a/.tmp-x', 'a\\b', 'a b', 'a/./b', '-dash', 'x'.repeat(600), 'é'];
    for (const key of bad) {
      assert.throws(() => validateKey(key), InvalidKeyError, key);
      await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])), InvalidKeyError, key);
      await assert.rejects(store.get(key), InvalidKeyError, key);
    }
    await assert.rejects(store.list('../'), InvalidKeyError);
    assert.deepEqual(await readdir(join(root, '..')).then((names) => names.includes('escape')), false);
  });

  it('lists keys by string prefix, sorted, skipping writes in progress', async () => {
    for (const key of ['l/db1/a', 'l/db1/b', 'l/db10/c', 'l/db2/d']) await store.put(key, Readable.from([Buffer.from(key)]));
    await writeFile(join(root, 'l', 'db1', '.tmp-inprogress'), 'partial');
    assert.deepEqual(await store.list('l/db1/'), ['l/db1/a', 'l/db1/b']);
    assert.deepEqual(await store.list('l/db1'), ['l/db1/a', 'l/db1/b', 'l/db10/c']);
    assert.deepEqual(await store.list('l/'), ['l/db1/a', 'l/db1/b', 'l/db10/c', 'l/db2/d']);
    assert.deepEqual(await store.list('nothing/here/'), []);
  });

  it('reports missing blobs: get throws BlobNotFoundError, stat is null, delete is a no-op', async () => {
    await assert.rejects(store.get('missing/blob'), BlobNotFoundError);
    assert.equal(await store.stat('missing/blob'), null);
    await store.delete('missing/blob');
    await store.put('del/me', Readable.from([Buffer.from('x')]));
    await store.delete('del/me');
    assert.equal(await store.stat('del/me'), null);
  });

  describe('signed download links', () => {
    before(async () => {
      await store.put('exports/e1.tar.gz', Readable.from([Buffer.from('export bytes')]));
    });

    function parse(url: string) {
      const u = new URL(url);
      assert.equal(u.origin, 'https://allotrope.test');
      assert.ok(u.pathname.startsWith('/base/downloads/'), u.pathname);
      return {
        key: decodeURIComponent(u.pathname.slice('/base/downloads/'.length)),
        expires: u.searchParams.get('expires') ?? undefined,
        signature: u.searchParams.get('signature') ?? undefined,
        name: u.searchParams.get('name') ?? undefined,
      };
    }

    it('serves a valid link with its size and file name', async () => {
      const link = parse(await store.signedDownloadUrl('exports/e1.tar.gz', { expiresInSeconds: 3600, fileName: 'my db.tar.gz' }));
      assert.equal(link.key, 'exports/e1.tar.gz');
      assert.equal(Number(link.expires), now.getTime() / 1000 + 3600);
      const download = await store.openSignedDownload(link, new Date(now.getTime() + 3599_000));
      assert.equal(download.sizeBytes, 12);
      assert.equal(download.fileName, 'my db.tar.gz');
      assert.match(download.contentDisposition, /^attachment; filename="my db.tar.gz"/);
      assert.deepEqual(await buffer(download.stream), Buffer.from('export bytes'));
    });

    it('refuses an expired link as expired', async () => {
      const link = parse(await store.signedDownloadUrl('exports/e1.tar.gz', { expiresInSeconds: 60, fileName: 'e1.tar.gz' }));
      await assert.rejects(store.openSignedDownload(link, new Date(now.getTime() + 60_000)), (err: unknown) => {
        return err instanceof DownloadLinkError && err.reason === 'expired' && err.statusCode === 403;
      });
    });

    it('refuses any altered part of a link as invalid', async () => {
      const link = parse(await store.signedDownloadUrl('exports/e1.tar.gz', { expiresInSeconds: 60, fileName: 'e1.tar.gz' }));
      const sig = link.signature!;
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      const altered = [
        { ...link, signature: flipped },
        { ...link, signature: sig.slice(0, -1) },
        { ...link, signature: undefined },
        { ...link, expires: String(Number(link.expires) + 86400) },
        { ...link, expires: undefined },
        { ...link, key: 'exports/e2.tar.gz' },
        { ...link, key: '../exports/e1.tar.gz' },
        { ...link, name: 'other.tar.gz' },
      ];
      for (const candidate of altered) {
        await assert.rejects(store.openSignedDownload(candidate, now), (err: unknown) => err instanceof DownloadLinkError && err.reason === 'invalid', JSON.stringify(candidate));
      }
      assert.equal(verifyDownloadSignature('another-secret-0123456789abcdef', link.key, link.expires!, sig, now, link.name), 'invalid');
      assert.equal(verifyDownloadSignature(SECRET, link.key, link.expires!, sig, now, link.name), 'ok');
    });
  });
});

describe('createBlobStore', () => {
  it('picks the filesystem store for file: URLs and plain paths', async () => {
    const root = await mkdtemp(join(tmpdir(), 'allotrope-fs-pick-'));
    try {
      const opts = { publicBaseUrl: 'http://localhost:1', downloadSecret: SECRET };
      assert.equal(createBlobStore(`file://${root}`, opts).kind, 'fs');
      assert.equal(createBlobStore(root, opts).kind, 'fs');
      assert.throws(() => createBlobStore('ftp://x/y', opts), /ALLOTROPE_STORAGE_URL/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
