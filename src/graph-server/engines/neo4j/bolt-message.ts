// Byte-level editing of Bolt messages passed through to Neo4j: the one field we must change (a RUN's or
// BEGIN's `extra` map: access mode, database) is decoded and packed again; every other byte — the query
// and its parameters included — goes through exactly as the client sent it, so no value is ever re-encoded.
import { Unpacker } from '../../bolt/packstream.js';
import { ProtocolError } from '../../bolt/protocol-error.js';

/** Index just past the PackStream value starting at `at`. */
export function skipValue(buf: Buffer, at: number, depth = 0): number {
  if (depth > 200) throw new ProtocolError('PackStream value nested too deep');
  const need = (n: number) => {
    if (at + n > buf.length) throw new ProtocolError('truncated PackStream value');
  };
  need(1);
  const m = buf[at]!;
  const hi = m & 0xf0;
  const len = (size: number): [number, number] => {
    need(1 + size);
    const n = size === 1 ? buf[at + 1]! : size === 2 ? buf.readUInt16BE(at + 1) : buf.readUInt32BE(at + 1);
    return [n, at + 1 + size];
  };
  const items = (count: number, from: number, perItem: number): number => {
    let p = from;
    for (let i = 0; i < count * perItem; i++) p = skipValue(buf, p, depth + 1);
    return p;
  };
  if (m < 0x80 || m >= 0xf0) return at + 1; // tiny int
  if (hi === 0x80) {
    need(1 + (m & 0x0f));
    return at + 1 + (m & 0x0f);
  }
  if (hi === 0x90) return items(m & 0x0f, at + 1, 1);
  if (hi === 0xa0) return items(m & 0x0f, at + 1, 2);
  if (hi === 0xb0) {
    need(2);
    return items(m & 0x0f, at + 2, 1);
  }
  switch (m) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return at + 1;
    case 0xc1:
      need(9);
      return at + 9;
    case 0xc8:
      need(2);
      return at + 2;
    case 0xc9:
      need(3);
      return at + 3;
    case 0xca:
      need(5);
      return at + 5;
    case 0xcb:
      need(9);
      return at + 9;
    case 0xcc:
    case 0xd0: {
      const [n, p] = len(1);
      need(p - at + n);
      return p + n;
    }
    case 0xcd:
    case 0xd1: {
      const [n, p] = len(2);
      need(p - at + n);
      return p + n;
    }
    case 0xce:
    case 0xd2: {
      const [n, p] = len(4);
      need(p - at + n);
      return p + n;
    }
    case 0xd4:
      return items(len(1)[0], len(1)[1], 1);
    case 0xd5:
      return items(len(2)[0], len(2)[1], 1);
    case 0xd6:
      return items(len(4)[0], len(4)[1], 1);
    case 0xd8:
      return items(len(1)[0], len(1)[1], 2);
    case 0xd9:
      return items(len(2)[0], len(2)[1], 2);
    case 0xda:
      return items(len(4)[0], len(4)[1], 2);
    default:
      throw new ProtocolError(`unknown PackStream marker 0x${m.toString(16)}`);
  }
}

/** The signature of a message (a structure's tag), without decoding it. */
export function signatureOf(message: Buffer): number {
  if (message.length < 2 || (message[0]! & 0xf0) !== 0xb0) throw new ProtocolError('a Bolt message is a structure');
  return message[1]!;
}

/** PackStream bytes of a string. */
export function packString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const n = bytes.length;
  const head =
    n < 16 ? Buffer.from([0x80 | n]) : n < 0x100 ? Buffer.from([0xd0, n]) : n < 0x10000 ? Buffer.from([0xd1, n >> 8, n & 0xff]) : Buffer.from([0xd2, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, bytes]);
}

function mapHeader(count: number): Buffer {
  if (count < 16) return Buffer.from([0xa0 | count]);
  if (count < 0x100) return Buffer.from([0xd8, count]);
  if (count < 0x10000) return Buffer.from([0xd9, count >> 8, count & 0xff]);
  return Buffer.from([0xda, (count >>> 24) & 0xff, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff]);
}

/** Entries of the map at `at`: each key's text and the raw bytes of key + value; and the index past the map. */
function mapEntries(buf: Buffer, at: number): { entries: { key: string; raw: Buffer }[]; end: number } {
  const m = buf[at];
  let count: number;
  let p: number;
  if (m !== undefined && (m & 0xf0) === 0xa0) [count, p] = [m & 0x0f, at + 1];
  else if (m === 0xd8 && at + 2 <= buf.length) [count, p] = [buf[at + 1]!, at + 2];
  else if (m === 0xd9 && at + 3 <= buf.length) [count, p] = [buf.readUInt16BE(at + 1), at + 3];
  else if (m === 0xda && at + 5 <= buf.length) [count, p] = [buf.readUInt32BE(at + 1), at + 5];
  else throw new ProtocolError('expected a map');
  const entries: { key: string; raw: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const keyEnd = skipValue(buf, p);
    const key = new Unpacker(buf.subarray(p, keyEnd), { structs: 'raw' }).unpack();
    if (typeof key !== 'string') throw new ProtocolError('map keys must be strings');
    const valueEnd = skipValue(buf, keyEnd);
    entries.push({ key, raw: buf.subarray(p, valueEnd) });
    p = valueEnd;
  }
  return { entries, end: p };
}

/** The string value of `key` in the map field `index` of a message, if it is a string. */
export function mapFieldString(message: Buffer, index: number, key: string): string | undefined {
  const count = message[0]! & 0x0f;
  if (index >= count) return undefined;
  let start = 2;
  for (let i = 0; i < index; i++) start = skipValue(message, start);
  const entry = mapEntries(message, start).entries.find((e) => e.key === key);
  if (!entry) return undefined;
  const value = new Unpacker(entry.raw, { structs: 'raw' });
  value.unpack(); // the key
  const v = value.unpack();
  return typeof v === 'string' ? v : undefined;
}

/**
 * The message with entries of its map field `index` set (a PackStream value's bytes) or removed (null).
 * Every other entry, field and byte is kept as sent. A missing trailing field counts as an empty map.
 */
export function editMapField(message: Buffer, index: number, edits: Record<string, Buffer | null>): Buffer {
  const count = message[0]! & 0x0f;
  if (index > count) throw new ProtocolError('the message has too few fields');
  let start = 2;
  for (let i = 0; i < index; i++) start = skipValue(message, start);
  const { entries, end } = index < count ? mapEntries(message, start) : { entries: [], end: start };
  const kept = entries.filter((e) => !(e.key in edits)).map((e) => e.raw);
  for (const [key, value] of Object.entries(edits)) if (value) kept.push(Buffer.concat([packString(key), value]));
  const header = Buffer.from([0xb0 | Math.max(count, index + 1), message[1]!]);
  return Buffer.concat([header, message.subarray(2, start), mapHeader(kept.length), ...kept, message.subarray(end)]);
}
