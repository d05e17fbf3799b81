// The connection URLs a Database JSON names. Without router TLS: the database's own plain ports on the
// public host. With it: one shared TLS port, the database picked by the server name
// `<database id>.<publicHost>` (as Aura's `<id>.databases.neo4j.io`); `+s` schemes with a configured
// certificate, `+ssc` with the generated self-signed one (clients skip the CA check, keep encryption).
import type { Config } from '../config.js';

export interface ConnectionUrls {
  bolt: string;
  neo4j: string;
  http: string;
  browser: string;
}

/** What the URLs need to know of router TLS; null when it is off. */
export interface RouterTlsEndpoint {
  publicHost: string;
  port: number;
  selfSigned: boolean;
}

export function routerTlsEndpoint(config: Pick<Config, 'routerTls' | 'publicHost'>): RouterTlsEndpoint | null {
  const t = config.routerTls;
  return t.mode === 'off' ? null : { publicHost: config.publicHost, port: t.port, selfSigned: t.mode === 'self-signed' };
}

/** The TLS host name of a database: its stored domain name when that already is `<id>.<publicHost>`, else `<id>.<publicHost>`. */
export function tlsHostName(row: { id: string; domain_name: string }, publicHost: string): string {
  const suffix = `.${publicHost.toLowerCase()}`;
  const stored = row.domain_name.toLowerCase();
  return stored.endsWith(suffix) && /^[0-9a-f]{32}$/.test(stored.slice(0, -suffix.length)) ? stored : `${row.id}.${publicHost.toLowerCase()}`;
}

function hostPort(host: string, port: number, defaultPort: number): string {
  return port === defaultPort ? host : `${host}:${port}`;
}

export function connectionUrls(row: { id: string; domain_name: string; bolt_port: number; http_port: number }, tls: RouterTlsEndpoint | null): ConnectionUrls {
  if (!tls) {
    const host = row.domain_name;
    return {
      bolt: `bolt://${host}:${row.bolt_port}`,
      neo4j: `neo4j://${host}:${row.bolt_port}`,
      http: `http://${host}:${row.http_port}`,
      // Neo4j Browser connects to the Bolt URL given as `dbms` (over WebSocket, on the Bolt port).
      browser: `http://${host}:${row.http_port}/browser/?dbms=bolt://${host}:${row.bolt_port}`,
    };
  }
  const name = tlsHostName(row, tls.publicHost);
  const s = tls.selfSigned ? 'ssc' : 's';
  // Bolt's default port is 7687 and HTTPS's 443: a URL on them leaves the port out, as Aura's do.
  const bolt = hostPort(name, tls.port, 7687);
  const https = hostPort(name, tls.port, 443);
  return {
    bolt: `bolt+${s}://${bolt}`,
    neo4j: `neo4j+${s}://${bolt}`,
    http: `https://${https}`,
    // A browser page on https talks wss to the same port; Browser knows `+s` (a self-signed certificate
    // must first be accepted in the browser by opening the https URL).
    browser: `https://${https}/browser/?dbms=neo4j+s://${name}:${tls.port}`,
  };
}
