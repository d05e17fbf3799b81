// What a query may read from the host: Grafeo's `LOAD CSV FROM '<path>'` opens any path the
// graph-server's OS user can read (the control plane's signing key included), so every LOAD CSV is
// confined here before the engine sees it, as Neo4j confines it: a `file:///x.csv` URL names a file in
// the database's import directory and nothing else; a bare path, another scheme, a file outside the
// import directory (by `..` or a symlink) and anything that is not a regular file are refused.
//
// Two independent checks, so that no difference between this lexer and the engine's lets a path through:
// 1. each LOAD CSV clause found in the query's code is rewritten to the resolved absolute path;
// 2. whenever the query text holds "csv" at all, the engine's own plan (EXPLAIN) is read and every
//    LoadCsv operator in it must name one of the paths approved in step 1.
//
// Audit of the engine (@grafeo-db/js 0.6.0, Cypher entry point): LOAD CSV is the only clause that
// touches the filesystem or network (`LOAD DATA … FORMAT JSONL|PARQUET` exists in GQL only, which the
// graph-server never runs; Cypher answers "Expected 'CSV'"); the path must be a string literal
// (parameters and expressions are refused by its parser); there is no procedure that reads or writes files
// (`grafeo.procedures()`, `grafeo.search.*`), and `save`/`backup`/`importCsv` are host API, not Cypher.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { CypherError } from '../../engine-api.js';
import { skipLiteral } from './element-ids.js';

const CODE = 'Neo.ClientError.Statement.ExternalResourceFailed';

function refusal(message: string): CypherError {
  return new CypherError(CODE, message, '42N53');
}

/** Index of the next token at or after `i`, stepping over white space and comments. */
function nextToken(q: string, i: number): number {
  for (;;) {
    while (i < q.length && /\s/.test(q[i]!)) i++;
    if (q[i] === '/' && (q[i + 1] === '/' || q[i + 1] === '*')) i = skipLiteral(q, i);
    else return i;
  }
}

function wordAt(q: string, i: number): string {
  return /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i, i + 64))?.[0] ?? '';
}

const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

/** The value of a string literal as the engine reads it (unknown escapes keep their backslash, as it does). */
function literalValue(raw: string): string {
  const body = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[i + 1] ?? '';
    const hex = e === 'u' ? body.slice(i + 2, i + 6) : e === 'U' ? body.slice(i + 2, i + 10) : '';
    if (hex && /^[0-9a-fA-F]+$/.test(hex) && hex.length === (e === 'u' ? 4 : 8)) {
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 1 + hex.length;
    } else if (e in ESCAPES) {
      out += ESCAPES[e];
      i++;
    } else out += c;
  }
  return out;
}

interface LoadCsvSource {
  /** Where the string literal after FROM starts and ends in the query. */
  start: number;
  end: number;
  url: string;
}

/** Every `LOAD CSV [WITH HEADERS] FROM '<literal>'` in the query's code. */
export function loadCsvSources(query: string): LoadCsvSource[] {
  const found: LoadCsvSource[] = [];
  let i = 0;
  while (i < query.length) {
    const skip = skipLiteral(query, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    const prev = i > 0 ? query[i - 1]! : ' ';
    if (/[A-Za-z0-9_$]/.test(prev) || wordAt(query, i).toUpperCase() !== 'LOAD') {
      i++;
      continue;
    }
    let j = nextToken(query, i + 4);
    if (wordAt(query, j).toUpperCase() !== 'CSV') {
      i += 4;
      continue;
    }
    j = nextToken(query, j + 3);
    if (wordAt(query, j).toUpperCase() === 'WITH') {
      j = nextToken(query, j + 4);
      if (wordAt(query, j).toUpperCase() === 'HEADERS') j = nextToken(query, j + 7);
    }
    if (wordAt(query, j).toUpperCase() === 'FROM') j = nextToken(query, j + 4);
    const q = query[j];
    if (q !== "'" && q !== '"') throw refusal('LOAD CSV takes its URL as a string literal here, e.g. LOAD CSV FROM \'file:///data.csv\' AS row');
    const end = skipLiteral(query, j);
    if (end > query.length) throw refusal('LOAD CSV: the URL string is not closed');
    found.push({ start: j, end, url: literalValue(query.slice(j, end)) });
    i = end;
  }
  return found;
}

function within(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/** The file a LOAD CSV URL names in `importDir`, checked; throws a Neo4j-style refusal otherwise. */
export function resolveLoadCsvUrl(url: string, importDir: string | null): string {
  const cannot = (why: string) => refusal(`Couldn't load the external resource at: ${url} (${why})`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refusal(`Invalid URL '${url}': LOAD CSV takes a URL such as file:///data.csv (a file in the database's import directory)`);
  }
  if (parsed.protocol !== 'file:') {
    throw cannot(`only file:/// URLs naming a file in the database's import directory are allowed; ${parsed.protocol.replace(/:$/, '')} URLs are not`);
  }
  if (parsed.host !== '' && parsed.host !== 'localhost') throw cannot('a file URL names no host');
  if (importDir === null) throw cannot('file URLs are not allowed here: this database has no import directory');
  let relativePath: string;
  try {
    relativePath = decodeURIComponent(parsed.pathname);
  } catch {
    throw cannot('the URL is not properly encoded');
  }
  if (relativePath.includes('\0')) throw cannot('the path holds a NUL character');
  let root: string;
  try {
    root = realpathSync(importDir);
  } catch {
    throw cannot('the import directory does not exist');
  }
  const target = resolve(root, `.${relativePath}`);
  if (!within(root, target)) throw cannot('the path leaves the import directory');
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    throw cannot('no such file in the import directory');
  }
  if (!within(root, real)) throw cannot('the path leaves the import directory');
  if (!statSync(real).isFile()) throw cannot('not a regular file');
  // Kept out so that the literal written for the engine, and its plan line, read back unambiguously.
  if (/['"\\\p{Cc}]/u.test(real)) throw cannot('the file name holds a quote, a backslash or a control character');
  return real;
}

export interface ConfinedQuery {
  query: string;
  /** Absolute path given to the engine → the URL the user wrote. */
  approved: Map<string, string>;
  /** Whether the engine's plan must be read (the query mentions CSV anywhere). */
  checkPlan: boolean;
}

/** The query with each LOAD CSV URL replaced by its checked file; throws a refusal. */
export function confineLoadCsv(query: string, importDir: string | null): ConfinedQuery {
  const approved = new Map<string, string>();
  if (!/csv/i.test(query)) return { query, approved, checkPlan: false };
  let out = '';
  let at = 0;
  for (const source of loadCsvSources(query)) {
    const file = resolveLoadCsvUrl(source.url, importDir);
    approved.set(file, source.url);
    out += `${query.slice(at, source.start)}'${file}'`;
    at = source.end;
  }
  return { query: out + query.slice(at), approved, checkPlan: true };
}

/** Refuses a plan whose LoadCsv operators read anything but the approved files. */
export function assertPlanReadsOnly(plan: string, approved: ReadonlyMap<string, string>): void {
  for (const line of plan.split('\n')) {
    const text = line.trim();
    if (!/^LoadCsv\b/.test(text)) continue;
    const ok = [...approved.keys()].some((file) => text.startsWith(`LoadCsv ('${file}' AS `) || text.startsWith(`LoadCsv WITH HEADERS ('${file}' AS `));
    if (!ok) throw refusal('LOAD CSV: the URL could not be checked; write it as a plain string literal, e.g. LOAD CSV FROM \'file:///data.csv\' AS row');
  }
}

/** An engine error about an approved file, told with the user's URL instead of the host path. */
export function withUserUrls(message: string, approved: ReadonlyMap<string, string>): string {
  let out = message;
  for (const [file, url] of approved) out = out.split(file).join(url);
  return out;
}
