// Our `Value`s to neo4j-driver's types and back, losing nothing: Integers stay 64-bit (the driver runs with
// lossless Integers), temporal values keep their nanoseconds and zones over the whole ±999,999,999-year
// range, points their SRID, bytes their bytes.
import neo4j, { isInt, type Integer } from 'neo4j-driver';
import { civilFromDays, daysFromCivil, splitDay } from '../../calendar.js';
import { CypherError } from '../../engine-api.js';
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
} from '../../values.js';

const NS = 1_000_000_000n;
const { types } = neo4j;

type IntLike = number | bigint | Integer;

function big(n: IntLike): bigint {
  if (typeof n === 'bigint') return n;
  if (typeof n === 'number') return BigInt(n);
  return n.toBigInt();
}

/** A driver Integer from a bigint, so values past 2^53 reach the wire whole. */
function int(n: bigint): Integer {
  return neo4j.int(n.toString());
}

function timeOfDay(nanoseconds: bigint) {
  const secs = nanoseconds / NS;
  return { hour: int(secs / 3600n), minute: int((secs / 60n) % 60n), second: int(secs % 60n), nanosecond: int(nanoseconds % NS) };
}

function localFields(seconds: bigint, nanoseconds: bigint) {
  const { days, secondOfDay } = splitDay(seconds);
  const d = civilFromDays(days);
  return { year: int(d.year), month: int(d.month), day: int(d.day), ...timeOfDay(secondOfDay * NS + nanoseconds) };
}

/** A parameter for the driver. */
export function toDriver(v: Value): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return int(v);
  // The driver packs only Int8Array as bytes; a Uint8Array would go out as a map.
  if (v instanceof Uint8Array) return new Int8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(toDriver);
  if (v instanceof Node || v instanceof Relationship || v instanceof Path) {
    throw new CypherError('Neo.ClientError.Request.Invalid', 'Nodes, relationships and paths cannot be query parameters', '22G03');
  }
  if (v instanceof CypherDate) {
    const d = civilFromDays(v.days);
    return new types.Date(int(d.year), int(d.month), int(d.day));
  }
  if (v instanceof CypherLocalTime) {
    const t = timeOfDay(v.nanoseconds);
    return new types.LocalTime(t.hour, t.minute, t.second, t.nanosecond);
  }
  if (v instanceof CypherTime) {
    const t = timeOfDay(v.nanoseconds);
    return new types.Time(t.hour, t.minute, t.second, t.nanosecond, int(v.offsetSeconds));
  }
  if (v instanceof CypherLocalDateTime) {
    const f = localFields(v.seconds, v.nanoseconds);
    return new types.LocalDateTime(f.year, f.month, f.day, f.hour, f.minute, f.second, f.nanosecond);
  }
  if (v instanceof CypherDateTime) {
    // With a zone, the driver sends (local fields − offset, zone id) and would ask Intl for the offset when it
    // has none (failing beyond JavaScript's dates); UTC fields with offset 0 give the same instant exactly.
    const offset = v.zoneId ? 0n : (v.offsetSeconds ?? 0n);
    const f = localFields(v.seconds + offset, v.nanoseconds);
    return new types.DateTime(f.year, f.month, f.day, f.hour, f.minute, f.second, f.nanosecond, int(offset), v.zoneId ?? undefined);
  }
  if (v instanceof CypherDuration) return new types.Duration(int(v.months), int(v.days), int(v.seconds), int(v.nanoseconds));
  if (v instanceof CypherPoint) {
    return v.z === null ? new types.Point(Number(v.srid), v.x, v.y) : new types.Point(Number(v.srid), v.x, v.y, v.z);
  }
  return toDriverMap(v);
}

export function toDriverMap(m: ValueMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(m)) out[k] = toDriver(x);
  return out;
}

function fromDriverMap(m: Record<string, unknown>): ValueMap {
  const out: ValueMap = {};
  for (const [k, x] of Object.entries(m)) out[k] = fromDriver(x);
  return out;
}

function node(n: InstanceType<typeof types.Node>): Node {
  return new Node(big(n.identity), [...n.labels], fromDriverMap(n.properties), n.elementId);
}

function relationship(r: InstanceType<typeof types.Relationship>): Relationship {
  return new Relationship(big(r.identity), big(r.start), big(r.end), r.type, fromDriverMap(r.properties), r.elementId, r.startNodeElementId, r.endNodeElementId);
}

function localSeconds(d: { year: IntLike; month: IntLike; day: IntLike; hour: IntLike; minute: IntLike; second: IntLike }): bigint {
  return daysFromCivil(big(d.year), big(d.month), big(d.day)) * 86_400n + big(d.hour) * 3600n + big(d.minute) * 60n + big(d.second);
}

function nanoOfDay(t: { hour: IntLike; minute: IntLike; second: IntLike; nanosecond: IntLike }): bigint {
  return (big(t.hour) * 3600n + big(t.minute) * 60n + big(t.second)) * NS + big(t.nanosecond);
}

/** A value from a driver record. */
export function fromDriver(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') return v;
  if (isInt(v)) return v.toBigInt();
  if (v instanceof Int8Array) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (Array.isArray(v)) return v.map(fromDriver);
  if (neo4j.isNode(v)) return node(v);
  if (neo4j.isRelationship(v)) return relationship(v);
  if (neo4j.isPath(v)) {
    return new Path(
      [node(v.start), ...v.segments.map((s) => node(s.end))],
      v.segments.map((s) => relationship(s.relationship)),
    );
  }
  if (neo4j.isDate(v)) return new CypherDate(daysFromCivil(big(v.year), big(v.month), big(v.day)));
  if (neo4j.isLocalTime(v)) return new CypherLocalTime(nanoOfDay(v));
  if (neo4j.isTime(v)) return new CypherTime(nanoOfDay(v), big(v.timeZoneOffsetSeconds));
  if (neo4j.isLocalDateTime(v)) return new CypherLocalDateTime(localSeconds(v), big(v.nanosecond));
  if (neo4j.isDateTime(v)) {
    // The driver gives local fields and the offset it worked out (for a zone, from Intl): their difference is
    // the instant Neo4j sent, whatever offset was chosen.
    const offset = big(v.timeZoneOffsetSeconds ?? 0);
    const seconds = localSeconds(v) - offset;
    return v.timeZoneId ? new CypherDateTime(seconds, big(v.nanosecond), null, v.timeZoneId) : new CypherDateTime(seconds, big(v.nanosecond), offset, null);
  }
  if (neo4j.isDuration(v)) return new CypherDuration(big(v.months), big(v.days), big(v.seconds), big(v.nanoseconds));
  if (neo4j.isPoint(v)) return new CypherPoint(big(v.srid), v.x, v.y, v.z ?? null);
  if (typeof v === 'object') return fromDriverMap(v as Record<string, unknown>);
  throw new Error(`unexpected value from neo4j-driver: ${typeof v}`);
}
