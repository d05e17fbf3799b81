// The error catalogue: domain, auth and operations code throw these; src/api/errors.ts maps each kind to an
// HTTP status and the contract's {"error": "..."} body. Messages name the thing at fault.

export type ErrorKind =
  | 'invalid' // 400
  | 'unauthorized' // 401
  | 'payment-required' // 402
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'payload-too-large' // 413
  | 'unsupported-media-type' // 415
  | 'rate-limited' // 429
  | 'unavailable'; // 503

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** The request field at fault, for `invalid`. */
    readonly field?: string,
    /** Seconds to wait, for `rate-limited`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (field: string, message: string) => new DomainError('invalid', message, field);
export const notFound = (message: string) => new DomainError('not-found', message);
export const conflict = (message: string) => new DomainError('conflict', message);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const unauthorized = (message: string) => new DomainError('unauthorized', message);
export const paymentRequired = (message: string) => new DomainError('payment-required', message);
