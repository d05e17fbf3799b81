// Downloads an import from a user-given URL without letting the URL reach inside our network (SSRF):
// allowed hosts only, HTTPS only (unless configured), every resolved address checked, the connection
// pinned to the checked address (no second DNS answer can swap it), every redirect checked again,
// and a size cap.
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { refusedAddressReason } from '../net/special-addresses.js';

export type FetchRefusalReason =
  | 'invalid-url'
  | 'protocol'
  | 'host-not-allowed'
  | 'address-not-allowed'
  | 'dns'
  | 'too-many-redirects'
  | 'too-large'
  | 'http-status'
  | 'network'
  | 'timeout';

/** A download refused or failed; `message` names the reason and is safe to show (no query string). */
export class FetchRefusedError extends Error {
  override readonly name = 'FetchRefusedError';
  readonly kind: 'Invalid' | 'TooLarge' | 'Unavailable';
  /** What an API answering for this download should say: 400 refused, 413 too large, 502 upstream failure. */
  readonly statusCode: 400 | 413 | 502;
  constructor(
    readonly reason: FetchRefusalReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statusCode = reason === 'too-large' ? 413 : reason === 'http-status' || reason === 'network' || reason === 'timeout' ? 502 : 400;
    this.kind = this.statusCode === 413 ? 'TooLarge' : this.statusCode === 502 ? 'Unavailable' : 'Invalid';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface SafeFetchOptions {
  /** Host patterns: `example.com` exactly, `*.example.com` any subdomain, `*` any host. Default `*.amazonaws.com`. */
  hostPatterns?: readonly string[];
  /** Allow plain http:// (default false: HTTPS only). */
  allowHttp?: boolean;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Default 5. */
  maxRedirects?: number;
  /** Socket idle timeout, default 30 s. */
  timeoutMs?: number;
  /** Name resolution (default: the OS resolver, all addresses). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /**
   * Exception hook for tests and deliberate setups: return true to connect to an address the
   * special-address rules would refuse. Production code should not set it.
   */
  trustAddress?: (address: string, hostname: string) => boolean;
  /** Extra CA certificates (PEM) trusted besides the usual roots: private endpoints, tests. */
  extraCaCertificates?: readonly string[];
}

export interface SafeDownload {
  /** The response body; fails with FetchRefusedError('too-large') past maxBytes. */
  body: Readable;
  /** From Content-Length, when the server sent one. */
  contentLength: number | null;
  contentType: string | null;
  /** Host of the URL finally downloaded (after redirects). */
  finalHost: string;
}

export const DEFAULT_HOST_PATTERNS: readonly string[] = ['*.amazonaws.com'];
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function defaultResolve(hostname: string): Promise<ResolvedAddress[]> {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** True when `host` matches one of the patterns (case-insensitive, trailing dot ignored). */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((raw) => {
    const p = raw.trim().toLowerCase().replace(/\.$/, '');
    if (p === '*') return true;
    if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
    return h === p;
  });
}

/** Downloads `url` under the rules above; resolves once response headers have arrived. */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<SafeDownload> {
  const maxRedirects = options.maxRedirects ?? 5;
  let current = parseUrl(url);
  for (let redirects = 0; ; redirects++) {
    const pinned = await checkTarget(current, options);
    const response = await request(current, pinned, options);
    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.resume();
      const location = response.headers.location;
      if (!location) throw new FetchRefusedError('http-status', `'${current.hostname}' answered ${status} without a Location`);
      if (redirects >= maxRedirects) throw new FetchRefusedError('too-many-redirects', `more than ${maxRedirects} redirects, the last from '${current.hostname}'`);
      current = parseUrl(location, current);
      continue;
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw new FetchRefusedError('http-status', `'${current.hostname}' answered ${status} ${response.statusMessage ?? ''}`.trim());
    }
    const lengthHeader = response.headers['content-length'];
    const contentLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    if (contentLength !== null && contentLength > options.maxBytes) {
      response.destroy();
      throw tooLarge(options.maxBytes);
    }
    const body = new SizeLimit(options.maxBytes);
    const host = current.hostname;
    response.on('error', (err) => body.destroy(new FetchRefusedError('network', `the download from '${host}' was interrupted: ${err.message}`, { cause: err })));
    // A consumer that stops early (or the size cap) must release the connection.
    body.on('close', () => {
      if (!response.complete) response.destroy();
    });
    response.pipe(body);
    return { body, contentLength, contentType: response.headers['content-type'] ?? null, finalHost: current.hostname };
  }
}

function tooLarge(maxBytes: number): FetchRefusedError {
  return new FetchRefusedError('too-large', `the download is larger than the limit of ${maxBytes} bytes`);
}

function parseUrl(input: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(input, base);
  } catch {
    throw new FetchRefusedError('invalid-url', base ? `'${base.hostname}' redirected to an invalid URL` : 'the URL is not valid');
  }
  if (parsed.username || parsed.password) throw new FetchRefusedError('invalid-url', 'URLs with embedded credentials are not accepted');
  return parsed;
}

async function checkTarget(url: URL, options: SafeFetchOptions): Promise<ResolvedAddress> {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
    throw new FetchRefusedError('protocol', `only ${options.allowHttp ? 'http and https' : 'https'} URLs are accepted, not ${url.protocol.replace(/:$/, '')}`);
  }
  // URL keeps IPv6 literals in brackets; WHATWG parsing has already normalised odd IPv4 forms.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const patterns = options.hostPatterns ?? DEFAULT_HOST_PATTERNS;
  if (!hostMatches(host, patterns)) {
    throw new FetchRefusedError('host-not-allowed', `host '${host}' is not allowed for imports (allowed: ${patterns.join(', ')})`);
  }
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? defaultResolve)(host);
    } catch (err) {
      throw new FetchRefusedError('dns', `host '${host}' could not be resolved`, { cause: err });
    }
    if (addresses.length === 0) throw new FetchRefusedError('dns', `host '${host}' has no addresses`);
  }
  // Every answer must pass, not just the first: otherwise a name with one public and one private
  // address could be steered to the private one.
  for (const { address } of addresses) {
    const reason = refusedAddressReason(address);
    if (reason && !options.trustAddress?.(address, host)) {
      const named = isIP(host) ? `address ${host}` : `host '${host}' resolves to ${address}, which`;
      throw new FetchRefusedError('address-not-allowed', `${named} is a ${reason} address; imports only download from public addresses`);
    }
  }
  return addresses[0]!;
}

function request(url: URL, pinned: ResolvedAddress, options: SafeFetchOptions): Promise<IncomingMessage> {
  // The socket connects to the address we checked, whatever DNS would answer now. TLS still verifies
  // the certificate against the URL's host name.
  const lookup = (_hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    if (opts.all) callback(null, [{ address: pinned.address, family: pinned.family } satisfies LookupAddress]);
    else callback(null, pinned.address, pinned.family);
  };
  const agentOptions = {
    keepAlive: false,
    maxSockets: 1,
    lookup,
    ...(options.extraCaCertificates?.length ? { ca: [...rootCertificates, ...options.extraCaCertificates] } : {}),
  } as unknown as http.AgentOptions;
  const client = url.protocol === 'https:' ? https : http;
  const agent = url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    const req = client.request(url, {
      method: 'GET',
      agent,
      timeout: timeoutMs,
      headers: { 'user-agent': 'allotrope-import', accept: '*/*', 'accept-encoding': 'identity' },
    });
    req.on('timeout', () => req.destroy(new FetchRefusedError('timeout', `'${url.hostname}' did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      agent.destroy();
      reject(err instanceof FetchRefusedError ? err : new FetchRefusedError('network', `downloading from '${url.hostname}' failed: ${(err as Error).message}`, { cause: err }));
    });
    req.on('response', (res) => {
      res.on('close', () => agent.destroy());
      resolvePromise(res);
    });
    req.end();
  });
}

class SizeLimit extends Transform {
  #bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.maxBytes) callback(tooLarge(this.maxBytes));
    else callback(null, chunk);
  }
}
