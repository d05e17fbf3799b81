// Where the Neo4j engine is installed and whether it can run here. `allotrope engines install neo4j`
// (scripts/install-neo4j.mjs) resolves Neo4j Community from Maven Central into
// <engines dir>/neo4j/<version>/{lib/*.jar, browser/, manifest.json}; this module finds the newest complete install
// and checks that Java runs. Nothing of Neo4j is shipped with Allotrope (it is GPLv3).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Neo4jInstall {
  /** Neo4j's own version, e.g. 5.26.30. */
  version: string;
  /** The install's directory (lib/ and manifest.json). */
  dir: string;
  /** Java class path of the launcher and every Neo4j jar. */
  classpath: string;
  mainClass: string;
  /** JVM flags the install found right for it (collector, JIT, the --add-opens Neo4j needs on Java 17+). */
  jvmFlags: string[];
  /** A class-data sharing archive made at install time (a third less start-up CPU), if there is one. */
  cdsArchive: string | null;
  /** Neo4j Browser's static files (index.html and its bundles), served by every node under /browser/; null in installs made before it came along. */
  browserDir: string | null;
  /** The java command. */
  java: string;
}

export type Neo4jAvailability = { install: Neo4jInstall } | { install: null; reason: string };

/**
 * ALLOTROPE_ENGINES_DIR, else a cache every node user can read when running as root (nodes run as users
 * of their own then, see runtimes/local/node-user.ts), else the user's cache directory.
 */
export function defaultEnginesDir(env: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): string {
  if (env.ALLOTROPE_ENGINES_DIR) return env.ALLOTROPE_ENGINES_DIR;
  if (isRoot) return '/var/cache/allotrope/engines';
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'allotrope', 'engines');
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The newest complete Neo4j install under `enginesDir` whose Java runs, or why there is none. */
export function findNeo4j(enginesDir: string, java = process.env.ALLOTROPE_JAVA || 'java'): Neo4jAvailability {
  const root = join(enginesDir, 'neo4j');
  const howTo = `run 'allotrope engines install neo4j' (needs Java 17+ and Maven) to enable Neo4j versions`;
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && existsSync(join(root, v, 'manifest.json')));
  } catch {
    return { install: null, reason: `no Neo4j engine installed in ${root}; ${howTo}` };
  }
  versions.sort(compareVersions).reverse();
  for (const version of versions) {
    const dir = join(root, version);
    let manifest: { version?: string; mainClass?: string; classpath?: string; jvmFlags?: unknown; cdsArchive?: unknown; browser?: unknown };
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    } catch {
      continue;
    }
    if (manifest.version !== version || !manifest.mainClass || !existsSync(join(dir, 'lib'))) continue;
    const probe = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.error || probe.status !== 0) {
      return { install: null, reason: `Neo4j ${version} is installed in ${dir} but '${java} -version' does not run (${probe.error?.message ?? `exit ${probe.status}`}); install Java 17 or 21` };
    }
    const major = Number(/version "(\d+)/.exec(`${probe.stderr}${probe.stdout}`)?.[1] ?? 0);
    if (major < 17) return { install: null, reason: `Neo4j ${version} needs Java 17 or 21; '${java}' is Java ${major}` };
    const jvmFlags = Array.isArray(manifest.jvmFlags) ? manifest.jvmFlags.filter((f): f is string => typeof f === 'string' && f.startsWith('-')) : [];
    const cds = typeof manifest.cdsArchive === 'string' && existsSync(join(dir, manifest.cdsArchive)) ? join(dir, manifest.cdsArchive) : null;
    const browser = typeof manifest.browser === 'string' && existsSync(join(dir, manifest.browser, 'index.html')) ? join(dir, manifest.browser) : null;
    return { install: { version, dir, classpath: join(dir, 'lib', '*'), mainClass: manifest.mainClass, jvmFlags, cdsArchive: cds, browserDir: browser, java } };
  }
  return { install: null, reason: `no complete Neo4j engine install in ${root}; ${howTo}` };
}
