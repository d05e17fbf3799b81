// A stand-in entry with only the graph-server command, until the allotrope CLI entry exists.
import { Command } from 'commander';
import { registerGraphServerCommand } from './cli.js';

const program = new Command('allotrope');
registerGraphServerCommand(program);
await program.parseAsync(process.argv);
