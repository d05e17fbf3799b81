// The backup/export archive: a gzipped tar whose first entry is manifest.json (what the archive holds,
// with the size and sha256 of every file), followed by the engine's files. Extraction trusts nothing:
// only regular files and directories listed in the manifest, inside the target, with matching
// checksums; anything else fails the whole extraction and leaves nothing behind.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, rmdir, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { Header, Parser, Pax, type ReadEntry } from 'tar';

export const ARCHIVE_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const BLOCK = 512;
// Before its manifest has been read an archive may hold no more than the manifest and its (pax) headers.
const BEFORE_MANIFEST_BYTES = MAX_MANIFEST_BYTES + 64 * 1024;
// What may follow the tar's end marker: tar pads to a 10 KiB record; our writer adds nothing.
const AFTER_END_BYTES = 64 * 1024;
/**
 * Decompressed bytes per compressed byte beyond which the archive is a bomb, checked once
 * RATIO_FLOOR_BYTES have come out. Gzip tops out near 1032:1 (zeros); an empty Grafeo file
 * (32 KiB, mostly zeros) gzips 100:1, which the floor lets through.
 */
export const DEFAULT_MAX_RATIO = 100;
const RATIO_FLOOR_BYTES = 64 * 1024 * 1024;
/** Free disk kept on top of what an archive declares, so unpacking never fills the disk. */
const FREE_SPACE_MARGIN_BYTES = 256 * 1024 * 1024;

export interface ManifestFile {
  /** Relative, '/'-separated. */
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface Manifest {
  formatVersion: 1;
  /** The engine whose files these are: an archive restores only into a database of the same engine. */
  engine: { name: ArchiveEngine; version: string };
  database: { id: string; name: string };
  /** RFC 7231 date, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
  createdAt: string;
  /** Null when they could not be counted (a Neo4j database backed up while paused). */
  counts: { nodes: number; relationships: number } | null;
  files: ManifestFile[];
}

export type ArchiveEngine = 'grafeo' | 'neo4j';

export interface ManifestFields {
  engineName?: ArchiveEngine;
  engineVersion: string;
  database: { id: string; name: string };
  createdAt: Date;
  counts: { nodes: number; relationships: number } | null;
}

export type ArchiveErrorCode =
  | 'not-an-archive'
  | 'corrupt'
  | 'truncated'
  | 'bad-manifest'
  | 'unsupported-version'
  | 'unsafe-entry'
  | 'unlisted-file'
  | 'duplicate-entry'
  | 'size-mismatch'
  | 'checksum-mismatch'
  | 'missing-file'
  | 'too-large'
  | 'bomb'
  | 'no-space'
  | 'aborted'
  | 'not-a-database'
  | 'wrong-engine'
  | 'target-exists'
  | 'unsupported-source'
  | 'source-changed';

/** Every way an archive can be refused; `message` is safe and meant to be shown to the user. */
export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
  readonly kind = 'Invalid' as const;
  constructor(
    readonly code: ArchiveErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// A segment may start with '.' (engines keep dot files) but '.' and '..' themselves are never allowed.
const PATH_SEGMENT = /^[A-Za-z0-9._+=@,-]+$/;

/** Null when `path` is a safe relative archive path, else why not. */
function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'it is empty';
  if (path.length > 1024) return 'it is too long';
  if (path.includes('\0')) return 'it contains a NUL byte';
  if (path.includes('\\')) return 'it contains a backslash';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'it is an absolute path';
  for (const segment of path.split('/')) {
    if (segment === '..') return "it contains '..'";
    if (segment === '' || segment === '.') return 'it has an empty or "." component';
    if (!PATH_SEGMENT.test(segment)) return 'it contains characters other than letters, digits and . _ - + = @ ,';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Writing

/**
 * Streams `sourceDir` as a gzipped tar, manifest.json first. The directory must hold only regular files
 * and directories and must not change while being read: a file whose bytes differ from what the
 * manifest recorded fails the stream with ArchiveError('source-changed').
 */
export function writeArchive(sourceDir: string, fields: ManifestFields): Readable {
  const gzip = createGzip();
  pipeline(Readable.from(tarBlocks(resolve(sourceDir), fields)), gzip, () => undefined);
  return gzip;
}

interface SourceTree {
  directories: string[];
  files: Array<ManifestFile & { mode: number }>;
}

async function scanSource(root: string): Promise<SourceTree> {
  const tree: SourceTree = { directories: [], files: [] };
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === '' ? root : join(root, ...rel.split('/')));
    entries.sort();
    for (const name of entries) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const why = unsafePathReason(childRel);
      if (why) throw new ArchiveError('unsupported-source', `cannot archive '${childRel}': ${why}`);
      if (childRel === MANIFEST_NAME) throw new ArchiveError('unsupported-source', `cannot archive a file named ${MANIFEST_NAME} at the top level`);
      const info = await lstat(join(root, ...childRel.split('/')));
      if (info.isDirectory()) {
        tree.directories.push(childRel);
        await walk(childRel);
      } else if (info.isFile()) {
        const sha256 = await hashFile(join(root, ...childRel.split('/')), info.size);
        tree.files.push({ path: childRel, sizeBytes: info.size, sha256, mode: info.mode & 0o644 });
      } else {
        throw new ArchiveError('unsupported-source', `cannot archive '${childRel}': only regular files and directories are supported`);
      }
    }
  };
  await walk('');
  return tree;
}

async function hashFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size > 0) for await (const chunk of createReadStream(path, { start: 0, end: size - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Every entry carries the archive's creation time, so the same data always gives the same archive.
function headerBlocks(data: { path: string; size: number; type: 'File' | 'Directory'; mtime: Date; mode: number }): Buffer[] {
  // Whole seconds: sub-second mtimes would force a pax header for every entry.
  const mtime = new Date(Math.floor(data.mtime.getTime() / 1000) * 1000);
  const header = new Header({ ...data, mtime, uid: 0, gid: 0, uname: '', gname: '' });
  const needPax = header.encode();
  const blocks: Buffer[] = [];
  if (needPax) blocks.push(new Pax({ path: data.path, size: data.size, mtime }).encode());
  blocks.push(header.block!);
  return blocks;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

async function* tarBlocks(root: string, fields: ManifestFields): AsyncGenerator<Buffer> {
  const tree = await scanSource(root);
  const manifest: Manifest = {
    formatVersion: ARCHIVE_FORMAT_VERSION,
    engine: { name: fields.engineName ?? 'grafeo', version: fields.engineVersion },
    database: { id: fields.database.id, name: fields.database.name },
    createdAt: fields.createdAt.toUTCString(),
    counts: fields.counts ? { nodes: fields.counts.nodes, relationships: fields.counts.relationships } : null,
    files: tree.files.map(({ path, sizeBytes, sha256 }) => ({ path, sizeBytes, sha256 })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  yield* headerBlocks({ path: MANIFEST_NAME, size: manifestBytes.length, type: 'File', mtime: fields.createdAt, mode: 0o644 });
  yield manifestBytes;
  yield padding(manifestBytes.length);

  const filesByDir = new Map<string, SourceTree['files']>();
  for (const file of tree.files) {
    const dir = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/')) : '';
    filesByDir.set(dir, [...(filesByDir.get(dir) ?? []), file]);
  }
  const emitFile = async function* (file: SourceTree['files'][number]): AsyncGenerator<Buffer> {
    yield* headerBlocks({ path: file.path, size: file.sizeBytes, type: 'File', mtime: fields.createdAt, mode: file.mode });
    const hash = createHash('sha256');
    let sent = 0;
    if (file.sizeBytes > 0) {
      for await (const chunk of createReadStream(join(root, ...file.path.split('/')), { start: 0, end: file.sizeBytes - 1 })) {
        hash.update(chunk as Buffer);
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    if (sent !== file.sizeBytes || hash.digest('hex') !== file.sha256) {
      throw new ArchiveError('source-changed', `'${file.path}' changed while the archive was being written`);
    }
    yield padding(file.sizeBytes);
  };
  for (const file of filesByDir.get('') ?? []) yield* emitFile(file);
  for (const dir of tree.directories) {
    yield* headerBlocks({ path: `${dir}/`, size: 0, type: 'Directory', mtime: fields.createdAt, mode: 0o755 });
    for (const file of filesByDir.get(dir) ?? []) yield* emitFile(file);
  }
  yield Buffer.alloc(BLOCK * 2);
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface ExtractOptions {
  /** Refuse archives whose manifest lists more than this many bytes in total (and stop at them when written). */
  maxTotalBytes?: number;
  /** Refuse once decompressed bytes exceed this many times the compressed bytes read (after 64 MiB). */
  maxRatio?: number;
  /** Stops the extraction at once (the operation failed or timed out); it fails with ArchiveError('aborted'). */
  signal?: AbortSignal;
}

/**
 * Extracts an archive into `targetDir`, which must not exist yet (or be an empty directory). Everything
 * is written into a fresh temp directory beside it and renamed to `targetDir` only once every file has
 * been checked; on any failure the temp directory is removed and ArchiveError thrown.
 */
export async function extractArchive(stream: Readable, targetDir: string, options: ExtractOptions = {}): Promise<Manifest> {
  const target = resolve(targetDir);
  options.signal?.throwIfAborted();
  await assertTargetFree(target);
  const tempDir = join(dirname(target), `.${basename(target)}.extract-${randomBytes(6).toString('hex')}`);
  await mkdir(tempDir, { mode: 0o700 });
  try {
    const manifest = await extractInto(stream, tempDir, options);
    if ((await readdir(target).catch(() => null))?.length === 0) await rmdir(target);
    await rename(tempDir, target);
    return manifest;
  } catch (err) {
    stream.destroy();
    await rm(tempDir, { recursive: true, force: true });
    // Anything not an ArchiveError is our side failing (disk full, permissions): not the archive's fault.
    throw err;
  }
}

async function assertTargetFree(target: string): Promise<void> {
  const entries = await readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') return ['(a file)'];
    throw err;
  });
  if (entries.length > 0) throw new ArchiveError('target-exists', `the extraction target '${basename(target)}' already exists and is not empty`);
}

// Errors from the filesystem carry server paths in their message; users get the code only.
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.syscall === 'string') return e.code ?? 'I/O error';
  return err instanceof Error ? err.message : String(err);
}

const ENTRY_CONFLICTS = new Set(['ENOTDIR', 'EEXIST', 'EISDIR']);

function extractInto(input: Readable, tempDir: string, options: ExtractOptions): Promise<Manifest> {
  return new Promise<Manifest>((resolvePromise, rejectPromise) => {
    const gunzip = createGunzip();
    const parser = new Parser({ strict: true });
    const writes: Array<Promise<void>> = [];
    // Aborts file writes still under way: their entries will get no more data once we stop parsing.
    const abortWrites = new AbortController();
    const seen = new Set<string>();
    const maxRatio = options.maxRatio ?? DEFAULT_MAX_RATIO;
    let manifest: Manifest | undefined;
    let listed = new Map<string, ManifestFile>();
    let compressedBytes = 0;
    let decompressedBytes = 0;
    let decompressedCap = BEFORE_MANIFEST_BYTES;
    let afterEndBytes = 0;
    let tarEnded = false;
    let failed = false;
    let sniffed = false;

    const onAbort = (): void => fail(new ArchiveError('aborted', 'the extraction was stopped because the operation ended', { cause: options.signal?.reason }));
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      options.signal?.removeEventListener('abort', onAbort);
      input.unpipe(gunzip);
      input.pause();
      gunzip.destroy();
      parser.abort(err);
      abortWrites.abort(err);
      // Let file writes already under way settle before the caller deletes the temp directory.
      void Promise.allSettled(writes).then(() => rejectPromise(err));
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const succeed = (value: Manifest): void => {
      options.signal?.removeEventListener('abort', onAbort);
      resolvePromise(value);
    };

    input.on('error', (err) => fail(new ArchiveError('truncated', `reading the archive failed: ${describe(err)}`, { cause: err })));
    input.on('data', (chunk: Buffer) => {
      compressedBytes += chunk.length;
      if (!sniffed) {
        sniffed = true;
        if (chunk.length < 2 || chunk[0] !== 0x1f || chunk[1] !== 0x8b) {
          fail(new ArchiveError('not-an-archive', 'this is not a gzipped archive'));
          return;
        }
      }
    });
    gunzip.on('error', (err: NodeJS.ErrnoException) => {
      const truncated = err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message);
      fail(
        truncated
          ? new ArchiveError('truncated', 'the archive is truncated (its compressed data ends early)', { cause: err })
          : new ArchiveError('corrupt', `the archive is corrupt (${err.message})`, { cause: err }),
      );
    });
    // Every check runs per decompressed chunk (16 KiB), before the chunk goes anywhere: a bomb is
    // refused within one chunk of crossing a bound, not after it has been inflated.
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      decompressedBytes += chunk.length;
      if (tarEnded) {
        // node-tar keeps everything after the end marker in one buffer it re-concatenates per chunk:
        // quadratic (16 MiB of zeros took 7.6 s, 2 GiB hours). It never sees those bytes.
        afterEndBytes += chunk.length;
        if (afterEndBytes > AFTER_END_BYTES) fail(new ArchiveError('corrupt', 'the archive is corrupt: it holds data after the end of its contents'));
        return;
      }
      if (decompressedBytes > decompressedCap) {
        fail(
          manifest
            ? new ArchiveError('bomb', 'the archive holds more data than its manifest declares')
            : new ArchiveError('bad-manifest', `${NOT_OURS}: it must start with ${MANIFEST_NAME}`),
        );
        return;
      }
      if (decompressedBytes > RATIO_FLOOR_BYTES && decompressedBytes > compressedBytes * maxRatio) {
        fail(new ArchiveError('bomb', `the archive decompresses to more than ${maxRatio} times its size; it is refused as a decompression bomb`));
        return;
      }
      if (!parser.write(chunk)) {
        gunzip.pause();
        parser.once('drain', () => gunzip.resume());
      }
    });
    gunzip.on('end', () => {
      if (!failed) parser.end();
    });
    input.pipe(gunzip);

    parser.on('error', (err: Error) => {
      if (err instanceof ArchiveError) return fail(err);
      const message = /truncated/i.test(err.message) ? 'the archive is truncated' : `the archive is corrupt (${err.message})`;
      fail(new ArchiveError(/truncated/i.test(err.message) ? 'truncated' : 'corrupt', message, { cause: err }));
    });
    // The two zero blocks that end a tar; a stream of zeros is nothing else, and carries no manifest.
    parser.on('eof', () => {
      tarEnded = true;
      if (!manifest && !failed) fail(new ArchiveError('bad-manifest', `${NOT_OURS}: it must start with ${MANIFEST_NAME}`));
    });

    parser.on('entry', (entry: ReadEntry) => {
      if (failed) return void entry.resume();
      try {
        if (!manifest) {
          readManifestEntry(entry, (parsed) => {
            const total = parsed.files.reduce((sum, f) => sum + f.sizeBytes, 0);
            if (options.maxTotalBytes !== undefined && total > options.maxTotalBytes) {
              throw new ArchiveError('too-large', `the archive holds ${total} bytes, more than the limit of ${options.maxTotalBytes}`);
            }
            manifest = parsed;
            listed = new Map(parsed.files.map((f) => [f.path, f]));
            // Headers, padding and directory entries on top of the files' bytes; anything beyond is a bomb.
            decompressedCap = decompressedBytes + total + (parsed.files.length + 1) * 4 * BLOCK + 1024 * 1024;
            // Entries wait for this: nothing is written before the disk is known to hold what is declared.
            writes.push(assertFreeSpace(tempDir, total).catch((err: Error) => fail(err)));
          }, fail);
          return;
        }
        // One entry at a time, in archive order: a later entry's directories must never be created
        // before an earlier entry's file (the parser holds further input back meanwhile).
        const previous = writes.at(-1) ?? Promise.resolve();
        writes.push(previous.then(() => {
          if (failed) return void entry.resume();
          return extractEntry(entry, tempDir, listed, seen, abortWrites.signal);
        }).catch((err: unknown) => {
          if (err instanceof ArchiveError) return fail(err);
          if (ENTRY_CONFLICTS.has((err as NodeJS.ErrnoException).code ?? '')) {
            return fail(new ArchiveError('unsafe-entry', `archive entry '${entry.path}' conflicts with another entry (${describe(err)})`, { cause: err }));
          }
          fail(err as Error);
        }));
      } catch (err) {
        entry.resume();
        fail(err instanceof ArchiveError ? err : new ArchiveError('corrupt', describe(err), { cause: err }));
      }
    });

    parser.on('end', () => {
      void Promise.all(writes).then(() => {
        if (failed) return;
        if (!manifest) return fail(new ArchiveError('bad-manifest', `the archive has no ${MANIFEST_NAME}`));
        for (const path of listed.keys()) {
          if (!seen.has(path)) return fail(new ArchiveError('missing-file', `the archive is incomplete: '${path}' is listed in the manifest but missing`));
        }
        succeed(manifest);
      }, () => undefined);
    });
  });
}

async function assertFreeSpace(dir: string, declaredBytes: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (declaredBytes + FREE_SPACE_MARGIN_BYTES > free) {
    throw new ArchiveError('no-space', `the archive holds ${declaredBytes} bytes, more than the server has free disk space to unpack`);
  }
}

/** Said of every manifest problem: a damaged export and a foreign tarball look alike from here. */
const NOT_OURS = 'the archive is corrupt or not an Allotrope export';

function readManifestEntry(entry: ReadEntry, onManifest: (m: Manifest) => void, fail: (e: Error) => void): void {
  if (entry.path !== MANIFEST_NAME || (entry.type !== 'File' && entry.type !== 'OldFile')) {
    entry.resume();
    throw new ArchiveError('bad-manifest', `${NOT_OURS}: it must start with ${MANIFEST_NAME}`);
  }
  if (entry.size > MAX_MANIFEST_BYTES) {
    entry.resume();
    throw new ArchiveError('bad-manifest', `${NOT_OURS}: ${MANIFEST_NAME} is too large`);
  }
  const chunks: Buffer[] = [];
  entry.on('data', (chunk: Buffer) => chunks.push(chunk));
  entry.on('end', () => {
    try {
      onManifest(validateManifest(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      fail(err instanceof ArchiveError ? err : new ArchiveError('bad-manifest', describe(err)));
    }
  });
}

function validateManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ArchiveError('bad-manifest', `${NOT_OURS}: ${MANIFEST_NAME} is not valid JSON`);
  }
  const bad = (what: string): never => {
    throw new ArchiveError('bad-manifest', `${NOT_OURS}: ${MANIFEST_NAME} is invalid: ${what}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isObject(raw)) return bad('not an object');
  if (raw.formatVersion !== ARCHIVE_FORMAT_VERSION) {
    throw new ArchiveError('unsupported-version', `unsupported archive format version ${JSON.stringify(raw.formatVersion)}; this server reads version ${ARCHIVE_FORMAT_VERSION}`);
  }
  const { engine, database, counts, files, createdAt } = raw;
  if (!isObject(engine) || (engine.name !== 'grafeo' && engine.name !== 'neo4j') || typeof engine.version !== 'string') return bad('engine must be {"name":"grafeo"|"neo4j","version":…}');
  if (!isObject(database) || typeof database.id !== 'string' || typeof database.name !== 'string') return bad('database must be {id, name}');
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) return bad('createdAt must be a date');
  if (counts !== null && (!isObject(counts) || !isCount(counts.nodes) || !isCount(counts.relationships))) return bad('counts must hold nodes and relationships');
  if (!Array.isArray(files)) return bad('files must be a list');
  const paths = new Set<string>();
  const checked: ManifestFile[] = files.map((f: unknown) => {
    if (!isObject(f) || typeof f.path !== 'string' || !isCount(f.sizeBytes) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      return bad('every file needs path, sizeBytes and a hex sha256');
    }
    const why = unsafePathReason(f.path);
    if (why) throw new ArchiveError('unsafe-entry', `${MANIFEST_NAME} lists '${f.path}', which is not allowed: ${why}`);
    if (f.path === MANIFEST_NAME || paths.has(f.path)) return bad(`'${f.path}' is listed twice`);
    paths.add(f.path);
    return { path: f.path, sizeBytes: f.sizeBytes, sha256: f.sha256 };
  });
  return {
    formatVersion: ARCHIVE_FORMAT_VERSION,
    engine: { name: engine.name, version: engine.version },
    database: { id: database.id, name: database.name },
    createdAt,
    counts: counts === null ? null : { nodes: (counts as { nodes: number }).nodes, relationships: (counts as { relationships: number }).relationships },
    files: checked,
  };
}

const ENTRY_TYPE_NAMES: Record<string, string> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
};

async function extractEntry(
  entry: ReadEntry,
  tempDir: string,
  listed: Map<string, ManifestFile>,
  seen: Set<string>,
  signal: AbortSignal,
): Promise<void> {
  const isDirectory = entry.type === 'Directory';
  const isFile = entry.type === 'File' || entry.type === 'OldFile';
  const path = isDirectory ? entry.path.replace(/\/$/, '') : entry.path;
  try {
    if (!isDirectory && !isFile) {
      throw new ArchiveError('unsafe-entry', `archive entry '${entry.path}' is ${ENTRY_TYPE_NAMES[entry.type] ?? `of type ${entry.type}`}; only regular files and directories are allowed`);
    }
    const why = unsafePathReason(path);
    if (why) throw new ArchiveError('unsafe-entry', `archive entry '${entry.path}' is not allowed: ${why}`);
    const absolute = resolve(tempDir, ...path.split('/'));
    if (!absolute.startsWith(tempDir + sep)) throw new ArchiveError('unsafe-entry', `archive entry '${entry.path}' points outside the target`);
    if (seen.has(path)) throw new ArchiveError('duplicate-entry', `archive entry '${path}' appears twice`);
    seen.add(path);
    if (isDirectory) {
      entry.resume();
      await mkdir(absolute, { recursive: true, mode: 0o755 });
      return;
    }
    const expected = listed.get(path);
    if (!expected) throw new ArchiveError('unlisted-file', `archive entry '${path}' is not listed in the manifest`);
    if (entry.size !== expected.sizeBytes) {
      throw new ArchiveError('size-mismatch', `'${path}' is ${entry.size} bytes but the manifest says ${expected.sizeBytes}: the archive is corrupt or was altered`);
    }
    // No entry can be a link (refused above), so no directory on this path can lead outside tempDir.
    await mkdir(dirname(absolute), { recursive: true, mode: 0o755 });
    const verifier = new VerifyingCounter();
    await pipelinePromise(entry, verifier, createWriteStream(absolute, { flags: 'wx', mode: 0o644, flush: true }), { signal });
    if (verifier.sizeBytes !== expected.sizeBytes) {
      throw new ArchiveError('truncated', `'${path}' ends early: ${verifier.sizeBytes} of ${expected.sizeBytes} bytes`);
    }
    if (verifier.digest() !== expected.sha256) {
      throw new ArchiveError('checksum-mismatch', `'${path}' does not match its sha256 in the manifest: the archive is corrupt or was altered`);
    }
  } catch (err) {
    entry.resume();
    throw err;
  }
}

class VerifyingCounter extends Transform {
  sizeBytes = 0;
  readonly #hash = createHash('sha256');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sizeBytes += chunk.length;
    this.#hash.update(chunk);
    callback(null, chunk);
  }
  digest(): string {
    return this.#hash.digest('hex');
  }
}

// ---------------------------------------------------------------------------------------------------
// Import detection

const CYPHER_START =
  /^(?:\/\/|\/\*|:[a-z]|(?:CREATE|MATCH|MERGE|UNWIND|CALL|WITH|OPTIONAL|RETURN|DROP|USE|LOAD|FOREACH|DETACH|DELETE|SET|REMOVE|BEGIN|COMMIT|SHOW|ALTER|EXPLAIN|PROFILE|CYPHER)\b)/i;

/**
 * What an import upload is, from its first bytes (a few KiB are plenty): our archive, a Cypher script, a
 * Neo4j dump (`neo4j-admin database dump`), or neither. Neo4j 5 dumps start with 'DZV1' and a zstd stream
 * (`org.neo4j.dbms.archive.DumpZstdFormatV1`), 4.x ones with the zstd stream itself; older ones are a
 * gzipped tar like our archive, whose first entry is manifest.json where a dump's is a store file.
 */
export function detectImportFormat(firstBytes: Uint8Array): 'archive' | 'cypher' | 'neo4j-dump' | 'unknown' {
  const starts = (...bytes: number[]) => firstBytes.length >= bytes.length && bytes.every((b, i) => firstBytes[i] === b);
  if (starts(0x44, 0x5a, 0x56, 0x31) || starts(0x28, 0xb5, 0x2f, 0xfd)) return 'neo4j-dump';
  if (starts(0x1f, 0x8b)) return firstTarEntry(firstBytes) ?? 'archive';
  let text: string;
  try {
    // stream: true tolerates a multi-byte character cut off at the end of the sample.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(firstBytes, { stream: true });
  } catch {
    return 'unknown';
  }
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return 'unknown';
  return CYPHER_START.test(text.trimStart()) ? 'cypher' : 'unknown';
}

/** 'neo4j-dump' when a gzip holds a tar whose first entry is not manifest.json; null when that cannot be told. */
function firstTarEntry(gzipStart: Uint8Array): 'archive' | 'neo4j-dump' | null {
  let header: Buffer;
  try {
    // The sync flush gives what the first bytes inflate to, without the end of the stream.
    header = gunzipSync(gzipStart, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
  if (header.length < 512 || header.subarray(257, 262).toString('latin1') !== 'ustar') return null;
  const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
  return name === MANIFEST_NAME || name === `./${MANIFEST_NAME}` ? 'archive' : 'neo4j-dump';
}
