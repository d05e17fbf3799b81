// Local filesystem blob store (the default): blobs are files under a root directory; download links are
// HMAC-signed `/downloads/<key>` URLs that this server itself serves.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { systemClock, type Clock } from '../clock.js';
import {
  BlobNotFoundError,
  HashingCounter,
  StorageError,
  contentDisposition,
  validateKey,
  validatePrefix,
  type BlobStore,
  type DownloadUrlOptions,
  type PutOptions,
  type PutResult,
} from './blob-store.js';
import { syncDirectory } from './durable.js';

export interface FsBlobStoreOptions {
  /** Directory holding the blobs; created if missing. */
  root: string;
  /** Base of the download links, e.g. `https://allotrope.example.com` (a path prefix is kept). */
  publicBaseUrl: string;
  /** HMAC key for download links (at least 32 bytes of randomness; never logged). */
  downloadSecret: string | Buffer;
  clock?: Clock;
}

export type DownloadCheck = 'ok' | 'expired' | 'invalid';

export class DownloadLinkError extends StorageError {
  override readonly name = 'DownloadLinkError';
  /** Status the HTTP route answers with. */
  readonly statusCode = 403;
  constructor(readonly reason: 'expired' | 'invalid') {
    super('Forbidden', reason === 'expired' ? 'this download link has expired' : 'this download link is not valid');
  }
}

export interface SignedDownload {
  stream: Readable;
  sizeBytes: number;
  fileName: string;
  /** Ready-made `Content-Disposition` header value. */
  contentDisposition: string;
}

const TEMP_PREFIX = '.tmp-';
// Version tag in the signed text so a future change of what is signed cannot collide with this one.
const SIGNATURE_CONTEXT = 'allotrope-download-v1';

export function signDownload(secret: string | Buffer, key: string, expiresEpochSeconds: number, fileName = ''): string {
  return createHmac('sha256', secret).update(`${SIGNATURE_CONTEXT}\n${key}\n${expiresEpochSeconds}\n${fileName}`).digest('base64url');
}

/**
 * Checks a download link's parameters as they arrive in the request (strings). Constant-time
 * comparison; 'expired' only for a genuine signature whose time has passed, so an altered link
 * always reads 'invalid'.
 */
export function verifyDownloadSignature(
  secret: string | Buffer,
  key: string,
  expires: string | number,
  signature: string,
  now: Date,
  fileName = '',
): DownloadCheck {
  const expiresText = String(expires);
  if (!/^\d{1,12}$/.test(expiresText) || typeof signature !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(signature)) return 'invalid';
  try {
    validateKey(key);
  } catch {
    return 'invalid';
  }
  const expected = Buffer.from(signDownload(secret, key, Number(expiresText), fileName));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Number(expiresText) * 1000 <= now.getTime() ? 'expired' : 'ok';
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  readonly root: string;
  readonly #secret: string | Buffer;
  readonly #publicBaseUrl: string;
  readonly #clock: Clock;

  constructor(options: FsBlobStoreOptions) {
    if (!options.downloadSecret || options.downloadSecret.length < 16) {
      throw new Error('the download signing secret must be at least 16 bytes');
    }
    this.root = resolve(options.root);
    this.#secret = options.downloadSecret;
    this.#publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.#clock = options.clock ?? systemClock;
  }

  #path(key: string): string {
    const path = join(this.root, ...validateKey(key).split('/'));
    // validateKey already rules traversal out; this is the belt to its braces.
    if (!path.startsWith(this.root + sep)) throw new StorageError('Invalid', `storage key '${key}' escapes the store`);
    return path;
  }

  async put(key: string, stream: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const finalPath = this.#path(key);
    const dir = dirname(finalPath);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      stream.destroy();
      throw new StorageError('Invalid', `cannot store '${key}': a parent of it is a blob`, { cause: err });
    }
    const tempPath = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const counter = new HashingCounter(opts.maxBytes);
    const handle = await open(tempPath, 'wx', 0o600);
    try {
      // flush: fsync before close, so the rename never publishes data still only in the page cache.
      await pipeline(stream, counter, handle.createWriteStream({ flush: true }));
      await rename(tempPath, finalPath);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new StorageError('Invalid', `cannot store '${key}': it is a prefix of other blobs`, { cause: err });
      }
      throw err;
    }
    await syncDirectory(dir);
    return { sizeBytes: counter.sizeBytes, sha256: counter.sha256() };
  }

  async get(key: string): Promise<Readable> {
    const path = this.#path(key);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key);
      throw err;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new BlobNotFoundError(key);
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    try {
      const info = await stat(this.#path(key));
      return info.isFile() ? { sizeBytes: info.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startDir = slash === -1 ? '' : prefix.slice(0, slash);
    const keys: string[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(relDir === '' ? this.root : join(this.root, ...relDir.split('/')), { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue; // temp files of writes in progress
        const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (rel.startsWith(prefix) || prefix.startsWith(`${rel}/`)) await walk(rel);
        } else if (entry.isFile() && rel.startsWith(prefix)) {
          keys.push(rel);
        }
      }
    };
    await walk(startDir);
    return keys.sort();
  }

  async signedDownloadUrl(key: string, opts: DownloadUrlOptions): Promise<string> {
    validateKey(key);
    if (!Number.isInteger(opts.expiresInSeconds) || opts.expiresInSeconds <= 0) {
      throw new StorageError('Invalid', 'expiresInSeconds must be a positive whole number');
    }
    const expires = Math.floor(this.#clock.now().getTime() / 1000) + opts.expiresInSeconds;
    const query = new URLSearchParams({ expires: String(expires), name: opts.fileName });
    query.set('signature', signDownload(this.#secret, key, expires, opts.fileName));
    const path = key.split('/').map(encodeURIComponent).join('/');
    return `${this.#publicBaseUrl}/downloads/${path}?${query.toString()}`;
  }

  /** See the standalone verifyDownloadSignature; uses this store's secret. */
  verifyDownloadSignature(key: string, expires: string | number, signature: string, now: Date, fileName = ''): DownloadCheck {
    return verifyDownloadSignature(this.#secret, key, expires, signature, now, fileName);
  }

  /**
   * Everything the `/downloads/<key>` route needs: checks the link (DownloadLinkError, 403, when expired
   * or altered), then opens the blob (BlobNotFoundError when it is gone).
   */
  async openSignedDownload(
    link: { key: string; expires: string | undefined; signature: string | undefined; name?: string | undefined },
    now: Date,
  ): Promise<SignedDownload> {
    const check = this.verifyDownloadSignature(link.key, link.expires ?? '', link.signature ?? '', now, link.name ?? '');
    if (check !== 'ok') throw new DownloadLinkError(check);
    const info = await this.stat(link.key);
    if (!info) throw new BlobNotFoundError(link.key);
    const fileName = link.name || link.key.slice(link.key.lastIndexOf('/') + 1);
    return { stream: await this.get(link.key), sizeBytes: info.sizeBytes, fileName, contentDisposition: contentDisposition(fileName) };
  }
}

export function createFsBlobStore(options: FsBlobStoreOptions): FsBlobStore {
  return new FsBlobStore(options);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

