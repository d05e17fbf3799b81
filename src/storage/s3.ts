// S3 (or any S3-compatible endpoint) blob store, and createBlobStore() which picks fs or S3 from
// ALLOTROPE_STORAGE_URL. An object becomes visible only when its single PutObject or its multipart
// upload completes, so readers never see a partial blob.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isAbsolute } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  BlobNotFoundError,
  BlobTooLargeError,
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
import { FsBlobStore } from './fs.js';
import { systemClock, type Clock } from '../clock.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' for none). */
  prefix?: string;
  /** Custom endpoint for S3-compatible services, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  region?: string;
  /** Omit to use the SDK's default chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  credentials?: S3Credentials;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** Multipart part size (at least 5 MiB); memory held by an upload is about partSizeBytes × queueSize. */
  partSizeBytes?: number;
  queueSize?: number;
  /** Inject a ready client (tests, shared connection pools). */
  client?: S3Client;
  /** Signing time of presigned links (the expiry counts from it). */
  clock?: Clock;
}

const MIB = 1024 * 1024;
// S3 refuses presigned URLs valid for more than 7 days.
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  readonly #partSizeBytes: number;
  readonly #queueSize: number;
  readonly #clock: Clock;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = validateBucket(options.bucket);
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix !== '') validateKey(this.prefix);
    this.#partSizeBytes = Math.max(5 * MIB, options.partSizeBytes ?? 8 * MIB);
    this.#queueSize = Math.max(1, options.queueSize ?? 2);
    this.#clock = options.clock ?? systemClock;
    this.client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        // We hash every blob ourselves (sha256); the SDK's default CRC trailers (aws-chunked bodies)
        // are not understood by many S3-compatible servers.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      } satisfies S3ClientConfig);
  }

  #objectKey(key: string): string {
    validateKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  async put(key: string, stream: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const objectKey = this.#objectKey(key);
    const counter = new HashingCounter(opts.maxBytes);
    let sourceError: unknown;
    stream.once('error', (err) => (sourceError = err));
    // A source error destroys the counter, which fails (and aborts) the upload reading from it.
    pipeline(stream, counter, () => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: counter, ...(opts.contentType ? { ContentType: opts.contentType } : {}) },
      partSize: this.#partSizeBytes,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      stream.destroy();
      if (opts.maxBytes !== undefined && counter.sizeBytes > opts.maxBytes) throw new BlobTooLargeError(opts.maxBytes);
      if (sourceError) throw sourceError;
      throw storageFailure(`storing '${key}'`, err);
    }
    return { sizeBytes: counter.sizeBytes, sha256: counter.sha256() };
  }

  async get(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      // In Node the SDK's body is an http.IncomingMessage, i.e. a Readable.
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      throw storageFailure(`reading '${key}'`, err);
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      return { sizeBytes: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw storageFailure(`checking '${key}'`, err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw storageFailure(`deleting '${key}'`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    const fullPrefix = this.prefix === '' ? prefix : `${this.prefix}/${prefix}`;
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1;
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullPrefix, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw storageFailure(`listing '${prefix}'`, err);
    }
    return keys.sort();
  }

  async signedDownloadUrl(key: string, opts: DownloadUrlOptions): Promise<string> {
    if (!Number.isInteger(opts.expiresInSeconds) || opts.expiresInSeconds <= 0 || opts.expiresInSeconds > MAX_PRESIGN_SECONDS) {
      throw new StorageError('Invalid', `expiresInSeconds must be a whole number from 1 to ${MAX_PRESIGN_SECONDS} (7 days) for S3 links`);
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.#objectKey(key),
      ResponseContentDisposition: contentDisposition(opts.fileName),
    });
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresInSeconds, signingDate: this.#clock.now() });
  }

  close(): void {
    this.client.destroy();
  }
}

export function createS3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  return new S3BlobStore(options);
}

/** `s3://bucket/some/prefix` → `{ bucket: 'bucket', prefix: 'some/prefix' }`. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url.trim());
  if (!match) throw new StorageError('Invalid', `'${url}' is not an s3://bucket/prefix URL`);
  const prefix = match[2]!.replace(/\/+$/, '');
  if (prefix !== '') validateKey(prefix);
  return { bucket: validateBucket(match[1]!), prefix };
}

function validateBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new StorageError('Invalid', `'${bucket}' is not a valid bucket name (3–63 lowercase letters, digits, '.' or '-')`);
  }
  return bucket;
}

export interface CreateBlobStoreOptions {
  /** For local download links: base URL of this server and the HMAC secret. */
  publicBaseUrl: string;
  downloadSecret: string | Buffer;
  clock?: Clock;
  /** S3 settings (from Config.backups.s3: region, endpoint and keys, the usual AWS_* variables). */
  s3?: Omit<S3BlobStoreOptions, 'bucket' | 'prefix'>;
}

/**
 * Picks the store from ALLOTROPE_STORAGE_URL: `s3://bucket/prefix` → S3; `file:///dir` or a plain
 * absolute path → local filesystem.
 */
export function createBlobStore(url: string, options: CreateBlobStoreOptions): BlobStore {
  if (url.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(url);
    return new S3BlobStore({
      ...options.s3,
      bucket,
      prefix,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  let root: string | undefined;
  if (url.startsWith('file://')) root = fileURLToPath(url);
  else if (isAbsolute(url)) root = url;
  if (!root) {
    throw new StorageError('Invalid', `ALLOTROPE_STORAGE_URL '${url}' is not supported: use s3://bucket/prefix, file:///dir or an absolute path`);
  }
  return new FsBlobStore({
    root,
    publicBaseUrl: options.publicBaseUrl,
    downloadSecret: options.downloadSecret,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

// The SDK's messages can be XML fragments; keep them as the cause and give a readable one.
function storageFailure(what: string, err: unknown): Error {
  if (err instanceof StorageError) return err;
  const e = err as { name?: string; message?: string };
  return new StorageError('Unavailable', `object storage failed while ${what}: ${e?.name ?? 'Error'}${e?.message ? ` (${e.message})` : ''}`, { cause: err });
}
