// Turns Neo4j front-end diagnostics into what Neo4j itself would answer: the first error
// becomes a refusal (status code, GQLSTATUS, message with position), warnings become
// Neo4j notifications. Pure, so it is unit-tested without a worker.
import type { Notification, Position } from '../engine-api.js';
import type { LintDiagnostic } from './lint-protocol.js';

export interface Refusal {
  code: string;
  message: string;
  gqlStatus: string;
  position: Position;
}

export type Verdict = { kind: 'accept'; notifications: readonly Notification[] } | { kind: 'refuse'; refusal: Refusal };

/** What the engine offers beyond Neo4j, so the front-end's ignorance of it never refuses a query. */
export interface SchemaInfo {
  functions?: readonly string[];
  procedures?: readonly string[];
}

const SYNTAX_ERROR = 'Neo.ClientError.Statement.SyntaxError';

// Diagnostics about the editor's context, not about the query: parameters are supplied at run
// time, and functions/procedures are the engine's to resolve (it has some Neo4j lacks, and it
// fails unknown ones itself).
const IGNORED_ERRORS: readonly RegExp[] = [
  /^Parameter \$.* is not defined\.$/,
  /^(Function|Procedure) \S+ is not present in the database\./,
  /^\S+ is a (function|procedure), not a (procedure|function)\./,
  /^Unknown (function|procedure)\b/,
  /^There is no (function|procedure) with the name\b/,
];

// GQLSTATUS where Neo4j has a more precise one than 42001 (invalid syntax).
const ERROR_STATUSES: readonly { pattern: RegExp; gqlStatus: string; code?: string }[] = [
  { pattern: /^Variable `.*` not defined$/, gqlStatus: '42N62' },
  { pattern: /^Variable `.*` already declared$/, gqlStatus: '42N59' },
];

function mentionsEngineCallable(message: string, schema: SchemaInfo | undefined): boolean {
  if (!schema) return false;
  for (const name of [...(schema.functions ?? []), ...(schema.procedures ?? [])]) {
    if (message.includes(`'${name}'`) || message.includes(`\`${name}\``) || message.includes(` ${name} `)) return true;
  }
  return false;
}

export function isIgnoredError(message: string, schema?: SchemaInfo): boolean {
  return IGNORED_ERRORS.some((p) => p.test(message)) || mentionsEngineCallable(message, schema);
}

/** Neo4j's error text: the message, the position, and the offending line with a caret under it. */
export function neo4jErrorMessage(query: string, message: string, position: Position): string {
  const lines = query.split(/\r\n|\r|\n/);
  const lineText = lines[position.line - 1] ?? '';
  const caret = `${' '.repeat(position.column)}^`;
  return `${message} (line ${position.line}, column ${position.column} (offset: ${position.offset}))\n"${lineText}"\n${caret}`;
}

export function refusalFor(query: string, d: LintDiagnostic): Refusal {
  const position: Position = { offset: d.offset, line: d.line, column: d.column };
  const specific = ERROR_STATUSES.find((s) => s.pattern.test(d.message));
  return {
    code: specific?.code ?? SYNTAX_ERROR,
    message: neo4jErrorMessage(query, d.message, position),
    gqlStatus: specific?.gqlStatus ?? '42001',
    position,
  };
}

interface NotificationKind {
  pattern: RegExp;
  code: string;
  title: string;
  category: string;
  gqlStatus: string | ((message: string) => string);
}

const DEPRECATION_TITLE = 'This feature is deprecated and will be removed in future versions.';

// Codes and titles as Neo4j 5 sends them (NotificationCodeWithDescription); the front-end
// only gives the description, so the kind is recognised from it. Order matters: first match wins.
const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  {
    pattern: /cartesian product/,
    code: 'Neo.ClientNotification.Statement.CartesianProduct',
    title: 'This query builds a cartesian product between disconnected patterns.',
    category: 'PERFORMANCE',
    gqlStatus: '03N90',
  },
  {
    pattern: /^Using shortest path with an unbounded pattern/,
    code: 'Neo.ClientNotification.Statement.UnboundedVariableLengthPattern',
    title: 'The provided pattern is unbounded, consider adding an upper limit to the number of node hops.',
    category: 'PERFORMANCE',
    gqlStatus: '03N91',
  },
  {
    pattern: /exhaustive (search|shortest path)/i,
    code: 'Neo.ClientNotification.Statement.ExhaustiveShortestPath',
    title:
      'Exhaustive shortest path has been planned for your query that means that shortest path graph algorithm might not be used to find the shortest path. Hence an exhaustive enumeration of all paths might be used in order to find the requested shortest path.',
    category: 'PERFORMANCE',
    gqlStatus: '03N92',
  },
  {
    pattern: /shadowing a variable with the same name from the outer scope/,
    code: 'Neo.ClientNotification.Statement.SubqueryVariableShadowing',
    title: 'Variable in subquery is shadowing a variable with the same name from the outer scope.',
    category: 'GENERIC',
    gqlStatus: '03N60',
  },
  {
    pattern: /^The use of `OPTIONAL` is redundant as `CALL` is a unit subquery/,
    code: 'Neo.ClientNotification.Statement.RedundantOptionalSubquery',
    title: 'The use of `OPTIONAL` is redundant when `CALL` is a unit subquery.',
    category: 'GENERIC',
    gqlStatus: '03N62',
  },
  {
    pattern: /^The use of `OPTIONAL` is redundant as `CALL .*` is a void procedure/,
    code: 'Neo.ClientNotification.Statement.RedundantOptionalProcedure',
    title: 'The use of `OPTIONAL` is redundant when `CALL` is a void procedure.',
    category: 'GENERIC',
    gqlStatus: '03N61',
  },
  {
    pattern: /^Relationship type expression cannot possibly be satisfied/,
    code: 'Neo.ClientNotification.Statement.UnsatisfiableRelationshipTypeExpression',
    title: 'The query contains a relationship type expression that cannot be satisfied.',
    category: 'GENERIC',
    gqlStatus: '01N61',
  },
  {
    pattern: /relationship is referenced more than once|repeated references? to a relationship/i,
    code: 'Neo.ClientNotification.Statement.RepeatedRelationshipReference',
    title: 'The query returns no results due to repeated references to a relationship.',
    category: 'GENERIC',
    gqlStatus: '01N63',
  },
  {
    pattern: /deprecated/i,
    code: 'Neo.ClientNotification.Statement.FeatureDeprecationWarning',
    title: DEPRECATION_TITLE,
    category: 'DEPRECATION',
    // 01N01 when Neo4j names a replacement, 01N02 when the feature just goes away.
    gqlStatus: (m) => (/replaced by|\bUse\b|use .* instead|Alternative:/i.test(m) ? '01N01' : '01N02'),
  },
];

export function notificationFor(d: LintDiagnostic): Notification {
  const position: Position = { offset: d.offset, line: d.line, column: d.column };
  const kind = NOTIFICATION_KINDS.find((k) => k.pattern.test(d.message));
  if (!kind) {
    // Neo4j's catch-all for a warning it has no specific code for (GQLSTATUS 01N42, "unknown warning").
    return { code: 'Neo.ClientNotification.Statement.UnknownWarning', title: 'Unknown warning.', description: d.message, severity: 'WARNING', category: 'GENERIC', gqlStatus: '01N42', position };
  }
  const gqlStatus = typeof kind.gqlStatus === 'string' ? kind.gqlStatus : kind.gqlStatus(d.message);
  return {
    code: kind.code,
    title: kind.title,
    description: d.message,
    // GQLSTATUS class 03 is "informational": Neo4j 5 reports these (cartesian product, unbounded
    // variable-length pattern, subquery shadowing, …) as INFORMATION, class 01 warnings as WARNING.
    severity: gqlStatus.startsWith('03') ? 'INFORMATION' : 'WARNING',
    category: kind.category,
    gqlStatus,
    position,
  };
}

export function verdictFor(query: string, diagnostics: readonly LintDiagnostic[], schema?: SchemaInfo): Verdict {
  const errors = diagnostics.filter((d) => d.severity === 'error' && !isIgnoredError(d.message, schema));
  if (errors.length > 0) {
    // Neo4j reports one error: the first in the text.
    const first = errors.reduce((a, b) => (b.offset < a.offset ? b : a));
    return { kind: 'refuse', refusal: refusalFor(query, first) };
  }
  const notifications = diagnostics.filter((d) => d.severity === 'warning').map((d) => Object.freeze(notificationFor(d)));
  return { kind: 'accept', notifications: Object.freeze(notifications) };
}
