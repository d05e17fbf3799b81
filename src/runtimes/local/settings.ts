// The `settings/config` keys the local runtime supports, named as Neo4j 5 names them so that users can
// carry their neo4j.conf habits over. Each key validates its value and says how it reaches the process.
// Every key takes effect on the next (re)start of the node: the control plane sets `needsRestart`.
import type { RuntimeSetting } from '../runtime.js';

export interface LocalRuntimeSetting extends RuntimeSetting {
  /** How a valid value reaches the node's process. */
  apply(value: string): SettingEffect;
}

export interface SettingEffect {
  /** Flags for `allotrope graph-server`. */
  args?: string[];
  /** Options for the node (V8) running the graph-server. */
  nodeOptions?: string[];
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Neo4j-style duration (`500ms`, `30s`, `2m`, `1h`; a bare number is seconds) in ms, or undefined. */
export function parseDurationMs(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Neo4j-style size (`512m`, `1g`, `65536k`; a bare number is bytes) in bytes, or undefined. */
export function parseSizeBytes(value: string): number | undefined {
  const match = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
}

const MIN_HEAP_BYTES = 64 * 1024 ** 2;
const MAX_HEAP_BYTES = 64 * 1024 ** 3;
/** The graph-server's `--query-check-budget-ms` accepts up to this. */
export const MAX_QUERY_CHECK_BUDGET_MS = 60_000;

export const LOCAL_RUNTIME_SETTINGS: readonly LocalRuntimeSetting[] = [
  {
    key: 'server.memory.heap.max_size',
    description: 'Upper bound of the graph-server heap (e.g. 512m, 2g); the engine store is outside it',
    secret: false,
    validate(value) {
      const bytes = parseSizeBytes(value);
      if (bytes === undefined) return `'${value}' is not a size (examples: 512m, 2g)`;
      if (bytes < MIN_HEAP_BYTES) return 'must be at least 64m';
      if (bytes > MAX_HEAP_BYTES) return 'must be at most 64g';
      return undefined;
    },
    apply: (value) => ({ nodeOptions: [`--max-old-space-size=${Math.floor(parseSizeBytes(value)! / 1024 ** 2)}`] }),
  },
  {
    key: 'server.databases.default_to_read_only',
    description: 'Refuse every write on this database (true/false)',
    secret: false,
    validate: (value) => (value === 'true' || value === 'false' ? undefined : `'${value}' must be true or false`),
    apply: (value) => (value === 'true' ? { args: ['--read-only'] } : {}),
  },
  {
    key: 'db.query_check.budget',
    description:
      "How long a new query text may wait for Neo4j's Cypher front-end to check it (e.g. 100ms); past it the engine decides alone; 0 turns the check off",
    secret: false,
    validate(value) {
      const ms = parseDurationMs(value);
      if (ms === undefined) return `'${value}' is not a duration (examples: 100ms, 1s, 0 to turn the check off)`;
      if (ms > MAX_QUERY_CHECK_BUDGET_MS) return 'must be at most 60s';
      return undefined;
    },
    apply: (value) => ({ args: ['--query-check-budget-ms', String(parseDurationMs(value)!)] }),
  },
];

const BY_KEY = new Map(LOCAL_RUNTIME_SETTINGS.map((s) => [s.key, s]));

export function findLocalRuntimeSetting(key: string): LocalRuntimeSetting | undefined {
  return BY_KEY.get(key);
}

/** Every problem with a settings map, as user-facing messages (empty when all is valid). */
export function validateLocalRuntimeSettings(settings: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const setting = BY_KEY.get(key);
    if (!setting) {
      problems.push(`unknown setting '${key}'; supported: ${LOCAL_RUNTIME_SETTINGS.map((s) => s.key).join(', ')}`);
      continue;
    }
    const error = setting.validate(value);
    if (error) problems.push(`setting '${key}': ${error}`);
  }
  return problems;
}
