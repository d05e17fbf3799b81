// The program a local node runs: the allotrope CLI's `graph-server` command alone. Going through the
// full CLI entry (src/cli/main.ts) would load the control plane (Fastify, store, S3 client) into every
// database process; measured compiled on 2 busy cores: ready in ~0.55-0.8 s and ~75 MiB RSS this way,
// ~1.2-1.5 s and ~96 MiB through the full entry.
import { Command } from 'commander';
import { registerGraphServerCommand } from '../../graph-server/cli.js';

const program = new Command('allotrope');
registerGraphServerCommand(program);
await program.parseAsync(process.argv);
