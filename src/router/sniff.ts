// What a client speaks, told from the first bytes it sends, and the PROXY protocol v2 header a load
// balancer puts in front of them. The router reads no more than it needs: a TLS record header, the Bolt
// magic, an HTTP method token, or the 12-byte PROXY v2 signature.
import { isIPv6 } from 'node:net';

export type Sniffed = 'tls' | 'bolt' | 'http' | 'proxy-v2' | 'unknown' | 'need-more';

const BOLT_MAGIC = Buffer.from([0x60, 0x60, 0xb0, 0x17]);
/** The PROXY protocol v2 signature (haproxy's proxy-protocol.txt §2.2). */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Longest HTTP method token taken for one (the registered ones are at most 17 letters). */
const MAX_METHOD = 20;

/** Whether `head` is a prefix of `expected` (more bytes needed) or starts with it (decided). */
function prefixState(head: Buffer, expected: Buffer): 'match' | 'prefix' | 'no' {
  const n = Math.min(head.length, expected.length);
  if (head.subarray(0, n).compare(expected.subarray(0, n)) !== 0) return 'no';
  return head.length >= expected.length ? 'match' : 'prefix';
}

function isTokenChar(b: number): boolean {
  // Methods are upper-case in practice (RFC 9110 tokens are case-sensitive; every registered one is upper-case).
  return (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x5f;
}

/**
 * Classifies the first bytes a client sends. `need-more` when they are a prefix of more than one
 * answer or too short to tell; never reads past the first few bytes, so any longer `head` gives the same
 * answer as its first 21 bytes.
 */
export function sniff(head: Buffer): Sniffed {
  if (head.length === 0) return 'need-more';
  const first = head[0]!;
  if (first === 0x16) {
    // A TLS record: content type 22 (handshake), legacy version 3.x, then length (2 bytes) and the
    // handshake type, 1 for ClientHello.
    if (head.length < 6) {
      if (head.length >= 2 && head[1] !== 0x03) return 'unknown';
      if (head.length >= 3 && head[2]! > 0x04) return 'unknown';
      return 'need-more';
    }
    return head[1] === 0x03 && head[2]! <= 0x04 && head[5] === 0x01 ? 'tls' : 'unknown';
  }
  if (first === BOLT_MAGIC[0]) {
    const s = prefixState(head, BOLT_MAGIC);
    return s === 'match' ? 'bolt' : s === 'prefix' ? 'need-more' : 'unknown';
  }
  if (first === PROXY_V2_SIGNATURE[0]) {
    const s = prefixState(head, PROXY_V2_SIGNATURE);
    return s === 'match' ? 'proxy-v2' : s === 'prefix' ? 'need-more' : 'unknown';
  }
  // An HTTP/1.x request line: a method token, then one space.
  for (let i = 0; i < head.length && i <= MAX_METHOD; i++) {
    const b = head[i]!;
    if (b === 0x20) {
      if (i === 0) return 'unknown';
      // PROXY protocol v1 ("PROXY TCP4 …") looks like a request line; it is not accepted.
      return head.subarray(0, i).toString('latin1') === 'PROXY' ? 'unknown' : 'http';
    }
    if (!isTokenChar(b)) return 'unknown';
  }
  return head.length > MAX_METHOD ? 'unknown' : 'need-more';
}

export interface ProxyAddress {
  address: string;
  port: number;
}

export interface ProxyV2Header {
  /** Bytes the header takes (signature to the end of its TLVs): the client's own bytes follow. */
  headerLength: number;
  /** `local`: the balancer's own connection (health checks); the addresses are those of the socket. */
  command: 'local' | 'proxy';
  family: 'inet' | 'inet6' | 'unix' | 'unspec';
  /** The client's address; null for LOCAL, UNSPEC and unix sockets. */
  source: ProxyAddress | null;
  destination: ProxyAddress | null;
}

/** Largest PROXY v2 header taken (addresses plus TLVs); a balancer sends a few hundred bytes at most. */
export const PROXY_V2_MAX_HEADER = 4096;

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The URL parser writes the canonical (RFC 5952) short form.
  const full = groups.join(':');
  const short = new URL(`http://[${full}]/`).hostname.slice(1, -1);
  return isIPv6(short) ? short : full;
}

/**
 * Parses a PROXY protocol v2 header at the start of `buf`. `need-more` while the header is incomplete,
 * an Error (not thrown) naming what is wrong when it is not a valid v2 header.
 */
export function parseProxyV2(buf: Buffer): ProxyV2Header | 'need-more' | Error {
  const sig = prefixState(buf, PROXY_V2_SIGNATURE);
  if (sig === 'no') return new Error('PROXY protocol v2: the signature does not match');
  if (buf.length < 16) return 'need-more';
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return new Error(`PROXY protocol v2: version ${verCmd >> 4} is not 2`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return new Error(`PROXY protocol v2: unknown command ${cmd}`);
  const famByte = buf[13]!;
  const fam = famByte >> 4;
  const transport = famByte & 0x0f;
  if (fam > 3) return new Error(`PROXY protocol v2: unknown address family ${fam}`);
  if (transport > 2) return new Error(`PROXY protocol v2: unknown transport ${transport}`);
  const len = buf.readUInt16BE(14);
  const headerLength = 16 + len;
  if (headerLength > PROXY_V2_MAX_HEADER) return new Error(`PROXY protocol v2: header of ${headerLength} bytes is above the limit of ${PROXY_V2_MAX_HEADER}`);
  const family = (['unspec', 'inet', 'inet6', 'unix'] as const)[fam]!;
  const need = family === 'inet' ? 12 : family === 'inet6' ? 36 : family === 'unix' ? 216 : 0;
  // Checked before waiting for the rest, so a short length is refused at once.
  if (cmd === 1 && len < need) return new Error(`PROXY protocol v2: ${len} address bytes are too few for family ${family} (${need} needed)`);
  if (buf.length < headerLength) return 'need-more';
  if (cmd === 0) return { headerLength, command: 'local', family, source: null, destination: null };
  if (transport === 2) return new Error('PROXY protocol v2: a datagram (UDP) connection cannot be forwarded');
  const a = buf.subarray(16, headerLength);
  if (family === 'inet') {
    return {
      headerLength,
      command: 'proxy',
      family,
      source: { address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port: a.readUInt16BE(8) },
      destination: { address: `${a[4]}.${a[5]}.${a[6]}.${a[7]}`, port: a.readUInt16BE(10) },
    };
  }
  if (family === 'inet6') {
    return {
      headerLength,
      command: 'proxy',
      family,
      source: { address: ipv6(a.subarray(0, 16)), port: a.readUInt16BE(32) },
      destination: { address: ipv6(a.subarray(16, 32)), port: a.readUInt16BE(34) },
    };
  }
  return { headerLength, command: 'proxy', family, source: null, destination: null };
}
