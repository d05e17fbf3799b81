// Where a database's Bolt is public, told by the router to the node behind it. A node listens on a loopback
// port of its own; clients reach it through the router's public port (src/router/). The router adds one
// header to the first HTTP request of each connection it forwards to a node's Query API, and the node's
// discovery answer (`GET /`, which Neo4j Browser reads for its connect URL) names that port instead of its own.

/** `<public Bolt port>` or `<public Bolt port>; tls` (the client came in over TLS). */
export const PUBLIC_BOLT_HEADER = 'allotrope-public-bolt';

export interface PublicBolt {
  port: string;
  tls: boolean;
}

/** `head` (an HTTP/1 request's first bytes, its request line whole) with the header right after the request line. */
export function withPublicBolt(head: Buffer, boltPort: number, secure: boolean): Buffer {
  const end = head.indexOf('\r\n');
  if (end < 0 || !/ HTTP\/1\.[01]$/.test(head.subarray(0, end).toString('latin1'))) return head;
  const line = `${PUBLIC_BOLT_HEADER}: ${boltPort}${secure ? '; tls' : ''}\r\n`;
  return Buffer.concat([head.subarray(0, end + 2), Buffer.from(line, 'latin1'), head.subarray(end + 2)]);
}

/** The header's value (the router's comes first when a client sent one too: Node joins them with ", "). */
export function parsePublicBolt(raw: string | string[] | undefined): PublicBolt | undefined {
  const match = typeof raw === 'string' ? /^(\d{1,5})(; tls)?(?:,|$)/.exec(raw) : null;
  return match ? { port: match[1]!, tls: match[2] !== undefined } : undefined;
}
