// Network rules are enforced at the edge (the router, src/router/): a rule added to an environment refuses
// every other address within a second, on Bolt (a handshake answer, then FAILURE Neo.ClientError.Security.
// Forbidden naming the rule set — never a silent close) and on the Query API (403 JSON); an open connection
// the new rules no longer allow is cut; a rule for 127.0.0.1 admits it again within a second; the refusals
// are counted in the API's /metrics. Nodes themselves get no rules any more (the write-users step says so).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import neo4j from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import { createDatabaseAndWait, startLifecycleServer, waitForOperation, type LifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';

/** 'ok', or the Neo4j error code the driver saw. */
async function boltOutcome(driverModule: typeof neo4j, url: string, password: string): Promise<string> {
  const d = driverModule.driver(url, driverModule.auth.basic('neo4j', password), { connectionTimeout: 3_000, maxConnectionPoolSize: 1 });
  try {
    await d.executeQuery('RETURN 1 AS one');
    return 'ok';
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  } finally {
    await d.close();
  }
}

async function queryApi(database: any, password: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${database.connectionUrls.http}/db/neo4j/query/v2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`neo4j:${password}`).toString('base64')}` },
    body: JSON.stringify({ statement: 'RETURN 1 AS one' }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

describe('network rules are enforced at the edge', () => {
  let server: LifecycleServer;
  let token: string;
  before(async () => {
    server = await startLifecycleServer({ healthIntervalMs: 3_600_000 });
    token = server.adminToken;
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses with a Bolt FAILURE and a 403 within a second of a rule, cuts open connections, admits 127.0.0.1 within a second of its rule', async () => {
    const { database, password } = await createDatabaseAndWait(server, token, server.environmentId, 'fenced');
    const url = database.connectionUrls.neo4j;
    assert.equal(await boltOutcome(neo4j, url, password), 'ok');

    // A session left open across the change: its connection is cut when the rules stop allowing it.
    const held = neo4j.driver(url, neo4j.auth.basic('neo4j', password));
    const session = held.session();
    const tx = await session.beginTransaction();
    await tx.run('RETURN 1');

    const elsewhere = await server.request('POST', `/deployments/environments/${server.environmentId}/network-rules`, { token, body: { label: 'office', ipRange: '203.0.113.0/24' } });
    assert.equal(elsewhere.status, 201, elsewhere.text);
    const t0 = Date.now();
    await waitFor(async () => (await boltOutcome(neo4j, url, password)) !== 'ok', { timeoutMs: 5_000, intervalMs: 50, what: 'Bolt from 127.0.0.1 to be refused' });
    assert.ok(Date.now() - t0 < 1_500, `refused after ${Date.now() - t0} ms`);
    for (const driverModule of [neo4j, neo4j5 as unknown as typeof neo4j]) {
      const outcome = await boltOutcome(driverModule, url, password);
      assert.match(outcome, /^Neo\.ClientError\.Security\.Forbidden: .*127\.0\.0\.1.*network rules of environment .*203\.0\.113\.0\/24/);
    }
    const http = await queryApi(database, password);
    assert.equal(http.status, 403);
    assert.match(http.body.error, /not allowed by the network rules/);
    await assert.rejects(tx.run('RETURN 2'), 'the open connection was cut');
    await session.close().catch(() => undefined);
    await held.close();

    // A rule for this client's address lets it in, next to the other one.
    const local = await server.request('POST', `/deployments/environments/${server.environmentId}/network-rules`, { token, body: { label: 'this machine', ipRange: '127.0.0.1/32' } });
    assert.equal(local.status, 201, local.text);
    const t1 = Date.now();
    await waitFor(async () => (await boltOutcome(neo4j, url, password)) === 'ok', { timeoutMs: 5_000, intervalMs: 50, what: 'Bolt from 127.0.0.1 to be accepted' });
    assert.ok(Date.now() - t1 < 1_500, `admitted after ${Date.now() - t1} ms`);
    assert.equal((await queryApi(database, password)).status, 202);

    // Paused without this machine's rule, it resumes with the rules as they are then; nodes get none.
    const del = await server.request('DELETE', `/deployments/environments/${server.environmentId}/network-rules/${local.body.id}`, { token });
    assert.equal(del.status, 204);
    const pause = await server.request('PUT', `${DB}/${database.id}/pause`, { token });
    await waitForOperation(server, token, database.id, pause.body.operationId);
    const resume = await server.request('PUT', `${DB}/${database.id}/resume`, { token });
    const resumed = await waitForOperation(server, token, database.id, resume.body.operationId);
    assert.equal(resumed.status, 'finished');
    assert.doesNotMatch(resumed.steps.find((s: any) => s.name === 'write-users').message, /connections only from/);
    assert.match(await boltOutcome(neo4j, url, password), /^Neo\.ClientError\.Security\.Forbidden/);

    // The refusals are counted in the API's /metrics.
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    const refused = /allotrope_router_refusals_total\{reason="network-rule"\} (\d+)/.exec(metrics);
    assert.ok(refused && Number(refused[1]) >= 4, metrics.split('\n').filter((l) => l.includes('router')).join('\n'));
    assert.match(metrics, /allotrope_router_refusals_total\{reason="network-rule-changed"\} [1-9]/);

    // With no rules left, every address may connect again.
    const last = await server.request('DELETE', `/deployments/environments/${server.environmentId}/network-rules/${elsewhere.body.id}`, { token });
    assert.equal(last.status, 204);
    await waitFor(async () => (await boltOutcome(neo4j, url, password)) === 'ok', { timeoutMs: 5_000, what: 'Bolt to be open again' });
  });
});
