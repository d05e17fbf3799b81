// `allotrope graph-server`: runs one database until SIGTERM/SIGINT; SIGHUP reloads the users file.
// Prints one JSON line on stdout when ready, for the local runtime to parse; logs go to stderr.
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_AUTH_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNAUTHENTICATED_CONNECTIONS } from './bolt/server.js';
import { DEFAULT_QUERY_CHECK_BUDGET_MS, runGraphServer } from './main.js';

function budgetMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 60_000) throw new InvalidArgumentError('a number of milliseconds from 0 to 60000 (0 turns the check off)');
  return n;
}

function exitAfterMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 86_400_000) throw new InvalidArgumentError('a number of milliseconds from 0 to 86400000 (0 never exits)');
  return n;
}

function boundedInteger(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${what} from ${min} to ${max}`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
  return n;
}

interface GraphServerFlags {
  dataDir: string;
  boltPort: number;
  httpPort: number;
  usersFile: string;
  importDir?: string;
  host: string;
  advertisedHost?: string;
  readOnly?: boolean;
  queryCheck?: boolean;
  queryCheckBudgetMs: number;
  queryCheckSocket?: string;
  queryCheckInProcess?: boolean;
  queryCheckServiceManaged?: boolean;
  queryCheckServiceIdleMs: number;
  stuckQueryExitMs: number;
  boltAuthTimeoutMs: number;
  boltMaxConnections: number;
  boltMaxUnauthenticated: number;
  engine: 'grafeo' | 'neo4j';
  neo4jInstall?: string;
  java: string;
  memoryMb?: number;
  neo4jSetting: string[];
  browserDir?: string;
}

function engineName(value: string): 'grafeo' | 'neo4j' {
  if (value !== 'grafeo' && value !== 'neo4j') throw new InvalidArgumentError('grafeo or neo4j');
  return value;
}

function megabytes(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 64 || n > 1_048_576) throw new InvalidArgumentError('a number of MiB from 64 to 1048576');
  return n;
}

function neo4jSetting(value: string, previous: string[]): string[] {
  if (!/^[a-z][a-z0-9_.]*=[^\r\n]*$/.test(value)) throw new InvalidArgumentError('key=value with a Neo4j setting name');
  return [...previous, value];
}

/** Exit status when the process ends itself over a stuck query (EX_TEMPFAIL): its supervisor starts it again. */
export const STUCK_QUERY_EXIT_CODE = 75;
export const DEFAULT_STUCK_QUERY_EXIT_MS = 30_000;

export function registerGraphServerCommand(program: Command): Command {
  return program
    .command('graph-server')
    .description('run the graph server of one database (Bolt, Neo4j Query API, admin socket)')
    .requiredOption('--data-dir <dir>', 'directory of the database file')
    .requiredOption('--bolt-port <port>', 'Bolt port (0 picks a free one)', port)
    .requiredOption('--http-port <port>', 'Query API port (0 picks a free one)', port)
    .requiredOption('--users-file <file>', 'JSON users file [{username, passwordHash, readOnly}]')
    .option('--import-dir <dir>', "the only directory LOAD CSV FROM 'file:///…' may read (created if missing); without it file URLs are refused")
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--advertised-host <host>', 'host clients are told to use (routing, discovery)')
    .option('--read-only', 'refuse every write')
    .option(
      '--query-check-budget-ms <ms>',
      "how long a new query text may wait for Neo4j's Cypher front-end to check it (Neo4j errors and notifications); past it the engine decides alone; 0 turns the check off",
      budgetMs,
      DEFAULT_QUERY_CHECK_BUDGET_MS,
    )
    .option(
      '--query-check-socket <path>',
      "unix socket of the machine's shared query-check service (Neo4j's front-end, one for all databases), started there if nothing answers (default: $ALLOTROPE_QUERY_CHECK_SOCKET, else a private directory in the temp dir)",
      process.env.ALLOTROPE_QUERY_CHECK_SOCKET || undefined,
    )
    .option('--query-check-service-managed', 'the query-check service on --query-check-socket is started by the runtime: wait for it, never start one')
    .option('--query-check-in-process', "run Neo4j's front-end in this process (a worker thread of ~100-150 MB) instead of the shared service")
    .option(
      '--query-check-service-idle-ms <ms>',
      'a query-check service this process starts exits this long after the last graph-server using it went away (0 never)',
      exitAfterMs,
      600_000,
    )
    .option(
      '--stuck-query-exit-ms <ms>',
      `exit (status ${STUCK_QUERY_EXIT_CODE}) when a query is still running this long after its transaction timeout, so the supervisor restarts the database (the engine cannot cancel a query and runs one at a time); 0 never exits`,
      exitAfterMs,
      DEFAULT_STUCK_QUERY_EXIT_MS,
    )
    .option('--engine <name>', 'grafeo (in-process, the default) or neo4j (Neo4j Community in a JVM this process supervises)', engineName, 'grafeo')
    .option('--neo4j-install <dir>', 'with --engine neo4j: the engine install (lib/*.jar and manifest.json, from `allotrope engines install neo4j`)')
    .option('--java <command>', 'with --engine neo4j: the java command', 'java')
    .option('--memory-mb <mib>', "with --engine neo4j: the node's memory, split between Neo4j's heap (half) and page cache (a quarter)", megabytes)
    .option('--browser-dir <dir>', 'Neo4j Browser\'s static files (from `allotrope engines install neo4j`), served on the HTTP port under /browser/')
    .option('--neo4j-setting <key=value>', 'with --engine neo4j: a neo4j.conf setting (repeatable)', neo4jSetting, [])
    .option(
      '--bolt-auth-timeout-ms <ms>',
      'close a Bolt connection that has not authenticated (handshake + HELLO/LOGON) this long after it opened; after the handshake it gets a FAILURE first',
      boundedInteger(100, 3_600_000, 'a number of milliseconds'),
      DEFAULT_AUTH_TIMEOUT_MS,
    )
    .option(
      '--bolt-max-connections <n>',
      'most open Bolt sockets (WebSocket and discovery included); more are closed on accept, before the handshake',
      boundedInteger(1, 1_000_000, 'a number of connections'),
      DEFAULT_MAX_CONNECTIONS,
    )
    .option(
      '--bolt-max-unauthenticated <n>',
      'most Bolt sockets not yet authenticated; more are closed on accept, before the handshake',
      boundedInteger(1, 1_000_000, 'a number of connections'),
      DEFAULT_MAX_UNAUTHENTICATED_CONNECTIONS,
    )
    // Kept so that earlier command lines still start: the check is on by default now.
    .option('--query-check', 'no effect: the query check is on unless --query-check-budget-ms is 0')
    .action(async (flags: GraphServerFlags) => {
      let handle: { boltPort: number; httpPort: number; adminSocket: string; databaseId: string; users: { reload(): Promise<void> }; close(): Promise<void> };
      try {
        if (flags.engine === 'neo4j') handle = await startNeo4j(flags);
        else handle = await runGraphServer({
          ...endpointOptions(flags),
          advertisedHost: flags.advertisedHost,
          readOnly: flags.readOnly ?? false,
          ...(flags.browserDir ? { browserDir: resolve(flags.browserDir) } : {}),
          releaseMemoryWhenIdle: true,
          queryCheck: {
            budgetMs: flags.queryCheckBudgetMs,
            ...(flags.queryCheckInProcess
              ? {}
              : {
                  service: {
                    idleExitMs: flags.queryCheckServiceIdleMs,
                    managed: flags.queryCheckServiceManaged ?? false,
                    ...(flags.queryCheckSocket ? { socketPath: resolve(flags.queryCheckSocket) } : {}),
                  },
                }),
          },
          bolt: { authTimeoutMs: flags.boltAuthTimeoutMs, maxConnections: flags.boltMaxConnections, maxUnauthenticatedConnections: flags.boltMaxUnauthenticated },
          ...(flags.stuckQueryExitMs > 0
            ? {
                stuckQuery: {
                  graceMs: flags.stuckQueryExitMs,
                  onStuck: ({ timeoutMs, overdueMs }) => {
                    // Committed data is in the WAL; the stuck query's transaction was never committed.
                    process.stderr.write(
                      `graph-server: a query is still running ${overdueMs} ms after its ${timeoutMs} ms timeout; exiting so the database restarts\n`,
                    );
                    process.exit(STUCK_QUERY_EXIT_CODE);
                  },
                },
              }
            : {}),
        });
      } catch (err) {
        process.stderr.write(`graph-server: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const h = handle;
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        // Committed data is in the WAL whatever happens: never let a stuck close keep the process.
        setTimeout(() => {
          process.stderr.write(`graph-server: shutdown after ${signal} took too long; exiting\n`);
          process.exit(1);
        }, 30_000).unref();
        h.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`graph-server: shutdown after ${signal} failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => void h.users.reload());
      process.stdout.write(
        JSON.stringify({ event: 'ready', boltPort: h.boltPort, httpPort: h.httpPort, adminSocket: h.adminSocket, databaseId: h.databaseId, pid: process.pid }) + '\n',
      );
    });
}

/** The flags both engines' servers take the same way: files, ports, interface. */
function endpointOptions(flags: GraphServerFlags) {
  return {
    dataDir: resolve(flags.dataDir),
    boltPort: flags.boltPort,
    httpPort: flags.httpPort,
    usersFile: resolve(flags.usersFile),
    ...(flags.importDir ? { importDir: resolve(flags.importDir) } : {}),
    host: flags.host,
  };
}

async function startNeo4j(flags: GraphServerFlags) {
  if (!flags.neo4jInstall) throw new Error('--engine neo4j needs --neo4j-install <dir>');
  const installDir = resolve(flags.neo4jInstall);
  let manifest: { mainClass?: unknown; jvmFlags?: unknown; cdsArchive?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(installDir, 'manifest.json'), 'utf8'));
  } catch (err) {
    throw new Error(`no Neo4j engine install in ${installDir}: ${(err as Error).message}`);
  }
  const mainClass = String(manifest.mainClass);
  const jvmFlags = Array.isArray(manifest.jvmFlags) ? manifest.jvmFlags.filter((f): f is string => typeof f === 'string' && f.startsWith('-')) : undefined;
  const cdsArchive = typeof manifest.cdsArchive === 'string' && existsSync(join(installDir, manifest.cdsArchive)) ? join(installDir, manifest.cdsArchive) : null;
  const { runNeo4jGraphServer } = await import('./engines/neo4j/server.js');
  const settings = Object.fromEntries(flags.neo4jSetting.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (flags.readOnly) settings['server.databases.default_to_read_only'] = 'true';
  return runNeo4jGraphServer({
    ...endpointOptions(flags),
    advertisedHost: flags.advertisedHost ?? (flags.host === '0.0.0.0' || flags.host === '::' ? '127.0.0.1' : flags.host),
    readOnly: flags.readOnly ?? false,
    ...(flags.memoryMb ? { memoryMb: flags.memoryMb } : {}),
    engine: { installDir, mainClass, java: flags.java, ...(jvmFlags ? { jvmFlags } : {}), cdsArchive },
    settings,
    logger: pino({ name: 'graph-server' }, pino.destination(2)),
    ...(flags.browserDir ? { browserDir: resolve(flags.browserDir) } : {}),
  });
}
