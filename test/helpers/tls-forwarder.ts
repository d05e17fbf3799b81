// A test-only stand-in for the router core: accepts on loopback ports, sniffs the first bytes, terminates
// TLS through RouterTls when the client sends a ClientHello, picks the graph-server by the TLS server name
// (or the only one, for plain connections), sniffs again inside TLS and pipes Bolt and WebSocket-upgrade
// requests to the Bolt port, other HTTP to the Query API port. No back-pressure tuning, no network rules:
// those are the router's.
import net from 'node:net';
import { sniff } from '../../src/router/sniff.js';
import { databaseIdFromServername, type RouterTls } from '../../src/router/tls.js';

export interface Backend {
  boltPort: number;
  httpPort: number;
}

export interface ForwarderOptions {
  tls: RouterTls | null;
  publicHost: string;
  /** Database id → its graph-server's ports. */
  backends: Map<string, Backend>;
  /** For plain (non-TLS) connections, which have no server name. */
  plainBackend?: Backend;
}

export interface Forwarder {
  /** Adds a listener (host, port 0 = any free port); returns its port. */
  listen(host: string, port?: number): Promise<number>;
  close(): Promise<void>;
  /** Handshake outcomes, for assertions. */
  terminated: { servername: string | null }[];
  failures: string[];
}

/** Reads from `s` until `enough(head)` says so; stops reading and returns the bytes. */
function readHead(s: net.Socket, enough: (head: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (enough(head)) {
        done();
        s.pause();
        resolve(head);
      }
    };
    const onEnd = () => {
      done();
      reject(new Error('closed before the first bytes'));
    };
    const done = () => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onEnd);
    };
    s.on('data', onData);
    s.resume();
    s.once('end', onEnd);
    s.once('error', onEnd);
  });
}

function pipeTo(client: net.Socket, head: Buffer, port: number): void {
  const upstream = net.connect(port, '127.0.0.1');
  upstream.setNoDelay(true);
  upstream.write(head);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  const kill = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', kill);
  upstream.on('error', kill);
  client.on('close', kill);
  upstream.on('close', kill);
}

export function startForwarder(opts: ForwarderOptions): Forwarder {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const terminated: { servername: string | null }[] = [];
  const failures: string[] = [];

  const route = async (stream: net.Socket, backend: Backend) => {
    // HTTP: up to the end of the headers, to see whether it asks for a WebSocket upgrade.
    const head = await readHead(stream, (h) => {
      const k = sniff(h);
      return k === 'http' ? h.includes('\r\n\r\n') || h.length > 16_384 : k !== 'need-more';
    });
    const kind = sniff(head);
    if (kind === 'bolt') return pipeTo(stream, head, backend.boltPort);
    // A WebSocket upgrade (Bolt over WebSocket) goes to the Bolt port, as Neo4j serves it there.
    if (kind === 'http') return pipeTo(stream, head, /\r\nupgrade:\s*websocket\r\n/i.test(head.toString('latin1')) ? backend.boltPort : backend.httpPort);
    stream.destroy();
  };

  const onConnection = async (raw: net.Socket) => {
    sockets.add(raw);
    raw.once('close', () => sockets.delete(raw));
    raw.on('error', () => {});
    try {
      const head = await readHead(raw, (h) => sniff(h) !== 'need-more');
      const kind = sniff(head);
      if (kind === 'tls' && opts.tls) {
        const { socket, servername } = await opts.tls.terminate(raw, head);
        terminated.push({ servername });
        const id = databaseIdFromServername(servername, opts.publicHost);
        const backend = id === null ? undefined : opts.backends.get(id);
        if (!backend) {
          socket.destroy();
          return;
        }
        socket.on('error', () => {});
        // Inside TLS the same sniffing applies; the first bytes arrive after the handshake.
        await route(socket as unknown as net.Socket, backend);
        return;
      }
      if ((kind === 'bolt' || kind === 'http') && opts.plainBackend) {
        raw.unshift(head);
        await route(raw, opts.plainBackend);
        return;
      }
      raw.destroy();
    } catch (err) {
      failures.push((err as Error).message);
      raw.destroy();
    }
  };

  return {
    terminated,
    failures,
    listen: (host, port = 0) =>
      new Promise((resolve, reject) => {
        const server = net.createServer((s) => void onConnection(s));
        servers.push(server);
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
