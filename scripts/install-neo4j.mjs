#!/usr/bin/env node
// Resolves the Neo4j Community engine from Maven Central into a cache directory outside the repo:
//   node scripts/install-neo4j.mjs [version] [cache-dir]
// version defaults to the one pinned in engines/neo4j/pom.xml; cache-dir defaults to
// ${XDG_CACHE_HOME:-~/.cache}/allotrope/engines/neo4j/<version>. The result is
//   <cache>/lib/*.jar            every runtime jar plus allotrope-neo4j-launcher.jar
//   <cache>/manifest.json        version, jar count and size, the launcher's main class
// Idempotent: a cache whose manifest matches this version and launcher source is left alone.
// Neo4j Community is GPLv3: it is resolved here at install time, never shipped with Allotrope.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const engineDir = resolve(dirname(fileURLToPath(import.meta.url)), '../engines/neo4j');
const pom = join(engineDir, 'pom.xml');
const launcherSource = join(engineDir, 'src/main/java/dev/allotrope/neo4j/Launcher.java');
export const MAIN_CLASS = 'dev.allotrope.neo4j.Launcher';

function say(line) {
  console.log(`install-neo4j: ${line}`);
}

function fail(line) {
  console.error(`install-neo4j: ${line}`);
  process.exit(1);
}

function pinnedVersion() {
  const match = /<neo4j\.version>([^<]+)<\/neo4j\.version>/.exec(readFileSync(pom, 'utf8'));
  if (!match) fail(`no <neo4j.version> in ${pom}`);
  return match[1];
}

/** Fails with one clear line when a tool is missing; returns its version output otherwise. */
function requireTool(command, args, what) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) fail(`${command} not found on PATH: ${what}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}: ${what}`);
  return `${result.stdout}${result.stderr}`;
}

const version = process.argv[2] ?? pinnedVersion();
if (!/^\d+\.\d+\.\d+$/.test(version)) fail(`not a Neo4j version: ${version}`);
const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const cache = resolve(process.argv[3] ?? join(cacheRoot, 'allotrope/engines/neo4j', version));
const lib = join(cache, 'lib');
const manifestPath = join(cache, 'manifest.json');
const sourceHash = createHash('sha256').update(readFileSync(pom)).update(readFileSync(launcherSource)).digest('hex').slice(0, 16);

if (existsSync(manifestPath)) {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.version === version && manifest.sourceHash === sourceHash && existsSync(lib)) {
      say(`Neo4j ${version} already in ${cache} (${manifest.jars} jars, ${(manifest.bytes / 1048576).toFixed(1)} MiB)`);
      process.exit(0);
    }
  } catch {
    // An unreadable manifest is a broken cache: resolve again.
  }
}

const javaVersion = requireTool('java', ['-version'], 'Neo4j 5 needs a Java 17 or 21 runtime');
const major = Number(/version "(\d+)/.exec(javaVersion)?.[1] ?? 0);
if (major < 17) fail(`java is version ${major}: Neo4j ${version} needs Java 17 or 21`);
requireTool('mvn', ['-v'], 'Maven resolves the Neo4j jars from Maven Central');

say(`resolving org.neo4j:neo4j:${version} and building the launcher into ${cache}`);
const staging = join(cache, 'lib.partial');
const build = join(cache, 'build');
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const started = Date.now();
const mvn = spawnSync(
  'mvn',
  [
    '-q', '-B', '-f', pom,
    `-Dneo4j.version=${version}`,
    `-Dlauncher.build.dir=${build}`,
    'package',
    'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`,
  ],
  { stdio: 'inherit' },
);
if (mvn.status !== 0) fail(`mvn exited ${mvn.status ?? mvn.signal}: see its output above`);
copyFileSync(join(build, 'allotrope-neo4j-launcher.jar'), join(staging, 'allotrope-neo4j-launcher.jar'));

const jars = readdirSync(staging).filter((name) => name.endsWith('.jar'));
const bytes = jars.reduce((sum, name) => sum + statSync(join(staging, name)).size, 0);
rmSync(lib, { recursive: true, force: true });
renameSync(staging, lib);
rmSync(build, { recursive: true, force: true });
writeFileSync(
  manifestPath,
  `${JSON.stringify({ version, sourceHash, mainClass: MAIN_CLASS, classpath: 'lib/*', jars: jars.length, bytes }, null, 2)}\n`,
);
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${jars.length} jars, ${(bytes / 1048576).toFixed(1)} MiB in ${lib}`);
