// The GraphEngine over Grafeo: one database file per process, every query in an engine
// transaction (so a timed-out or refused auto-commit query can be rolled back), results converted
// to the shared `Value` model.
//
// Grafeo gives each result twice: Arrow IPC (exact Integer vs Float, nanosecond times) and plain
// rows (`rows()`, which lose Integer vs Float but keep what Arrow flattens: paths come as text in
// Arrow, mixed lists as lists of text, offsets of times and datetimes are only in the plain text).
// So we walk both side by side and take each fact from the form that keeps it.
import { randomUUID } from 'node:crypto';
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, Type, tableFromIPC, type Field, type Vector } from 'apache-arrow';
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
import {
  CypherError,
  type EngineTransaction,
  type GraphEngine,
  type Notification,
  type QueryOptions,
  type QueryResult,
  type QuerySummary,
  type QueryType,
  type StatKey,
} from '../../engine-api.js';
import type * as GrafeoModule from '@grafeo-db/js';
import { DATABASE_FILE, DATABASE_ID_FILE, grafeo } from './database-files.js';
import { assertPlanReadsOnly, confineLoadCsv, withUserUrls, type ConfinedQuery } from './load-csv.js';

const MS_PER_DAY = 86_400_000;
const NS_PER_SECOND = 1_000_000_000n;

export interface ElementIds {
  node(id: bigint): string;
  relationship(id: bigint): string;
}

export function elementIds(databaseUuid: string): ElementIds {
  return {
    node: (id) => `4:${databaseUuid}:${id}`,
    relationship: (id) => `5:${databaseUuid}:${id}`,
  };
}

type Plain = unknown;

function arrowChild(av: unknown, name: string): unknown {
  if (av === null || av === undefined) return null;
  return (av as Record<string, unknown>)[name];
}

function listItem(av: unknown, i: number): unknown {
  if (av === null || av === undefined) return null;
  const vec = av as Vector | unknown[];
  if (Array.isArray(vec)) return vec[i];
  return (vec as Vector).get(i);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return BigInt(String(v));
}

const OFFSET_RE = /(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)$/;

/** Offset seconds of an ISO time/datetime suffix such as `+02:00` or `Z`; null when there is none. */
function offsetOf(text: string): bigint | null {
  const m = OFFSET_RE.exec(text);
  if (!m) return null;
  const s = m[1]!;
  if (s === 'Z') return 0n;
  const sign = s.startsWith('-') ? -1n : 1n;
  const digits = s.slice(1).replace(/:/g, '');
  const h = BigInt(digits.slice(0, 2));
  const min = BigInt(digits.slice(2, 4) || '0');
  const sec = BigInt(digits.slice(4, 6) || '0');
  return sign * (h * 3600n + min * 60n + sec);
}

/** A fractional-ms Arrow timestamp (microsecond precision) as whole seconds + nanoseconds. */
function splitMs(ms: number): { seconds: bigint; nanoseconds: bigint } {
  const micros = BigInt(Math.round(ms * 1000));
  let seconds = micros / 1_000_000n;
  let rem = micros % 1_000_000n;
  if (rem < 0n) {
    rem += 1_000_000n;
    seconds -= 1n;
  }
  return { seconds, nanoseconds: rem * 1000n };
}

function timestampMs(av: unknown): number | null {
  if (typeof av === 'number') return av;
  if (typeof av === 'bigint') return Number(av);
  if (av instanceof Date) return av.getTime();
  return null;
}

function durationFrom(months: bigint, days: bigint, nanos: bigint): CypherDuration {
  let seconds = nanos / NS_PER_SECOND;
  let ns = nanos % NS_PER_SECOND;
  if (ns < 0n) {
    ns += NS_PER_SECOND;
    seconds -= 1n;
  }
  return new CypherDuration(months, days, seconds, ns);
}

export class ResultConverter {
  /** Nodes and relationships read from the plain form only (inside paths, mixed lists): Integer vs Float may be wrong. */
  readonly approximate = { nodes: new Set<bigint>(), rels: new Map<bigint, bigint>() };

  constructor(private readonly ids: ElementIds) {}

  /** One row: Arrow struct row fields by index alongside the plain row. */
  value(type: DataType, av: unknown, pv: Plain): Value {
    if (av === undefined) av = null;
    switch (type.typeId) {
      case Type.Null:
        return pv === null || pv === undefined ? null : this.plain(pv);
      case Type.Int:
        return av === null ? null : toBigInt(av);
      case Type.Float:
        return av === null ? null : Number(av);
      case Type.Bool:
        return av === null ? null : Boolean(av);
      case Type.Utf8:
      case Type.LargeUtf8:
        if (av === null && (pv === null || pv === undefined)) return null;
        return typeof pv === 'string' ? pv : this.plain(pv);
      case Type.Binary:
      case Type.LargeBinary:
      case Type.FixedSizeBinary:
        return av === null ? null : Uint8Array.from(av as Uint8Array);
      case Type.Date: {
        const ms = timestampMs(av);
        return ms === null ? null : new CypherDate(BigInt(Math.round(ms / MS_PER_DAY)));
      }
      case Type.Time: {
        if (av === null) return null;
        const ns = toBigInt(av);
        const offset = typeof pv === 'string' ? offsetOf(pv) : null;
        return offset === null ? new CypherLocalTime(ns) : new CypherTime(ns, offset);
      }
      case Type.Timestamp: {
        const ms = timestampMs(av);
        if (ms === null) return null;
        const { seconds, nanoseconds } = splitMs(ms);
        // Grafeo's plain rows give a local datetime as a JS Date and a datetime as ISO text.
        if (pv instanceof Date) return new CypherLocalDateTime(seconds, nanoseconds);
        const offset = typeof pv === 'string' ? offsetOf(pv) : 0n;
        return new CypherDateTime(seconds, nanoseconds, offset ?? 0n, null);
      }
      case Type.Decimal:
        return pv === null || pv === undefined ? null : this.plain(pv);
      case Type.List:
      case Type.FixedSizeList: {
        if (av === null && (pv === null || pv === undefined)) return null;
        if (!Array.isArray(pv)) return this.plain(pv);
        const child = (type.children[0] as Field).type as DataType;
        return pv.map((item, i) => this.value(child, listItem(av, i), item));
      }
      case Type.Struct:
        return this.struct(type, av, pv);
      default:
        return this.plain(pv);
    }
  }

  private struct(type: DataType, av: unknown, pv: Plain): Value {
    if (av === null && (pv === null || pv === undefined)) return null;
    const fields = type.children as Field[];
    const byName = new Map(fields.map((f) => [f.name, f.type as DataType]));
    if (byName.has('_id') && byName.has('_labels')) return this.node(byName, av, pv);
    if (byName.has('_id') && byName.has('_source') && byName.has('_target') && byName.has('_type')) {
      return this.relationship(byName, av, pv);
    }
    if (fields.length === 3 && byName.has('months') && byName.has('days') && byName.has('nanos') && typeof pv === 'string') {
      return durationFrom(
        toBigInt(arrowChild(av, 'months')),
        toBigInt(arrowChild(av, 'days')),
        toBigInt(arrowChild(av, 'nanos')),
      );
    }
    if (isPlainObject(pv) && '$decimal' in pv) return Number(pv.$decimal);
    const out: ValueMap = {};
    // The Arrow struct carries every key seen in any row; the plain row only this row's keys.
    const keys = isPlainObject(pv) ? Object.keys(pv) : fields.map((f) => f.name);
    for (const key of keys) {
      const ft = byName.get(key);
      const pval = isPlainObject(pv) ? pv[key] : null;
      out[key] = ft ? this.value(ft, arrowChild(av, key), pval) : this.plain(pval);
    }
    return out;
  }

  private properties(byName: Map<string, DataType>, av: unknown, pv: Plain, reserved: string[]): ValueMap {
    const props: ValueMap = {};
    const keys = isPlainObject(pv) ? Object.keys(pv) : [...byName.keys()];
    for (const key of keys) {
      if (reserved.includes(key)) continue;
      const ft = byName.get(key);
      const pval = isPlainObject(pv) ? pv[key] : null;
      const v = ft ? this.value(ft, arrowChild(av, key), pval) : this.plain(pval);
      // Neo4j has no null-valued properties; Arrow pads keys other rows have with nulls.
      if (v !== null) props[key] = v;
    }
    return props;
  }

  private node(byName: Map<string, DataType>, av: unknown, pv: Plain): Node {
    const id = toBigInt(arrowChild(av, '_id') ?? (pv as Record<string, unknown>)._id);
    const labelsPlain = isPlainObject(pv) && Array.isArray(pv._labels) ? (pv._labels as unknown[]) : [];
    const labels = labelsPlain.map(String);
    if (av === null) this.approximate.nodes.add(id);
    return new Node(id, labels, this.properties(byName, av, pv, ['_id', '_labels']), this.ids.node(id));
  }

  private relationship(byName: Map<string, DataType>, av: unknown, pv: Plain): Relationship {
    const p = (isPlainObject(pv) ? pv : {}) as Record<string, unknown>;
    const id = toBigInt(arrowChild(av, '_id') ?? p._id);
    const start = toBigInt(arrowChild(av, '_source') ?? p._source);
    const end = toBigInt(arrowChild(av, '_target') ?? p._target);
    const type = String(arrowChild(av, '_type') ?? p._type);
    const props = this.properties(byName, av, pv, ['_id', '_source', '_target', '_type']);
    if (av === null) this.approximate.rels.set(id, start);
    return new Relationship(id, start, end, type, props, this.ids.relationship(id), this.ids.node(start), this.ids.node(end));
  }

  /**
   * A value only the plain form has (inside paths and mixed lists). A whole number here is taken
   * as an Integer: Grafeo's plain form cannot tell `1` from `1.0`.
   */
  plain(pv: Plain): Value {
    if (pv === null || pv === undefined) return null;
    if (typeof pv === 'boolean' || typeof pv === 'string' || typeof pv === 'bigint') return pv;
    if (typeof pv === 'number') return Number.isSafeInteger(pv) && !Object.is(pv, -0) ? BigInt(pv) : pv;
    if (pv instanceof Uint8Array) return Uint8Array.from(pv);
    if (pv instanceof Date) {
      const { seconds, nanoseconds } = splitMs(pv.getTime());
      return new CypherLocalDateTime(seconds, nanoseconds);
    }
    if (Array.isArray(pv)) return pv.map((x) => this.plain(x));
    if (isPlainObject(pv)) {
      if (Array.isArray(pv.nodes) && Array.isArray(pv.edges) && Object.keys(pv).length === 2) {
        const nodes = (pv.nodes as unknown[]).map((n) => this.plain(n));
        const rels = (pv.edges as unknown[]).map((r) => this.plain(r));
        if (nodes.every((n) => n instanceof Node) && rels.every((r) => r instanceof Relationship)) {
          return new Path(nodes as Node[], rels as Relationship[]);
        }
      }
      if ('_id' in pv && '_labels' in pv) return this.node(new Map(), null, pv);
      if ('_id' in pv && '_source' in pv && '_target' in pv && '_type' in pv) return this.relationship(new Map(), null, pv);
      if ('$decimal' in pv && Object.keys(pv).length === 1) return Number(pv.$decimal);
      const out: ValueMap = {};
      for (const [k, v] of Object.entries(pv)) out[k] = this.plain(v);
      return out;
    }
    return String(pv);
  }
}

// ---- parameters ------------------------------------------------------------------------------

function pad(n: bigint | number, width: number): string {
  const s = String(n < 0 ? -n : n);
  return s.padStart(width, '0');
}

function timeText(nanoseconds: bigint): string {
  const total = nanoseconds;
  const h = total / 3_600_000_000_000n;
  const m = (total / 60_000_000_000n) % 60n;
  const s = (total / NS_PER_SECOND) % 60n;
  const ns = total % NS_PER_SECOND;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${ns ? '.' + pad(ns, 9) : ''}`;
}

function offsetText(offsetSeconds: bigint): string {
  if (offsetSeconds === 0n) return 'Z';
  const sign = offsetSeconds < 0n ? '-' : '+';
  const abs = offsetSeconds < 0n ? -offsetSeconds : offsetSeconds;
  const sec = abs % 60n;
  return `${sign}${pad(abs / 3600n, 2)}:${pad((abs / 60n) % 60n, 2)}${sec ? ':' + pad(sec, 2) : ''}`;
}

function dateText(days: bigint): string {
  return new Date(Number(days) * MS_PER_DAY).toISOString().slice(0, 10);
}

function localDateTimeText(seconds: bigint, nanoseconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 19) + (nanoseconds ? '.' + pad(nanoseconds, 9) : '');
}

/** The UTC offset of IANA zone `zone` at `epochSeconds`; 0 for a zone this Node does not know. */
function zoneOffsetSeconds(zone: string, epochSeconds: bigint): bigint {
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(Number(epochSeconds) * 1000));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    return BigInt(Math.round(asUtc / 1000 - Number(epochSeconds)));
  } catch {
    return 0n;
  }
}

function durationText(d: CypherDuration): string {
  const totalNs = d.seconds * NS_PER_SECOND + d.nanoseconds;
  const neg = totalNs < 0n;
  const abs = neg ? -totalNs : totalNs;
  const secs = abs / NS_PER_SECOND;
  const frac = abs % NS_PER_SECOND;
  const secText = `${neg ? '-' : ''}${secs}${frac ? '.' + pad(frac, 9).replace(/0+$/, '') : ''}`;
  return `P${d.months}M${d.days}DT${secText}S`;
}

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

// ---- errors ----------------------------------------------------------------------------------

function gqlStatusOf(err: unknown): string | undefined {
  const e = err as { gqlStatus?: unknown; cause?: { message?: unknown } };
  if (typeof e?.gqlStatus === 'string') return e.gqlStatus;
  const m = /GQLSTATUS (\w{5})/.exec(String(e?.cause?.message ?? ''));
  return m?.[1];
}

/** A Grafeo error as the Neo4j status code drivers act on (they retry only `TransientError`s). */
export function toCypherError(err: unknown): CypherError {
  if (err instanceof CypherError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw
    .replace(/^(Query|Transaction|Database) error: /, '')
    .replace(/^GRAFEO-\w+: /, '')
    .replace(/^Invalid value: Constraint violation: /, '')
    .trim();
  const status = gqlStatusOf(err);
  const cls = status?.slice(0, 2);
  if (/Missing parameter/i.test(message)) return new CypherError('Neo.ClientError.Statement.ParameterMissing', message, '42N51');
  if (/unknown procedure/i.test(message)) return new CypherError('Neo.ClientError.Procedure.ProcedureNotFound', message, '42N08');
  if (/Failed to (open|read) CSV|Csv error/i.test(message)) return new CypherError('Neo.ClientError.Statement.ExternalResourceFailed', message, '42N53');
  // GQL's G class: graph-type and constraint violations (UNIQUE, DELETE of a node with edges).
  if (status?.startsWith('G')) return new CypherError('Neo.ClientError.Schema.ConstraintValidationFailed', message, status);
  if (status === '22012' || status === '22003' || status === '22015') {
    return new CypherError('Neo.ClientError.Statement.ArithmeticError', message, status);
  }
  switch (cls) {
    case '42':
      return new CypherError('Neo.ClientError.Statement.SyntaxError', message, status);
    case '22':
      return new CypherError(
        /type|cannot (compare|convert|add|multiply)|expected/i.test(message)
          ? 'Neo.ClientError.Statement.TypeError'
          : 'Neo.ClientError.Statement.ArgumentError',
        message,
        status,
      );
    case '23':
      return new CypherError('Neo.ClientError.Schema.ConstraintValidationFailed', message, status);
    case '40':
      return new CypherError('Neo.TransientError.Transaction.DeadlockDetected', message, status);
    case '0A':
      return new CypherError('Neo.ClientError.Statement.FeatureNotSupported', message, status);
    default:
      if (/conflict/i.test(message)) return new CypherError('Neo.TransientError.Transaction.DeadlockDetected', message, '40000');
      return new CypherError('Neo.DatabaseError.Statement.ExecutionFailed', message, status ?? '50N42');
  }
}

function timedOut(timeoutMs: number): CypherError {
  return new CypherError(
    'Neo.ClientError.Transaction.TransactionTimedOut',
    `The transaction has been terminated: it ran longer than its timeout of ${timeoutMs} ms`,
    '25N05',
  );
}

function forbidden(): CypherError {
  return new CypherError(
    'Neo.ClientError.Security.Forbidden',
    'Writing in read access mode not allowed. Attempted write to the database',
    '42NFF',
  );
}

// ---- element ids in queries -------------------------------------------------------------------

/** Index just past the string, comment or backticked name starting at `i`, or -1 if none starts there. */
function skipLiteral(q: string, i: number): number {
  const c = q[i];
  if (c === "'" || c === '"' || c === '`') {
    let j = i + 1;
    while (j < q.length && q[j] !== c) j += c !== '`' && q[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '/' && q[i + 1] === '/') {
    const end = q.indexOf('\n', i);
    return end < 0 ? q.length : end;
  }
  if (c === '/' && q[i + 1] === '*') {
    const end = q.indexOf('*/', i + 2);
    return end < 0 ? q.length : end + 2;
  }
  return -1;
}

/**
 * Grafeo's `elementId()` answers `n:<id>` / `e:<id>`; drivers see `4:<db>:<id>` / `5:<db>:<id>`
 * (Neo4j's form). Rewriting each `elementId(x)` call keeps the two consistent, so
 * `WHERE elementId(n) = $id` works with an id a driver got from a node.
 */
export function rewriteElementIds(query: string, databaseUuid: string): string {
  if (!/elementId\s*\(/i.test(query)) return query;
  let out = '';
  let i = 0;
  while (i < query.length) {
    const skip = skipLiteral(query, i);
    if (skip >= 0) {
      out += query.slice(i, skip);
      i = skip;
      continue;
    }
    const m = /^elementId\s*\(/i.exec(query.slice(i, i + 40));
    const prev = i > 0 ? query[i - 1]! : ' ';
    if (m && !/[A-Za-z0-9_.$]/.test(prev)) {
      // Find the matching parenthesis, stepping over literals.
      let depth = 1;
      let j = i + m[0].length;
      while (j < query.length && depth > 0) {
        const sk = skipLiteral(query, j);
        if (sk >= 0) {
          j = sk;
          continue;
        }
        if (query[j] === '(') depth++;
        else if (query[j] === ')') depth--;
        j++;
      }
      if (depth !== 0) return query; // unbalanced: let the engine report the syntax error
      const inner = rewriteElementIds(query.slice(i + m[0].length, j - 1), databaseUuid);
      // 'e:' first: the database UUID is hex, so it can hold 'e:' but never 'n:'.
      out += `replace(replace(elementId(${inner}), 'e:', '5:${databaseUuid}:'), 'n:', '4:${databaseUuid}:')`;
      i = j;
      continue;
    }
    out += query[i];
    i++;
  }
  return out;
}

/** Undoes `rewriteElementIds` in a column name, so `RETURN elementId(n)` is still called that. */
export function unrewriteElementIds(text: string, databaseUuid: string): string {
  if (!text.includes('replace(replace(elementId(')) return text;
  return text
    .split('replace(replace(elementId(')
    .join('elementId(')
    .split(`), 'e:', '5:${databaseUuid}:'), 'n:', '4:${databaseUuid}:')`)
    .join(')');
}

// ---- query classification --------------------------------------------------------------------

/** The query's words outside strings, comments and backticked names, upper-cased. */
function keywords(query: string): string[] {
  const stripped = query
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`/g, ' ');
  return stripped.toUpperCase().match(/[A-Z_][A-Z0-9_]*/g) ?? [];
}

const WRITE_WORDS = new Set(['CREATE', 'MERGE', 'SET', 'DELETE', 'REMOVE', 'DETACH', 'INSERT', 'DROP', 'FOREACH']);
const SCHEMA_OBJECTS = new Set(['INDEX', 'CONSTRAINT']);

interface Classification {
  writes: boolean;
  schema: { added?: 'indexes-added' | 'constraints-added'; removed?: 'indexes-removed' | 'constraints-removed' } | null;
}

export function classifyQuery(query: string): Classification {
  const words = keywords(query);
  const writes = words.some((w) => WRITE_WORDS.has(w));
  let schema: Classification['schema'] = null;
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i]!;
    if (w !== 'CREATE' && w !== 'DROP') continue;
    // CREATE [RANGE|TEXT|POINT|VECTOR|FULLTEXT|LOOKUP] INDEX / CREATE CONSTRAINT / DROP INDEX ...
    const next = words.slice(i + 1, i + 3).find((x) => SCHEMA_OBJECTS.has(x));
    if (!next) continue;
    const kind = next === 'INDEX' ? 'indexes' : 'constraints';
    schema = w === 'CREATE' ? { added: `${kind}-added` } : { removed: `${kind}-removed` };
    break;
  }
  return { writes, schema };
}

type Counters = GrafeoModule.WriteCounters;

function statsOf(counters: Counters | undefined, cls: Classification): Partial<Record<StatKey, number>> {
  const stats: Partial<Record<StatKey, number>> = {};
  const put = (k: StatKey, n: number | undefined) => {
    if (n) stats[k] = n;
  };
  if (counters) {
    put('nodes-created', counters.nodesCreated);
    put('nodes-deleted', counters.nodesDeleted);
    put('relationships-created', counters.edgesCreated);
    put('relationships-deleted', counters.edgesDeleted);
    put('properties-set', counters.propertiesSet);
    put('labels-added', counters.labelsAdded);
    put('labels-removed', counters.labelsRemoved);
  }
  if (cls.schema?.added) stats[cls.schema.added] = 1;
  if (cls.schema?.removed) stats[cls.schema.removed] = 1;
  return stats;
}

function countersWrote(c: Counters | undefined): boolean {
  return !!c && (c.nodesCreated || c.nodesDeleted || c.edgesCreated || c.edgesDeleted || c.propertiesSet || c.labelsAdded || c.labelsRemoved) > 0;
}

// ---- the engine ------------------------------------------------------------------------------

type GrafeoDB = GrafeoModule.GrafeoDB;
type GrafeoTx = GrafeoModule.Transaction;
type GrafeoResult = GrafeoModule.QueryResult;


export type QueryCheck = (query: string) => Promise<{ notifications: Notification[] }>;

export interface OpenEngineOptions {
  dataDir: string;
  /** The whole database refuses writes (`--read-only`). */
  readOnly?: boolean;
  /** Called before the engine sees a query; throws a CypherError to refuse it. */
  checkQuery?: QueryCheck;
  /** Answer what tools send on connect (`SHOW DATABASES`, `CALL dbms.components()`, …) without the engine. */
  shims?: Omit<ShimContext, 'readOnly'>;
  /** What to do about a query still running `graceMs` after its timeout failed the client. */
  stuckQuery?: StuckQueryPolicy;
  /** The only directory `LOAD CSV FROM 'file:///…'` may read (Neo4j's import directory); none: file URLs are refused. */
  importDir?: string;
}

/**
 * Grafeo cannot cancel a query, and it runs one query at a time, so a query far past its timeout holds up
 * the whole database. Past `graceMs` the owner is told (the graph-server exits and its supervisor starts it
 * again: committed data is in the WAL, reopening takes milliseconds).
 */
export interface StuckQueryPolicy {
  graceMs: number;
  onStuck(info: { timeoutMs: number; overdueMs: number }): void;
}

export { DATABASE_FILE };
const ID_FILE = DATABASE_ID_FILE;

/** The database's UUID, made on first start and kept in the data dir: element ids carry it. */
export async function databaseUuid(dataDir: string): Promise<string> {
  const file = join(dataDir, ID_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f-]{36}$/i.test(text)) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  await writeFile(`${file}.tmp`, id + '\n', { mode: 0o644 });
  await rename(`${file}.tmp`, file);
  return id;
}

export interface EngineCounts {
  nodes: number;
  relationships: number;
}

export class GrafeoEngine implements GraphEngine {
  private closed = false;
  private readonly open = new Set<GrafeoTransaction>();
  private readonly running = new Set<Promise<unknown>>();
  private begun = 0;
  private readonly ids: ElementIds;
  /** @internal */ stuckQuery: StuckQueryPolicy | null = null;
  /** @internal */ importDir: string | null = null;

  constructor(
    private readonly db: GrafeoDB,
    readonly databaseUuid: string,
    readonly path: string,
    private readonly readOnly: boolean,
    readonly checkQuery: QueryCheck | undefined,
    /** @internal */ readonly shims: ShimContext | null = null,
  ) {
    this.ids = elementIds(databaseUuid);
  }

  async run(query: string, params: ValueMap, options: EngineQueryOptions): Promise<QueryResult & { bookmark: string }> {
    const tx = await this.begin(options);
    try {
      const result = await tx.run(query, params);
      const bookmark = await tx.commit();
      return { ...result, bookmark };
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
  }

  async begin(options: EngineQueryOptions): Promise<GrafeoTransaction> {
    this.assertOpen();
    const tx = new GrafeoTransaction(this, this.db.beginTransaction(), { ...options, readOnly: options.readOnly || this.readOnly });
    this.open.add(tx);
    this.begun++;
    return tx;
  }

  /** @internal */ forget(tx: GrafeoTransaction): void {
    this.open.delete(tx);
  }

  /** @internal */ convert(result: GrafeoResult): { fields: string[]; records: Value[][]; approximate: ResultConverter['approximate'] } {
    const converter = new ResultConverter(this.ids);
    const fields = result.columns.map((f) => unrewriteElementIds(f, this.databaseUuid));
    if (fields.length === 0) return { fields, records: [], approximate: converter.approximate };
    const plainRows = result.rows();
    const table = tableFromIPC(result.toArrowIPC());
    const columns = table.schema.fields.map((f, i) => ({ type: f.type as DataType, vector: table.getChildAt(i) }));
    const records: Value[][] = plainRows.map((row, r) =>
      fields.map((_, c) => {
        const col = columns[c];
        if (!col || !col.vector) return converter.plain(row[c]);
        return converter.value(col.type, col.vector.get(r), row[c]);
      }),
    );
    return { fields, records, approximate: converter.approximate };
  }

  bookmark(): string {
    return `FB:${this.databaseUuid}:${this.db.currentEpoch()}`;
  }

  counts(): EngineCounts {
    this.assertOpen();
    return { nodes: this.db.nodeCount(), relationships: this.db.edgeCount() };
  }

  checkpoint(): void {
    this.assertOpen();
    this.db.walCheckpoint();
  }

  /** An online full backup into `dir` (created if missing): `backup_full_0000.grafeo` + manifest. */
  async backup(dir: string): Promise<void> {
    this.assertOpen();
    await mkdir(dir, { recursive: true });
    this.db.backupFull(dir);
  }

  get openTransactions(): number {
    return this.open.size;
  }

  /** Transactions begun since the engine opened (every query runs in one): what tells activity from idleness. */
  get transactionsBegun(): number {
    return this.begun;
  }

  /** Rolls back what is open, checkpoints the WAL into the file, and closes it. */
  /** @internal Engine queries still running, timed-out ones included: close() waits for them. */
  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = () => this.running.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Rolls back what is open, checkpoints the WAL into the file, and closes it. Grafeo cannot stop
   * a running query, so close waits for those up to `graceMs`; committed data is in the WAL either way.
   */
  async close({ graceMs = 10_000 }: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    // A query still running past the grace would hold its transaction's rollback: drop those
    // unfinished (closing the database discards them) instead of waiting.
    for (const tx of [...this.open]) {
      if (tx.busy) tx.abandon();
      else await tx.rollback().catch(() => undefined);
    }
    try {
      this.db.walCheckpoint();
    } finally {
      this.db.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CypherError('Neo.TransientError.General.DatabaseUnavailable', 'The database is shutting down', '08N07');
  }
}

export class GrafeoTransaction implements EngineTransaction {
  private state: 'open' | 'committed' | 'rolledBack' | 'failed' = 'open';
  /** The engine query still running (a timed-out one keeps running: Grafeo cannot cancel). */
  private running: Promise<unknown> | null = null;
  private readonly deadline: number | null;
  private failure: CypherError | null = null;

  constructor(
    private readonly engine: GrafeoEngine,
    private readonly tx: GrafeoTx,
    private readonly options: EngineQueryOptions,
  ) {
    this.deadline = options.timeoutMs && options.timeoutMs > 0 ? Date.now() + options.timeoutMs : null;
  }

  async run(query: string, params: ValueMap): Promise<QueryResult> {
    this.assertUsable();
    if (this.running) await this.running.catch(() => undefined);
    if (this.engine.shims) {
      const shimmed = answerToolShim(query, this.engine.shims, this.options.username);
      if (shimmed) return shimmed;
    }
    const cls = classifyQuery(query);
    if (this.options.readOnly && cls.writes) {
      // Like any error in Neo4j, a refused write ends its transaction.
      const error = forbidden();
      this.fail(error);
      throw error;
    }
    const notifications: Notification[] = [];
    if (this.engine.checkQuery) {
      try {
        notifications.push(...(await this.engine.checkQuery(query)).notifications);
      } catch (err) {
        // As in Neo4j, a refused query fails its transaction: only a rollback is accepted after it.
        const error = toCypherError(err);
        this.fail(error);
        throw error;
      }
    }
    const engineParams = toEngineParams(params);
    this.assertUsable();
    let files: ConfinedQuery;
    try {
      files = confineLoadCsv(this.engine.shims ? rewriteToolQuery(query) : query, this.engine.importDir);
    } catch (err) {
      const error = toCypherError(err);
      this.fail(error);
      throw error;
    }
    const engineQuery = rewriteElementIds(files.query, this.engine.databaseUuid);
    let result: GrafeoResult;
    let exec: Promise<GrafeoResult> | null = null;
    try {
      if (files.checkPlan) {
        const plan = await this.withDeadline(this.engine.track(this.tx.executeCypher(`EXPLAIN ${engineQuery}`, engineParams)));
        assertPlanReadsOnly(String(plan.toArray()[0]?.plan ?? ''), files.approved);
      }
      exec = this.engine.track(this.tx.executeCypher(engineQuery, engineParams));
      this.running = exec;
      result = await this.withDeadline(exec);
    } catch (err) {
      const error = toCypherError(err);
      const told = files.approved.size ? new CypherError(error.code, withUserUrls(error.message, files.approved), error.gqlStatus, error.position) : error;
      this.fail(told);
      throw told;
    } finally {
      if (this.running === exec && this.state !== 'failed') this.running = null;
    }
    this.running = null;
    const counters = result.counters;
    if (this.options.readOnly && countersWrote(counters)) {
      const error = forbidden();
      this.fail(error);
      throw error;
    }
    let converted: { fields: string[]; records: Value[][] };
    try {
      converted = this.engine.convert(result);
      const { nodes, rels } = (converted as ReturnType<GrafeoEngine['convert']>).approximate;
      if (nodes.size || rels.size) converted.records = await this.exactEntities(converted.records, nodes, rels);
    } catch (err) {
      const error =
        err instanceof CypherError
          ? err
          : new CypherError('Neo.DatabaseError.Statement.ExecutionFailed', `Could not read the result: ${(err as Error).message}`);
      this.fail(error);
      throw error;
    }
    const queryType: QueryType = cls.schema ? 's' : cls.writes ? (converted.fields.length ? 'rw' : 'w') : 'r';
    const summary: QuerySummary = { stats: statsOf(counters, cls), queryType, notifications };
    return { ...converted, summary };
  }

  async commit(): Promise<string> {
    this.assertUsable();
    if (this.running) await this.running.catch(() => undefined);
    try {
      this.tx.commit();
    } catch (err) {
      this.state = 'failed';
      this.finish();
      throw toCypherError(err);
    }
    this.state = 'committed';
    this.finish();
    return this.engine.bookmark();
  }

  async rollback(): Promise<void> {
    if (this.state === 'committed' || this.state === 'rolledBack') return;
    if (this.state === 'failed') {
      // fail() already rolls the engine transaction back once its query ends; a timed-out query
      // may run on for a while and the client should not wait for it.
      this.state = 'rolledBack';
      this.finish();
      return;
    }
    if (this.running) await this.running.catch(() => undefined);
    this.running = null;
    try {
      if (this.tx.isActive) this.tx.rollback();
    } finally {
      this.state = 'rolledBack';
      this.finish();
    }
  }

  /**
   * Paths (and mixed lists) come from Grafeo's plain form, which reads a whole Float as an Integer:
   * fetch their nodes and relationships again through Arrow, in this transaction, and swap them in.
   * Entities gone by now (deleted by the query) keep their approximate form.
   */
  private async exactEntities(records: Value[][], nodes: Set<bigint>, rels: Map<bigint, bigint>): Promise<Value[][]> {
    const exact = new Map<string, Node | Relationship>();
    const collect = async (query: string, params: Record<string, unknown>) => {
      const res = await this.withDeadline(this.engine.track(this.tx.executeCypher(query, params)));
      for (const [v] of this.engine.convert(res).records) if (v instanceof Node || v instanceof Relationship) exact.set(v.elementId, v);
    };
    if (nodes.size) await collect('MATCH (n) WHERE id(n) IN $ids RETURN n', { ids: [...nodes] });
    if (rels.size) {
      await collect('MATCH (a)-[r]->() WHERE id(a) IN $starts AND id(r) IN $ids RETURN r', {
        starts: [...new Set(rels.values())],
        ids: [...rels.keys()],
      });
    }
    const swap = (v: Value): Value => {
      if (v instanceof Node || v instanceof Relationship) return exact.get(v.elementId) ?? v;
      if (v instanceof Path) return new Path(v.nodes.map((n) => swap(n) as Node), v.rels.map((r) => swap(r) as Relationship));
      if (Array.isArray(v)) return v.map(swap);
      if (isValueMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
      return v;
    };
    return records.map((row) => row.map(swap));
  }

  private finish(): void {
    this.engine.forget(this);
  }

  /** @internal Whether an engine query of this transaction is still running. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** @internal At shutdown: forget the transaction without waiting for its running query. */
  abandon(): void {
    this.state = 'rolledBack';
    this.finish();
  }

  /** After a failure the transaction can only be rolled back (as in Neo4j); roll back in the background once the engine is done. */
  private fail(error: CypherError): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    const pending = this.running ?? Promise.resolve();
    void pending
      .catch(() => undefined)
      .then(() => {
        this.running = null;
        if (this.tx.isActive) this.tx.rollback();
      })
      .catch(() => undefined);
  }

  private assertUsable(): void {
    if (this.state === 'committed' || this.state === 'rolledBack') {
      throw new CypherError('Neo.ClientError.Transaction.TransactionNotFound', 'The transaction has already been closed', '25N03');
    }
    if (this.state === 'failed') {
      throw new CypherError(
        'Neo.ClientError.Transaction.TransactionTerminated',
        `The transaction can only be rolled back after an earlier error${this.failure ? `: ${this.failure.message}` : ''}`,
        '25N06',
      );
    }
    if (this.deadline !== null && Date.now() >= this.deadline) {
      const error = timedOut(this.options.timeoutMs!);
      this.fail(error);
      throw error;
    }
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    if (this.deadline === null) return p;
    const left = this.deadline - Date.now();
    const timeoutMs = this.options.timeoutMs!;
    const stuck = this.engine.stuckQuery;
    let watchdog: NodeJS.Timeout | undefined;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(timedOut(timeoutMs));
        if (stuck) {
          watchdog = setTimeout(() => stuck.onStuck({ timeoutMs, overdueMs: stuck.graceMs }), stuck.graceMs);
          watchdog.unref();
        }
      }, Math.max(0, left));
      const settle = () => {
        clearTimeout(timer);
        clearTimeout(watchdog);
      };
      p.then(
        (v) => {
          settle();
          resolve(v);
        },
        (e: unknown) => {
          settle();
          reject(e as Error);
        },
      );
    });
  }
}

/** Opens (or creates) the database in `dataDir`. One process per database file: a second open fails. */
export async function openGrafeoEngine(options: OpenEngineOptions): Promise<GrafeoEngine> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const uuid = await databaseUuid(options.dataDir);
  const path = join(options.dataDir, DATABASE_FILE);
  const { GrafeoDB } = grafeo();
  let db: GrafeoDB;
  try {
    db = GrafeoDB.create(path);
  } catch (err) {
    throw new Error(`cannot open the database at ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    // Bound the WAL (and so the replay time of a restart) without waiting for a shutdown.
    db.setCheckpointTriggers({ intervalMs: 5 * 60_000, walBytes: 64 * 1024 * 1024 });
  } catch {
    // Only refused for in-memory or read-only databases, which this is not.
  }
  const readOnly = options.readOnly ?? false;
  const shims = options.shims ? { ...options.shims, readOnly } : null;
  const engine = new GrafeoEngine(db, uuid, path, readOnly, options.checkQuery, shims);
  engine.stuckQuery = options.stuckQuery ?? null;
  engine.importDir = options.importDir ?? null;
  return engine;
}

// ---- tool shims ------------------------------------------------------------------------------
// What Neo4j tools (Browser, Desktop, cypher-shell, drivers' examples) send on connect and the
// engine lacks (spec bolt-server.md §8), answered here without the engine. Only whole queries of
// the shapes below are answered; anything else falls through to the engine (and its error).

/** What the shims say about this server; from the graph-server (main.ts). */
export interface ShimContext {
  /** "host:port" of Bolt as clients should use it. */
  boltAddress(): string;
  readOnly: boolean;
}

/** QueryOptions plus the authenticated user, for `SHOW CURRENT USER` (the front ends may pass it). */
export type EngineQueryOptions = QueryOptions & { username?: string };

export const SHIM_KERNEL_VERSION = '5.26.0';

type ShimRow = Record<string, Value>;

interface ShimTable {
  /** Columns in Neo4j's order when the query has no YIELD/RETURN. */
  columns: string[];
  rows: ShimRow[];
}

function databaseRows(ctx: ShimContext): ShimRow[] {
  const row = (name: string, type: string, isDefault: boolean): ShimRow => ({
    name,
    type,
    aliases: [],
    access: ctx.readOnly && name !== 'system' ? 'read-only' : 'read-write',
    address: ctx.boltAddress(),
    role: 'primary',
    writer: true,
    requestedStatus: 'online',
    currentStatus: 'online',
    statusMessage: '',
    default: isDefault,
    home: isDefault,
    constituents: [],
  });
  return [row('neo4j', 'standard', true), row('system', 'system', false)];
}

const DATABASE_COLUMNS = ['name', 'type', 'aliases', 'access', 'address', 'role', 'writer', 'requestedStatus', 'currentStatus', 'statusMessage', 'default', 'home', 'constituents'];

// Browser settings Neo4j reports; no outgoing connections or telemetry from a self-hosted platform.
const CLIENT_CONFIG: readonly [string, string, string][] = [
  ['browser.allow_outgoing_connections', 'Configure the policy for outgoing Neo4j Browser connections.', 'false'],
  ['browser.credential_timeout', 'Configure the Neo4j Browser to time out logged in users after this idle period.', '0s'],
  ['browser.post_connect_cmd', 'Commands to be run when Neo4j Browser successfully connects to this server.', ''],
  ['browser.remote_content_hostname_whitelist', 'Whitelist of hosts for the Neo4j Browser to be allowed to fetch content from.', 'guides.neo4j.com,localhost'],
  ['browser.retain_connection_credentials', 'Configure the Neo4j Browser to store or not store user credentials.', 'true'],
  ['browser.retain_editor_history', 'Configure the Neo4j Browser to store or not store editor history.', 'true'],
  ['client.allow_telemetry', 'Configure client applications (e.g. Browser and Bloom) to send Product Analytics data.', 'false'],
  ['dbms.security.auth_enabled', 'Enable auth requirement to access Neo4j.', 'true'],
];

/** The table a shimmed head (`CALL dbms.components()`, `SHOW DATABASES`, …) produces, or null. */
function shimTable(head: string, ctx: ShimContext, username: string | undefined): ShimTable | null {
  const h = head.toLowerCase().replace(/\s+/g, ' ');
  if (h === 'call dbms.components()' || h === 'call dbms.components') {
    return { columns: ['name', 'versions', 'edition'], rows: [{ name: 'Neo4j Kernel', versions: [SHIM_KERNEL_VERSION], edition: 'community' }] };
  }
  if (h === 'show databases' || h === 'show database') return { columns: DATABASE_COLUMNS, rows: databaseRows(ctx) };
  if (h === 'show default database' || h === 'show home database') {
    return { columns: DATABASE_COLUMNS.filter((c) => c !== 'default' && c !== 'home'), rows: databaseRows(ctx).filter((r) => r.default === true) };
  }
  const named = /^show databases? (`?)([a-z0-9._-]+)\1$/.exec(h);
  if (named) return { columns: DATABASE_COLUMNS, rows: databaseRows(ctx).filter((r) => r.name === named[2]) };
  // Community edition: no roles and no suspension, as Neo4j Community answers.
  if (h === 'call dbms.showcurrentuser()' || h === 'call dbms.showcurrentuser') {
    return { columns: ['username', 'roles', 'flags'], rows: [{ username: username ?? null, roles: null, flags: [] }] };
  }
  if (h === 'show current user' || h === 'show current users') {
    return {
      columns: ['user', 'roles', 'passwordChangeRequired', 'suspended', 'home'],
      rows: [{ user: username ?? null, roles: null, passwordChangeRequired: false, suspended: null, home: null }],
    };
  }
  if (h === 'call dbms.clientconfig()' || h === 'call dbms.clientconfig') {
    return { columns: ['name', 'description', 'value', 'dynamic'], rows: CLIENT_CONFIG.map(([name, description, value]) => ({ name, description, value, dynamic: false })) };
  }
  return null;
}

const SHIM_HEAD =
  /^\s*(call\s+dbms\s*\.\s*(?:components|showCurrentUser|clientConfig)\s*(?:\(\s*\))?|show\s+(?:current\s+users?|(?:default|home)\s+database|databases?(?:\s+(?!yield\b|where\b|return\b)`?[A-Za-z0-9._-]+`?)?))(?=\s|;|$)/i;
const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const ITEM = new RegExp(`^(${IDENT})(?:\\s*\\[\\s*(\\d+)\\s*\\])?(?:\\s+AS\\s+(${IDENT}))?$`, 'i');

interface ShimItem {
  source: string;
  index: number | null;
  name: string;
}

function shimItems(list: string, allowIndex: boolean): ShimItem[] | null {
  const items: ShimItem[] = [];
  for (const part of list.split(',')) {
    const m = ITEM.exec(part.trim());
    if (!m || (m[2] !== undefined && !allowIndex)) return null;
    const source = m[1]!;
    const index = m[2] === undefined ? null : Number(m[2]);
    items.push({ source, index, name: m[3] ?? (index === null ? source : `${source}[${index}]`) });
  }
  return items;
}

/**
 * Answers a tool query from its shim, or returns null for the engine to run it. Understood after
 * the head: `YIELD *` or `YIELD a [AS b], …`, then `UNWIND list AS x`, then `RETURN a [AS b], x[0] AS y, …`.
 */
export function answerToolShim(query: string, ctx: ShimContext, username?: string): QueryResult | null {
  if (query.length > 500) return null;
  const text = query.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim().replace(/;\s*$/, '');
  const head = SHIM_HEAD.exec(text);
  if (!head) return null;
  const table = shimTable(head[1]!, ctx, username);
  if (!table) return null;
  let rest = text.slice(head[0].length).trim();
  let columns = table.columns;
  let rows = table.rows.map((r) => ({ ...r }));

  const yieldClause = /^YIELD\s+(\*|.+?)(?=\s+(?:WHERE|UNWIND|RETURN)\b|$)/is.exec(rest);
  if (yieldClause) {
    rest = rest.slice(yieldClause[0].length).trim();
    if (yieldClause[1] !== '*') {
      const items = shimItems(yieldClause[1]!, false);
      if (!items || items.some((i) => !columns.includes(i.source))) return null;
      rows = rows.map((r) => Object.fromEntries(items.map((i) => [i.name, r[i.source] ?? null])));
      columns = items.map((i) => i.name);
    }
  }
  // `WHERE column = 'text'` (or = true/false), e.g. `SHOW DATABASES YIELD * WHERE name = 'neo4j'`.
  const where = new RegExp(`^WHERE\\s+(${IDENT})\\s*=\\s*(?:'([^'\\\\]*)'|"([^"\\\\]*)"|(true|false))(?=\\s|$)`, 'i').exec(rest);
  if (where) {
    if (!columns.includes(where[1]!)) return null;
    rest = rest.slice(where[0].length).trim();
    const wanted: Value = where[4] !== undefined ? where[4].toLowerCase() === 'true' : (where[2] ?? where[3])!;
    rows = rows.filter((r) => r[where[1]!] === wanted);
  }
  const unwind = new RegExp(`^UNWIND\\s+(${IDENT})\\s+AS\\s+(${IDENT})(?=\\s|$)`, 'i').exec(rest);
  if (unwind) {
    if (!yieldClause || !columns.includes(unwind[1]!)) return null;
    rest = rest.slice(unwind[0].length).trim();
    const [from, to] = [unwind[1]!, unwind[2]!];
    rows = rows.flatMap((r) => (Array.isArray(r[from]) ? (r[from] as Value[]).map((v) => ({ ...r, [to]: v })) : []));
    columns = [...columns, to];
  }
  const ret = /^RETURN\s+(.+)$/is.exec(rest);
  if (ret) {
    // As in Neo4j, RETURN after a procedure call or a SHOW command needs YIELD first.
    if (!yieldClause) return null;
    rest = '';
    const items = shimItems(ret[1]!, true);
    if (!items || items.some((i) => !columns.includes(i.source))) return null;
    rows = rows.map((r) =>
      Object.fromEntries(
        items.map((i) => {
          const v = r[i.source] ?? null;
          return [i.name, i.index === null ? v : Array.isArray(v) ? (v[i.index] ?? null) : null];
        }),
      ),
    );
    columns = items.map((i) => i.name);
  }
  if (rest !== '') return null;
  return {
    fields: columns,
    records: rows.map((r) => columns.map((c) => r[c] ?? null)),
    summary: { stats: {}, queryType: 'r', notifications: [] },
  };
}

// Neo4j Browser's and Neo4j's editor tooling's metadata query: a UNION ALL of
// `CALL db.labels() YIELD label RETURN COLLECT(label)[..1000] AS result` parts. The engine cannot
// index an aggregate in the same RETURN, so each part aggregates in a WITH first.
const METADATA_PART = /^\s*CALL\s+db\s*\.\s*(labels|relationshipTypes|propertyKeys)\s*\(\s*\)\s+YIELD\s+([A-Za-z_][A-Za-z0-9_]*)\s+RETURN\s+COLLECT\s*\(\s*\2\s*\)\s*\[\s*\.\.\s*(\d+)\s*\]\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/i;

/** The engine's form of a tool's metadata query, or the query unchanged. */
export function rewriteToolQuery(query: string): string {
  if (query.length > 2000 || !/COLLECT\s*\(/i.test(query)) return query;
  const parts = query.trim().replace(/;\s*$/, '').split(/\bUNION\s+ALL\b/i);
  const rewritten: string[] = [];
  for (const part of parts) {
    const m = METADATA_PART.exec(part);
    if (!m) return query;
    rewritten.push(`CALL db.${m[1]}() YIELD ${m[2]} WITH collect(${m[2]}) AS shim_collected RETURN shim_collected[..${m[3]}] AS ${m[4]}`);
  }
  return rewritten.join(' UNION ALL ');
}
