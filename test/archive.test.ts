import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createGzip, gunzipSync, gzipSync, type ZlibOptions } from 'node:zlib';
import { Header, Parser, type ReadEntry } from 'tar';
import { waitFor } from './helpers/wait-for.js';
import { ArchiveError, detectImportFormat, extractArchive, writeArchive, type ArchiveErrorCode, type Manifest } from '../src/storage/archive.js';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const FIELDS = {
  engineVersion: '0.6.0',
  database: { id: '822b16bb0c0d4631ae30719cab74c352', name: 'test_db' },
  createdAt: new Date('1994-11-06T08:49:37Z'),
  counts: { nodes: 12, relationships: 34 },
};

// Hand-built tar entries, to produce archives our writer never would (links, traversal, lies).
interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  data?: Buffer | string;
  linkpath?: string;
  /** Size written in the header when it should differ from the data's. */
  headerSize?: number;
}

function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      size: entry.headerSize ?? (entry.type && entry.type !== 'File' ? 0 : data.length),
      mode: 0o644,
      mtime: new Date('2024-01-01T00:00:00Z'),
      ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
    });
    header.encode();
    blocks.push(header.block!, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function manifestFor(files: Array<{ path: string; data: string }>, overrides: Partial<Manifest> = {}): string {
  const manifest: Manifest = {
    formatVersion: 1,
    engine: { name: 'grafeo', version: '0.6.0' },
    database: { id: 'db1', name: 'db one' },
    createdAt: 'Sun, 06 Nov 1994 08:49:37 GMT',
    counts: { nodes: 1, relationships: 0 },
    files: files.map((f) => ({ path: f.path, sizeBytes: Buffer.byteLength(f.data), sha256: sha256(f.data) })),
    ...overrides,
  };
  return JSON.stringify(manifest);
}

async function listEntries(archive: Buffer): Promise<Array<{ path: string; type: string }>> {
  const entries: Array<{ path: string; type: string }> = [];
  const parser = new Parser();
  parser.on('entry', (entry: ReadEntry) => {
    entries.push({ path: entry.path, type: entry.type });
    entry.resume();
  });
  await new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.end(gunzipSync(archive));
  });
  return entries;
}

describe('archive', () => {
  let work: string;
  let source: string;
  let archive: Buffer;
  const longName = `${'deep-'.repeat(8)}/${'very-long-file-name-'.repeat(7)}.grafeo`;
  const bigFile = Buffer.alloc(3 * 1024 * 1024 + 17);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'allotrope-archive-'));
    source = join(work, 'source');
    for (let i = 0; i < bigFile.length; i++) bigFile[i] = (i * 7 + 3) & 0xff;
    await mkdir(join(source, 'wal'), { recursive: true });
    await mkdir(join(source, 'empty-dir'));
    await mkdir(join(source, 'deep-'.repeat(8)), { recursive: true });
    await writeFile(join(source, 'backup_full_0000.grafeo'), bigFile);
    await writeFile(join(source, 'backup_manifest.json'), '{"epoch":3}');
    await writeFile(join(source, 'wal', 'empty.log'), '');
    await writeFile(join(source, longName), 'long path contents');
    archive = await buffer(writeArchive(source, FIELDS));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function expectRefused(bytes: Buffer, code: ArchiveErrorCode | ArchiveErrorCode[], message: RegExp): Promise<void> {
    const parent = await mkdtemp(join(work, 'refused-'));
    const target = join(parent, 'data');
    await assert.rejects(extractArchive(Readable.from([bytes]), target), (err: unknown) => {
      assert.ok(err instanceof ArchiveError, `expected ArchiveError, got ${String(err)}`);
      assert.ok((Array.isArray(code) ? code : [code]).includes(err.code), `${err.code}: ${err.message}`);
      assert.match(err.message, message);
      return true;
    });
    // Nothing left behind: no target, no temp directory beside it.
    assert.deepEqual(await readdir(parent), []);
  }

  function craft(entries: RawEntry[]): Buffer {
    return gzipSync(rawTar(entries));
  }

  it('writes manifest.json first, with counts, dates and the sha256 of every file', async () => {
    const entries = await listEntries(archive);
    assert.deepEqual(entries[0], { path: 'manifest.json', type: 'File' });
    assert.ok(entries.some((e) => e.path === longName), 'long path kept through a pax header');
    assert.ok(entries.some((e) => e.path === 'empty-dir/' && e.type === 'Directory'));
  });

  it('round-trips a directory: same files, same bytes, a manifest that describes them', async () => {
    const target = join(work, 'roundtrip', 'data');
    await mkdir(join(work, 'roundtrip'));
    const manifest = await extractArchive(Readable.from([archive]), target);
    assert.equal(manifest.formatVersion, 1);
    assert.deepEqual(manifest.engine, { name: 'grafeo', version: '0.6.0' });
    assert.deepEqual(manifest.database, FIELDS.database);
    assert.equal(manifest.createdAt, 'Sun, 06 Nov 1994 08:49:37 GMT');
    assert.deepEqual(manifest.counts, { nodes: 12, relationships: 34 });
    assert.deepEqual(
      manifest.files.map((f) => f.path).sort(),
      ['backup_full_0000.grafeo', 'backup_manifest.json', longName, 'wal/empty.log'].sort(),
    );
    assert.equal(manifest.files.find((f) => f.path === 'backup_full_0000.grafeo')!.sha256, sha256(bigFile));
    assert.deepEqual(await readFile(join(target, 'backup_full_0000.grafeo')), bigFile);
    assert.equal(await readFile(join(target, longName), 'utf8'), 'long path contents');
    assert.equal(await readFile(join(target, 'wal', 'empty.log'), 'utf8'), '');
    assert.deepEqual(await readdir(join(target, 'empty-dir')), []);
    assert.deepEqual((await readdir(join(work, 'roundtrip'))).sort(), ['data']);
  });

  it('extracts from a file stream into an existing empty directory', async () => {
    const path = join(work, 'a.tar.gz');
    await writeFile(path, archive);
    const target = join(work, 'empty-target');
    await mkdir(target);
    await extractArchive(createReadStream(path), target);
    assert.deepEqual(await readFile(join(target, 'backup_manifest.json'), 'utf8'), '{"epoch":3}');
  });

  it('refuses a target that already holds files and leaves it untouched', async () => {
    const target = join(work, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'keep.me'), 'precious');
    await assert.rejects(extractArchive(Readable.from([archive]), target), (err: unknown) => err instanceof ArchiveError && err.code === 'target-exists');
    assert.deepEqual(await readdir(target), ['keep.me']);
    assert.ok(!(await readdir(work)).some((n) => n.includes('.extract-')));
  });

  it('refuses an archive with a corrupted byte, wherever the byte is', async () => {
    // Depending on where it lands, gzip's CRC, the deflate decoder, the tar header checksum, the
    // manifest parser or a file's sha256 notices first; every one of them must refuse it.
    for (let spot = 1; spot < 60; spot++) {
      const corrupt = Buffer.from(archive);
      const at = Math.floor((corrupt.length * spot) / 60);
      corrupt[at] = corrupt[at]! ^ 0x5a;
      await expectRefused(corrupt, ['corrupt', 'checksum-mismatch', 'size-mismatch', 'bad-manifest', 'truncated'], /the archive is (corrupt|truncated)|ends early/);
    }
    const middle = Buffer.from(archive);
    middle[middle.length >> 1] = middle[middle.length >> 1]! ^ 0x5a;
    await expectRefused(middle, 'corrupt', /the archive is corrupt/);
  });

  it('refuses a truncated archive', async () => {
    await expectRefused(archive.subarray(0, Math.floor(archive.length * 0.6)), 'truncated', /truncated/);
    await expectRefused(archive.subarray(0, archive.length - 4), 'truncated', /truncated/);
  });

  it('refuses a well-compressed tar that itself ends early or has a damaged header', async () => {
    const files = [{ path: 'data.grafeo', data: 'x'.repeat(5000) }];
    const tar = rawTar([{ path: 'manifest.json', data: manifestFor(files) }, { path: 'data.grafeo', data: 'x'.repeat(5000) }]);
    await expectRefused(gzipSync(tar.subarray(0, 512 * 4)), 'truncated', /the archive is truncated/);
    const damaged = Buffer.from(tar);
    const secondHeader = 512 * (1 + Math.ceil(Buffer.byteLength(manifestFor(files)) / 512));
    damaged[secondHeader + 10] = 0x41; // inside the name field: the header checksum no longer matches
    await expectRefused(gzipSync(damaged), 'corrupt', /the archive is corrupt/);
    await expectRefused(gzipSync(Buffer.alloc(4096, 0x37)), 'corrupt', /the archive is corrupt/);
  });

  it('refuses something that is not a gzipped archive', async () => {
    await expectRefused(Buffer.from('MATCH (n) RETURN n'), 'not-an-archive', /not a gzipped archive/);
  });

  it("refuses an entry with '..' in its path and writes nothing outside the target", async () => {
    const files = [{ path: 'ok.bin', data: 'fine' }];
    const bytes = craft([
      { path: 'manifest.json', data: manifestFor(files) },
      { path: 'ok.bin', data: 'fine' },
      { path: '../escaped.txt', data: 'owned' },
    ]);
    await expectRefused(bytes, 'unsafe-entry', /'\.\.\/escaped\.txt'.*'\.\.'/);
    assert.ok(!(await readdir(work)).includes('escaped.txt'));
    const nested = craft([{ path: 'manifest.json', data: manifestFor(files) }, { path: 'sub/../../escaped.txt', data: 'owned' }]);
    await expectRefused(nested, 'unsafe-entry', /'\.\.'/);
  });

  it('refuses an entry with an absolute path', async () => {
    const target = join(work, 'abs-escape.txt');
    const bytes = craft([{ path: 'manifest.json', data: manifestFor([]) }, { path: target, data: 'owned' }]);
    await expectRefused(bytes, 'unsafe-entry', /absolute path/);
    assert.ok(!(await readdir(work)).includes('abs-escape.txt'));
  });

  it('refuses a symbolic link entry', async () => {
    const bytes = craft([
      { path: 'manifest.json', data: manifestFor([]) },
      { path: 'link', type: 'SymbolicLink', linkpath: '/etc' },
    ]);
    await expectRefused(bytes, 'unsafe-entry', /'link' is a symbolic link; only regular files and directories/);
  });

  it('refuses a hard link entry', async () => {
    const files = [{ path: 'a.bin', data: 'x' }];
    const bytes = craft([
      { path: 'manifest.json', data: manifestFor(files) },
      { path: 'a.bin', data: 'x' },
      { path: 'b.bin', type: 'Link', linkpath: '/etc/passwd' },
    ]);
    await expectRefused(bytes, 'unsafe-entry', /hard link/);
  });

  it('refuses device and FIFO entries', async () => {
    for (const type of ['CharacterDevice', 'FIFO'] as const) {
      await expectRefused(craft([{ path: 'manifest.json', data: manifestFor([]) }, { path: 'dev', type }]), 'unsafe-entry', /only regular files/);
    }
  });

  it('refuses entries that collide (a file used as a directory) without revealing server paths', async () => {
    const files = [
      { path: 'a', data: 'file' },
      { path: 'a/b', data: 'under a file' },
    ];
    const bytes = craft([{ path: 'manifest.json', data: manifestFor(files) }, { path: 'a', data: 'file' }, { path: 'a/b', data: 'under a file' }]);
    await expectRefused(bytes, 'unsafe-entry', /^archive entry 'a\/b' conflicts with another entry \(E[A-Z]+\)$/);
  });

  it('refuses a file that the manifest does not list', async () => {
    const bytes = craft([{ path: 'manifest.json', data: manifestFor([]) }, { path: 'smuggled.bin', data: 'extra' }]);
    await expectRefused(bytes, 'unlisted-file', /'smuggled\.bin' is not listed in the manifest/);
  });

  it('refuses a file whose sha256 does not match the manifest', async () => {
    const bytes = craft([
      { path: 'manifest.json', data: manifestFor([{ path: 'data.grafeo', data: 'original' }]) },
      { path: 'data.grafeo', data: 'tampered' },
    ]);
    await expectRefused(bytes, 'checksum-mismatch', /'data\.grafeo' does not match its sha256/);
  });

  it('refuses a file whose size differs from the manifest', async () => {
    const bytes = craft([
      { path: 'manifest.json', data: manifestFor([{ path: 'data.grafeo', data: 'short' }]) },
      { path: 'data.grafeo', data: 'longer than that' },
    ]);
    await expectRefused(bytes, 'size-mismatch', /manifest says 5/);
  });

  it('refuses an archive missing a file its manifest lists', async () => {
    const bytes = craft([{ path: 'manifest.json', data: manifestFor([{ path: 'data.grafeo', data: 'x' }]) }]);
    await expectRefused(bytes, 'missing-file', /'data\.grafeo' is listed in the manifest but missing/);
  });

  it('refuses an archive whose manifest is missing, late, malformed or of another version', async () => {
    await expectRefused(craft([{ path: 'data.grafeo', data: 'x' }, { path: 'manifest.json', data: manifestFor([]) }]), 'bad-manifest', /corrupt or not an Allotrope export: it must start with manifest\.json/);
    await expectRefused(craft([{ path: 'manifest.json', data: '{not json' }]), 'bad-manifest', /not valid JSON/);
    await expectRefused(craft([{ path: 'manifest.json', data: '{"formatVersion":1}' }]), 'bad-manifest', /engine/);
    await expectRefused(craft([{ path: 'manifest.json', data: manifestFor([], { formatVersion: 2 as 1 }) }]), 'unsupported-version', /version 2/);
    const traversal = JSON.stringify({ ...JSON.parse(manifestFor([])), files: [{ path: '../x', sizeBytes: 1, sha256: sha256('x') }] });
    await expectRefused(craft([{ path: 'manifest.json', data: traversal }]), 'unsafe-entry', /lists '\.\.\/x'/);
  });

  it('refuses an archive over the size limit before extracting it', async () => {
    const parent = await mkdtemp(join(work, 'limit-'));
    await assert.rejects(extractArchive(Readable.from([archive]), join(parent, 'data'), { maxTotalBytes: 1024 }), (err: unknown) => err instanceof ArchiveError && err.code === 'too-large');
    assert.deepEqual(await readdir(parent), []);
  });

  // Bombs: zeros streamed through zlib as the extraction pulls them, so no test holds GiBs.
  const MIB = 1024 * 1024;
  function gzipped(blocks: () => Generator<Buffer>): { stream: Readable; inflatedBytes(): number } {
    let produced = 0;
    // Small buffers on the way (zlib takes stream options, though its types do not say so), so that what the
    // source produced is about what the extractor inflated: with
    // the default high-water marks (64 KiB from Node 22 on) gzip alone ran ~100 MiB of zeros ahead.
    const source = Readable.from(
      (function* () {
        for (const block of blocks()) {
          produced += block.length;
          yield block;
        }
      })(),
      { highWaterMark: 1 },
    );
    return { stream: source.pipe(createGzip({ highWaterMark: 1024 } as ZlibOptions)), inflatedBytes: () => produced };
  }
  function* zeros(bytes: number): Generator<Buffer> {
    const block = Buffer.alloc(MIB);
    for (let left = bytes; left > 0; left -= MIB) yield left >= MIB ? block : block.subarray(0, left);
  }
  async function refusedQuickly(stream: Readable, options: Parameters<typeof extractArchive>[2], code: ArchiveErrorCode, message: RegExp): Promise<number> {
    const parent = await mkdtemp(join(work, 'bomb-'));
    const started = performance.now();
    await assert.rejects(extractArchive(stream, join(parent, 'data'), options), (err: unknown) => {
      assert.ok(err instanceof ArchiveError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      return true;
    });
    const elapsedMs = performance.now() - started;
    assert.deepEqual(await readdir(parent), []);
    return elapsedMs;
  }

  it('refuses 2,000 MiB of gzipped zeros without a manifest at once, having inflated almost none of it', async () => {
    // Before: node-tar buffered everything after the zeros' end marker, re-concatenated per chunk —
    // 16 MiB took 7.6 s, 2,000 MiB ran past the 900 s step timeout. Now: ~10 ms.
    const bomb = gzipped(() => zeros(2000 * MIB));
    const elapsedMs = await refusedQuickly(bomb.stream, {}, 'bad-manifest', /must start with manifest\.json/);
    assert.ok(elapsedMs < 5000, `took ${elapsedMs} ms`);
    assert.ok(bomb.inflatedBytes() < 64 * MIB, `read ${bomb.inflatedBytes()} bytes of the bomb`);
  });

  it('refuses an archive whose first entry is not its manifest within the first few MiB', async () => {
    const header = new Header({ path: 'huge.bin', type: 'File', size: 1900 * MIB, mode: 0o644, mtime: new Date(0) });
    header.encode();
    const bomb = gzipped(function* () {
      yield header.block!;
      yield* zeros(1900 * MIB);
    });
    await refusedQuickly(bomb.stream, {}, 'bad-manifest', /must start with manifest\.json/);
    assert.ok(bomb.inflatedBytes() < 64 * MIB, `read ${bomb.inflatedBytes()} bytes of the bomb`);
  });

  it('refuses a flood of data after the end of a valid archive without buffering it', async () => {
    const bomb = gzipped(function* () {
      yield gunzipSync(archive);
      yield* zeros(2000 * MIB);
    });
    const elapsedMs = await refusedQuickly(bomb.stream, {}, 'corrupt', /data after the end/);
    assert.ok(elapsedMs < 5000, `took ${elapsedMs} ms`);
  });

  it('refuses a declared 1.9 GB file of zeros by its compression ratio, having written less than 100 MiB', async () => {
    const size = 1900 * 1000 * 1000;
    const header = new Header({ path: 'graph.grafeo', type: 'File', size, mode: 0o644, mtime: new Date(0) });
    header.encode();
    const manifest = Buffer.from(JSON.stringify({ ...JSON.parse(manifestFor([])), files: [{ path: 'graph.grafeo', sizeBytes: size, sha256: '0'.repeat(64) }] }));
    const manifestHeader = new Header({ path: 'manifest.json', type: 'File', size: manifest.length, mode: 0o644, mtime: new Date(0) });
    manifestHeader.encode();
    const bomb = gzipped(function* () {
      yield manifestHeader.block!;
      yield manifest;
      yield Buffer.alloc((512 - (manifest.length % 512)) % 512);
      yield header.block!;
      yield* zeros(size);
    });
    // The temp directory is gone once refused; sample its size meanwhile to see the most ever written.
    let mostWritten = 0;
    const parentOf = async (): Promise<void> => {
      for (const dir of await readdir(work).catch(() => [])) {
        if (!dir.startsWith('bomb-')) continue;
        for (const tmp of await readdir(join(work, dir)).catch(() => [])) {
          const file = await stat(join(work, dir, tmp, 'graph.grafeo')).catch(() => null);
          if (file) mostWritten = Math.max(mostWritten, file.size);
        }
      }
    };
    const sampler = setInterval(() => void parentOf(), 5);
    try {
      await refusedQuickly(bomb.stream, { maxTotalBytes: 4 * size }, 'bomb', /more than 100 times its size/);
    } finally {
      clearInterval(sampler);
    }
    assert.ok(mostWritten < 100 * MIB, `wrote ${mostWritten} bytes`);
    assert.ok(bomb.inflatedBytes() < 100 * MIB, `inflated ${bomb.inflatedBytes()} bytes`);
  });

  it('refuses an archive declaring more than the free disk space before writing anything', async () => {
    const manifest = JSON.stringify({ ...JSON.parse(manifestFor([])), files: [{ path: 'graph.grafeo', sizeBytes: 2 ** 52, sha256: '0'.repeat(64) }] });
    await expectRefused(craft([{ path: 'manifest.json', data: manifest }, { path: 'graph.grafeo', data: 'x', headerSize: 2 ** 33 - 1 }]), 'no-space', /free disk space/);
  });

  it('stops extracting at once when its signal is aborted, leaving nothing behind', async () => {
    const controller = new AbortController();
    let sent = 0;
    // A source that never ends on its own: only the abort can stop the extraction.
    const endless = new Readable({
      read() {
        if (sent === 0) this.push(gzipSync(Buffer.alloc(0)).subarray(0, 10));
        sent++;
      },
    });
    const parent = await mkdtemp(join(work, 'abort-'));
    const extraction = extractArchive(endless, join(parent, 'data'), { signal: controller.signal });
    await waitFor(() => sent > 0, { what: 'the extraction to read' });
    controller.abort(new Error('step timed out'));
    await assert.rejects(extraction, (err: unknown) => err instanceof ArchiveError && err.code === 'aborted');
    assert.deepEqual(await readdir(parent), []);
    assert.ok(endless.destroyed);
  });

  it('refuses to archive a directory holding a symbolic link', async () => {
    const dir = join(work, 'with-link');
    await mkdir(dir);
    await writeFile(join(dir, 'real'), 'x');
    await symlink('/etc/passwd', join(dir, 'link'));
    await assert.rejects(buffer(writeArchive(dir, FIELDS)), (err: unknown) => err instanceof ArchiveError && err.code === 'unsupported-source' && /'link'/.test(err.message));
  });
});

describe('detectImportFormat', () => {
  it('recognises our archive by the gzip magic bytes', () => {
    assert.equal(detectImportFormat(new Uint8Array([0x1f, 0x8b, 0x08, 0x00])), 'archive');
  });

  it('recognises Cypher scripts, with comments, a BOM or cypher-shell commands first', () => {
    for (const text of ['CREATE (n:Person {name: "Ann"});', '  \n// exported\nMERGE (a)', '\ufeffMATCH (n) RETURN n', ':begin\nCREATE ()', 'unwind [1,2] AS x CREATE ()', '/* header */ CREATE INDEX']) {
      assert.equal(detectImportFormat(Buffer.from(text)), 'cypher', text);
    }
  });

  it('accepts a sample that ends in the middle of a multi-byte character', () => {
    const sample = Buffer.from('CREATE (:City {name: "Zürich"})').subarray(0, 25);
    assert.equal(detectImportFormat(sample), 'cypher');
  });

  it('recognises Neo4j dumps: DZV1 (Neo4j 5), a bare zstd stream (4.x), a gzipped tar of store files (older)', async () => {
    assert.equal(detectImportFormat(Buffer.from([0x44, 0x5a, 0x56, 0x31, 0x28, 0xb5, 0x2f, 0xfd])), 'neo4j-dump');
    assert.equal(detectImportFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00])), 'neo4j-dump');
    const storeFile = new Header({ path: 'neostore', type: 'File', size: 4, mode: 0o644, mtime: new Date(0) });
    storeFile.encode();
    const dump = gzipSync(Buffer.concat([storeFile.block!, Buffer.alloc(512), Buffer.alloc(1024)]));
    assert.equal(detectImportFormat(dump.subarray(0, 8192)), 'neo4j-dump');
    // Our own archive stays an archive, from its first 8 KiB as the import reads it.
    const dir = await mkdtemp(join(tmpdir(), 'detect-'));
    try {
      await writeFile(join(dir, 'graph.grafeo'), Buffer.alloc(100_000, 7));
      const ours = await buffer(writeArchive(dir, { engineName: 'grafeo', engineVersion: '0.6.0', database: { id: 'd', name: 'd' }, createdAt: new Date(0), counts: null }));
      assert.equal(detectImportFormat(ours.subarray(0, 8192)), 'archive');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // A gzip that is no tar at all is still an archive, refused as one with its own message.
    assert.equal(detectImportFormat(gzipSync(Buffer.alloc(4096))), 'archive');
  });

  it('calls anything else unknown', () => {
    assert.equal(detectImportFormat(new Uint8Array([])), 'unknown');
    assert.equal(detectImportFormat(Buffer.from('PK\x03\x04zipfile')), 'unknown');
    assert.equal(detectImportFormat(Buffer.from('hello world')), 'unknown');
    assert.equal(detectImportFormat(Buffer.from([0x43, 0x52, 0x45, 0xff, 0xfe])), 'unknown');
    assert.equal(detectImportFormat(Buffer.from('CREATE\u0000binary')), 'unknown');
  });
});
