// How a local node's process is launched. The factory is injectable so that tests (and other packagings,
// e.g. a single-file binary) can run something else; the default runs `allotrope graph-server`.
import { sharedServiceSocket } from '../../graph-server/query-check/service-client.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RuntimeError, type NodeSpec } from '../runtime.js';
import type { NodePaths } from './node-files.js';
import type { Neo4jInstall } from '../../engines/neo4j-install.js';
import { findLocalRuntimeSetting, type SettingEffect } from './settings.js';

export interface NodeLaunch {
  spec: NodeSpec;
  paths: NodePaths;
  /** `allotrope graph-server` flags for this node (data dir, ports, users file, settings). */
  args: string[];
  /** Options for the Node.js running the graph-server (heap bound). */
  nodeOptions: string[];
}

/** Returns `[executable, ...arguments]`. */
export type CommandFactory = (launch: NodeLaunch) => string[];

/** What the control plane's configuration sets for every node. */
export interface LaunchDefaults {
  /**
   * Query-check budget in ms (0 = off) for databases without a `db.query_check.budget` setting
   * (Config.runtime.queryCheckBudgetMs); null or absent leaves the graph-server's default.
   */
  queryCheckBudgetMs?: number | null;
}

/** The Neo4j engine install nodes of `engine: 'neo4j'` run on (null: none on this machine). */
export interface EngineInstalls {
  neo4j: Neo4jInstall | null;
}

/** What each of the spec's settings does to the launch, in key order; throws on an unknown or invalid one. */
function settingEffects(spec: NodeSpec): SettingEffect[] {
  return Object.entries(spec.settings ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => {
      const setting = findLocalRuntimeSetting(key);
      if (!setting) throw new RuntimeError('Invalid', `setting '${key}' is not supported by the local runtime`);
      const error = setting.validate(value);
      if (error) throw new RuntimeError('Invalid', `setting '${key}': ${error}`);
      return setting.apply(value);
    });
}

export function buildLaunch(spec: NodeSpec, paths: NodePaths, defaults: LaunchDefaults = {}, engines: EngineInstalls = { neo4j: null }): NodeLaunch {
  const args = [
    '--data-dir', paths.dataDir,
    '--bolt-port', String(spec.boltPort),
    '--http-port', String(spec.httpPort),
    '--host', spec.host,
    '--users-file', paths.usersFile,
    '--import-dir', paths.importDir,
  ];
  if (spec.advertisedHost) args.push('--advertised-host', spec.advertisedHost);
  // Neo4j Browser comes with the Neo4j engine install but is served by every node, whatever its engine.
  if (engines.neo4j?.browserDir) args.push('--browser-dir', engines.neo4j.browserDir);
  const nodeOptions: string[] = [];
  if (spec.engine === 'neo4j') return neo4jLaunch(spec, paths, args, engines);
  let readOnly = spec.readOnly === true;
  let heapFromSettings = false;
  for (const effect of settingEffects(spec)) {
    if (effect.args?.includes('--read-only')) {
      readOnly = true;
      continue;
    }
    args.push(...(effect.args ?? []));
    if (effect.nodeOptions?.length) heapFromSettings = true;
    nodeOptions.push(...(effect.nodeOptions ?? []));
  }
  if (readOnly) args.push('--read-only');
  // A node of its own user cannot start the machine's query-check service: the runtime does (launch.ts).
  if (paths.owner) args.push('--query-check-socket', sharedServiceSocket(), '--query-check-service-managed');
  const budget = defaults.queryCheckBudgetMs;
  if (budget !== undefined && budget !== null && !args.includes('--query-check-budget-ms')) args.push('--query-check-budget-ms', String(budget));
  // The plan's memory bounds the JS heap when no explicit heap setting is given; the engine's own
  // (native) memory is not bounded by this.
  if (!heapFromSettings && spec.memoryMb !== undefined && spec.memoryMb > 0) {
    nodeOptions.push(`--max-old-space-size=${Math.max(64, Math.floor(spec.memoryMb))}`);
  }
  return { spec, paths, args, nodeOptions };
}

/**
 * A Neo4j node: the graph-server in front (its own Node heap kept small: it only relays) and the JVM behind
 * it sized from the plan's memory; `server.memory.heap.max_size` sizes the JVM heap instead.
 */
function neo4jLaunch(spec: NodeSpec, paths: NodePaths, args: string[], engines: EngineInstalls): NodeLaunch {
  const install = engines.neo4j;
  if (!install) throw new RuntimeError('Failed', "this database runs on Neo4j, which is not installed on this machine; run 'allotrope engines install neo4j'");
  let memoryMb = spec.memoryMb;
  let readOnly = spec.readOnly === true;
  for (const effect of settingEffects(spec)) {
    if (effect.args?.includes('--read-only')) readOnly = true;
    const heap = effect.nodeOptions?.find((o) => o.startsWith('--max-old-space-size='));
    if (heap) memoryMb = Number(heap.split('=')[1]) * 2;
  }
  args.push('--engine', 'neo4j', '--neo4j-install', install.dir, '--java', install.java);
  if (memoryMb !== undefined && memoryMb > 0) args.push('--memory-mb', String(Math.max(256, Math.floor(memoryMb))));
  if (readOnly) args.push('--read-only');
  return { spec, paths, args, nodeOptions: ['--max-old-space-size=128'] };
}

const fromTypeScript = import.meta.url.endsWith('.ts');

/**
 * Node options that load TypeScript through tsx when the control plane itself runs from .ts. The loader
 * is given by absolute URL because nodes run with their own directory as cwd, where `tsx` is not found.
 */
export const typeScriptLoaderOptions: string[] = fromTypeScript ? ['--import', import.meta.resolve('tsx')] : [];

/**
 * The default: `node [options] graph-server-main graph-server <args>` — the same `graph-server` command
 * as the allotrope CLI, from an entry that loads nothing else (see graph-server-main.ts for the figures).
 */
/** Files a node's process must be able to read to run the default command (checked for nodes of their own user). */
export function graphServerFiles(engines?: EngineInstalls): string[] {
  return [
    fileURLToPath(new URL(`./graph-server-main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url)),
    createRequire(import.meta.url).resolve('@grafeo-db/js'),
    ...(engines?.neo4j ? [`${engines.neo4j.dir}/manifest.json`] : []),
    ...(engines?.neo4j?.browserDir ? [`${engines.neo4j.browserDir}/index.html`] : []),
  ];
}

export const directGraphServerCommand: CommandFactory = ({ args, nodeOptions }) => {
  const main = fileURLToPath(new URL(`./graph-server-main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, ...nodeOptions, ...typeScriptLoaderOptions, main, 'graph-server', ...args];
};

/**
 * `node [options] <allotrope cli main> graph-server <args>`: the compiled dist/src/cli/main.js next to
 * this file, or src/cli/main.ts through tsx when the control plane itself runs from TypeScript.
 */
export const graphServerCommand: CommandFactory = ({ args, nodeOptions }) => {
  const main = fileURLToPath(new URL(`../../cli/main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, ...nodeOptions, ...typeScriptLoaderOptions, main, 'graph-server', ...args];
};
