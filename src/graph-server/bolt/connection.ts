// One Bolt connection, independent of the transport (TCP or WebSocket): handshake, dechunking,
// decoding, the session state machine of the spec (§5) and the encoding of replies. Requests are
// handled strictly one after another, so a connection never has two engine calls in flight.
import type { AuthenticatedUser, Authenticator, EngineTransaction, GraphEngine, Position, QueryOptions, QueryResult } from '../engine-api.js';
import { CypherError } from '../engine-api.js';
import type { Value, ValueMap } from '../values.js';
import { chunkMessage, Dechunker, DEFAULT_MAX_MESSAGE_BYTES } from './chunking.js';
import {
  BOLT_MAGIC,
  HANDSHAKE_BYTES,
  manifestOffer,
  negotiate,
  parseManifestChoice,
  versionBytes,
  type BoltVersion,
} from './handshake.js';
import { failureMetadata, readFilter, summaryMetadata, type NotificationFilter } from './metadata.js';
import { Packer, Structure, unpackMessage, type Message, type Unpacked } from './packstream.js';
import { ProtocolError } from './protocol-error.js';
import { editMapField, mapFieldString, packString, signatureOf } from '../engines/neo4j/bolt-message.js';
import { ADMINISTRATION_REFUSED, isAdministrationCommand } from '../engines/neo4j/admin-commands.js';

export const SERVER_AGENT = 'Neo4j/5.26.0';
export const DEFAULT_DATABASE = 'neo4j';
const KNOWN_DATABASES = new Set([DEFAULT_DATABASE, 'system']);
const ROUTING_TTL_SECONDS = 300n;

const SIG = {
  HELLO: 0x01,
  GOODBYE: 0x02,
  RESET: 0x0f,
  RUN: 0x10,
  BEGIN: 0x11,
  COMMIT: 0x12,
  ROLLBACK: 0x13,
  DISCARD: 0x2f,
  PULL: 0x3f,
  TELEMETRY: 0x54,
  ROUTE: 0x66,
  LOGON: 0x6a,
  LOGOFF: 0x6b,
  SUCCESS: 0x70,
  RECORD: 0x71,
  IGNORED: 0x7e,
  FAILURE: 0x7f,
} as const;

const SIG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SIG).map(([k, v]) => [v, k]));

// Drivers pipeline behind a failing request, so these get IGNORED rather than a protocol violation.
const IGNORED_WHEN_FAILED = new Set<number>([SIG.RUN, SIG.PULL, SIG.DISCARD, SIG.BEGIN, SIG.COMMIT, SIG.ROLLBACK, SIG.ROUTE, SIG.LOGOFF, SIG.TELEMETRY]);

type State =
  | 'HANDSHAKE'
  | 'MANIFEST'
  | 'CONNECTED' // waiting for HELLO
  | 'AUTHENTICATION' // 5.1+: waiting for LOGON
  | 'READY'
  | 'STREAMING'
  | 'TX_READY'
  | 'TX_STREAMING'
  | 'FAILED'
  | 'RELAY' // authenticated; every message goes to the engine behind (ConnectionOptions.relay)
  | 'DEFUNCT';

/** Where a connection writes bytes; implemented by the TCP and WebSocket transports. */
export interface ByteChannel {
  write(data: Buffer): void;
  /** Ends the connection once the written bytes are out. */
  end(): void;
  /** Resolves when the peer has taken what was written (so large results do not pile up in memory). */
  whenWritable?(): Promise<void>;
  /** Stop / restart reading from the peer (bounds the queue of pipelined requests). */
  pause?(): void;
  resume?(): void;
}

export interface Logger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

/** A Bolt session passed through to an engine that speaks Bolt itself (Neo4j), after our authentication. */
export interface RelaySession {
  /** Sends one request; resolves with its summary's signature once every byte of the answer reached the client. */
  request(message: Buffer): Promise<number>;
  /** Sends a message that gets no answer (GOODBYE). */
  send(message: Buffer): void;
  /** A LOGON with the engine's internal credentials (re-authentication after LOGOFF). */
  internalLogon(): Buffer;
  close(): void;
}

export interface Relay {
  /** The server agent clients are told (the engine's own, e.g. Neo4j/5.26.30). */
  agent?: string;
  /** The Bolt versions the engine speaks, newest first. */
  versions: readonly BoltVersion[];
  /** Opens the engine side of one client session: same Bolt version, the client's HELLO minus its credentials. */
  open(version: BoltVersion, clientHello: Buffer, client: ByteChannel): Promise<RelaySession>;
  /** Activity for auto-pause: a transaction (or auto-commit query) began; one opened or closed. */
  began(): void;
  txOpened(): void;
  txClosed(): void;
  /** Held back while an online backup copies the store: requests that can commit enter it first. */
  gate?: { enter(): Promise<void>; leave(): void };
}

export interface ConnectionOptions {
  engine: GraphEngine;
  /** Pass every message after authentication through to this engine (a Neo4j node) instead of `engine`. */
  relay?: Relay;
  authenticator: Authenticator;
  advertisedAddress: () => string;
  logger?: Logger;
  connectionId: string;
  maxMessageBytes?: number;
  /** Offer Manifest v1 when the client proposes it (default true). */
  manifest?: boolean;
  /** A user authenticated (HELLO, or LOGON on 5.1+). */
  onAuthenticated?: () => void;
  /** LOGOFF: the session has no user until the next LOGON. */
  onLoggedOff?: () => void;
}

interface Stream {
  filter: NotificationFilter;
  fields: string[];
  records: Value[][];
  cursor: number;
  result: QueryResult;
  bookmark: string | null;
  db: string;
}

interface Features {
  elementIds: boolean;
  inlineAuth: boolean;
  telemetry: boolean;
  statuses: boolean;
  gqlFailure: boolean;
  dbInSuccess: boolean;
}

function featuresOf(v: BoltVersion): Features {
  const at = (major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);
  return {
    elementIds: at(5, 0),
    inlineAuth: !at(5, 1),
    telemetry: at(5, 4),
    statuses: at(5, 6),
    gqlFailure: at(5, 7),
    dbInSuccess: at(5, 8),
  };
}

/** A failure to report as FAILURE; `close` makes it fatal for the connection. */
class BoltFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly gqlStatus = '50N42',
    readonly close = false,
  ) {
    super(message);
  }
}

const requestInvalid = (message: string, close = false) => new BoltFailure('Neo.ClientError.Request.Invalid', message, '08N06', close);

// Replies are flushed in one write per batch of input, or earlier once this much is pending.
const FLUSH_BYTES = 256 * 1024;
// Pipelined requests waiting for their turn; beyond this the transport stops reading.
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class BoltConnection {
  private state: State = 'HANDSHAKE';
  private version: BoltVersion = { major: 5, minor: 8 };
  private features: Features = featuresOf(this.version);
  private viaManifest = false;
  private packer = new Packer({ elementIds: true, utcDateTime: true });
  private inbox: Buffer = Buffer.alloc(0);
  private readonly dechunker: Dechunker;
  private readonly queue: Buffer[] = [];
  private pendingResets = 0;
  private queuedBytes = 0;
  private readPaused = false;
  private processing = false;
  private out: Buffer[] = [];
  private outBytes = 0;
  private peerGone = false;
  private user: AuthenticatedUser | null = null;
  private routingContext: ValueMap | null = null;
  private auto: Stream | null = null;
  private tx: EngineTransaction | null = null;
  private txOptions: { db: string; filter: NotificationFilter } = { db: DEFAULT_DATABASE, filter: { minSeverity: null, disabled: [] } };
  private helloFilter: NotificationFilter = { minSeverity: null, disabled: [] };
  private txStreams = new Map<number, Stream>();
  private nextQid = 0;
  private lastQid = -1;
  private helloRaw: Buffer | null = null;
  private relaySession: RelaySession | null = null;
  private relayInTx = false;
  /** A request refused here (not by the engine): IGNORED until RESET, as after any FAILURE. */
  private relayFailed = false;
  /** An auto-commit RUN whose result may still be pulled: Neo4j commits it when the result is consumed. */
  private relayAutoPending = false;

  constructor(
    private readonly channel: ByteChannel,
    private readonly options: ConnectionOptions,
  ) {
    this.dechunker = new Dechunker(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  }

  get id(): string {
    return this.options.connectionId;
  }

  get negotiatedVersion(): BoltVersion | null {
    return this.state === 'HANDSHAKE' || this.state === 'MANIFEST' ? null : this.version;
  }

  /** Bytes from the transport, split anywhere. */
  receive(data: Buffer): void {
    if (this.state === 'DEFUNCT') return;
    try {
      if (this.state === 'HANDSHAKE' || this.state === 'MANIFEST') {
        this.inbox = this.inbox.length ? Buffer.concat([this.inbox, data]) : data;
        if (!this.handshake()) return;
        data = this.inbox;
        this.inbox = Buffer.alloc(0);
      }
      for (const message of this.dechunker.push(data)) {
        // RESET jumps the queue: everything already queued before it is answered IGNORED.
        if (message.length === 2 && message[0] === 0xb0 && message[1] === SIG.RESET) this.pendingResets++;
        this.queue.push(message);
        this.queuedBytes += message.length;
      }
      if (this.queuedBytes > MAX_QUEUED_BYTES && !this.readPaused) {
        this.readPaused = true;
        this.channel.pause?.();
      }
    } catch (err) {
      this.fatal(err);
      return;
    }
    this.drain().catch((err: unknown) => this.crashed(err));
  }

  // Last line of defence: a bug in request handling must cost one connection, never the process.
  private crashed(err: unknown): void {
    this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'Bolt connection failed unexpectedly');
    this.state = 'DEFUNCT';
    this.queue.length = 0;
    this.channel.end();
  }

  /**
   * The server's authentication deadline passed without a user. After the handshake the client gets a
   * FAILURE saying so (drivers show it as an authentication error); before it no message can be framed.
   */
  authenticationExpired(timeoutMs: number): void {
    if (this.state === 'DEFUNCT' || this.user) return;
    if (this.state !== 'HANDSHAKE' && this.state !== 'MANIFEST') {
      this.failure(new BoltFailure('Neo.ClientError.Security.Unauthorized', `The client did not authenticate within ${timeoutMs} ms.`, '42NFF', true));
    }
    this.close();
  }

  /** The transport is gone: stop answering and roll back what is open (after any call in flight). */
  transportClosed(): void {
    this.peerGone = true;
    if (!this.processing) this.shutdown().catch((err: unknown) => this.crashed(err));
  }

  // Returns true once the handshake is complete (leftover bytes stay in `inbox`).
  private handshake(): boolean {
    if (this.state === 'HANDSHAKE') {
      if (this.inbox.length < HANDSHAKE_BYTES) return false;
      if (!this.inbox.subarray(0, 4).equals(BOLT_MAGIC)) throw new ProtocolError('not a Bolt handshake');
      // Passed through to an engine, a session speaks only what that engine speaks (no Manifest: it lists ours).
      const relayVersions = this.options.relay?.versions;
      const choice = negotiate(this.inbox.subarray(4, HANDSHAKE_BYTES), {
        manifest: this.options.manifest !== false && !relayVersions,
        ...(relayVersions ? { versions: relayVersions } : {}),
      });
      this.inbox = this.inbox.subarray(HANDSHAKE_BYTES);
      if (choice.kind === 'none') {
        this.channel.write(versionBytes(null));
        this.close();
        return false;
      }
      if (choice.kind === 'manifest') {
        this.channel.write(manifestOffer());
        this.state = 'MANIFEST';
      } else {
        this.channel.write(versionBytes(choice.version));
        this.useVersion(choice.version);
        return true;
      }
    }
    const picked = parseManifestChoice(this.inbox);
    if (!picked) return false;
    this.inbox = this.inbox.subarray(picked.used);
    this.viaManifest = true;
    this.useVersion(picked.version);
    return true;
  }

  private useVersion(v: BoltVersion): void {
    this.version = v;
    this.features = featuresOf(v);
    this.packer = new Packer({ elementIds: this.features.elementIds, utcDateTime: v.major >= 5 });
    this.state = 'CONNECTED';
  }

  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0 && this.state !== 'DEFUNCT' && !this.peerGone) {
        const raw = this.queue.shift() as Buffer;
        this.queuedBytes -= raw.length;
        await this.handle(raw);
        if (this.outBytes >= FLUSH_BYTES) {
          this.flush();
          // A client that pipelines without reading replies is slowed down instead of buffered.
          await this.channel.whenWritable?.();
        }
        if (this.readPaused && this.queuedBytes <= MAX_QUEUED_BYTES / 2) {
          this.readPaused = false;
          this.channel.resume?.();
        }
      }
    } finally {
      this.processing = false;
      this.flush();
      if (this.peerGone || this.state === 'DEFUNCT') await this.shutdown();
    }
  }

  private async handle(raw: Buffer): Promise<void> {
    if (this.state === 'RELAY') return this.relayed(raw);
    let msg: Message;
    try {
      msg = unpackMessage(raw, { structs: 'values' });
    } catch (err) {
      this.fatal(err);
      return;
    }
    if (msg.signature === SIG.HELLO) this.helloRaw = raw;
    if (msg.signature === SIG.RESET) {
      this.pendingResets = Math.max(0, this.pendingResets - 1);
    } else if (this.pendingResets > 0 && this.isInterruptible()) {
      if (msg.signature === SIG.GOODBYE) return this.goodbye();
      return this.ignored();
    }
    try {
      await this.dispatch(msg);
    } catch (err) {
      await this.fail(err);
    }
  }

  private isInterruptible(): boolean {
    return ['READY', 'STREAMING', 'TX_READY', 'TX_STREAMING', 'FAILED'].includes(this.state);
  }

  private async dispatch(msg: Message): Promise<void> {
    const { signature: sig, fields } = msg;
    const name = SIG_NAMES[sig] ?? `0x${sig.toString(16)}`;
    if (sig === SIG.GOODBYE) return this.goodbye();
    if (sig === SIG.RESET) return this.reset();
    switch (this.state) {
      case 'CONNECTED':
        if (sig === SIG.HELLO) return this.hello(fields);
        break;
      case 'AUTHENTICATION':
        if (sig === SIG.LOGON) return this.logon(fields);
        break;
      case 'FAILED':
        if (IGNORED_WHEN_FAILED.has(sig)) return this.ignored();
        break;
      case 'READY':
        if (sig === SIG.RUN) return this.run(fields);
        if (sig === SIG.BEGIN) return this.begin(fields);
        if (sig === SIG.ROUTE) return this.route(fields);
        if (sig === SIG.TELEMETRY && this.features.telemetry) return this.telemetry(fields);
        if (sig === SIG.LOGOFF && !this.features.inlineAuth) return this.logoff(fields);
        break;
      case 'STREAMING':
        if (sig === SIG.PULL || sig === SIG.DISCARD) return this.stream(fields, sig === SIG.PULL);
        break;
      case 'TX_READY':
      case 'TX_STREAMING':
        if (sig === SIG.RUN) return this.run(fields);
        if (sig === SIG.COMMIT) return this.commit(fields);
        if (sig === SIG.ROLLBACK) return this.rollback(fields);
        if ((sig === SIG.PULL || sig === SIG.DISCARD) && this.state === 'TX_STREAMING') return this.stream(fields, sig === SIG.PULL);
        break;
    }
    throw requestInvalid(`Message '${name}' cannot be handled by a session in the ${this.state} state.`, true);
  }

  // ---- authentication ------------------------------------------------------------------------

  private async hello(fields: Unpacked[]): Promise<void> {
    const extra = dictField(fields, 0, 1, 'HELLO');
    const routing = extra.routing;
    this.helloFilter = readFilter(extra, this.helloFilter);
    this.routingContext = routing !== null && typeof routing === 'object' && !Array.isArray(routing) ? (routing as ValueMap) : null;
    const meta: ValueMap = { server: this.options.relay?.agent ?? SERVER_AGENT, connection_id: this.id };
    if (this.version.major === 4) {
      const patches = Array.isArray(extra.patch_bolt) ? extra.patch_bolt : [];
      if (patches.includes('utc')) {
        this.packer = new Packer({ elementIds: false, utcDateTime: true });
        meta.patch_bolt = ['utc'];
      }
    }
    meta.hints = this.features.telemetry ? { 'telemetry.enabled': false } : {};
    if (this.viaManifest) meta.protocol_version = `${this.version.major}.${this.version.minor}`;
    if (this.features.inlineAuth) {
      const token: ValueMap = {};
      for (const k of ['scheme', 'principal', 'credentials', 'realm', 'parameters']) {
        if (k in extra) token[k] = extra[k] as Value;
      }
      await this.authenticate(token);
      if (this.state === 'DEFUNCT') return; // the deadline passed while the authenticator ran
      await this.openRelay();
      this.success(meta);
      this.state = this.relaySession ? 'RELAY' : 'READY';
    } else {
      this.success(meta);
      this.state = 'AUTHENTICATION';
    }
  }

  private async logon(fields: Unpacked[]): Promise<void> {
    const token = dictField(fields, 0, 1, 'LOGON');
    await this.authenticate(token);
    if (this.state === 'DEFUNCT') return; // the deadline passed while the authenticator ran
    await this.openRelay();
    this.success({});
    this.state = this.relaySession ? 'RELAY' : 'READY';
  }

  // ---- pass-through to an engine that speaks Bolt (Neo4j) --------------------------------------

  private async openRelay(): Promise<void> {
    const relay = this.options.relay;
    if (!relay) return;
    try {
      this.relaySession = await relay.open(this.version, this.helloRaw ?? Buffer.from([0xb1, SIG.HELLO, 0xa0]), this.channel);
    } catch (err) {
      this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'cannot open the engine side of a Bolt session');
      throw new BoltFailure('Neo.TransientError.General.DatabaseUnavailable', 'The database is not available right now; retry shortly.', '08N07', true);
    }
  }

  /**
   * One message of an authenticated session, passed to the engine as the client sent it, except: a read-only
   * user's (and every system-database) transaction is forced to access mode READ, so the engine itself
   * refuses writes; re-authentication is checked here against the users file.
   */
  private async relayed(raw: Buffer): Promise<void> {
    const session = this.relaySession!;
    let signature: number;
    try {
      signature = signatureOf(raw);
    } catch (err) {
      this.fatal(err);
      return;
    }
    if (signature === SIG.GOODBYE) {
      this.flush();
      session.send(raw);
      return this.goodbye();
    }
    // Our own replies (the HELLO/LOGON success) go out before the engine's.
    this.flush();
    if (this.relayFailed) {
      if (signature !== SIG.RESET) return this.ignored();
      this.relayFailed = false;
    }
    // ROUTE is answered here, not by the engine: the routing table must name the address the client dialed.
    if (signature === SIG.ROUTE) {
      try {
        this.route(unpackMessage(raw, { structs: 'values' }).fields);
      } catch (err) {
        await this.fail(err);
      }
      return;
    }
    let message = raw;
    try {
      if (signature === SIG.RUN) {
        const query = unpackMessage(raw, { structs: 'raw' }).fields[0];
        if (typeof query === 'string' && isAdministrationCommand(query)) {
          this.failure(new BoltFailure('Neo.ClientError.Security.Forbidden', ADMINISTRATION_REFUSED, '42NFF'));
          this.relayFailed = true;
          return;
        }
      }
      if (signature === SIG.LOGON) {
        const token = dictField(unpackMessage(raw, { structs: 'values' }).fields, 0, 1, 'LOGON');
        await this.authenticate(token);
        message = session.internalLogon();
      } else if (signature === SIG.BEGIN || (signature === SIG.RUN && !this.relayInTx)) {
        message = this.relayExtra(raw, signature === SIG.BEGIN ? 0 : 2);
        this.options.relay!.began();
      }
    } catch (err) {
      await this.fail(err);
      return;
    }
    // What can commit waits while a backup copies the store: an auto-commit RUN and the pulls of its result, COMMIT.
    const commits =
      (signature === SIG.RUN && !this.relayInTx) ||
      signature === SIG.COMMIT ||
      ((signature === SIG.PULL || signature === SIG.DISCARD) && this.relayAutoPending);
    if (signature === SIG.RUN || signature === SIG.BEGIN || signature === SIG.RESET) this.relayAutoPending = signature === SIG.RUN && !this.relayInTx;
    const gate = commits ? this.options.relay!.gate : undefined;
    let answer: number;
    try {
      await gate?.enter();
      answer = await session.request(message);
    } catch (err) {
      this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'the engine side of a Bolt session failed');
      this.failure(new BoltFailure('Neo.TransientError.General.DatabaseUnavailable', 'The database connection was lost; retry.', '08N07', true));
      this.close();
      return;
    } finally {
      gate?.leave();
    }
    if (signature === SIG.LOGOFF && answer === SIG.SUCCESS) {
      this.user = null;
      this.options.onLoggedOff?.();
    }
    if (signature === SIG.BEGIN && answer === SIG.SUCCESS) this.relayTx(true);
    if (signature === SIG.COMMIT || signature === SIG.ROLLBACK || signature === SIG.RESET) this.relayTx(false);
  }

  private relayTx(open: boolean): void {
    if (open === this.relayInTx) return;
    this.relayInTx = open;
    if (open) this.options.relay!.txOpened();
    else this.options.relay!.txClosed();
  }

  private relayExtra(raw: Buffer, index: number): Buffer {
    const system = mapFieldString(raw, index, 'db') === 'system';
    if (!system && !this.user?.readOnly) return raw;
    return editMapField(raw, index, { mode: packString('r') });
  }

  private logoff(fields: Unpacked[]): void {
    if (fields.length !== 0) throw requestInvalid('LOGOFF takes no fields', true);
    this.user = null;
    this.success({});
    this.state = 'AUTHENTICATION';
    this.options.onLoggedOff?.();
  }

  private async authenticate(token: ValueMap): Promise<void> {
    let user: AuthenticatedUser | null;
    try {
      user = await this.options.authenticator.authenticate(token);
    } catch (err) {
      this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'authenticator failed');
      user = null;
    }
    if (!user) {
      this.options.logger?.info({ connectionId: this.id, principal: typeof token.principal === 'string' ? token.principal : undefined }, 'bolt authentication refused');
      throw new BoltFailure('Neo.ClientError.Security.Unauthorized', 'The client is unauthorized due to authentication failure.', '42NFF', true);
    }
    if (this.state === 'DEFUNCT') return;
    this.user = user;
    this.options.onAuthenticated?.();
  }

  // ---- queries -------------------------------------------------------------------------------

  private txExtra(extra: ValueMap, what: string): { options: QueryOptions; db: string; dbGiven: boolean } {
    if (extra.imp_user !== undefined && extra.imp_user !== null) {
      throw new BoltFailure('Neo.ClientError.Security.Forbidden', 'Impersonation is not supported by this server.', '42NFF');
    }
    const { db, dbGiven } = resolveDb(extra.db);
    const options: QueryOptions = { readOnly: (this.user?.readOnly ?? false) || extra.mode === 'r' };
    if (this.user) options.username = this.user.username;
    const timeout = extra.tx_timeout;
    if (typeof timeout === 'bigint' || typeof timeout === 'number') {
      if (timeout < 0) throw requestInvalid(`${what}: tx_timeout must not be negative`);
      if (timeout > 0) options.timeoutMs = Number(timeout);
    }
    const bookmarks = extra.bookmarks;
    if (bookmarks !== undefined && bookmarks !== null) {
      if (!Array.isArray(bookmarks) || !bookmarks.every((b) => typeof b === 'string')) throw requestInvalid(`${what}: bookmarks must be a list of strings`);
      if (bookmarks.length) options.bookmarks = bookmarks as string[];
    }
    const metadata = extra.tx_metadata;
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) throw requestInvalid(`${what}: tx_metadata must be a map`);
      options.metadata = metadata as ValueMap;
    }
    return { options, db, dbGiven };
  }

  private async run(fields: Unpacked[]): Promise<void> {
    if (fields.length !== 3 || typeof fields[0] !== 'string') throw requestInvalid('RUN needs a query string, parameters and extra', true);
    const query = fields[0];
    const params = dictField(fields, 1, 3, 'RUN');
    const extra = dictField(fields, 2, 3, 'RUN');
    const started = Date.now();
    if (this.state === 'READY') {
      const { options, db, dbGiven } = this.txExtra(extra, 'RUN');
      const result = await this.options.engine.run(query, params, options);
      this.auto = { filter: readFilter(extra, this.helloFilter), fields: result.fields, records: result.records, cursor: 0, result, bookmark: result.bookmark, db };
      const meta: ValueMap = { fields: result.fields, t_first: BigInt(Date.now() - started) };
      if (this.features.dbInSuccess && !dbGiven) meta.db = db;
      this.success(meta);
      this.state = 'STREAMING';
      return;
    }
    const tx = this.tx as EngineTransaction;
    const result = await tx.run(query, params);
    const qid = this.nextQid++;
    this.txStreams.set(qid, { filter: this.txOptions.filter, fields: result.fields, records: result.records, cursor: 0, result, bookmark: null, db: this.txOptions.db });
    this.lastQid = qid;
    this.success({ fields: result.fields, t_first: BigInt(Date.now() - started), qid: BigInt(qid) });
    this.state = 'TX_STREAMING';
  }

  private async stream(fields: Unpacked[], pull: boolean): Promise<void> {
    const extra = dictField(fields, 0, 1, pull ? 'PULL' : 'DISCARD');
    const n = typeof extra.n === 'bigint' ? extra.n : typeof extra.n === 'number' ? BigInt(Math.trunc(extra.n)) : null;
    if (n === null || n === 0n || n < -1n) throw requestInvalid(`${pull ? 'PULL' : 'DISCARD'} needs n > 0 or n = -1`);
    const started = Date.now();
    let stream: Stream | undefined;
    let qid = -1;
    if (this.state === 'STREAMING') {
      stream = this.auto ?? undefined;
    } else {
      qid = typeof extra.qid === 'bigint' ? Number(extra.qid) : -1;
      if (qid === -1) qid = this.lastQid;
      stream = this.txStreams.get(qid);
      if (!stream) throw requestInvalid(`There is no open result with qid ${qid}.`);
    }
    if (!stream) throw requestInvalid('There is no open result.');
    const available = stream.records.length - stream.cursor;
    const count = n === -1n || n > BigInt(available) ? available : Number(n);
    if (pull) {
      for (let i = 0; i < count; i++) {
        this.record(stream.records[stream.cursor + i] as Value[]);
        if (this.outBytes >= FLUSH_BYTES) {
          this.flush();
          await this.channel.whenWritable?.();
          if (this.peerGone) return;
        }
      }
    }
    stream.cursor += count;
    if (stream.cursor < stream.records.length) {
      this.success({ has_more: true });
      return;
    }
    this.success(this.summary(stream, Date.now() - started));
    if (this.state === 'STREAMING') {
      this.auto = null;
      this.state = 'READY';
    } else {
      this.txStreams.delete(qid);
      if (this.txStreams.size === 0) this.state = 'TX_READY';
    }
  }

  private summary(stream: Stream, tLast: number): ValueMap {
    return summaryMetadata(stream.result, {
      bookmark: stream.bookmark,
      db: stream.db,
      tLastMs: tLast,
      statuses: this.features.statuses,
      filter: stream.filter,
    });
  }

  private async begin(fields: Unpacked[]): Promise<void> {
    const extra = dictField(fields, 0, 1, 'BEGIN');
    const { options, db, dbGiven } = this.txExtra(extra, 'BEGIN');
    this.tx = await this.options.engine.begin(options);
    this.txOptions = { db, filter: readFilter(extra, this.helloFilter) };
    this.txStreams.clear();
    this.nextQid = 0;
    this.lastQid = -1;
    this.success(this.features.dbInSuccess && !dbGiven ? { db } : {});
    this.state = 'TX_READY';
  }

  private async commit(fields: Unpacked[]): Promise<void> {
    if (fields.length !== 0) throw requestInvalid('COMMIT takes no fields', true);
    const tx = this.takeTx();
    let bookmark: string;
    try {
      bookmark = await tx.commit();
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
    this.success({ bookmark });
    this.state = 'READY';
  }

  private async rollback(fields: Unpacked[]): Promise<void> {
    if (fields.length !== 0) throw requestInvalid('ROLLBACK takes no fields', true);
    const tx = this.takeTx();
    await tx.rollback();
    this.success({});
    this.state = 'READY';
  }

  // Detaches the open transaction so that a failing COMMIT/ROLLBACK never leaves it half-open.
  private takeTx(): EngineTransaction {
    const tx = this.tx as EngineTransaction;
    this.tx = null;
    this.txStreams.clear();
    return tx;
  }

  private route(fields: Unpacked[]): void {
    if (fields.length !== 3) throw requestInvalid('ROUTE needs routing context, bookmarks and extra', true);
    const extra = fields[2];
    // Bolt 4.3 sent the database name itself as the third field; 4.4+ sends {db, imp_user}.
    const dbField = extra !== null && typeof extra === 'object' && !Array.isArray(extra) ? (extra as ValueMap).db : extra;
    const { db } = resolveDb(dbField as Value | undefined);
    // The address the driver dialed (HELLO's routing context) first: behind the router (src/router/) that is
    // the database's public endpoint, which stays right across node restarts and switches; the node's own
    // address (a loopback port) only for clients that send none.
    const dialed = this.routingContext?.address;
    const address = typeof dialed === 'string' && dialed !== '' ? dialed : this.options.advertisedAddress();
    const servers = ['ROUTE', 'READ', 'WRITE'].map((role) => ({ addresses: [address], role }));
    this.success({ rt: { ttl: ROUTING_TTL_SECONDS, db, servers } });
  }

  private telemetry(fields: Unpacked[]): void {
    const api = fields[0];
    if (fields.length !== 1 || typeof api !== 'bigint' || api < 0n || api > 3n) {
      throw requestInvalid('TELEMETRY needs an api value between 0 and 3');
    }
    this.success({});
  }

  private async reset(): Promise<void> {
    if (this.state === 'CONNECTED' || this.state === 'AUTHENTICATION') {
      throw requestInvalid('RESET before authentication', true);
    }
    await this.dropWork();
    this.success({});
    this.state = 'READY';
  }

  private goodbye(): void {
    this.state = 'DEFUNCT';
    this.channel.end();
  }

  private async dropWork(): Promise<void> {
    this.auto = null;
    this.txStreams.clear();
    const tx = this.tx;
    this.tx = null;
    if (tx) {
      try {
        await tx.rollback();
      } catch (err) {
        this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'rollback of an abandoned transaction failed');
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.state = 'DEFUNCT';
    this.queue.length = 0;
    if (this.relaySession) {
      this.relayTx(false);
      this.relaySession.close();
      this.relaySession = null;
    }
    await this.dropWork();
  }

  // ---- replies -------------------------------------------------------------------------------

  private async fail(err: unknown): Promise<void> {
    let failure: BoltFailure;
    if (err instanceof BoltFailure) failure = err;
    else if (err instanceof CypherError) failure = new BoltFailure(err.code, err.message, err.gqlStatus);
    else if (err instanceof ProtocolError) failure = requestInvalid(err.message, true);
    else {
      this.options.logger?.warn({ connectionId: this.id, err: errorMessage(err) }, 'unexpected error while handling a Bolt request');
      failure = new BoltFailure('Neo.DatabaseError.General.UnknownError', errorMessage(err));
    }
    this.failure(failure, err instanceof CypherError ? err.position : undefined);
    if (failure.close) {
      this.close();
      return;
    }
    // A failed transaction is dead; it is rolled back by the RESET that leaves FAILED.
    this.auto = null;
    this.state = 'FAILED';
  }

  private fatal(err: unknown): void {
    const message = err instanceof ProtocolError ? err.message : errorMessage(err);
    this.options.logger?.info({ connectionId: this.id, reason: message }, 'closing Bolt connection after a protocol error');
    if (this.state !== 'HANDSHAKE' && this.state !== 'MANIFEST') this.failure(requestInvalid(message, true));
    this.close();
  }

  private close(): void {
    this.flush();
    this.state = 'DEFUNCT';
    this.queue.length = 0;
    this.channel.end();
    if (!this.processing) this.shutdown().catch((err: unknown) => this.crashed(err));
  }

  private failure(f: BoltFailure, position?: Position): void {
    this.message(SIG.FAILURE, [failureMetadata(f.code, f.message, f.gqlStatus, this.features.gqlFailure, position)]);
  }

  private success(meta: ValueMap): void {
    this.message(SIG.SUCCESS, [meta]);
  }

  private ignored(): void {
    this.message(SIG.IGNORED, []);
  }

  private record(values: Value[]): void {
    try {
      this.message(SIG.RECORD, [values]);
    } catch (err) {
      throw new BoltFailure('Neo.DatabaseError.General.UnknownError', `cannot encode a result value: ${errorMessage(err)}`);
    }
  }

  private message(signature: number, fields: (Value | Structure)[]): void {
    this.packer.reset();
    this.packer.structHeader(fields.length, signature);
    for (const f of fields) this.packer.pack(f);
    const framed = chunkMessage(this.packer.bytes());
    this.out.push(framed);
    this.outBytes += framed.length;
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const data = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
    this.out = [];
    this.outBytes = 0;
    if (!this.peerGone) this.channel.write(data);
  }
}

function dictField(fields: Unpacked[], index: number, count: number, what: string): ValueMap {
  const v = fields[index];
  if (fields.length !== count || v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || v instanceof Structure) {
    throw requestInvalid(`malformed ${what} message`, true);
  }
  return v as ValueMap;
}

function resolveDb(db: Value | undefined): { db: string; dbGiven: boolean } {
  if (db === undefined || db === null || db === '') return { db: DEFAULT_DATABASE, dbGiven: false };
  if (typeof db !== 'string' || !KNOWN_DATABASES.has(db)) {
    throw new BoltFailure('Neo.ClientError.Database.DatabaseNotFound', `Database does not exist. Database name: '${String(db)}'.`, '22N51');
  }
  return { db, dbGiven: true };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
