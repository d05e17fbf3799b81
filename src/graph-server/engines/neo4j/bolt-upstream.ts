// One Bolt connection from the graph-server to the Neo4j JVM on loopback, carrying one client's session
// after the graph-server authenticated the client against its users file. Requests go up one at a time;
// every byte Neo4j answers is passed to the client as it arrives (chunks and all, never decoded), and a
// request is done when its summary (SUCCESS, FAILURE or IGNORED) has gone through.
import net from 'node:net';
import { chunkMessage, Dechunker } from '../../bolt/chunking.js';
import type { ByteChannel } from '../../bolt/connection.js';
import { BOLT_MAGIC, type BoltVersion } from '../../bolt/handshake.js';
import { unpackMessage } from '../../bolt/packstream.js';
import { editMapField, packString } from './bolt-message.js';

const SUCCESS = 0x70;
const RECORD = 0x71;
const FAILURE = 0x7f;
const LOGON = 0x6a;

export interface UpstreamTarget {
  host: string;
  port: number;
  /** The internal password of Neo4j's `neo4j` user (only the graph-server knows it). */
  password(): string;
}

export class UpstreamError extends Error {}

function internalAuth(target: UpstreamTarget): Record<string, Buffer> {
  return { scheme: packString('basic'), principal: packString('neo4j'), credentials: packString(target.password()) };
}

/** Tracks message boundaries in a chunked Bolt byte stream without copying it. */
class Framing {
  private header: number[] = [];
  private remaining = 0;
  private atMessageStart = true;
  private offsetInMessage = 0;
  private signature = -1;

  /** Calls `onEnd(signature)` for every message that ends in `data`. */
  scan(data: Buffer, onEnd: (signature: number) => void): void {
    let i = 0;
    while (i < data.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length - i);
        if (this.atMessageStart === false && this.offsetInMessage <= 1 && this.offsetInMessage + take > 1) {
          this.signature = data[i + (1 - this.offsetInMessage)]!;
        }
        this.offsetInMessage += take;
        this.remaining -= take;
        i += take;
        continue;
      }
      this.header.push(data[i]!);
      i++;
      if (this.header.length < 2) continue;
      const size = (this.header[0]! << 8) | this.header[1]!;
      this.header = [];
      if (size === 0) {
        // A zero chunk ends a message (and a NOOP keep-alive is a lone zero chunk: no message).
        if (!this.atMessageStart) onEnd(this.signature);
        this.atMessageStart = true;
        this.offsetInMessage = 0;
        this.signature = -1;
      } else {
        this.atMessageStart = false;
        this.remaining = size;
      }
    }
  }
}

export class BoltUpstream {
  private readonly framing = new Framing();
  private waiting: ((signature: number) => void) | null = null;
  private failed: Error | null = null;
  private closed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly client: ByteChannel,
  ) {
    socket.on('data', (data: Buffer) => this.forward(data));
    const gone = (err?: Error) => {
      this.closed = true;
      this.failed ??= new UpstreamError(`the database engine closed the connection${err ? `: ${err.message}` : ''}`);
      const w = this.waiting;
      this.waiting = null;
      if (w) w(-1);
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  /**
   * Connects, agrees on the client's Bolt `version`, and logs in as Neo4j's internal user with the rest of the
   * client's HELLO (user agent, routing context, notification filters) kept byte for byte.
   */
  static async open(target: UpstreamTarget, version: BoltVersion, clientHello: Buffer, client: ByteChannel): Promise<BoltUpstream> {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const replies = new Dechunker(16 * 1024 * 1024);
    let inbox = Buffer.alloc(0);
    const messages: Buffer[] = [];
    let wake: (() => void) | null = null;
    let failure: Error | null = null;
    const onData = (data: Buffer) => {
      inbox = Buffer.concat([inbox, data]);
      wake?.();
    };
    const onError = (err: Error) => {
      failure = err;
      wake?.();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', () => onError(new UpstreamError('closed during login')));
    const until = async (ready: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!ready()) {
        if (failure) throw new UpstreamError(`cannot reach the database engine: ${(failure as Error).message}`);
        if (Date.now() > deadline) throw new UpstreamError('the database engine did not answer the login in time');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200).unref();
        });
        wake = null;
      }
    };
    try {
      await until(() => socket.readyState === 'open');
      socket.write(Buffer.concat([BOLT_MAGIC, Buffer.from([0, 0, version.minor, version.major]), Buffer.alloc(12)]));
      await until(() => inbox.length >= 4);
      if (inbox[2] !== version.minor || inbox[3] !== version.major) {
        throw new UpstreamError(`the database engine does not speak Bolt ${version.major}.${version.minor}`);
      }
      inbox = inbox.subarray(4);
      const inline = version.major < 5 || (version.major === 5 && version.minor === 0);
      const auth = internalAuth(target);
      socket.write(chunkMessage(editMapField(clientHello, 0, inline ? auth : { scheme: null, principal: null, credentials: null, realm: null, parameters: null })));
      if (!inline) socket.write(chunkMessage(BoltUpstream.internalLogon(target)));
      const expected = inline ? 1 : 2;
      await until(() => {
        if (inbox.length) {
          messages.push(...replies.push(inbox));
          inbox = Buffer.alloc(0);
        }
        return messages.length >= expected;
      });
      for (const raw of messages.slice(0, expected)) {
        const m = unpackMessage(raw, { structs: 'raw' });
        if (m.signature !== SUCCESS) {
          const meta = m.fields[0] as Record<string, unknown> | undefined;
          throw new UpstreamError(`the database engine refused the internal login: ${String(meta?.message ?? 'no reason given')}`);
        }
      }
    } catch (err) {
      socket.destroy();
      throw err;
    }
    socket.off('data', onData);
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    return new BoltUpstream(socket, client);
  }

  private forward(data: Buffer): void {
    this.client.write(data);
    this.framing.scan(data, (signature) => {
      if (signature === RECORD) return;
      const w = this.waiting;
      this.waiting = null;
      w?.(signature);
    });
    // A slow client slows Neo4j's stream down instead of piling it up here.
    if (this.client.whenWritable) {
      this.socket.pause();
      void this.client.whenWritable().then(() => {
        if (!this.closed) this.socket.resume();
      });
    }
  }

  /** Sends one request and resolves with the signature of its summary once that has reached the client. */
  request(message: Buffer): Promise<number> {
    if (this.failed || this.closed) return Promise.reject(this.failed ?? new UpstreamError('the database engine connection is closed'));
    return new Promise<number>((resolve, reject) => {
      this.waiting = (signature) => (signature === -1 ? reject(this.failed ?? new UpstreamError('the database engine connection is closed')) : resolve(signature));
      this.socket.write(chunkMessage(message));
    });
  }

  /** Sends a request that gets no answer (GOODBYE). */
  send(message: Buffer): void {
    if (!this.closed) this.socket.write(chunkMessage(message));
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** A LOGON message with the internal credentials. */
  static internalLogon(target: UpstreamTarget): Buffer {
    return editMapField(Buffer.from([0xb1, LOGON, 0xa0]), 0, internalAuth(target));
  }
}

export const SUMMARY = { SUCCESS, FAILURE } as const;
