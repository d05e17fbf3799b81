// The one output writer of the API commands: a table (default), JSON or YAML (-o json|yaml), so that every
// command prints the same way and scripts get the API's own objects.
import { stringify } from 'yaml';
import { CliError } from '../errors.js';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** A table column: its header and how to read the cell from an item. */
export type Column<T> = [header: string, cell: (item: T) => unknown];

export function parseOutputFormat(value: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) throw new CliError(`-o/--output: '${value}' is not one of ${OUTPUT_FORMATS.join(', ')}`, 2);
  return value as OutputFormat;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(cellText).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/[\r\n\t]/g, ' ');
}

/** Fixed-width text table; the last column is not padded. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines of an object (nested objects one level down as `key.sub`). */
function renderRecord(item: Record<string, unknown>): string {
  const rows: string[][] = [];
  for (const [k, v] of Object.entries(item)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) rows.push([`${k}.${k2}`, cellText(v2)]);
    } else rows.push([k, cellText(v)]);
  }
  const width = Math.max(0, ...rows.map((r) => r[0]!.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`.trimEnd()).join('\n') + '\n';
}

export interface Printer {
  format: OutputFormat;
  /** A list: a table of `columns`, or the items as JSON/YAML. */
  list<T>(items: T[], columns: Column<T>[]): void;
  /** One object: `key: value` lines, or JSON/YAML. */
  item(value: unknown): void;
  /** A line for people (left out of JSON/YAML output, which stays parseable). */
  note(text: string): void;
}

export function printer(format: OutputFormat, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Printer {
  const data = (value: unknown) => out.write(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value));
  return {
    format,
    list(items, columns) {
      if (format !== 'table') return void data(items);
      out.write(renderTable(columns.map((c) => c[0]), items.map((item) => columns.map((c) => cellText(c[1](item))))));
    },
    item(value) {
      if (format !== 'table') return void data(value ?? null);
      if (value && typeof value === 'object' && !Array.isArray(value)) out.write(renderRecord(value as Record<string, unknown>));
      else out.write(`${cellText(value)}\n`);
    },
    note(text) {
      (format === 'table' ? out : err).write(`${text}\n`);
    },
  };
}
