// A control plane killed (SIGKILL) in the middle of a restore: on the next start the operation resumes
// from the step it was in (steps are idempotent) and ends with the snapshot's data, the database running.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB, countsOf, createDatabase, driverFor, operationFinished, query, startBackupsServerProcess, waitForBolt, type BackupsServerProcess } from './helpers/backups.js';
import { testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

describe('crash during a restore', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-backups-crash-'));
  const ports = testPortRange();
  let server: BackupsServerProcess | undefined;

  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes the restore after the control plane is killed', async (t) => {
    server = await startBackupsServerProcess(dataDir, ports);
    let token = await server.token();
    const envs = await server.request<any[]>('GET', '/deployments/environments', { token });
    const { database, password } = await createDatabase(server, token, { environmentId: envs.body[0].id, name: 'crashy', plan: 'ds2' });
    const driver = driverFor(database, password);
    try {
      await query(driver, 'UNWIND range(1, 30) AS i CREATE (:Kept {i: i})');
      const snap = await server.request('POST', `${DB}/${database.id}/snapshots`, { token, body: {} });
      await operationFinished(server, token, database.id, snap.body.operationId);
      await query(driver, 'UNWIND range(1, 20) AS i CREATE (:Lost {i: i})');

      const restore = await server.request('POST', `${DB}/${database.id}/snapshots/${snap.body.snapshot.id}/restore`, { token, body: {} });
      assert.equal(restore.status, 202);
      const current = server;
      const stepAtKill = await waitFor(
        async () => {
          const op = (await current.request('GET', `${DB}/${database.id}/operations/${restore.body.operationId}`, { token })).body;
          // Past verification: the node is being stopped, its data swapped or it is being started again.
          const running = op.steps.find((s: any) => s.status === 'started' && s.name !== 'verify-snapshot');
          return running?.name ?? (op.status !== 'started' ? `(already ${op.status})` : undefined);
        },
        { timeoutMs: 30_000, intervalMs: 10, what: 'the restore to start a step' },
      );
      await server.kill();
      t.diagnostic(`killed during step ${stepAtKill}`);

      server = await startBackupsServerProcess(dataDir, ports);
      token = await server.token();
      const op = await waitForOperation(server, token, database.id, restore.body.operationId, 60_000);
      assert.equal(op.status, 'finished', `killed during ${stepAtKill}: ${JSON.stringify(op)}`);
      const db = await server.request('GET', `${DB}/${database.id}`, { token });
      assert.equal(db.body.status.state, 'running');
      await waitForBolt(driver);
      assert.deepEqual(await countsOf(driver), { nodes: 30, relationships: 0 }, `killed during ${stepAtKill}`);
    } finally {
      await driver.close();
    }
  });
});
