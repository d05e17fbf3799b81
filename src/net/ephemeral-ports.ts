// The kernel hands ports of its ephemeral range to outgoing connections. A database port inside it can be
// held by any client socket of the machine at the moment the database starts, which then fails with
// "port is in use"; so the configured range should lie outside it (Linux default 32768-60999).
import { readFileSync } from 'node:fs';

export interface PortRange {
  first: number;
  last: number;
}

const LINUX_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** The ephemeral port range of this machine, or null where it cannot be read (not Linux). */
export function ephemeralPortRange(read: () => string = () => readFileSync(LINUX_RANGE_FILE, 'utf8')): PortRange | null {
  let text: string;
  try {
    text = read();
  } catch {
    return null;
  }
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!match) return null;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return first <= last ? { first, last } : null;
}

/** The part of `ports` inside `ephemeral`, or null when they do not overlap. */
export function overlap(ports: PortRange, ephemeral: PortRange | null): PortRange | null {
  if (!ephemeral) return null;
  const first = Math.max(ports.first, ephemeral.first);
  const last = Math.min(ports.last, ephemeral.last);
  return first <= last ? { first, last } : null;
}
