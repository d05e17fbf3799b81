// The Allotrope management API client: one typed method per endpoint, an access token fetched with the
// client credentials and refreshed before it expires, retries with back-off on 429/503 (honouring
// Retry-After) that reuse the request's Idempotency-Key, and waitForOperation() following nextOperationId.
// Only web-platform globals (fetch, URL, FormData, Blob, crypto.randomUUID, setTimeout): it runs in Node
// >= 20 and bundles for browsers.
import type * as T from './types.js';

export interface AllotropeOptions {
  /** Base URL of the management API, e.g. https://allotrope.example.com */
  url: string;
  /** API client credentials (POST /organizations/oauth/token); the token is fetched and refreshed as needed. */
  clientId?: string;
  clientSecret?: string;
  /** A ready access token instead of credentials (not refreshed). */
  accessToken?: string;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Retries of a request answered 429 or 503, or lost on the network (default 4). */
  maxRetries?: number;
  /** First back-off delay when no Retry-After is given; doubles each retry, with jitter (default 500 ms). */
  retryBaseMs?: number;
  /** Longest wait between two attempts, whatever Retry-After says (default 60 s). */
  maxRetryDelayMs?: number;
  /** Refresh the token this long before it expires (default 60 s; at most half its lifetime). */
  refreshMarginSeconds?: number;
  /** Milliseconds since the epoch (default Date.now); tests move it. */
  now?: () => number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as multipart/form-data (import). */
  multipart?: FormData;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** For POST/PUT/PATCH; a random one is made when omitted, and kept across retries. */
  idempotencyKey?: string;
  /** Send the bearer token (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** An answer of the API outside 2xx: the status and the server's `error` string. */
export class AllotropeError extends Error {
  constructor(
    readonly status: number,
    /** The server's `error` string. */
    readonly error: string,
    readonly method: string,
    readonly path: string,
    readonly requestId: string | null,
  ) {
    super(`${method} ${path}: ${status} ${error}`);
    this.name = 'AllotropeError';
  }
}

/** An operation that ended `failed`; `message` is the operation's error. */
export class OperationFailedError extends Error {
  constructor(readonly operation: T.Operation) {
    super(operation.error ?? `operation ${operation.operationType} failed`);
    this.name = 'OperationFailedError';
  }
}

export class OperationTimeoutError extends Error {
  constructor(readonly operation: T.Operation, timeoutMs: number) {
    super(`operation ${operation.id} (${operation.operationType}) still ${operation.status} after ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'OperationTimeoutError';
  }
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 30 minutes). */
  timeout?: number;
  /** Poll interval (default 1000 ms). */
  intervalMs?: number;
  /** Called with the operation whenever its status or steps change, and for each follow-up operation. */
  onProgress?: (operation: T.Operation) => void;
  signal?: AbortSignal;
}

/** Every endpoint the SDK calls: method name → [HTTP method, OpenAPI path]. */
export const ENDPOINTS = {
  token: ['POST', '/organizations/oauth/token'],
  'catalog.versions': ['GET', '/deployments/versions'],
  'catalog.plans': ['GET', '/deployments/plans'],
  'catalog.regions': ['GET', '/deployments/regions'],
  'environments.list': ['GET', '/deployments/environments'],
  'environments.create': ['POST', '/deployments/environments'],
  'environments.get': ['GET', '/deployments/environments/{id}'],
  'environments.update': ['PATCH', '/deployments/environments/{id}'],
  'environments.delete': ['DELETE', '/deployments/environments/{id}'],
  'environments.databases': ['GET', '/deployments/environments/{id}/databases'],
  'networkRules.list': ['GET', '/deployments/environments/{id}/network-rules'],
  'networkRules.create': ['POST', '/deployments/environments/{id}/network-rules'],
  'networkRules.delete': ['DELETE', '/deployments/environments/{id}/network-rules/{ruleId}'],
  'environmentTypes.list': ['GET', '/organizations/environment-types'],
  'environmentTypes.set': ['PUT', '/organizations/environment-types/{type}'],
  'apiClients.list': ['GET', '/organizations/api-clients'],
  'apiClients.create': ['POST', '/organizations/api-clients'],
  'apiClients.get': ['GET', '/organizations/api-clients/{id}'],
  'apiClients.update': ['PATCH', '/organizations/api-clients/{id}'],
  'apiClients.delete': ['DELETE', '/organizations/api-clients/{id}'],
  'apiClients.refreshSecret': ['POST', '/organizations/api-clients/{id}/secret'],
  'billing.get': ['GET', '/organizations/billing'],
  'billing.setPaymentMethod': ['PUT', '/organizations/billing/payment-method'],
  'billing.usage': ['GET', '/organizations/billing/usage'],
  'billing.statement': ['GET', '/organizations/billing/statements/{month}'],
  'databases.list': ['GET', '/deployments/databases/{vendor}'],
  'databases.create': ['POST', '/deployments/databases/{vendor}'],
  'databases.get': ['GET', '/deployments/databases/{vendor}/{id}'],
  'databases.update': ['PATCH', '/deployments/databases/{vendor}/{id}'],
  'databases.delete': ['DELETE', '/deployments/databases/{vendor}/{id}'],
  'databases.status': ['GET', '/deployments/databases/{vendor}/{id}/status'],
  'databases.restart': ['PUT', '/deployments/databases/{vendor}/{id}/restart'],
  'databases.pause': ['PUT', '/deployments/databases/{vendor}/{id}/pause'],
  'databases.resume': ['PUT', '/deployments/databases/{vendor}/{id}/resume'],
  'databases.empty': ['PUT', '/deployments/databases/{vendor}/{id}/empty'],
  'databases.changePlan': ['PUT', '/deployments/databases/{vendor}/{id}/plan/change'],
  'databases.setExtras': ['PUT', '/deployments/databases/{vendor}/{id}/extras'],
  'databases.switchUrl': ['PUT', '/deployments/databases/{vendor}/{id}/connection-url/switch'],
  'databases.clone': ['POST', '/deployments/databases/{vendor}/{id}/clone'],
  'operations.list': ['GET', '/deployments/databases/{vendor}/{id}/operations'],
  'operations.get': ['GET', '/deployments/databases/{vendor}/{id}/operations/{operationId}'],
  'users.list': ['GET', '/deployments/databases/{vendor}/{id}/users'],
  'users.create': ['POST', '/deployments/databases/{vendor}/{id}/users'],
  'users.resetPassword': ['POST', '/deployments/databases/{vendor}/{id}/users/{userId}/password'],
  'users.delete': ['DELETE', '/deployments/databases/{vendor}/{id}/users/{userId}'],
  'config.get': ['GET', '/deployments/databases/{vendor}/{id}/settings/config'],
  'config.put': ['PUT', '/deployments/databases/{vendor}/{id}/settings/config'],
  'snapshots.list': ['GET', '/deployments/databases/{vendor}/{id}/snapshots'],
  'snapshots.create': ['POST', '/deployments/databases/{vendor}/{id}/snapshots'],
  'snapshots.get': ['GET', '/deployments/databases/{vendor}/{id}/snapshots/{snapshotId}'],
  'snapshots.delete': ['DELETE', '/deployments/databases/{vendor}/{id}/snapshots/{snapshotId}'],
  'snapshots.restore': ['POST', '/deployments/databases/{vendor}/{id}/snapshots/{snapshotId}/restore'],
  'backups.list': ['GET', '/deployments/databases/{vendor}/{id}/backups'],
  'backups.latest': ['GET', '/deployments/databases/{vendor}/{id}/backups/latest'],
  'backups.getSchedule': ['GET', '/deployments/databases/{vendor}/{id}/backups/schedule'],
  'backups.setSchedule': ['PUT', '/deployments/databases/{vendor}/{id}/backups/schedule'],
  'exports.start': ['PUT', '/deployments/databases/{vendor}/{id}/export'],
  'exports.list': ['GET', '/deployments/databases/{vendor}/{id}/exports'],
  'exports.get': ['GET', '/deployments/databases/{vendor}/{id}/exports/{exportId}'],
  'imports.start': ['PUT', '/deployments/databases/{vendor}/{id}/import'],
} as const satisfies Record<string, readonly [string, string]>;

type Endpoint = keyof typeof ENDPOINTS;

const VENDOR = 'graphneo';
const RETRY_STATUSES = new Set([429, 503]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Seconds of a Retry-After header (delta seconds or an HTTP date), in ms; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Yields every item of a collection, page by page (`?after=` the last id). */
export async function* paginate<Item extends { id: string }>(list: (page: T.Page) => Promise<Item[]>, limit = 100): AsyncGenerator<Item> {
  let after: string | undefined;
  for (;;) {
    const page = await list({ limit, ...(after ? { after } : {}) });
    yield* page;
    if (page.length < limit) return;
    after = page[page.length - 1]!.id;
  }
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

export class Allotrope {
  readonly url: string;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly refreshMarginSeconds: number;
  private token: CachedToken | null = null;
  private tokenPending: Promise<string> | null = null;

  constructor(private readonly options: AllotropeOptions) {
    if (!options.url) throw new TypeError('Allotrope: url is required');
    if (!options.accessToken && !(options.clientId && options.clientSecret)) throw new TypeError('Allotrope: give clientId and clientSecret, or accessToken');
    this.url = options.url.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
    this.maxRetries = options.maxRetries ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.refreshMarginSeconds = options.refreshMarginSeconds ?? 60;
  }

  // ---- transport ------------------------------------------------------------------------------------

  /** Fetches a new access token with the client credentials. */
  async fetchToken(): Promise<T.Token> {
    const { clientId, clientSecret } = this.options;
    if (!clientId || !clientSecret) throw new TypeError('Allotrope: no client credentials to fetch a token with');
    const [method, path] = ENDPOINTS.token;
    const issued = this.now();
    const token = await this.request<T.Token>(method, path, { auth: false, form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
    const margin = Math.min(this.refreshMarginSeconds, token.expires_in / 2);
    this.token = { value: token.access_token, refreshAt: issued + (token.expires_in - margin) * 1000 };
    return token;
  }

  /** The current access token, fetched or refreshed when it is missing or about to expire. */
  async accessToken(): Promise<string> {
    if (this.options.accessToken) return this.options.accessToken;
    if (this.token && this.now() < this.token.refreshAt) return this.token.value;
    // One fetch for every request that finds the token stale at once.
    this.tokenPending ??= this.fetchToken()
      .then((t) => t.access_token)
      .finally(() => (this.tokenPending = null));
    return this.tokenPending;
  }

  /** One API call with retries; resolves to the parsed JSON body (undefined for 204). */
  async request<R>(method: string, path: string, opts: RequestOptions = {}): Promise<R> {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const writes = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const idempotencyKey = writes && opts.auth !== false ? (opts.idempotencyKey ?? globalThis.crypto.randomUUID()) : undefined;
    let body: RequestInit['body'];
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.multipart) body = opts.multipart;
    else if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    let refreshedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      if (opts.auth !== false) headers.authorization = `Bearer ${await this.accessToken()}`;
      let res: Response;
      try {
        res = await this.fetchFn(url, { method, headers, body, signal: opts.signal });
      } catch (err) {
        // Lost on the network: safe to send again, a write carries its Idempotency-Key.
        if (opts.signal?.aborted || attempt >= this.maxRetries || (writes && !idempotencyKey)) throw err;
        await sleep(this.backoff(attempt, null), opts.signal);
        continue;
      }
      if (res.ok) {
        if (res.status === 204) return undefined as R;
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as R;
      }
      const text = await res.text();
      let error = text || res.statusText;
      try {
        const parsed = JSON.parse(text) as { error?: unknown };
        if (typeof parsed.error === 'string') error = parsed.error;
      } catch {
        // not JSON: keep the text
      }
      if (res.status === 401 && opts.auth !== false && !this.options.accessToken && !refreshedAfter401) {
        // Revoked or expired early (server clock ahead): one new token, one more try.
        refreshedAfter401 = true;
        this.token = null;
        continue;
      }
      if (RETRY_STATUSES.has(res.status) && attempt < this.maxRetries) {
        await sleep(this.backoff(attempt, retryAfterMs(res.headers.get('retry-after'), this.now())), opts.signal);
        continue;
      }
      throw new AllotropeError(res.status, error, method, path, res.headers.get('x-request-id'));
    }
  }

  private backoff(attempt: number, retryAfter: number | null): number {
    const base = retryAfter ?? this.retryBaseMs * 2 ** attempt * (0.5 + Math.random() / 2);
    return Math.min(base, this.maxRetryDelayMs);
  }

  private call<R>(endpoint: Endpoint, params: Record<string, string>, opts: RequestOptions = {}): Promise<R> {
    const [method, template] = ENDPOINTS[endpoint];
    const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const value = name === 'vendor' ? VENDOR : params[name];
      if (value === undefined || value === '') throw new TypeError(`Allotrope: ${endpoint} needs ${name}`);
      return encodeURIComponent(value);
    });
    return this.request<R>(method, path, opts);
  }

  // ---- operations -----------------------------------------------------------------------------------

  /**
   * Polls an operation until it ends, following `nextOperationId` to its follow-ups; resolves to the last
   * one, finished. Throws OperationFailedError (with the server's message) or OperationTimeoutError.
   */
  async waitForOperation(databaseId: string, operationId: string, opts: WaitOptions = {}): Promise<T.Operation> {
    const timeout = opts.timeout ?? 30 * 60_000;
    const deadline = this.now() + timeout;
    let id = operationId;
    let seen = '';
    for (;;) {
      const op = await this.operations.get(databaseId, id);
      const signature = JSON.stringify([op.id, op.status, op.steps.map((s) => [s.name, s.status, s.message])]);
      if (signature !== seen) {
        seen = signature;
        opts.onProgress?.(op);
      }
      if (op.status === 'failed') throw new OperationFailedError(op);
      if (op.status === 'finished') {
        if (!op.nextOperationId) return op;
        id = op.nextOperationId;
        continue;
      }
      if (this.now() >= deadline) throw new OperationTimeoutError(op, timeout);
      await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(0, deadline - this.now())), opts.signal);
    }
  }

  readonly operations = {
    list: (databaseId: string, page: T.Page = {}) => this.call<T.Operation[]>('operations.list', { id: databaseId }, { query: { ...page } }),
    get: (databaseId: string, operationId: string) => this.call<T.Operation>('operations.get', { id: databaseId, operationId }),
  };

  // ---- catalog, environments, organization ---------------------------------------------------------

  readonly catalog = {
    versions: () => this.call<T.Version[]>('catalog.versions', {}),
    plans: () => this.call<T.Plan[]>('catalog.plans', {}),
    regions: () => this.call<T.Region[]>('catalog.regions', {}),
  };

  readonly environments = {
    list: (page: T.Page = {}) => this.call<T.Environment[]>('environments.list', {}, { query: { ...page } }),
    create: (body: T.CreateEnvironment, o: { idempotencyKey?: string } = {}) => this.call<T.Environment>('environments.create', {}, { body, ...o }),
    get: (id: string) => this.call<T.Environment>('environments.get', { id }),
    update: (id: string, body: T.UpdateEnvironment) => this.call<T.Environment>('environments.update', { id }, { body }),
    delete: (id: string) => this.call<void>('environments.delete', { id }),
    databases: (id: string, page: T.Page = {}) => this.call<T.Database[]>('environments.databases', { id }, { query: { ...page } }),
  };

  readonly networkRules = {
    list: (environmentId: string) => this.call<T.NetworkRule[]>('networkRules.list', { id: environmentId }),
    create: (environmentId: string, body: T.CreateNetworkRule) => this.call<T.NetworkRule>('networkRules.create', { id: environmentId }, { body }),
    delete: (environmentId: string, ruleId: string) => this.call<void>('networkRules.delete', { id: environmentId, ruleId }),
  };

  readonly environmentTypes = {
    list: () => this.call<T.EnvironmentTypeScope[]>('environmentTypes.list', {}),
    set: (type: T.EnvironmentType, allowedActions: T.DeploymentAction[]) => this.call<T.EnvironmentTypeScope>('environmentTypes.set', { type }, { body: { allowedActions } }),
  };

  readonly apiClients = {
    list: (page: T.Page = {}) => this.call<T.ApiClient[]>('apiClients.list', {}, { query: { ...page } }),
    create: (body: T.CreateApiClient) => this.call<T.ApiClientWithSecret>('apiClients.create', {}, { body }),
    get: (id: string) => this.call<T.ApiClient>('apiClients.get', { id }),
    update: (id: string, body: T.UpdateApiClient) => this.call<T.ApiClient>('apiClients.update', { id }, { body }),
    delete: (id: string) => this.call<void>('apiClients.delete', { id }),
    refreshSecret: (id: string) => this.call<T.ClientSecret>('apiClients.refreshSecret', { id }),
  };

  /** Credit, payment method, usage and statements (owner, admin and billing roles; usage also with billing off). */
  readonly billing = {
    get: () => this.call<T.Billing>('billing.get', {}),
    setPaymentMethod: (body: T.SetPaymentMethod) => this.call<T.Billing>('billing.setPaymentMethod', {}, { body }),
    /** JSON lines and totals; the same report as CSV is `?format=csv` on the route itself. */
    usage: (query: T.UsageQuery = {}) => this.call<T.UsageReport>('billing.usage', {}, { query: { ...query, format: 'json' } }),
    /** The statement of one UTC calendar month, `yyyy-mm`. */
    statement: (month: string) => this.call<T.Statement>('billing.statement', { month }, { query: { format: 'json' } }),
  };

  // ---- databases ------------------------------------------------------------------------------------

  readonly databases = {
    list: (query: T.ListDatabases = {}) => this.call<T.Database[]>('databases.list', {}, { query: { ...query } }),
    create: (body: T.CreateDatabase, o: { idempotencyKey?: string } = {}) => this.call<T.DatabaseCreated>('databases.create', {}, { body, ...o }),
    get: (id: string) => this.call<T.Database>('databases.get', { id }),
    update: (id: string, body: T.UpdateDatabase) => this.call<T.Database>('databases.update', { id }, { body }),
    /** Terminate: stop, take the final snapshot, free the endpoint. */
    delete: (id: string) => this.call<T.OperationAccepted>('databases.delete', { id }),
    status: (id: string) => this.call<T.DatabaseStatus>('databases.status', { id }),
    restart: (id: string, body: T.RestartOptions = {}) => this.call<T.RestartAccepted>('databases.restart', { id }, { body }),
    pause: (id: string) => this.call<T.OperationAccepted>('databases.pause', { id }),
    resume: (id: string) => this.call<T.OperationAccepted>('databases.resume', { id }),
    empty: (id: string) => this.call<T.OperationAccepted>('databases.empty', { id }),
    changePlan: (id: string, targetPlanName: string) => this.call<T.OperationAccepted>('databases.changePlan', { id }, { body: { targetPlanName } }),
    setExtras: (id: string, enabledExtrasKinds: string[]) => this.call<T.OperationAccepted>('databases.setExtras', { id }, { body: { enabledExtrasKinds } }),
    /** The two databases exchange their connection URLs. */
    switchUrl: (id: string, body: T.SwitchConnectionUrl) => this.call<T.OperationAccepted>('databases.switchUrl', { id }, { body }),
    clone: (id: string, body: T.CloneDatabase) => this.call<T.DatabaseCloned>('databases.clone', { id }, { body }),
  };

  readonly users = {
    list: (databaseId: string) => this.call<T.DatabaseUser[]>('users.list', { id: databaseId }),
    create: (databaseId: string, body: T.CreateDatabaseUser = {}) => this.call<T.DatabaseUserWithPassword>('users.create', { id: databaseId }, { body }),
    resetPassword: (databaseId: string, userId: string) => this.call<T.NewPassword>('users.resetPassword', { id: databaseId, userId }),
    delete: (databaseId: string, userId: string) => this.call<void>('users.delete', { id: databaseId, userId }),
  };

  readonly config = {
    get: (databaseId: string) => this.call<T.Configuration>('config.get', { id: databaseId }),
    put: (databaseId: string, body: T.PutConfiguration) => this.call<T.Configuration>('config.put', { id: databaseId }, { body }),
  };

  // ---- backups --------------------------------------------------------------------------------------

  readonly snapshots = {
    list: (databaseId: string) => this.call<T.Snapshot[]>('snapshots.list', { id: databaseId }),
    create: (databaseId: string, body: T.CreateSnapshot = {}) => this.call<T.SnapshotStarted>('snapshots.create', { id: databaseId }, { body }),
    get: (databaseId: string, snapshotId: string) => this.call<T.Snapshot>('snapshots.get', { id: databaseId, snapshotId }),
    delete: (databaseId: string, snapshotId: string) => this.call<void>('snapshots.delete', { id: databaseId, snapshotId }),
    /** Into this database, or `targetDatabaseId`. */
    restore: (databaseId: string, snapshotId: string, body: T.RestoreOptions = {}) => this.call<T.OperationAccepted>('snapshots.restore', { id: databaseId, snapshotId }, { body }),
  };

  readonly backups = {
    list: (databaseId: string) => this.call<T.Snapshot[]>('backups.list', { id: databaseId }),
    latest: (databaseId: string) => this.call<T.Snapshot>('backups.latest', { id: databaseId }),
    getSchedule: (databaseId: string) => this.call<T.BackupSchedule>('backups.getSchedule', { id: databaseId }),
    setSchedule: (databaseId: string, body: T.PutBackupSchedule) => this.call<T.BackupSchedule>('backups.setSchedule', { id: databaseId }, { body }),
  };

  readonly exports = {
    start: (databaseId: string, body: T.StartExport = {}) => this.call<T.ExportStarted>('exports.start', { id: databaseId }, { body }),
    list: (databaseId: string) => this.call<T.Export[]>('exports.list', { id: databaseId }),
    get: (databaseId: string, exportId: string) => this.call<T.Export>('exports.get', { id: databaseId, exportId }),
    /** Fetches a ready export's file through its signed link (no token); the Response streams the body. */
    download: async (exp: T.Export): Promise<Response> => {
      if (!exp.url) throw new TypeError(`export ${exp.id} has no download link (status ${exp.status})`);
      const res = await this.fetchFn(exp.url);
      if (!res.ok) throw new AllotropeError(res.status, (await res.text().catch(() => '')) || res.statusText, 'GET', exp.url.split('?')[0]!, res.headers.get('x-request-id'));
      return res;
    },
  };

  readonly imports = {
    /** Replaces the database's data with the archive or Cypher script at `url` (https, an allowed host). */
    fromUrl: (databaseId: string, url: string) => this.call<T.OperationAccepted>('imports.start', { id: databaseId }, { body: { url } }),
    /** Uploads an archive or Cypher script (a Blob or File; in Node, fs.openAsBlob streams a file). */
    upload: (databaseId: string, file: Blob, filename = 'import') => {
      const form = new FormData();
      form.append('file', file, filename);
      return this.call<T.OperationAccepted>('imports.start', { id: databaseId }, { multipart: form });
    },
  };
}
