// Database nodes cannot read the control plane's secrets at the OS level: started as root, `allotrope serve`
// runs each node as a user of its own that owns only its node's data, and keeps the rest of the data dir
// private. The process-level half of issue 16's first finding (the query-level half is graph-server-load-csv).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { tmpdir } from 'node:os';
import { graphServerFiles } from '../src/runtimes/local/command.js';
import { NODE_ID_BASE, nodeOwner, ownerCanRun, parseNodeUser } from '../src/runtimes/local/node-user.js';
import { createDatabaseAndWait, removeDataDir, startLifecycleServerProcess, testPortRange, waitForOperation, type LifecycleServerProcess } from './helpers/lifecycle.js';
import { testPgUrl } from './helpers/test-store.js';

const DB = '/deployments/databases/graphneo';

describe('node users (unit)', () => {
  test('ALLOTROPE_NODE_USER takes auto, same, uid[:gid] or a user name, and never root', () => {
    assert.equal(parseNodeUser(''), 'auto');
    assert.equal(parseNodeUser('auto'), 'auto');
    assert.equal(parseNodeUser('same'), 'same');
    assert.deepEqual(parseNodeUser('1500'), { uid: 1500, gid: 1500 });
    assert.deepEqual(parseNodeUser('1500:1600'), { uid: 1500, gid: 1600 });
    const passwd = () => 'root:x:0:0::/root:/bin/sh\nallotrope:x:999:998::/nonexistent:/usr/sbin/nologin\n';
    assert.deepEqual(parseNodeUser('allotrope', passwd), { uid: 999, gid: 998 });
    assert.throws(() => parseNodeUser('root', passwd), /is root/);
    assert.throws(() => parseNodeUser('0'), /unprivileged/);
    assert.throws(() => parseNodeUser('nobody-here', passwd), /no user/);
    assert.throws(() => parseNodeUser('a b'), /not auto, same/);
  });

  test('auto gives each node a stable user of its own when root, and none otherwise', () => {
    const a = nodeOwner('auto', 'station-a', true)!;
    const b = nodeOwner('auto', 'station-b', true)!;
    assert.deepEqual(nodeOwner('auto', 'station-a', true), a);
    assert.notEqual(a.uid, b.uid);
    assert.ok(a.uid >= NODE_ID_BASE && a.uid < NODE_ID_BASE + 2 ** 24);
    assert.equal(nodeOwner('auto', 'station-a', false), null);
    assert.equal(nodeOwner('same', 'station-a', true), null);
    assert.deepEqual(nodeOwner({ uid: 7, gid: 8 }, 'station-a', false), { uid: 7, gid: 8 });
  });
});

const isRoot = process.getuid?.() === 0;
// Users of their own need the installed code to be readable by others (serve falls back, with a warning, when
// it is not: e.g. a checkout under /root). Asked the way serve asks it.
const unreadable = isRoot ? ownerCanRun(nodeOwner('auto', 'probe', true)!, tmpdir(), graphServerFiles()) : null;
const skip = !isRoot
  ? 'needs root: nodes get users of their own only when the control plane runs as root (CI runs as root)'
  : unreadable
    ? `this checkout cannot be read by other users (${unreadable}), so serve runs nodes as its own user`
    : false;
if (skip) console.log(`# skipping the node-user tests: ${skip}`);

describe('allotrope serve started as root', { skip }, () => {
  const dbPorts = testPortRange(4);
  let server: LifecycleServerProcess;

  before(async () => {
    server = await startLifecycleServerProcess({ dbPorts });
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  /** Whether a process of `uid` can read `file` (run as that user: root's view proves nothing). */
  function canRead(uid: number, file: string): boolean {
    const r = spawnSync(process.execPath, ['-e', 'require("node:fs").readFileSync(process.argv[1])', file], { uid, gid: uid });
    return r.status === 0;
  }

  test('each node runs as its own user and cannot read the secrets, the store or another node', async () => {
    const token = await server.token();
    const envId = (await server.request('GET', '/deployments/environments', { token })).body[0].id;
    const created = await server.request('POST', DB, { token, body: { environmentId: envId, name: 'one', plan: 'ds2', version: '5.26-grafeo' } });
    assert.equal(created.status, 202, created.text);
    assert.equal((await waitForOperation(server, token, created.body.database.id, created.body.operationId)).status, 'finished');
    const one = { database: created.body.database, password: created.body.credentials.password as string };
    await createDatabaseAndWait(server, token, envId, 'two');
    const nodesDir = join(server.dataDir, 'runtime', 'nodes');
    const pidOf = (station: string) => Number(JSON.parse(readFileSync(join(nodesDir, station, 'node.pid'), 'utf8')).pid);
    const stations = readdirSync(nodesDir);
    assert.equal(stations.length, 2);
    const uids = stations.map((s) => {
      const status = readFileSync(`/proc/${pidOf(s)}/status`, 'utf8');
      return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
    });
    for (const uid of uids) assert.ok(uid >= NODE_ID_BASE, `node runs as uid ${uid}`);
    assert.notEqual(uids[0], uids[1]);

    const secrets = [
      // On a PostgreSQL store (ALLOTROPE_TEST_PG_URL) the store and the signing keys are not in the data dir.
      ...(testPgUrl ? [] : [join(server.dataDir, 'keys', 'jwt-signing-keys.json'), join(server.dataDir, 'allotrope.db')]),
      join(server.dataDir, 'initial-credentials'),
      join(nodesDir, stations[1]!, 'users.json'),
      join(nodesDir, stations[1]!, 'data', 'graph.grafeo'),
    ];
    for (const file of secrets) {
      assert.ok(statSync(file).isFile(), file);
      assert.equal(canRead(uids[0]!, file), false, `node user ${uids[0]} can read ${file}`);
    }
    assert.equal(canRead(uids[0]!, join(nodesDir, stations[0]!, 'users.json')), true, 'a node reads its own users file');

    // The node works as before: queries, an online snapshot (written through the node's own directory).
    const driver = neo4j.driver(`bolt://127.0.0.1:${one.database.boltPort}`, neo4j.auth.basic('neo4j', one.password));
    try {
      await driver.executeQuery('UNWIND range(1, 50) AS i CREATE (:Mark {i: i})');
      const snap = await server.request('POST', `${DB}/${one.database.id}/snapshots`, { token, body: { label: 'as its own user' } });
      assert.equal(snap.status, 202, snap.text);
      const op = await waitForOperation(server, token, one.database.id, snap.body.operationId);
      assert.equal(op.status, 'finished', JSON.stringify(op));
    } finally {
      await driver.close();
    }

  });
});
