// `Value`s as the Neo4j Query API writes and reads them: plain JSON (temporal as ISO-8601 text,
// points as WKT, bytes as base64) and typed JSON (`{"$type": T, "_value": v}`).
import { daysFromCivil, fraction, isoDateText as dateText, isoLocalDateTimeText as localDateTimeText, isoOffsetText as offsetText, isoTimeText as timeText, } from '../calendar.js';
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
  isValueMap,
  type Value,
  type ValueMap,
} from '../values.js';

const NS = 1_000_000_000n;

/** Neo4j's text for a duration: zero parts left out, `PT0S` for none (e.g. `P1Y2M3DT4H5M6.5S`). */
function durationText(d: CypherDuration): string {
  const years = d.months / 12n;
  const months = d.months % 12n;
  const total = d.seconds * NS + d.nanoseconds;
  const neg = total < 0n;
  const abs = neg ? -total : total;
  const secsAll = abs / NS;
  const hours = secsAll / 3600n;
  const minutes = (secsAll / 60n) % 60n;
  const secs = secsAll % 60n;
  const sign = neg ? '-' : '';
  let date = '';
  if (years) date += `${years}Y`;
  if (months) date += `${months}M`;
  if (d.days) date += `${d.days}D`;
  let time = '';
  if (hours) time += `${sign}${hours}H`;
  if (minutes) time += `${sign}${minutes}M`;
  if (secs || abs % NS) time += `${sign}${secs}${fraction(abs % NS)}S`;
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? 'T' + time : ''}`;
}

/** A coordinate as JavaScript writes it, but keeping the sign of -0.0 so that it reads back the same. */
function coordinate(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

function pointText(p: CypherPoint): string {
  const [x, y] = [coordinate(p.x), coordinate(p.y)];
  return p.z === null ? `SRID=${p.srid};POINT(${x} ${y})` : `SRID=${p.srid};POINT Z(${x} ${y} ${coordinate(p.z)})`;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The offset of an IANA zone at an instant, from Intl; null where Intl has no answer (e.g. beyond ±275,760 years). */
function zoneOffset(zoneId: string, seconds: bigint): bigint | null {
  const ms = Number(seconds) * 1000;
  if (!(Math.abs(ms) <= 8.64e15)) return null;
  try {
    let f = zoneFormats.get(zoneId);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zoneId, hourCycle: 'h23', era: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
      zoneFormats.set(zoneId, f);
    }
    const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
    const year = parts.era === 'BC' || parts.era === 'B' ? 1n - BigInt(parts.year!) : BigInt(parts.year!);
    const local = daysFromCivil(year, BigInt(parts.month!), BigInt(parts.day!)) * 86_400n + BigInt(parts.hour!) * 3600n + BigInt(parts.minute!) * 60n + BigInt(parts.second!);
    const floorSeconds = BigInt(Math.floor(ms / 1000));
    return local - floorSeconds;
  } catch {
    return null;
  }
}

/** With a zone, shown at the zone's offset at that instant as Neo4j does (`…T10:00+01:00[Europe/London]`). */
function dateTimeText(v: CypherDateTime): string {
  const offset = v.offsetSeconds ?? (v.zoneId ? zoneOffset(v.zoneId, v.seconds) : null) ?? 0n;
  const local = localDateTimeText(v.seconds + offset, v.nanoseconds);
  return local + offsetText(offset) + (v.zoneId ? `[${v.zoneId}]` : '');
}

/** JSON, plus bigint for an Integer past 2^53 that `stringifyJson` writes as exact digits. */
export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };

const BIG_MARK = '\u0000bigint:';

/** JSON.stringify that writes bigints as plain numbers with every digit, as Neo4j does. */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? BIG_MARK + v.toString() : v));
  return text.includes('\\u0000bigint:') ? text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1') : text;
}

function jsonNumber(n: number): Json {
  return Number.isFinite(n) ? n : String(n);
}

/** Plain JSON, as the Query API answers `Accept: application/json`. */
export function toPlainJson(v: Value): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (typeof v === 'number') return jsonNumber(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (v instanceof Node) return { elementId: v.elementId, labels: v.labels, properties: mapOf(v.properties, toPlainJson) };
  if (v instanceof Relationship) {
    return {
      elementId: v.elementId,
      startNodeElementId: v.startElementId,
      endNodeElementId: v.endElementId,
      type: v.type,
      properties: mapOf(v.properties, toPlainJson),
    };
  }
  if (v instanceof Path) return pathItems(v).map(toPlainJson);
  if (v instanceof CypherDate) return dateText(v.days);
  if (v instanceof CypherTime) return timeText(v.nanoseconds) + offsetText(v.offsetSeconds);
  if (v instanceof CypherLocalTime) return timeText(v.nanoseconds);
  if (v instanceof CypherDateTime) return dateTimeText(v);
  if (v instanceof CypherLocalDateTime) return localDateTimeText(v.seconds, v.nanoseconds);
  if (v instanceof CypherDuration) return durationText(v);
  if (v instanceof CypherPoint) return pointText(v);
  return mapOf(v, toPlainJson);
}

function mapOf(m: ValueMap, f: (v: Value) => Json): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(m)) out[k] = f(x);
  return out;
}

function pathItems(p: Path): (Node | Relationship)[] {
  const items: (Node | Relationship)[] = [];
  p.nodes.forEach((n, i) => {
    items.push(n);
    const r = p.rels[i];
    if (r) items.push(r);
  });
  return items;
}

function typed(type: string, value: Json): Json {
  return { $type: type, _value: value };
}

/** A Float as Neo4j writes it: always with a fraction or exponent, so `2.0`, never `2`. */
function floatText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0.0';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Typed JSON, as the Query API answers `Accept: application/vnd.neo4j.query`. */
export function toTypedJson(v: Value): Json {
  if (v === null) return typed('Null', null);
  if (typeof v === 'boolean') return typed('Boolean', v);
  if (typeof v === 'string') return typed('String', v);
  if (typeof v === 'bigint') return typed('Integer', v.toString());
  if (typeof v === 'number') return typed('Float', floatText(v));
  if (v instanceof Uint8Array) return typed('Base64', Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return typed('List', v.map(toTypedJson));
  if (v instanceof Node) {
    return typed('Node', { _element_id: v.elementId, _labels: v.labels, _properties: mapOf(v.properties, toTypedJson) });
  }
  if (v instanceof Relationship) {
    return typed('Relationship', {
      _element_id: v.elementId,
      _start_node_element_id: v.startElementId,
      _end_node_element_id: v.endElementId,
      _type: v.type,
      _properties: mapOf(v.properties, toTypedJson),
    });
  }
  if (v instanceof Path) return typed('Path', pathItems(v).map(toTypedJson));
  if (v instanceof CypherDate) return typed('Date', dateText(v.days));
  if (v instanceof CypherTime) return typed('Time', timeText(v.nanoseconds) + offsetText(v.offsetSeconds));
  if (v instanceof CypherLocalTime) return typed('LocalTime', timeText(v.nanoseconds));
  if (v instanceof CypherDateTime) return typed(v.zoneId ? 'ZonedDateTime' : 'OffsetDateTime', dateTimeText(v));
  if (v instanceof CypherLocalDateTime) return typed('LocalDateTime', localDateTimeText(v.seconds, v.nanoseconds));
  if (v instanceof CypherDuration) return typed('Duration', durationText(v));
  if (v instanceof CypherPoint) return typed('Point', pointText(v));
  return typed('Map', mapOf(v, toTypedJson));
}

export class ParameterFormatError extends Error {}

/** Plain JSON parameters: whole numbers are Integers (as Neo4j reads them), the rest Floats. */
export function fromPlainJson(j: unknown): Value {
  if (j === null || typeof j === 'boolean' || typeof j === 'string') return j;
  if (typeof j === 'number') return Number.isSafeInteger(j) ? BigInt(j) : j;
  if (Array.isArray(j)) return j.map(fromPlainJson);
  if (typeof j === 'object') {
    const out: ValueMap = {};
    for (const [k, x] of Object.entries(j as object)) out[k] = fromPlainJson(x);
    return out;
  }
  throw new ParameterFormatError('unsupported JSON value');
}

function parseNanos(frac: string | undefined): bigint {
  return frac ? BigInt(frac.slice(1).padEnd(9, '0').slice(0, 9)) : 0n;
}

function parseOffset(text: string): bigint {
  if (text === 'Z') return 0n;
  const m = /^([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?$/.exec(text);
  if (!m) throw new ParameterFormatError(`bad offset '${text}'`);
  const s = BigInt(m[2]!) * 3600n + BigInt(m[3]!) * 60n + BigInt(m[4] ?? '0');
  return m[1] === '-' ? -s : s;
}

function parseTime(text: string): { ns: bigint; offset: string | undefined } {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!m) throw new ParameterFormatError(`bad time '${text}'`);
  const secs = BigInt(m[1]!) * 3600n + BigInt(m[2]!) * 60n + BigInt(m[3] ?? '0');
  return { ns: secs * NS + parseNanos(m[4]), offset: m[5] };
}

function parseDateDays(text: string): bigint {
  const m = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw new ParameterFormatError(`bad date '${text}'`);
  return daysFromCivil(BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!));
}

function parseDateTime(text: string): { seconds: bigint; ns: bigint; offset: string | undefined; zone: string | undefined } {
  const m = /^([^T]+)T([^[]+?)(?:\[([^\]]+)\])?$/.exec(text);
  if (!m) throw new ParameterFormatError(`bad datetime '${text}'`);
  const days = parseDateDays(m[1]!);
  const t = parseTime(m[2]!);
  return { seconds: days * 86_400n + t.ns / NS, ns: t.ns % NS, offset: t.offset, zone: m[3] };
}

function parseDuration(text: string): CypherDuration {
  const m = /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+)(\.\d+)?S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) throw new ParameterFormatError(`bad duration '${text}'`);
  const n = (i: number) => BigInt(m[i] ?? '0');
  const months = n(1) * 12n + n(2);
  const days = n(3) * 7n + n(4);
  const secs = n(5) * 3600n + n(6) * 60n + n(7);
  let ns = parseNanos(m[8]);
  if ((m[7] ?? '').startsWith('-')) ns = -ns;
  const total = secs * NS + ns;
  let seconds = total / NS;
  let nanos = total % NS;
  if (nanos < 0n) {
    nanos += NS;
    seconds -= 1n;
  }
  return new CypherDuration(months, days, seconds, nanos);
}

function parsePoint(text: string): CypherPoint {
  const m = /^SRID=(\d+);\s*POINT\s*(?:Z\s*)?\(\s*(\S+)\s+(\S+)(?:\s+(\S+))?\s*\)$/i.exec(text);
  if (!m) throw new ParameterFormatError(`bad point '${text}'`);
  return new CypherPoint(BigInt(m[1]!), Number(m[2]), Number(m[3]), m[4] === undefined ? null : Number(m[4]));
}

/** Typed JSON parameters (`Content-Type: application/vnd.neo4j.query`). */
export function fromTypedJson(j: unknown): Value {
  if (j === null || typeof j !== 'object' || Array.isArray(j) || !('$type' in j)) {
    throw new ParameterFormatError('every typed parameter must be {"$type": ..., "_value": ...}');
  }
  const { $type: type, _value: v } = j as { $type: unknown; _value: unknown };
  const str = () => {
    if (typeof v !== 'string') throw new ParameterFormatError(`${String(type)} needs a string _value`);
    return v;
  };
  switch (type) {
    case 'Null':
      return null;
    case 'Boolean':
      if (typeof v !== 'boolean') throw new ParameterFormatError('Boolean needs a boolean _value');
      return v;
    case 'Integer': {
      const s = typeof v === 'number' ? String(v) : str();
      if (!/^-?\d+$/.test(s)) throw new ParameterFormatError(`bad Integer '${s}'`);
      return BigInt(s);
    }
    case 'Float': {
      const n = typeof v === 'number' ? v : Number(str());
      if (Number.isNaN(n) && v !== 'NaN') throw new ParameterFormatError(`bad Float '${String(v)}'`);
      return n;
    }
    case 'String':
      return str();
    case 'Base64':
      return new Uint8Array(Buffer.from(str(), 'base64'));
    case 'List':
      if (!Array.isArray(v)) throw new ParameterFormatError('List needs an array _value');
      return v.map(fromTypedJson);
    case 'Map': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ParameterFormatError('Map needs an object _value');
      const out: ValueMap = {};
      for (const [k, x] of Object.entries(v)) out[k] = fromTypedJson(x);
      return out;
    }
    case 'Date':
      return new CypherDate(parseDateDays(str()));
    case 'Time': {
      const t = parseTime(str());
      return new CypherTime(t.ns, parseOffset(t.offset ?? 'Z'));
    }
    case 'LocalTime':
      return new CypherLocalTime(parseTime(str()).ns);
    case 'LocalDateTime': {
      const d = parseDateTime(str());
      return new CypherLocalDateTime(d.seconds, d.ns);
    }
    case 'OffsetDateTime':
    case 'ZonedDateTime': {
      const d = parseDateTime(str());
      const offset = parseOffset(d.offset ?? 'Z');
      return new CypherDateTime(d.seconds - offset, d.ns, d.zone ? null : offset, d.zone ?? null);
    }
    case 'Duration':
      return parseDuration(str());
    case 'Point':
      return parsePoint(str());
    default:
      throw new ParameterFormatError(`unknown $type '${String(type)}'`);
  }
}

export function parametersFrom(body: unknown, typedJson: boolean): ValueMap {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new ParameterFormatError('"parameters" must be an object');
  const out: ValueMap = {};
  for (const [k, v] of Object.entries(body)) out[k] = typedJson ? fromTypedJson(v) : fromPlainJson(v);
  if (!isValueMap(out)) throw new ParameterFormatError('"parameters" must be an object');
  return out;
}
