// The runtime's view of a graph-server's admin channel (a unix socket next to the node's data):
// health, counts and online backup of a running node without going through Bolt. An interface so
// tests can run stand-in processes without one, and other packagings can route it differently.
import { adminRequest } from '../../graph-server/admin.js';

export type AdminOp =
  | { op: 'health' }
  | { op: 'counts' }
  | { op: 'checkpoint' }
  | { op: 'backup'; dir: string };

export interface AdminChannel {
  /** False when the node's process has no admin channel (health then relies on the Bolt port alone). */
  readonly available: boolean;
  request(dataDir: string, request: AdminOp, timeoutMs: number): Promise<unknown>;
}

export const graphServerAdminChannel: AdminChannel = {
  available: true,
  request: (dataDir, request, timeoutMs) => adminRequest(dataDir, request, { timeoutMs }),
};

export const noAdminChannel: AdminChannel = {
  available: false,
  request: () => Promise.reject(new Error('this node has no admin channel')),
};
