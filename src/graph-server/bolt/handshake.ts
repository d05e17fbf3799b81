// Bolt version negotiation (https://neo4j.com/docs/bolt/current/bolt/handshake/): the client sends
// the magic and four proposals; like Neo4j we answer the highest version we support inside the
// first proposal that matches anything. Manifest v1 (`00 00 01 FF`) lets us list our versions instead.
import { ProtocolError } from './protocol-error.js';

export const BOLT_MAGIC = Buffer.from([0x60, 0x60, 0xb0, 0x17]);
export const HANDSHAKE_BYTES = 20;

export interface BoltVersion {
  major: number;
  minor: number;
}

/** Newest first. 5.5 was never released by Neo4j and must not be negotiated. */
export const SUPPORTED_VERSIONS: readonly BoltVersion[] = [
  { major: 5, minor: 8 },
  { major: 5, minor: 7 },
  { major: 5, minor: 6 },
  { major: 5, minor: 4 },
  { major: 5, minor: 3 },
  { major: 5, minor: 2 },
  { major: 5, minor: 1 },
  { major: 5, minor: 0 },
  { major: 4, minor: 4 },
];

const MANIFEST_MAJOR = 0xff;
const MANIFEST_V1 = 1;

export type Negotiation = { kind: 'version'; version: BoltVersion } | { kind: 'manifest' } | { kind: 'none' };

export function isSupported(v: BoltVersion): boolean {
  return SUPPORTED_VERSIONS.some((s) => s.major === v.major && s.minor === v.minor);
}

/** Picks a version from the 16 proposal bytes that follow the magic. */
export function negotiate(proposals: Buffer, { manifest = true, versions = SUPPORTED_VERSIONS }: { manifest?: boolean; versions?: readonly BoltVersion[] } = {}): Negotiation {
  for (let i = 0; i < 4; i++) {
    const range = proposals[i * 4 + 1] as number;
    const minor = proposals[i * 4 + 2] as number;
    const major = proposals[i * 4 + 3] as number;
    if (major === 0 && minor === 0) continue;
    if (major === MANIFEST_MAJOR) {
      if (manifest && minor === MANIFEST_V1) return { kind: 'manifest' };
      continue;
    }
    const best = versions.find((s) => s.major === major && s.minor <= minor && s.minor >= minor - range);
    if (best) return { kind: 'version', version: best };
  }
  return { kind: 'none' };
}

export function versionBytes(v: BoltVersion | null): Buffer {
  return v ? Buffer.from([0, 0, v.minor, v.major]) : Buffer.alloc(4);
}

export function encodeVarInt(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Reads a VarInt at `offset`: [value, bytesUsed], or null when more bytes are needed. */
export function decodeVarInt(buf: Buffer, offset: number): [number, number] | null {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (offset + i >= buf.length) return null;
    const b = buf[offset + i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new ProtocolError('handshake VarInt longer than 10 bytes');
}

/** Server's Manifest v1 offer: our versions as consecutive ranges per major, and no capabilities. */
export function manifestOffer(): Buffer {
  const ranges: Buffer[] = [];
  let i = 0;
  while (i < SUPPORTED_VERSIONS.length) {
    const top = SUPPORTED_VERSIONS[i] as BoltVersion;
    let j = i;
    while (
      j + 1 < SUPPORTED_VERSIONS.length &&
      SUPPORTED_VERSIONS[j + 1]?.major === top.major &&
      SUPPORTED_VERSIONS[j + 1]?.minor === (SUPPORTED_VERSIONS[j] as BoltVersion).minor - 1
    ) {
      j++;
    }
    ranges.push(Buffer.from([0, j - i, top.minor, top.major]));
    i = j + 1;
  }
  return Buffer.concat([Buffer.from([0, 0, MANIFEST_V1, MANIFEST_MAJOR]), encodeVarInt(ranges.length), ...ranges, encodeVarInt(0)]);
}

/**
 * Parses the client's Manifest v1 answer (version word + VarInt capabilities) from the start of `buf`.
 * Returns null while incomplete; throws ProtocolError on a version or capability we did not offer.
 */
export function parseManifestChoice(buf: Buffer): { version: BoltVersion; used: number } | null {
  if (buf.length < 5) return null;
  const caps = decodeVarInt(buf, 4);
  if (!caps) return null;
  const version = { major: buf[3] as number, minor: buf[2] as number };
  if (buf[0] !== 0 || buf[1] !== 0 || !isSupported(version)) {
    throw new ProtocolError(`client chose a version we did not offer: ${buf.subarray(0, 4).toString('hex')}`);
  }
  if (caps[0] !== 0) throw new ProtocolError('client asked for capabilities we did not offer');
  return { version, used: 4 + caps[1] };
}
