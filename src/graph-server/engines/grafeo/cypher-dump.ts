// Cypher export and import of a Grafeo database file. The dump is a plain script that Neo4j itself can
// load (cypher-shell, or Neo4j Browser with multi-statement mode): constraints and indexes, every node
// with its labels and typed properties, every relationship, written the way APOC's `cypher-shell`
// export does it — each node carries a temporary `UNIQUE IMPORT LABEL` + id so relationships can find
// their ends, and both are removed at the end. The loader runs such a script into a fresh Grafeo file.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DATABASE_FILE } from './database-files.js';
import { openGrafeoEngine, type GrafeoEngine } from './engine.js';
import { toPlainJson } from '../../http/json-values.js';
import {
  CypherDate,
  CypherDateTime,
  CypherDuration,
  CypherLocalDateTime,
  CypherLocalTime,
  CypherPoint,
  CypherTime,
  Node,
  Relationship,
  type Value,
  type ValueMap,
} from '../../values.js';

export const IMPORT_LABEL = 'UNIQUE IMPORT LABEL';
export const IMPORT_ID = 'UNIQUE IMPORT ID';
const IMPORT_CONSTRAINT = 'UNIQUE_IMPORT_NAME';
const BATCH = 1000;

export interface DumpCounts {
  nodes: number;
  relationships: number;
  indexes: number;
  constraints: number;
}

/**
 * Words the engine refuses as a bare label, type or property key in any letter case (Neo4j accepts
 * them); measured with @grafeo-db/js 0.6.0, see docs/cypher-compatibility.md. Neo4j reads them quoted too.
 */
export const ENGINE_RESERVED_WORDS: ReadonlySet<string> = new Set(
  ('AND AS CASE CREATE DELETE DETACH DISTINCT ELSE FALSE IN IS MATCH MERGE NOT NULL OPTIONAL OR REMOVE RETURN SET ' +
    'THEN TRUE UNION UNWIND WHEN WHERE WITH XOR').split(' '),
);

/** A Cypher identifier, backquoted unless it is a plain name (a backquote inside is doubled). */
export function quoteName(name: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !ENGINE_RESERVED_WORDS.has(name.toUpperCase());
  return plain ? name : '`' + name.replace(/`/g, '``') + '`';
}

function quoteString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') + "'";
}

function floatLiteral(n: number): string {
  if (Number.isNaN(n)) return '(0.0/0.0)';
  if (n === Infinity) return '(1.0/0.0)';
  if (n === -Infinity) return '(-1.0/0.0)';
  // String(-0) is '0': the sign would be lost.
  if (Object.is(n, -0)) return '-0.0';
  // Cypher reads `1` as an INTEGER: a float must keep a decimal point or an exponent (without a '+').
  const text = String(n).replace('e+', 'e');
  return /[.eE]/.test(text) ? text : `${text}.0`;
}

/** The Cypher literal (or constructor call) for a property value, keeping its type. */
export function cypherLiteral(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return floatLiteral(v);
  if (typeof v === 'string') return quoteString(v);
  if (Array.isArray(v)) return '[' + v.map(cypherLiteral).join(', ') + ']';
  if (v instanceof CypherDate) return `date(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherTime) return `time(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherLocalTime) return `localtime(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherDateTime) return `datetime(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherLocalDateTime) return `localdatetime(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherDuration) return `duration(${quoteString(String(toPlainJson(v)))})`;
  if (v instanceof CypherPoint) {
    return v.z === null ? `point({srid: ${v.srid}, x: ${floatLiteral(v.x)}, y: ${floatLiteral(v.y)}})` : `point({srid: ${v.srid}, x: ${floatLiteral(v.x)}, y: ${floatLiteral(v.y)}, z: ${floatLiteral(v.z)}})`;
  }
  if (v instanceof Uint8Array) throw new CypherScriptError('byte array properties cannot be written as Cypher');
  if (v instanceof Node || v instanceof Relationship) throw new CypherScriptError('a graph element is not a property value');
  return mapLiteral(v as ValueMap);
}

function mapLiteral(m: ValueMap): string {
  const entries = Object.entries(m).filter(([, x]) => x !== null);
  return '{' + entries.map(([k, x]) => `${quoteName(k)}: ${cypherLiteral(x)}`).join(', ') + '}';
}

/** The properties of a node or relationship as a map literal; a refusal names the element and the property. */
function propertiesLiteral(owner: string, m: ValueMap): string {
  const entries = Object.entries(m).filter(([, x]) => x !== null);
  return (
    '{' +
    entries
      .map(([k, x]) => {
        try {
          return `${quoteName(k)}: ${cypherLiteral(x)}`;
        } catch (err) {
          if (!(err instanceof CypherScriptError)) throw err;
          const what = x instanceof Uint8Array || (Array.isArray(x) && x.some((i) => i instanceof Uint8Array)) ? 'a byte array, which Cypher cannot write' : (err.message);
          throw new CypherScriptError(`property '${k}' of ${owner} holds ${what}; remove or convert it (e.g. to a base64 string) to export as Cypher, or export an archive`);
        }
      })
      .join(', ') +
    '}'
  );
}

interface IndexRow {
  name: string;
  label: string;
  property: string;
}

async function rows(engine: GrafeoEngine, query: string, params: ValueMap = {}): Promise<Value[][]> {
  return (await engine.run(query, params, { readOnly: true })).records;
}

async function listIndexes(engine: GrafeoEngine): Promise<IndexRow[]> {
  const result = await engine.run('SHOW INDEXES', {}, { readOnly: true });
  const col = (name: string) => result.fields.indexOf(name);
  return result.records
    .map((r) => ({ name: String(r[col('name')] ?? ''), label: String(r[col('label')] ?? ''), property: String(r[col('property')] ?? '') }))
    .filter((i) => i.label !== '' && i.property !== '' && i.label !== IMPORT_LABEL);
}

interface ConstraintRow {
  name: string;
  type: string;
  label: string;
  property: string;
}

async function listConstraints(engine: GrafeoEngine): Promise<ConstraintRow[]> {
  let result;
  try {
    result = await engine.run('SHOW CONSTRAINTS', {}, { readOnly: true });
  } catch {
    return [];
  }
  // Grafeo answers positional columns: name, type, label, property.
  return result.records
    .map((r) => ({ name: String(r[0] ?? ''), type: String(r[1] ?? '').toUpperCase(), label: String(r[2] ?? ''), property: String(r[3] ?? '') }))
    .filter((c) => c.label !== '' && c.property !== '' && c.name !== IMPORT_CONSTRAINT);
}

function constraintStatement(c: ConstraintRow): string | null {
  const target = `FOR (n:${quoteName(c.label)})`;
  const prop = `n.${quoteName(c.property)}`;
  const name = c.name ? `${quoteName(c.name)} ` : '';
  if (c.type.includes('UNIQUE')) return `CREATE CONSTRAINT ${name}IF NOT EXISTS ${target} REQUIRE ${prop} IS UNIQUE;`;
  if (c.type.includes('NOT') && c.type.includes('NULL')) return `CREATE CONSTRAINT ${name}IF NOT EXISTS ${target} REQUIRE ${prop} IS NOT NULL;`;
  if (c.type.includes('EXIST')) return `CREATE CONSTRAINT ${name}IF NOT EXISTS ${target} REQUIRE ${prop} IS NOT NULL;`;
  return null;
}

/**
 * Every node (or relationship) in batches of ids [lo, lo + BATCH), in id order. A range filter scans
 * far faster than `ORDER BY id LIMIT` (16 vs 125 ms a batch over 100k nodes); after an empty range the
 * next id in use is looked up, so sparse ids cost no empty scans.
 */
async function* scan(engine: GrafeoEngine, pattern: string, v: 'n' | 'r'): AsyncGenerator<Value[][]> {
  const first = (await rows(engine, `MATCH ${pattern} RETURN min(id(${v})) AS m`))[0]?.[0];
  if (typeof first !== 'bigint') return;
  let lo = first;
  for (;;) {
    const batch = await rows(engine, `MATCH ${pattern} WHERE id(${v}) >= $lo AND id(${v}) < $hi RETURN ${v}, id(${v}) AS i`, { lo, hi: lo + BigInt(BATCH) });
    lo += BigInt(BATCH);
    if (batch.length > 0) {
      batch.sort((a, b) => (a[1] as bigint) < (b[1] as bigint) ? -1 : 1);
      yield batch;
      continue;
    }
    const next = (await rows(engine, `MATCH ${pattern} WHERE id(${v}) >= $lo RETURN min(id(${v})) AS m`, { lo }))[0]?.[0];
    if (typeof next !== 'bigint') return;
    lo = next;
  }
}

// The script format, shared by the Grafeo and the Neo4j exporter (engines/neo4j/cypher-export.ts), so
// either engine's export loads into either engine.

/** The header and the schema statements (each ending with ';'), then the temporary import constraint. */
export async function writeScriptStart(out: Writable, schema: string[]): Promise<void> {
  await write(out, '// Allotrope Cypher export: constraints, indexes, nodes, relationships. Load with cypher-shell -f.\n');
  await write(out, ':begin\n');
  for (const statement of schema) await write(out, statement + '\n');
  await write(out, `CREATE CONSTRAINT ${IMPORT_CONSTRAINT} IF NOT EXISTS FOR (n:${quoteName(IMPORT_LABEL)}) REQUIRE n.${quoteName(IMPORT_ID)} IS UNIQUE;\n`);
  await write(out, ':commit\n');
}

/**
 * One transaction creating `nodes`, in APOC's "UNWIND_BATCH" shape: one statement per label set, which
 * loads several times faster than one statement per node, in Neo4j and in Grafeo alike.
 */
export function nodeBatch(nodes: Node[]): string {
  const importLabel = quoteName(IMPORT_LABEL);
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    const labels = [...n.labels.map(quoteName), importLabel].map((l) => `:${l}`).join('');
    const items = groups.get(labels) ?? [];
    items.push(`{_id: ${n.id}, properties: ${propertiesLiteral(`node ${n.id} (${n.labels.map((l) => `:${l}`).join('')})`, n.properties)}}`);
    groups.set(labels, items);
  }
  let text = ':begin\n';
  for (const [labels, items] of groups) {
    text += `UNWIND [\n${items.join(',\n')}\n] AS row\nCREATE (n${labels} {${quoteName(IMPORT_ID)}: row._id}) SET n += row.properties;\n`;
  }
  return text + ':commit\n';
}

/** One transaction creating `relationships` between nodes of earlier batches, one statement per type. */
export function relationshipBatch(relationships: Relationship[]): string {
  const importLabel = quoteName(IMPORT_LABEL);
  const importId = quoteName(IMPORT_ID);
  const groups = new Map<string, string[]>();
  for (const r of relationships) {
    const type = quoteName(r.type);
    const items = groups.get(type) ?? [];
    items.push(`{start: ${r.startId}, end: ${r.endId}, properties: ${propertiesLiteral(`relationship ${r.id} [:${r.type}]`, r.properties)}}`);
    groups.set(type, items);
  }
  let text = ':begin\n';
  for (const [type, items] of groups) {
    text +=
      `UNWIND [\n${items.join(',\n')}\n] AS row\n` +
      `MATCH (a:${importLabel} {${importId}: row.start}) MATCH (b:${importLabel} {${importId}: row.end}) CREATE (a)-[r:${type}]->(b) SET r += row.properties;\n`;
  }
  return text + ':commit\n';
}

/** Removes the temporary label, id and constraint. */
export async function writeScriptEnd(out: Writable): Promise<void> {
  const importLabel = quoteName(IMPORT_LABEL);
  await write(out, ':begin\n');
  await write(out, `MATCH (n:${importLabel}) REMOVE n:${importLabel}, n.${quoteName(IMPORT_ID)};\n`);
  await write(out, ':commit\n');
  await write(out, `DROP CONSTRAINT ${IMPORT_CONSTRAINT} IF EXISTS;\n`);
}

export async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * Writes the Cypher script of the Grafeo database file `grafeoFile` (e.g. a backup) to `out`. The file
 * is copied into a temp directory and opened there, so the original is never touched or locked.
 */
export async function dumpCypher(grafeoFile: string, out: Writable): Promise<DumpCounts> {
  const dir = await mkdtemp(join(tmpdir(), 'allotrope-dump-'));
  let engine: GrafeoEngine | undefined;
  try {
    await copyFile(grafeoFile, join(dir, DATABASE_FILE));
    engine = await openGrafeoEngine({ dataDir: dir, readOnly: true });
    const counts: DumpCounts = { nodes: 0, relationships: 0, indexes: 0, constraints: 0 };
    const schema: string[] = [];
    const constraints = await listConstraints(engine);
    const constrained = new Set(constraints.map((c) => `${c.label}\u0000${c.property}`));
    for (const c of constraints) {
      const statement = constraintStatement(c);
      if (statement) {
        schema.push(statement);
        counts.constraints++;
      }
    }
    for (const index of await listIndexes(engine)) {
      // A uniqueness constraint brings its own index in Neo4j.
      if (constrained.has(`${index.label}\u0000${index.property}`)) continue;
      schema.push(`CREATE INDEX ${index.name ? quoteName(index.name) + ' ' : ''}IF NOT EXISTS FOR (n:${quoteName(index.label)}) ON (n.${quoteName(index.property)});`);
      counts.indexes++;
    }
    await writeScriptStart(out, schema);
    for await (const batch of scan(engine, '(n)', 'n')) {
      const nodes = batch.map(([n]) => n).filter((n): n is Node => n instanceof Node);
      await write(out, nodeBatch(nodes));
      counts.nodes += nodes.length;
    }
    for await (const batch of scan(engine, '()-[r]->()', 'r')) {
      const relationships = batch.map(([r]) => r).filter((r): r is Relationship => r instanceof Relationship);
      await write(out, relationshipBatch(relationships));
      counts.relationships += relationships.length;
    }
    await writeScriptEnd(out);
    return counts;
  } finally {
    await engine?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** `dumpCypher` into a file. */
export async function dumpCypherToFile(grafeoFile: string, target: string): Promise<DumpCounts> {
  const out = createWriteStream(target, { flags: 'wx', mode: 0o600 });
  try {
    const counts = await dumpCypher(grafeoFile, out);
    out.end();
    await once(out, 'finish');
    return counts;
  } catch (err) {
    out.destroy();
    throw err;
  }
}

/** Counts and engine version of a closed Grafeo file (a backup), read in a worker thread. */
export { inspectGrafeoFile } from './database-files.js';

// ---------------------------------------------------------------------------------------------------
// Loading

export class CypherScriptError extends Error {
  override readonly name = 'CypherScriptError';
}

/**
 * Splits a script into statements at `;` outside strings, backquoted names and comments. cypher-shell
 * commands (`:begin`, `:commit`, `:param`…) come out as their own items starting with ':'.
 */
export async function* splitStatements(input: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let current = '';
  let quote: string | null = null; // ', " or `
  let escaped = false;
  let lineComment = false;
  let blockComment = false;
  let atLineStart = true;
  let shellCommand = false;
  let prev = '';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const ch of text) {
      if (shellCommand) {
        if (ch === '\n') {
          yield current.trim();
          current = '';
          shellCommand = false;
          atLineStart = true;
        } else current += ch;
        continue;
      }
      if (lineComment) {
        if (ch === '\n') {
          lineComment = false;
          atLineStart = true;
          current += '\n';
        }
        continue;
      }
      if (blockComment) {
        if (prev === '*' && ch === '/') {
          blockComment = false;
          prev = '';
          continue;
        }
        prev = ch;
        continue;
      }
      if (quote) {
        current += ch;
        if (escaped) escaped = false;
        else if (ch === '\\' && quote !== '`') escaped = true;
        else if (ch === quote) quote = null;
        continue;
      }
      if (atLineStart && ch === ':' && current.trim() === '') {
        shellCommand = true;
        current = ':';
        continue;
      }
      if (ch === '/' && prev === '/') {
        current = current.slice(0, -1);
        lineComment = true;
        prev = '';
        continue;
      }
      if (ch === '*' && prev === '/') {
        current = current.slice(0, -1);
        blockComment = true;
        prev = '';
        continue;
      }
      prev = ch;
      if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      if (ch === ';') {
        if (current.trim() !== '') yield current.trim();
        current = '';
        atLineStart = false;
        continue;
      }
      current += ch;
      if (ch === '\n') atLineStart = true;
      else if (ch !== ' ' && ch !== '\t' && ch !== '\r') atLineStart = false;
    }
  }
  if (quote) throw new CypherScriptError('the script ends inside a quoted string or name');
  if (current.trim() !== '') yield current.trim();
}

// Statements that could reach outside the database (files, URLs, procedures) are refused: the script
// comes from a user and runs inside the control plane.
// `CALL { … }` subqueries stay allowed. Checked with string literals and quoted names blanked out, so
// data such as 'call me' is not mistaken for a procedure call.
const REFUSED = /^\s*(?:LOAD\b|USE\b)|\bLOAD\s+CSV\b|\bCALL\s+[A-Za-z_`]/i;
const QUOTED = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`]|``)*`/g;

/** Whether a statement is one an import refuses (LOAD CSV, procedure CALLs, USE). */
export function refused(statement: string): boolean {
  return REFUSED.test(statement.replace(QUOTED, (q) => (q.startsWith('`') ? 'x' : "''")));
}

/**
 * Grafeo checks a uniqueness constraint on every insert by scanning the label (4,000 inserts under one
 * took 2.6 s, growing with the data), while creating it over loaded data takes milliseconds. So the loader
 * creates constraints after the data, and the dump's temporary import constraint becomes a plain index
 * (which is all the relationship lookups need).
 */
function schemaStatementForGrafeo(statement: string): string | 'defer' {
  const importLabel = quoteName(IMPORT_LABEL);
  if (/^\s*CREATE\s+CONSTRAINT\b/i.test(statement)) {
    if (statement.includes(importLabel)) return `CREATE INDEX ${IMPORT_CONSTRAINT} IF NOT EXISTS FOR (n:${importLabel}) ON (n.${quoteName(IMPORT_ID)})`;
    return 'defer';
  }
  if (/^\s*DROP\s+CONSTRAINT\s+UNIQUE_IMPORT_NAME\b/i.test(statement)) return `DROP INDEX ${IMPORT_CONSTRAINT} IF EXISTS`;
  return statement;
}

export interface LoadResult {
  statements: number;
  nodes: number;
  relationships: number;
  /** Schema statements the engine cannot run that were left out (Grafeo: see `grafeoLacks`). */
  skippedSchema?: number;
}

/**
 * Indexes and constraints Grafeo has no counterpart for, which a Neo4j export may hold: text, point, fulltext
 * and vector indexes, and any index or constraint on relationships. They change no data, so a script moving
 * a database from Neo4j to Grafeo loads without them (the import's step says how many were left out).
 */
function grafeoLacks(statement: string): boolean {
  return /^\s*CREATE\s+(?:TEXT|POINT|FULLTEXT|VECTOR|LOOKUP)\s+INDEX\b/i.test(statement) || /^\s*CREATE\s+(?:RANGE\s+)?(?:INDEX|CONSTRAINT)\b[^(]*\bFOR\s*\(\s*\)\s*<?-/i.test(statement);
}

/**
 * Runs a Cypher script into a fresh Grafeo database created at `<targetDir>/graph.grafeo`. Statements
 * between `:begin` and `:commit` run in one transaction; others each in their own (batches of plain
 * statements are grouped so a large script loads at a reasonable speed). Fails with CypherScriptError
 * naming the statement number at fault.
 */
export async function loadCypher(script: Readable | AsyncIterable<string | Buffer>, targetDir: string): Promise<LoadResult> {
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  const engine = await openGrafeoEngine({ dataDir: targetDir });
  let statements = 0;
  let skippedSchema = 0;
  try {
    let tx: Awaited<ReturnType<GrafeoEngine['begin']>> | null = null;
    const deferred: { statement: string; position: number }[] = [];
    const runSchema = async (statement: string, position: number) => {
      try {
        await engine.run(statement, {}, { readOnly: false });
      } catch (err) {
        throw new CypherScriptError(`statement ${position} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    };
    let explicit = false;
    let pending = 0;
    const commit = async () => {
      if (tx) await tx.commit();
      tx = null;
      pending = 0;
    };
    for await (const statement of splitStatements(script as AsyncIterable<string | Buffer>)) {
      if (statement.startsWith(':')) {
        const command = statement.slice(1).trim().split(/\s+/)[0]?.toLowerCase();
        if (command === 'begin') {
          await commit();
          explicit = true;
        } else if (command === 'commit') {
          await commit();
          explicit = false;
        } else if (command === 'rollback') {
          if (tx) await (tx as { rollback(): Promise<void> }).rollback();
          tx = null;
          explicit = false;
        }
        continue;
      }
      statements++;
      if (refused(statement)) {
        throw new CypherScriptError(`statement ${statements} is not allowed in an import (LOAD CSV, CALL and USE are refused): ${statement.slice(0, 80)}`);
      }
      if (grafeoLacks(statement)) {
        skippedSchema++;
        continue;
      }
      // Schema statements run on their own, outside data transactions.
      if (/^\s*(CREATE|DROP)\s+(CONSTRAINT|INDEX)\b/i.test(statement)) {
        await commit();
        const schema = schemaStatementForGrafeo(statement);
        if (schema === 'defer') {
          deferred.push({ statement, position: statements });
          continue;
        }
        await runSchema(schema, statements);
        continue;
      }
      tx ??= await engine.begin({ readOnly: false });
      try {
        await tx.run(statement, {});
      } catch (err) {
        throw new CypherScriptError(`statement ${statements} failed: ${(err as Error).message.split('\n')[0]} (${statement.slice(0, 80)})`);
      }
      pending++;
      if (!explicit && pending >= BATCH) await commit();
    }
    await commit();
    for (const { statement, position } of deferred) {
      await runSchema(statement, position);
      // Unlike Neo4j, a Grafeo uniqueness constraint brings no index; the dump leaves such indexes out.
      const unique = /FOR\s*\(\s*(\w+)\s*:\s*(\w+|`(?:[^`]|``)+`)\s*\)\s*REQUIRE\s+\1\.(\w+|`(?:[^`]|``)+`)\s+IS\s+UNIQUE/i.exec(statement);
      if (unique) await engine.run(`CREATE INDEX IF NOT EXISTS FOR (n:${unique[2]}) ON (n.${unique[3]})`, {}, { readOnly: false }).catch(() => undefined);
    }
    const counts = engine.counts();
    return { statements, nodes: counts.nodes, relationships: counts.relationships, skippedSchema };
  } finally {
    await engine.close().catch(() => undefined);
  }
}
