// Neo4j parses and plans a statement's literals slowly: one `UNWIND [ …1000 maps… ] AS row CREATE …` batch of
// an export (~100 KiB) took 3–18 s to run, a 3,000-node script 60–90 s, where the same rows as a parameter take
// milliseconds (and the statement's plan is cached across batches). So the loader turns the leading literal
// list of an `UNWIND [ … ] AS x` statement into the parameter `$rows`, exactly: our values, then the driver's.
// Anything the reader does not know (an expression, a function it does not read exactly) leaves the statement
// as it was, to run as written.
import { fromTypedJson } from '../../http/json-values.js';
import { CypherPoint, type Value, type ValueMap } from '../../values.js';
import { toDriver } from './driver-values.js';

class NotALiteral extends Error {}

const TEMPORAL: Record<string, string> = { date: 'Date', time: 'Time', localtime: 'LocalTime', localdatetime: 'LocalDateTime', datetime: 'OffsetDateTime', duration: 'Duration' };
const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  private skip(): void {
    for (;;) {
      const rest = this.text.slice(this.pos, this.pos + 2);
      if (/^\s/.test(rest)) this.pos++;
      else if (rest === '//') this.pos = this.text.indexOf('\n', this.pos) < 0 ? this.text.length : this.text.indexOf('\n', this.pos);
      else if (rest === '/*') {
        const end = this.text.indexOf('*/', this.pos + 2);
        if (end < 0) throw new NotALiteral();
        this.pos = end + 2;
      } else return;
    }
  }

  peek(): string {
    this.skip();
    return this.text[this.pos] ?? '';
  }

  expect(s: string): void {
    this.skip();
    if (!this.text.startsWith(s, this.pos)) throw new NotALiteral();
    this.pos += s.length;
  }

  private string(): string {
    const quote = this.text[this.pos++];
    let out = '';
    for (;;) {
      const ch = this.text[this.pos++];
      if (ch === undefined) throw new NotALiteral();
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = this.text[this.pos++] ?? '';
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos, this.pos + 4))) {
        out += String.fromCharCode(parseInt(this.text.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else throw new NotALiteral();
    }
  }

  private name(): string {
    this.skip();
    if (this.text[this.pos] === '`') {
      const end = /^`((?:[^`]|``)*)`/.exec(this.text.slice(this.pos));
      if (!end) throw new NotALiteral();
      this.pos += end[0].length;
      return end[1]!.replace(/``/g, '`');
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) throw new NotALiteral();
    this.pos += m[0].length;
    return m[0];
  }

  private map(): ValueMap {
    this.expect('{');
    const out: ValueMap = {};
    if (this.peek() === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      const key = this.name();
      this.expect(':');
      out[key] = this.value();
      if (this.peek() === ',') this.pos++;
      else break;
    }
    this.expect('}');
    return out;
  }

  value(): Value {
    const ch = this.peek();
    if (ch === '[') {
      this.pos++;
      const out: Value[] = [];
      if (this.peek() === ']') {
        this.pos++;
        return out;
      }
      for (;;) {
        out.push(this.value());
        if (this.peek() === ',') this.pos++;
        else break;
      }
      this.expect(']');
      return out;
    }
    if (ch === '{') return this.map();
    if (ch === "'" || ch === '"') return this.string();
    const special = /^\((-?)1\.0\/0\.0\)|^\(0\.0\/0\.0\)/.exec(this.text.slice(this.pos));
    if (special) {
      this.pos += special[0].length;
      return special[0] === '(0.0/0.0)' ? NaN : special[1] ? -Infinity : Infinity;
    }
    const number = /^-?(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)(?![\w.])/.exec(this.text.slice(this.pos));
    if (number) {
      this.pos += number[0].length;
      if (/[.eE]/.test(number[0])) return Number(number[0]);
      const n = BigInt(number[0]);
      if (n > 9223372036854775807n || n < -9223372036854775808n) throw new NotALiteral();
      return n;
    }
    const word = this.name().toLowerCase();
    if (word === 'true' || word === 'false') return word === 'true';
    if (word === 'null') return null;
    this.expect('(');
    let result: Value;
    if (word === 'point') {
      const m = this.map();
      const num = (v: Value | undefined) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);
      const [srid, x, y, z] = [m.srid, num(m.x), num(m.y), num(m.z)];
      if (typeof srid !== 'bigint' || x === undefined || y === undefined || Object.keys(m).length !== (m.z === undefined ? 3 : 4)) throw new NotALiteral();
      result = new CypherPoint(srid, x, y, z ?? null);
    } else if (word in TEMPORAL && (this.peek() === "'" || this.peek() === '"')) {
      const text = this.string();
      // A zone without an offset needs the zone rules to place it, which Neo4j has: leave it to Neo4j.
      if (word === 'datetime' && /\[/.test(text) && !/(?:[+-]\d\d:?\d\d(?::?\d\d)?|Z)\[/.test(text)) throw new NotALiteral();
      if ((word === 'time' || word === 'datetime') && !/(?:[+-]\d\d:?\d\d(?::?\d\d)?|Z)(?:\[.*\])?$/.test(text)) throw new NotALiteral();
      try {
        result = fromTypedJson({ $type: TEMPORAL[word], _value: text });
      } catch {
        throw new NotALiteral();
      }
    } else throw new NotALiteral();
    this.expect(')');
    return result;
  }
}

/**
 * `UNWIND [ …literals… ] AS x …` as `UNWIND $rows AS x …` with `rows` the list (driver values); null when
 * the statement is not of that shape or its list holds anything but plain literals.
 */
export function unwindLiteralAsParameter(statement: string): { statement: string; parameters: { rows: unknown } } | null {
  const head = /^\s*UNWIND\s*(?=\[)/i.exec(statement);
  if (!head) return null;
  const reader = new Reader(statement);
  reader.pos = head[0].length;
  try {
    const rows = reader.value();
    const rest = statement.slice(reader.pos);
    if (!/^\s+AS\s/i.test(rest)) return null;
    return { statement: `UNWIND $rows${rest}`, parameters: { rows: toDriver(rows) } };
  } catch (err) {
    if (err instanceof NotALiteral) return null;
    throw err;
  }
}
