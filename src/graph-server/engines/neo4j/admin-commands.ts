// Neo4j's administration commands (users, roles, databases, aliases, servers, privileges) run as Neo4j's
// internal user, the only one it has: a database user could change the password the graph-server logs in
// with, or add users that exist nowhere else. Database users are managed through the management API, so
// these commands are refused before they reach Neo4j. Neo4j accepts them only as a whole statement (never
// inside another clause), so looking at the statement's first words is enough.

const PREFIX = /^(?:\s+|\/\/[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const QUERY_OPTIONS = /^(?:CYPHER(?:\s+\d+(?:\.\d+)?)?(?:\s+[A-Za-z_]+\s*=\s*[A-Za-z_0-9]+)*|EXPLAIN|PROFILE|USE\s+(?:`[^`]*`|[A-Za-z_][\w.]*))\b/i;
const ADMIN =
  /^(?:(?:CREATE|ALTER|DROP|RENAME)\s+(?:OR\s+REPLACE\s+)?(?:CURRENT\s+USER|USER|ROLE|(?:COMPOSITE\s+|STANDARD\s+)?DATABASE|(?:LOCAL\s+|REMOTE\s+)?ALIAS|SERVER)\b|(?:GRANT|DENY|REVOKE)\b|(?:START|STOP)\s+DATABASE\b|(?:ENABLE|DEALLOCATE|REALLOCATE|DRYRUN)\s+(?:SERVER|DATABASES?)\b|CALL\s+dbms\s*\.\s*security\s*\.)/i;

/** Whether `query` is an administration command (after comments and CYPHER/EXPLAIN/PROFILE/USE prefixes). */
export function isAdministrationCommand(query: string): boolean {
  let rest = query;
  for (;;) {
    rest = rest.replace(PREFIX, '');
    const prefix = QUERY_OPTIONS.exec(rest);
    if (!prefix) break;
    rest = rest.slice(prefix[0].length);
  }
  return ADMIN.test(rest);
}

export const ADMINISTRATION_REFUSED =
  'Administration commands (users, roles, privileges, databases) are not available on this service: manage database users through the management API (…/users)';
