// The steps of every database lifecycle operation. Each step is idempotent (provision, start, stop and
// destroy are no-ops when already done; users are rewritten whole), so the engine can re-run the
// interrupted step after a crash. On failure the database's state is read back from the runtime
// (`settle`), never guessed, so the store never contradicts the processes.
import type { Kysely, Transaction } from 'kysely';
import type { Runtime } from '../../runtimes/runtime.js';
import type { Tables } from '../../store/schema/index.js';
import { OperationError, type OperationKind, type Step, type StepContext } from '../kind.js';
import { nodeAccessOf, nodeSpecsOf } from '../../domain/node-specs.js';

/** States of a database as the operations see them (the domain's state table owns the full list). */
type DatabaseState = string;
type DatabaseAction = 'create' | 'restart' | 'pause' | 'resume' | 'terminate' | 'empty' | 'change-plan';

export interface DatabaseKindsDeps {
  runtime: Runtime;
  /**
   * The state each action leaves the database in when its operation finishes (null: unchanged); the
   * domain's transition table (`TRANSITIONS` in src/domain/databases.ts), passed in so operations do not
   * reach back into the domain.
   */
  afterStates: Readonly<Record<DatabaseAction, DatabaseState | null>>;
  /** Where node processes listen. */
  nodeHost: string;
  /**
   * The backups area's hook for the terminate operation's `take-final-snapshot` step: snapshot the
   * database (kept for the plan's retention) before its files are destroyed.
   */
  finalSnapshot?(ctx: StepContext): Promise<string | void>;
  /** The backups area's hook for create with `fromSnapshotId`: put the snapshot's files into the stopped node. */
  restoreSnapshot?(ctx: StepContext, stationId: string, snapshotId: string): Promise<string | void>;
}

async function stations(ctx: StepContext, deps: DatabaseKindsDeps) {
  return nodeSpecsOf(ctx.db, ctx.operation.databaseId, deps.nodeHost);
}

function writeUsersStep(deps: DatabaseKindsDeps): Step {
  return {
    name: 'write-users',
    async run(ctx) {
      const access = await nodeAccessOf(ctx.db, ctx.operation.databaseId, ctx.clock.now());
      for (const spec of await stations(ctx, deps)) await deps.runtime.writeUsers(spec.stationId, access);
      return `${access.users.length} user(s)${access.allow.length ? `, connections only from ${access.allow.join(', ')}` : ''}`;
    },
  };
}

function startStep(deps: DatabaseKindsDeps, name: string): Step {
  return {
    name,
    async run(ctx) {
      for (const spec of await stations(ctx, deps)) await deps.runtime.start(spec);
    },
  };
}

async function setState(trx: Transaction<Tables>, databaseId: string, state: DatabaseState, extra: Record<string, unknown> = {}): Promise<void> {
  await trx.updateTable('databases').set({ state, ...extra }).where('id', '=', databaseId).execute();
}

/**
 * After a failure: if every node answers healthy the database is running; otherwise nodes are stopped (so
 * nothing half-started lingers) and the database takes `fallback` — `paused` keeps its data reachable by
 * resume, `failed` asks for a restart or terminate.
 */
async function settleTo(ctx: StepContext, deps: DatabaseKindsDeps, fallback: DatabaseState): Promise<DatabaseState> {
  const specs = await stations(ctx, deps);
  const healths = await Promise.all(specs.map((s) => deps.runtime.health(s.stationId).catch(() => ({ status: 'stopped' as const }))));
  if (specs.length > 0 && healths.every((h) => h.status === 'healthy')) return 'running';
  await Promise.all(
    specs.map((s) => deps.runtime.stop(s.stationId).catch((err: unknown) => ctx.logger.error({ err, stationId: s.stationId }, 'stopping a node after a failure failed'))),
  );
  return fallback;
}

function settledState(settled: unknown, fallback: DatabaseState): DatabaseState {
  return typeof settled === 'string' ? (settled as DatabaseState) : fallback;
}

/** The shared ending of a kind: success state from the transition table, failure state from the runtime. */
function endings(deps: DatabaseKindsDeps, action: DatabaseAction, fallback: (db: Kysely<Tables>, databaseId: string) => Promise<DatabaseState>) {
  return {
    async onSuccess(trx: Transaction<Tables>, ctx: StepContext) {
      const after = deps.afterStates[action];
      if (after === 'running') {
        await setState(trx, ctx.operation.databaseId, after, { under_incident: 0, needs_restart: 0, health_status: 'healthy', health_checked_at: ctx.clock.now().toISOString() });
      } else if (after === 'paused') {
        await setState(trx, ctx.operation.databaseId, after, { under_incident: 0, health_status: 'stopped', health_checked_at: ctx.clock.now().toISOString() });
      } else if (after) {
        await setState(trx, ctx.operation.databaseId, after);
      }
    },
    async settle(ctx: StepContext) {
      return settleTo(ctx, deps, await fallback(ctx.db, ctx.operation.databaseId));
    },
    async onFailure(trx: Transaction<Tables>, ctx: StepContext, _error: OperationError, settled: unknown) {
      const state = settledState(settled, 'failed');
      await setState(trx, ctx.operation.databaseId, state, state === 'running' ? { under_incident: 0 } : {});
    },
  };
}

const failed = async (): Promise<DatabaseState> => 'failed';
const paused = async (): Promise<DatabaseState> => 'paused';

export function databaseOperationKinds(deps: DatabaseKindsDeps): OperationKind[] {
  const { runtime } = deps;

  const create: OperationKind = {
    type: 'create',
    steps: [
      {
        name: 'provision-node',
        async run(ctx) {
          for (const spec of await stations(ctx, deps)) await runtime.provision(spec);
        },
      },
      writeUsersStep(deps),
      {
        name: 'restore-snapshot',
        async run(ctx) {
          const snapshotId = ctx.operation.params.fromSnapshotId;
          if (typeof snapshotId !== 'string') return 'no snapshot to restore';
          if (!deps.restoreSnapshot) throw new OperationError('this server cannot restore snapshots; create the database without fromSnapshotId');
          let message: string | void = undefined;
          for (const spec of await stations(ctx, deps)) message = await deps.restoreSnapshot(ctx, spec.stationId, snapshotId);
          return message;
        },
      },
      startStep(deps, 'start-node'),
    ],
    ...endings(deps, 'create', failed),
  };

  const restart: OperationKind = {
    type: 'restart',
    steps: [
      writeUsersStep(deps),
      {
        name: 'restart-nodes',
        async run(ctx) {
          const wanted = Array.isArray(ctx.operation.params.stationIds) ? (ctx.operation.params.stationIds as string[]) : undefined;
          const reset = ctx.operation.params.reset === true;
          const specs = (await stations(ctx, deps)).filter((s) => !wanted || wanted.length === 0 || wanted.includes(s.stationId));
          for (const spec of specs) await runtime.restart(spec, { reset });
          return `${specs.length} node(s) ${reset ? 'reset' : 'restarted'}`;
        },
      },
    ],
    ...endings(deps, 'restart', failed),
  };

  const pause: OperationKind = {
    type: 'pause',
    steps: [
      {
        name: 'stop-nodes',
        async run(ctx) {
          for (const spec of await stations(ctx, deps)) await runtime.stop(spec.stationId);
        },
      },
    ],
    ...endings(deps, 'pause', paused),
  };

  const resume: OperationKind = {
    type: 'resume',
    steps: [writeUsersStep(deps), startStep(deps, 'start-nodes')],
    ...endings(deps, 'resume', paused),
  };

  const terminateEndings = endings(deps, 'terminate', failed);
  const terminate: OperationKind = {
    type: 'terminate',
    steps: [
      {
        name: 'take-final-snapshot',
        async run(ctx) {
          if (!deps.finalSnapshot) return 'no final snapshot: backups are not enabled on this server';
          return deps.finalSnapshot(ctx);
        },
      },
      {
        name: 'destroy-nodes',
        async run(ctx) {
          for (const spec of await stations(ctx, deps)) await runtime.destroy(spec.stationId);
        },
      },
    ],
    ...terminateEndings,
    async onSuccess(trx, ctx) {
      const now = ctx.clock.now().toISOString();
      await setState(trx, ctx.operation.databaseId, 'terminated', { terminated_at: now, under_incident: 0, health_status: 'stopped', health_checked_at: now });
      // The endpoint's ports go back to the pool (the port_allocations rows are the reservation).
      await trx.deleteFrom('port_allocations').where('database_id', '=', ctx.operation.databaseId).execute();
      // Password hashes of a database that no longer exists are of no use to anyone.
      await trx.deleteFrom('database_users').where('database_id', '=', ctx.operation.databaseId).execute();
    },
  };

  const empty: OperationKind = {
    type: 'empty',
    steps: [
      {
        name: 'empty-data',
        async run(ctx) {
          for (const spec of await stations(ctx, deps)) await runtime.empty(spec.stationId);
        },
      },
    ],
    ...endings(deps, 'empty', failed),
  };

  const changePlan: OperationKind = {
    type: 'change-plan',
    steps: [
      {
        name: 'record-plan',
        async run(ctx) {
          const target = String(ctx.operation.params.targetPlan);
          await ctx.db.updateTable('databases').set({ plan: target }).where('id', '=', ctx.operation.databaseId).execute();
          return `plan is now ${target.toUpperCase()}`;
        },
      },
    ],
    ...endings(deps, 'change-plan', async (db, databaseId) => {
      const row = await db.selectFrom('databases').select('state').where('id', '=', databaseId).executeTakeFirst();
      return row?.state === 'paused' ? 'paused' : 'failed';
    }),
    // A running database takes its new memory bound on a restart: hand over to a restart operation.
    async onSuccess(trx, ctx) {
      const row = await trx.selectFrom('databases').select(['state', 'name']).where('id', '=', ctx.operation.databaseId).executeTakeFirstOrThrow();
      if (row.state !== 'running') return;
      await setState(trx, ctx.operation.databaseId, 'restarting');
      return { operationType: 'restart', description: `Restart database ${row.name} to apply plan ${String(ctx.operation.params.targetPlan).toUpperCase()}`, params: { reset: false } };
    },
  };

  return [create, restart, pause, resume, terminate, empty, changePlan];
}
