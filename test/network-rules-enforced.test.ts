// Network rules reach the databases: a rule added to an environment (the API) closes its databases to
// every other address within a health pass, on Bolt and on the Query API, without a restart; deleting
// the rule opens them again; a database created or resumed later starts with the rules in force.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabaseAndWait, startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';
import { boltConnects as connects } from './helpers/bolt-connects.js';

const DB = '/deployments/databases/graphneo';

const boltConnects = (url: string, password: string) => connects(url, 'neo4j', password);

async function queryApiStatus(database: any, password: string): Promise<number> {
  const res = await fetch(`${database.connectionUrls.http}/db/neo4j/query/v2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`neo4j:${password}`).toString('base64')}` },
    body: JSON.stringify({ statement: 'RETURN 1 AS one' }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('network rules are enforced by the databases', () => {
  let server: LifecycleServer;
  let token: string;
  before(async () => {
    server = await startLifecycleServer({ healthIntervalMs: 3_600_000 });
    token = server.adminToken;
  });
  after(async () => {
    await server?.stop();
  });

  it('closes and reopens a running database as rules are added and deleted, and applies them at resume', async () => {
    const created = await createDatabaseAndWait(server, token, server.environmentId, 'fenced');
    const { database, password } = created;
    const url = database.connectionUrls.bolt;
    assert.equal(await boltConnects(url, password), true);

    const elsewhere = await server.request('POST', `/deployments/environments/${server.environmentId}/network-rules`, { token, body: { label: 'office', ipRange: '203.0.113.0/24' } });
    assert.equal(elsewhere.status, 201, elsewhere.text);
    await server.lifecycle.checkHealth();
    await waitFor(async () => !(await boltConnects(url, password)), { timeoutMs: 10_000, what: 'Bolt from 127.0.0.1 to be refused' });
    assert.equal(await queryApiStatus(database, password), 403);

    // A rule for this client's address lets it in, next to the other one.
    const local = await server.request('POST', `/deployments/environments/${server.environmentId}/network-rules`, { token, body: { label: 'this machine', ipRange: '127.0.0.1/32' } });
    assert.equal(local.status, 201, local.text);
    await server.lifecycle.checkHealth();
    await waitFor(() => boltConnects(url, password), { timeoutMs: 10_000, what: 'Bolt from 127.0.0.1 to be accepted' });
    assert.equal(await queryApiStatus(database, password), 202);

    // Paused without this machine's rule, it resumes with the rules as they are then.
    const del = await server.request('DELETE', `/deployments/environments/${server.environmentId}/network-rules/${local.body.id}`, { token });
    assert.equal(del.status, 204);
    const pause = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
    await waitForOperation(server, token, database.id, pause.body.operationId);
    await server.lifecycle.checkHealth();
    const resume = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
    const resumed = await waitForOperation(server, token, database.id, resume.body.operationId);
    assert.equal(resumed.status, 'finished');
    assert.match(resumed.steps.find((s: any) => s.name === 'write-users').message, /connections only from 203\.0\.113\.0\/24/);
    assert.equal(await boltConnects(url, password), false);

    // With no rules left, every address may connect again.
    const last = await server.request('DELETE', `/deployments/environments/${server.environmentId}/network-rules/${elsewhere.body.id}`, { token });
    assert.equal(last.status, 204);
    await server.lifecycle.checkHealth();
    await waitFor(() => boltConnects(url, password), { timeoutMs: 10_000, what: 'Bolt to be open again' });
  });
});
