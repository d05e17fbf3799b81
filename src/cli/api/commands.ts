// The API commands of `allotrope` (login, databases, snapshots, backups, export/import, operations,
// environments, network rules, API clients, database users, the catalog), built on the SDK. Every command
// takes --context and -o table|json|yaml; every one that starts an operation takes --wait.
import { createWriteStream, openAsBlob } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AllotropeError, type Allotrope, type ApiClient, type Database, type Environment, type NetworkRule, type Operation, type Snapshot } from '../../sdk/index.js';
import { CliError } from '../errors.js';
import { registerConnectCommand } from './connect.js';
import { clientFor, configPath, readCliConfig, resolveContext, writeCliConfig } from './context.js';
import { parseOutputFormat, printer, type Column, type Printer } from './output.js';
import { waitWithProgress } from './progress.js';

export interface Run {
  sdk: Allotrope;
  out: Printer;
  opts: Record<string, any>;
}

/** Adds the options every API command takes. */
function apiOptions(cmd: Command): Command {
  return cmd
    .option('--context <name>', 'saved login context to use (default: the current one, or the ALLOTROPE_* variables)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'));
}

function waitOptions(cmd: Command): Command {
  return cmd.option('--wait', 'wait until the operation ends, showing its steps; exit 1 if it fails').option('--timeout <seconds>', 'give up waiting after this many seconds', positiveInt, 1800);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a positive whole number');
  return Number(value);
}

/** Wraps an action: resolves the context, builds the SDK and the printer, maps API errors to one line. */
function run(fn: (r: Run, ...args: string[]) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = command.opts();
    const positional = args.slice(0, -2) as string[];
    const sdk = clientFor(resolveContext(opts.context));
    try {
      await fn({ sdk, out: printer(parseOutputFormat(opts.output ?? 'table')), opts }, ...positional);
    } catch (err) {
      if (err instanceof AllotropeError) throw new CliError(`${err.error} (HTTP ${err.status})`, 1);
      if (err instanceof TypeError && /fetch failed/.test(err.message)) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(`cannot reach ${sdk.url}: ${cause?.code ?? cause?.message ?? err.message}`, 1);
      }
      throw err;
    }
  };
}

const HEX_ID = /^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A database by id, or by name when the name is unique among the caller's databases. */
export async function resolveDatabase(sdk: Allotrope, ref: string): Promise<Database> {
  if (HEX_ID.test(ref)) return sdk.databases.get(ref);
  const matches = (await sdk.databases.list({ limit: 1000 })).filter((d) => d.name === ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError(`no database named '${ref}' (give its name or id; see allotrope databases list)`);
  throw new CliError(`${matches.length} databases are named '${ref}': give the id (${matches.map((d) => d.id).join(', ')})`);
}

async function databaseId(sdk: Allotrope, ref: string): Promise<string> {
  return HEX_ID.test(ref) ? ref : (await resolveDatabase(sdk, ref)).id;
}

/** An environment by id or label; the only one when omitted. */
async function resolveEnvironment(sdk: Allotrope, ref: string | undefined): Promise<Environment> {
  const all = await sdk.environments.list({ limit: 1000 });
  if (!ref) {
    if (all.length === 1) return all[0]!;
    throw new CliError(`--environment is required: you can use ${all.map((e) => `${e.label} (${e.id})`).join(', ') || 'no environment'}`);
  }
  const found = all.find((e) => e.id === ref.replaceAll('-', '').toLowerCase()) ?? all.filter((e) => e.label === ref);
  if (!Array.isArray(found)) return found;
  if (found.length === 1) return found[0]!;
  throw new CliError(found.length === 0 ? `no environment '${ref}' (see allotrope environments list)` : `${found.length} environments are labelled '${ref}': give the id`);
}

const DATABASE_COLUMNS: Column<Database>[] = [
  ['ID', (d) => d.id],
  ['NAME', (d) => d.name],
  ['STATE', (d) => d.status.state + (d.status.isPending ? '*' : '')],
  ['PLAN', (d) => d.plan],
  ['VERSION', (d) => `${d.version.number} ${d.version.engine}`],
  ['ENVIRONMENT', (d) => d.environmentId],
  ['BOLT', (d) => d.connectionUrls.bolt],
];
const OPERATION_COLUMNS: Column<Operation>[] = [
  ['ID', (o) => o.id],
  ['TYPE', (o) => o.operationType],
  ['STATUS', (o) => o.status],
  ['STARTED', (o) => new Date(Number(o.startedAt) * 1000).toISOString()],
  ['SECONDS', (o) => o.durationInSeconds],
  ['ERROR', (o) => o.error ?? ''],
];
const SNAPSHOT_COLUMNS: Column<Snapshot>[] = [
  ['ID', (s) => s.id],
  ['KIND', (s) => s.kind],
  ['STATUS', (s) => s.status],
  ['LABEL', (s) => s.label ?? ''],
  ['BYTES', (s) => s.sizeBytes ?? ''],
  ['CREATED', (s) => s.createdAt],
];
const ENVIRONMENT_COLUMNS: Column<Environment>[] = [
  ['ID', (e) => e.id],
  ['LABEL', (e) => e.label],
  ['TYPE', (e) => e.type],
  ['COLOR', (e) => e.color],
  ['REGION', (e) => e.region],
  ['RULES', (e) => e.networkRules.length],
];
const RULE_COLUMNS: Column<NetworkRule>[] = [
  ['ID', (r) => r.id],
  ['LABEL', (r) => r.label],
  ['IP RANGE', (r) => r.ipRange],
  ['CREATED', (r) => r.createdAt],
];
const CLIENT_COLUMNS: Column<ApiClient>[] = [
  ['ID', (c) => c.id],
  ['NAME', (c) => c.name],
  ['CLIENT ID', (c) => c.clientId],
  ['ROLE', (c) => c.role],
  ['ENVIRONMENTS', (c) => c.environmentIds],
  ['LAST USED', (c) => c.lastUsedAt ?? ''],
];

/** Prints an accepted operation, or waits for it (--wait) and prints how it ended. */
async function started(r: Run, dbId: string, accepted: { operationId: string } & Record<string, unknown>): Promise<Operation | null> {
  if (!r.opts.wait) {
    r.out.item(accepted);
    r.out.note(`follow it with: allotrope operations wait ${dbId} ${accepted.operationId}`);
    return null;
  }
  const op = await waitWithProgress(r.sdk, dbId, accepted.operationId, { timeout: r.opts.timeout });
  return op;
}

async function startedAndPrinted(r: Run, dbId: string, accepted: { operationId: string } & Record<string, unknown>): Promise<void> {
  const op = await started(r, dbId, accepted);
  if (op) r.out.item(op);
}

function readSecretFromStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', () => resolve(text.trim()));
    process.stdin.on('error', reject);
  });
}

export function registerApiCommands(program: Command): void {
  // ---- login and contexts ----
  program
    .command('login')
    .description('check API client credentials against a server and save them as a named context (0600 in $XDG_CONFIG_HOME/allotrope)')
    .requiredOption('--url <url>', 'base URL of the management API, e.g. https://allotrope.example.com')
    .requiredOption('--client-id <id>', 'API client id')
    .option('--client-secret <secret>', 'API client secret (default: ALLOTROPE_CLIENT_SECRET, else read from stdin)')
    .option('--context <name>', 'name of the context', 'default')
    .action(async (opts: { url: string; clientId: string; clientSecret?: string; context: string }) => {
      const clientSecret = opts.clientSecret || process.env.ALLOTROPE_CLIENT_SECRET || (process.stdin.isTTY ? '' : await readSecretFromStdin());
      if (!clientSecret) throw new CliError('--client-secret: give the secret, set ALLOTROPE_CLIENT_SECRET, or pipe it on stdin', 2);
      let url: URL;
      try {
        url = new URL(opts.url);
      } catch {
        throw new CliError(`--url: '${opts.url}' is not a URL`, 2);
      }
      const ctx = { url: url.toString().replace(/\/+$/, ''), clientId: opts.clientId, clientSecret };
      try {
        await clientFor(ctx).fetchToken();
      } catch (err) {
        if (err instanceof AllotropeError) throw new CliError(`login failed: ${err.error} (HTTP ${err.status})`);
        throw new CliError(`login failed: cannot reach ${ctx.url}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
      }
      const config = readCliConfig();
      config.contexts[opts.context] = ctx;
      config.current = opts.context;
      const file = writeCliConfig(config);
      process.stdout.write(`logged in to ${ctx.url} as ${ctx.clientId}; context '${opts.context}' saved in ${file}\n`);
    });

  const contexts = program.command('contexts').description('saved login contexts');
  contexts
    .command('list')
    .description('list saved contexts (the current one marked *)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (opts: { output: string }) => {
      const config = readCliConfig();
      const rows = Object.entries(config.contexts).map(([name, c]) => ({ name, current: name === config.current, url: c.url, clientId: c.clientId }));
      printer(parseOutputFormat(opts.output)).list(rows, [['', (x) => (x.current ? '*' : '')], ['NAME', (x) => x.name], ['URL', (x) => x.url], ['CLIENT ID', (x) => x.clientId]]);
    });
  contexts
    .command('use <name>')
    .description('make a saved context the current one')
    .action(async (name: string) => {
      const config = readCliConfig();
      if (!config.contexts[name]) throw new CliError(`no context '${name}' in ${configPath()}`);
      config.current = name;
      writeCliConfig(config);
      process.stdout.write(`current context: ${name}\n`);
    });
  contexts
    .command('delete <name>')
    .description('forget a saved context and its secret')
    .action(async (name: string) => {
      const config = readCliConfig();
      if (!config.contexts[name]) throw new CliError(`no context '${name}' in ${configPath()}`);
      delete config.contexts[name];
      if (config.current === name) config.current = null;
      writeCliConfig(config);
    });

  // ---- catalog ----
  apiOptions(program.command('versions').description('database versions the server can run')).action(
    run(async (r) => r.out.list(await r.sdk.catalog.versions(), [['ID', (v) => v.id], ['NUMBER', (v) => v.number], ['ENGINE', (v) => v.engine], ['EDITION', (v) => v.edition], ['DEFAULT', (v) => (v.default ? 'yes' : '')]])),
  );
  apiOptions(program.command('plans').description('plans: sizes, prices and features')).action(
    run(async (r) =>
      r.out.list(await r.sdk.catalog.plans(), [['ID', (p) => p.id], ['TIER', (p) => p.tier], ['MEMORY MB', (p) => p.memoryMb], ['STORAGE GB', (p) => p.storageGb], ['CPUS', (p) => p.cpus], ['PRICE/H', (p) => `${p.pricePerHour} ${p.currency}`], ['SNAPSHOTS', (p) => (p.features.snapshots ? 'yes' : '')]]),
    ),
  );
  apiOptions(program.command('regions').description('regions databases can be placed in')).action(
    run(async (r) => r.out.list(await r.sdk.catalog.regions(), [['ID', (x) => x.id], ['NAME', (x) => x.name], ['RUNTIME', (x) => x.runtime], ['DEFAULT', (x) => (x.default ? 'yes' : '')]])),
  );

  // ---- databases ----
  const db = program.command('databases').alias('db').description('create, change and remove databases');
  apiOptions(db.command('list').description('list databases').option('--environment <id|label>', 'only this environment').option('--state <state>', 'only this state (terminated ones only when asked)')).action(
    run(async (r) => {
      const environmentId = r.opts.environment ? (await resolveEnvironment(r.sdk, r.opts.environment)).id : undefined;
      r.out.list(await r.sdk.databases.list({ limit: 1000, environmentId, state: r.opts.state }), DATABASE_COLUMNS);
    }),
  );
  apiOptions(db.command('get <database>').description('show a database (by id or unique name)')).action(run(async (r, ref) => r.out.item(await resolveDatabase(r.sdk, ref!))));
  waitOptions(
    apiOptions(
      db
        .command('create')
        .description('create a database; the password is shown only once')
        .requiredOption('--name <name>', 'database name')
        .option('--plan <plan>', 'plan id (see allotrope plans)', 'ds1')
        .option('--environment <id|label>', 'environment (default: the only one you can use)')
        .option('--db-version <version>', 'version id or number (see allotrope versions; default: the default version)')
        .option('--from-snapshot <snapshotId>', 'seed it with a ready snapshot'),
    ),
  ).action(
    run(async (r) => {
      const env = await resolveEnvironment(r.sdk, r.opts.environment);
      const created = await r.sdk.databases.create({
        environmentId: env.id,
        name: r.opts.name,
        plan: r.opts.plan,
        ...(r.opts.dbVersion ? { version: r.opts.dbVersion } : {}),
        ...(r.opts.fromSnapshot ? { fromSnapshotId: r.opts.fromSnapshot } : {}),
      });
      let database = created.database;
      if (r.opts.wait) {
        await waitWithProgress(r.sdk, database.id, created.operationId, { timeout: r.opts.timeout });
        database = await r.sdk.databases.get(database.id);
      }
      if (r.out.format !== 'table') return r.out.item({ ...created, database });
      r.out.item({ id: database.id, name: database.name, state: database.status.state, plan: database.plan, bolt: database.connectionUrls.bolt, browser: database.connectionUrls.browser, username: created.credentials.username, password: created.credentials.password, operationId: created.operationId });
      r.out.note('The password is shown only now.');
    }),
  );
  const dbCommand = (name: string, description: string, startOp: (sdk: Allotrope, id: string, r: Run, ...rest: string[]) => Promise<{ operationId: string } & Record<string, unknown>>, extra?: (c: Command) => Command) => {
    let c = db.command(name).description(description);
    if (extra) c = extra(c);
    waitOptions(apiOptions(c)).action(
      run(async (r, ref, ...rest) => {
        const id = await databaseId(r.sdk, ref!);
        await startedAndPrinted(r, id, await startOp(r.sdk, id, r, ...rest));
      }),
    );
  };
  dbCommand('delete <database>', 'terminate a database (a final snapshot is kept for the retention period)', (sdk, id) => sdk.databases.delete(id));
  dbCommand('restart <database>', 'restart a database', (sdk, id, r) => sdk.databases.restart(id, r.opts.reset ? { reset: true } : {}), (c) => c.option('--reset', 'kill instead of a graceful stop'));
  dbCommand('pause <database>', 'pause a running database (compute stops, data stays)', (sdk, id) => sdk.databases.pause(id));
  dbCommand('resume <database>', 'resume a paused database', (sdk, id) => sdk.databases.resume(id));
  dbCommand('empty <database>', 'delete all data of a database, keeping the database', (sdk, id) => sdk.databases.empty(id));
  dbCommand('change-plan <database> <plan>', 'change the plan (a running database restarts to apply it)', (sdk, id, _r, plan) => sdk.databases.changePlan(id, plan!));
  dbCommand('switch-url <database> <target>', 'exchange the connection URLs of two databases (clients keep their URL and reach the other one)', async (sdk, id, _r, target) => sdk.databases.switchUrl(id, { targetDatabaseId: await databaseId(sdk, target!) }));
  waitOptions(
    apiOptions(
      db
        .command('clone <database>')
        .description("create a new database with a copy of this one's data")
        .requiredOption('--name <name>', 'name of the new database')
        .option('--environment <id|label>', 'environment of the new database (default: the source one)')
        .option('--plan <plan>', 'plan of the new database (default: the source one)'),
    ),
  ).action(
    run(async (r, ref) => {
      const id = await databaseId(r.sdk, ref!);
      const environmentId = r.opts.environment ? (await resolveEnvironment(r.sdk, r.opts.environment)).id : undefined;
      const cloned = await r.sdk.databases.clone(id, { name: r.opts.name, ...(environmentId ? { environmentId } : {}), ...(r.opts.plan ? { plan: r.opts.plan } : {}) });
      if (r.opts.wait) await waitWithProgress(r.sdk, cloned.database.id, cloned.operationId, { timeout: r.opts.timeout });
      const database = r.opts.wait ? await r.sdk.databases.get(cloned.database.id) : cloned.database;
      if (r.out.format !== 'table') return r.out.item({ ...cloned, database });
      r.out.item({ id: database.id, name: database.name, state: database.status.state, bolt: database.connectionUrls.bolt, username: cloned.credentials.username, password: cloned.credentials.password, operationId: cloned.operationId });
    }),
  );
  registerConnectCommand(db, apiOptions, run, resolveDatabase);

  // ---- snapshots ----
  const snaps = program.command('snapshots').description('on-demand snapshots and restores (standard plans and above)');
  apiOptions(snaps.command('list <database>').description('snapshots of a database, newest first')).action(run(async (r, ref) => r.out.list(await r.sdk.snapshots.list(await databaseId(r.sdk, ref!)), SNAPSHOT_COLUMNS)));
  apiOptions(snaps.command('get <database> <snapshotId>').description('show a snapshot')).action(run(async (r, ref, sid) => r.out.item(await r.sdk.snapshots.get(await databaseId(r.sdk, ref!), sid!))));
  waitOptions(apiOptions(snaps.command('create <database>').description('take a snapshot').option('--label <label>', 'a label for it'))).action(
    run(async (r, ref) => {
      const id = await databaseId(r.sdk, ref!);
      const res = await r.sdk.snapshots.create(id, r.opts.label ? { label: r.opts.label } : {});
      const op = await started(r, id, res);
      if (op) r.out.item(await r.sdk.snapshots.get(id, res.snapshot.id));
    }),
  );
  apiOptions(snaps.command('delete <database> <snapshotId>').description('delete a snapshot')).action(
    run(async (r, ref, sid) => {
      await r.sdk.snapshots.delete(await databaseId(r.sdk, ref!), sid!);
      r.out.note(`snapshot ${sid} deleted`);
    }),
  );
  waitOptions(apiOptions(snaps.command('restore <database> <snapshotId>').description('restore a snapshot into its database or another one').option('--target <database>', 'restore into this database instead'))).action(
    run(async (r, ref, sid) => {
      const id = await databaseId(r.sdk, ref!);
      const target = r.opts.target ? await databaseId(r.sdk, r.opts.target) : undefined;
      const res = await r.sdk.snapshots.restore(id, sid!, target ? { targetDatabaseId: target } : {});
      // The operation runs on the database restored into.
      await startedAndPrinted(r, target ?? id, res);
    }),
  );

  // ---- backups ----
  const backups = program.command('backups').description('scheduled backups');
  apiOptions(backups.command('list <database>').description('scheduled backups, newest first')).action(run(async (r, ref) => r.out.list(await r.sdk.backups.list(await databaseId(r.sdk, ref!)), SNAPSHOT_COLUMNS)));
  apiOptions(backups.command('latest <database>').description('the newest ready snapshot or scheduled backup')).action(run(async (r, ref) => r.out.item(await r.sdk.backups.latest(await databaseId(r.sdk, ref!)))));
  const schedule = backups.command('schedule').description('the backup schedule of a database');
  apiOptions(schedule.command('get <database>').description('show the schedule')).action(run(async (r, ref) => r.out.item(await r.sdk.backups.getSchedule(await databaseId(r.sdk, ref!)))));
  apiOptions(
    schedule
      .command('set <database>')
      .description('change the schedule (enabling needs a standard plan or above)')
      .option('--enable', 'turn scheduled backups on')
      .option('--disable', 'turn scheduled backups off')
      .addOption(new Option('--frequency <frequency>', 'how often').choices(['daily', 'weekly', 'monthly']))
      .option('--time <HH:MM>', 'time of day, 24-hour')
      .option('--timezone <zone>', 'IANA time zone, e.g. Europe/Paris')
      .option('--retention <count>', 'how many scheduled backups to keep', positiveInt)
      .option('--day-of-week <0-6>', '0 = Sunday (weekly)', (v) => Number(v))
      .option('--day-of-month <1-28>', 'day of the month (monthly)', (v) => Number(v)),
  ).action(
    run(async (r, ref) => {
      const o = r.opts;
      if (o.enable && o.disable) throw new CliError('--enable and --disable exclude each other', 2);
      const body = {
        ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
        ...(o.frequency ? { frequency: o.frequency } : {}),
        ...(o.time ? { time: o.time } : {}),
        ...(o.timezone ? { timezone: o.timezone } : {}),
        ...(o.retention !== undefined ? { retention: o.retention } : {}),
        ...(o.dayOfWeek !== undefined ? { dayOfWeek: o.dayOfWeek } : {}),
        ...(o.dayOfMonth !== undefined ? { dayOfMonth: o.dayOfMonth } : {}),
      };
      r.out.item(await r.sdk.backups.setSchedule(await databaseId(r.sdk, ref!), body));
    }),
  );

  // ---- export / import ----
  waitOptions(
    apiOptions(
      program
        .command('export <database>')
        .description('export a database as an archive or a Cypher script; --download saves the file (and implies --wait)')
        .addOption(new Option('--format <format>', 'archive (engine files) or cypher (a script Neo4j loads too)').choices(['archive', 'cypher']).default('archive'))
        .option('--download <file>', 'save the export to this file once it is ready'),
    ),
  ).action(
    run(async (r, ref) => {
      const id = await databaseId(r.sdk, ref!);
      const res = await r.sdk.exports.start(id, { format: r.opts.format });
      if (!r.opts.wait && !r.opts.download) return void (await started(r, id, res));
      await waitWithProgress(r.sdk, id, res.operationId, { timeout: r.opts.timeout });
      const exp = await r.sdk.exports.get(id, res.export.id);
      if (r.opts.download) {
        const file = await r.sdk.exports.download(exp);
        if (!file.body) throw new CliError('the download has no body');
        await pipeline(Readable.fromWeb(file.body as unknown as WebReadableStream), createWriteStream(r.opts.download, { mode: 0o600 }));
        process.stderr.write(`saved ${exp.sizeBytes ?? '?'} bytes to ${r.opts.download} (sha256 ${exp.sha256})\n`);
      }
      r.out.item(exp);
    }),
  );
  waitOptions(
    apiOptions(
      program
        .command('import <database>')
        .description("replace a database's data with an export archive or a Cypher script (uploaded, or fetched by the server from an https URL)")
        .option('--file <path>', 'upload this file')
        .option('--url <url>', 'let the server fetch it from this https URL (allowed hosts only)'),
    ),
  ).action(
    run(async (r, ref) => {
      if (!r.opts.file === !r.opts.url) throw new CliError('give exactly one of --file and --url', 2);
      const id = await databaseId(r.sdk, ref!);
      let res;
      if (r.opts.file) {
        let blob: Blob;
        try {
          blob = await openAsBlob(r.opts.file);
        } catch (err) {
          throw new CliError(`--file: cannot read ${r.opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
        }
        res = await r.sdk.imports.upload(id, blob, r.opts.file.split('/').pop());
      } else res = await r.sdk.imports.fromUrl(id, r.opts.url);
      await startedAndPrinted(r, id, res);
    }),
  );

  // ---- operations ----
  const ops = program.command('operations').alias('ops').description('operations of a database');
  apiOptions(ops.command('list <database>').description('operations, newest first').option('--limit <n>', 'how many', positiveInt, 20)).action(
    run(async (r, ref) => r.out.list(await r.sdk.operations.list(await databaseId(r.sdk, ref!), { limit: r.opts.limit }), OPERATION_COLUMNS)),
  );
  apiOptions(ops.command('get <database> <operationId>').description('show an operation with its steps')).action(run(async (r, ref, op) => r.out.item(await r.sdk.operations.get(await databaseId(r.sdk, ref!), op!))));
  apiOptions(ops.command('wait <database> <operationId>').description('wait for an operation (and its follow-ups) to end; exit 1 if it fails').option('--timeout <seconds>', 'give up after this many seconds', positiveInt, 1800)).action(
    run(async (r, ref, op) => r.out.item(await waitWithProgress(r.sdk, await databaseId(r.sdk, ref!), op!, { timeout: r.opts.timeout }))),
  );

  // ---- environments ----
  const envs = program.command('environments').alias('envs').description('environments (development, staging, production)');
  apiOptions(envs.command('list').description('environments you can use')).action(run(async (r) => r.out.list(await r.sdk.environments.list({ limit: 1000 }), ENVIRONMENT_COLUMNS)));
  apiOptions(envs.command('get <environment>').description('show an environment (id or label)')).action(run(async (r, ref) => r.out.item(await resolveEnvironment(r.sdk, ref))));
  apiOptions(
    envs
      .command('create')
      .description('create an environment (admin)')
      .requiredOption('--label <label>', 'its name')
      .addOption(new Option('--type <type>', 'its type').choices(['development', 'staging', 'production']).makeOptionMandatory())
      .option('--region <region>', 'region id (default: the default region)')
      .option('--cidr <cidr>', 'private network range'),
  ).action(run(async (r) => r.out.item(await r.sdk.environments.create({ label: r.opts.label, type: r.opts.type, ...(r.opts.region ? { region: r.opts.region } : {}), ...(r.opts.cidr ? { cidr: r.opts.cidr } : {}) }))));
  apiOptions(
    envs
      .command('update <environment>')
      .description('rename an environment or change its type (admin)')
      .option('--label <label>', 'new name')
      .addOption(new Option('--type <type>', 'new type').choices(['development', 'staging', 'production'])),
  ).action(
    run(async (r, ref) => {
      const env = await resolveEnvironment(r.sdk, ref);
      r.out.item(await r.sdk.environments.update(env.id, { ...(r.opts.label ? { label: r.opts.label } : {}), ...(r.opts.type ? { type: r.opts.type } : {}) }));
    }),
  );
  apiOptions(envs.command('delete <environment>').description('delete an empty environment (admin)')).action(
    run(async (r, ref) => {
      const env = await resolveEnvironment(r.sdk, ref);
      await r.sdk.environments.delete(env.id);
      r.out.note(`environment ${env.label} (${env.id}) deleted`);
    }),
  );

  // ---- network rules ----
  const rules = program.command('network-rules').description("an environment's IP allowlist for database connections");
  apiOptions(rules.command('list <environment>').description('the rules of an environment')).action(run(async (r, ref) => r.out.list(await r.sdk.networkRules.list((await resolveEnvironment(r.sdk, ref)).id), RULE_COLUMNS)));
  apiOptions(rules.command('create <environment>').description('allow an address range (admin)').requiredOption('--label <label>', 'what it is').requiredOption('--ip-range <cidr>', 'CIDR, IPv4 or IPv6')).action(
    run(async (r, ref) => r.out.item(await r.sdk.networkRules.create((await resolveEnvironment(r.sdk, ref)).id, { label: r.opts.label, ipRange: r.opts.ipRange }))),
  );
  apiOptions(rules.command('delete <environment> <ruleId>').description('remove a rule (admin)')).action(
    run(async (r, ref, ruleId) => {
      await r.sdk.networkRules.delete((await resolveEnvironment(r.sdk, ref)).id, ruleId!);
      r.out.note(`rule ${ruleId} deleted`);
    }),
  );

  // ---- API clients ----
  const clients = program.command('api-clients').description("the organization's API clients (admin)");
  apiOptions(clients.command('list').description('list API clients')).action(run(async (r) => r.out.list(await r.sdk.apiClients.list({ limit: 1000 }), CLIENT_COLUMNS)));
  apiOptions(clients.command('get <id>').description('show an API client')).action(run(async (r, id) => r.out.item(await r.sdk.apiClients.get(id!))));
  apiOptions(
    clients
      .command('create')
      .description('create an API client; the secret is shown only once')
      .requiredOption('--name <name>', 'its name')
      .addOption(new Option('--role <role>', 'its role').choices(['operator', 'read-operator', 'admin']).default('operator'))
      .option('--environment <id|label...>', 'environments it may use (repeatable)', []),
  ).action(
    run(async (r) => {
      const environmentIds: string[] = [];
      for (const ref of r.opts.environment as string[]) environmentIds.push((await resolveEnvironment(r.sdk, ref)).id);
      r.out.item(await r.sdk.apiClients.create({ name: r.opts.name, role: r.opts.role, environmentIds }));
      r.out.note('The secret is shown only now.');
    }),
  );
  apiOptions(clients.command('update <id>').description('rename an API client or change its environments').option('--name <name>', 'new name').option('--environment <id|label...>', 'its environments (replaces the list)')).action(
    run(async (r, id) => {
      const environmentIds = r.opts.environment ? await Promise.all((r.opts.environment as string[]).map(async (e) => (await resolveEnvironment(r.sdk, e)).id)) : undefined;
      r.out.item(await r.sdk.apiClients.update(id!, { ...(r.opts.name ? { name: r.opts.name } : {}), ...(environmentIds ? { environmentIds } : {}) }));
    }),
  );
  apiOptions(clients.command('refresh-secret <id>').description('a new secret; the old one and its tokens stop working')).action(run(async (r, id) => r.out.item(await r.sdk.apiClients.refreshSecret(id!))));
  apiOptions(clients.command('delete <id>').description('delete an API client; its tokens stop working')).action(
    run(async (r, id) => {
      await r.sdk.apiClients.delete(id!);
      r.out.note(`API client ${id} deleted`);
    }),
  );

  // ---- database users ----
  const users = program.command('users').description('connection credentials of a database');
  apiOptions(users.command('list <database>').description("a database's users (never a password)")).action(
    run(async (r, ref) => r.out.list(await r.sdk.users.list(await databaseId(r.sdk, ref!)), [['ID', (u) => u.id], ['USERNAME', (u) => u.username], ['READ ONLY', (u) => (u.readOnly ? 'yes' : '')], ['EXPIRES', (u) => u.expireAt ?? 'never'], ['DESCRIPTION', (u) => u.description ?? '']])),
  );
  apiOptions(
    users
      .command('create <database>')
      .description('create a user; the password is shown only once')
      .option('--username <name>', 'user name (default: generated)')
      .option('--description <text>', 'what it is for')
      .option('--expire-at <date>', "RFC 7231 date or 'never'")
      .option('--read-only', 'reads only'),
  ).action(
    run(async (r, ref) => {
      const o = r.opts;
      r.out.item(await r.sdk.users.create(await databaseId(r.sdk, ref!), { ...(o.username ? { username: o.username } : {}), ...(o.description ? { description: o.description } : {}), ...(o.expireAt ? { expireAt: o.expireAt } : {}), ...(o.readOnly ? { readOnly: true } : {}) }));
    }),
  );
  apiOptions(users.command('reset-password <database> <userId>').description('a new random password for a user')).action(run(async (r, ref, userId) => r.out.item(await r.sdk.users.resetPassword(await databaseId(r.sdk, ref!), userId!))));
  apiOptions(users.command('delete <database> <userId>').description('delete a user')).action(
    run(async (r, ref, userId) => {
      await r.sdk.users.delete(await databaseId(r.sdk, ref!), userId!);
      r.out.note(`user ${userId} deleted`);
    }),
  );
}
