#!/usr/bin/env node
// Writes docs/cli.md from the compiled command tree (run `npm run build` first).
import { writeFileSync } from 'node:fs';
import { buildProgram } from '../dist/src/cli/program.js';
import { renderCliReference } from '../dist/src/cli/api/reference.js';

const file = new URL('../docs/cli.md', import.meta.url);
writeFileSync(file, renderCliReference(await buildProgram()));
console.log(`wrote ${file.pathname}`);
