// What a query does, read from its words before the engine runs it (does it write? does it change the
// schema?) and from the engine's write counters after: the summary's query type and statistics, and the
// read-only refusal.
import type * as GrafeoModule from '@grafeo-db/js';
import type { StatKey } from '../../engine-api.js';

/** The query's words outside strings, comments and backticked names, upper-cased. */
function keywords(query: string): string[] {
  const stripped = query
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`/g, ' ');
  return stripped.toUpperCase().match(/[A-Z_][A-Z0-9_]*/g) ?? [];
}

const WRITE_WORDS = new Set(['CREATE', 'MERGE', 'SET', 'DELETE', 'REMOVE', 'DETACH', 'INSERT', 'DROP', 'FOREACH']);
const SCHEMA_OBJECTS = new Set(['INDEX', 'CONSTRAINT']);

export interface Classification {
  writes: boolean;
  schema: { added?: 'indexes-added' | 'constraints-added'; removed?: 'indexes-removed' | 'constraints-removed' } | null;
}

export function classifyQuery(query: string): Classification {
  const words = keywords(query);
  const writes = words.some((w) => WRITE_WORDS.has(w));
  let schema: Classification['schema'] = null;
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i]!;
    if (w !== 'CREATE' && w !== 'DROP') continue;
    // CREATE [RANGE|TEXT|POINT|VECTOR|FULLTEXT|LOOKUP] INDEX / CREATE CONSTRAINT / DROP INDEX ...
    const next = words.slice(i + 1, i + 3).find((x) => SCHEMA_OBJECTS.has(x));
    if (!next) continue;
    const kind = next === 'INDEX' ? 'indexes' : 'constraints';
    schema = w === 'CREATE' ? { added: `${kind}-added` } : { removed: `${kind}-removed` };
    break;
  }
  return { writes, schema };
}

type Counters = GrafeoModule.WriteCounters;

export function statsOf(counters: Counters | undefined, cls: Classification): Partial<Record<StatKey, number>> {
  const stats: Partial<Record<StatKey, number>> = {};
  const put = (k: StatKey, n: number | undefined) => {
    if (n) stats[k] = n;
  };
  if (counters) {
    put('nodes-created', counters.nodesCreated);
    put('nodes-deleted', counters.nodesDeleted);
    put('relationships-created', counters.edgesCreated);
    put('relationships-deleted', counters.edgesDeleted);
    put('properties-set', counters.propertiesSet);
    put('labels-added', counters.labelsAdded);
    put('labels-removed', counters.labelsRemoved);
  }
  if (cls.schema?.added) stats[cls.schema.added] = 1;
  if (cls.schema?.removed) stats[cls.schema.removed] = 1;
  return stats;
}

export function countersWrote(c: Counters | undefined): boolean {
  return !!c && (c.nodesCreated || c.nodesDeleted || c.edgesCreated || c.edgesDeleted || c.propertiesSet || c.labelsAdded || c.labelsRemoved) > 0;
}
