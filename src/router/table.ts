// The router's endpoint table, read from the store: per database that is not terminated, its public ports,
// state, auto-resume flag, the network rules of its environment and where its node listens now.
import type { Kysely } from 'kysely';
import { tlsHostName } from '../domain/connection-urls.js';
import type { Tables } from '../store/schema/index.js';

export interface Endpoint {
  databaseId: string;
  name: string;
  environmentId: string;
  environmentLabel: string;
  state: string;
  autoResume: boolean;
  boltPort: number;
  httpPort: number;
  /** CIDR ranges allowed; empty: every address. */
  rules: string[];
  /** The TLS server name (SNI) that picks this database on the shared TLS port, lower case. */
  tlsName: string;
  /** The serving node's loopback ports; null while no node runs. */
  target: { boltPort: number; httpPort: number } | null;
}

export interface EndpointTable {
  byPort: Map<number, { endpoint: Endpoint; kind: 'bolt' | 'http' }>;
  byId: Map<string, Endpoint>;
  byTlsName: Map<string, Endpoint>;
  /** Changes when anything the router acts on changes. */
  signature: string;
}

export async function readEndpointTable(db: Kysely<Tables>, publicHost: string): Promise<EndpointTable> {
  const rows = await db
    .selectFrom('databases')
    .innerJoin('environments', 'environments.id', 'databases.environment_id')
    .select([
      'databases.id',
      'databases.name',
      'databases.environment_id',
      'environments.label',
      'databases.state',
      'databases.auto_resume',
      'databases.bolt_port',
      'databases.http_port',
      'databases.domain_name',
    ])
    .where('databases.state', '!=', 'terminated')
    .orderBy('databases.id')
    .execute();
  const nodes = await db
    .selectFrom('database_nodes')
    .select(['database_id', 'internal_bolt_port', 'internal_http_port'])
    .where('node_type', '=', 'primary')
    .where('internal_bolt_port', 'is not', null)
    .orderBy('created_at')
    .execute();
  const rules = await db.selectFrom('network_rules').select(['environment_id', 'ip_range']).orderBy('environment_id').orderBy('ip_range').execute();
  const rulesOf = new Map<string, string[]>();
  for (const r of rules) rulesOf.set(r.environment_id, [...(rulesOf.get(r.environment_id) ?? []), r.ip_range]);
  const targetOf = new Map<string, { boltPort: number; httpPort: number }>();
  for (const n of nodes) {
    if (!targetOf.has(n.database_id) && n.internal_bolt_port && n.internal_http_port) targetOf.set(n.database_id, { boltPort: n.internal_bolt_port, httpPort: n.internal_http_port });
  }
  const table: EndpointTable = { byPort: new Map(), byId: new Map(), byTlsName: new Map(), signature: '' };
  for (const r of rows) {
    const endpoint: Endpoint = {
      databaseId: r.id,
      name: r.name,
      environmentId: r.environment_id,
      environmentLabel: r.label,
      state: r.state,
      autoResume: r.auto_resume === 1,
      boltPort: r.bolt_port,
      httpPort: r.http_port,
      rules: rulesOf.get(r.environment_id) ?? [],
      tlsName: tlsHostName({ id: r.id, domain_name: r.domain_name }, publicHost),
      target: targetOf.get(r.id) ?? null,
    };
    table.byId.set(r.id, endpoint);
    table.byTlsName.set(endpoint.tlsName, endpoint);
    table.byPort.set(r.bolt_port, { endpoint, kind: 'bolt' });
    table.byPort.set(r.http_port, { endpoint, kind: 'http' });
  }
  table.signature = JSON.stringify([...table.byId.values()]);
  return table;
}
