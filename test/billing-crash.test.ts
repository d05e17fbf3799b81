// Metering across crashes: the real `allotrope serve` in a child process with billing on and a clock the
// test moves through a file (ALLOTROPE_TEST_CLOCK_FILE, test-only). Two databases run 90 minutes, one is
// paused and the other moved to a dearer plan mid-hour; the control plane is SIGKILLed and restarted
// three times along the way (once while the plan change runs). The usage report is exact to the micro-dollar, so to the cent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { createDatabaseAndWait, removeDataDir, testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';
const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

describe('usage across control-plane crashes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-billing-'));
  const clockFile = join(dataDir, 'test-clock');
  const dbPorts = testPortRange(10);
  let server: ControlPlaneProcess | undefined;

  function setClock(ms: number): void {
    // Written whole, then renamed, so the server never reads half a number.
    writeFileSync(`${clockFile}.tmp`, String(ms));
    renameSync(`${clockFile}.tmp`, clockFile);
  }

  const start = () =>
    startControlPlaneProcess({
      dataDir,
      dbPorts,
      config: { operations: { leaseMs: 30_000 }, runtime: { healthIntervalMs: 300 } },
      env: { ALLOTROPE_BILLING: 'on', ALLOTROPE_TEST_CLOCK_FILE: clockFile },
    });

  after(async () => {
    await server?.stop();
    // Whatever happened, leave no graph-server of this test running.
    const marker = join(dataDir, 'runtime', 'nodes');
    for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
      if (line.includes(marker) && line.includes('graph-server')) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    }
    removeDataDir(dataDir);
  });

  /** Waits until no operation of the database is running (a plan change hands over to a restart). */
  async function settled(s: ControlPlaneProcess, token: string, id: string): Promise<void> {
    await waitFor(
      async () => {
        const ops = (await s.request('GET', `${DB}/${id}/operations`, { token })).body as { status: string }[];
        return ops.every((o) => o.status !== 'started');
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `operations of ${id} to end` },
    );
  }

  test('two databases for 90 minutes, a pause, a dearer plan mid-hour, three SIGKILLs: the report is exact', async () => {
    setClock(T0);
    server = await start();
    let token = await server.token();
    const envId = (await server.request('GET', '/deployments/environments', { token })).body[0].id as string;
    const a = (await createDatabaseAndWait(server, token, envId, 'alpha')).database;
    const b = (await createDatabaseAndWait(server, token, envId, 'beta')).database;

    // 45 minutes in: the control plane dies and comes back; the databases ran on all along.
    setClock(T0 + 45 * MIN);
    await server.kill();
    server = await start();
    token = await server.token();
    assert.equal((await server.request('GET', `${DB}/${a.id}`, { token })).body.status.state, 'running');

    // 90 minutes in: alpha is paused, beta moves to DS2 ($0.12/h) — half-way through an hour.
    setClock(T0 + 90 * MIN);
    token = await server.token();
    const pause = await server.request('PUT', `${DB}/${a.id}/pause`, { token });
    assert.equal(pause.status, 202, pause.text);
    assert.equal((await waitForOperation(server, token, a.id, pause.body.operationId)).status, 'finished');
    const change = await server.request('PUT', `${DB}/${b.id}/plan/change`, { token, body: { targetPlanName: 'ds2' } });
    assert.equal(change.status, 202, change.text);
    // Killed while the plan change (and the restart it hands over to) may still run: the next start resumes it.
    await server.kill();
    server = await start();
    token = await server.token();
    await settled(server, token, b.id);
    assert.equal((await server.request('GET', `${DB}/${b.id}`, { token })).body.plan, 'ds2');

    // 100 minutes in: killed again, back at 105.
    setClock(T0 + 100 * MIN);
    await server.kill();
    setClock(T0 + 105 * MIN);
    server = await start();

    // Report at 120 minutes 30 seconds.
    setClock(T0 + 120.5 * MIN);
    token = await server.token();
    const res = await server.request('GET', '/organizations/billing/usage?from=2026-12-01', { token });
    assert.equal(res.status, 200, res.text);
    const lines = (res.body.lines as any[]).map((l) => `${l.databaseName} ${l.kind} ${l.plan} ${l.minutes} ${l.amount} ${l.amountExact}`);
    assert.deepEqual(lines, [
      // 90 minutes of DS1 at $0.05/h.
      'alpha running ds1 90 0.08 0.075000',
      // 30.5 minutes paused → 31 started minutes of 1 GB at $0.10 per GB-month (43,200 minutes): 71.76 µ$.
      'alpha paused ds1 31 0.00 0.000072',
      'beta running ds1 90 0.08 0.075000',
      // 30.5 minutes of DS2 at $0.12/h → 31 started minutes: $0.062.
      'beta running ds2 31 0.06 0.062000',
    ]);
    assert.deepEqual(res.body.totals, { running: '0.21', paused: '0.00', snapshots: '0.00', amount: '0.21', amountExact: '0.212072' });
    assert.equal(res.body.charged, true);

    // The credit is drawn down first: $50 − $0.212072.
    const billing = (await server.request('GET', '/organizations/billing', { token })).body;
    assert.deepEqual({ creditBalance: billing.creditBalance, charges: billing.charges, amountOwed: billing.amountOwed }, { creditBalance: '49.79', charges: '0.21', amountOwed: '0.00' });
    const statement = (await server.request('GET', '/organizations/billing/statements/2026-12', { token })).body;
    assert.deepEqual({ charges: statement.charges, creditApplied: statement.creditApplied, amountDue: statement.amountDue }, { charges: '0.21', creditApplied: '0.21', amountDue: '0.00' });
  });
});
