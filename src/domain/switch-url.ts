// Switch connection URL (api.md §5, `PUT /{id}/connection-url/switch`): two databases of one organization and
// region exchange their endpoints — domain name, Bolt and HTTP ports (and the port allocations) — so clients
// keep their URL and reach the other database from then on. Checked and enqueued here; the swap itself is the
// operation's one step, a single store transaction (operations/kinds/switch-url.ts), which the router picks up at once.
import type { Caller } from '../auth/caller.js';
import { normalizeId } from '../ids.js';
import { activeOperationId, enqueueOperation, isExclusiveViolation } from '../operations/queue.js';
import { findDatabase, type DatabaseDeps } from './databases.js';
import { DomainError, conflict, invalid, notFound } from '../errors.js';

export const SWITCH_URL_OPERATION = 'switch-connection-url';

export const ENDED = new Set(['terminating', 'terminated']);

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
