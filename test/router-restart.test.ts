// The router outlives the API: with ALLOTROPE_ON_EXIT=keep a restarted `allotrope serve` (real processes)
// drops no database connection — a driver streaming a 100k-row result through the router while the API
// restarts gets every row — and the next serve adopts the same router and nodes. With the default `stop`,
// a clean stop takes router and nodes down, and the connection URL from create works again after the restart.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { askRouter, type RouterPing } from '../src/router/control.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { createDatabaseAndWait, removeDataDir, testPortRange } from './helpers/lifecycle.js';

const ROWS = 100_000;

describe('the router across API restarts', () => {
  const dirs: string[] = [];
  const running: ControlPlaneProcess[] = [];
  const start = async (dataDir: string, dbPorts: string, onExit: 'stop' | 'keep') => {
    const p = await startControlPlaneProcess({ dataDir, dbPorts, config: { onExit, runtime: { healthIntervalMs: 500 } } });
    running.push(p);
    return p;
  };
  after(async () => {
    for (const p of running) await p.stop();
    // A test that failed half-way may have left a router and nodes serving (onExit keep): one serve with
    // onExit stop takes them down before the data dir goes.
    for (const d of dirs) {
      if (await askRouter(d, { op: 'ping' })) await (await start(d, testPortRange(4), 'stop')).stop();
      removeDataDir(d);
    }
  });

  it('with onExit keep, a 100k-row stream completes while the API restarts; the next serve adopts router and nodes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-router-keep-'));
    dirs.push(dataDir);
    const dbPorts = testPortRange(4);
    const first = await start(dataDir, dbPorts, 'keep');
    const token = await first.token();
    const env = (await first.request('GET', '/deployments/environments', { token })).body[0].id;
    const { database, password } = await createDatabaseAndWait(first, token, env, 'streamer');
    const routerBefore = await askRouter<RouterPing>(dataDir, { op: 'ping' });
    assert.ok(routerBefore?.pid);

    const driver = neo4j.driver(database.connectionUrls.neo4j, neo4j.auth.basic('neo4j', password));
    try {
      const session = driver.session({ fetchSize: 1_000 });
      const result = session.run('UNWIND range(1, $n) AS i RETURN i', { n: neo4j.int(ROWS) });
      let seen = 0;
      let sum = 0;
      let restarted = false;
      for await (const record of result) {
        seen += 1;
        sum += record.get('i').toNumber();
        if (seen === 2_000 && !restarted) {
          // Mid-stream: the API stops (keep) and a new one starts on the same data dir.
          restarted = true;
          await first.stop();
          const second = await start(dataDir, dbPorts, 'keep');
          const again = await askRouter<RouterPing>(dataDir, { op: 'ping' });
          assert.equal(again?.pid, routerBefore.pid, 'the same router serves on');
          assert.equal((await second.request('GET', `/deployments/databases/graphneo/${database.id}`, { token: await second.token() })).body.status.state, 'running');
        }
      }
      await session.close();
      assert.ok(restarted, `restarted after ${seen} rows`);
      assert.equal(seen, ROWS);
      assert.equal(sum, (ROWS * (ROWS + 1)) / 2);
      // New connections work through the adopted router and node.
      const { records } = await driver.executeQuery('RETURN 42 AS answer');
      assert.equal(records[0]!.get('answer').toNumber(), 42);
    } finally {
      await driver.close();
    }
    // The last serve of this data dir takes everything down (onExit stop), as a service manager's final stop would.
    const last = running.pop()!;
    await last.stop();
    const finalServe = await start(dataDir, dbPorts, 'stop');
    await finalServe.stop();
    assert.equal(await askRouter(dataDir, { op: 'ping' }), null, 'onExit stop stops the router');
  });

  it('with the default onExit stop, the URL from create works again after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-router-stop-'));
    dirs.push(dataDir);
    const dbPorts = testPortRange(4);
    const first = await start(dataDir, dbPorts, 'stop');
    const token = await first.token();
    const env = (await first.request('GET', '/deployments/environments', { token })).body[0].id;
    const { database, password } = await createDatabaseAndWait(first, token, env, 'kept');
    const driver = neo4j.driver(database.connectionUrls.neo4j, neo4j.auth.basic('neo4j', password));
    try {
      await driver.executeQuery("CREATE (:Survivor {name: 'still here'})");
      await first.stop();
      assert.equal(await askRouter(dataDir, { op: 'ping' }), null, 'a clean stop stops the router');
      const impatient = neo4j.driver(database.connectionUrls.neo4j, neo4j.auth.basic('neo4j', password), { maxTransactionRetryTime: 0, connectionTimeout: 2_000 });
      await assert.rejects(impatient.executeQuery('RETURN 1'));
      await impatient.close();
      const second = await start(dataDir, dbPorts, 'stop');
      const { records } = await driver.executeQuery('MATCH (s:Survivor) RETURN s.name AS name');
      assert.deepEqual(records.map((r) => r.get('name')), ['still here']);
      await second.stop();
    } finally {
      await driver.close();
    }
  });
});
