// Loaded into every test file's process by scripts/run-tests.mjs (`node --test --import <this>`): a test
// file must leave no process behind, neither a child nor a detached one (a router, a graph-server, a
// server started by a crashed control plane).
//
// It tags this process's environment with ALLOTROPE_TEST_FILE=<pid>; every process started from here
// inherits it, however deep and whether detached or not, unless it is given an environment of its own
// (the local runtime's nodes get only a few variables: test/helpers/lifecycle.ts passes the tag on to
// the nodes of the in-process servers it starts; nodes of an `allotrope serve` child go unchecked). Once the file is done — its tests and all its hooks ran and the
// event loop drained ('beforeExit': a root-level after() registered here would run before the file's own
// root-level after() hooks, which stop its servers) — it waits, polling, up to LEFTOVER_WAIT_MS for no
// other process to carry the tag; else it names the processes left behind and fails the file (exit 1,
// which the test runner reports as the file's failure on Node 20 and 24).
//
// Not counted: the query-check service (see processesTagged in leftover-processes.ts).
import { awaitNoProcessTagged, read, TEST_FILE_VAR } from './leftover-processes.js';

// ALLOTROPE_TEST_LEFTOVER_WAIT_MS: only for test/leftover-check.test.ts, which checks this check.
const LEFTOVER_WAIT_MS = Number(process.env.ALLOTROPE_TEST_LEFTOVER_WAIT_MS) || 10_000;

if (read('/proc/self/environ') !== null) {
  process.env[TEST_FILE_VAR] = String(process.pid);
  const tag = `${TEST_FILE_VAR}=${process.pid}`;
  let checked = false;
  process.on('beforeExit', () => {
    if (checked) return;
    checked = true;
    void awaitNoProcessTagged(tag, LEFTOVER_WAIT_MS).then((left) => {
      if (left.length === 0) return;
      const lines = left.map((p) => `  pid ${p.pid}: ${p.cmdline.slice(0, 500)}`);
      process.stderr.write(`this test file left ${left.length} process(es) behind (still running ${LEFTOVER_WAIT_MS / 1000} s after its last hook):\n${lines.join('\n')}\n`);
      process.exitCode = 1;
    });
  });
}
