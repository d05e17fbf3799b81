// Public ports of database endpoints: a bolt/http pair per database from the configured range, kept
// for the database's whole life and freed when it is terminated (the terminate operation deletes its rows). The `port_allocations` primary key is
// what keeps two databases apart; a port some other program holds on this machine is skipped.
import net from 'node:net';
import type { Transaction } from 'kysely';
import type { Tables } from '../store/schema/index.js';
import { DomainError } from '../errors.js';
import { isUniqueViolation } from '../store/errors.js';

export interface PortRange {
  first: number;
  last: number;
}

export interface PortPair {
  boltPort: number;
  httpPort: number;
}

/** Whether nothing listens on `port` at `host` right now. */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Allocates the two lowest free ports of `range` to `databaseId`; call inside the creating transaction. */
export async function allocatePortPair(
  trx: Transaction<Tables>,
  databaseId: string,
  range: PortRange,
  now: Date,
  probeHost: string | null,
): Promise<PortPair> {
  const taken = new Set(
    (await trx.selectFrom('port_allocations').select('port').where('port', '>=', range.first).where('port', '<=', range.last).execute()).map((r) => r.port),
  );
  const picked: number[] = [];
  for (let port = range.first; port <= range.last && picked.length < 2; port++) {
    if (taken.has(port)) continue;
    if (probeHost !== null && !(await portIsFree(port, probeHost))) continue;
    picked.push(port);
  }
  if (picked.length < 2) {
    throw new DomainError('unavailable', `no free database ports left in ${range.first}-${range.last}; terminate a database or widen ALLOTROPE_DB_PORTS`);
  }
  const [boltPort, httpPort] = picked as [number, number];
  await trx
    .insertInto('port_allocations')
    .values([
      { port: boltPort, database_id: databaseId, kind: 'bolt', allocated_at: now.toISOString() },
      { port: httpPort, database_id: databaseId, kind: 'http', allocated_at: now.toISOString() },
    ])
    .execute();
  return { boltPort, httpPort };
}

/** Whether `err` is the store refusing a port another transaction allocated first (SQLite or PostgreSQL 23505). */
export function isPortTaken(err: unknown): boolean {
  const e = err as { constraint?: string; message?: string } | null;
  return isUniqueViolation(err) && (e?.constraint === 'port_allocations_pkey' || /port_allocations\.port/.test(String(e?.message)));
}

/** Runs `allocate` (a transaction that allocates ports) again when a concurrent one took its ports first. */
export async function retryWhenPortTaken<T>(allocate: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await allocate();
    } catch (err) {
      if (attempt >= attempts || !isPortTaken(err)) throw err;
    }
  }
}
