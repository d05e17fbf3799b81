// One typed configuration object: built-in defaults < optional JSON config file (`--config`) < environment
// variables. Every bad value stops start-up with a ConfigError whose message is one line naming the setting.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { defaultEnginesDir, type Neo4jInstall } from './engines/neo4j-install.js';
import { parseNodeUser, type NodeUserSetting } from './runtimes/local/node-user.js';
import { MAX_QUERY_CHECK_BUDGET_MS } from './runtimes/local/settings.js';
import { DEFAULT_HOST_PATTERNS } from './storage/safe-fetch.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface RegionConfig {
  id: string;
  name: string;
  /** The runtime that places databases of this region (`local` today). */
  runtime: string;
  default: boolean;
}

export interface Config {
  /** Address the management API listens on. */
  host: string;
  /** Port of the management API; 0 picks a free port (tests). */
  port: number;
  /** Absolute path of the data directory (store, keys, database files, backups). */
  dataDir: string;
  /** `sqlite:<path>` or a plain file path (a `postgres://` URL later). */
  storeUrl: string;
  /** Host name written into database connection URLs. */
  publicHost: string;
  /** Inclusive port range handed to database endpoints. */
  dbPorts: { first: number; last: number };
  logLevel: LogLevel;
  /** Lifetime of issued access tokens (the contract says one hour). */
  tokenTtlSeconds: number;
  /** HTTPS certificate and key files; plain HTTP when absent. */
  tls: { cert: string; key: string } | null;
  /** Serve plain HTTP on a non-loopback address because a TLS-terminating proxy stands in front. */
  insecureHttp: boolean;
  /** TLS on the router's shared port, where `<database id>.<publicHost>` (SNI) picks the database. */
  routerTls: RouterTlsConfig;
  /** Proxy addresses whose `X-Forwarded-*` headers are believed (only with insecureHttp or TLS). */
  trustedProxies: string[];
  /** Largest JSON/form request body, in bytes. */
  bodyLimitBytes: number;
  /** Largest multipart upload (imports), in bytes. */
  uploadLimitBytes: number;
  auth: {
    /** Failed token requests allowed per client address within `failureWindowMs` before 429. */
    maxFailedAttempts: number;
    failureWindowMs: number;
  };
  regions: RegionConfig[];
  /** The web console at /console (docs/console.md). */
  console: {
    /** A console session ends after this many minutes without a request (ALLOTROPE_CONSOLE_IDLE_MINUTES). */
    idleMinutes: number;
  };
  backups: {
    /** Where backups and exports are kept: `s3://bucket/prefix`, `file://…` or a path; null = `<dataDir>/blobs`. */
    storageUrl: string | null;
    /** Host patterns an import URL may name (`*.amazonaws.com` by default). */
    importHosts: string[];
    /** Allow plain-HTTP import URLs (never by default). */
    importAllowHttp: boolean;
    /** Resident memory a Cypher-script import may take before it is stopped and refused. */
    cypherImportMaxMemoryBytes: number;
    /** Time a Cypher-script import may take before it is stopped and refused. */
    cypherImportTimeoutMs: number;
    /** How an `s3://` storageUrl is reached: the usual AWS_* variables (docs/configuration.md). */
    s3: S3Config;
  };
  operations: { concurrency: number; leaseMs: number };
  runtime: {
    healthIntervalMs: number;
    /** Which OS user database nodes run as (ALLOTROPE_NODE_USER): see runtimes/local/node-user.ts. */
    nodeUser: NodeUserSetting;
    /**
     * Query-check budget in ms (0 = off) for nodes without a `db.query_check.budget` setting
     * (ALLOTROPE_QUERY_CHECK_BUDGET_MS); null leaves the graph-server's own default.
     */
    queryCheckBudgetMs: number | null;
  };
  billing: {
    /** Charge organizations (ALLOTROPE_BILLING=on); off: usage is only reported (showback), nothing needs paying. */
    enabled: boolean;
    /** Credit a new organization's billing account opens with, in micro-dollars (ALLOTROPE_BILLING_INITIAL_CREDIT, dollars). */
    initialCreditMicros: number;
    /** Storage-only rate of a paused (or failed) database: per GB of its plan's storage per month, micro-dollars. */
    storageMicrosPerGbMonth: number;
    /** Snapshots and backups kept: per GB stored per month, micro-dollars. */
    snapshotMicrosPerGbMonth: number;
  };
  /** The router (src/router/, docs/router.md): the process owning every database's public ports. */
  router: {
    /** How long a connection to a paused auto-resume database is held while it resumes (ALLOTROPE_AUTO_RESUME_WAIT_MS). */
    autoResumeWaitMs: number;
    /** How long open connections of a switched endpoint keep running before they are closed (ALLOTROPE_SWITCH_DRAIN_MS). */
    switchDrainMs: number;
  };
  /** What a clean stop of `serve` does to the router and database nodes: `stop` them, or `keep` them serving (ALLOTROPE_ON_EXIT). */
  onExit: 'stop' | 'keep';
  engines: {
    /** Where `allotrope engines install` puts engines (ALLOTROPE_ENGINES_DIR; see engines/neo4j-install.ts). */
    dir: string;
    /** The Neo4j engine found there at start-up (`serve` looks); null: only Grafeo versions are offered. */
    neo4j: Neo4jInstall | null;
  };
}

export interface S3Config {
  /** AWS_REGION, else AWS_DEFAULT_REGION. */
  region: string;
  /** AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL: an S3-compatible service; null is AWS itself. */
  endpoint: string | null;
  /**
   * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); null leaves the AWS SDK's default
   * chain (profiles, instance roles). Environment only: never read from nor written to a file.
   */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}

/** The AWS SDK's own fallback region. */
const DEFAULT_S3_REGION = 'us-east-1';

export type RouterTlsMode = 'off' | 'self-signed' | 'certificate';
const ROUTER_TLS_MODES: readonly RouterTlsMode[] = ['off', 'self-signed', 'certificate'];

export interface RouterTlsConfig {
  /** `off`: per-database plain ports only; `self-signed`: a certificate made once in `<dataDir>/router-tls`; `certificate`: the files below. */
  mode: RouterTlsMode;
  /** Certificate (chain) and key files for `certificate` mode; null takes the API's `tls.cert`/`tls.key`. */
  cert: string | null;
  key: string | null;
  /** The one port every database is reached on over TLS. */
  port: number;
  /** Time a client has to finish the TLS handshake. */
  handshakeTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Path of a JSON file whose keys are those of `Config` (nested objects may be partial). */
  configFile?: string;
  /** Environment variables to read; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against; defaults to the current directory. */
  cwd?: string;
}

function defaults(): Omit<Config, 'storeUrl' | 'engines' | 'billing' | 'backups'> & {
  storeUrl: string | null;
  backups: Omit<Config['backups'], 's3'> & { s3: Omit<S3Config, 'credentials'> };
  engines: { dir: string | null; neo4j: null };
  billing: { enabled: boolean; initialCredit: string; storagePricePerGbMonth: string; snapshotPricePerGbMonth: string };
} {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: './data',
    storeUrl: null,
    publicHost: 'localhost',
    dbPorts: { first: 24780, last: 24979 },
    logLevel: 'info',
    tokenTtlSeconds: 3600,
    tls: null,
    insecureHttp: false,
    routerTls: { mode: 'off', cert: null, key: null, port: 7687, handshakeTimeoutMs: 10_000 },
    trustedProxies: [],
    bodyLimitBytes: 1024 * 1024,
    uploadLimitBytes: 1024 * 1024 * 1024,
    auth: { maxFailedAttempts: 10, failureWindowMs: 60_000 },
    console: { idleMinutes: 30 },
    regions: [{ id: 'local', name: 'This machine', runtime: 'local', default: true }],
    backups: { storageUrl: null, importHosts: [...DEFAULT_HOST_PATTERNS], importAllowHttp: false, cypherImportMaxMemoryBytes: 2 * 1024 ** 3, cypherImportTimeoutMs: 10 * 60_000, s3: { region: DEFAULT_S3_REGION, endpoint: null } },
    operations: { concurrency: 4, leaseMs: 30_000 },
    runtime: { healthIntervalMs: 5_000, nodeUser: 'auto', queryCheckBudgetMs: null },
    router: { autoResumeWaitMs: 30_000, switchDrainMs: 10_000 },
    onExit: 'stop',
    engines: { dir: null, neo4j: null },
    billing: { enabled: false, initialCredit: '50', storagePricePerGbMonth: '0.10', snapshotPricePerGbMonth: '0.05' },
  };
}

/** Builds the configuration; throws ConfigError (one line, naming the setting) on any bad value. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const merged: Record<string, unknown> = defaults();
  if (opts.configFile) mergeFile(merged, resolve(cwd, opts.configFile));
  applyEnv(merged, env);
  const config = validate(merged, cwd);
  config.backups.s3.credentials = s3CredentialsOf(env);
  return config;
}

/** The S3 keys, from the environment only (a config file is no place for them). */
function s3CredentialsOf(env: NodeJS.ProcessEnv): S3Config['credentials'] {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const id = get('AWS_ACCESS_KEY_ID');
  const secret = get('AWS_SECRET_ACCESS_KEY');
  const sessionToken = get('AWS_SESSION_TOKEN');
  if (id === undefined && secret === undefined) {
    if (sessionToken !== undefined) throw new ConfigError('AWS_SESSION_TOKEN: must come with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    return null;
  }
  if (id === undefined || secret === undefined) {
    throw new ConfigError(`${id === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'}: must be set together with ${id === undefined ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'}`);
  }
  return { accessKeyId: id, secretAccessKey: secret, ...(sessionToken !== undefined ? { sessionToken } : {}) };
}

function s3Of(v: unknown, fail: (setting: string, msg: string) => never): S3Config {
  const o = isObject(v) ? v : fail('backups.s3', 'must be an object');
  const unknown = Object.keys(o).find((k) => k !== 'region' && k !== 'endpoint');
  if (unknown) fail(`backups.s3.${unknown}`, 'is not a setting (region and endpoint are; the keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)');
  const region = o.region ?? DEFAULT_S3_REGION;
  if (typeof region !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(region)) {
    fail('AWS_REGION (backups.s3.region)', `must be a region name like eu-west-1, got ${JSON.stringify(region)}`);
  }
  const endpoint = o.endpoint ?? null;
  if (endpoint !== null) {
    let url: URL | null = null;
    try {
      url = typeof endpoint === 'string' ? new URL(endpoint) : null;
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      fail('AWS_ENDPOINT_URL_S3 (backups.s3.endpoint)', `must be an http or https URL like http://127.0.0.1:9000, got ${JSON.stringify(endpoint)}`);
    }
  }
  return { region: region as string, endpoint: endpoint as string | null, credentials: null };
}

function mergeFile(target: Record<string, unknown>, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(parsed)) throw new ConfigError(`config file ${path}: must hold a JSON object`);
  const known = new Set(Object.keys(defaults()));
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.has(key)) throw new ConfigError(`config file ${path}: unknown setting '${key}'`);
    const current = target[key];
    // Nested groups merge key by key so a file can set one field of `auth` and keep the others.
    if (isObject(current) && isObject(value) && key !== 'dbPorts') target[key] = { ...current, ...value };
    else target[key] = value;
  }
}

function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const str = (name: string) => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const set = (name: string, apply: (value: string) => void) => {
    const v = str(name);
    if (v !== undefined) apply(v);
  };
  set('ALLOTROPE_HOST', (v) => (target.host = v));
  set('ALLOTROPE_PORT', (v) => (target.port = parseIntStrict('ALLOTROPE_PORT', v)));
  set('ALLOTROPE_DATA_DIR', (v) => (target.dataDir = v));
  set('ALLOTROPE_STORE_URL', (v) => (target.storeUrl = v));
  set('ALLOTROPE_PUBLIC_HOST', (v) => (target.publicHost = v));
  set('ALLOTROPE_DB_PORTS', (v) => (target.dbPorts = parsePortRange('ALLOTROPE_DB_PORTS', v)));
  set('ALLOTROPE_LOG_LEVEL', (v) => (target.logLevel = v));
  set('ALLOTROPE_TOKEN_TTL_SECONDS', (v) => (target.tokenTtlSeconds = parseIntStrict('ALLOTROPE_TOKEN_TTL_SECONDS', v)));
  set('ALLOTROPE_INSECURE_HTTP', (v) => (target.insecureHttp = parseBool('ALLOTROPE_INSECURE_HTTP', v)));
  const backups = target.backups as Record<string, unknown>;
  set('ALLOTROPE_STORAGE_URL', (v) => (backups.storageUrl = v));
  set('ALLOTROPE_IMPORT_HOSTS', (v) => (backups.importHosts = v.split(',').map((s) => s.trim()).filter(Boolean)));
  set('ALLOTROPE_IMPORT_ALLOW_HTTP', (v) => (backups.importAllowHttp = parseBool('ALLOTROPE_IMPORT_ALLOW_HTTP', v)));
  set('ALLOTROPE_CYPHER_IMPORT_MAX_MEMORY_BYTES', (v) => (backups.cypherImportMaxMemoryBytes = parseIntStrict('ALLOTROPE_CYPHER_IMPORT_MAX_MEMORY_BYTES', v)));
  set('ALLOTROPE_CYPHER_IMPORT_TIMEOUT_MS', (v) => (backups.cypherImportTimeoutMs = parseIntStrict('ALLOTROPE_CYPHER_IMPORT_TIMEOUT_MS', v)));
  // The S3 client's settings, under the AWS SDK's own variable names. The keys stay out of `target`'s file
  // part: they are set on the validated Config only (s3Of).
  if (!isObject(backups.s3)) throw new ConfigError('backups.s3: must be an object');
  const s3 = { ...backups.s3 };
  backups.s3 = s3;
  set('AWS_DEFAULT_REGION', (v) => (s3.region = v.trim()));
  set('AWS_REGION', (v) => (s3.region = v.trim()));
  set('AWS_ENDPOINT_URL', (v) => (s3.endpoint = v.trim()));
  set('AWS_ENDPOINT_URL_S3', (v) => (s3.endpoint = v.trim()));
  const runtime = target.runtime as Record<string, unknown>;
  // The default budget of the nodes the local runtime starts (passed as their --query-check-budget-ms).
  set('ALLOTROPE_QUERY_CHECK_BUDGET_MS', (v) => {
    const ms = parseIntStrict('ALLOTROPE_QUERY_CHECK_BUDGET_MS', v);
    if (ms > MAX_QUERY_CHECK_BUDGET_MS) throw new ConfigError(`ALLOTROPE_QUERY_CHECK_BUDGET_MS: ${ms} is above the maximum of ${MAX_QUERY_CHECK_BUDGET_MS} (0 turns the check off)`);
    runtime.queryCheckBudgetMs = ms;
  });
  set('ALLOTROPE_ENGINES_DIR', (v) => ((target.engines as Record<string, unknown>).dir = v));
  set('ALLOTROPE_NODE_USER', (v) => (runtime.nodeUser = v));
  const billing = target.billing as Record<string, unknown>;
  set('ALLOTROPE_BILLING', (v) => (billing.enabled = parseBool('ALLOTROPE_BILLING', v)));
  set('ALLOTROPE_BILLING_INITIAL_CREDIT', (v) => (billing.initialCredit = v));
  set('ALLOTROPE_BILLING_STORAGE_PRICE', (v) => (billing.storagePricePerGbMonth = v));
  set('ALLOTROPE_BILLING_SNAPSHOT_PRICE', (v) => (billing.snapshotPricePerGbMonth = v));
  set('ALLOTROPE_CONSOLE_IDLE_MINUTES', (v) => ((target.console as Record<string, unknown>).idleMinutes = parseIntStrict('ALLOTROPE_CONSOLE_IDLE_MINUTES', v)));
  const router = target.router as Record<string, unknown>;
  set('ALLOTROPE_AUTO_RESUME_WAIT_MS', (v) => (router.autoResumeWaitMs = parseIntStrict('ALLOTROPE_AUTO_RESUME_WAIT_MS', v)));
  set('ALLOTROPE_SWITCH_DRAIN_MS', (v) => (router.switchDrainMs = parseIntStrict('ALLOTROPE_SWITCH_DRAIN_MS', v)));
  set('ALLOTROPE_ON_EXIT', (v) => (target.onExit = v));
  set('ALLOTROPE_TRUSTED_PROXIES', (v) => (target.trustedProxies = v.split(',').map((s) => s.trim()).filter(Boolean)));
  const cert = str('ALLOTROPE_TLS_CERT');
  const key = str('ALLOTROPE_TLS_KEY');
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || key === undefined) {
      throw new ConfigError(`${cert === undefined ? 'ALLOTROPE_TLS_CERT' : 'ALLOTROPE_TLS_KEY'}: must be set together with ${cert === undefined ? 'ALLOTROPE_TLS_KEY' : 'ALLOTROPE_TLS_CERT'}`);
    }
    target.tls = { cert, key };
  }
  const routerTls = target.routerTls as Record<string, unknown>;
  set('ALLOTROPE_ROUTER_TLS', (v) => (routerTls.mode = v.trim().toLowerCase()));
  set('ALLOTROPE_ROUTER_TLS_PORT', (v) => (routerTls.port = parseIntStrict('ALLOTROPE_ROUTER_TLS_PORT', v)));
  set('ALLOTROPE_ROUTER_TLS_HANDSHAKE_TIMEOUT_MS', (v) => (routerTls.handshakeTimeoutMs = parseIntStrict('ALLOTROPE_ROUTER_TLS_HANDSHAKE_TIMEOUT_MS', v)));
  const routerCert = str('ALLOTROPE_ROUTER_TLS_CERT');
  const routerKey = str('ALLOTROPE_ROUTER_TLS_KEY');
  if (routerCert !== undefined || routerKey !== undefined) {
    if (routerCert === undefined || routerKey === undefined) {
      throw new ConfigError(
        `${routerCert === undefined ? 'ALLOTROPE_ROUTER_TLS_CERT' : 'ALLOTROPE_ROUTER_TLS_KEY'}: must be set together with ${routerCert === undefined ? 'ALLOTROPE_ROUTER_TLS_KEY' : 'ALLOTROPE_ROUTER_TLS_CERT'}`,
      );
    }
    routerTls.cert = routerCert;
    routerTls.key = routerKey;
    // Files given without a mode mean "use them".
    if (str('ALLOTROPE_ROUTER_TLS') === undefined) routerTls.mode = 'certificate';
  }
}

function nodeUserOf(v: unknown): NodeUserSetting {
  if (isObject(v) && typeof v.uid === 'number' && typeof v.gid === 'number') return { uid: v.uid, gid: v.gid };
  if (typeof v !== 'string') throw new ConfigError(`ALLOTROPE_NODE_USER (runtime.nodeUser): must be auto, same, uid[:gid] or a user name, got ${JSON.stringify(v)}`);
  try {
    return parseNodeUser(v);
  } catch (err) {
    throw new ConfigError(`ALLOTROPE_NODE_USER (runtime.nodeUser): ${(err as Error).message}`);
  }
}

function parseIntStrict(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${name}: '${v}' is not a whole number`);
  return Number(v.trim());
}

function parseBool(name: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`${name}: '${v}' is not a boolean (use 1 or 0)`);
}

function parsePortRange(name: string, v: string): { first: number; last: number } {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(v);
  if (!m) throw new ConfigError(`${name}: '${v}' is not a port range like 24780-24979`);
  return { first: Number(m[1]), last: Number(m[2]) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function routerTlsOf(
  r: Record<string, unknown>,
  ctx: { tls: Config['tls']; port: number; dbPorts: { first: number; last: number }; cwd: string; fail: (setting: string, msg: string) => never },
): RouterTlsConfig {
  const { fail } = ctx;
  const mode = r.mode as RouterTlsMode;
  if (!ROUTER_TLS_MODES.includes(mode)) fail('ALLOTROPE_ROUTER_TLS (routerTls.mode)', `${JSON.stringify(r.mode)} is not one of ${ROUTER_TLS_MODES.join(', ')}`);
  const file = (key: 'cert' | 'key', env: string): string | null => {
    const v = r[key];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string' || v.trim() === '') fail(`${env} (routerTls.${key})`, `must be a file path, got ${JSON.stringify(v)}`);
    return resolve(ctx.cwd, (v as string).trim());
  };
  let cert = file('cert', 'ALLOTROPE_ROUTER_TLS_CERT');
  let key = file('key', 'ALLOTROPE_ROUTER_TLS_KEY');
  if ((cert === null) !== (key === null)) fail(cert === null ? 'ALLOTROPE_ROUTER_TLS_CERT (routerTls.cert)' : 'ALLOTROPE_ROUTER_TLS_KEY (routerTls.key)', 'must be set together with the other of routerTls.cert/routerTls.key');
  if (mode === 'certificate' && cert === null) {
    if (!ctx.tls) {
      fail('ALLOTROPE_ROUTER_TLS (routerTls.mode)', "'certificate' needs ALLOTROPE_ROUTER_TLS_CERT/ALLOTROPE_ROUTER_TLS_KEY (routerTls.cert/key) or the API's tls.cert/tls.key (ALLOTROPE_TLS_CERT/ALLOTROPE_TLS_KEY)");
    }
    cert = ctx.tls!.cert;
    key = ctx.tls!.key;
  }
  const port = r.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail('ALLOTROPE_ROUTER_TLS_PORT (routerTls.port)', `must be a whole number from 1 to 65535, got ${JSON.stringify(port)}`);
  if (mode !== 'off') {
    if (port === ctx.port) fail('ALLOTROPE_ROUTER_TLS_PORT (routerTls.port)', `${port} is the API port`);
    if ((port as number) >= ctx.dbPorts.first && (port as number) <= ctx.dbPorts.last) {
      fail('ALLOTROPE_ROUTER_TLS_PORT (routerTls.port)', `${port} lies in the database port range ${ctx.dbPorts.first}-${ctx.dbPorts.last}`);
    }
  }
  const hs = r.handshakeTimeoutMs;
  if (typeof hs !== 'number' || !Number.isInteger(hs) || hs < 100 || hs > 120_000) {
    fail('ALLOTROPE_ROUTER_TLS_HANDSHAKE_TIMEOUT_MS (routerTls.handshakeTimeoutMs)', `must be a whole number from 100 to 120000, got ${JSON.stringify(hs)}`);
  }
  return { mode, cert: mode === 'certificate' ? cert : null, key: mode === 'certificate' ? key : null, port: port as number, handshakeTimeoutMs: hs as number };
}

function validate(raw: Record<string, unknown>, cwd: string): Config {
  const fail = (setting: string, msg: string): never => {
    throw new ConfigError(`${setting}: ${msg}`);
  };
  const envName: Record<string, string> = {
    host: 'ALLOTROPE_HOST',
    port: 'ALLOTROPE_PORT',
    dataDir: 'ALLOTROPE_DATA_DIR',
    storeUrl: 'ALLOTROPE_STORE_URL',
    publicHost: 'ALLOTROPE_PUBLIC_HOST',
    dbPorts: 'ALLOTROPE_DB_PORTS',
    logLevel: 'ALLOTROPE_LOG_LEVEL',
    tokenTtlSeconds: 'ALLOTROPE_TOKEN_TTL_SECONDS',
    insecureHttp: 'ALLOTROPE_INSECURE_HTTP',
  };
  const label = (key: string) => (envName[key] ? `${envName[key]} (${key})` : key);
  const nonEmptyString = (key: string, v: unknown): string =>
    typeof v === 'string' && v.trim() !== '' ? v.trim() : fail(label(key), `must be a non-empty string, got ${JSON.stringify(v)}`);
  const intIn = (key: string, v: unknown, min: number, max: number): number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(label(key), `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  const bool = (key: string, v: unknown): boolean => (typeof v === 'boolean' ? v : fail(label(key), `must be true or false, got ${JSON.stringify(v)}`));
  const group = (key: string, v: unknown): Record<string, unknown> => (isObject(v) ? v : fail(key, 'must be an object'));

  const host = nonEmptyString('host', raw.host);
  if (isIP(host) === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) fail(label('host'), `'${host}' is not an IP address or host name`);
  const port = intIn('port', raw.port, 0, 65535);
  const dataDir = resolve(cwd, nonEmptyString('dataDir', raw.dataDir));
  const storeUrl = raw.storeUrl === null || raw.storeUrl === undefined ? `sqlite:${join(dataDir, 'allotrope.db')}` : nonEmptyString('storeUrl', raw.storeUrl);
  if (storeUrl.includes('://') && !storeUrl.startsWith('sqlite://') && !/^postgres(ql)?:\/\//.test(storeUrl)) fail(label('storeUrl'), `unsupported scheme in '${storeUrl.split('://')[0]}://'`);
  const publicHost = nonEmptyString('publicHost', raw.publicHost);
  if (!/^[a-zA-Z0-9.:\-[\]]+$/.test(publicHost)) fail(label('publicHost'), `'${publicHost}' is not a host name or address`);

  const ports = group('dbPorts', raw.dbPorts);
  const first = intIn('dbPorts', ports.first, 1, 65535);
  const last = intIn('dbPorts', ports.last, 1, 65535);
  if (last < first) fail(label('dbPorts'), `range ${first}-${last} is empty (the last port is below the first)`);
  if (port !== 0 && port >= first && port <= last) fail(label('dbPorts'), `range ${first}-${last} contains the API port ${port}`);

  const logLevel = nonEmptyString('logLevel', raw.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) fail(label('logLevel'), `'${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);

  const tokenTtlSeconds = intIn('tokenTtlSeconds', raw.tokenTtlSeconds, 60, 86_400);
  let tls: Config['tls'] = null;
  if (raw.tls !== null && raw.tls !== undefined) {
    const t = group('tls', raw.tls);
    tls = { cert: resolve(cwd, nonEmptyString('tls.cert', t.cert)), key: resolve(cwd, nonEmptyString('tls.key', t.key)) };
  }
  const insecureHttp = bool('insecureHttp', raw.insecureHttp);
  if (!tls && !insecureHttp && !isLoopbackHost(host)) {
    fail(
      'ALLOTROPE_HOST',
      `refusing to serve plain HTTP on non-loopback address ${host}; configure tls.cert/tls.key (ALLOTROPE_TLS_CERT/ALLOTROPE_TLS_KEY), or set ALLOTROPE_INSECURE_HTTP=1 when a TLS-terminating proxy stands in front`,
    );
  }
  const routerTls = routerTlsOf(group('routerTls', raw.routerTls), { tls, port, dbPorts: { first, last }, cwd, fail });
  const trustedProxiesRaw = raw.trustedProxies;
  if (!Array.isArray(trustedProxiesRaw) || trustedProxiesRaw.some((p) => typeof p !== 'string')) fail('trustedProxies', 'must be a list of addresses or CIDR ranges');
  const trustedProxies = trustedProxiesRaw as string[];
  for (const p of trustedProxies) {
    const [addr, bits] = p.split('/');
    if (isIP(addr ?? '') === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) fail('ALLOTROPE_TRUSTED_PROXIES (trustedProxies)', `'${p}' is not an address or CIDR range`);
  }
  const bodyLimitBytes = intIn('bodyLimitBytes', raw.bodyLimitBytes, 1024, 1024 * 1024 * 1024);
  const uploadLimitBytes = intIn('uploadLimitBytes', raw.uploadLimitBytes, 1024, Number.MAX_SAFE_INTEGER);

  const auth = group('auth', raw.auth);
  const maxFailedAttempts = intIn('auth.maxFailedAttempts', auth.maxFailedAttempts, 1, 1_000_000);
  const failureWindowMs = intIn('auth.failureWindowMs', auth.failureWindowMs, 1_000, 86_400_000);

  if (!Array.isArray(raw.regions) || raw.regions.length === 0) fail('regions', 'must be a non-empty list');
  const regions = (raw.regions as unknown[]).map((r, i): RegionConfig => {
    const o = isObject(r) ? r : fail(`regions[${i}]`, 'must be an object');
    const id = nonEmptyString(`regions[${i}].id`, o.id);
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) fail(`regions[${i}].id`, `'${id}' must be lowercase letters, digits and dashes`);
    return {
      id,
      name: o.name === undefined ? id : nonEmptyString(`regions[${i}].name`, o.name),
      runtime: o.runtime === undefined ? 'local' : nonEmptyString(`regions[${i}].runtime`, o.runtime),
      default: o.default === undefined ? false : bool(`regions[${i}].default`, o.default),
    };
  });
  if (new Set(regions.map((r) => r.id)).size !== regions.length) fail('regions', 'region ids must be unique');
  const defaultsCount = regions.filter((r) => r.default).length;
  if (defaultsCount > 1) fail('regions', 'only one region may be the default');
  if (defaultsCount === 0) regions[0]!.default = true;

  const ops = group('operations', raw.operations);
  const bk = group('backups', raw.backups);
  const storageUrlSetting = bk.storageUrl === null || bk.storageUrl === undefined ? null : nonEmptyString('backups.storageUrl', bk.storageUrl);
  if (storageUrlSetting !== null && !/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|file:\/\/\/.+|\/.+)$/.test(storageUrlSetting)) {
    fail('ALLOTROPE_STORAGE_URL (backups.storageUrl)', `'${storageUrlSetting}' is not s3://bucket[/prefix], file:///path or an absolute path`);
  }
  const importHosts = Array.isArray(bk.importHosts) && bk.importHosts.length > 0 && bk.importHosts.every((h) => typeof h === 'string' && /^(\*\.)?[a-z0-9.-]+$/i.test(h))
    ? (bk.importHosts as string[])
    : fail('ALLOTROPE_IMPORT_HOSTS (backups.importHosts)', 'must be a comma-separated list of host names or *.domain patterns');
  const bl = group('billing', raw.billing);
  // Dollar amounts are decimal strings (a JSON number is accepted too), kept as integer micro-dollars.
  const dollars = (setting: string, v: unknown): number => {
    const text = typeof v === 'number' ? String(v) : v;
    const micros = typeof text === 'string' ? parseDollarsToMicros(text) : null;
    return micros ?? fail(setting, `must be an amount in dollars with at most 6 decimals, like 50 or 0.10, got ${JSON.stringify(v)}`);
  };
  const billingConfig = {
    enabled: bool('ALLOTROPE_BILLING (billing.enabled)', bl.enabled),
    initialCreditMicros: dollars('ALLOTROPE_BILLING_INITIAL_CREDIT (billing.initialCredit)', bl.initialCredit),
    storageMicrosPerGbMonth: dollars('ALLOTROPE_BILLING_STORAGE_PRICE (billing.storagePricePerGbMonth)', bl.storagePricePerGbMonth),
    snapshotMicrosPerGbMonth: dollars('ALLOTROPE_BILLING_SNAPSHOT_PRICE (billing.snapshotPricePerGbMonth)', bl.snapshotPricePerGbMonth),
  };
  const rt = group('runtime', raw.runtime);
  const ro = group('router', raw.router);
  const onExit = raw.onExit === 'stop' || raw.onExit === 'keep' ? raw.onExit : fail('ALLOTROPE_ON_EXIT (onExit)', `must be stop or keep, got ${JSON.stringify(raw.onExit)}`);
  const eng = group('engines', raw.engines);
  const enginesDir = eng.dir === null || eng.dir === undefined ? defaultEnginesDir() : resolve(cwd, nonEmptyString('engines.dir', eng.dir));
  return {
    host,
    port,
    dataDir,
    storeUrl,
    publicHost,
    dbPorts: { first, last },
    logLevel,
    tokenTtlSeconds,
    tls,
    insecureHttp,
    routerTls,
    trustedProxies,
    bodyLimitBytes,
    uploadLimitBytes,
    auth: { maxFailedAttempts, failureWindowMs },
    console: { idleMinutes: intIn('ALLOTROPE_CONSOLE_IDLE_MINUTES (console.idleMinutes)', group('console', raw.console).idleMinutes, 1, 7 * 24 * 60) },
    regions,
    backups: {
      storageUrl: storageUrlSetting,
      importHosts,
      importAllowHttp: bool('backups.importAllowHttp', bk.importAllowHttp),
      cypherImportMaxMemoryBytes: intIn('ALLOTROPE_CYPHER_IMPORT_MAX_MEMORY_BYTES (backups.cypherImportMaxMemoryBytes)', bk.cypherImportMaxMemoryBytes, 128 * 1024 ** 2, Number.MAX_SAFE_INTEGER),
      cypherImportTimeoutMs: intIn('ALLOTROPE_CYPHER_IMPORT_TIMEOUT_MS (backups.cypherImportTimeoutMs)', bk.cypherImportTimeoutMs, 1_000, 24 * 3_600_000),
      s3: s3Of(bk.s3, fail),
    },
    operations: {
      concurrency: intIn('operations.concurrency', ops.concurrency, 1, 256),
      leaseMs: intIn('operations.leaseMs', ops.leaseMs, 1_000, 3_600_000),
    },
    runtime: {
      healthIntervalMs: intIn('runtime.healthIntervalMs', rt.healthIntervalMs, 100, 3_600_000),
      nodeUser: nodeUserOf(rt.nodeUser),
      queryCheckBudgetMs:
        rt.queryCheckBudgetMs === null || rt.queryCheckBudgetMs === undefined
          ? null
          : intIn('ALLOTROPE_QUERY_CHECK_BUDGET_MS (runtime.queryCheckBudgetMs)', rt.queryCheckBudgetMs, 0, MAX_QUERY_CHECK_BUDGET_MS),
    },
    router: {
      autoResumeWaitMs: intIn('ALLOTROPE_AUTO_RESUME_WAIT_MS (router.autoResumeWaitMs)', ro.autoResumeWaitMs, 0, 600_000),
      switchDrainMs: intIn('ALLOTROPE_SWITCH_DRAIN_MS (router.switchDrainMs)', ro.switchDrainMs, 0, 3_600_000),
    },
    onExit,
    engines: { dir: enginesDir, neo4j: null },
    billing: billingConfig,
  };
}

/** `50`, `0.10`, `12.345678` → integer micro-dollars; null for anything else (negative, more than 6 decimals, text). */
export function parseDollarsToMicros(text: string): number | null {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}
