// Switch connection URL (api.md §5, `PUT /{id}/connection-url/switch`): two databases of one organization and
// region exchange their endpoints — domain name, Bolt and HTTP ports (and the port allocations) — so clients
// keep their URL and reach the other database from then on. Checked and enqueued here; the swap itself is the
// operation's one step, a single store transaction (switchConnectionUrlKind), which the router picks up at once.
import type { Caller } from '../auth/caller.js';
import { normalizeId } from '../ids.js';
import type { OperationKind } from '../operations/kind.js';
import { OperationError } from '../operations/kind.js';
import { activeOperationId, enqueueOperation, isExclusiveViolation } from '../operations/queue.js';
import { findDatabase, type DatabaseDeps } from './databases.js';
import { tlsHostName } from './connection-urls.js';
import { DomainError, conflict, invalid, notFound } from '../errors.js';

export const SWITCH_URL_OPERATION = 'switch-connection-url';

const ENDED = new Set(['terminating', 'terminated']);

export async function switchConnectionUrl(deps: DatabaseDeps, caller: Caller, id: string, targetDatabaseId: unknown): Promise<string> {
  if (typeof targetDatabaseId !== 'string' || targetDatabaseId.trim() === '') throw invalid('targetDatabaseId', 'targetDatabaseId must be the id of another database');
  const { row: source } = await findDatabase(deps, caller, id, 'switch-url');
  if ((normalizeId(targetDatabaseId) ?? targetDatabaseId) === source.id) {
    throw invalid('targetDatabaseId', 'targetDatabaseId names this database itself; a switch needs another database');
  }
  let target;
  try {
    ({ row: target } = await findDatabase(deps, caller, targetDatabaseId, 'switch-url'));
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'not-found') throw notFound(`targetDatabaseId: database '${targetDatabaseId}' does not exist`);
    throw err;
  }
  if (target.region !== source.region) {
    throw invalid('targetDatabaseId', `database '${target.id}' is in region '${target.region}' and this one in '${source.region}'; a switch needs both in the same region`);
  }
  const operationId = await deps.db
    .transaction()
    .execute(async (trx) => {
      for (const db of [source, target]) {
        const current = await trx.selectFrom('databases').select(['id', 'state']).where('id', '=', db.id).executeTakeFirstOrThrow();
        if (ENDED.has(current.state)) throw conflict(`database '${db.id}' is ${current.state}; a switch needs two live databases`);
        const active = await activeOperationId(trx, db.id);
        const where = db.id === target.id ? ` on database '${db.id}'` : '';
        if (active) throw conflict(`operation ${active} is in progress${where}`);
      }
      return enqueueOperation(
        trx,
        {
          organizationId: source.organization_id,
          databaseId: source.id,
          operationType: SWITCH_URL_OPERATION,
          description: `Switch the connection URL of database ${source.name} with database ${target.name}`,
          // The source's Bolt port before the swap: what makes the step know whether it already ran.
          params: { targetDatabaseId: target.id, sourceBoltPort: source.bolt_port },
        },
        deps.clock.now(),
      );
    })
    .catch(async (err: unknown) => {
      if (!isExclusiveViolation(err)) throw err;
      throw conflict(`operation ${(await activeOperationId(deps.db, source.id)) ?? '(another)'} is in progress`);
    });
  deps.wake();
  return operationId;
}

/**
 * The operation: one idempotent transaction exchanging the two rows' endpoints, then `endpointsChanged`.
 * With router TLS on (`tlsPublicHost`), the TLS host names `<id>.<publicHost>` are what clients use: each
 * row's domain name is made its TLS host name first, so the exchange hands those over too.
 */
export function switchConnectionUrlKind(deps: { endpointsChanged(): void | Promise<void>; tlsPublicHost?: string | null }): OperationKind {
  return {
    type: SWITCH_URL_OPERATION,
    steps: [
      {
        name: 'swap-endpoints',
        async run(ctx) {
          const { targetDatabaseId, sourceBoltPort } = ctx.operation.params as { targetDatabaseId: string; sourceBoltPort: number };
          const sourceId = ctx.operation.databaseId;
          const message = await ctx.db.transaction().execute(async (trx) => {
            const [a, b] = await Promise.all(
              [sourceId, targetDatabaseId].map((id) => trx.selectFrom('databases').select(['id', 'state', 'domain_name', 'bolt_port', 'http_port']).where('id', '=', id).executeTakeFirstOrThrow()),
            );
            if (a!.bolt_port !== sourceBoltPort) return 'already switched';
            // The target may have begun something since the request was accepted.
            if (ENDED.has(b!.state)) throw new OperationError(`database '${b!.id}' is ${b!.state}; the switch was not made`);
            const active = await activeOperationId(trx, b!.id);
            if (active) throw new OperationError(`operation ${active} is in progress on database '${b!.id}'; the switch was not made`);
            if (deps.tlsPublicHost) for (const row of [a!, b!]) row.domain_name = tlsHostName(row, deps.tlsPublicHost);
            const swap = async (from: typeof a, to: typeof a, domain: string) =>
              trx.updateTable('databases').set({ domain_name: domain, bolt_port: to!.bolt_port, http_port: to!.http_port }).where('id', '=', from!.id).execute();
            // Via a placeholder, so no uniqueness check on the domain name ever sees two rows with one value.
            await trx.updateTable('databases').set({ domain_name: `switching-${a!.id}` }).where('id', '=', a!.id).execute();
            await swap(b, a, a!.domain_name);
            await swap(a, b, b!.domain_name);
            for (const [from, to] of [
              [a!, b!],
              [b!, a!],
            ] as const) {
              await trx.updateTable('port_allocations').set({ database_id: to.id }).where('port', 'in', [from.bolt_port, from.http_port]).execute();
            }
            return `database ${a!.id} now answers on ${b!.domain_name}:${b!.bolt_port}, database ${b!.id} on ${a!.domain_name}:${a!.bolt_port}`;
          });
          await deps.endpointsChanged();
          return message;
        },
      },
    ],
  };
}
