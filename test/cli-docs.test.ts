// docs/cli.md is generated from the command tree (node scripts/cli-docs.mjs); this fails when a command
// or option changed and the reference was not regenerated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCliReference } from '../src/cli/api/reference.js';
import { buildProgram } from '../src/cli/program.js';
import { repoRoot } from './helpers/cli.js';

test('docs/cli.md is up to date with the commands (regenerate: npm run build && node scripts/cli-docs.mjs)', async () => {
  const expected = renderCliReference(await buildProgram());
  const actual = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');
  assert.equal(actual, expected);
  for (const command of ['login', 'databases create', 'databases switch-url', 'backups schedule set', 'export', 'import', 'operations wait', 'completion']) {
    assert.ok(actual.includes(`\`allotrope ${command}\``), command);
  }
  assert.match(actual, /\| `--wait` \|/);
});
