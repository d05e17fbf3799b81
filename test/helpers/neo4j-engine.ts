// Where the Neo4j engine is installed for the Neo4j-engine tests: ALLOTROPE_ENGINES_DIR, the place `serve` and
// `allotrope engines install` use by default, or the user's cache. `.ci/run` installs it; elsewhere the tests
// skip with the reason, never silently.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultEnginesDir, findNeo4j, type Neo4jInstall } from '../../src/engines/neo4j-install.js';

export type InstalledNeo4j = { install: Neo4jInstall; enginesDir: string } | { install: null; reason: string };

let found: InstalledNeo4j | undefined;

export function installedNeo4j(): InstalledNeo4j {
  if (found) return found;
  const dirs = [...new Set([process.env.ALLOTROPE_ENGINES_DIR, defaultEnginesDir(), join(homedir(), '.cache', 'allotrope', 'engines')].filter((d): d is string => !!d))];
  const reasons: string[] = [];
  for (const dir of dirs) {
    const f = findNeo4j(dir);
    if (f.install) return (found = { install: f.install, enginesDir: dir });
    reasons.push(f.reason);
  }
  return (found = { install: null, reason: `the Neo4j engine is not installed (${reasons.join('; ')}); .ci/run installs it with 'allotrope engines install neo4j'` });
}
