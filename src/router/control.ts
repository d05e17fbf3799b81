// The router's control socket: a unix socket in the data dir (`router.sock`) on which the API asks the router
// who it is (`ping`), tells it the endpoint table changed (`poke`: re-read the store now rather than at the
// next poll), reads its counters (`metrics`), has it read its TLS certificate again (`reload-tls`) and stops it (`stop`, when `serve` exits with ALLOTROPE_ON_EXIT=stop).
// One JSON line each way per connection. Only the data dir's owner can reach it (the dir is 0700).
import net from 'node:net';
import { join } from 'node:path';

export type ControlRequest = { op: 'ping' } | { op: 'poke' } | { op: 'sync' } | { op: 'metrics' } | { op: 'stop' } | { op: 'reload-tls' };

export interface RouterPing {
  pid: number;
  /** The data dir's real path the router serves. */
  dataDir: string;
  startedAt: string;
}

export interface RouterMetrics {
  /** Refused connections by reason since the router started. */
  refusals: Record<string, number>;
  openConnections: number;
  acceptedConnections: number;
}

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'router.sock');
}

/** One request to the router; null when no router answers (none runs, or it did not answer in time). */
export function askRouter<T = unknown>(dataDir: string, request: ControlRequest, timeoutMs = 2_000): Promise<T | null> {
  return new Promise((resolve) => {
    const socket = net.connect(controlSocketPath(dataDir));
    let text = '';
    let settled = false;
    const done = (value: T | null) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(text.slice(0, nl)) as T);
      } catch {
        done(null);
      }
    });
    socket.on('error', () => done(null));
    socket.on('close', () => done(null));
  });
}

/** Serves the control socket; `handle` answers each request. */
export function serveControl(dataDir: string, handle: (request: ControlRequest) => Promise<unknown> | unknown): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let text = '';
    socket.on('error', () => undefined);
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length > 4096) return socket.destroy();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      let request: ControlRequest;
      try {
        request = JSON.parse(text.slice(0, nl)) as ControlRequest;
      } catch {
        socket.end('{"error":"not JSON"}\n');
        return;
      }
      Promise.resolve()
        .then(() => handle(request))
        .then(
          (reply) => socket.end(`${JSON.stringify(reply ?? { ok: true })}\n`),
          (err: unknown) => socket.end(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`),
        );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(controlSocketPath(dataDir), () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
