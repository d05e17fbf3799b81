// Query parameters as Grafeo takes them: temporal values as tagged ISO texts, a whole Float as a decimal.
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
} from '../../values.js';
import { CypherError } from '../../engine-api.js';
import { isoDateText, isoLocalDateTimeText, isoOffsetText, isoTimeText } from '../../calendar.js';
import { durationText, NS_PER_SECOND } from './temporal-text.js';

function typeError(message: string): CypherError {
  return new CypherError('Neo.ClientError.Statement.TypeError', message, '22G03');
}

/** A value Grafeo would keep as a different value: refused rather than altered (docs/cypher-compatibility.md). */
function notExact(value: string, why: string): CypherError {
  return new CypherError('Neo.ClientError.Statement.ArgumentError', `${value} cannot be stored exactly by this database: ${why}`, '22N01');
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE32_MAX_DAYS = 2n ** 31n - 1n;
/** Grafeo hands timestamps to JavaScript as milliseconds; past JavaScript's Date range it cannot. */
const MAX_EPOCH_MS = 8_640_000_000_000_000n;
const NS_PER_MINUTE = 60_000_000_000n;

function offsetParam(offset: bigint, what: string): string {
  if (offset % 60n !== 0n) throw notExact(`${what} with offset ${isoOffsetText(offset)}`, 'it keeps offsets to the minute');
  return isoOffsetText(offset);
}

function dateTimeParam(v: CypherDateTime): unknown {
  const offset = v.offsetSeconds ?? 0n;
  const text = `datetime('${isoLocalDateTimeText(v.seconds + offset, v.nanoseconds)}${v.zoneId ? `[${v.zoneId}]` : isoOffsetText(offset)}')`;
  if (v.zoneId !== null) throw notExact(text, 'it keeps a datetime with an offset, not a named time zone; send it with its offset');
  if (v.nanoseconds % 1000n !== 0n) throw notExact(text, 'it keeps datetimes to the microsecond');
  const ms = v.seconds * 1000n;
  if (ms < -MAX_EPOCH_MS || ms > MAX_EPOCH_MS) throw notExact(text, 'it keeps datetimes between years -271821 and 275760');
  return { $zoned_datetime: isoLocalDateTimeText(v.seconds + offset, v.nanoseconds) + offsetParam(offset, text) };
}

function localDateTimeParam(v: CypherLocalDateTime): Date {
  const text = `localdatetime('${isoLocalDateTimeText(v.seconds, v.nanoseconds)}')`;
  // A JS Date is the only form in which Grafeo takes a local datetime as a parameter.
  if (v.nanoseconds % 1_000_000n !== 0n) throw notExact(text, 'a local datetime parameter is kept to the millisecond');
  const ms = v.seconds * 1000n + v.nanoseconds / 1_000_000n;
  if (ms < -MAX_EPOCH_MS || ms > MAX_EPOCH_MS) throw notExact(text, 'it keeps local datetimes between years -271821 and 275760');
  return new Date(Number(ms));
}

function durationParam(v: CypherDuration): unknown {
  const total = v.seconds * NS_PER_SECOND + v.nanoseconds;
  const minutes = total / NS_PER_MINUTE - (total % NS_PER_MINUTE < 0n ? 1n : 0n);
  if (total < INT64_MIN || total > INT64_MAX || minutes * NS_PER_MINUTE < INT64_MIN) {
    throw notExact(`duration({months: ${v.months}, days: ${v.days}, seconds: ${v.seconds}, nanoseconds: ${v.nanoseconds}})`, 'it keeps the time part of a duration within ±292 years (64-bit nanoseconds)');
  }
  return { $duration: durationText(v) };
}

type Kind = string | { list: Kind } | { map: Record<string, Kind> } | null;
const TEMPORAL = new Set(['Date', 'Time', 'LocalTime', 'DateTime', 'LocalDateTime', 'Duration']);

function kindOf(v: Value): Kind {
  if (v === null) return null;
  if (typeof v === 'bigint') return 'Integer';
  if (typeof v === 'number') return 'Float';
  if (Array.isArray(v)) return { list: v.reduce<Kind>((k, x) => unify(k, kindOf(x)), null) };
  if (isValueMap(v)) return { map: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, kindOf(x)])) };
  if (v instanceof CypherDate) return 'Date';
  if (v instanceof CypherTime) return 'Time';
  if (v instanceof CypherLocalTime) return 'LocalTime';
  if (v instanceof CypherDateTime) return 'DateTime';
  if (v instanceof CypherLocalDateTime) return 'LocalDateTime';
  if (v instanceof CypherDuration) return 'Duration';
  return typeof v === 'object' ? v.constructor.name : typeof v;
}

/**
 * Grafeo gives a list one element type: a list mixing kinds comes back as text, which keeps numbers,
 * strings and entities (their plain form) but turns temporal values into strings, and Integers next to
 * Floats come back as Floats. Such lists are refused rather than altered.
 */
function unify(a: Kind, b: Kind): Kind {
  if (a === null) return b;
  if (b === null) return a;
  if (typeof a === 'string' && typeof b === 'string') {
    if (a === b) return a;
    // Integers with Floats become a list of Floats, unless other kinds make it a list of text.
    const numbers = new Set(['Integer', 'Float', 'Number']);
    if (numbers.has(a) && numbers.has(b)) return 'Number';
    if (TEMPORAL.has(a) || TEMPORAL.has(b)) throw notExact(`A list mixing ${a} and ${b} values`, 'it keeps one element type per list (the temporal values would come back as strings)');
    return 'Mixed';
  }
  if (typeof a === 'object' && typeof b === 'object' && 'list' in a && 'list' in b) return { list: unify(a.list, b.list) };
  if (typeof a === 'object' && typeof b === 'object' && 'map' in a && 'map' in b) {
    const map: Record<string, Kind> = { ...a.map };
    for (const [k, x] of Object.entries(b.map)) map[k] = unify(map[k] ?? null, x);
    return { map };
  }
  const temporal = (k: Kind): boolean => (typeof k === 'string' ? TEMPORAL.has(k) : k !== null && ('list' in k ? temporal(k.list) : Object.values(k.map).some(temporal)));
  if (temporal(a) || temporal(b)) throw notExact('A list mixing temporal values with values of other types', 'it keeps one element type per list (the temporal values would come back as strings)');
  return 'Mixed';
}

function hasNumberMix(k: Kind): boolean {
  if (k === null) return false;
  if (typeof k === 'string') return k === 'Number';
  return 'list' in k ? hasNumberMix(k.list) : Object.values(k.map).some(hasNumberMix);
}

function assertOneKind(list: Value[]): void {
  const kind = list.reduce<Kind>((k, x) => unify(k, kindOf(x)), null);
  if (hasNumberMix(kind)) throw notExact('A list mixing Integer and Float values', 'it keeps one element type per list (the Integers would come back as Floats)');
}

/**
 * A `Value` as Grafeo takes it as a parameter. Grafeo reads a whole JS number as an INTEGER, so a
 * whole Float goes as a decimal, which Grafeo computes with as a number and we read back as Float.
 * A value Grafeo cannot keep exactly is refused with a Neo.ClientError.Statement.ArgumentError.
 */
export function toEngineParam(v: Value): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Object.is(v, -0)) throw notExact('The float -0.0', 'it keeps it as 0.0; send 0.0');
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 53) return { $decimal: `${v}.0` };
    return v;
  }
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) {
    assertOneKind(v);
    return v.map(toEngineParam);
  }
  if (v instanceof CypherDate) {
    if (v.days > DATE32_MAX_DAYS || v.days < -DATE32_MAX_DAYS) throw notExact(`date('${isoDateText(v.days)}')`, 'it keeps dates between years -5877641 and 5881580');
    return { $date: isoDateText(v.days) };
  }
  if (v instanceof CypherLocalTime) return { $time: isoTimeText(v.nanoseconds) };
  if (v instanceof CypherTime) return { $time: isoTimeText(v.nanoseconds) + offsetParam(v.offsetSeconds, `time('${isoTimeText(v.nanoseconds)}')`) };
  if (v instanceof CypherDuration) return durationParam(v);
  if (v instanceof CypherDateTime) return dateTimeParam(v);
  if (v instanceof CypherLocalDateTime) return localDateTimeParam(v);
  if (v instanceof CypherPoint) throw typeError('Point values are not supported by this database');
  if (v instanceof Node || v instanceof Relationship || v instanceof Path) {
    throw typeError('Nodes, relationships and paths cannot be passed as parameters');
  }
  if (isValueMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toEngineParam(x);
    return out;
  }
  throw typeError('Unsupported parameter value');
}

export function toEngineParams(params: ValueMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = toEngineParam(v);
  return out;
}
