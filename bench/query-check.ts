// Cost of Neo4j's query checks (src/graph-server/query-check): a new query's check vs a cached
// one, and a movies-like CREATE script against the time budget and against the engine's own
// load time. Also exports the corpus of valid queries used by test/query-check-corpus.test.ts.
import { pathToFileURL } from 'node:url';
import grafeo from '@grafeo-db/js';
import { createQueryChecker } from '../src/graph-server/query-check/index.js';

const { GrafeoDB } = grafeo;

/** A small graph the corpus queries read. */
export const CORPUS_SEED = `CREATE (a:Person {name: 'Alice', age: 30, email: 'alice@example.com', tags: ['a', 'b']}),
  (b:Person {name: 'Bob', age: 25, tags: ['b']}), (c:Person {name: 'Carol', age: 35, tags: []}),
  (m1:Movie {title: 'The Matrix', released: 1999}), (m2:Movie {title: 'Speed', released: 1994}),
  (m3:Movie {title: 'Arrival', released: 2016}),
  (a)-[:KNOWS {since: 2010}]->(b), (b)-[:KNOWS {since: 2015}]->(c),
  (a)-[:ACTED_IN {roles: ['Neo']}]->(m1), (b)-[:ACTED_IN {roles: ['Jack']}]->(m2), (c)-[:DIRECTED]->(m3)`;

/** Parameters the corpus queries use. */
export const CORPUS_PARAMS: Record<string, unknown> = {
  x: 1,
  name: 'Alice',
  list: [1, 2, 3],
  year: 1995,
  id: 8,
  rows: [{ id: 30 }, { id: 31 }],
  ids: [1, 2, 3],
  limit: 2,
  skip: 1,
};

/**
 * Valid Cypher (Neo4j accepts it) that the engine also runs, in order, on CORPUS_SEED with
 * CORPUS_PARAMS: clauses, expressions, functions, procedures (Neo4j's and the engine's own).
 */
export const VALID_QUERIES: readonly string[] = [
  'RETURN 1 AS one',
  'RETURN 1 + 2 * 3 AS n',
  'RETURN 10 / 4 AS d, 10 % 4 AS m',
  'RETURN 2.5 * 2 AS f',
  'RETURN -5 AS neg, abs(-5) AS a',
  'RETURN \'a\' + \'b\' AS s',
  'RETURN \'abc\' STARTS WITH \'a\' AS s, \'abc\' ENDS WITH \'c\' AS e, \'abc\' CONTAINS \'b\' AS c',
  'RETURN \'abc\' =~ \'a.*\' AS r',
  'RETURN true AND false AS a, true OR false AS o, NOT true AS n, true XOR false AS x',
  'RETURN null IS NULL AS a, 1 IS NOT NULL AS b',
  'RETURN 1 < 2 AS lt, 2 <= 2 AS le, 3 > 2 AS gt, 3 >= 4 AS ge, 1 <> 2 AS ne',
  'RETURN [1, 2, 3] AS l',
  'RETURN [1, 2, 3][0] AS first',
  'RETURN [1, 2, 3, 4][1..3] AS slice',
  'RETURN size([1, 2, 3]) AS n',
  'RETURN 2 IN [1, 2, 3] AS found',
  'RETURN [x IN [1, 2, 3] | x * 2] AS doubled',
  'RETURN [x IN [1, 2, 3, 4] WHERE x % 2 = 0] AS evens',
  'RETURN [x IN range(1, 5) WHERE x > 2 | x * x] AS sq',
  'RETURN {a: 1, b: \'two\'} AS m',
  'RETURN {a: 1, b: 2}.a AS a',
  'RETURN keys({a: 1, b: 2}) AS k',
  'RETURN range(0, 10) AS r',
  'RETURN range(0, 10, 2) AS r',
  'RETURN head([1, 2, 3]) AS h, last([1, 2, 3]) AS l, tail([1, 2, 3]) AS t',
  'RETURN reverse([1, 2, 3]) AS r',
  'RETURN toUpper(\'abc\') AS u, toLower(\'ABC\') AS l',
  'RETURN trim(\'  x  \') AS t, ltrim(\'  x\') AS l, rtrim(\'x  \') AS r',
  'RETURN replace(\'hello\', \'l\', \'L\') AS r',
  'RETURN substring(\'hello\', 1, 3) AS s',
  'RETURN left(\'hello\', 2) AS l, right(\'hello\', 2) AS r',
  'RETURN split(\'a,b,c\', \',\') AS parts',
  'RETURN reverse(\'abc\') AS r',
  'RETURN toString(42) AS s',
  'RETURN toInteger(\'42\') AS i, toFloat(\'1.5\') AS f',
  'RETURN toBoolean(\'true\') AS b',
  'RETURN size(\'hello\') AS n',
  'RETURN coalesce(null, \'x\') AS c',
  'RETURN CASE WHEN 1 > 0 THEN \'pos\' ELSE \'neg\' END AS s',
  'RETURN CASE 2 WHEN 1 THEN \'one\' WHEN 2 THEN \'two\' ELSE \'many\' END AS s',
  'RETURN round(2.567) AS r, ceil(2.1) AS c, floor(2.9) AS f',
  'RETURN sqrt(16) AS s',
  'RETURN sign(-3) AS s',
  'RETURN exp(0) AS e, log(1) AS l, log10(100) AS l10',
  'RETURN sin(0) AS s, cos(0) AS c, tan(0) AS t',
  'RETURN pi() AS p, e() AS e',
  'RETURN rand() < 1 AS r',
  'RETURN 2 ^ 3 AS p',
  'RETURN timestamp() > 0 AS t',
  'RETURN date(\'2024-01-15\') AS d',
  'RETURN datetime(\'2024-01-15T10:30:00Z\') AS dt',
  'RETURN localdatetime(\'2024-01-15T10:30:00\') AS ldt',
  'RETURN time(\'10:30:00\') AS t',
  'RETURN localtime(\'10:30:00\') AS t',
  'RETURN duration(\'P1D\') AS d',
  'RETURN date(\'2024-01-15\') + duration(\'P1D\') AS d',
  'RETURN date() IS NOT NULL AS today',
  'RETURN datetime() IS NOT NULL AS now',
  'RETURN $x AS x',
  'RETURN $x + 1 AS y',
  'RETURN $name AS name',
  'RETURN $list AS l',
  'RETURN size($list) AS n',
  'UNWIND [1, 2, 3] AS x RETURN x',
  'UNWIND [1, 2, 3] AS x RETURN sum(x) AS s',
  'UNWIND [1, 2, 3] AS x RETURN avg(x) AS a',
  'UNWIND [1, 2, 3] AS x RETURN min(x) AS mn, max(x) AS mx',
  'UNWIND [1, 2, 3] AS x RETURN collect(x) AS c',
  'UNWIND [1, 1, 2] AS x RETURN count(DISTINCT x) AS c',
  'UNWIND [1, 1, 2] AS x RETURN DISTINCT x',
  'UNWIND [3, 1, 2] AS x RETURN x ORDER BY x',
  'UNWIND [3, 1, 2] AS x RETURN x ORDER BY x DESC',
  'UNWIND [3, 1, 2] AS x RETURN x ORDER BY x SKIP 1 LIMIT 1',
  'UNWIND [1, 2, 3] AS x WITH x WHERE x > 1 RETURN x',
  'UNWIND [1, 2, 3] AS x WITH x * 2 AS y RETURN y',
  'UNWIND [1, 2, 3] AS x WITH collect(x) AS xs RETURN size(xs) AS n',
  'UNWIND $list AS x RETURN x',
  'UNWIND [[1, 2], [3]] AS l UNWIND l AS x RETURN x',
  'UNWIND [1, 2, 3] AS x RETURN stDev(x) AS s',
  'UNWIND [1, 2, 3] AS x RETURN percentileCont(x, 0.5) AS p',
  'UNWIND [1, 2, 3] AS x RETURN percentileDisc(x, 0.5) AS p',
  'UNWIND [\'a\', \'b\'] AS x RETURN x, count(*) AS c',
  'WITH 1 AS a, 2 AS b RETURN a + b AS c',
  'WITH [1, 2, 3] AS l RETURN reduce(acc = 0, x IN l | acc + x) AS total',
  'WITH [1, 2, 3] AS l RETURN all(x IN l WHERE x > 0) AS a, any(x IN l WHERE x > 2) AS b, none(x IN l WHERE x > 5) AS c, single(x IN l WHERE x = 1) AS d',
  'RETURN 1 AS x UNION RETURN 2 AS x',
  'RETURN 1 AS x UNION ALL RETURN 1 AS x',
  'MATCH (n) RETURN count(n) AS c',
  'MATCH (n) RETURN n LIMIT 5',
  'MATCH (n:Person) RETURN n.name AS name',
  'MATCH (n:Person) RETURN n.name AS name ORDER BY name',
  'MATCH (n:Person) WHERE n.age > 26 RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.age >= 25 AND n.age <= 30 RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.name STARTS WITH \'A\' RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.name IN [\'Alice\', \'Bob\'] RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.email IS NOT NULL RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.email IS NULL RETURN n.name AS name',
  'MATCH (n:Person {name: \'Alice\'}) RETURN n.age AS age',
  'MATCH (n:Person {name: $name}) RETURN n.age AS age',
  'MATCH (n:Person) WHERE n.name = $name RETURN n',
  'MATCH (n:Person) RETURN n.name AS name, n.age AS age ORDER BY n.age DESC LIMIT 2',
  'MATCH (n:Person) RETURN avg(n.age) AS avgAge',
  'MATCH (n:Person) RETURN collect(n.name) AS names',
  'MATCH (n:Person) RETURN count(*) AS c',
  'MATCH (n:Person) RETURN labels(n) AS l',
  'MATCH (n:Person) RETURN keys(n) AS k',
  'MATCH (n:Person) RETURN properties(n) AS p',
  'MATCH (n:Person) RETURN elementId(n) IS NOT NULL AS e',
  'MATCH (n:Person) RETURN n.name AS name SKIP 1',
  'MATCH (n:Person) WITH n ORDER BY n.age LIMIT 1 RETURN n.name AS youngest',
  'MATCH (n:Person) WITH n.age AS age, count(*) AS c RETURN age, c',
  'MATCH (n) WHERE n:Person RETURN count(n) AS c',
  'MATCH (a:Person)-[:KNOWS]->(b:Person) RETURN a.name AS a, b.name AS b',
  'MATCH (a:Person)-[r:KNOWS]->(b) RETURN type(r) AS t',
  'MATCH (a:Person)-[r:KNOWS]->(b) RETURN r.since AS since',
  'MATCH (a:Person)-[r]->(b) RETURN type(r) AS t, count(*) AS c',
  'MATCH (a:Person)<-[:KNOWS]-(b) RETURN a.name AS a',
  'MATCH (a:Person)-[:KNOWS]-(b) RETURN a.name AS a, b.name AS b',
  'MATCH (a:Person {name: \'Alice\'})-[:KNOWS]->(b)-[:KNOWS]->(c) RETURN c.name AS c',
  'MATCH (a:Person)-[:KNOWS*1..2]->(b) RETURN DISTINCT b.name AS name',
  'MATCH (a:Person {name: \'Alice\'})-[:KNOWS*]->(b) RETURN count(b) AS c',
  'MATCH (a:Person)-[:ACTED_IN]->(m:Movie) RETURN m.title AS title, collect(a.name) AS cast',
  'MATCH (a:Person)-[:ACTED_IN]->(m:Movie) WHERE m.released < 2000 RETURN a.name AS name',
  'MATCH (a:Person)-[:ACTED_IN|DIRECTED]->(m:Movie) RETURN a.name AS name, m.title AS title',
  'MATCH (m:Movie) RETURN m.title AS title ORDER BY m.released',
  'MATCH (m:Movie) WHERE m.released > $year RETURN m.title AS title',
  'MATCH (a:Person)-[r:ACTED_IN]->(m:Movie) RETURN a.name AS name, r.roles AS roles',
  'MATCH (a:Person) OPTIONAL MATCH (a)-[:ACTED_IN]->(m) RETURN a.name AS name, m.title AS title',
  'MATCH (a:Person) OPTIONAL MATCH (a)-[:ACTED_IN]->(m) RETURN a.name AS name, count(m) AS movies',
  'MATCH (a:Person) WHERE (a)-[:KNOWS]->() RETURN a.name AS name',
  'MATCH (a:Person) WHERE NOT (a)-[:KNOWS]->() RETURN a.name AS name',
  'MATCH (a:Person) WHERE EXISTS { MATCH (a)-[:KNOWS]->() } RETURN a.name AS name',
  'MATCH (a:Person) RETURN a.name AS name, COUNT { (a)-[:KNOWS]->() } AS friends',
  'MATCH (a:Person)-[:KNOWS]->(b) WITH a, count(b) AS c WHERE c > 0 RETURN a.name AS name, c',
  'MATCH (a:Person) WITH a MATCH (a)-[:KNOWS]->(b) RETURN b.name AS name',
  'MATCH (a:Person {name: \'Alice\'}), (b:Person {name: \'Bob\'}) RETURN a.name AS a, b.name AS b',
  'MATCH p = (a:Person)-[:KNOWS]->(b) RETURN length(p) AS l',
  'MATCH p = (a:Person)-[:KNOWS]->(b) RETURN nodes(p) AS n',
  'MATCH p = (a:Person)-[:KNOWS]->(b) RETURN relationships(p) AS r',
  'MATCH p = (a:Person {name: \'Alice\'})-[:KNOWS*1..3]->(b) RETURN length(p) AS l ORDER BY l',
  'MATCH p = shortestPath((a:Person {name: \'Alice\'})-[:KNOWS*..5]->(b:Person {name: \'Carol\'})) RETURN length(p) AS l',
  'MATCH (a:Person)-[r:KNOWS]->(b) RETURN startNode(r).name AS s, endNode(r).name AS e',
  'MATCH (a:Person) RETURN a.name AS name, size([(a)-[:KNOWS]->(b) | b]) AS c',
  'MATCH (a:Person) RETURN [(a)-[:KNOWS]->(b) | b.name] AS friends',
  'MATCH (n:Person) RETURN n.name AS name, CASE WHEN n.age > 28 THEN \'old\' ELSE \'young\' END AS bucket',
  'MATCH (n:Person) RETURN n {.name, .age} AS m',
  'MATCH (n:Person) RETURN n {.*} AS m',
  'MATCH (n:Person) RETURN n {.name, extra: 1} AS m',
  'MATCH (n:Person) WHERE n.name CONTAINS \'o\' RETURN n.name AS name',
  'MATCH (n:Person) WHERE n.name =~ \'.*e\' RETURN n.name AS name',
  'MATCH (n:Person) WHERE toLower(n.name) = \'alice\' RETURN n',
  'MATCH (n:Person) WHERE n.age % 5 = 0 RETURN n.name AS name',
  'MATCH (n:Person) RETURN n.name AS name UNION MATCH (m:Movie) RETURN m.title AS name',
  'MATCH (n:Person) RETURN min(n.age) AS mn, max(n.age) AS mx, sum(n.age) AS s',
  'MATCH (n:Person) WHERE any(t IN n.tags WHERE t = \'a\') RETURN n.name AS name',
  'MATCH (n:Person) UNWIND n.tags AS tag RETURN tag, count(*) AS c',
  'MATCH (n) RETURN DISTINCT labels(n) AS l',
  'MATCH (n:Person) CALL { WITH n RETURN n.age * 2 AS double } RETURN n.name AS name, double',
  'MATCH (n:Person) CALL (n) { RETURN n.age + 1 AS older } RETURN n.name AS name, older',
  'CALL { MATCH (n:Person) RETURN count(n) AS c } RETURN c',
  'CALL () { MATCH (m:Movie) RETURN m.title AS t } RETURN t',
  'CALL db.labels() YIELD label RETURN label',
  'CALL db.labels() YIELD label RETURN label ORDER BY label',
  'CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType',
  'CALL db.propertyKeys() YIELD propertyKey RETURN propertyKey',
  'CALL db.labels()',
  'CALL db.relationshipTypes()',
  'CALL db.propertyKeys()',
  'CALL grafeo.procedures() YIELD name RETURN name',
  'CALL grafeo.labels() YIELD label RETURN label',
  'CALL grafeo.relationshipTypes() YIELD relationshipType RETURN relationshipType',
  'CALL grafeo.propertyKeys() YIELD propertyKey RETURN propertyKey',
  'CALL grafeo.pagerank() YIELD node_id, score RETURN count(*) AS c',
  'CALL grafeo.connected_components() YIELD node_id, component_id RETURN count(DISTINCT component_id) AS c',
  'CALL grafeo.degree_centrality() YIELD node_id RETURN count(node_id) AS c',
  'CALL grafeo.louvain() YIELD node_id, community_id RETURN count(*) AS c',
  'CALL grafeo.label_propagation() YIELD node_id, community_id RETURN count(*) AS c',
  'CALL grafeo.strongly_connected_components() YIELD node_id, component_id RETURN count(*) AS c',
  'CALL grafeo.betweenness_centrality() YIELD node_id, centrality RETURN count(*) AS c',
  'CALL grafeo.closeness_centrality() YIELD node_id, centrality RETURN count(*) AS c',
  'CALL grafeo.kcore() YIELD node_id, core_number RETURN count(*) AS c',
  'CALL grafeo.articulation_points() YIELD node_id RETURN count(*) AS c',
  'CALL grafeo.bridges() YIELD source, target RETURN count(*) AS c',
  'CALL grafeo.clustering_coefficient() YIELD node_id RETURN count(*) AS c',
  'CREATE (n:Tmp {id: 1})',
  'CREATE (n:Tmp {id: 2}) RETURN n.id AS id',
  'CREATE (n:Tmp:Extra {id: 3, name: \'three\'})',
  'CREATE (a:Tmp {id: 4})-[:LINK {w: 1}]->(b:Tmp {id: 5})',
  'CREATE (n:Tmp {id: $id, name: $name})',
  'UNWIND range(10, 20) AS i CREATE (:Tmp {id: i})',
  'UNWIND $rows AS row CREATE (n:Tmp) SET n = row',
  'UNWIND $rows AS row CREATE (n:Tmp) SET n += row',
  'MATCH (a:Tmp {id: 1}), (b:Tmp {id: 2}) CREATE (a)-[:LINK]->(b)',
  'MATCH (a:Tmp {id: 1}), (b:Tmp {id: 2}) CREATE (a)-[r:LINK {w: 2}]->(b) RETURN r.w AS w',
  'MATCH (a:Tmp {id: 10}) CREATE (a)-[:LINK]->(:Tmp {id: 100})',
  'MERGE (n:Tmp {id: 1}) RETURN n.id AS id',
  'MERGE (n:Tmp {id: 999}) ON CREATE SET n.created = true RETURN n.created AS c',
  'MERGE (n:Tmp {id: 999}) ON MATCH SET n.seen = true RETURN n.seen AS s',
  'MERGE (n:Tmp {id: 998}) ON CREATE SET n.c = 1 ON MATCH SET n.m = 1',
  'MERGE (n:Tmp {id: $id})',
  'MATCH (a:Tmp {id: 1}), (b:Tmp {id: 3}) MERGE (a)-[:LINK]->(b)',
  'MATCH (a:Tmp {id: 1}) MERGE (a)-[:OWNS]->(c:Thing {name: \'x\'}) RETURN c.name AS n',
  'MATCH (n:Tmp {id: 1}) SET n.name = \'one\'',
  'MATCH (n:Tmp {id: 1}) SET n.name = \'one\', n.updated = true RETURN n.name AS name',
  'MATCH (n:Tmp {id: 1}) SET n += {a: 1, b: 2}',
  'MATCH (n:Tmp {id: 2}) SET n = {id: 2, fresh: true}',
  'MATCH (n:Tmp {id: 1}) SET n:Marked',
  'MATCH (n:Tmp {id: 1}) SET n:Marked:Again',
  'MATCH (n:Tmp {id: 1}) REMOVE n:Again',
  'MATCH (n:Tmp {id: 1}) REMOVE n.b',
  'MATCH (n:Tmp {id: 1}) SET n.b = null',
  'MATCH (n:Tmp {id: 1}) SET n.counter = coalesce(n.counter, 0) + 1 RETURN n.counter AS c',
  'MATCH (n:Tmp) WHERE n.id > 15 SET n.big = true RETURN count(n) AS c',
  'MATCH (a:Tmp)-[r:LINK]->(b:Tmp) SET r.seen = true',
  'MATCH (n:Tmp {id: 11}) DELETE n',
  'MATCH (n:Tmp {id: 4}) DETACH DELETE n',
  'MATCH (n:Tmp {id: 12}) DETACH DELETE n RETURN count(*) AS c',
  'MATCH (:Tmp {id: 1})-[r:LINK]->(:Tmp {id: 3}) DELETE r',
  'MATCH (n:Tmp) WHERE n.id >= 18 DETACH DELETE n',
  'MATCH (n:Thing) DETACH DELETE n',
  'CREATE (a:Tmp {id: 50}) WITH a MATCH (b:Tmp {id: 2}) CREATE (a)-[:LINK]->(b) RETURN a.id AS id',
  'UNWIND [1, 2] AS i MERGE (n:Tmp {id: i + 200}) RETURN count(n) AS c',
  'MATCH (n:Tmp) WITH n LIMIT 2 SET n.limited = true',
  'MATCH (n:Tmp) WHERE n.id IN $ids RETURN count(n) AS c',
  'FOREACH (i IN [1, 2, 3] | CREATE (:Tmp {id: i + 300}))',
  'MATCH (n:Tmp {id: 301}) FOREACH (x IN [1, 2] | SET n.touched = x)',
  'CREATE INDEX tmp_id IF NOT EXISTS FOR (n:Tmp) ON (n.id)',
  'CREATE INDEX person_name IF NOT EXISTS FOR (n:Person) ON (n.name)',
  'CREATE CONSTRAINT movie_title IF NOT EXISTS FOR (m:Movie) REQUIRE m.title IS UNIQUE',
  'SHOW INDEXES',
  'SHOW CONSTRAINTS',
  'EXPLAIN MATCH (n:Person) RETURN n',
  'PROFILE MATCH (n:Person) RETURN n.name AS name',
  'MATCH (n:Person) RETURN n.name AS name ORDER BY n.name ASC',
  'MATCH (n:Person) RETURN n.name AS `full name`',
  'MATCH (`my node`:Person) RETURN `my node`.name AS name',
  'RETURN "double" AS s',
  'RETURN \'line\\nbreak\' AS s',
  'RETURN 0x1F AS hex',
  'RETURN 1e3 AS sci',
  'RETURN 9223372036854775807 AS big',
  'RETURN -9223372036854775808 AS small',
  'RETURN 1.5e-3 AS f',
  'RETURN [] AS empty, {} AS emptyMap',
  'RETURN [1, \'a\', null, true] AS mixed',
  'RETURN null AS n',
  'RETURN count(*) AS c',
  'RETURN size(range(1, 100)) AS n',
  'RETURN [1, 2] + [3] AS l',
  'RETURN [1, 2] + 3 AS l',
  'RETURN toString(1.5) AS s',
  'RETURN toInteger(2.7) AS i',
  'RETURN 7 / 2 AS i, 7.0 / 2 AS f',
  'RETURN nullIf(1, 1) AS n',
  'RETURN date(\'2024-03-01\') < date(\'2024-04-01\') AS lt',
  'RETURN toLower(\'A\') + toUpper(\'b\') AS s',
  'MATCH (n:Person) RETURN n.name AS name LIMIT $limit',
  'MATCH (n:Person) RETURN n.name AS name SKIP $skip LIMIT $limit',
  '// a comment line\nRETURN 1 AS one',
  'MATCH (n:Person) // trailing comment\nRETURN n.name AS name',
  '/* block comment */ RETURN 1 AS one',
  'MATCH (n:Person)\nWHERE n.age > 20\nRETURN n.name AS name\nORDER BY name',
  'MATCH (a:Person)-[:KNOWS]->(b:Person)\n  WHERE a.age > 20\nWITH a, collect(b.name) AS friends\nRETURN a.name AS name, friends\nORDER BY name',
];

/** A generated movies-like script (38 movies, 133 people, ~200 relationships) in one statement. */
export function moviesScript(): string {
  const lines: string[] = [];
  const movies = 38;
  const people = 133;
  let person = 0;
  for (let m = 0; m < movies; m++) {
    lines.push(`CREATE (m${m}:Movie {title: 'Movie number ${m}', released: ${1975 + (m % 45)}, tagline: 'The tagline of movie ${m}, long enough'})`);
    const perMovie = m < people % movies ? Math.ceil(people / movies) : Math.floor(people / movies);
    const cast: number[] = [];
    const created: string[] = [];
    for (let i = 0; i < perMovie && person < people; i++, person++) {
      created.push(`(p${person}:Person {name: 'Person Name ${person}', born: ${1930 + (person % 70)}})`);
      cast.push(person);
    }
    lines.push(`CREATE ${created.join(',\n  ')}`);
    const rels = cast.map((p, i) => (i === 0 ? `(p${p})-[:DIRECTED]->(m${m})` : `(p${p})-[:ACTED_IN {roles: ['Role ${p}']}]->(m${m})`));
    if (m > 0) rels.push(`(p${(m * 5) % person})-[:PRODUCED]->(m${m})`, `(p${(m * 3) % person})-[:ACTED_IN {roles: ['Cameo']}]->(m${m})`);
    lines.push(`CREATE\n  ${rels.join(',\n  ')}`);
  }
  return lines.join('\n');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  // 1. New queries: the whole check, with a budget large enough never to cut it short.
  const rssBefore = process.memoryUsage().rss;
  const full = createQueryChecker({ budgetMs: 60_000 });
  const warmStarted = performance.now();
  await full.ready();
  const mode = import.meta.url.endsWith('.ts') ? 'under tsx' : 'compiled';
  console.log(`worker start and warm-up (${mode}): ${fmt(performance.now() - warmStarted)}; process RSS +${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
  const firsts: number[] = [];
  for (const q of VALID_QUERIES) {
    const t = performance.now();
    await full.check(q);
    firsts.push(performance.now() - t);
  }
  firsts.sort((a, b) => a - b);
  console.log(
    `new query (${firsts.length} corpus queries): p50 ${fmt(percentile(firsts, 50))}, p90 ${fmt(percentile(firsts, 90))}, max ${fmt(firsts[firsts.length - 1]!)}`,
  );
  const overDefault = firsts.filter((ms) => ms > 100).length;
  console.log(`new queries over the default 100 ms budget: ${overDefault} of ${firsts.length}`);

  // 2. Cached: the same texts again, many times.
  const rounds = 50;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const q of VALID_QUERIES) await full.check(q);
  const cachedMs = (performance.now() - t0) / (rounds * VALID_QUERIES.length);
  console.log(`cached query: ${fmt(cachedMs)} per check`);
  await full.close();

  // 3. A movies-like script: the engine's load time with the check off and on (default settings).
  const script = moviesScript();
  console.log(`movies-like script: ${script.length} chars, ${(script.match(/\bCREATE\b/g) ?? []).length} CREATE clauses`);
  const loadOnce = async (check?: (q: string) => Promise<unknown>): Promise<number> => {
    const db = GrafeoDB.create();
    const t = performance.now();
    if (check) await check(script);
    await db.executeCypher(script);
    const ms = performance.now() - t;
    db.close();
    return ms;
  };
  const off: number[] = [];
  const on: number[] = [];
  const checker = createQueryChecker({});
  await checker.ready();
  // Alternate which goes first, so neither side always pays for a cold start.
  for (let i = 0; i < 10; i++) {
    if (i % 2 === 0) {
      off.push(await loadOnce());
      on.push(await loadOnce((q) => checker.check(q)));
    } else {
      on.push(await loadOnce((q) => checker.check(q)));
      off.push(await loadOnce());
    }
  }
  off.sort((a, b) => a - b);
  on.sort((a, b) => a - b);
  const offMs = percentile(off, 50);
  const onMs = percentile(on, 50);
  console.log(`movies load, check off: ${fmt(offMs)}; check on (default budget 100 ms): ${fmt(onMs)}; speed on ÷ off ${(offMs / onMs).toFixed(2)}`);
  console.log(`checker stats after the loads: ${JSON.stringify(checker.stats())}`);
  await checker.close();

  // 4. What the whole check of that script costs when nothing cuts it short.
  const unbounded = createQueryChecker({ budgetMs: 120_000, maxWaitChars: Infinity, maxCheckChars: Infinity, maxCheckMs: 120_000 });
  await unbounded.ready();
  const t1 = performance.now();
  await unbounded.check(script);
  console.log(`movies-like script, full check: ${fmt(performance.now() - t1)} (budget 100 ms; the engine loads it in ${fmt(offMs)})`);
  await unbounded.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
