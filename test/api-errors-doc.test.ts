// docs/errors.md is the error catalogue: every error kind with its status, every framework message, and
// every error thrown in src/domain, src/api, src/operations and src/auth must be listed there (after
// Fastify's own test/internals/errors.test.js against docs/Reference/Errors.md). The throw sites are
// found by parsing the sources with the TypeScript compiler, not listed by hand: a new file or a new
// throw is checked the day it is written.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { FRAMEWORK_ERRORS, PARSER_ERRORS, STATUS_BY_KIND, toErrorAnswer } from '../src/api/errors.js';
import type { ErrorKind } from '../src/errors.js';
import { BlobNotFoundError, BlobTooLargeError, InvalidKeyError, StorageError } from '../src/storage/blob-store.js';
import { DownloadLinkError } from '../src/storage/fs.js';

// The repository root, whether this runs from test/ (tsx) or from dist/test/ (compiled).
const up = new URL('../', import.meta.url);
const root = up.pathname.endsWith('/dist/') ? new URL('../', up) : up;
const doc = readFileSync(new URL('docs/errors.md', root), 'utf8');

/** Every TypeScript file under these directories is scanned. */
const SCANNED_DIRS = ['src/domain', 'src/api', 'src/operations', 'src/auth'];

/** The catalogue's constructors (src/errors.ts): the kind each makes and which argument is the message. */
const HELPERS: Readonly<Record<string, { kind: ErrorKind; message: number }>> = {
  invalid: { kind: 'invalid', message: 1 },
  notFound: { kind: 'not-found', message: 0 },
  conflict: { kind: 'conflict', message: 0 },
  forbidden: { kind: 'forbidden', message: 0 },
  unauthorized: { kind: 'unauthorized', message: 0 },
  paymentRequired: { kind: 'payment-required', message: 0 },
};

/**
 * Errors that are not HTTP answers: an operation fails with them and its `error` carries the message
 * (docs/errors.md, "Operation failures" and the restore, import and export sections). Argument index of the message.
 */
const OPERATION_FAILURES: Readonly<Record<string, number>> = { OperationError: 0, ArchiveError: 1, CypherScriptError: 0 };

/**
 * Throws outside the catalogue, on purpose: none can be caused by a request's input, so each is a 500
 * (`internal error <request id>`, details in the log) or stops start-up. Keyed by file and constructor.
 */
const INTERNAL: Readonly<Record<string, string>> = {
  'src/operations/engine.ts: new Error': 'two operation kinds registered under one name: a programming error, found at start-up',
  'src/domain/backup-schedule-rules.ts: new Error': 'a schedule that passed validateSchedule always has a next run; none is a bug in the rules',
  'src/auth/signing-keys.ts: new Error': "the data dir's signing-keys file cannot be made or read: serve stops at start-up, before any request",
};

/**
 * Catalogue errors whose message is not written at the call: where it comes from. Those sources are
 * checked below (MESSAGE_SOURCES, the token reasons, the storage errors).
 */
const FORWARDED: Readonly<Record<string, string>> = {
  'src/domain/backup-schedules.ts: problem.message': "validateSchedule's messages (src/domain/backup-schedule-rules.ts)",
  'src/api/app.ts: err.message': 'the reason of an InvalidTokenError (src/auth/tokens.ts, src/auth/bearer.ts)',
  'src/operations/engine.ts: shown': 'the message of the error a step threw, with server paths hidden (catalogued where it is thrown)',
  'src/api/errors.ts: err.message': "a download link's refusal (DownloadLinkError, src/storage/fs.ts), checked with STORAGE_ERRORS below",
  'src/operations/kinds/backups.ts: err.message': "a Cypher export's CypherScriptError, re-made on this side of the worker (src/graph-server/engines/grafeo/cypher-dump.ts)",
};

/** Messages written as `message:` properties of objects that a throw site above forwards, with their status. */
const MESSAGE_SOURCES: readonly { file: string; status: number }[] = [{ file: 'src/domain/backup-schedule-rules.ts', status: 400 }];

/** The storage errors a route can meet, one of each kind (src/api/errors.ts maps them). */
const STORAGE_ERRORS: readonly StorageError[] = [
  new InvalidKeyError('../x', 'must not contain ..'),
  new BlobNotFoundError('exports/o/e/f.tar.gz'),
  new DownloadLinkError('expired'),
  new DownloadLinkError('invalid'),
  new BlobTooLargeError(1024),
  new StorageError('Unavailable', 'connect ECONNREFUSED 10.0.0.1:443'),
];

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(new URL(dir, root), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of SCANNED_DIRS) walk(dir);
  return files.sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(new URL(file, root), 'utf8'), ts.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, fn: (node: ts.Node) => void): void {
  fn(node);
  node.forEachChild((child) => visit(child, fn));
}

function where(sf: ts.SourceFile, node: ts.Node): string {
  return `${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
}

/** Where a template's `${…}` stood in a message (a character no message holds). */
const HOLE = '\u0000';

/** A message as written: a literal, or a template whose `${…}` parts (HOLE) stand for anything. Undefined: not written here. */
function messageText(node: ts.Expression | undefined): string | undefined {
  if (!node) return undefined;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((s) => HOLE + s.literal.text).join('');
  if (ts.isParenthesizedExpression(node)) return messageText(node.expression);
  return undefined;
}

/** The messages an argument can be: both arms of a `?:`. */
function messageTexts(node: ts.Expression | undefined): string[] | undefined {
  if (node && ts.isConditionalExpression(node)) {
    const [a, b] = [messageTexts(node.whenTrue), messageTexts(node.whenFalse)];
    return a && b ? [...a, ...b] : undefined;
  }
  const text = messageText(node);
  return text === undefined ? undefined : [text];
}

/** The page as entries: each list item or table row (with its continuation lines), the paragraph that leads into it, and its heading. */
interface DocEntry {
  text: string;
  context: string;
}
function docEntries(): DocEntry[] {
  const entries: DocEntry[] = [];
  let heading = '';
  let lead = '';
  let inLead = false;
  let item: string[] | null = null;
  const flush = () => {
    if (item) entries.push({ text: item.join(' ').replace(/\s+/g, ' '), context: `${heading} ${lead}` });
    item = null;
  };
  for (const line of doc.split('\n')) {
    if (/^#+ /.test(line)) {
      flush();
      heading = line;
      lead = '';
      inLead = false;
    } else if (/^(- |\| )/.test(line)) {
      flush();
      item = [line];
      inLead = false;
    } else if (item && /^\s+\S/.test(line)) {
      item.push(line);
    } else if (line.trim() === '') {
      flush();
      inLead = false;
    } else {
      flush();
      lead = inLead ? `${lead} ${line}` : line;
      inLead = true;
    }
  }
  flush();
  return entries;
}
const entries = docEntries();

/** An entry's own status (`(404)`, `(400, field …)`) wins; without one, its lead-in's or heading's holds. */
function saysStatus(e: DocEntry, status: number): boolean {
  const own = [...e.text.matchAll(/\((\d{3})\b/g)].map((m) => Number(m[1]));
  return own.length > 0 ? own.includes(status) : new RegExp(`\\b${status}\\b`).test(e.context);
}

/** `environment '${id}' does not exist` matches the page's `environment '<id>' does not exist`, line breaks allowed. */
function pattern(message: string): RegExp {
  const parts = message.split(HOLE).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  return new RegExp(parts.join('.*?'));
}

/** Why `message` (with `status`, when it is an HTTP answer) is not documented; null when it is. */
function undocumented(message: string, status?: number): string | null {
  const re = pattern(message);
  const found = entries.filter((e) => re.test(e.text));
  if (found.length === 0) return `not in docs/errors.md: ${message.replaceAll(HOLE, '<…>')}`;
  if (status === undefined) return null;
  return found.some((e) => saysStatus(e, status)) ? null : `in docs/errors.md without its status ${status}: ${message.replaceAll(HOLE, '<…>')}`;
}

/** Why an answer as sent (`the upload is larger than the limit of 1024 bytes`) is not documented with its status; null when it is. */
function undocumentedAnswer(message: string, status: number): string | null {
  const asPattern = (written: string) => new RegExp(`^${written.split(/<[^>]+>/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
  const found = entries.filter((e) => [...e.text.matchAll(/`([^`]+)`/g)].some((m) => asPattern(m[1]!).test(message)));
  if (found.length === 0) return `not in docs/errors.md: ${message}`;
  return found.some((e) => saysStatus(e, status)) ? null : `in docs/errors.md without its status ${status}: ${message}`;
}

/**
 * Whether `name` is a caught error being thrown on: a catch clause's variable, the parameter of a `.catch`
 * callback, or an `unknown` parameter of a function that sorts errors it is handed.
 */
function isRethrow(node: ts.Identifier): boolean {
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    if (ts.isCatchClause(at) && at.variableDeclaration && ts.isIdentifier(at.variableDeclaration.name) && at.variableDeclaration.name.text === node.text) return true;
    if (ts.isFunctionLike(at)) {
      const param = at.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === node.text);
      if (!param) continue;
      const call = at.parent;
      const inCatch = ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === 'catch';
      return inCatch || param.type?.kind === ts.SyntaxKind.UnknownKeyword;
    }
  }
  return false;
}

interface Scan {
  problems: string[];
  throwSites: number;
  messages: number;
  usedInternal: Set<string>;
  usedForwarded: Set<string>;
}

function scan(): Scan {
  const result: Scan = { problems: [], throwSites: 0, messages: 0, usedInternal: new Set(), usedForwarded: new Set() };
  const { problems } = result;
  const checkMessage = (sf: ts.SourceFile, node: ts.Node, arg: ts.Expression | undefined, status?: number) => {
    const texts = messageTexts(arg);
    if (texts === undefined) {
      const key = `${sf.fileName}: ${arg?.getText(sf) ?? '(no message)'}`;
      if (FORWARDED[key]) result.usedForwarded.add(key);
      else problems.push(`${where(sf, node)}: the message ${arg?.getText(sf) ?? '(none)'} is not written here; write it, or add '${key}' to FORWARDED with its source`);
      return;
    }
    for (const text of texts) {
      result.messages++;
      const problem = undocumented(text, status);
      if (problem) problems.push(`${where(sf, node)}: ${problem}`);
    }
  };
  /** What a `throw` may throw: a catalogue error, an operation failure, a rethrow, or an allow-listed internal error. */
  const checkThrown = (sf: ts.SourceFile, e: ts.Expression): void => {
    if (ts.isParenthesizedExpression(e)) return checkThrown(sf, e.expression);
    if (ts.isConditionalExpression(e)) {
      checkThrown(sf, e.whenTrue);
      checkThrown(sf, e.whenFalse);
      return;
    }
    if (ts.isIdentifier(e) && isRethrow(e)) return;
    const callee = ts.isCallExpression(e) || ts.isNewExpression(e) ? e.expression.getText(sf) : undefined;
    if (callee && ts.isCallExpression(e) && HELPERS[callee]) return;
    if (callee && ts.isNewExpression(e) && ['DomainError', 'InvalidTokenError', ...Object.keys(OPERATION_FAILURES)].includes(callee)) return;
    const key = `${sf.fileName}: ${ts.isNewExpression(e) ? `new ${callee}` : e.getText(sf)}`;
    if (INTERNAL[key]) result.usedInternal.add(key);
    else problems.push(`${where(sf, e)}: throws ${e.getText(sf).slice(0, 80)}, which is not in the catalogue (src/errors.ts); a request's bad input must be a 4xx naming the field, and anything else needs an entry in INTERNAL with its reason`);
  };
  for (const file of sourceFiles()) {
    const sf = parse(file);
    visit(sf, (node) => {
      if (ts.isThrowStatement(node)) {
        result.throwSites++;
        checkThrown(sf, node.expression);
      }
      // Every catalogue error made, thrown at once or later: its message is documented with its status.
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && HELPERS[node.expression.text]) {
        const helper = HELPERS[node.expression.text]!;
        checkMessage(sf, node, node.arguments[helper.message], STATUS_BY_KIND[helper.kind]);
      }
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
        const name = node.expression.text;
        const args = node.arguments ?? ts.factory.createNodeArray<ts.Expression>();
        if (name === 'DomainError') {
          const kind = messageText(args[0]) as ErrorKind | undefined;
          if (!kind || !(kind in STATUS_BY_KIND)) problems.push(`${where(sf, node)}: DomainError of kind ${args[0]?.getText(sf)}, not one of src/errors.ts`);
          else checkMessage(sf, node, args[1], STATUS_BY_KIND[kind]);
        } else if (name === 'InvalidTokenError') {
          checkMessage(sf, node, args[0], 401);
        } else if (name in OPERATION_FAILURES) {
          checkMessage(sf, node, args[OPERATION_FAILURES[name]!]);
        }
      }
    });
  }
  return result;
}

test('every error kind is documented with its status', () => {
  for (const [kind, status] of Object.entries(STATUS_BY_KIND)) {
    assert.match(doc, new RegExp(`\\| \`${kind}\` \\| ${status} \\|`), `kind ${kind}`);
  }
  assert.match(doc, /internal error <request id>/);
});

test('every framework error message is documented', () => {
  for (const [code, [status, message]] of Object.entries(FRAMEWORK_ERRORS)) {
    assert.ok(doc.includes(`\`${message}\` (${status})`), `${code}: ${message}`);
  }
  for (const [code, [status, message]] of Object.entries(PARSER_ERRORS)) {
    assert.ok(doc.includes(`\`${message}\` (${status})`), `${code}: ${message}`);
  }
});

test('every throw site in domain, api, operations and auth is catalogued and documented with its status', () => {
  const result = scan();
  assert.deepEqual(result.problems, []);
  // The scan sees the code: a parser that found nothing would pass the loop above.
  assert.ok(result.throwSites >= 180, `found ${result.throwSites} throw sites`);
  assert.ok(result.messages >= 170, `found ${result.messages} messages`);
  // No stale entries: each allow-listed or forwarded site still exists.
  assert.deepEqual(Object.keys(INTERNAL).filter((k) => !result.usedInternal.has(k)), [], 'INTERNAL entries that match no throw');
  assert.deepEqual(Object.keys(FORWARDED).filter((k) => !result.usedForwarded.has(k)), [], 'FORWARDED entries that match no call');
});

test('forwarded messages are documented at their source', () => {
  let count = 0;
  for (const { file, status } of MESSAGE_SOURCES) {
    const sf = parse(file);
    visit(sf, (node) => {
      if (ts.isPropertyAssignment(node) && node.name.getText(sf) === 'message') {
        const text = messageText(node.initializer);
        assert.ok(text !== undefined, `${where(sf, node)}: a message that is not written here`);
        count++;
        assert.equal(undocumented(text, status), null, where(sf, node));
      }
    });
  }
  assert.ok(count >= 5, `found ${count} schedule messages`);
});

test('storage errors are answered in one place (src/api/errors.ts), each documented with its status', () => {
  const statuses = new Set<number>();
  for (const err of STORAGE_ERRORS) {
    const answer = toErrorAnswer(err, 'req-1');
    statuses.add(answer.status);
    assert.equal(undocumentedAnswer(answer.body.error, answer.status), null, `${err.name}: ${answer.body.error}`);
    // Storage keys and the store's own words (addresses, bucket names) stay out of answers.
    assert.doesNotMatch(answer.body.error, /exports\/o|ECONNREFUSED|\.\.\//, err.name);
  }
  assert.deepEqual([...statuses].sort(), [400, 403, 404, 413, 503]);
  // No route maps storage errors itself.
  for (const file of sourceFiles().filter((f) => f.startsWith('src/api/routes/'))) {
    const source = readFileSync(new URL(file, root), 'utf8');
    assert.doesNotMatch(source, /instanceof (Storage|BlobNotFound|BlobTooLarge|InvalidKey|DownloadLink)Error\)\s*throw/, file);
  }
});
