// A real operation failing on the file system (the runtime's node directory cannot be created) is stored
// and served without the server's paths: the data directory shows as `<server path>` in the API, and
// only the server log names it.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';

const DB = '/deployments/databases/graphneo';

describe('operation messages and server paths', () => {
  let server: LifecycleServer;
  before(async () => {
    server = await startLifecycleServer();
  });
  after(async () => server?.stop());

  test("a create that fails in the runtime's directory reports no data-dir path", async () => {
    // A file where the runtime keeps its node directories: provisioning fails with ENOTDIR on a full path.
    const nodes = join(server.dataDir, 'runtime', 'nodes');
    rmSync(nodes, { recursive: true, force: true });
    mkdirSync(join(server.dataDir, 'runtime'), { recursive: true });
    writeFileSync(nodes, 'not a directory');
    try {
      await failingCreate();
    } finally {
      // Put the directory back, so that stopping the runtime finds what it expects.
      rmSync(nodes, { force: true });
      mkdirSync(nodes);
    }
  });

  async function failingCreate(): Promise<void> {
    const res = await server.request('POST', DB, { token: server.adminToken, body: { environmentId: server.environmentId, name: 'doomed', plan: 'ds1' } });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(server, server.adminToken, res.body.database.id, res.body.operationId);
    assert.equal(op.status, 'failed', JSON.stringify(op));
    const served = JSON.stringify(op);
    assert.ok(!served.includes(server.dataDir), served);
    assert.doesNotMatch(served, /\/tmp\//);
    assert.match(op.error, /<server path>/);
    const list = await server.request('GET', `${DB}/${res.body.database.id}/operations`, { token: server.adminToken });
    assert.ok(!list.text.includes(server.dataDir), list.text);
  }
});
