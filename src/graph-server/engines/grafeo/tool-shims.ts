// What Neo4j tools (Browser, Desktop, cypher-shell, drivers' examples) send on connect and the
// engine lacks (spec bolt-server.md §8), answered here without the engine. Only whole queries of
// the shapes below are answered; anything else falls through to the engine (and its error).
import type { QueryResult } from '../../engine-api.js';
import type { Value } from '../../values.js';

/** What the shims say about this server; from the graph-server (main.ts). */
export interface ShimContext {
  /** "host:port" of Bolt as clients should use it. */
  boltAddress(): string;
  readOnly: boolean;
}
export const SHIM_KERNEL_VERSION = '5.26.0';
type ShimRow = Record<string, Value>;
interface ShimTable {
  /** Columns in Neo4j's order when the query has no YIELD/RETURN. */
  columns: string[];
  rows: ShimRow[];
}
function databaseRows(ctx: ShimContext): ShimRow[] {
  const row = (name: string, type: string, isDefault: boolean): ShimRow => ({
    name,
    type,
    aliases: [],
    access: ctx.readOnly && name !== 'system' ? 'read-only' : 'read-write',
    address: ctx.boltAddress(),
    role: 'primary',
    writer: true,
    requestedStatus: 'online',
    currentStatus: 'online',
    statusMessage: '',
    default: isDefault,
    home: isDefault,
    constituents: [],
  });
  return [row('neo4j', 'standard', true), row('system', 'system', false)];
}
const DATABASE_COLUMNS = ['name', 'type', 'aliases', 'access', 'address', 'role', 'writer', 'requestedStatus', 'currentStatus', 'statusMessage', 'default', 'home', 'constituents'];
// Browser settings Neo4j reports; no outgoing connections or telemetry from a self-hosted platform.
const CLIENT_CONFIG: readonly [string, string, string][] = [
  ['browser.allow_outgoing_connections', 'Configure the policy for outgoing Neo4j Browser connections.', 'false'],
  ['browser.credential_timeout', 'Configure the Neo4j Browser to time out logged in users after this idle period.', '0s'],
  ['browser.post_connect_cmd', 'Commands to be run when Neo4j Browser successfully connects to this server.', ''],
  ['browser.remote_content_hostname_whitelist', 'Whitelist of hosts for the Neo4j Browser to be allowed to fetch content from.', 'guides.neo4j.com,localhost'],
  ['browser.retain_connection_credentials', 'Configure the Neo4j Browser to store or not store user credentials.', 'true'],
  ['browser.retain_editor_history', 'Configure the Neo4j Browser to store or not store editor history.', 'true'],
  ['client.allow_telemetry', 'Configure client applications (e.g. Browser and Bloom) to send Product Analytics data.', 'false'],
  ['dbms.security.auth_enabled', 'Enable auth requirement to access Neo4j.', 'true'],
];
/** The table a shimmed head (`CALL dbms.components()`, `SHOW DATABASES`, …) produces, or null. */
function shimTable(head: string, ctx: ShimContext, username: string | undefined): ShimTable | null {
  const h = head.toLowerCase().replace(/\s+/g, ' ');
  if (h === 'call dbms.components()' || h === 'call dbms.components') {
    return { columns: ['name', 'versions', 'edition'], rows: [{ name: 'Neo4j Kernel', versions: [SHIM_KERNEL_VERSION], edition: 'community' }] };
  }
  if (h === 'show databases' || h === 'show database') return { columns: DATABASE_COLUMNS, rows: databaseRows(ctx) };
  if (h === 'show default database' || h === 'show home database') {
    return { columns: DATABASE_COLUMNS.filter((c) => c !== 'default' && c !== 'home'), rows: databaseRows(ctx).filter((r) => r.default === true) };
  }
  const named = /^show databases? (`?)([a-z0-9._-]+)\1$/.exec(h);
  if (named) return { columns: DATABASE_COLUMNS, rows: databaseRows(ctx).filter((r) => r.name === named[2]) };
  // Community edition: no roles and no suspension, as Neo4j Community answers.
  if (h === 'call dbms.showcurrentuser()' || h === 'call dbms.showcurrentuser') {
    return { columns: ['username', 'roles', 'flags'], rows: [{ username: username ?? null, roles: null, flags: [] }] };
  }
  if (h === 'show current user' || h === 'show current users') {
    return {
      columns: ['user', 'roles', 'passwordChangeRequired', 'suspended', 'home'],
      rows: [{ user: username ?? null, roles: null, passwordChangeRequired: false, suspended: null, home: null }],
    };
  }
  if (h === 'call dbms.clientconfig()' || h === 'call dbms.clientconfig') {
    return { columns: ['name', 'description', 'value', 'dynamic'], rows: CLIENT_CONFIG.map(([name, description, value]) => ({ name, description, value, dynamic: false })) };
  }
  return null;
}
const SHIM_HEAD =
  /^\s*(call\s+dbms\s*\.\s*(?:components|showCurrentUser|clientConfig)\s*(?:\(\s*\))?|show\s+(?:current\s+users?|(?:default|home)\s+database|databases?(?:\s+(?!yield\b|where\b|return\b)`?[A-Za-z0-9._-]+`?)?))(?=\s|;|$)/i;
const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const ITEM = new RegExp(`^(${IDENT})(?:\\s*\\[\\s*(\\d+)\\s*\\])?(?:\\s+AS\\s+(${IDENT}))?$`, 'i');
interface ShimItem {
  source: string;
  index: number | null;
  name: string;
}
function shimItems(list: string, allowIndex: boolean): ShimItem[] | null {
  const items: ShimItem[] = [];
  for (const part of list.split(',')) {
    const m = ITEM.exec(part.trim());
    if (!m || (m[2] !== undefined && !allowIndex)) return null;
    const source = m[1]!;
    const index = m[2] === undefined ? null : Number(m[2]);
    items.push({ source, index, name: m[3] ?? (index === null ? source : `${source}[${index}]`) });
  }
  return items;
}
/**
 * Answers a tool query from its shim, or returns null for the engine to run it. Understood after
 * the head: `YIELD *` or `YIELD a [AS b], …`, then `UNWIND list AS x`, then `RETURN a [AS b], x[0] AS y, …`.
 */
export function answerToolShim(query: string, ctx: ShimContext, username?: string): QueryResult | null {
  if (query.length > 500) return null;
  const text = query.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim().replace(/;\s*$/, '');
  const head = SHIM_HEAD.exec(text);
  if (!head) return null;
  const table = shimTable(head[1]!, ctx, username);
  if (!table) return null;
  let rest = text.slice(head[0].length).trim();
  let columns = table.columns;
  let rows = table.rows.map((r) => ({ ...r }));
  const yieldClause = /^YIELD\s+(\*|.+?)(?=\s+(?:WHERE|UNWIND|RETURN)\b|$)/is.exec(rest);
  if (yieldClause) {
    rest = rest.slice(yieldClause[0].length).trim();
    if (yieldClause[1] !== '*') {
      const items = shimItems(yieldClause[1]!, false);
      if (!items || items.some((i) => !columns.includes(i.source))) return null;
      rows = rows.map((r) => Object.fromEntries(items.map((i) => [i.name, r[i.source] ?? null])));
      columns = items.map((i) => i.name);
    }
  }
  // `WHERE column = 'text'` (or = true/false), e.g. `SHOW DATABASES YIELD * WHERE name = 'neo4j'`.
  const where = new RegExp(`^WHERE\\s+(${IDENT})\\s*=\\s*(?:'([^'\\\\]*)'|"([^"\\\\]*)"|(true|false))(?=\\s|$)`, 'i').exec(rest);
  if (where) {
    if (!columns.includes(where[1]!)) return null;
    rest = rest.slice(where[0].length).trim();
    const wanted: Value = where[4] !== undefined ? where[4].toLowerCase() === 'true' : (where[2] ?? where[3])!;
    rows = rows.filter((r) => r[where[1]!] === wanted);
  }
  const unwind = new RegExp(`^UNWIND\\s+(${IDENT})\\s+AS\\s+(${IDENT})(?=\\s|$)`, 'i').exec(rest);
  if (unwind) {
    if (!yieldClause || !columns.includes(unwind[1]!)) return null;
    rest = rest.slice(unwind[0].length).trim();
    const [from, to] = [unwind[1]!, unwind[2]!];
    rows = rows.flatMap((r) => (Array.isArray(r[from]) ? (r[from] as Value[]).map((v) => ({ ...r, [to]: v })) : []));
    columns = [...columns, to];
  }
  const ret = /^RETURN\s+(.+)$/is.exec(rest);
  if (ret) {
    // As in Neo4j, RETURN after a procedure call or a SHOW command needs YIELD first.
    if (!yieldClause) return null;
    rest = '';
    const items = shimItems(ret[1]!, true);
    if (!items || items.some((i) => !columns.includes(i.source))) return null;
    rows = rows.map((r) =>
      Object.fromEntries(
        items.map((i) => {
          const v = r[i.source] ?? null;
          return [i.name, i.index === null ? v : Array.isArray(v) ? (v[i.index] ?? null) : null];
        }),
      ),
    );
    columns = items.map((i) => i.name);
  }
  if (rest !== '') return null;
  return {
    fields: columns,
    records: rows.map((r) => columns.map((c) => r[c] ?? null)),
    summary: { stats: {}, queryType: 'r', notifications: [] },
  };
}
// Neo4j Browser's and Neo4j's editor tooling's metadata query: a UNION ALL of
// `CALL db.labels() YIELD label RETURN COLLECT(label)[..1000] AS result` parts. The engine cannot
// index an aggregate in the same RETURN, so each part aggregates in a WITH first.
const METADATA_PART = /^\s*CALL\s+db\s*\.\s*(labels|relationshipTypes|propertyKeys)\s*\(\s*\)\s+YIELD\s+([A-Za-z_][A-Za-z0-9_]*)\s+RETURN\s+COLLECT\s*\(\s*\2\s*\)\s*\[\s*\.\.\s*(\d+)\s*\]\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/i;
/** The engine's form of a tool's metadata query, or the query unchanged. */
export function rewriteToolQuery(query: string): string {
  if (query.length > 2000 || !/COLLECT\s*\(/i.test(query)) return query;
  const parts = query.trim().replace(/;\s*$/, '').split(/\bUNION\s+ALL\b/i);
  const rewritten: string[] = [];
  for (const part of parts) {
    const m = METADATA_PART.exec(part);
    if (!m) return query;
    rewritten.push(`CALL db.${m[1]}() YIELD ${m[2]} WITH collect(${m[2]}) AS shim_collected RETURN shim_collected[..${m[3]}] AS ${m[4]}`);
  }
  return rewritten.join(' UNION ALL ');
}
