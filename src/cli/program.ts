// The `allotrope` command tree: the server side (serve, admin, graph-server, engines) and the API
// commands users drive a server with. main.ts parses argv with it; scripts/cli-docs.mjs documents it.
// The server side pulls in the whole control plane, so a command line that names an API command gets a
// tree without it (the API commands start in a fraction of the time).
import { Command } from 'commander';
import { PACKAGE_VERSION } from '../version.js';
import { registerApiCommands } from './api/commands.js';
import { registerCompletionCommand } from './api/completion.js';

const SERVER_COMMANDS = new Set(['serve', 'admin', 'graph-server', 'engines', 'migrate', 'store', 'router']);
const API_COMMANDS = new Set(['login', 'contexts', 'versions', 'plans', 'regions', 'databases', 'db', 'snapshots', 'backups', 'export', 'import', 'operations', 'ops', 'environments', 'envs', 'network-rules', 'api-clients', 'users']);

/** Whether the command line (process.argv without node and script) runs an API command. */
export function namesApiCommand(args: string[]): boolean {
  const first = args.find((a) => !a.startsWith('-'));
  return first !== undefined && API_COMMANDS.has(first) && !SERVER_COMMANDS.has(first);
}

export async function buildProgram(options: { apiOnly?: boolean } = {}): Promise<Command> {
  const program = new Command('allotrope')
    .description('Self-hostable managed graph-database platform: management API and Bolt graph servers')
    .version(PACKAGE_VERSION)
    .exitOverride();
  if (!options.apiOnly) {
    const [serve, admin, graphServer, engines, store, router] = await Promise.all([
      import('./serve.js'),
      import('./admin.js'),
      import('../graph-server/cli.js'),
      import('./engines.js'),
      import('./store.js'),
      import('../router/cli.js'),
    ]);
    serve.registerServeCommand(program);
    admin.registerAdminCommands(program);
    graphServer.registerGraphServerCommand(program);
    engines.registerEnginesCommands(program);
    store.registerStoreCommands(program);
    router.registerRouterCommand(program);
  }
  registerApiCommands(program);
  registerCompletionCommand(program);
  // Subcommands exit through the same path as the root (exit codes, one-line errors).
  const propagate = (cmd: Command) => {
    for (const c of cmd.commands as Command[]) {
      c.exitOverride();
      propagate(c);
    }
  };
  propagate(program);
  return program;
}
