#!/usr/bin/env node
// Runs every compiled test file with node's own test runner. Node 20's `--test` takes no globs,
// so the file list is built here. Arguments filter by substring: `npm test -- bolt`.
// Each file's process loads test/helpers/leftover-check.ts first (`--import`, passed on by the runner
// to every file's process): a file that leaves a process behind fails.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => full.includes(f)))) files.push(full);
  }
})(root);
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const leftoverCheck = pathToFileURL(join(root, 'helpers', 'leftover-check.js')).href;
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', '--import', leftoverCheck, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
