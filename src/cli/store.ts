// `allotrope migrate` (apply pending store migrations, or list them with --dry-run) and
// `allotrope store copy` (move an install from one store to another, e.g. SQLite to PostgreSQL).
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { connectStore, migrateStore, openStore, redactStoreUrl, sqliteFileOf, type Store } from '../store/db.js';
import { copyStore, StoreCopyError } from '../store/copy.js';
import { existsSync } from 'node:fs';
import { CliError } from './errors.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

async function withStore<T>(open: () => Promise<Store>, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function registerStoreCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply pending store migrations (serve also does this at start) and report them')
    .option('--config <file>', 'JSON configuration file')
    .option('--dry-run', 'list the pending migrations without applying them')
    .action(async (opts: { config?: string; dryRun?: boolean }) => {
      const config = loadConfig({ configFile: opts.config });
      const where = redactStoreUrl(config.storeUrl);
      await withStore(
        () => connectStore(config.storeUrl),
        async (store) => {
          const report = await migrateStore(store, { dryRun: opts.dryRun });
          if (report.unknown.length > 0) print(`the store has migrations newer than this version (none breaking): ${report.unknown.join(', ')}`);
          if (report.applied.length === 0) {
            print(`${where}: up to date (${report.alreadyApplied.length} migrations applied)`);
            return;
          }
          for (const name of report.applied) print(`${opts.dryRun ? 'pending' : 'applied'} ${name}`);
          print(`${where}: ${report.applied.length} migration(s) ${opts.dryRun ? 'pending (nothing applied: --dry-run)' : 'applied'}`);
        },
      );
    });

  const store = program.command('store').description('work on the state store itself');
  store
    .command('copy')
    .description('copy every row of one store into another (stop the control plane first); the target is migrated, then filled in one transaction')
    .requiredOption('--from <url>', 'source store: sqlite:<path> (or a file path) or postgres://…')
    .requiredOption('--to <url>', 'target store: postgres://… (or sqlite:<path>)')
    .option('--force', 'replace the rows of a target that is not empty')
    .action(async (opts: { from: string; to: string; force?: boolean }) => {
      const file = sqliteFileOf(opts.from);
      if (file !== null && file !== ':memory:' && !existsSync(file)) throw new CliError(`--from: no SQLite store at ${file}`);
      if (opts.from === opts.to) throw new CliError('--from and --to name the same store');
      await withStore(
        () => openStore(opts.from),
        (from) =>
          withStore(
            () => openStore(opts.to),
            async (to) => {
              print(`copying ${redactStoreUrl(opts.from)} to ${redactStoreUrl(opts.to)}`);
              try {
                const report = await copyStore(from, to, { force: opts.force, progress: (line) => print(`  ${line}`) });
                const rows = report.tables.reduce((n, t) => n + t.rows, 0);
                print(`copied ${rows} rows in ${report.tables.length} tables; row counts verified`);
              } catch (err) {
                if (err instanceof StoreCopyError) throw new CliError(err.message);
                throw err;
              }
            },
          ),
      );
    });
}
