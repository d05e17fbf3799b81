// PackStream v1 (https://neo4j.com/docs/bolt/current/packstream/) over the shared Value model:
// an encoder that always picks the smallest marker, and a bounds-checked decoder that turns any
// malformed input into a ProtocolError. Graph and temporal structures depend on the negotiated
// Bolt version, so both directions take a StructFormat.
import {
  CypherDate,
  CypherDateTime,
  CypherDuration,
  CypherLocalDateTime,
  CypherLocalTime,
  CypherPoint,
  CypherTime,
  Node,
  Path,
  Relationship,
  type Value,
  type ValueMap,
} from '../values.js';
import { ProtocolError } from './protocol-error.js';

export interface StructFormat {
  /** Bolt 5.x graph shapes (with element ids); false = Bolt 4.4 shapes. */
  elementIds: boolean;
  /** DateTime as UTC `I`/`i` (5.x, or 4.4 with the `utc` patch); false = legacy local-seconds `F`/`f`. */
  utcDateTime: boolean;
}

export const BOLT5_FORMAT: StructFormat = { elementIds: true, utcDateTime: true };

export const TAG = {
  node: 0x4e,
  relationship: 0x52,
  unboundRelationship: 0x72,
  path: 0x50,
  date: 0x44,
  time: 0x54,
  localTime: 0x74,
  dateTime: 0x49,
  dateTimeZoneId: 0x69,
  legacyDateTime: 0x46,
  legacyDateTimeZoneId: 0x66,
  localDateTime: 0x64,
  duration: 0x45,
  point2d: 0x58,
  point3d: 0x59,
} as const;

/** A structure not mapped to a Value class: Bolt messages themselves, or any struct when decoding raw. */
export class Structure {
  constructor(
    readonly tag: number,
    readonly fields: Unpacked[],
  ) {}
}

/** What the decoder yields: Values, or Structures in raw mode / for messages. */
export type Unpacked = Value | Structure | Unpacked[] | { [key: string]: Unpacked };

const INT8_MIN = -128n;
const INT16_MIN = -32768n;
const INT16_MAX = 32767n;
const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
// PackStream caps every size at 2^31-1 even where the marker allows u32.
const MAX_SIZE = 0x7fffffff;

export class Packer {
  private buf: Buffer;
  private pos = 0;

  constructor(
    private readonly format: StructFormat,
    initialSize = 256,
  ) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view: copy it before reusing the packer). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Drops everything written after `length` (to undo a value that failed to encode). */
  truncate(length: number): void {
    this.pos = Math.min(this.pos, length);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private markerU8(marker: number, n: number): void {
    this.ensure(2);
    this.buf[this.pos++] = marker;
    this.buf[this.pos++] = n;
  }

  private markerU16(marker: number, n: number): void {
    this.ensure(3);
    this.buf[this.pos++] = marker;
    this.buf.writeUInt16BE(n, this.pos);
    this.pos += 2;
  }

  private markerU32(marker: number, n: number): void {
    this.ensure(5);
    this.buf[this.pos++] = marker;
    this.buf.writeUInt32BE(n, this.pos);
    this.pos += 4;
  }

  private sized(n: number, tiny: number | null, m8: number, m16: number, m32: number): void {
    if (n > MAX_SIZE) throw new RangeError(`PackStream size ${n} exceeds 2^31-1`);
    if (tiny !== null && n < 16) this.u8(tiny + n);
    else if (n < 0x100) this.markerU8(m8, n);
    else if (n < 0x10000) this.markerU16(m16, n);
    else this.markerU32(m32, n);
  }

  packNull(): void {
    this.u8(0xc0);
  }

  packBoolean(b: boolean): void {
    this.u8(b ? 0xc3 : 0xc2);
  }

  packInteger(i: bigint): void {
    if (i >= -16n && i <= 127n) {
      this.u8(Number(i) & 0xff);
    } else if (i >= INT8_MIN && i < -16n) {
      this.markerU8(0xc8, Number(i) & 0xff);
    } else if (i >= INT16_MIN && i <= INT16_MAX) {
      this.ensure(3);
      this.buf[this.pos++] = 0xc9;
      this.buf.writeInt16BE(Number(i), this.pos);
      this.pos += 2;
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      this.ensure(5);
      this.buf[this.pos++] = 0xca;
      this.buf.writeInt32BE(Number(i), this.pos);
      this.pos += 4;
    } else if (i >= INT64_MIN && i <= INT64_MAX) {
      this.ensure(9);
      this.buf[this.pos++] = 0xcb;
      this.buf.writeBigInt64BE(i, this.pos);
      this.pos += 8;
    } else {
      throw new RangeError(`integer ${i} does not fit in 64 bits`);
    }
  }

  packFloat(f: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xc1;
    this.buf.writeDoubleBE(f, this.pos);
    this.pos += 8;
  }

  packString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.sized(len, 0x80, 0xd0, 0xd1, 0xd2);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  packBytes(b: Uint8Array): void {
    this.sized(b.length, null, 0xcc, 0xcd, 0xce);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  listHeader(n: number): void {
    this.sized(n, 0x90, 0xd4, 0xd5, 0xd6);
  }

  mapHeader(n: number): void {
    this.sized(n, 0xa0, 0xd8, 0xd9, 0xda);
  }

  structHeader(fieldCount: number, tag: number): void {
    if (fieldCount > 15) throw new RangeError('a structure has at most 15 fields');
    this.markerU8(0xb0 + fieldCount, tag);
  }

  packMap(m: { [key: string]: Value | Structure | undefined }): void {
    const keys = Object.keys(m).filter((k) => m[k] !== undefined);
    this.mapHeader(keys.length);
    for (const k of keys) {
      this.packString(k);
      this.pack(m[k]);
    }
  }

  pack(v: Value | Structure | undefined): void {
    if (v === null || v === undefined) return this.packNull();
    switch (typeof v) {
      case 'boolean':
        return this.packBoolean(v);
      case 'bigint':
        return this.packInteger(v);
      case 'number':
        return this.packFloat(v);
      case 'string':
        return this.packString(v);
    }
    if (v instanceof Uint8Array) return this.packBytes(v);
    if (Array.isArray(v)) {
      this.listHeader(v.length);
      for (const item of v) this.pack(item);
      return;
    }
    if (v instanceof Structure) {
      this.structHeader(v.fields.length, v.tag);
      for (const f of v.fields) this.pack(f as Value);
      return;
    }
    if (v instanceof Node) return this.packNode(v);
    if (v instanceof Relationship) return this.packRelationship(v);
    if (v instanceof Path) return this.packPath(v);
    if (v instanceof CypherDate) {
      this.structHeader(1, TAG.date);
      return this.packInteger(v.days);
    }
    if (v instanceof CypherTime) {
      this.structHeader(2, TAG.time);
      this.packInteger(v.nanoseconds);
      return this.packInteger(v.offsetSeconds);
    }
    if (v instanceof CypherLocalTime) {
      this.structHeader(1, TAG.localTime);
      return this.packInteger(v.nanoseconds);
    }
    if (v instanceof CypherDateTime) return this.packDateTime(v);
    if (v instanceof CypherLocalDateTime) {
      this.structHeader(2, TAG.localDateTime);
      this.packInteger(v.seconds);
      return this.packInteger(v.nanoseconds);
    }
    if (v instanceof CypherDuration) {
      this.structHeader(4, TAG.duration);
      this.packInteger(v.months);
      this.packInteger(v.days);
      this.packInteger(v.seconds);
      return this.packInteger(v.nanoseconds);
    }
    if (v instanceof CypherPoint) {
      const is3d = v.z !== null;
      this.structHeader(is3d ? 4 : 3, is3d ? TAG.point3d : TAG.point2d);
      this.packInteger(v.srid);
      this.packFloat(v.x);
      this.packFloat(v.y);
      if (is3d) this.packFloat(v.z as number);
      return;
    }
    if (typeof v === 'object') return this.packMap(v as ValueMap);
    throw new TypeError(`cannot encode a ${typeof v} in PackStream`);
  }

  private packNode(n: Node): void {
    this.structHeader(this.format.elementIds ? 4 : 3, TAG.node);
    this.packInteger(n.id);
    this.listHeader(n.labels.length);
    for (const l of n.labels) this.packString(l);
    this.packMap(n.properties);
    if (this.format.elementIds) this.packString(n.elementId);
  }

  private packRelationship(r: Relationship): void {
    this.structHeader(this.format.elementIds ? 8 : 5, TAG.relationship);
    this.packInteger(r.id);
    this.packInteger(r.startId);
    this.packInteger(r.endId);
    this.packString(r.type);
    this.packMap(r.properties);
    if (this.format.elementIds) {
      this.packString(r.elementId);
      this.packString(r.startElementId);
      this.packString(r.endElementId);
    }
  }

  private packUnboundRelationship(r: Relationship): void {
    this.structHeader(this.format.elementIds ? 4 : 3, TAG.unboundRelationship);
    this.packInteger(r.id);
    this.packString(r.type);
    this.packMap(r.properties);
    if (this.format.elementIds) this.packString(r.elementId);
  }

  // Bolt sends a path as distinct nodes, distinct unbound relationships and an index sequence
  // (rel, node)*: rel indices are 1-based and negative when walked against the relationship's direction.
  private packPath(p: Path): void {
    if (p.nodes.length !== p.rels.length + 1) {
      throw new RangeError(`a path with ${p.rels.length} relationships needs ${p.rels.length + 1} nodes`);
    }
    const nodeIndex = new Map<bigint, number>();
    const nodes: Node[] = [];
    for (const n of p.nodes) {
      if (!nodeIndex.has(n.id)) {
        nodeIndex.set(n.id, nodes.length);
        nodes.push(n);
      }
    }
    const relIndex = new Map<bigint, number>();
    const rels: Relationship[] = [];
    const indices: bigint[] = [];
    p.rels.forEach((r, i) => {
      let idx = relIndex.get(r.id);
      if (idx === undefined) {
        idx = rels.length;
        relIndex.set(r.id, idx);
        rels.push(r);
      }
      const from = p.nodes[i] as Node;
      const to = p.nodes[i + 1] as Node;
      const forward = r.startId === from.id && r.endId === to.id;
      indices.push(BigInt(forward ? idx + 1 : -(idx + 1)), BigInt(nodeIndex.get(to.id) as number));
    });
    this.structHeader(3, TAG.path);
    this.listHeader(nodes.length);
    for (const n of nodes) this.packNode(n);
    this.listHeader(rels.length);
    for (const r of rels) this.packUnboundRelationship(r);
    this.listHeader(indices.length);
    for (const i of indices) this.packInteger(i);
  }

  private packDateTime(d: CypherDateTime): void {
    const utc = this.format.utcDateTime;
    if (d.zoneId !== null) {
      this.structHeader(3, utc ? TAG.dateTimeZoneId : TAG.legacyDateTimeZoneId);
      this.packInteger(utc ? d.seconds : d.seconds + BigInt(zoneOffsetSeconds(d.zoneId, d.seconds) ?? 0));
      this.packInteger(d.nanoseconds);
      this.packString(d.zoneId);
    } else {
      const offset = d.offsetSeconds ?? 0n;
      this.structHeader(3, utc ? TAG.dateTime : TAG.legacyDateTime);
      this.packInteger(utc ? d.seconds : d.seconds + offset);
      this.packInteger(d.nanoseconds);
      this.packInteger(offset);
    }
  }
}

/** Encodes one value on its own (convenience for tests and small metadata). */
export function packValue(v: Value | Structure, format: StructFormat = BOLT5_FORMAT): Buffer {
  const p = new Packer(format);
  p.pack(v);
  return Buffer.from(p.bytes());
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset of an IANA zone at an instant, or null when the zone or instant is unusable. */
export function zoneOffsetSeconds(zone: string, epochSeconds: bigint): number | null {
  const ms = Number(epochSeconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  let fmt = zoneFormatters.get(zone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      return null;
    }
    if (zoneFormatters.size > 1000) zoneFormatters.clear();
    zoneFormatters.set(zone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(new Date(ms))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const local = new Date(0);
  local.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
  local.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
  return Math.round((local.getTime() - (ms - (((ms % 1000) + 1000) % 1000))) / 1000);
}

export interface UnpackOptions {
  /** Map temporal/spatial structs to Value classes ('values'), also graph structs ('graph'), or keep every struct raw. */
  structs: 'values' | 'graph' | 'raw';
}

// Deep nesting is never legitimate in parameters; bounding it keeps garbage from exhausting the stack.
const MAX_DEPTH = 200;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Unpacker {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly options: UnpackOptions = { structs: 'values' },
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolError('truncated PackStream value');
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    if (v > MAX_SIZE) throw new ProtocolError(`PackStream size ${v} exceeds 2^31-1`);
    return v;
  }

  /** Reads a struct header (marker + tag) and returns [fieldCount, tag]. */
  structHeader(): [number, number] {
    const m = this.u8();
    let size: number;
    if (m >= 0xb0 && m <= 0xbf) size = m - 0xb0;
    else if (m === 0xdc) size = this.u8();
    else if (m === 0xdd) size = this.u16();
    else throw new ProtocolError(`expected a structure, got marker 0x${m.toString(16)}`);
    return [size, this.u8()];
  }

  unpack(depth = 0): Unpacked {
    if (depth > MAX_DEPTH) throw new ProtocolError('PackStream value nested too deeply');
    const m = this.u8();
    if (m <= 0x7f) return BigInt(m);
    if (m >= 0xf0) return BigInt(m - 0x100);
    const hi = m & 0xf0;
    if (hi === 0x80) return this.string(m & 0x0f);
    if (hi === 0x90) return this.list(m & 0x0f, depth);
    if (hi === 0xa0) return this.map(m & 0x0f, depth);
    if (hi === 0xb0) return this.struct(m & 0x0f, depth);
    switch (m) {
      case 0xc0:
        return null;
      case 0xc1: {
        this.need(8);
        const f = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return f;
      }
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc8: {
        this.need(1);
        return BigInt(this.buf.readInt8(this.pos++));
      }
      case 0xc9: {
        this.need(2);
        const v = this.buf.readInt16BE(this.pos);
        this.pos += 2;
        return BigInt(v);
      }
      case 0xca: {
        this.need(4);
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return BigInt(v);
      }
      case 0xcb: {
        this.need(8);
        const v = this.buf.readBigInt64BE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.bytes(this.u8());
      case 0xcd:
        return this.bytes(this.u16());
      case 0xce:
        return this.bytes(this.u32());
      case 0xd0:
        return this.string(this.u8());
      case 0xd1:
        return this.string(this.u16());
      case 0xd2:
        return this.string(this.u32());
      case 0xd4:
        return this.list(this.u8(), depth);
      case 0xd5:
        return this.list(this.u16(), depth);
      case 0xd6:
        return this.list(this.u32(), depth);
      case 0xd8:
        return this.map(this.u8(), depth);
      case 0xd9:
        return this.map(this.u16(), depth);
      case 0xda:
        return this.map(this.u32(), depth);
      case 0xdc:
        return this.struct(this.u8(), depth);
      case 0xdd:
        return this.struct(this.u16(), depth);
    }
    throw new ProtocolError(`unknown PackStream marker 0x${m.toString(16)}`);
  }

  private bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  private string(n: number): string {
    this.need(n);
    let s: string;
    try {
      s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      throw new ProtocolError('string is not valid UTF-8');
    }
    this.pos += n;
    return s;
  }

  private list(n: number, depth: number): Unpacked[] {
    // Every item takes at least one byte: refuse sizes the input cannot hold before allocating.
    this.need(n);
    const out: Unpacked[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.unpack(depth + 1);
    return out;
  }

  private map(n: number, depth: number): { [key: string]: Unpacked } {
    this.need(n * 2);
    const out: { [key: string]: Unpacked } = {};
    for (let i = 0; i < n; i++) {
      const key = this.unpack(depth + 1);
      if (typeof key !== 'string') throw new ProtocolError('dictionary keys must be strings');
      const value = this.unpack(depth + 1);
      // A key "__proto__" must become a property, not replace the prototype.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = value;
      }
    }
    return out;
  }

  private struct(n: number, depth: number): Unpacked {
    this.need(1 + n);
    const tag = this.u8();
    const fields: Unpacked[] = new Array(n);
    for (let i = 0; i < n; i++) fields[i] = this.unpack(depth + 1);
    if (this.options.structs === 'raw') return new Structure(tag, fields);
    return hydrate(tag, fields, this.options.structs === 'graph');
  }
}

function int(v: Unpacked, what: string): bigint {
  if (typeof v !== 'bigint') throw new ProtocolError(`${what} must be an Integer`);
  return v;
}

function float(v: Unpacked, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new ProtocolError(`${what} must be a Float`);
}

function str(v: Unpacked, what: string): string {
  if (typeof v !== 'string') throw new ProtocolError(`${what} must be a String`);
  return v;
}

function dict(v: Unpacked, what: string): ValueMap {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || v instanceof Structure) {
    throw new ProtocolError(`${what} must be a Dictionary`);
  }
  return v as ValueMap;
}

function arity(tag: number, fields: Unpacked[], n: number): void {
  if (fields.length !== n) {
    throw new ProtocolError(`structure 0x${tag.toString(16)} needs ${n} fields, got ${fields.length}`);
  }
}

function hydrate(tag: number, f: Unpacked[], graph: boolean): Value {
  switch (tag) {
    case TAG.date:
      arity(tag, f, 1);
      return new CypherDate(int(f[0], 'days'));
    case TAG.time:
      arity(tag, f, 2);
      return new CypherTime(int(f[0], 'nanoseconds'), int(f[1], 'tz_offset_seconds'));
    case TAG.localTime:
      arity(tag, f, 1);
      return new CypherLocalTime(int(f[0], 'nanoseconds'));
    case TAG.dateTime:
      arity(tag, f, 3);
      return new CypherDateTime(int(f[0], 'seconds'), int(f[1], 'nanoseconds'), int(f[2], 'tz_offset_seconds'), null);
    case TAG.dateTimeZoneId:
      arity(tag, f, 3);
      return new CypherDateTime(int(f[0], 'seconds'), int(f[1], 'nanoseconds'), null, str(f[2], 'tz_id'));
    case TAG.legacyDateTime: {
      arity(tag, f, 3);
      const offset = int(f[2], 'tz_offset_seconds');
      return new CypherDateTime(int(f[0], 'seconds') - offset, int(f[1], 'nanoseconds'), offset, null);
    }
    case TAG.legacyDateTimeZoneId: {
      arity(tag, f, 3);
      const local = int(f[0], 'seconds');
      const zone = str(f[2], 'tz_id');
      // Local seconds → UTC: guess with the offset at the local reading, then correct once.
      const first = zoneOffsetSeconds(zone, local);
      if (first === null) throw new ProtocolError(`unknown time zone '${zone}'`);
      const second = zoneOffsetSeconds(zone, local - BigInt(first)) ?? first;
      return new CypherDateTime(local - BigInt(second), int(f[1], 'nanoseconds'), null, zone);
    }
    case TAG.localDateTime:
      arity(tag, f, 2);
      return new CypherLocalDateTime(int(f[0], 'seconds'), int(f[1], 'nanoseconds'));
    case TAG.duration:
      arity(tag, f, 4);
      return new CypherDuration(int(f[0], 'months'), int(f[1], 'days'), int(f[2], 'seconds'), int(f[3], 'nanoseconds'));
    case TAG.point2d:
      arity(tag, f, 3);
      return new CypherPoint(int(f[0], 'srid'), float(f[1], 'x'), float(f[2], 'y'));
    case TAG.point3d:
      arity(tag, f, 4);
      return new CypherPoint(int(f[0], 'srid'), float(f[1], 'x'), float(f[2], 'y'), float(f[3], 'z'));
  }
  if (graph) return hydrateGraph(tag, f);
  throw new ProtocolError(`structure 0x${tag.toString(16)} is not accepted here`);
}

function labels(v: Unpacked): string[] {
  if (!Array.isArray(v)) throw new ProtocolError('labels must be a List');
  return v.map((l) => str(l, 'label'));
}

// Only the 5.x shapes: graph structures never arrive from clients, this serves tests and tools.
function hydrateGraph(tag: number, f: Unpacked[]): Value {
  switch (tag) {
    case TAG.node:
      arity(tag, f, 4);
      return new Node(int(f[0], 'id'), labels(f[1]), dict(f[2], 'properties'), str(f[3], 'element_id'));
    case TAG.relationship:
      arity(tag, f, 8);
      return new Relationship(
        int(f[0], 'id'),
        int(f[1], 'start'),
        int(f[2], 'end'),
        str(f[3], 'type'),
        dict(f[4], 'properties'),
        str(f[5], 'element_id'),
        str(f[6], 'start_element_id'),
        str(f[7], 'end_element_id'),
      );
  }
  throw new ProtocolError(`structure 0x${tag.toString(16)} is not accepted here`);
}

/** Decodes exactly one value that must fill the whole buffer. */
export function unpackValue(buf: Buffer, options?: UnpackOptions): Unpacked {
  const u = new Unpacker(buf, options);
  const v = u.unpack();
  if (u.remaining !== 0) throw new ProtocolError(`${u.remaining} trailing bytes after a PackStream value`);
  return v;
}

/** A Bolt message: a structure whose tag is the message signature. Fields are hydrated as values. */
export interface Message {
  signature: number;
  fields: Unpacked[];
}

export function unpackMessage(buf: Buffer, options?: UnpackOptions): Message {
  const u = new Unpacker(buf, options);
  const [n, signature] = u.structHeader();
  const fields: Unpacked[] = [];
  for (let i = 0; i < n; i++) fields.push(u.unpack(1));
  if (u.remaining !== 0) throw new ProtocolError(`${u.remaining} trailing bytes after a message`);
  return { signature, fields };
}
