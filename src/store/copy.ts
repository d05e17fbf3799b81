// Moves an install from one store to another (SQLite → PostgreSQL): every table, parents before children,
// in one transaction on the target, row counts checked before it commits.
import { sql, type Kysely } from 'kysely';
import type { Store } from './db.js';

export interface CopyOptions {
  /** Empty a target that already holds rows (default: refuse). */
  force?: boolean;
  /** One line per table as it is copied. */
  progress?: (line: string) => void;
  /** Rows read and written per round trip. */
  batchSize?: number;
}

export interface CopyReport {
  tables: Array<{ table: string; rows: number }>;
}

export class StoreCopyError extends Error {}

const META = 'store_meta';

type AnyDb = Kysely<Record<string, Record<string, unknown>>>;

/** Tables Kysely keeps for itself: the target's own migrations already made its schema. */
const internal = (name: string): boolean => name.startsWith('kysely_');

/** The tables of `store` and, for each, the tables its foreign keys point at. */
async function tablesWithParents(store: Store): Promise<Map<string, Set<string>>> {
  const names = (await store.db.introspection.getTables()).map((t) => t.name).filter((n) => !internal(n));
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  if (store.dialect === 'postgres') {
    const { rows } = await sql<{ child: string; parent: string }>`
      select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
      from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where c.contype = 'f' and n.nspname = current_schema()`.execute(store.db);
    for (const r of rows) parents.get(r.child)?.add(r.parent);
  } else {
    for (const name of names) {
      const { rows } = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(store.db);
      for (const r of rows) parents.get(name)!.add(r.table);
    }
  }
  return parents;
}

/** Parents before children (ties by name, so the order is stable). */
export function foreignKeyOrder(parents: Map<string, Set<string>>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) throw new StoreCopyError(`store copy: foreign keys form a cycle through ${name}`);
    visiting.add(name);
    for (const p of [...(parents.get(name) ?? [])].sort()) if (p !== name && parents.has(p)) visit(p);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  for (const name of [...parents.keys()].sort()) visit(name);
  return order;
}

async function countRows(db: AnyDb, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Copies every row of `from` into `to` (both migrated to the same schema). */
export async function copyStore(from: Store, to: Store, options: CopyOptions = {}): Promise<CopyReport> {
  const progress = options.progress ?? (() => undefined);
  const batchSize = options.batchSize ?? 200;
  const source = from.db as unknown as AnyDb;
  const sourceMeta = await from.db.introspection.getTables();
  const sourceTables = new Set(sourceMeta.map((t) => t.name));
  // Pages are read in one stable order (every column, as the table lists them): without ORDER BY a server may
  // return rows in a different order for each LIMIT/OFFSET page, copying some twice and others never.
  const columnsOf = new Map(sourceMeta.map((t) => [t.name, t.columns.map((c) => c.name)]));
  const order = foreignKeyOrder(await tablesWithParents(to));
  const missing = [...sourceTables].filter((t) => !internal(t) && !order.includes(t));
  if (missing.length > 0) throw new StoreCopyError(`store copy: the target has no table ${missing.join(', ')}; is it older than the source?`);

  return (to.db as unknown as AnyDb).transaction().execute(async (trx) => {
    const filled: string[] = [];
    // store_meta holds what the target's own migrations wrote (breaking markers); the source's rows merge into it.
    for (const table of order) if (table !== META && (await countRows(trx, table)) > 0) filled.push(table);
    if (filled.length > 0) {
      if (!options.force) throw new StoreCopyError(`store copy: the target is not empty (${filled.join(', ')} hold rows); pass --force to replace its contents`);
      for (const table of [...order].reverse()) await trx.deleteFrom(table).execute();
      progress(`emptied the target (${filled.length} tables held rows)`);
    }
    const tables: CopyReport['tables'] = [];
    for (const table of order) {
      if (!sourceTables.has(table)) {
        tables.push({ table, rows: 0 });
        continue;
      }
      const expected = await countRows(source, table);
      for (let offset = 0; offset < expected; offset += batchSize) {
        let page = source.selectFrom(table).selectAll();
        for (const column of columnsOf.get(table) ?? []) page = page.orderBy(column);
        const rows = await page.limit(batchSize).offset(offset).execute();
        if (rows.length === 0) break;
        let insert = trx.insertInto(table).values(rows);
        if (table === META) insert = insert.onConflict((oc) => oc.doNothing());
        await insert.execute();
      }
      const written = await countRows(trx, table);
      if (table === META ? written < expected : written !== expected) throw new StoreCopyError(`store copy: ${table}: ${expected} rows in the source, ${written} written; nothing was committed`);
      tables.push({ table, rows: written });
      progress(`${table}: ${written} rows`);
    }
    return { tables };
  });
}
