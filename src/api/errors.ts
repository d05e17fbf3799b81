// The one place that turns errors into the contract's `{"error": "..."}` bodies: domain errors by kind,
// storage errors (blob store, store) by what they mean, Fastify's own errors (validation, content type,
// body size, malformed JSON) by code, and anything else as a 500 that names only the request id (the
// stack goes to the log). Routes do not map errors themselves.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, forbidden, invalid, notFound, type ErrorKind } from '../errors.js';
import { PLAIN_TEXT_PATTERN, PLAIN_TEXT_RULE } from '../domain/plain-text.js';
import { BlobTooLargeError, StorageError } from '../storage/blob-store.js';
import { isUniqueViolation } from '../store/errors.js';

/** Longest path parameter the router accepts (ids are 32 or 36 characters). */
export const MAX_PATH_SEGMENT_CHARS = 100;
/** Largest request line plus headers Node's HTTP parser accepts (its default). */
export const MAX_HEADER_BYTES = 16 * 1024;

export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  'payment-required': 402,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  unavailable: 503,
};

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { body: 'field', querystring: 'query parameter', params: 'path parameter', headers: 'header' };

/** `/environmentIds/0` → `environmentIds[0]`. */
function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** A one-line message naming the field at fault, from the first validation error. */
export function validationMessage(errors: AjvError[], context: string | undefined): string {
  const part = PART_NAMES[context ?? 'body'] ?? 'field';
  const e = errors[0];
  if (!e) return 'invalid request';
  const base = fieldPath(e.instancePath);
  const join = (name: string) => (base ? `${base}.${name}` : name);
  switch (e.keyword) {
    case 'required':
      return `missing required ${part} '${join(String(e.params.missingProperty))}'`;
    case 'additionalProperties':
      return `unknown ${part} '${join(String(e.params.additionalProperty))}'`;
    case 'enum':
      return `invalid ${part} '${base}': must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'pattern':
      if (e.params.pattern === PLAIN_TEXT_PATTERN) return `invalid ${part} '${base}': ${PLAIN_TEXT_RULE}`;
      break;
  }
  if (!base) return context === 'body' || context === undefined ? `request body ${e.message ?? 'is invalid'}; send a JSON object or a form-encoded body` : `invalid ${part}s: ${e.message ?? 'invalid'}`;
  return `invalid ${part} '${base}': ${e.message ?? 'invalid value'}`;
}

/** Fastify's and plugins' error codes → status and message (documented in docs/errors.md). */
export const FRAMEWORK_ERRORS: Readonly<Record<string, [number, string]>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported content type; send application/json or application/x-www-form-urlencoded'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'unsupported content type; send application/json or application/x-www-form-urlencoded'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'request body is larger than the configured limit'],
  FST_REQ_FILE_TOO_LARGE: [413, 'upload is larger than the configured limit'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'request body is empty but the content type says JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'request body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'Content-Length does not match the body'],
  FST_ERR_BAD_URL: [400, 'the URL has a malformed path segment'],
  FST_ERR_MAX_PARAM_LENGTH: [414, `a path segment of the URL is longer than ${MAX_PATH_SEGMENT_CHARS} characters`],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'expected multipart/form-data'],
  FST_PARTS_LIMIT: [413, 'too many parts in the multipart body'],
  FST_FILES_LIMIT: [413, 'too many files in the multipart body'],
  FST_FIELDS_LIMIT: [413, 'too many fields in the multipart body'],
};

/**
 * A blob-store error that reached a route, as the catalogue error it answers with. Its own message names
 * storage keys and the store's internals, so only a download link's (written for users) is kept.
 */
export function storageAnswer(err: StorageError): DomainError {
  switch (err.kind) {
    case 'Forbidden':
      return forbidden(err.message);
    case 'NotFound':
      // Requests read blobs only through download links.
      return notFound('this download no longer exists');
    case 'TooLarge':
      return new DomainError('payload-too-large', err instanceof BlobTooLargeError ? `the upload is larger than the limit of ${err.maxBytes} bytes` : 'the upload is larger than the configured limit');
    case 'Invalid':
      return invalid('path', 'the path does not name a stored file');
    case 'Unavailable':
      return new DomainError('unavailable', 'the blob store is not reachable right now; retry');
  }
}

export interface ErrorAnswer {
  status: number;
  body: { error: string };
  retryAfterSeconds?: number;
}

/** Maps any thrown value to a status and the contract body. `internal` is true for 5xx worth logging. */
export function toErrorAnswer(err: unknown, requestId: string): ErrorAnswer & { internal: boolean } {
  if (err instanceof StorageError) err = storageAnswer(err);
  if (err instanceof DomainError) {
    const status = STATUS_BY_KIND[err.kind];
    return { status, body: { error: err.message }, retryAfterSeconds: err.retryAfterSeconds, internal: status >= 500 };
  }
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    return { status: 400, body: { error: validationMessage(fe.validation, fe.validationContext) }, internal: false };
  }
  const known = fe?.code ? FRAMEWORK_ERRORS[fe.code] : undefined;
  if (known) return { status: known[0], body: { error: known[1] }, internal: false };
  if (err instanceof SyntaxError && (fe.statusCode === 400 || (err as { status?: number }).status === 400)) {
    return { status: 400, body: { error: 'request body is not valid JSON' }, internal: false };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // A client error from Fastify or a plugin we did not map: its message is about the request, not our internals.
    return { status, body: { error: (fe.message || 'bad request').split('\n')[0]! }, internal: false };
  }
  // A check-then-insert that a concurrent request (on this or another instance) won at the store's unique key.
  if (isUniqueViolation(err)) return { status: 409, body: { error: 'a concurrent request changed the same thing first; retry' }, internal: false };
  return { status: 500, body: { error: `internal error ${requestId}` }, internal: true };
}

export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = toErrorAnswer(err, request.id);
  if (answer.internal) request.log.error({ err }, 'request failed');
  if (answer.retryAfterSeconds !== undefined) reply.header('Retry-After', String(answer.retryAfterSeconds));
  return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body);
}

/** Answers of Node's HTTP parser, which fail before any request exists (written raw on the socket). */
export const PARSER_ERRORS = {
  uriTooLong: [414, `the URL is longer than the request line and headers may be (${MAX_HEADER_BYTES} bytes)`],
  headersTooLarge: [431, `the request line and headers are larger than ${MAX_HEADER_BYTES} bytes`],
  timeout: [408, 'the request took too long to arrive'],
  malformed: [400, 'malformed HTTP request'],
} as const satisfies Record<string, readonly [number, string]>;

/**
 * Node's `clientError`: the parser refused the request before Fastify saw it, so the contract's body is
 * written by hand. An overflow whose request line is not complete (or alone most of the limit) is the URL's fault: 414.
 */
export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let answer: readonly [number, string] = PARSER_ERRORS.malformed;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answer = PARSER_ERRORS.timeout;
  else if (err.code === 'HPE_HEADER_OVERFLOW') {
    const head = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
    const lineEnd = head.indexOf('\r\n');
    const longLine = /^[A-Z]+ /.test(head) && (lineEnd === -1 || lineEnd > MAX_HEADER_BYTES / 2);
    answer = longLine ? PARSER_ERRORS.uriTooLong : PARSER_ERRORS.headersTooLarge;
  }
  const [status, message] = answer;
  const body = JSON.stringify({ error: message });
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  // end() lets the answer out before the socket goes; a peer that never closes its side is cut off.
  setTimeout(() => socket.destroy(), 2_000).unref();
}
