// A query that runs on long past its timeout: the engine cannot cancel it and runs one query at a time, so
// the graph-server exits for its supervisor to restart it, and committed data survives.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';

describe('graph-server with a stuck query', () => {
  let dir: string;
  let dataDir: string;
  let usersFile: string;
  let server: Running | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-stuck-'));
    dataDir = join(dir, 'data');
    usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
  });

  after(async () => {
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('fails the client at the timeout, exits with 75 once the query outlives the grace, and keeps committed data', async () => {
    server = await startServer(dataDir, usersFile, ['--stuck-query-exit-ms', '300', '--query-check-budget-ms', '0']);
    const exited = new Promise<number | null>((resolve) => server!.child.once('exit', (code) => resolve(code)));
    const driver = neo4j.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j.auth.basic('admin', 'pw'));
    try {
      await driver.executeQuery('UNWIND range(1, 2000) AS i CREATE (:P {i: i})');
      // 2000³ rows: minutes of work for the engine, far past the 200 ms timeout and the 300 ms grace.
      const session = driver.session();
      const started = Date.now();
      await assert.rejects(
        () => session.run('MATCH (a:P), (b:P), (c:P) RETURN count(*) AS n', {}, { timeout: 200 }),
        (err: { code?: string }) => /TransactionTimedOut/.test(err.code ?? ''),
      );
      assert.ok(Date.now() - started < 5_000, 'the client is failed at its timeout, not when the query ends');
      await session.close().catch(() => undefined);
    } finally {
      await driver.close();
    }
    assert.equal(await exited, 75);
    assert.match(server.stderr(), /still running \d+ ms after its 200 ms timeout/);

    server = await startServer(dataDir, usersFile, ['--query-check-budget-ms', '0']);
    const again = neo4j.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j.auth.basic('admin', 'pw'));
    try {
      const { records } = await again.executeQuery('MATCH (p:P) RETURN count(p) AS n');
      assert.equal(records[0]!.get('n').toNumber(), 2000);
    } finally {
      await again.close();
    }
  });
});
