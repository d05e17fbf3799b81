// `allotrope/sdk`: the typed client of the Allotrope management API (see docs/sdk.md).
export { Allotrope, AllotropeError, ENDPOINTS, OperationFailedError, OperationTimeoutError, paginate, retryAfterMs } from './client.js';
export type { AllotropeOptions, RequestOptions, WaitOptions } from './client.js';
export type * from './types.js';
