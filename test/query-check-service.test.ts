// The query check after a start: graph-servers (real processes) share one query-check service over a
// private unix socket, started by the first of them; a query Neo4j refuses is refused at once after a
// start, a restart, and a cold start of the service itself — never run unchecked.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { adminRequest } from '../src/graph-server/admin.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';
import { waitFor } from './helpers/wait-for.js';

const REFUSED = ['RETURN 123.4 AND false', 'CREATE ()-->()'];

describe('the shared query-check service', () => {
  let dir: string;
  let usersFile: string;
  let socket: string;
  const running: Running[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qc-service-'));
    usersFile = join(dir, 'users.json');
    socket = join(dir, 'qc', 'check.sock');
    await writeUsers(usersFile, [{ username: 'admin', password: 'secret-1' }]);
  });
  after(async () => {
    await Promise.all(running.map((r) => stopServer(r)));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string): Promise<Running> {
    const r = await startServer(join(dir, name), usersFile, ['--query-check-socket', socket, '--query-check-service-idle-ms', '1000']);
    running.push(r);
    return r;
  }

  async function stop(r: Running): Promise<void> {
    await stopServer(r);
    running.splice(running.indexOf(r), 1);
  }

  /** Sends the refused queries the moment the server is up: each must fail with Neo4j's positioned message and change nothing. */
  async function assertRefusedAtOnce(r: Running): Promise<void> {
    const driver = neo4j.driver(`bolt://127.0.0.1:${r.ready.boltPort}`, neo4j.auth.basic('admin', 'secret-1'), { logging: { level: 'error', logger: () => {} } });
    const session = driver.session();
    try {
      for (const query of REFUSED) {
        await assert.rejects(session.run(query), (e: any) => {
          assert.equal(e.code, 'Neo.ClientError.Statement.SyntaxError', `${query}: ${e.code} ${e.message}`);
          assert.match(e.message, /\(line 1, column \d+ \(offset: \d+\)\)/);
          return true;
        });
      }
      const count = await session.run('MATCH (n) RETURN count(n) AS c');
      assert.equal(count.records[0]!.get('c').toNumber(), 0, 'a refused query changed nothing');
    } finally {
      await session.close();
      await driver.close();
    }
  }

  test('refuses at once after a start, with the service started by the first graph-server and shared by the next', async () => {
    const a = await start('a');
    await assertRefusedAtOnce(a);
    assert.ok(existsSync(socket), 'the service listens on the configured socket');
    const b = await start('b');
    await assertRefusedAtOnce(b);
    // The front-end lives in the service: neither graph-server runs a worker of its own.
    for (const name of ['a', 'b']) {
      const { queryCheck } = await adminRequest(join(dir, name), { op: 'stats' });
      assert.equal(queryCheck.enabled, true);
      assert.equal(queryCheck.workers, 0);
    }
    // A restart of one database finds the service warm.
    await stop(a);
    await assertRefusedAtOnce(await start('a'));
  });

  test('the service outlives a graph-server, stops when none is left, and a new start starts it again (cold) and still refuses at once', async () => {
    for (const r of [...running]) await stop(r);
    await waitFor(() => !existsSync(socket), { timeoutMs: 30_000, what: 'the idle service to exit and remove its socket' });
    await assertRefusedAtOnce(await start('c'));
  });
});
