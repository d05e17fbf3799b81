// Starts the Bolt server on a free loopback port with the fake engine, and a raw Bolt client
// for wire-level tests (it reuses the server's own PackStream, the drivers test the rest).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { chunkMessage, Dechunker } from '../../src/graph-server/bolt/chunking.js';
import { BOLT5_FORMAT, Packer, type Structure, unpackMessage, type Unpacked } from '../../src/graph-server/bolt/packstream.js';
import { createBoltServer, type BoltServer, type BoltServerOptions } from '../../src/graph-server/bolt/server.js';
import type { GraphEngine } from '../../src/graph-server/engine-api.js';
import type { Value } from '../../src/graph-server/values.js';
import { FakeAuthenticator, FakeEngine } from './bolt-fake-engine.js';

export interface TestBoltServer {
  server: BoltServer;
  engine: FakeEngine;
  authenticator: FakeAuthenticator;
  port: number;
  address: string;
  close(): Promise<void>;
}

export async function startBoltServer(opts: Partial<BoltServerOptions> & { engine?: GraphEngine } = {}): Promise<TestBoltServer> {
  const engine = new FakeEngine();
  const authenticator = new FakeAuthenticator();
  let address = '';
  const server = createBoltServer({
    engine: opts.engine ?? engine,
    authenticator: opts.authenticator ?? authenticator,
    advertisedAddress: () => address,
    ...opts,
  } as BoltServerOptions);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;
  return {
    server,
    engine,
    authenticator,
    port,
    address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const SIG = { HELLO: 0x01, GOODBYE: 0x02, RESET: 0x0f, RUN: 0x10, BEGIN: 0x11, COMMIT: 0x12, ROLLBACK: 0x13, DISCARD: 0x2f, PULL: 0x3f, TELEMETRY: 0x54, ROUTE: 0x66, LOGON: 0x6a, LOGOFF: 0x6b, SUCCESS: 0x70, RECORD: 0x71, IGNORED: 0x7e, FAILURE: 0x7f } as const;

export interface Reply {
  signature: number;
  fields: Unpacked[];
}

export const JS_5_28_PROPOSALS = Buffer.from('000001ff000808050002040400000003', 'hex');

/** A raw Bolt client over a plain socket (or any duplex carrying bytes). */
export class RawBoltClient {
  readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly dechunker = new Dechunker();
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  private handshakeDone = false;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      if (!this.handshakeDone) {
        this.buffered = Buffer.concat([this.buffered, d]);
      } else {
        for (const m of this.dechunker.push(d)) this.replies.push(unpackMessage(m, { structs: 'raw' }));
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawBoltClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawBoltClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.closed && !cond()) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends magic + proposals, returns the server's 4-byte answer (leftover kept for messages). */
  async handshake(proposals: Buffer = JS_5_28_PROPOSALS, extra: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    this.socket.write(Buffer.concat([Buffer.from([0x60, 0x60, 0xb0, 0x17]), proposals, extra]));
    await this.until(() => this.buffered.length >= 4, 'handshake reply');
    const reply = this.buffered.subarray(0, 4);
    this.startMessages(4);
    return Buffer.from(reply);
  }

  /** Reads `n` raw handshake bytes (for Manifest v1), then switches to messages. */
  async readRaw(n: number): Promise<Buffer> {
    await this.until(() => this.buffered.length >= n, `${n} handshake bytes`);
    return Buffer.from(this.buffered.subarray(0, n));
  }

  startMessages(consumed: number): void {
    const rest = this.buffered.subarray(consumed);
    this.handshakeDone = true;
    this.buffered = Buffer.alloc(0);
    for (const m of this.dechunker.push(rest)) this.replies.push(unpackMessage(m, { structs: 'raw' }));
  }

  encode(signature: number, ...fields: (Value | Structure)[]): Buffer {
    const p = new Packer(BOLT5_FORMAT);
    p.structHeader(fields.length, signature);
    for (const f of fields) p.pack(f);
    return chunkMessage(p.bytes());
  }

  send(signature: number, ...fields: (Value | Structure)[]): void {
    this.socket.write(this.encode(signature, ...fields));
  }

  async next(timeoutMs = 5000): Promise<Reply> {
    await this.until(() => this.replies.length > 0, 'a reply', timeoutMs);
    return this.replies.shift() as Reply;
  }

  /** Waits until the server closes the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, 'the server to close the connection', timeoutMs);
  }

  async hello(auth: { user: string; password: string } = { user: 'neo4j', password: 'secret-pass' }, v51plus = true): Promise<Reply> {
    const token = { scheme: 'basic', principal: auth.user, credentials: auth.password };
    if (v51plus) {
      this.send(SIG.HELLO, { user_agent: 'raw-test/1.0' });
      this.send(SIG.LOGON, token);
      const hello = await this.next();
      if (hello.signature !== SIG.SUCCESS) return hello;
      return this.next();
    }
    this.send(SIG.HELLO, { user_agent: 'raw-test/1.0', ...token });
    return this.next();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function meta(r: Reply): Record<string, Unpacked> {
  return r.fields[0] as Record<string, Unpacked>;
}
