// Grafeo results as the shared `Value` model.
//
// Grafeo gives each result twice: Arrow IPC (exact Integer vs Float, nanosecond times) and plain
// rows (`rows()`, which lose Integer vs Float but keep what Arrow flattens: paths come as text in
// Arrow, mixed lists as lists of text, offsets of times and datetimes are only in the plain text).
// So we walk both side by side and take each fact from the form that keeps it.
import type { DataType, Field, Vector } from 'apache-arrow';
import { arrow } from './arrow.js';
import {
  CypherDate,
  CypherDateTime,
  CypherDuration,
  CypherLocalDateTime,
  CypherLocalTime,
  CypherTime,
  Node,
  Path,
  Relationship,
  type Value,
  type ValueMap,
} from '../../values.js';
import type { ElementIds } from './element-ids.js';
import { MS_PER_DAY, NS_PER_SECOND, offsetOf, parseDateTimeText } from './temporal-text.js';

const { Type } = arrow;

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

/** A local datetime from its plain Date (whole milliseconds) and, when they agree, Arrow's microseconds. */
function localDateTime(date: Date, arrowMs: number | null): CypherLocalDateTime {
  const ms = BigInt(date.getTime());
  let seconds = ms / 1000n;
  let msOfSecond = ms % 1000n;
  if (msOfSecond < 0n) {
    msOfSecond += 1000n;
    seconds -= 1n;
  }
  const micros = arrowMs === null ? 0 : Math.round((arrowMs - date.getTime()) * 1000);
  const extra = micros >= 0 && micros < 1000 ? BigInt(micros) : 0n;
  return new CypherLocalDateTime(seconds, msOfSecond * 1_000_000n + extra * 1000n);
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
        // Grafeo's plain rows give a datetime as ISO text (exact to the microsecond, whatever the year)
        // and a local datetime as a JS Date (exact to the millisecond); Arrow's fractional milliseconds
        // carry the microseconds but lose them past the year 2255.
        if (typeof pv === 'string') {
          const exact = parseDateTimeText(pv);
          if (exact) return new CypherDateTime(exact.seconds, exact.nanoseconds, exact.offset, null);
        }
        const ms = timestampMs(av);
        if (pv instanceof Date) return localDateTime(pv, ms);
        if (ms === null) return null;
        const { seconds, nanoseconds } = splitMs(ms);
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
    // A list of nodes and relationships is one Arrow struct with the fields of both; the plain row
    // tells which one this element is.
    const has = isPlainObject(pv) ? (key: string) => key in pv : (key: string) => byName.has(key);
    if (has('_id') && has('_labels')) return this.node(byName, av, pv);
    if (has('_id') && has('_source') && has('_target') && has('_type')) return this.relationship(byName, av, pv);
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
    if (pv instanceof Date) return localDateTime(pv, null);
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
