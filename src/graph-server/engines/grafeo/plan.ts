// Grafeo's EXPLAIN/PROFILE text as the plan tree Neo4j puts in a result summary (Bolt SUCCESS
// `plan`/`profile`: operatorType, identifiers, args, children; profiles add rows, dbHits and time).
//
//   Limit (3)
//     Return (a.x AS x, c AS c)                    EXPLAIN: one operator a line, children indented
//       Filter (a.x Eq 1)  rows=1  time=0.01ms     PROFILE: rows and time per operator
import type { PlanOperator } from '../../engine-api.js';

const LINE_RE = /^( *)([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*?)\))?(.*?)(?:\s+rows=(\d+)\s+time=([\d.]+)ms)?\s*$/;
const NAME_RE = /(?:^|[(,\s[])([A-Za-z_][A-Za-z0-9_]*)(?=[:.)\],]|\s+AS\b|$)|\bAS\s+([A-Za-z_][A-Za-z0-9_]*)/g;
const NOT_NAMES = new Set(['AS', 'ASC', 'DESC', 'Eq', 'Ne', 'Lt', 'Le', 'Gt', 'Ge', 'And', 'Or', 'Not', 'group', 'aggs', 'true', 'false', 'null']);

function identifiersOf(details: string): string[] {
  const names = new Set<string>();
  for (const m of details.matchAll(NAME_RE)) {
    const name = m[2] ?? m[1];
    if (name && !NOT_NAMES.has(name) && !/^\d/.test(name)) names.add(name);
  }
  return [...names];
}

/** The operator tree of Grafeo's plan text; null when the text has no operator line. */
export function parsePlanText(text: string, profiled: boolean): PlanOperator | null {
  const stack: { indent: number; op: PlanOperator }[] = [];
  let root: PlanOperator | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim() || /^Total time:/.test(line.trim())) continue;
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const indent = m[1]!.length;
    const details = [m[3], m[4]?.trim()].filter(Boolean).join(' ');
    const op: PlanOperator = { operatorType: m[2]!, identifiers: identifiersOf(details), args: details ? { Details: details } : {}, children: [] };
    if (profiled) {
      op.rows = m[5] ? Number(m[5]) : 0;
      op.dbHits = 0;
      op.time = m[6] ? Math.round(Number(m[6]) * 1_000_000) : 0;
    }
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) parent.op.children.push(op);
    else if (!root) root = op;
    stack.push({ indent, op });
  }
  if (root) {
    // Neo4j lists every variable in scope at an operator: its own and those its inputs bring.
    const scope = (op: PlanOperator): string[] => {
      const all = new Set(op.identifiers);
      for (const c of op.children) for (const name of scope(c)) all.add(name);
      op.identifiers = [...all].sort();
      return op.identifiers;
    };
    scope(root);
    root.args = { ...root.args, planner: 'COST', runtime: 'GRAFEO', 'planner-impl': 'GRAFEO', 'runtime-impl': 'GRAFEO' };
  }
  return root;
}

/** The query without a leading EXPLAIN or PROFILE, and which of the two it had. */
export function planMode(query: string): { mode: 'EXPLAIN' | 'PROFILE' | null; body: string } {
  const m = /^\s*(EXPLAIN|PROFILE)\s+/i.exec(query);
  if (!m) return { mode: null, body: query };
  return { mode: m[1]!.toUpperCase() as 'EXPLAIN' | 'PROFILE', body: query.slice(m[0].length) };
}
