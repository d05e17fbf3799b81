// Launching one node: its command line (and the hash that tells whether a running process still
// matches it), the environment it gets, the spawn into its own process group with output into its log,
// the pid file written before and after readiness, and the wait for its ready line (which names the
// ports it listens on). What happens to the process afterwards is supervision.ts's business.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { RuntimeError, type NodePorts, type NodeSpec } from '../runtime.js';
import type { NodeProcess, NodeState, RuntimeContext } from './context.js';
import { buildLaunch } from './command.js';
import { compileCacheOf, provisionFiles } from './data-dir.js';
import { removePidRecord, writePidRecord, type NodePaths } from './node-files.js';
import { LogTail, openChildLog } from './node-log.js';
import { terminate, watchChild } from './node-process.js';
import { readProcessIdentity } from './process-identity.js';
import { ensureSharedQueryCheckService, SHARED_QUERY_CHECK_IDLE_MS } from '../../graph-server/query-check/service-client.js';

/** The node's argv for `spec`, and its hash (an adopted or running process must match it). */
export function commandOf(ctx: RuntimeContext, spec: NodeSpec, paths: NodePaths): { argv: string[]; hash: string } {
  const argv = ctx.command(buildLaunch(spec, paths, { queryCheckBudgetMs: ctx.queryCheckBudgetMs }, ctx.engines));
  if (argv.length === 0 || !argv[0]) throw new RuntimeError('Invalid', 'the node command is empty');
  return { argv, hash: createHash('sha256').update(JSON.stringify(argv)).digest('hex') };
}

/** Spawns the node's process and resolves once it printed its ready line. */
export async function launch(ctx: RuntimeContext, node: NodeState, spec: NodeSpec): Promise<NodeProcess> {
  const { argv, hash } = commandOf(ctx, spec, node.paths);
  await provisionFiles(ctx.rootDir, node.paths);
  // Grafeo nodes of users of their own share one query-check service, which only this runtime may start.
  if (spec.engine !== 'neo4j' && node.paths.owner) await ensureSharedQueryCheckService(SHARED_QUERY_CHECK_IDLE_MS).catch(() => undefined);
  const childLog = await openChildLog(node.paths, ctx.logMaxBytes);
  const spawnedAt = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: node.paths.root,
      // A shared V8 compile cache makes every later node start faster (Node >= 22; ignored by older ones).
      // A node of its own user keeps its own: it cannot write the shared one.
      env: { NODE_COMPILE_CACHE: compileCacheOf(ctx.rootDir, node.paths), ...(ctx.env ?? nodeEnvironment()) },
      ...(node.paths.owner ? { uid: node.paths.owner.uid, gid: node.paths.owner.gid } : {}),
      stdio: ['ignore', childLog.fd, childLog.fd],
      detached: true, // own process group: no terminal signals, and we can signal the whole group
    });
  } finally {
    await childLog.close(); // the child holds its own copy of the descriptor
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = watchChild(child);
  if (child.pid === undefined) {
    const err = await spawnError;
    throw new RuntimeError('Failed', `cannot start the node process '${argv[0]}': ${err.message}`);
  }
  const pid = child.pid;
  const proc: NodeProcess = {
    identity: { pid, startTime: '', argv },
    commandHash: hash,
    child,
    startedAtMs: Date.now(),
    stopping: false,
    exited,
    dispose() {},
  };
  // Record the pid before waiting for readiness: a control plane killed right now must still find it.
  const early = await readProcessIdentity(pid);
  if (early) {
    proc.identity = { pid, startTime: early.startTime, argv };
    await writePidRecord(node.paths, { ...proc.identity, commandHash: hash, startedAt: new Date().toISOString() });
  }

  const tail = new LogTail(node.paths.logFile, childLog.offset);
  let exitDetail: string | undefined;
  void exited.then((detail) => (exitDetail = detail));
  const deadline = Date.now() + ctx.readyTimeoutMs;
  let lastLines: string[] = [];
  for (;;) {
    const lines = await tail.readLines();
    if (lines.length) lastLines = [...lastLines, ...lines].slice(-5);
    const ready = lines.find(isReadyLine);
    if (ready) {
      proc.ports = readyPorts(ready, spec);
      break;
    }
    if (exitDetail !== undefined) {
      await removePidRecord(node.paths);
      throw new RuntimeError('Failed', `node ${node.stationId} ${exitDetail} before it was ready${lastOutput(lastLines, tail.pending)}`);
    }
    if (Date.now() > deadline) {
      await terminate(ctx, node, proc, 0);
      await removePidRecord(node.paths);
      throw new RuntimeError('Failed', `node ${node.stationId} was not ready within ${ctx.readyTimeoutMs} ms${lastOutput(lastLines, tail.pending)}`);
    }
    await delay(10);
  }
  const readyMs = Math.round(performance.now() - spawnedAt);
  // The process may have rewritten its argv (process.title) while starting: record what /proc shows now.
  const settled = await readProcessIdentity(pid);
  if (settled && (!proc.identity.startTime || settled.startTime === proc.identity.startTime)) proc.identity = settled;
  await writePidRecord(node.paths, { ...proc.identity, commandHash: hash, startedAt: new Date().toISOString(), ...(proc.ports ? { ports: proc.ports } : {}) });
  node.lastStart = { stationId: node.stationId, pid, readyMs, adopted: false };
  ctx.log.info({ stationId: node.stationId, pid, readyMs }, 'node started');
  return proc;
}

// Nodes get only these from the control plane's environment: it may hold secrets (store and S3
// credentials, signing keys) that a database process has no business seeing.
// ALLOTROPE_TEST_FILE: the test run's tag (test/helpers/leftover-check.ts), so a node a test's control plane starts is
// found if it outlives the test file; never set outside tests.
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_ENV', 'ALLOTROPE_TEST_FILE'];

export function nodeEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

/** The ports a node's ready line names; the spec's own where it names none (a custom command). */
function readyPorts(line: string, spec: NodeSpec): NodePorts | undefined {
  const value = JSON.parse(line) as { boltPort?: unknown; httpPort?: unknown };
  const port = (v: unknown, fallback: number) => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : fallback);
  const ports = { boltPort: port(value.boltPort, spec.boltPort), httpPort: port(value.httpPort, spec.httpPort) };
  return ports.boltPort > 0 && ports.httpPort > 0 ? ports : undefined;
}

function isReadyLine(line: string): boolean {
  if (!line.includes('"ready"')) return false;
  try {
    const value = JSON.parse(line) as { event?: unknown };
    return value.event === 'ready';
  } catch {
    return false;
  }
}

function lastOutput(lines: string[], pending: string): string {
  const text = [...lines, pending].join('\n').trim().slice(-500);
  return text ? `; last output: ${text}` : '';
}
