// What tools send on connect and the engine lacks (spec bolt-server.md §8), answered by the engine
// adapter's shims: through neo4j-driver against a graph-server, and the shim parser on its own.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j from 'neo4j-driver';
import { pino } from 'pino';
import { answerToolShim, rewriteToolQuery, type ShimContext } from '../src/graph-server/engines/grafeo/tool-shims.js';
import { runGraphServer, type GraphServerHandle } from '../src/graph-server/main.js';
import { hashPassword } from '../src/auth/passwords.js';

const ctx: ShimContext = { boltAddress: () => 'db.example.org:7687', readOnly: false };

describe('tool shims (parser)', () => {
  test('answers the shapes tools send, with YIELD, UNWIND and RETURN', () => {
    const browser = answerToolShim('CALL dbms.components() YIELD name, versions, edition UNWIND versions AS version RETURN name, version, edition', ctx);
    assert.deepEqual(browser?.fields, ['name', 'version', 'edition']);
    assert.deepEqual(browser?.records, [['Neo4j Kernel', '5.26.0', 'community']]);
    const indexed = answerToolShim('call dbms.components() yield versions, edition return versions[0] as version, edition;', ctx);
    assert.deepEqual(indexed?.records, [['5.26.0', 'community']]);
    const renamed = answerToolShim('SHOW DATABASES YIELD name AS db, currentStatus', ctx);
    assert.deepEqual(renamed?.fields, ['db', 'currentStatus']);
    assert.deepEqual(renamed?.records, [['neo4j', 'online'], ['system', 'online']]);
    const filtered = answerToolShim("SHOW DATABASES YIELD name, home WHERE name = 'system'", ctx);
    assert.deepEqual(filtered?.records, [['system', false]]);
    assert.deepEqual(answerToolShim('SHOW DATABASES WHERE default = true YIELD name', ctx), null, 'WHERE before YIELD is not Cypher');
    assert.deepEqual(answerToolShim('SHOW DATABASES WHERE default = true', ctx)?.records.map((r) => r[0]), ['neo4j']);
    const commented = answerToolShim('// connect\nSHOW DATABASE `neo4j` YIELD *', ctx);
    assert.equal(commented?.records.length, 1);
    assert.equal(commented?.fields.length, 13);
  });

  test("rewrites only the shape of the tools' metadata query", () => {
    assert.equal(
      rewriteToolQuery('CALL db.labels() YIELD label RETURN COLLECT(label)[..1000] AS result UNION ALL CALL db.propertyKeys() YIELD propertyKey RETURN COLLECT(propertyKey)[..10] AS result;'),
      'CALL db.labels() YIELD label WITH collect(label) AS shim_collected RETURN shim_collected[..1000] AS result UNION ALL CALL db.propertyKeys() YIELD propertyKey WITH collect(propertyKey) AS shim_collected RETURN shim_collected[..10] AS result',
    );
    for (const q of [
      'MATCH (n) RETURN collect(n.name)[..3] AS r',
      'CALL db.labels() YIELD label RETURN COLLECT(label)[..1000] AS result UNION ALL MATCH (n) RETURN collect(n)[..1] AS result',
      "CALL db.labels() YIELD label RETURN COLLECT(label)[..1000] AS result // COLLECT(label)",
    ]) {
      assert.equal(rewriteToolQuery(q), q, q);
    }
  });

  test('leaves everything else to the engine', () => {
    for (const q of [
      "CALL dbms.components() YIELD name WHERE name STARTS WITH 'N' RETURN name",
      'CALL dbms.components() RETURN name',
      'CALL dbms.components() YIELD nope',
      'SHOW DATABASES WHERE name STARTS WITH "n"',
      "SHOW DATABASES YIELD name WHERE nope = 'x'",
      'SHOW INDEXES',
      'CALL db.labels()',
      'MATCH (n) RETURN n',
      'CALL dbms.components() YIELD name UNWIND name AS x RETURN y',
    ]) {
      assert.equal(answerToolShim(q, ctx), null, q);
    }
  });

  test('the current user is the authenticated one when the front end passes it', () => {
    assert.deepEqual(answerToolShim('CALL dbms.showCurrentUser()', ctx, 'alice')?.records, [['alice', null, []]]);
    assert.deepEqual(answerToolShim('SHOW CURRENT USER YIELD user', ctx, 'alice')?.records, [['alice']]);
  });
});

describe('tool shims through neo4j-driver', () => {
  let dir: string;
  let server: GraphServerHandle;
  let driver: ReturnType<typeof neo4j.driver>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'graph-server-shims-'));
    const usersFile = join(dir, 'users.json');
    const passwordHash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    await writeFile(`${usersFile}.tmp`, JSON.stringify([{ username: 'admin', passwordHash, readOnly: false }]));
    await rename(`${usersFile}.tmp`, usersFile);
    server = await runGraphServer({ dataDir: join(dir, 'data'), boltPort: 0, httpPort: 0, usersFile, logger: pino({ level: 'silent' }) });
    driver = neo4j.driver(`bolt://127.0.0.1:${server.boltPort}`, neo4j.auth.basic('admin', 'pw'));
    await driver.executeQuery("CREATE (:Person {name: 'a'})-[:KNOWS {since: 2020}]->(:Person {name: 'b'})");
  });

  after(async () => {
    await driver?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('dbms.components() names a Neo4j 5 community kernel', async () => {
    const { records } = await driver.executeQuery('CALL dbms.components() YIELD name, versions, edition');
    assert.equal(records.length, 1);
    assert.equal(records[0]!.get('name'), 'Neo4j Kernel');
    assert.deepEqual(records[0]!.get('versions'), ['5.26.0']);
    assert.equal(records[0]!.get('edition'), 'community');
    const info = await driver.getServerInfo();
    assert.match(info.agent ?? '', /^Neo4j\/5\.26/);
  });

  test('SHOW DATABASES on system lists neo4j online, default and home', async () => {
    const { records, keys } = await driver.executeQuery('SHOW DATABASES', {}, { database: 'system' });
    assert.ok(keys.includes('currentStatus') && keys.includes('default') && keys.includes('home'));
    const byName = new Map(records.map((r) => [r.get('name') as string, r]));
    assert.deepEqual([...byName.keys()].sort(), ['neo4j', 'system']);
    const db = byName.get('neo4j')!;
    assert.equal(db.get('currentStatus'), 'online');
    assert.equal(db.get('requestedStatus'), 'online');
    assert.equal(db.get('default'), true);
    assert.equal(db.get('home'), true);
    assert.equal(db.get('access'), 'read-write');
    assert.equal(db.get('address'), `127.0.0.1:${server.boltPort}`);
    assert.equal(byName.get('system')!.get('default'), false);

    const one = await driver.executeQuery('SHOW DATABASE neo4j YIELD name, currentStatus', {}, { database: 'system' });
    assert.deepEqual(one.records.map((r) => r.toObject()), [{ name: 'neo4j', currentStatus: 'online' }]);
    const home = await driver.executeQuery('SHOW HOME DATABASE');
    assert.deepEqual(home.records.map((r) => r.get('name')), ['neo4j']);
  });

  test('the current user and the client config', async () => {
    const legacy = await driver.executeQuery('CALL dbms.showCurrentUser()');
    assert.deepEqual(legacy.keys, ['username', 'roles', 'flags']);
    assert.equal(legacy.records[0]?.get('username'), 'admin');
    const current = await driver.executeQuery('SHOW CURRENT USER', {}, { database: 'system' });
    assert.deepEqual(current.keys, ['user', 'roles', 'passwordChangeRequired', 'suspended', 'home']);
    assert.equal(current.records.length, 1);
    assert.equal(current.records[0]?.get('user'), 'admin');
    const config = await driver.executeQuery('CALL dbms.clientConfig()');
    const settings = new Map(config.records.map((r) => [r.get('name') as string, r.get('value') as string]));
    assert.equal(settings.get('dbms.security.auth_enabled'), 'true');
    assert.equal(settings.get('browser.allow_outgoing_connections'), 'false');
  });

  test('labels, relationship types and property keys come from the engine', async () => {
    const labels = await driver.executeQuery('CALL db.labels() YIELD label RETURN label');
    assert.deepEqual(labels.records.map((r) => r.get('label')), ['Person']);
    const types = await driver.executeQuery('CALL db.relationshipTypes()');
    assert.deepEqual(types.records.map((r) => r.get('relationshipType')), ['KNOWS']);
    const keys = await driver.executeQuery('CALL db.propertyKeys()');
    assert.deepEqual(keys.records.map((r) => r.get('propertyKey')).sort(), ['name', 'since']);
  });

  test("Neo4j Browser's metadata query runs (COLLECT(x)[..1000] in a UNION ALL)", async () => {
    const query = `CALL db.labels() YIELD label
RETURN COLLECT(label)[..1000] AS result
UNION ALL
CALL db.relationshipTypes() YIELD relationshipType
RETURN COLLECT(relationshipType)[..1000] AS result
UNION ALL
CALL db.propertyKeys() YIELD propertyKey
RETURN COLLECT(propertyKey)[..1000] AS result`;
    const { records, keys } = await driver.executeQuery(query);
    assert.deepEqual(keys, ['result']);
    assert.deepEqual(records.map((r) => (r.get('result') as string[]).slice().sort()), [['Person'], ['KNOWS'], ['name', 'since']]);
    const capped = await driver.executeQuery('CALL db.propertyKeys() YIELD propertyKey RETURN collect(propertyKey)[..1] AS result');
    assert.equal((capped.records[0]!.get('result') as string[]).length, 1);
  });

  test('shims answer inside explicit and read transactions; other shapes reach the engine', async () => {
    const session = driver.session({ defaultAccessMode: neo4j.session.READ });
    try {
      const names = await session.executeRead(async (tx) => (await tx.run('SHOW DATABASES YIELD name')).records.map((r) => r.get('name')));
      assert.deepEqual(names, ['neo4j', 'system']);
    } finally {
      await session.close();
    }
    const none = await driver.executeQuery('CALL dbms.components() YIELD name WHERE name = "x" RETURN name');
    assert.equal(none.records.length, 0);
    await assert.rejects(driver.executeQuery("CALL dbms.components() YIELD name WHERE name STARTS WITH 'N' RETURN name"), {
      code: 'Neo.ClientError.Procedure.ProcedureNotFound',
    });
  });
});
