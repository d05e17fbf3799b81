// An idle graph-server gives back the memory of its last burst (src/graph-server/idle-memory.ts): a real
// `graph-server` process, a load and three full reads through neo4j-driver, then its own admin health figures
// are watched until the heap is small again and most of what the burst added to the RSS is gone.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import { adminRequest } from '../src/graph-server/admin.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';
import { waitFor } from './helpers/wait-for.js';

const MiB = 2 ** 20;

describe('graph-server: memory of a burst is released once idle', () => {
  let dir: string;
  let server: Running;
  let driver: Driver;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-idle-memory-'));
    await writeUsers(join(dir, 'users.json'), [{ username: 'neo4j', password: 'secret-pw-1' }]);
    server = await startServer(join(dir, 'data'), join(dir, 'users.json'));
    driver = neo4j.driver(`bolt://127.0.0.1:${server.ready.boltPort}`, neo4j.auth.basic('neo4j', 'secret-pw-1'));
  });

  after(async () => {
    await driver?.close();
    if (server) await stopServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('after three full reads of 60k nodes: the heap collected, and the added RSS largely returned', async (t) => {
    const health = async () => (await adminRequest(join(dir, 'data'), { op: 'health' })) as { rssBytes: number; heapUsedBytes: number };
    await driver.executeQuery("UNWIND range(1, 60000) AS i CREATE (:Item {id: i, name: 'item ' + toString(i)})");
    const loaded = await health();
    for (let i = 0; i < 3; i++) {
      const { records } = await driver.executeQuery('MATCH (n:Item) RETURN n');
      assert.equal(records.length, 60_000);
    }
    const peak = await health();
    const added = peak.rssBytes - loaded.rssBytes;
    assert.ok(peak.heapUsedBytes > 32 * MiB, `the reads left garbage on the heap to release (${(peak.heapUsedBytes / MiB).toFixed(0)} MiB)`);
    // Released within a few check intervals (3 s each) of the burst: nothing is sent meanwhile.
    await waitFor(() => /memory of the last burst released/.test(server.stderr()), { timeoutMs: 30_000, what: 'the idle graph-server to release the memory of the reads' });
    const released = await health();
    t.diagnostic(
      `RSS loaded ${(loaded.rssBytes / MiB).toFixed(0)} MiB, after the reads ${(peak.rssBytes / MiB).toFixed(0)} MiB, released ${(released.rssBytes / MiB).toFixed(0)} MiB; ` +
        `heap ${(peak.heapUsedBytes / MiB).toFixed(0)} → ${(released.heapUsedBytes / MiB).toFixed(0)} MiB`,
    );
    assert.ok(released.heapUsedBytes < 48 * MiB, 'the heap was collected');
    // Node 20 gives back most of it at the release (measured: ~95 %); on Node 24 the engine's result buffers are
    // freed later than the release's second trim (measured: 33–42 % at the release, the rest at the next one).
    const share = Number(process.versions.node.split('.')[0]) <= 20 ? 0.5 : 0.15;
    assert.ok(released.rssBytes < peak.rssBytes - added * share, `at least ${share * 100} % of what the reads added to the RSS went back to the system`);
    // Still serving, with the data.
    const { records } = await driver.executeQuery('MATCH (n:Item) RETURN count(n) AS c');
    assert.equal(records[0]!.get('c').toNumber(), 60_000);
  });
});
