// Where backups, exports and uploaded imports live: one interface over the local filesystem and S3.
// Every implementation streams (a multi-GB blob never sits in memory) and commits a blob atomically:
// a reader sees either nothing or the whole blob, never a partial one.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Readable } from 'node:stream';

export interface PutOptions {
  /** MIME type recorded where the backend keeps one (S3). */
  contentType?: string;
  /** Refuse (and discard) the blob once it grows beyond this many bytes. */
  maxBytes?: number;
}

export interface PutResult {
  sizeBytes: number;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface DownloadUrlOptions {
  expiresInSeconds: number;
  /** File name the browser saves the download as. */
  fileName: string;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  put(key: string, stream: Readable, opts?: PutOptions): Promise<PutResult>;
  /** Throws BlobNotFoundError when the key does not exist. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<{ sizeBytes: number } | null>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix: string): Promise<string[]>;
  signedDownloadUrl(key: string, opts: DownloadUrlOptions): Promise<string>;
}

/** Storage errors carry a stable `kind` the API maps to a status code. */
export class StorageError extends Error {
  override readonly name: string = 'StorageError';
  constructor(
    readonly kind: 'Invalid' | 'NotFound' | 'Forbidden' | 'TooLarge' | 'Unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class InvalidKeyError extends StorageError {
  override readonly name = 'InvalidKeyError';
  constructor(key: string, why: string) {
    super('Invalid', `invalid storage key '${truncate(key)}': ${why}`);
  }
}

export class BlobNotFoundError extends StorageError {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super('NotFound', `blob '${key}' does not exist`);
  }
}

export class BlobTooLargeError extends StorageError {
  override readonly name = 'BlobTooLargeError';
  constructor(readonly maxBytes: number) {
    super('TooLarge', `the upload exceeds the limit of ${maxBytes} bytes`);
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

const MAX_KEY_LENGTH = 512;
// Segments start with a letter, digit or underscore: so '.', '..' and hidden names (the fs store's
// temp files start with '.') can never be keys.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const PREFIX_CHARS = /^[A-Za-z0-9._/-]*$/;

/** Throws InvalidKeyError unless `key` is `seg/seg/...` of safe segments. */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'it is empty');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError(key, `it is longer than ${MAX_KEY_LENGTH} characters`);
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'it must not be an absolute path');
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') throw new InvalidKeyError(key, `it must not contain '${segment}'`);
    if (!SEGMENT.test(segment)) {
      throw new InvalidKeyError(key, 'each /-separated part must be letters, digits, _ . - and not start with . or -');
    }
  }
  return key;
}

/** A list prefix may end anywhere in a key, so it is checked for characters and traversal only. */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || !PREFIX_CHARS.test(prefix) || prefix.startsWith('/')) {
    throw new InvalidKeyError(String(prefix), 'a prefix may hold letters, digits, _ . - / and must not start with /');
  }
  if (prefix.split('/').some((segment, i, all) => segment === '..' || (segment === '.' && i < all.length - 1))) {
    throw new InvalidKeyError(prefix, "it must not contain '..'");
  }
  return prefix;
}

/**
 * Passes bytes through while counting and hashing them; fails with BlobTooLargeError past `maxBytes`.
 * Read `sizeBytes`/`sha256()` after the stream has ended.
 */
export class HashingCounter extends Transform {
  sizeBytes = 0;
  readonly #hash = createHash('sha256');
  #digest: string | undefined;

  constructor(private readonly maxBytes?: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sizeBytes += chunk.length;
    if (this.maxBytes !== undefined && this.sizeBytes > this.maxBytes) {
      callback(new BlobTooLargeError(this.maxBytes));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  sha256(): string {
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }
}

/** `attachment` Content-Disposition with an ASCII fallback and the RFC 5987 UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
