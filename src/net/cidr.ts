// IP addresses and CIDR ranges, IPv4 and IPv6, as bytes: used by the SSRF guard of URL imports and by
// environment network rules (IP allowlists).
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The network address: host bits are cleared. */
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

export class CidrError extends Error {
  override readonly name = 'CidrError';
}

/** Parses an IPv4 or IPv6 address (brackets and an IPv6 zone id are accepted and dropped); null if invalid. */
export function parseIp(input: string): IpAddress | null {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1 && s.includes(':')) s = s.slice(0, zone);
  if (isIPv4(s)) return { family: 4, bytes: parseV4(s) };
  if (isIPv6(s)) return { family: 6, bytes: parseV6(s) };
  return null;
}

function parseV4(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map((part) => Number(part)));
}

// Only called on strings that node:net already accepted as IPv6.
function parseV6(s: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let head = s;
  let tail = '';
  const gap = s.indexOf('::');
  if (gap !== -1) {
    head = s.slice(0, gap);
    tail = s.slice(gap + 2);
  }
  const toWords = (part: string): number[] => {
    if (part === '') return [];
    const words: number[] = [];
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const v4 = parseV4(group);
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        words.push(parseInt(group, 16));
      }
    }
    return words;
  };
  const headWords = toWords(head);
  const tailWords = toWords(tail);
  const words = [...headWords, ...new Array<number>(8 - headWords.length - tailWords.length).fill(0), ...tailWords];
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/**
 * Parses `a.b.c.d/n` or `v6/n`; a bare address means a single host (/32 or /128). Host bits set in the
 * address are cleared (`10.1.2.3/8` is `10.0.0.0/8`), as most tools do. Throws CidrError when invalid.
 */
export function parseCidr(input: string): Cidr {
  const s = input.trim();
  const slash = s.indexOf('/');
  const addressPart = slash === -1 ? s : s.slice(0, slash);
  const ip = addressPart.includes('%') ? null : parseIp(addressPart);
  if (!ip || addressPart.startsWith('[')) {
    throw new CidrError(`'${input}' is not a valid IP range: expected an IPv4 or IPv6 address with an optional /prefix`);
  }
  const maxPrefix = ip.family === 4 ? 32 : 128;
  let prefixLength = maxPrefix;
  if (slash !== -1) {
    const prefixPart = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > maxPrefix) {
      throw new CidrError(`'${input}' is not a valid IP range: the prefix length must be 0 to ${maxPrefix}`);
    }
    prefixLength = Number(prefixPart);
  }
  return { family: ip.family, bytes: maskBytes(ip.bytes, prefixLength), prefixLength };
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** `::ffff:a.b.c.d` → `a.b.c.d`; anything else unchanged. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 6 && isIpv4Mapped(ip.bytes)) return { family: 4, bytes: ip.bytes.slice(12) };
  return ip;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * True when `ip` lies in `cidr`. An IPv4-mapped IPv6 address (what a dual-stack socket reports for an
 * IPv4 client) matches IPv4 ranges, and an IPv4 address matches IPv6 ranges through its mapped form.
 * An unparseable address matches nothing.
 */
export function cidrContains(cidr: Cidr | string, ip: IpAddress | string): boolean {
  const range = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!parsed) return false;
  let bytes = parsed.bytes;
  if (range.family === 4 && parsed.family === 6) {
    if (!isIpv4Mapped(parsed.bytes)) return false;
    bytes = parsed.bytes.slice(12);
  } else if (range.family === 6 && parsed.family === 4) {
    bytes = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...parsed.bytes]);
  }
  const masked = maskBytes(bytes, range.prefixLength);
  return masked.every((b, i) => b === range.bytes[i]);
}

/** Canonical text: `10.0.0.0/8`, `fd00::/8` (RFC 5952 compressed IPv6). */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, bytes: cidr.bytes })}/${cidr.prefixLength}`;
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  // Compress the longest run of two or more zero words (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
