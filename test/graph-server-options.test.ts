// graph-server options as a real process: --read-only and --query-check.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import neo4j6 from 'neo4j-driver';
import { waitFor } from './helpers/wait-for.js';
import { RawBoltClient } from './helpers/bolt-test-server.js';
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

describe('graph-server --bolt-auth-timeout-ms and --bolt-max-unauthenticated', () => {
  test('an idle socket is closed at the deadline; one beyond the cap is closed unanswered; drivers still connect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-bolt-limits-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    let server: Running | undefined;
    let d: ReturnType<typeof neo4j6.driver> | undefined;
    const raw: RawBoltClient[] = [];
    try {
      server = await startServer(join(dir, 'data'), usersFile, ['--bolt-auth-timeout-ms', '1500', '--bolt-max-unauthenticated', '1']);
      const port = server.ready.boltPort;
      const idle = await RawBoltClient.connect(port);
      raw.push(idle);
      // The one unauthenticated slot is taken: a second socket is closed before it can even negotiate.
      const extra = await RawBoltClient.connect(port);
      raw.push(extra);
      await assert.rejects(extra.handshake(), /connection closed/);
      // The idle one goes at the deadline, well before the 10 s a silent socket used to get.
      await idle.waitClosed(8_000);
      d = neo4j6.driver(`bolt://127.0.0.1:${port}`, neo4j6.auth.basic('admin', 'pw'), { maxConnectionPoolSize: 1 });
      const { records } = await d.executeQuery('RETURN 1 AS one');
      assert.equal(records[0]!.get('one').toNumber(), 1);
    } finally {
      for (const c of raw) c.destroy();
      await d?.close();
      if (server) await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses a deadline outside 100 ms to 1 h at start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-server-bolt-flag-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'admin', password: 'pw' }]);
    try {
      await assert.rejects(startServer(join(dir, 'data'), usersFile, ['--bolt-auth-timeout-ms', '5']), /from 100 to 3600000/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
