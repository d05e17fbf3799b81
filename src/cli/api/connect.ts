// `allotrope databases connect <database>`: an interactive Cypher prompt over Bolt (neo4j-driver), with a
// history kept in the config dir and results as tables. Statements end with `;` and may span lines;
// `:exit` (or Ctrl-D) leaves. Fed from a pipe, it runs the statements it reads and exits (non-zero if one
// failed), so scripts can use it too.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Driver } from 'neo4j-driver';
import type { Allotrope, Database } from '../../sdk/index.js';
import { CliError } from '../errors.js';
import { configDir } from './context.js';
import { renderTable } from './output.js';
import type { Run } from './commands.js';

const HISTORY_LINES = 1000;

/** A driver value as a table cell: integers as numbers, nodes as `(:Label {props})`, the rest as JSON-ish text. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function' && 'low' in value && 'high' in value) return String(value);
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  const v = value as Record<string, unknown>;
  if (Array.isArray(value)) return `[${value.map(valueText).join(', ')}]`;
  if ('labels' in v && 'properties' in v) return `(${(v.labels as string[]).map((l) => `:${l}`).join('')} ${propsText(v.properties as Record<string, unknown>)})`;
  if ('type' in v && 'properties' in v && 'startNodeElementId' in v) return `[:${String(v.type)} ${propsText(v.properties as Record<string, unknown>)}]`;
  if ('segments' in v && 'start' in v) return `path of ${(v.segments as unknown[]).length}`;
  if (typeof (v as { toString?: unknown }).toString === 'function' && (v as object).constructor !== Object) return String(value);
  return propsText(v);
}

function propsText(props: Record<string, unknown>): string {
  return `{${Object.entries(props).map(([k, x]) => `${k}: ${typeof x === 'string' ? JSON.stringify(x) : valueText(x)}`).join(', ')}}`;
}

async function runStatement(driver: Driver, text: string, out: NodeJS.WritableStream): Promise<void> {
  const started = Date.now();
  const result = await driver.executeQuery(text, {}, { routing: 'WRITE' });
  const keys = result.keys as string[];
  if (keys.length > 0) out.write(renderTable(keys, result.records.map((rec) => keys.map((k) => valueText(rec.get(k))))));
  const c = result.summary.counters.updates();
  const changes = Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  out.write(`${result.records.length} row${result.records.length === 1 ? '' : 's'}${changes.length ? `, ${changes.join(', ')}` : ''} (${Date.now() - started} ms)\n`);
}

export function registerConnectCommand(
  db: Command,
  apiOptions: (c: Command) => Command,
  run: (fn: (r: Run, ...args: string[]) => Promise<void>) => (...args: unknown[]) => Promise<void>,
  resolveDatabase: (sdk: Allotrope, ref: string) => Promise<Database>,
): void {
  apiOptions(
    db
      .command('connect <database>')
      .description('open an interactive Cypher prompt on a database (statements end with ;, :exit leaves)')
      .option('--username <name>', 'database user', 'neo4j')
      .option('--password <password>', 'its password (default: ALLOTROPE_DB_PASSWORD, else asked for)')
      .option('--url <bolt-url>', 'connect here instead of the database\'s bolt URL'),
  ).action(
    run(async (r, ref) => {
      const database = await resolveDatabase(r.sdk, ref!);
      const interactive = process.stdin.isTTY === true;
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, historySize: HISTORY_LINES });
      // Attached now: lines a pipe delivers while the driver connects would otherwise be lost.
      const lines = rl[Symbol.asyncIterator]();
      let password: string = r.opts.password ?? process.env.ALLOTROPE_DB_PASSWORD ?? '';
      if (!password) {
        if (!interactive) throw new CliError('--password: give it, or set ALLOTROPE_DB_PASSWORD', 2);
        password = await new Promise<string>((resolve) => rl.question(`password for ${r.opts.username}@${database.name}: `, resolve));
      }
      const url = r.opts.url ?? database.connectionUrls.bolt;
      // Loaded here: the driver is the heaviest import of the API commands and only this one needs it.
      const { default: neo4j } = await import('neo4j-driver');
      const driver = neo4j.driver(url, neo4j.auth.basic(r.opts.username, password), { disableLosslessIntegers: false, logging: undefined });
      const historyFile = join(configDir(), 'cypher_history');
      let failures = 0;
      try {
        await driver.verifyConnectivity().catch((err: Error) => {
          throw new CliError(`cannot connect to ${url} as ${r.opts.username}: ${err.message.split('\n')[0]}`);
        });
        if (interactive) {
          try {
            const past = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_LINES);
            (rl as unknown as { history: string[] }).history.push(...past.reverse());
          } catch {
            // no history yet
          }
          process.stdout.write(`connected to ${database.name} (${url}) as ${r.opts.username}; end statements with ;  :exit leaves\n`);
        }
        const prompt = `${database.name}> `;
        rl.setPrompt(prompt);
        if (interactive) rl.prompt();
        let buffer = '';
        for await (const line of { [Symbol.asyncIterator]: () => lines }) {
          const trimmed = line.trim();
          if (buffer === '' && (trimmed === ':exit' || trimmed === ':quit')) break;
          buffer += (buffer ? '\n' : '') + line;
          // Run every complete statement in the buffer (a ; inside a string literal is rare enough for a prompt).
          while (buffer.includes(';')) {
            const at = buffer.indexOf(';');
            const statement = buffer.slice(0, at).trim();
            buffer = buffer.slice(at + 1).trimStart();
            if (!statement) continue;
            if (interactive) {
              mkdirSync(configDir(), { recursive: true, mode: 0o700 });
              appendFileSync(historyFile, `${statement.replace(/\n/g, ' ')};\n`, { mode: 0o600 });
            }
            try {
              await runStatement(driver, statement, process.stdout);
            } catch (err) {
              failures++;
              process.stderr.write(`error: ${(err as Error).message.split('\n')[0]}\n`);
            }
          }
          if (interactive) rl.setPrompt(buffer ? '... ' : prompt), rl.prompt();
        }
        if (buffer.trim()) {
          try {
            await runStatement(driver, buffer.trim(), process.stdout);
          } catch (err) {
            failures++;
            process.stderr.write(`error: ${(err as Error).message.split('\n')[0]}\n`);
          }
        }
      } finally {
        rl.close();
        await driver.close();
      }
      if (failures > 0 && !interactive) throw new CliError(`${failures} statement${failures === 1 ? '' : 's'} failed`);
    }),
  );
}
