// The GraphEngine over Grafeo: one database file per process, every query in an engine transaction
// (transaction.ts), results converted to the shared `Value` model (result-conversion.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataType } from 'apache-arrow';
import { arrow } from './arrow.js';
import type * as GrafeoModule from '@grafeo-db/js';
import type { Value, ValueMap } from '../../values.js';
import { CypherError, type GraphEngine, type Notification, type QueryOptions, type QueryResult } from '../../engine-api.js';
import { databaseUuid } from '../../database-id.js';
import { DATABASE_FILE, grafeo } from './database-files.js';
import { elementIds, unrewriteElementIds, type ElementIds } from './element-ids.js';
import { ResultConverter } from './result-conversion.js';
import type { ShimContext } from './tool-shims.js';
import { GrafeoTransaction } from './transaction.js';

type GrafeoDB = GrafeoModule.GrafeoDB;
type GrafeoResult = GrafeoModule.QueryResult;

export type QueryCheck = (query: string) => Promise<{ notifications: Notification[] }>;

/** QueryOptions plus the authenticated user, for `SHOW CURRENT USER` (the front ends may pass it). */
export type EngineQueryOptions = QueryOptions & { username?: string };

export interface OpenEngineOptions {
  dataDir: string;
  /** The whole database refuses writes (`--read-only`). */
  readOnly?: boolean;
  /** Called before the engine sees a query; throws a CypherError to refuse it. */
  checkQuery?: QueryCheck;
  /** Answer what tools send on connect (`SHOW DATABASES`, `CALL dbms.components()`, …) without the engine. */
  shims?: Omit<ShimContext, 'readOnly'>;
  /** What to do about a query still running `graceMs` after its timeout failed the client. */
  stuckQuery?: StuckQueryPolicy;
  /** The only directory `LOAD CSV FROM 'file:///…'` may read (Neo4j's import directory); none: file URLs are refused. */
  importDir?: string;
}

/**
 * Grafeo cannot cancel a query, and it runs one query at a time, so a query far past its timeout holds up
 * the whole database. Past `graceMs` the owner is told (the graph-server exits and its supervisor starts it
 * again: committed data is in the WAL, reopening takes milliseconds).
 */
export interface StuckQueryPolicy {
  graceMs: number;
  onStuck(info: { timeoutMs: number; overdueMs: number }): void;
}

export interface EngineCounts {
  nodes: number;
  relationships: number;
}

export class GrafeoEngine implements GraphEngine {
  private closed = false;
  private readonly open = new Set<GrafeoTransaction>();
  private readonly running = new Set<Promise<unknown>>();
  private begun = 0;
  private readonly ids: ElementIds;
  /** @internal */ stuckQuery: StuckQueryPolicy | null = null;
  /** @internal */ importDir: string | null = null;

  constructor(
    private readonly db: GrafeoDB,
    readonly databaseUuid: string,
    readonly path: string,
    private readonly readOnly: boolean,
    readonly checkQuery: QueryCheck | undefined,
    /** @internal */ readonly shims: ShimContext | null = null,
  ) {
    this.ids = elementIds(databaseUuid);
  }

  async run(query: string, params: ValueMap, options: EngineQueryOptions): Promise<QueryResult & { bookmark: string }> {
    const tx = await this.begin(options);
    try {
      const result = await tx.run(query, params);
      const bookmark = await tx.commit();
      return { ...result, bookmark };
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
  }

  async begin(options: EngineQueryOptions): Promise<GrafeoTransaction> {
    this.assertOpen();
    for (const b of options.bookmarks ?? []) this.assertBookmark(b);
    const tx = new GrafeoTransaction(this, this.db.beginTransaction(), { ...options, readOnly: options.readOnly || this.readOnly });
    this.open.add(tx);
    this.begun++;
    return tx;
  }

  /** @internal */ forget(tx: GrafeoTransaction): void {
    this.open.delete(tx);
  }

  /** @internal */ convert(result: GrafeoResult): { fields: string[]; records: Value[][]; approximate: ResultConverter['approximate'] } {
    const converter = new ResultConverter(this.ids);
    const fields = result.columns.map((f) => unrewriteElementIds(f, this.databaseUuid));
    if (fields.length === 0) return { fields, records: [], approximate: converter.approximate };
    const plainRows = result.rows();
    const table = arrow.tableFromIPC(result.toArrowIPC());
    const columns = table.schema.fields.map((f, i) => ({ type: f.type as DataType, vector: table.getChildAt(i) }));
    const records: Value[][] = plainRows.map((row, r) =>
      fields.map((_, c) => {
        const col = columns[c];
        if (!col?.vector) return converter.plain(row[c]);
        return converter.value(col.type, col.vector.get(r), row[c]);
      }),
    );
    return { fields, records, approximate: converter.approximate };
  }

  bookmark(): string {
    return `FB:${this.databaseUuid}:${this.db.currentEpoch()}`;
  }

  /**
   * A bookmark in the shape this server issues (`FB:<database uuid>:<epoch>`); anything else (garbage, a forged
   * shape) is refused as Neo4j refuses a malformed one. A well-formed one is accepted whatever it names: on one
   * instance every committed write is visible already, so there is nothing to wait for. Another database's is
   * what a driver's bookmark manager holds after a connection-URL switch, an epoch ahead of this one what it
   * holds after a restore to an earlier snapshot — refusing either would fail every later query of the
   * application the switch or restore was for.
   */
  private assertBookmark(bookmark: string): void {
    const ok = /^FB:[0-9a-fA-F-]{36}:\d{1,19}$/.test(bookmark);
    if (!ok) {
      const shown = bookmark.length > 100 ? `${bookmark.slice(0, 100)}…` : bookmark;
      throw new CypherError('Neo.ClientError.Transaction.InvalidBookmark', `Supplied bookmark [${shown}] is not a bookmark of this database.`, '08N12');
    }
  }

  counts(): EngineCounts {
    this.assertOpen();
    return { nodes: this.db.nodeCount(), relationships: this.db.edgeCount() };
  }

  checkpoint(): void {
    this.assertOpen();
    this.db.walCheckpoint();
  }

  /** An online full backup into `dir` (created if missing): `backup_full_0000.grafeo` + manifest. */
  async backup(dir: string): Promise<void> {
    this.assertOpen();
    await mkdir(dir, { recursive: true });
    this.db.backupFull(dir);
  }

  get openTransactions(): number {
    return this.open.size;
  }

  /** Transactions begun since the engine opened (every query runs in one): what tells activity from idleness. */
  get transactionsBegun(): number {
    return this.begun;
  }

  /** @internal Engine queries still running, timed-out ones included: close() waits for them. */
  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = () => this.running.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Rolls back what is open, checkpoints the WAL into the file, and closes it. Grafeo cannot stop
   * a running query, so close waits for those up to `graceMs`; committed data is in the WAL either way.
   */
  async close({ graceMs = 10_000 }: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    // A query still running past the grace would hold its transaction's rollback: drop those
    // unfinished (closing the database discards them) instead of waiting.
    for (const tx of [...this.open]) {
      if (tx.busy) tx.abandon();
      else await tx.rollback().catch(() => undefined);
    }
    try {
      this.db.walCheckpoint();
    } finally {
      this.db.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CypherError('Neo.TransientError.General.DatabaseUnavailable', 'The database is shutting down', '08N07');
  }
}

/** Opens (or creates) the database in `dataDir`. One process per database file: a second open fails. */
export async function openGrafeoEngine(options: OpenEngineOptions): Promise<GrafeoEngine> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const uuid = await databaseUuid(options.dataDir);
  const path = join(options.dataDir, DATABASE_FILE);
  const { GrafeoDB } = grafeo();
  let db: GrafeoDB;
  try {
    db = GrafeoDB.create(path);
  } catch (err) {
    throw new Error(`cannot open the database at ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    // Bound the WAL (and so the replay time of a restart) without waiting for a shutdown.
    db.setCheckpointTriggers({ intervalMs: 5 * 60_000, walBytes: 64 * 1024 * 1024 });
  } catch {
    // Only refused for in-memory or read-only databases, which this is not.
  }
  const readOnly = options.readOnly ?? false;
  const shims = options.shims ? { ...options.shims, readOnly } : null;
  const engine = new GrafeoEngine(db, uuid, path, readOnly, options.checkQuery, shims);
  engine.stuckQuery = options.stuckQuery ?? null;
  engine.importDir = options.importDir ?? null;
  return engine;
}
