#!/usr/bin/env node
// The `allotrope` command. Every failure a user can cause ends as one line on stderr, never a stack.
import { CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { CliError } from './errors.js';
import { buildProgram, namesApiCommand } from './program.js';

const program = await buildProgram({ apiOnly: namesApiCommand(process.argv.slice(2)) });

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
