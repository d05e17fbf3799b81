// The switch-connection-url operation (api.md §5; checked and enqueued by domain/switch-url.ts): one idempotent
// store transaction exchanging the two databases' endpoints, then the router is told.
import { tlsHostName } from '../../domain/connection-urls.js';
import { ENDED, SWITCH_URL_OPERATION } from '../../domain/switch-url.js';
import { OperationError, type OperationKind } from '../kind.js';
import { activeOperationId } from '../queue.js';

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
