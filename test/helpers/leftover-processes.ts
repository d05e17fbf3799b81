// Which processes a test file started and left running: every process started from a test file's process
// carries ALLOTROPE_TEST_FILE=<its pid> in its environment (set by test/helpers/leftover-check.ts, which
// scripts/run-tests.mjs loads into each file's process), except where an environment of its own is given.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export const TEST_FILE_VAR = 'ALLOTROPE_TEST_FILE';
// The query-check service on one of the machine's default sockets (<tmpdir>/allotrope-query-check-<uid>[-shared]/).
const SHARED_BY_DESIGN = /query-check[/\\]service-main\.[jt]s \S*[/\\]allotrope-query-check-\d+(-shared)?[/\\]/;

/** The variable tying a process to the test file that started it, for an environment given to a child ({} outside run-tests.mjs). */
export function testFileTag(): Record<string, string> {
  const value = process.env[TEST_FILE_VAR];
  return value ? { [TEST_FILE_VAR]: value } : {};
}

export function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null; // gone meanwhile, or not ours to read
  }
}

/**
 * Processes other than this one whose environment carries `tag`, with their command lines. The query-check
 * service on a default socket is not counted: one per user and install, shared by every graph-server of the
 * machine and meant to outlive them (it exits when idle). One a test started on a socket of its own is.
 */
export function processesTagged(tag: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = read(`/proc/${name}/environ`);
    if (!environ?.split('\0').includes(tag)) continue;
    const cmdline = (read(`/proc/${name}/cmdline`) ?? '').split('\0').join(' ').trim();
    if (SHARED_BY_DESIGN.test(cmdline)) continue;
    found.push({ pid: Number(name), cmdline });
  }
  return found;
}

/** Polls until no other process carries `tag`; returns those still there after `timeoutMs`. */
export async function awaitNoProcessTagged(tag: string, timeoutMs: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesTagged(tag);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await delay(100);
  }
}
