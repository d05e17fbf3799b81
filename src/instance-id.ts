// This control plane's name among those sharing a store: host, pid and a random part (a pid is reused).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export const instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
