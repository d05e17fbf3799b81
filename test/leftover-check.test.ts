// The leftover-process check every test file runs under (test/helpers/leftover-check.ts, loaded by
// scripts/run-tests.mjs): a file that leaves a detached process behind fails, naming it; a file whose
// children all ended passes (each a real `node --test` run of a small file written here); a test server's
// router and database nodes are among the processes checked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { askRouter, type RouterPing } from '../src/router/control.js';
import { createDatabaseAndWait, startLifecycleServer } from './helpers/lifecycle.js';
import { awaitNoProcessTagged, processesTagged, TEST_FILE_VAR } from './helpers/leftover-processes.js';

const helper = new URL('./helpers/leftover-check.js', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'allotrope-leftover-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `node --test --import <the check>` on `source`; resolves with its exit code and output. */
function runTestFile(name: string, source: string): Promise<{ code: number | null; output: string }> {
  const file = join(dir, name);
  writeFileSync(file, source);
  // Without this file's NODE_TEST_CONTEXT, which would make that run report to this file's runner.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--test', '--import', helper, file], {
    env: { ...env, ALLOTROPE_TEST_LEFTOVER_WAIT_MS: '1000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

const SLEEPER = `process.execPath, ['-e', 'setTimeout(() => undefined, 120000)', 'leftover-sleeper']`;

describe('leftover-process check', () => {
  test('a test file that leaves a detached process behind fails and names it', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const result = await runTestFile(
      'leaks.test.mjs',
      `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
test('starts a detached process and forgets it', () => {
  const child = spawn(${SLEEPER}, { detached: true, stdio: 'ignore' });
  child.unref();
  writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
});
`,
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /left 1 process\(es\) behind/);
      assert.match(result.output, new RegExp(`pid ${pid}: .*leftover-sleeper`));
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  test('a test file whose children ended passes', async () => {
    const result = await runTestFile(
      'clean.test.mjs',
      `import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
test('starts a process and stops it', async () => {
  const child = spawn(${SLEEPER}, { detached: true, stdio: 'ignore' });
  child.kill('SIGTERM');
  await once(child, 'exit');
});
`,
    );
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, /behind/);
  });

  test("a test server's router and database node carry this file's tag, and are gone after its stop", async () => {
    const tag = `${TEST_FILE_VAR}=${process.pid}`;
    assert.equal(process.env[TEST_FILE_VAR], String(process.pid), 'run through scripts/run-tests.mjs');
    const server = await startLifecycleServer();
    try {
      const { database } = await createDatabaseAndWait(server, server.adminToken, server.environmentId, 'tagged');
      const nodePid = (await server.runtime.pidOf(database.nodes[0].stationId))!;
      const routerPid = (await askRouter<RouterPing>(server.dataDir, { op: 'ping' }))!.pid;
      const tagged = processesTagged(tag).map((p) => p.pid);
      assert.ok(tagged.includes(nodePid), `node ${nodePid} among ${tagged.join(', ')}`);
      assert.ok(tagged.includes(routerPid), `router ${routerPid} among ${tagged.join(', ')}`);
    } finally {
      await server.stop();
    }
    assert.deepEqual(await awaitNoProcessTagged(tag, 10_000), []);
  });
});
