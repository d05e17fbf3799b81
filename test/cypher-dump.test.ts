// The Cypher export and loader on Grafeo files in temp directories: a dump loads back into an identical
// database (a second dump is byte-identical), literals keep their types, the statement splitter honours
// strings, names and comments, and unsafe or broken scripts are refused with the statement number.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CypherScriptError, cypherLiteral, dumpCypherToFile, inspectGrafeoFile, loadCypher, quoteName, splitStatements } from '../src/graph-server/engines/grafeo/cypher-dump.js';
import { CypherDate, CypherDuration, CypherLocalTime } from '../src/graph-server/values.js';

const { GrafeoDB } = createRequire(import.meta.url)('@grafeo-db/js') as typeof import('@grafeo-db/js');

async function collect(text: string): Promise<string[]> {
  const out: string[] = [];
  for await (const s of splitStatements(Readable.from([Buffer.from(text)]))) out.push(s);
  return out;
}

describe('cypher dump', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-cypher-dump-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips nodes, relationships, typed properties, indexes and constraints', async () => {
    const source = join(dir, 'source.grafeo');
    const db = GrafeoDB.create(source);
    await db.executeCypher(
      "CREATE (a:P:Q {s: 'it\\'s; a \\\\ test // not a comment', i: 1, f: 1.0, big: 9007199254740993, b: true, l: [1, 2], lf: [0.5], d: date('2024-01-02'), dt: datetime('2024-01-02T03:04:05.5-05:00'), ldt: localdatetime('2024-01-02T03:04:05'), t: time('03:04:05+01:00'), lt: localtime('03:04:05'), dur: duration('P1DT2H')})-[:`ODD TYPE` {w: 2, `key with space`: 'v'}]->(b:`Odd Label` {s: 'y'}), (b)-[:SELF]->(b)",
    );
    await db.executeCypher('CREATE INDEX pidx FOR (n:P) ON (n.s)');
    await db.executeCypher('CREATE CONSTRAINT qs FOR (n:Q) REQUIRE n.s IS UNIQUE');
    db.close();

    const script = join(dir, 'dump.cypher');
    const counts = await dumpCypherToFile(source, script);
    assert.deepEqual(counts, { nodes: 2, relationships: 2, indexes: 1, constraints: 1 });
    const text = await readFile(script, 'utf8');
    assert.match(text, /CREATE CONSTRAINT qs IF NOT EXISTS FOR \(n:Q\) REQUIRE n\.s IS UNIQUE;/);
    assert.match(text, /\{start: 0, end: 1, properties: \{`key with space`: 'v', w: 2\}\}/);
    assert.match(text, /CREATE \(a\)-\[r:`ODD TYPE`\]->\(b\) SET r \+= row\.properties;/);

    const loaded = join(dir, 'loaded');
    const result = await loadCypher(Readable.from([Buffer.from(text)]), loaded);
    assert.equal(result.nodes, 2);
    assert.equal(result.relationships, 2);
    const info = await inspectGrafeoFile(join(loaded, 'graph.grafeo'));
    assert.equal(info.nodes, 2);
    const check = GrafeoDB.openReadOnly(join(loaded, 'graph.grafeo'));
    try {
      const [row] = (await check.executeCypher("MATCH (n:P) RETURN n.s AS s, n.big AS big, labels(n) AS labels")).toArray() as any[];
      assert.equal(row.s, "it's; a \\ test // not a comment");
      assert.equal(row.big, 9007199254740993n);
      assert.deepEqual([...row.labels].sort(), ['P', 'Q']);
      assert.equal((await check.executeCypher('MATCH (n:`UNIQUE IMPORT LABEL`) RETURN count(n) AS c')).toArray()[0].c, 0);
      // The import index is gone; the constraint's label/property got an index (Grafeo constraints have none).
      const indexes = (await check.executeCypher('SHOW INDEXES')).toArray() as any[];
      assert.deepEqual(indexes.map((i) => `${i.label}.${i.property}`).sort(), ['P.s', 'Q.s']);
      assert.deepEqual((await check.executeCypher('SHOW CONSTRAINTS')).rows(), [['qs', 'UNIQUE', 'Q', 's']]);
    } finally {
      check.close();
    }
    const again = join(dir, 'dump-again.cypher');
    await dumpCypherToFile(join(loaded, 'graph.grafeo'), again);
    assert.equal(await readFile(again, 'utf8'), text);
  });

  it('backquotes names the engine takes only quoted, so its own dump loads back', async () => {
    const source = join(dir, 'keywords.grafeo');
    const db = GrafeoDB.create(source);
    await db.executeCypher("CREATE (:`Case` {`in`: 1, `set`: 'x', plain: true})-[:`THEN` {`where`: 2.5}]->(:`match`)");
    db.close();
    const script = join(dir, 'keywords.cypher');
    await dumpCypherToFile(source, script);
    const text = await readFile(script, 'utf8');
    assert.match(text, /`in`: 1/);
    assert.match(text, /plain: true/);
    const loaded = join(dir, 'keywords-loaded');
    const result = await loadCypher(Readable.from([Buffer.from(text)]), loaded);
    assert.deepEqual([result.nodes, result.relationships], [2, 1]);
    const check = GrafeoDB.openReadOnly(join(loaded, 'graph.grafeo'));
    try {
      const rows = (await check.executeCypher('MATCH (a:`Case`)-[r:`THEN`]->(b:`match`) RETURN a.`in` AS i, a.`set` AS s, r.`where` AS w')).toArray();
      assert.deepEqual(rows, [{ i: 1, s: 'x', w: 2.5 }]);
    } finally {
      check.close();
    }
    assert.equal(quoteName('Then'), '`Then`');
    assert.equal(quoteName('Thence'), 'Thence');
  });

  it('dumps every element when ids have large gaps', async () => {
    const source = join(dir, 'sparse.grafeo');
    const db = GrafeoDB.create(source);
    await db.executeCypher('UNWIND range(1, 2500) AS i CREATE (:S {i: i})');
    await db.executeCypher('MATCH (n:S) WHERE n.i > 500 AND n.i <= 2200 DELETE n');
    await db.executeCypher('MATCH (a:S {i: 1}), (b:S {i: 2500}) CREATE (a)-[:FAR]->(b)');
    db.close();
    const counts = await dumpCypherToFile(source, join(dir, 'sparse.cypher'));
    assert.equal(counts.nodes, 800);
    assert.equal(counts.relationships, 1);
    const loaded = await loadCypher(Readable.from([await readFile(join(dir, 'sparse.cypher'))]), join(dir, 'sparse-loaded'));
    assert.deepEqual([loaded.nodes, loaded.relationships], [800, 1]);
  });

  it('writes literals that keep their Cypher type', () => {
    assert.equal(cypherLiteral(1n), '1');
    assert.equal(cypherLiteral(1), '1.0');
    assert.equal(cypherLiteral(-2.5e-10), '-2.5e-10');
    assert.equal(cypherLiteral(Number.NaN), '(0.0/0.0)');
    assert.equal(cypherLiteral("a'b\\c\nd"), "'a\\'b\\\\c\\nd'");
    assert.equal(cypherLiteral(new CypherDate(0n)), "date('1970-01-01')");
    assert.equal(cypherLiteral(new CypherLocalTime(3_600_000_000_000n)), "localtime('01:00:00')");
    assert.equal(cypherLiteral(new CypherDuration(14n, 3n, 3661n, 0n)), "duration('P1Y2M3DT1H1M1S')");
    assert.equal(cypherLiteral([1n, 'x', null]), "[1, 'x', null]");
    assert.equal(quoteName('plain_Name1'), 'plain_Name1');
    assert.equal(quoteName('with space'), '`with space`');
    assert.equal(quoteName('tick`s'), '`tick``s`');
  });

  it('splits statements outside strings, names and comments', async () => {
    assert.deepEqual(await collect("CREATE (:A {s: 'a;b'}); // c; d\nCREATE (:`B;C`);\n/* x; y */ MATCH (n) RETURN n;\n:begin\nCREATE (:D {s: \"q\\\";\"});\n:commit\nMATCH (n\n:Label) RETURN n;\n"), [
      "CREATE (:A {s: 'a;b'})",
      'CREATE (:`B;C`)',
      'MATCH (n) RETURN n',
      ':begin',
      'CREATE (:D {s: "q\\";"})',
      ':commit',
      // As in cypher-shell, a ':' line is a command only at the start of a statement.
      'MATCH (n\n:Label) RETURN n',
    ]);
    await assert.rejects(collect("CREATE (:A {s: 'open"), CypherScriptError);
  });

  it('refuses statements that could reach outside the database and names a failing statement', async () => {
    await assert.rejects(loadCypher(Readable.from(["CREATE (:A);\nLOAD CSV FROM 'file:///etc/passwd' AS l CREATE (:X {l: l});"]), join(dir, 'refused')), /statement 2 is not allowed/);
    await assert.rejects(loadCypher(Readable.from(["CALL dbms.procedures();"]), join(dir, 'refused-call')), /not allowed/);
    await assert.rejects(loadCypher(Readable.from(["MATCH (n) CALL `apoc.x`(n) RETURN n;"]), join(dir, 'refused-quoted')), /not allowed/);
    // The same words inside data are only data.
    const fine = await loadCypher(Readable.from(["CREATE (:Note {text: 'please call me; LOAD CSV later', `call x`: 1});"]), join(dir, 'words'));
    assert.equal(fine.nodes, 1);
    await assert.rejects(loadCypher(Readable.from(['CREATE (:A);\nCREATE (:B;']), join(dir, 'broken')), /statement 2 failed/);
  });
});
