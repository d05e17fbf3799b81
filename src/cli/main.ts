#!/usr/bin/env node
// The `allotrope` command. Every failure a user can cause ends as one line on stderr, never a stack.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { registerGraphServerCommand } from '../graph-server/cli.js';
import { registerAdminCommands } from './admin.js';
import { registerEnginesCommands } from './engines.js';
import { CliError } from './errors.js';
import { registerServeCommand } from './serve.js';
import { registerRouterCommand } from '../router/cli.js';

const program = new Command('allotrope')
  .description('Self-hostable managed graph-database platform: management API and Bolt graph servers')
  .version('0.1.0')
  .exitOverride();

registerServeCommand(program);
registerAdminCommands(program);
registerGraphServerCommand(program);
registerEnginesCommands(program);
registerRouterCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`allotrope: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CliError) {
    process.stderr.write(`allotrope: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`allotrope: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
