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
import { dateText, durationText, localDateTimeText, offsetText, timeText, zoneOffsetSeconds } from './temporal-text.js';

function typeError(message: string): CypherError {
  return new CypherError('Neo.ClientError.Statement.TypeError', message, '22G03');
}

/**
 * A `Value` as Grafeo takes it as a parameter. Grafeo reads a whole JS number as an INTEGER, so a
 * whole Float goes as a decimal, which Grafeo computes with as a number and we read back as Float.
 */
export function toEngineParam(v: Value): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 53) return { $decimal: `${Object.is(v, -0) ? '-0' : v}.0` };
    return v;
  }
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(toEngineParam);
  if (v instanceof CypherDate) return { $date: dateText(v.days) };
  if (v instanceof CypherLocalTime) return { $time: timeText(v.nanoseconds) };
  if (v instanceof CypherTime) return { $time: timeText(v.nanoseconds) + offsetText(v.offsetSeconds) };
  if (v instanceof CypherDuration) return { $duration: durationText(v) };
  // Grafeo keeps datetimes to the microsecond; a named zone is sent as its offset at that instant.
  if (v instanceof CypherDateTime) {
    const offset = v.offsetSeconds ?? zoneOffsetSeconds(v.zoneId ?? 'UTC', v.seconds);
    return { $zoned_datetime: localDateTimeText(v.seconds + offset, v.nanoseconds) + offsetText(offset) };
  }
  // A JS Date is how Grafeo takes a local datetime (millisecond precision).
  if (v instanceof CypherLocalDateTime) return new Date(Number(v.seconds) * 1000 + Number(v.nanoseconds / 1_000_000n));
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
