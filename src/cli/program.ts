// The `allotrope` command tree: the server side (serve, admin, graph-server, engines) and the API
// commands users drive a server with. main.ts parses argv with it; scripts/cli-docs.mjs documents it.
import { Command } from 'commander';
import { registerGraphServerCommand } from '../graph-server/cli.js';
import { PACKAGE_VERSION } from '../version.js';
import { registerAdminCommands } from './admin.js';
import { registerApiCommands } from './api/commands.js';
import { registerCompletionCommand } from './api/completion.js';
import { registerEnginesCommands } from './engines.js';
import { registerServeCommand } from './serve.js';

export function buildProgram(): Command {
  const program = new Command('allotrope')
    .description('Self-hostable managed graph-database platform: management API and Bolt graph servers')
    .version(PACKAGE_VERSION)
    .exitOverride();
  registerServeCommand(program);
  registerAdminCommands(program);
  registerGraphServerCommand(program);
  registerEnginesCommands(program);
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
