// Listening on, and closing, a graph-server's Bolt and HTTP ports (both engines' servers use these).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BoltServer } from './bolt/server.js';

export function listen(server: Server | BoltServer, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : (err.code ?? err.message)}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server | BoltServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}
