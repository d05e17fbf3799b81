#!/usr/bin/env node
// Resolves the Neo4j Community engine from Maven Central into a cache directory outside the repo:
//   node scripts/install-neo4j.mjs [version] [cache-dir]
// version defaults to the one pinned in engines/neo4j/pom.xml; cache-dir defaults to
// $ALLOTROPE_ENGINES_DIR/neo4j/<version>, where that defaults to /var/cache/allotrope/engines for root and to
// ${XDG_CACHE_HOME:-~/.cache}/allotrope/engines otherwise. The result is
//   <cache>/lib/*.jar            every runtime jar plus allotrope-neo4j-launcher.jar
//   <cache>/launcher.jsa         an AppCDS archive of the classes a start loads (skip with --no-cds)
//   <cache>/browser/             Neo4j Browser's static files (org.neo4j.client:neo4j-browser), served by every node
//   <cache>/manifest.json        version, jar count and size, the launcher's main class, JVM flags, browser
// Idempotent: a cache whose manifest matches this version and launcher source is left alone; one made before
// the Browser came along (or with another Browser version) only gets the Browser unpacked into it.
// Neo4j Community is GPLv3: it is resolved here at install time, never shipped with Allotrope.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const engineDir = resolve(dirname(fileURLToPath(import.meta.url)), '../engines/neo4j');
const pom = join(engineDir, 'pom.xml');
const launcherSource = join(engineDir, 'src/main/java/dev/allotrope/neo4j/Launcher.java');
const MAIN_CLASS = 'dev.allotrope.neo4j.Launcher';
/** Flags every launcher JVM gets; the heap size is the caller's choice (-Xms64m -Xmx256m measured). */
const JVM_FLAGS = [
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Xshare:auto',
  // What Neo4j's own start script opens: without java.nio the page cache falls back to slower buffers.
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
];

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

function pinnedBrowserVersion() {
  const match = /<neo4j\.browser\.version>([^<]+)<\/neo4j\.browser\.version>/.exec(readFileSync(pom, 'utf8'));
  if (!match || !/^\d+\.\d+\.\d+$/.test(match[1])) fail(`no <neo4j.browser.version> in ${pom}`);
  return match[1];
}

/** Fails with one clear line when a tool is missing; returns its version output otherwise. */
function requireTool(command, args, what) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) fail(`${command} not found on PATH: ${what}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}: ${what}`);
  return `${result.stdout}${result.stderr}`;
}

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const withCds = !process.argv.includes('--no-cds');
const version = positional[0] ?? pinnedVersion();
if (!/^\d+\.\d+\.\d+$/.test(version)) fail(`not a Neo4j version: ${version}`);
// The same default as `allotrope serve` looks in (src/engines/neo4j-install.ts): root installs where node
// users (their own unprivileged users) can read the jars.
const isRoot = process.getuid?.() === 0;
const enginesDir = process.env.ALLOTROPE_ENGINES_DIR || (isRoot ? '/var/cache/allotrope/engines' : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'allotrope/engines'));
const cache = resolve(positional[1] ?? join(enginesDir, 'neo4j', version));
const lib = join(cache, 'lib');
const manifestPath = join(cache, 'manifest.json');
const browserVersion = pinnedBrowserVersion();
// The hash covers what lib/ is built from: the pom's lines about the Browser are left out, so pinning
// another Browser (or adding it to a cache made before it) re-unpacks the Browser alone.
const pomForLib = readFileSync(pom, 'utf8').split('\n').filter((line) => !/browser/i.test(line)).join('\n');
const sourceHash = createHash('sha256').update(pomForLib).update(readFileSync(launcherSource)).digest('hex').slice(0, 16);

if (existsSync(manifestPath)) {
  let manifest = null;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    // An unreadable manifest is a broken cache: resolve again.
  }
  if (manifest && manifest.version === version && manifest.sourceHash === sourceHash && existsSync(lib) && (!withCds || manifest.cdsArchive)) {
    const sizes = `${manifest.jars} jars, ${(manifest.bytes / 1048576).toFixed(1)} MiB`;
    if (manifest.browser === 'browser' && manifest.browserVersion === browserVersion && existsSync(join(cache, 'browser', 'index.html'))) {
      say(`Neo4j ${version} and Neo4j Browser ${browserVersion} already in ${cache} (${sizes})`);
      process.exit(0);
    }
    requireTool('mvn', ['-v'], 'Maven resolves Neo4j Browser from Maven Central');
    say(`Neo4j ${version} already in ${cache} (${sizes}); adding Neo4j Browser ${browserVersion}`);
    const files = installBrowser();
    writeManifest({ ...manifest, browser: 'browser', browserVersion });
    say(`Neo4j Browser ${browserVersion}: ${files} files in ${join(cache, 'browser')}`);
    process.exit(0);
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
const browserFiles = installBrowser();
const cdsArchive = withCds ? await dumpCdsArchive() : undefined;
writeManifest({ version, sourceHash, mainClass: MAIN_CLASS, classpath: 'lib/*', jvmFlags: JVM_FLAGS, cdsArchive, browser: 'browser', browserVersion, jars: jars.length, bytes });
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${jars.length} jars, ${(bytes / 1048576).toFixed(1)} MiB in ${lib}; Neo4j Browser ${browserVersion} (${browserFiles} files)`);

/** Written whole and renamed into place: graph-servers and `allotrope serve` read it at any time. */
function writeManifest(manifest) {
  writeFileSync(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${manifestPath}.tmp`, manifestPath);
}

/**
 * Unpacks the static files of org.neo4j.client:neo4j-browser (GPLv3, like Neo4j) from Maven Central into
 * <cache>/browser/, replacing what was there. Returns how many files it holds.
 */
function installBrowser() {
  const staging = join(cache, 'browser.partial');
  const markers = join(cache, 'browser.build');
  rmSync(staging, { recursive: true, force: true });
  rmSync(markers, { recursive: true, force: true });
  const unpack = spawnSync(
    'mvn',
    [
      '-q', '-B', '-f', pom,
      // Its marker files go to the build directory: keep them out of the repository too.
      `-Dlauncher.build.dir=${markers}`,
      'dependency:unpack',
      `-Dartifact=org.neo4j.client:neo4j-browser:${browserVersion}:jar`,
      '-Dmdep.unpack.includes=browser/**',
      `-DoutputDirectory=${staging}`,
    ],
    { stdio: 'inherit' },
  );
  rmSync(markers, { recursive: true, force: true });
  if (unpack.status !== 0) fail(`mvn dependency:unpack of neo4j-browser ${browserVersion} exited ${unpack.status ?? unpack.signal}: see its output above`);
  const unpacked = join(staging, 'browser');
  if (!existsSync(join(unpacked, 'index.html'))) fail(`org.neo4j.client:neo4j-browser:${browserVersion} has no browser/index.html`);
  const target = join(cache, 'browser');
  rmSync(target, { recursive: true, force: true });
  renameSync(unpacked, target);
  rmSync(staging, { recursive: true, force: true });
  return readdirSync(target, { recursive: true }).filter((name) => statSync(join(target, name)).isFile()).length;
}

/**
 * Starts the launcher once on a throwaway database with -XX:ArchiveClassesAtExit (Java 17 has no
 * -XX:+AutoCreateSharedArchive), so later starts map the classes a start loads instead of parsing
 * them: about a third less CPU to READY. The archive fits only this JVM build and this lib/;
 * -Xshare:auto ignores it otherwise. Returns its file name, or undefined when it could not be made.
 */
async function dumpCdsArchive() {
  const archive = join(cache, 'launcher.jsa');
  const scratch = mkdtempSync(join(tmpdir(), 'allotrope-neo4j-cds-'));
  rmSync(archive, { force: true });
  say('starting Neo4j twice to write the class-data sharing archive');
  writeFileSync(join(scratch, 'password'), 'cds-archive-run', { mode: 0o600 });
  // The first start creates the store; the second, the one archived, also plans Cypher (the
  // password is set through the system database on every start but the first), so the archive
  // holds the query planner's classes too.
  let code = await runUntilReady(scratch, []);
  if (code === 0) code = await runUntilReady(scratch, [`-XX:ArchiveClassesAtExit=${archive}`]);
  rmSync(scratch, { recursive: true, force: true });
  if (code !== 0 || !existsSync(archive)) {
    say(`no class-data sharing archive (the run exited ${code}); starts will work, only slower`);
    return undefined;
  }
  say(`class-data sharing archive: ${(statSync(archive).size / 1048576).toFixed(1)} MiB`);
  return 'launcher.jsa';
}

/** Starts the launcher on scratch/home and stops it by closing its stdin once it is READY; resolves with its exit status. */
async function runUntilReady(scratch, extraFlags) {
  const child = spawn(
    'java',
    ['-Xmx256m', ...JVM_FLAGS, ...extraFlags, '-cp', join(lib, '*'), MAIN_CLASS,
      '--home', join(scratch, 'home'), '--bolt-port', '0', '--password-file', join(scratch, 'password')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('READY ')) child.stdin.end(); // end of input: clean shutdown (and the archive written)
  });
  return new Promise((done) => child.on('exit', (status) => done(status)));
}
