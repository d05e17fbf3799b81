// Element ids as drivers see them (Neo4j's `4:<db>:<id>` / `5:<db>:<id>`), and the rewriting of
// `elementId(x)` in a query so that the engine's own form (`n:<id>` / `e:<id>`) never reaches a client.
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

/**
 * Index just past the string, comment or backticked name starting at `i`, or -1 if none starts there — by the
 * engine's own rules (measured: backslash escapes in strings, none in backticks, `//` and `/* … *\/` comments,
 * an unclosed block comment running to the end). LOAD CSV confinement depends on them matching.
 */
export function skipLiteral(q: string, i: number): number {
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
