// graph-server options as a real process: --read-only and --query-check.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import neo4j6 from 'neo4j-driver';
import { waitFor } from './helpers/wait-for.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';


describe('graph-server --read-only', () => {
  test('refuses writes from every user and still serves reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-ro-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    let server: Running | undefined;
    let d: ReturnType<typeof neo4j6.driver> | undefined;
    try {
      server = await startServer(join(dir, 'data'), usersFile, ['--read-only']);
      d = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'pw'));
      await assert.rejects(d.executeQuery('CREATE (:X)'), { code: 'Neo.ClientError.Security.Forbidden' });
      const { records } = await d.executeQuery('MATCH (n) RETURN count(n) AS c');
      assert.equal(records[0]!.get('c').toNumber(), 0);
    } finally {
      await d?.close();
      if (server) await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('graph-server --query-check', () => {
  test("Neo4j's front-end adds its notifications to the summary", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-qc-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    let server: Running | undefined;
    let d: ReturnType<typeof neo4j6.driver> | undefined;
    try {
      server = await startServer(join(dir, 'data'), usersFile, ['--query-check']);
      const driver = neo4j6.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j6.auth.basic('admin', 'pw'));
      d = driver;
      // The first check of a text may miss its time budget while the front-end loads; it is
      // cached when it finishes, so a later send of the same text gets the verdict.
      const summary = await waitFor(
        async () => {
          const res = await driver.executeQuery('MATCH (a), (b) RETURN count(*) AS c');
          return res.summary.notifications.length ? res.summary : undefined;
        },
        { timeoutMs: 20_000, what: 'a cartesian-product notification' },
      );
      assert.match(summary.notifications[0]!.code, /CartesianProduct/);
    } finally {
      await d?.close();
      if (server) await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
