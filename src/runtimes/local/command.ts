// How a local node's process is launched. The factory is injectable so that tests (and other packagings,
// e.g. a single-file binary) can run something else; the default runs `allotrope graph-server`.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RuntimeError, type NodeSpec } from '../runtime.js';
import type { NodePaths } from './node-files.js';
import { findLocalRuntimeSetting, MAX_QUERY_CHECK_BUDGET_MS } from './settings.js';

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

/**
 * The control plane's default query-check budget for databases without a `db.query_check.budget`
 * setting: ALLOTROPE_QUERY_CHECK_BUDGET_MS (ms, 0 = off); unset leaves the graph-server's default.
 */
export function queryCheckBudgetFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.ALLOTROPE_QUERY_CHECK_BUDGET_MS?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_QUERY_CHECK_BUDGET_MS) {
    throw new RuntimeError('Invalid', `ALLOTROPE_QUERY_CHECK_BUDGET_MS must be a whole number of milliseconds from 0 to ${MAX_QUERY_CHECK_BUDGET_MS}`);
  }
  return String(Number(raw));
}

export function buildLaunch(spec: NodeSpec, paths: NodePaths, env: NodeJS.ProcessEnv = process.env): NodeLaunch {
  const args = [
    '--data-dir', paths.dataDir,
    '--bolt-port', String(spec.boltPort),
    '--http-port', String(spec.httpPort),
    '--host', spec.host,
    '--users-file', paths.usersFile,
    '--import-dir', paths.importDir,
  ];
  if (spec.advertisedHost) args.push('--advertised-host', spec.advertisedHost);
  const nodeOptions: string[] = [];
  let readOnly = spec.readOnly === true;
  let heapFromSettings = false;
  for (const [key, value] of Object.entries(spec.settings ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const setting = findLocalRuntimeSetting(key);
    if (!setting) throw new RuntimeError('Invalid', `setting '${key}' is not supported by the local runtime`);
    const error = setting.validate(value);
    if (error) throw new RuntimeError('Invalid', `setting '${key}': ${error}`);
    const effect = setting.apply(value);
    if (effect.args?.includes('--read-only')) {
      readOnly = true;
      continue;
    }
    args.push(...(effect.args ?? []));
    if (effect.nodeOptions?.length) heapFromSettings = true;
    nodeOptions.push(...(effect.nodeOptions ?? []));
  }
  if (readOnly) args.push('--read-only');
  const envBudget = queryCheckBudgetFromEnv(env);
  if (envBudget !== undefined && !args.includes('--query-check-budget-ms')) args.push('--query-check-budget-ms', envBudget);
  // The plan's memory bounds the JS heap when no explicit heap setting is given; the engine's own
  // (native) memory is not bounded by this.
  if (!heapFromSettings && spec.memoryMb !== undefined && spec.memoryMb > 0) {
    nodeOptions.push(`--max-old-space-size=${Math.max(64, Math.floor(spec.memoryMb))}`);
  }
  return { spec, paths, args, nodeOptions };
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
export function graphServerFiles(): string[] {
  return [
    fileURLToPath(new URL(`./graph-server-main.${fromTypeScript ? 'ts' : 'js'}`, import.meta.url)),
    createRequire(import.meta.url).resolve('@grafeo-db/js'),
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
