// The operations engine on a real SQLite store with fake step functions: claiming, leases, heartbeat,
// recovery after a dead worker, failure messages, exclusivity and follow-up chaining.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { operationView } from '../src/api/views/databases.js';
import { ManualClock, systemClock } from '../src/clock.js';
import { DomainError } from '../src/errors.js';
import { OperationsEngine } from '../src/operations/engine.js';
import { OperationError, type OperationKind } from '../src/operations/kind.js';
import { findOperation } from '../src/operations/records.js';
import { claimOperation, enqueueOperation, isExclusiveViolation } from '../src/operations/queue.js';
import { insertDatabaseRow, openTempStore, silentLogger, type TempStore } from './helpers/lifecycle-store.js';
import { waitFor } from './helpers/wait-for.js';

let temp: TempStore;
before(async () => {
  temp = await openTempStore();
});
after(async () => {
  await temp.close();
});

async function enqueue(databaseId: string, operationType: string, params: Record<string, unknown> = {}): Promise<string> {
  return temp.store.db.transaction().execute((trx) =>
    enqueueOperation(trx, { organizationId: 'org', databaseId, operationType, description: operationType, params }, systemClock.now()),
  );
}

function engine(kinds: OperationKind[], extra: Partial<ConstructorParameters<typeof OperationsEngine>[0]> = {}): OperationsEngine {
  return new OperationsEngine({
    db: temp.store.db,
    clock: systemClock,
    logger: silentLogger,
    kinds,
    concurrency: 2,
    leaseMs: 5000,
    pollIntervalMs: 50,
    singleInstance: true,
    ...extra,
  });
}

async function operation(databaseId: string, id: string) {
  // As GET …/operations/{id} shows it.
  const op = await findOperation(temp.store.db, databaseId, id);
  assert.ok(op, `operation ${id} exists`);
  return operationView(systemClock, op);
}

describe('operations engine', () => {
  it('runs every step in order, records each one and finishes the operation', async () => {
    const ran: string[] = [];
    const kind: OperationKind = {
      type: 'three-steps',
      steps: ['a', 'b', 'c'].map((name) => ({
        name,
        run: async () => {
          ran.push(name);
          return name === 'b' ? 'b did its thing' : undefined;
        },
      })),
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'three-steps');
    const e = engine([kind]);
    e.start();
    e.wake();
    const op = await waitFor(async () => {
      const o = await operation(databaseId, id);
      return o.status !== 'started' && o;
    });
    await e.stop();
    assert.deepEqual(ran, ['a', 'b', 'c']);
    assert.equal(op.status, 'finished');
    assert.match(op.startedAt, /^\d{10}$/);
    assert.match(op.finishedAt ?? '', /^\d{10}$/);
    assert.equal(typeof op.durationInSeconds, 'number');
    assert.equal(op.nextOperationId, null);
    assert.deepEqual(
      op.steps.map((s) => [s.name, s.status, s.message]),
      [
        ['a', 'finished', undefined],
        ['b', 'finished', 'b did its thing'],
        ['c', 'finished', undefined],
      ],
    );
    const row = await temp.store.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.locked_by, null);
  });

  it('fails with the step error message, calls onFailure in the same transaction and keeps stacks out', async () => {
    let failedWith = '';
    const kind: OperationKind = {
      type: 'breaks',
      steps: [
        { name: 'fine', run: async () => undefined },
        {
          name: 'boom',
          run: async () => {
            throw new TypeError('cannot read properties of undefined');
          },
        },
        { name: 'never', run: async () => assert.fail('must not run after a failure') },
      ],
      onFailure: async (trx, ctx, error) => {
        failedWith = error.message;
        await trx.updateTable('databases').set({ state: 'failed' }).where('id', '=', ctx.operation.databaseId).execute();
      },
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'breaks');
    const e = engine([kind]);
    assert.equal(await e.runOnce(), true);
    const op = await operation(databaseId, id);
    assert.equal(op.status, 'failed');
    assert.match(op.error ?? '', /step 'boom' failed unexpectedly: cannot read properties of undefined/);
    assert.doesNotMatch(op.error ?? '', /at .*\.ts:\d+/);
    assert.equal(failedWith, op.error);
    assert.deepEqual(
      op.steps.map((s) => [s.name, s.status]),
      [
        ['fine', 'finished'],
        ['boom', 'failed'],
      ],
    );
    const db = await temp.store.db.selectFrom('databases').select('state').where('id', '=', databaseId).executeTakeFirstOrThrow();
    assert.equal(db.state, 'failed');
  });

  it('passes user-facing errors through unchanged', async () => {
    const kind: OperationKind = {
      type: 'user-error',
      steps: [
        {
          name: 'check',
          run: async () => {
            throw new OperationError('the snapshot is gone; pick another one');
          },
        },
      ],
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'user-error');
    await engine([kind]).runOnce();
    assert.equal((await operation(databaseId, id)).error, 'the snapshot is gone; pick another one');
  });

  it('keeps server paths out of stored failure and step messages (the log gets them)', async () => {
    const dataDir = '/var/lib/allotrope/data';
    let failedWith = '';
    const kind: OperationKind = {
      type: 'leaks-paths',
      steps: [
        { name: 'note', run: async () => `wrote ${dataDir}/runtime/abc/graph.grafeo; see GET /deployments/plans or https://example.com/a/b` },
        {
          name: 'open',
          run: async () => {
            throw Object.assign(new Error(`ENOENT: no such file or directory, open '${dataDir}/blobs/snapshots/x.tar' (copied from /tmp/allotrope-x/y)`), { code: 'ENOENT' });
          },
        },
      ],
      onFailure: async (_trx, _ctx, error) => {
        failedWith = error.message;
      },
    };
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'leaks-paths');
    await engine([kind], { logger }).runOnce();
    const op = await operation(databaseId, id);
    assert.equal(op.status, 'failed');
    assert.doesNotMatch(JSON.stringify(op), /\/var\/lib|\/tmp\//);
    assert.equal(op.error, "step 'open' failed unexpectedly: ENOENT: no such file or directory, open '<server path>' (copied from <server path>); retry the action, and see the server log if it fails again");
    assert.equal(failedWith, op.error);
    assert.equal(op.steps[0]!.message, 'wrote <server path>; see GET /deployments/plans or https://example.com/a/b');
    // The log keeps the full error, path included, for the operator.
    assert.ok(lines.some((l) => l.includes('operation failed') && l.includes(`${dataDir}/blobs/snapshots/x.tar`)));
  });

  it('passes user-facing errors with a path through with the path hidden', async () => {
    const kind: OperationKind = {
      type: 'user-error-path',
      steps: [{ name: 'check', run: async () => { throw new OperationError('the archive /srv/allotrope/imports/u1.tar is not a graph-server archive'); } }],
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'user-error-path');
    await engine([kind]).runOnce();
    assert.equal((await operation(databaseId, id)).error, 'the archive <server path> is not a graph-server archive');
  });

  it('refuses a second exclusive operation on the same database with 409 naming the first', async () => {
    const databaseId = await insertDatabaseRow(temp.store);
    const first = await enqueue(databaseId, 'nothing');
    await assert.rejects(enqueue(databaseId, 'nothing'), (err: unknown) => {
      assert.ok(err instanceof DomainError);
      assert.equal(err.kind, 'conflict');
      assert.equal(err.message, `operation ${first} is in progress`);
      return true;
    });
    // The store's partial unique index holds the line even when the check is bypassed.
    const raw = await temp.store.db.selectFrom('operations').selectAll().where('id', '=', first).executeTakeFirstOrThrow();
    await assert.rejects(temp.store.db.insertInto('operations').values({ ...raw, id: 'f'.repeat(32) }).execute(), (err: unknown) => {
      assert.ok(isExclusiveViolation(err), String(err));
      return true;
    });
    await engine([{ type: 'nothing', steps: [] }]).runOnce();
    assert.equal((await operation(databaseId, first)).status, 'finished');
  });

  it('re-runs only the interrupted step after a worker died, and marks it resumed', async () => {
    const ran: string[] = [];
    const kind: OperationKind = {
      type: 'resumable',
      steps: ['one', 'two', 'three'].map((name) => ({
        name,
        run: async (ctx) => {
          ran.push(`${name}${ctx.resumed ? ' (resumed)' : ''}`);
        },
      })),
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'resumable');
    // A worker claimed it, finished step one, started step two, and was killed.
    const claimed = await claimOperation(temp.store.db, 'dead-worker', systemClock.now(), 60_000);
    assert.equal(claimed?.id, id);
    await temp.store.db.updateTable('operations').set({ current_step: 1 }).where('id', '=', id).execute();
    await temp.store.db
      .insertInto('operation_steps')
      .values([
        { operation_id: id, position: 0, name: 'one', status: 'finished', started_at: new Date().toISOString(), finished_at: new Date().toISOString(), message: null },
        { operation_id: id, position: 1, name: 'two', status: 'started', started_at: new Date().toISOString(), finished_at: null, message: null },
      ])
      .execute();

    const e = engine([kind]);
    assert.equal(await e.runOnce(), false, 'a live lease is not stolen');
    const report = await e.recover();
    assert.deepEqual(report.released, [id]);
    assert.equal(await e.runOnce(), true);
    assert.deepEqual(ran, ['two (resumed)', 'three']);
    const op = await operation(databaseId, id);
    assert.equal(op.status, 'finished');
    assert.equal(op.steps[1]?.message, 'resumed after the control plane restarted');
  });

  it('takes over an expired lease on a shared store only after it expires', async () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const ran: string[] = [];
    const kind: OperationKind = { type: 'lease', steps: [{ name: 'x', run: async () => void ran.push('x') }] };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await temp.store.db.transaction().execute((trx) =>
      enqueueOperation(trx, { organizationId: 'org', databaseId, operationType: 'lease', description: 'lease' }, clock.now()),
    );
    assert.equal((await claimOperation(temp.store.db, 'other-instance', clock.now(), 10_000))?.id, id);
    const e = engine([kind], { clock, singleInstance: false });
    assert.deepEqual((await e.recover()).released, [], 'a live lease of another instance is left alone');
    assert.equal(await e.runOnce(), false);
    clock.advance(10_001);
    assert.equal(await e.runOnce(), true);
    assert.deepEqual(ran, ['x']);
    assert.equal((await operation(databaseId, id)).status, 'finished');
  });

  it('fails an operation cleanly once it was claimed more than maxAttempts times', async () => {
    let failures = 0;
    const kind: OperationKind = {
      type: 'crashy',
      steps: [{ name: 'kills-the-server', run: async () => assert.fail('must not run again') }],
      onFailure: async () => void failures++,
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'crashy');
    await temp.store.db.updateTable('operations').set({ attempts: 3 }).where('id', '=', id).execute();
    await engine([kind], { maxAttempts: 3 }).runOnce();
    const op = await operation(databaseId, id);
    assert.equal(op.status, 'failed');
    assert.match(op.error ?? '', /stopped 3 times while step 'kills-the-server' was running/);
    assert.equal(failures, 1);
  });

  it('keeps its lease alive with a heartbeat while a step outlasts the lease', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const kind: OperationKind = { type: 'slow', steps: [{ name: 'wait', run: () => gate }] };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'slow');
    const e = engine([kind], { leaseMs: 300, singleInstance: false });
    const other = engine([kind], { leaseMs: 300, singleInstance: false });
    const running = e.runOnce();
    await waitFor(() => e.busy === 1);
    const firstLease = (await temp.store.db.selectFrom('operations').select('lease_expires_at').where('id', '=', id).executeTakeFirstOrThrow()).lease_expires_at;
    await waitFor(async () => {
      const row = await temp.store.db.selectFrom('operations').select('lease_expires_at').where('id', '=', id).executeTakeFirstOrThrow();
      return row.lease_expires_at !== firstLease && Date.parse(row.lease_expires_at ?? '') > Date.now();
    }, { what: 'a heartbeat' });
    await waitFor(async () => Date.now() > Date.parse(firstLease ?? '') + 50);
    assert.equal(await other.runOnce(), false, 'the heartbeat kept the lease');
    release();
    await running;
    assert.equal((await operation(databaseId, id)).status, 'finished');
  });

  it('chains a follow-up operation with nextOperationId and runs it', async () => {
    const ran: string[] = [];
    const first: OperationKind = {
      type: 'first',
      steps: [{ name: 'a', run: async () => void ran.push('first') }],
      onSuccess: async () => ({ operationType: 'second', description: 'the follow-up', params: { n: 2 } }),
    };
    const second: OperationKind = {
      type: 'second',
      steps: [{ name: 'b', run: async (ctx) => void ran.push(`second n=${String(ctx.operation.params.n)}`) }],
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'first');
    const e = engine([first, second]);
    e.start();
    e.wake();
    const op = await waitFor(async () => {
      const o = await operation(databaseId, id);
      return o.nextOperationId ? o : undefined;
    });
    const next = await waitFor(async () => {
      const o = await operation(databaseId, op.nextOperationId!);
      return o.status === 'finished' && o;
    });
    await e.stop();
    assert.equal(next.description, 'the follow-up');
    assert.deepEqual(ran, ['first', 'second n=2']);
  });

  it('runs operations of different databases at the same time up to the concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const kind: OperationKind = {
      type: 'parallel',
      steps: [
        {
          name: 'hold',
          run: async () => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            await waitFor(() => peak >= 2, { timeoutMs: 3000 }).catch(() => undefined);
            inFlight--;
          },
        },
      ],
    };
    const ids: [string, string][] = [];
    for (let i = 0; i < 3; i++) {
      const databaseId = await insertDatabaseRow(temp.store);
      ids.push([databaseId, await enqueue(databaseId, 'parallel')]);
    }
    const e = engine([kind], { concurrency: 2 });
    e.start();
    e.wake();
    for (const [databaseId, id] of ids) {
      await waitFor(async () => (await operation(databaseId, id)).status === 'finished');
    }
    await e.stop();
    assert.equal(peak, 2);
  });

  it('hands unfinished operations back to the queue between steps when stopping', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const kind: OperationKind = {
      type: 'two-phase',
      steps: [
        { name: 'first', run: () => gate },
        { name: 'second', run: async () => undefined },
      ],
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'two-phase');
    const e = engine([kind]);
    e.start();
    e.wake();
    await waitFor(() => e.busy === 1);
    const stopping = e.stop();
    release();
    await stopping;
    const row = await temp.store.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.status, 'started');
    assert.equal(row.locked_by, null);
    assert.equal(row.current_step, 1);
    await engine([kind]).runOnce();
    assert.equal((await operation(databaseId, id)).status, 'finished');
  });

  it('fails an operation whose step outlives its timeout, so it never stays started', async () => {
    let aborted = false;
    const kind: OperationKind = {
      type: 'hangs',
      steps: [
        {
          name: 'wait-for-ever',
          timeoutMs: 200,
          run: (ctx) =>
            new Promise<void>((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
                resolve();
              });
            }),
        },
      ],
    };
    const databaseId = await insertDatabaseRow(temp.store);
    const id = await enqueue(databaseId, 'hangs');
    await engine([kind]).runOnce();
    const op = await operation(databaseId, id);
    assert.equal(op.status, 'failed');
    assert.equal(op.error, "step 'wait-for-ever' did not finish within 200 ms; retry the action");
    assert.equal(aborted, true);
  });
});
