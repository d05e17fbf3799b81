// PROXY protocol v2 (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt), read only from load
// balancers listed in ALLOTROPE_TRUSTED_PROXIES: the client's real address for network rules.
const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export type ProxyHeader =
  | { kind: 'need-more' }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  /** `address` null: a LOCAL command or an unspecified family (the proxy's own connection, e.g. a health check). */
  | { kind: 'header'; length: number; address: string | null };

export function readProxyHeader(buf: Buffer): ProxyHeader {
  const n = Math.min(buf.length, SIGNATURE.length);
  if (!buf.subarray(0, n).equals(SIGNATURE.subarray(0, n))) return { kind: 'none' };
  if (buf.length < 16) return { kind: 'need-more' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'PROXY protocol version is not 2' };
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: 'need-more' };
  const command = verCmd & 0x0f;
  if (command === 0) return { kind: 'header', length, address: null };
  if (command !== 1) return { kind: 'invalid', reason: 'unknown PROXY command' };
  const family = buf[13]! >> 4;
  if (family === 1 && length >= 16 + 12) return { kind: 'header', length, address: [...buf.subarray(16, 20)].join('.') };
  if (family === 2 && length >= 16 + 36) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(16 + i * 2).toString(16));
    return { kind: 'header', length, address: words.join(':') };
  }
  return { kind: 'header', length, address: null };
}

/** A PROXY v2 header for `address` (tests and the benchmark play the load balancer with it). */
export function proxyHeaderV4(source: string, sourcePort: number, dest = '127.0.0.1', destPort = 0): Buffer {
  const body = Buffer.alloc(12);
  Buffer.from(source.split('.').map(Number)).copy(body, 0);
  Buffer.from(dest.split('.').map(Number)).copy(body, 4);
  body.writeUInt16BE(sourcePort, 8);
  body.writeUInt16BE(destPort, 10);
  const head = Buffer.alloc(16);
  SIGNATURE.copy(head);
  head[12] = 0x21;
  head[13] = 0x11;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}
