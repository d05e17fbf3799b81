// Cypher export of a Neo4j store, in the script format of the Grafeo export (cypher-dump.ts), so either
// engine loads it: this is how data moves between engines. The store is a backup copy opened in a scratch
// Neo4j and read through neo4j-driver, so the export is one consistent moment and the live node is untouched.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import neo4j, { type Session } from 'neo4j-driver';
import { cypherLiteral, nodeBatch, quoteName, relationshipBatch, write, writeScriptEnd, writeScriptStart, type DumpCounts } from '../grafeo/cypher-dump.js';
import type { Node, Relationship, ValueMap } from '../../values.js';
import { fromDriver } from './driver-values.js';
import type { Neo4jEngineFiles } from './jvm.js';
import { openScratchNeo4j, type ScratchOptions } from './scratch.js';

const BATCH = 1000;

interface SchemaRow {
  name: string;
  type: string;
  entityType: string;
  labelsOrTypes: string[];
  properties: string[];
  propertyType?: string | null;
  options?: { indexConfig?: ValueMap } | null;
}

async function show(session: Session, query: string): Promise<SchemaRow[]> {
  const result = await session.run(query);
  return result.records.map((r) => r.toObject() as unknown as SchemaRow);
}

/** `(n:Label)` or `()-[n:TYPE]-()`, and the property list `n.a` or `(n.a, n.b)`. */
function target(row: SchemaRow, multiLabel = false): { pattern: string; props: string[] } {
  const names = row.labelsOrTypes.map(quoteName).join(multiLabel ? '|' : ':');
  const pattern = row.entityType === 'RELATIONSHIP' ? `()-[n:${names}]-()` : `(n:${names})`;
  return { pattern, props: row.properties.map((p) => `n.${quoteName(p)}`) };
}

function constraintStatement(row: SchemaRow): string | null {
  if (!row.labelsOrTypes?.length || !row.properties?.length) return null;
  const { pattern, props } = target(row);
  const on = props.length === 1 ? props[0] : `(${props.join(', ')})`;
  const head = `CREATE CONSTRAINT ${quoteName(row.name)} IF NOT EXISTS FOR ${pattern} REQUIRE ${on}`;
  if (row.type.endsWith('UNIQUENESS')) return `${head} IS UNIQUE;`;
  if (row.type.endsWith('EXISTENCE')) return `${head} IS NOT NULL;`;
  if (row.type === 'NODE_KEY') return `${head} IS NODE KEY;`;
  if (row.type === 'RELATIONSHIP_KEY') return `${head} IS RELATIONSHIP KEY;`;
  if (row.type.endsWith('PROPERTY_TYPE') && row.propertyType) return `${head} IS :: ${row.propertyType};`;
  return null;
}

function indexStatement(row: SchemaRow): string | null {
  if (!row.labelsOrTypes?.length || !row.properties?.length) return null;
  const kind = { RANGE: '', TEXT: 'TEXT ', POINT: 'POINT ', FULLTEXT: 'FULLTEXT ', VECTOR: 'VECTOR ' }[row.type];
  if (kind === undefined) return null;
  const { pattern, props } = target(row, row.type === 'FULLTEXT');
  const on = row.type === 'FULLTEXT' ? `ON EACH [${props.join(', ')}]` : `ON (${props.join(', ')})`;
  const config = row.options?.indexConfig ? fromDriver(row.options.indexConfig) as ValueMap : {};
  // RANGE and TEXT indexes have no settings; the others keep theirs (analyzer, dimensions, similarity, bounds).
  const options = row.type !== 'RANGE' && row.type !== 'TEXT' && Object.keys(config).length > 0 ? ` OPTIONS {indexConfig: ${cypherLiteral(config)}}` : '';
  return `CREATE ${kind}INDEX ${quoteName(row.name)} IF NOT EXISTS FOR ${pattern} ${on}${options};`;
}

/** Constraints, then the indexes that no constraint owns (a constraint makes its own); token lookup indexes are left out. */
async function schemaStatements(session: Session): Promise<{ statements: string[]; constraints: number; indexes: number }> {
  const constraints = (await show(session, 'SHOW CONSTRAINTS YIELD *')).map(constraintStatement).filter((s): s is string => s !== null);
  const indexes = (await show(session, 'SHOW INDEXES YIELD * WHERE owningConstraint IS NULL AND type <> "LOOKUP"')).map(indexStatement).filter((s): s is string => s !== null);
  return { statements: [...constraints, ...indexes], constraints: constraints.length, indexes: indexes.length };
}

/**
 * Writes the Cypher script of the Neo4j store in `dataDir` (node layout: `neo4j/data/databases/neo4j` and
 * its transaction logs, e.g. a backup copy) to `out`. Starts a scratch Neo4j on that directory, which it
 * modifies (recovery, a system database): pass a copy.
 */
export async function dumpNeo4jCypher(engine: Neo4jEngineFiles, dataDir: string, out: Writable, options: ScratchOptions = {}): Promise<DumpCounts> {
  const scratch = await openScratchNeo4j(engine, dataDir, options);
  try {
    const session = scratch.driver.session({ database: 'neo4j', defaultAccessMode: neo4j.session.READ, fetchSize: BATCH });
    try {
      const schema = await schemaStatements(session);
      const counts: DumpCounts = { nodes: 0, relationships: 0, indexes: schema.indexes, constraints: schema.constraints };
      await writeScriptStart(out, schema.statements);
      // One streamed read each: the driver pulls the next 1000 records only as the script is written.
      let nodes: Node[] = [];
      for await (const record of session.run('MATCH (n) RETURN n')) {
        nodes.push(fromDriver(record.get('n')) as Node);
        if (nodes.length >= BATCH) {
          await write(out, nodeBatch(nodes));
          counts.nodes += nodes.length;
          nodes = [];
        }
      }
      if (nodes.length > 0) await write(out, nodeBatch(nodes));
      counts.nodes += nodes.length;
      let relationships: Relationship[] = [];
      for await (const record of session.run('MATCH ()-[r]->() RETURN r')) {
        relationships.push(fromDriver(record.get('r')) as Relationship);
        if (relationships.length >= BATCH) {
          await write(out, relationshipBatch(relationships));
          counts.relationships += relationships.length;
          relationships = [];
        }
      }
      if (relationships.length > 0) await write(out, relationshipBatch(relationships));
      counts.relationships += relationships.length;
      await writeScriptEnd(out);
      return counts;
    } finally {
      await session.close();
    }
  } finally {
    // Nothing was written: no need to wait for a checkpoint.
    await scratch.close(10_000);
  }
}

/** `dumpNeo4jCypher` into a new file. */
export async function dumpNeo4jCypherToFile(engine: Neo4jEngineFiles, dataDir: string, target: string, options: ScratchOptions = {}): Promise<DumpCounts> {
  const out = createWriteStream(target, { flags: 'wx', mode: 0o600 });
  try {
    const counts = await dumpNeo4jCypher(engine, dataDir, out, options);
    out.end();
    await once(out, 'finish');
    return counts;
  } catch (err) {
    out.destroy();
    throw err;
  }
}
