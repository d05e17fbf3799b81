// Runs every benchmark in bench/ (each file prints its own figures and ratios against a baseline
// measured in the same run), one after the other so they don't compete for the CPU.
// `npm run bench -- query-check` runs only the files whose name contains an argument.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(ext) && !f.startsWith('run.') && !f.startsWith('lib-'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file.replace(/\.(ts|js)$/, '')}`);
  const args = ext === '.ts' ? ['--import', 'tsx', `${dir}${file}`] : [`${dir}${file}`];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
