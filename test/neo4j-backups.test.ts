// Moving data in and out of Neo4j databases through a real `allotrope serve` with the Neo4j engine: a Cypher
// export of a Neo4j database (read from a backup copy in a scratch Neo4j) loaded into a new Grafeo database
// and into a new Neo4j database, every value compared; a `.dump` made by neo4j-admin imported and served;
// a failing script leaving the data as it was. Runs where the Neo4j engine is installed; else says why not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import neo4j, { type Driver } from 'neo4j-driver';
import { findNeo4j } from '../src/engines/neo4j-install.js';
import { loadCypherIntoNeo4j } from '../src/graph-server/engines/neo4j/cypher-load.js';
import { loadNeo4jDump } from '../src/graph-server/engines/neo4j/dump-load.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { removeDataDir, testPortRange, waitForOperation } from './helpers/lifecycle.js';
import { installedNeo4j } from './helpers/neo4j-engine.js';
import { waitFor } from './helpers/wait-for.js';

const DB = '/deployments/databases/graphneo';
const engines = installedNeo4j();
if (!engines.install) console.log(`# skipping the Neo4j export/import tests: ${engines.reason}`);
const NODES = 3000;

/** Every kind of value, one property each, on one node: what must survive an export exactly. */
const VALUES_QUERY = `CREATE (:Mark:Special {
  i: 1, big: 9223372036854775807, small: -9223372036854775807 - 1, f: 1.0, tiny: 5e-324, neg: -0.0, huge: 1.7976931348623157e308,
  s: 'it\\'s "quoted"\\n\\ttab \\\\ back', uni: 'Grüße 🌍', empty: '', yes: true, list: [1, 2, 3], floats: [0.5, -0.0], strs: ['a', 'b'],
  d: date('2024-02-29'), far: date('+999999999-12-31'), early: date('-999999999-01-01'),
  lt: localtime('23:59:59.999999999'), t: time('03:04:05.123456789+01:30'),
  ldt: localdatetime('2024-01-02T03:04:05.175857897'),
  zoned: datetime('2024-01-02T03:04:05.123456789[Europe/London]'), overlap: datetime('2022-10-30T01:30:00.000000001+01:00[Europe/London]'),
  offset: datetime('2024-07-01T00:00:00.000000001-05:00'),
  du: duration({months: -14, days: -35, seconds: -123456, nanoseconds: 789}), du2: duration('PT0.000000001S'),
  p: point({x: 1.5, y: -0.0}), p3: point({x: 1, y: 2, z: 3}), geo: point({longitude: 12.5, latitude: 55.75}), geo3: point({longitude: 1, latitude: 2, height: 3})
})`;

/** A value as text that tells its type: 1 and 1.0, -0.0 and 0.0, an Integer and a float all differ. */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Object.is(v, -0) ? 'float:-0' : `float:${v}`;
  if (neo4j.isInt(v)) return `int:${v.toString()}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object') {
    const kind = (v as object).constructor.name;
    if (neo4j.isPoint(v)) return `Point(${v.srid},${canonical(v.x)},${canonical(v.y)},${canonical(v.z)})`;
    return `${kind}:${String(v)}`;
  }
  return `${typeof v}:${String(v)}`;
}

async function valuesOf(driver: Driver): Promise<Record<string, string>> {
  const { records } = await driver.executeQuery('MATCH (m:Mark:Special) RETURN properties(m) AS p');
  assert.equal(records.length, 1);
  const props = records[0]!.get('p') as Record<string, unknown>;
  return Object.fromEntries(Object.keys(props).sort().map((k) => [k, canonical(props[k])]));
}

async function countsOf(driver: Driver): Promise<{ nodes: number; relationships: number }> {
  const one = async (q: string) => Number((await driver.executeQuery(q)).records[0]!.get('c'));
  return { nodes: await one('MATCH (n) RETURN count(n) AS c'), relationships: await one('MATCH ()-[r]->() RETURN count(r) AS c') };
}

describe('exports and imports of Neo4j databases', { skip: engines.install ? false : engines.reason }, () => {
  const enginesDir = (engines as { enginesDir: string }).enginesDir;
  let server: ControlPlaneProcess;
  let token: string;
  let envId: string;
  const drivers: Driver[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'allotrope-neo4j-backups-'));
  const figures: Record<string, number> = {};

  before(async () => {
    server = await startControlPlaneProcess({
      dataDir: mkdtempSync(join(tmpdir(), 'allotrope-lifecycle-')),
      dbPorts: testPortRange(8),
      enginesDir,
      config: { operations: { leaseMs: 30_000 }, runtime: { healthIntervalMs: 300 }, backups: { cypherImportMaxMemoryBytes: 1024 * 2 ** 20 } },
    });
    token = await server.token();
    envId = (await server.request('GET', '/deployments/environments', { token })).body[0].id;
  });
  after(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    rmSync(scratch, { recursive: true, force: true });
  });

  async function create(name: string, engine: 'neo4j' | 'grafeo'): Promise<{ id: string; driver: Driver }> {
    const body = { environmentId: envId, name, plan: 'ds2', ...(engine === 'grafeo' ? { version: '5.26-grafeo' } : {}) };
    const res = await server.request('POST', DB, { token, body });
    assert.equal(res.status, 202, res.text);
    const id = res.body.database.id as string;
    await finished(id, res.body.operationId);
    const db = (await server.request('GET', `${DB}/${id}`, { token })).body;
    assert.equal(db.version.engine, engine);
    const driver = neo4j.driver(`bolt://127.0.0.1:${db.boltPort}`, neo4j.auth.basic('neo4j', res.body.credentials.password), { connectionTimeout: 10_000 });
    drivers.push(driver);
    return { id, driver };
  }

  async function ended(id: string, operationId: string) {
    return waitForOperation(server, token, id, operationId, 240_000);
  }

  async function finished(id: string, operationId: string) {
    const op = await ended(id, operationId);
    assert.equal(op.status, 'finished', JSON.stringify(op));
    return op;
  }

  async function exportAs(id: string, format: 'cypher' | 'archive'): Promise<{ op: any; export: any }> {
    const res = await server.request('PUT', `${DB}/${id}/export`, { token, body: { format } });
    assert.equal(res.status, 202, res.text);
    const op = await ended(id, res.body.operationId);
    return { op, export: (await server.request('GET', `${DB}/${id}/exports/${res.body.export.id}`, { token })).body };
  }

  /** An export's bytes: its link names the server's public URL, which here is wherever the test server listens. */
  async function download(url: string): Promise<Buffer> {
    const link = new URL(url);
    const res = await fetch(new URL(link.pathname + link.search, server.url));
    assert.equal(res.status, 200, url);
    return Buffer.from(await res.arrayBuffer());
  }

  async function upload(id: string, data: Buffer): Promise<any> {
    const form = new FormData();
    form.append('file', new Blob([data]), 'upload.bin');
    const res = await fetch(new URL(`${DB}/${id}/import`, server.url), { method: 'PUT', headers: { authorization: `Bearer ${await server.token()}` }, body: form });
    const body = (await res.json()) as { operationId: string };
    assert.equal(res.status, 202, JSON.stringify(body));
    return ended(id, body.operationId);
  }

  const served = (driver: Driver, expected: { nodes: number; relationships: number }, what: string) =>
    waitFor(async () => JSON.stringify(await countsOf(driver).catch(() => null)) === JSON.stringify(expected), { timeoutMs: 120_000, intervalMs: 500, what });

  test('a Neo4j database exported as Cypher loads into Grafeo and into Neo4j; a .dump is imported; a failing script changes nothing', async (t) => {
    const source = await create('neo4j-source', 'neo4j');
    await source.driver.executeQuery(VALUES_QUERY);
    await source.driver.executeQuery('CREATE CONSTRAINT person_id FOR (p:Person) REQUIRE p.id IS UNIQUE');
    await source.driver.executeQuery('CREATE INDEX person_name FOR (p:Person) ON (p.name)');
    await source.driver.executeQuery('CREATE TEXT INDEX person_text FOR (p:Person) ON (p.name)');
    await source.driver.executeQuery('CREATE FULLTEXT INDEX person_fulltext FOR (p:Person|Mark) ON EACH [p.name, p.s] OPTIONS {indexConfig: {`fulltext.analyzer`: "english"}}');
    await source.driver.executeQuery('CREATE INDEX knows_since FOR ()-[k:KNOWS]-() ON (k.since)');
    await source.driver.executeQuery(
      'UNWIND range(1, $n) AS i CREATE (:Person {id: i, name: "person " + i, born: date("1970-01-01") + duration({days: i}), score: i / 7.0})',
      { n: neo4j.int(NODES) },
    );
    await source.driver.executeQuery('MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 CREATE (a)-[:KNOWS {since: a.id, w: 0.5}]->(b)');
    await source.driver.executeQuery('CREATE (:Blob {name: "bytes", data: $b})', { b: new Int8Array([1, 2, 3]) });
    const expectedValues = await valuesOf(source.driver);

    // Bytes cannot be written as Cypher: the export fails and says which property holds them.
    const refused = await exportAs(source.id, 'cypher');
    assert.equal(refused.op.status, 'failed', JSON.stringify(refused.op));
    assert.match(refused.export.error, /property 'data' of node \d+ \(:Blob\) holds a byte array, which Cypher cannot write/);
    await source.driver.executeQuery('MATCH (b:Blob) DELETE b');
    const expected = await countsOf(source.driver);
    assert.deepEqual(expected, { nodes: NODES + 1, relationships: NODES - 1 });

    let started = Date.now();
    const exported = await exportAs(source.id, 'cypher');
    figures.exportMs = Date.now() - started;
    assert.equal(exported.op.status, 'finished', JSON.stringify(exported.op));
    const script = await download(exported.export.url);
    figures.scriptBytes = script.length;
    const text = script.toString('utf8');
    assert.match(text, /CREATE CONSTRAINT person_id IF NOT EXISTS FOR \(n:Person\) REQUIRE n\.id IS UNIQUE;/);
    assert.match(text, /CREATE INDEX person_name IF NOT EXISTS FOR \(n:Person\) ON \(n\.name\);/);
    assert.match(text, /CREATE TEXT INDEX person_text IF NOT EXISTS FOR \(n:Person\) ON \(n\.name\);/);
    assert.match(text, /CREATE FULLTEXT INDEX person_fulltext IF NOT EXISTS FOR \(n:Person\|Mark\) ON EACH \[n\.name, n\.s\] OPTIONS \{indexConfig: \{`fulltext\.analyzer`: 'english'/);
    assert.match(text, /CREATE INDEX knows_since IF NOT EXISTS FOR \(\)-\[n:KNOWS\]-\(\) ON \(n\.since\);/);
    const archive = await exportAs(source.id, 'archive');
    assert.equal(archive.op.status, 'finished', JSON.stringify(archive.op));
    const archiveBytes = await download(archive.export.url);
    // The source is not needed any more: one JVM fewer.
    await finished(source.id, (await server.request('PUT', `${DB}/${source.id}/pause`, { token })).body.operationId);

    // Into Grafeo: Grafeo has no point() (nor points from Cypher): such a script is refused, saying so, and
    // without the points every node and relationship loads, with the values Grafeo keeps (not: dates beyond
    // ±5.8 million years, nanoseconds of datetimes, zone names).
    const grafeo = await create('grafeo-target', 'grafeo');
    const withPoints = await upload(grafeo.id, script);
    assert.equal(withPoints.status, 'failed');
    assert.match(withPoints.error, /statement \d+ failed: .*Unknown function 'point'/);
    const withoutPoints = Buffer.from(text.replace(/(?:p3|geo|p|geo3): point\(\{[^}]*\}\), /g, ''));
    started = Date.now();
    const intoGrafeo = await upload(grafeo.id, withoutPoints);
    assert.equal(intoGrafeo.status, 'finished', JSON.stringify(intoGrafeo));
    assert.match(intoGrafeo.steps.find((s: { name: string }) => s.name === 'verify-import')?.message ?? '', /; 3 index or constraint statements Grafeo has no counterpart for were left out/);
    figures.grafeoImportMs = Date.now() - started;
    await served(grafeo.driver, expected, 'the Grafeo database to serve the import');
    const inGrafeo = await valuesOf(grafeo.driver);
    for (const key of ['i', 'big', 'small', 'f', 'tiny', 'neg', 'huge', 's', 'uni', 'empty', 'yes', 'list', 'floats', 'strs', 'd', 'lt', 't', 'du2']) {
      assert.equal(inGrafeo[key], expectedValues[key], key);
    }
    const person = (await grafeo.driver.executeQuery('MATCH (p:Person {id: 77})-[k:KNOWS]->(q) RETURN p.name AS n, toString(p.born) AS b, k.since AS s, q.id AS q')).records[0]!;
    assert.deepEqual([person.get('n'), person.get('b'), Number(person.get('s')), Number(person.get('q'))], ['person 77', '1970-03-19', 77, 78]);

    // Into Neo4j: everything exactly, indexes and constraints too.
    const target = await create('neo4j-target', 'neo4j');
    await target.driver.executeQuery('CREATE (:Old)');
    started = Date.now();
    const loaded = await upload(target.id, script);
    figures.neo4jImportMs = Date.now() - started;
    assert.equal(loaded.status, 'finished', JSON.stringify(loaded));
    await served(target.driver, expected, 'the Neo4j database to serve the import');
    assert.deepEqual(await valuesOf(target.driver), expectedValues);
    const schema = (await target.driver.executeQuery('SHOW INDEXES YIELD name, type, owningConstraint WHERE type <> "LOOKUP" RETURN name, type, owningConstraint ORDER BY name')).records.map((r) => r.toObject());
    assert.deepEqual(schema, [
      { name: 'knows_since', type: 'RANGE', owningConstraint: null },
      { name: 'person_fulltext', type: 'FULLTEXT', owningConstraint: null },
      { name: 'person_id', type: 'RANGE', owningConstraint: 'person_id' },
      { name: 'person_name', type: 'RANGE', owningConstraint: null },
      { name: 'person_text', type: 'TEXT', owningConstraint: null },
    ]);
    const analyzer = (await target.driver.executeQuery('SHOW INDEXES YIELD name, options WHERE name = "person_fulltext" RETURN options.indexConfig.`fulltext.analyzer` AS a')).records[0]!.get('a');
    assert.equal(analyzer, 'english');
    assert.equal((await target.driver.executeQuery('MATCH (n) WHERE n:`UNIQUE IMPORT LABEL` OR n.`UNIQUE IMPORT ID` IS NOT NULL RETURN count(n) AS c')).records[0]!.get('c').toNumber(), 0);
    const sample = (await target.driver.executeQuery('MATCH (p:Person {id: 77})-[k:KNOWS]->(q) RETURN p.score AS s, k.w AS w, q.name AS q')).records[0]!;
    assert.deepEqual([sample.get('s'), sample.get('w'), sample.get('q')], [77 / 7, 0.5, 'person 78']);

    // A script that fails halfway (after committed batches) leaves the data as it was, and served.
    const failing = await upload(target.id, Buffer.from(':begin\nCREATE (:Junk {i: 1});\n:commit\n:begin\nCREATE (:Junk {i: 2});\nRETURN 1 +;\n:commit\n'));
    assert.equal(failing.status, 'failed');
    assert.match(failing.error, /statement 3 failed: .*the database's data was not changed|the import was refused and the database's data was not changed: statement 3 failed/);
    const refusedCsv = await upload(target.id, Buffer.from("LOAD CSV FROM 'file:///etc/passwd' AS l CREATE (:Junk {l: l});\n"));
    assert.equal(refusedCsv.status, 'failed');
    assert.match(refusedCsv.error, /not allowed in an import/);
    await served(target.driver, expected, 'the untouched data');
    assert.equal((await target.driver.executeQuery('MATCH (j:Junk) RETURN count(j) AS c')).records[0]!.get('c').toNumber(), 0);

    // A .dump made by neo4j-admin from the archive's store: imported into Neo4j, refused by Grafeo.
    const install = findNeo4j(enginesDir).install!;
    const home = join(scratch, 'neo4j');
    mkdirSync(join(home, 'conf'), { recursive: true });
    writeFileSync(join(home, 'conf', 'neo4j.conf'), '');
    writeFileSync(join(scratch, 'archive.tar.gz'), archiveBytes);
    execFileSync('tar', ['-xzf', join(scratch, 'archive.tar.gz'), '-C', scratch]);
    mkdirSync(join(scratch, 'dumps'));
    started = Date.now();
    execFileSync(install.java, [...install.jvmFlags, '-Xmx256m', '-cp', install.classpath, 'org.neo4j.cli.AdminTool', 'database', 'dump', 'neo4j', `--to-path=${join(scratch, 'dumps')}`], {
      env: { ...process.env, NEO4J_HOME: home, NEO4J_CONF: join(home, 'conf') },
      stdio: 'pipe',
    });
    figures.adminDumpMs = Date.now() - started;
    const dump = readFileSync(join(scratch, 'dumps', 'neo4j.dump'));
    assert.equal(dump.subarray(0, 4).toString('latin1'), 'DZV1');
    figures.dumpBytes = dump.length;
    await target.driver.executeQuery('MATCH (n:Person) WHERE n.id > 10 DETACH DELETE n');
    started = Date.now();
    const fromDump = await upload(target.id, dump);
    figures.dumpImportMs = Date.now() - started;
    assert.equal(fromDump.status, 'finished', JSON.stringify(fromDump));
    assert.match(fromDump.steps.find((s: { name: string }) => s.name === 'verify-import')?.message ?? JSON.stringify(fromDump.steps), new RegExp(`Neo4j dump loaded: ${expected.nodes} nodes, ${expected.relationships} relationships`));
    await served(target.driver, expected, 'the data of the dump');
    assert.deepEqual(await valuesOf(target.driver), expectedValues);
    const toGrafeo = await upload(grafeo.id, dump);
    assert.equal(toGrafeo.status, 'failed');
    assert.match(toGrafeo.error, /a Neo4j dump can only be imported into a Neo4j database/);
    assert.deepEqual(await countsOf(grafeo.driver), expected);
    // A dump whose store takes more disk than the bound (10 × the import limit; 1 MiB here) is stopped and
    // refused, nothing handed over; the same dump with room loads.
    const engine = { installDir: install.dir, mainClass: install.mainClass, java: install.java, jvmFlags: install.jvmFlags, cdsArchive: install.cdsArchive };
    const bounded = join(scratch, 'bounded-dump');
    mkdirSync(join(bounded, 'in'), { recursive: true });
    writeFileSync(join(bounded, 'in', 'neo4j.dump'), dump);
    const loadBounded = (name: string, maxStoreBytes: number) =>
      loadNeo4jDump(engine, join(bounded, 'in', 'neo4j.dump'), join(bounded, name), join(bounded, `${name}-incoming`), { timeoutMs: 120_000, memoryMb: 256, maxStoreBytes });
    await assert.rejects(loadBounded('small', 2 ** 20), /the dump expands to more than 1 MiB on disk, the limit for imports/);
    assert.equal(existsSync(join(bounded, 'small-incoming')), false);
    assert.deepEqual(await loadBounded('roomy', 2 ** 30), { statements: 0, ...expected });
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
  });

  test('a script that needs more memory than its bound, or runs longer, is stopped; nothing is handed over, no JVM is left', async () => {
    const install = findNeo4j(enginesDir).install!;
    const engine = { installDir: install.dir, mainClass: install.mainClass, java: install.java, jvmFlags: install.jvmFlags, cdsArchive: install.cdsArchive };
    const dir = join(scratch, 'bounded');
    mkdirSync(dir);
    const load = (name: string, script: string, timeoutMs: number) => {
      writeFileSync(join(dir, `${name}.cypher`), script);
      return loadCypherIntoNeo4j(engine, join(dir, `${name}.cypher`), join(dir, name), join(dir, `${name}-incoming`), { timeoutMs, memoryMb: 256 });
    };
    // The import memory limit sets the heap (half of it); Neo4j refuses a transaction beyond 70 % of the heap.
    await assert.rejects(load('big', 'UNWIND range(1, 1000000000) AS i CREATE (:N {i: i});\n', 120_000), /statement 1 failed: The allocation of an extra .* would use more than the limit/);
    const started = Date.now();
    await assert.rejects(load('slow', 'UNWIND range(1, 1000000000000) AS i WITH i WHERE i < 0 RETURN count(*);\n', 20_000), /the Cypher script took longer than 20 s to load, the limit for imports; it was stopped/);
    assert.ok(Date.now() - started < 40_000, `stopped after ${Date.now() - started} ms`);
    assert.equal(existsSync(join(dir, 'big-incoming')) || existsSync(join(dir, 'slow-incoming')), false);
    await waitFor(() => !execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').some((l) => l.includes('dev.allotrope.neo4j.Launcher') && l.includes(dir)), {
      timeoutMs: 10_000,
      what: 'the scratch JVMs to be gone',
    });
  });
});
