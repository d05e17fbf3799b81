// Where the Neo4j engine is installed for the tests that need it, or why they are skipped (never silently).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultEnginesDir, findNeo4j } from '../../src/engines/neo4j-install.js';

/** Where the Neo4j engine is installed for tests: ALLOTROPE_ENGINES_DIR, the default place, or the user's cache. */
export function testEnginesDir(): { dir: string } | { skip: string } {
  const candidates = [process.env.ALLOTROPE_ENGINES_DIR, defaultEnginesDir(), join(homedir(), '.cache', 'allotrope', 'engines')].filter((d): d is string => !!d);
  const reasons: string[] = [];
  for (const dir of candidates) {
    const found = findNeo4j(dir);
    if (found.install) return { dir };
    reasons.push(found.reason);
  }
  return { skip: `the Neo4j engine is not installed (${reasons[0]}); .ci/run installs it` };
}
