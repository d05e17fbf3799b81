// The Neo4j Query API (`POST /db/neo4j/query/v2`, explicit transactions under `/tx`), the
// discovery document (`GET /`) and Neo4j Browser (`/browser/`), on node:http. Same users and engine
// as the Bolt server.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CypherError, type AuthenticatedUser, type Authenticator, type EngineTransaction, type GraphEngine, type QueryResult } from '../engine-api.js';
import { createBrowserFiles, isBrowserPath } from './browser-files.js';
import { ParameterFormatError, parametersFrom, stringifyJson, toPlainJson, toTypedJson } from './json-values.js';
import { createLegacyTransactions } from './legacy-tx.js';
import { PUBLIC_BOLT_HEADER, parsePublicBolt, type PublicBolt } from '../../net/public-bolt.js';

export const DATABASE_NAME = 'neo4j';
const TYPED_JSON = 'application/vnd.neo4j.query';
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const TX_IDLE_MS = 30_000;

export interface HttpServerOptions {
  engine: GraphEngine;
  authenticator: Authenticator;
  /** host:port of the Bolt server, for the discovery document. */
  boltAddress: () => string;
  /** Version shown in discovery; drivers and tools parse it as Neo4j's. */
  neo4jVersion?: string;
  logger?: { error(obj: object, msg: string): void };
  /** The network rules: false answers 403 (default: every address). */
  allowConnection?: (remoteAddress: string | undefined) => boolean;
  /** Neo4j Browser's static files (from the Neo4j engine install), served under /browser/; none: 404 saying how to get them. */
  browserDir?: string;
}

interface OpenTx {
  tx: EngineTransaction;
  user: AuthenticatedUser;
  expires: number;
  timer: NodeJS.Timeout;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const COUNTER_NAMES: [string, string][] = [
  ['nodes-created', 'nodesCreated'],
  ['nodes-deleted', 'nodesDeleted'],
  ['properties-set', 'propertiesSet'],
  ['relationships-created', 'relationshipsCreated'],
  ['relationships-deleted', 'relationshipsDeleted'],
  ['labels-added', 'labelsAdded'],
  ['labels-removed', 'labelsRemoved'],
  ['indexes-added', 'indexesAdded'],
  ['indexes-removed', 'indexesRemoved'],
  ['constraints-added', 'constraintsAdded'],
  ['constraints-removed', 'constraintsRemoved'],
];

function counters(result: QueryResult): Record<string, number | boolean> {
  const stats = result.summary.stats as Record<string, number | undefined>;
  const out: Record<string, number | boolean> = { containsUpdates: false };
  for (const [bolt, camel] of COUNTER_NAMES) {
    const n = stats[bolt] ?? 0;
    out[camel] = n;
    if (n > 0) out.containsUpdates = true;
  }
  out.containsSystemUpdates = false;
  out.systemUpdates = 0;
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'Neo.ClientError.Request.InvalidFormat', 'The request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = stringifyJson(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function errorBody(code: string, message: string) {
  return { errors: [{ code, message }] };
}

export function createHttpServer(options: HttpServerOptions): Server {
  const { engine, authenticator } = options;
  const transactions = new Map<string, OpenTx>();
  const legacy = createLegacyTransactions(engine);
  const serveBrowser = createBrowserFiles(options.browserDir);

  async function authenticate(req: IncomingMessage): Promise<AuthenticatedUser> {
    const header = req.headers.authorization;
    if (!header) throw new HttpError(401, 'Neo.ClientError.Security.Unauthorized', 'No authentication header supplied.');
    if (!/^Basic\s/i.test(header)) throw new HttpError(401, 'Neo.ClientError.Security.Unauthorized', 'Invalid username or password.');
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', 'Invalid authentication header.');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', 'Invalid authentication header.');
    const user = await authenticator.authenticate({
      scheme: 'basic',
      principal: decoded.slice(0, colon),
      credentials: decoded.slice(colon + 1),
    });
    if (!user) throw new HttpError(401, 'Neo.ClientError.Security.Unauthorized', 'Invalid username or password.');
    return user;
  }

  interface QueryRequest {
    statement?: string;
    parameters: ReturnType<typeof parametersFrom>;
    includeCounters: boolean;
    readOnly: boolean;
    timeoutMs?: number;
  }

  async function parseRequest(req: IncomingMessage, allowEmpty: boolean): Promise<QueryRequest> {
    const text = await readBody(req);
    if (text.trim() === '' && allowEmpty) return { parameters: {}, includeCounters: false, readOnly: false };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', 'The request body is not valid JSON');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', 'The request body must be a JSON object');
    }
    const statement = body.statement;
    if (statement !== undefined && typeof statement !== 'string') {
      throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', '"statement" must be a string');
    }
    if (statement === undefined && !allowEmpty) throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', '"statement" is required');
    const typedParams = (req.headers['content-type'] ?? '').toLowerCase().startsWith(TYPED_JSON);
    let parameters;
    try {
      parameters = parametersFrom(body.parameters, typedParams);
    } catch (err) {
      if (err instanceof ParameterFormatError) throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', `Invalid parameters: ${err.message}`);
      throw err;
    }
    const accessMode = typeof body.accessMode === 'string' ? body.accessMode.toUpperCase() : 'WRITE';
    // `maxExecutionTime` is in seconds, as Neo4j takes it.
    const max = body.maxExecutionTime;
    if (max !== undefined && (typeof max !== 'number' || !(max >= 0))) {
      throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', '"maxExecutionTime" must be a number of seconds');
    }
    return {
      statement,
      parameters,
      includeCounters: body.includeCounters === true,
      readOnly: accessMode === 'READ',
      timeoutMs: typeof max === 'number' && max > 0 ? Math.round(max * 1000) : undefined,
    };
  }

  function resultBody(result: QueryResult, typed: boolean, includeCounters: boolean, extra: Record<string, unknown>) {
    const convert = typed ? toTypedJson : toPlainJson;
    const body: Record<string, unknown> = {
      data: { fields: result.fields, values: result.records.map((row) => row.map(convert)) },
      ...extra,
      queryType: result.summary.queryType,
    };
    if (result.summary.notifications.length) body.notifications = result.summary.notifications;
    if (includeCounters) body.counters = counters(result);
    return body;
  }

  function txInfo(id: string, open: OpenTx) {
    return { id, expires: new Date(open.expires).toISOString() };
  }

  function touch(id: string, open: OpenTx) {
    clearTimeout(open.timer);
    open.expires = Date.now() + TX_IDLE_MS;
    open.timer = setTimeout(() => {
      transactions.delete(id);
      void open.tx.rollback().catch(() => undefined);
    }, TX_IDLE_MS);
    open.timer.unref();
  }

  function takeTx(id: string, user: AuthenticatedUser): OpenTx {
    const open = transactions.get(id);
    if (!open || open.user.username !== user.username) {
      throw new HttpError(404, 'Neo.ClientError.Transaction.TransactionNotFound', `Transaction with id ${id} not found`);
    }
    return open;
  }

  // What the router said of the connection's first request, kept for the later requests of the same connection.
  const publicBoltBySocket = new WeakMap<object, PublicBolt>();
  function publicBoltOf(req: IncomingMessage): PublicBolt | undefined {
    const said = parsePublicBolt(req.headers[PUBLIC_BOLT_HEADER]);
    if (said) publicBoltBySocket.set(req.socket, said);
    return publicBoltBySocket.get(req.socket);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (isBrowserPath(url.pathname)) return serveBrowser(req, res, url);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const publicBolt = publicBoltOf(req);
    if (req.method === 'GET' && path === '/') {
      const host = (req.headers.host ?? 'localhost').replace(/:\d+$/, '');
      const httpHost = req.headers.host ?? 'localhost';
      const bolt = options.boltAddress();
      // Behind the router, the database's public Bolt port (the node's own is loopback only); as Neo4j, the
      // Bolt schemes do not say whether TLS is on, the HTTP ones do.
      const boltPort = publicBolt?.port ?? bolt.slice(bolt.lastIndexOf(':') + 1);
      const scheme = publicBolt?.tls ? 'https' : 'http';
      return send(res, 200, {
        bolt_routing: `neo4j://${host}:${boltPort}`,
        bolt_direct: `bolt://${host}:${boltPort}`,
        query: `${scheme}://${httpHost}/db/{databaseName}/query/v2`,
        transaction: `${scheme}://${httpHost}/db/{databaseName}/query/v2/tx`,
        neo4j_version: options.neo4jVersion ?? '5.26.0',
        neo4j_edition: 'community',
        auth_config: { oidc_providers: [] },
      });
    }
    const legacyPath = /^\/db\/([^/]+)\/tx(\/.*)?$/.exec(path);
    if (legacyPath) {
      const user = await authenticate(req);
      const db = decodeURIComponent(legacyPath[1]!);
      if (db !== DATABASE_NAME) {
        throw new HttpError(404, 'Neo.ClientError.Database.DatabaseNotFound', `Database does not exist. Database name: '${db}'.`);
      }
      let body: unknown = undefined;
      if (req.method === 'POST') {
        const text = await readBody(req);
        try {
          body = text.trim() ? JSON.parse(text) : {};
        } catch {
          throw new HttpError(400, 'Neo.ClientError.Request.InvalidFormat', 'The request body is not valid JSON');
        }
      }
      const baseUrl = `http://${req.headers.host ?? 'localhost'}/db/${encodeURIComponent(db)}/tx`;
      const reply = await legacy.handle(req.method ?? 'GET', legacyPath[2] ?? '', body, user, baseUrl);
      return send(res, reply.status, reply.body);
    }
    const m = /^\/db\/([^/]+)\/query\/v2(?:\/tx(?:\/([^/]+)(\/commit)?)?)?$/.exec(path);
    const isTx = /\/query\/v2\/tx/.test(path);
    if (!m) return send(res, 404, errorBody('Neo.ClientError.Request.Invalid', `No endpoint at ${req.method} ${path}`));
    const user = await authenticate(req);
    const db = decodeURIComponent(m[1]!);
    if (db !== DATABASE_NAME) {
      throw new HttpError(404, 'Neo.ClientError.Database.DatabaseNotFound', `Database does not exist. Database name: '${db}'.`);
    }
    const typed = (req.headers.accept ?? '').toLowerCase().includes(TYPED_JSON);
    const contentType = typed ? TYPED_JSON : 'application/json';
    const txId = m[2];
    const commit = m[3] !== undefined;

    if (!isTx) {
      if (req.method !== 'POST') throw new HttpError(405, 'Neo.ClientError.Request.Invalid', 'Use POST');
      const q = await parseRequest(req, false);
      try {
        const result = await engine.run(q.statement!, q.parameters, { readOnly: user.readOnly || q.readOnly, timeoutMs: q.timeoutMs, username: user.username });
        return send(res, 202, resultBody(result, typed, q.includeCounters, { bookmarks: [result.bookmark] }), contentType);
      } catch (err) {
        return sendQueryError(res, err);
      }
    }

    if (txId === undefined) {
      if (req.method !== 'POST') throw new HttpError(405, 'Neo.ClientError.Request.Invalid', 'Use POST to open a transaction');
      const q = await parseRequest(req, true);
      const tx = await engine.begin({ readOnly: user.readOnly || q.readOnly, timeoutMs: q.timeoutMs, username: user.username });
      const id = randomUUID();
      const open: OpenTx = { tx, user, expires: 0, timer: setTimeout(() => undefined, 0) };
      transactions.set(id, open);
      touch(id, open);
      if (q.statement === undefined) return send(res, 202, { transaction: txInfo(id, open) }, contentType);
      try {
        const result = await tx.run(q.statement, q.parameters);
        return send(res, 202, resultBody(result, typed, q.includeCounters, { transaction: txInfo(id, open) }), contentType);
      } catch (err) {
        return sendQueryError(res, err);
      }
    }

    const open = takeTx(txId, user);
    if (req.method === 'DELETE' && !commit) {
      transactions.delete(txId);
      clearTimeout(open.timer);
      await open.tx.rollback();
      return send(res, 202, { data: { fields: [], values: [] }, bookmarks: [] }, contentType);
    }
    if (req.method !== 'POST') throw new HttpError(405, 'Neo.ClientError.Request.Invalid', 'Use POST or DELETE');
    const q = await parseRequest(req, commit);
    touch(txId, open);
    let result: QueryResult | null = null;
    try {
      if (q.statement !== undefined) result = await open.tx.run(q.statement, q.parameters);
      if (commit) {
        transactions.delete(txId);
        clearTimeout(open.timer);
        const bookmark = await open.tx.commit();
        const base = result ?? { fields: [], records: [], summary: { stats: {}, queryType: 'r' as const, notifications: [] } };
        return send(res, 202, resultBody(base, typed, q.includeCounters, { bookmarks: [bookmark] }), contentType);
      }
      return send(res, 202, resultBody(result!, typed, q.includeCounters, { transaction: txInfo(txId, open) }), contentType);
    } catch (err) {
      // Neo4j ends a transaction at its first error.
      transactions.delete(txId);
      clearTimeout(open.timer);
      await open.tx.rollback().catch(() => undefined);
      return sendQueryError(res, err);
    }
  }

  function sendQueryError(res: ServerResponse, err: unknown): void {
    if (err instanceof CypherError) return send(res, 202, errorBody(err.code, err.message));
    throw err;
  }

  const server = createServer((req, res) => {
    if (options.allowConnection && !options.allowConnection(req.socket.remoteAddress)) {
      res.setHeader('connection', 'close');
      return send(res, 403, errorBody('Neo.ClientError.Security.Forbidden', `connections from ${req.socket.remoteAddress ?? 'this address'} are not allowed by the network rules of this database's environment`));
    }
    // Browser apps call the Query API from other origins, as Neo4j allows by default; they must
    // still send credentials themselves (no cookies here).
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, accept',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) {
        if (err.status === 401) res.setHeader('www-authenticate', 'Basic realm="Neo4j"');
        return send(res, err.status, errorBody(err.code, err.message));
      }
      options.logger?.error({ err: (err as Error).message, url: req.url }, 'query API request failed');
      send(res, 500, errorBody('Neo.DatabaseError.General.UnknownError', 'An unexpected error occurred'));
    });
  });
  server.on('close', () => {
    legacy.close();
    for (const [id, open] of transactions) {
      clearTimeout(open.timer);
      transactions.delete(id);
      void open.tx.rollback().catch(() => undefined);
    }
  });
  return server;
}
