// Loading an imported Cypher script, in a child process with a memory cap and a time bound. The engine
// keeps a transaction's data in native memory, which no V8 heap limit sees: `UNWIND range(1, 3000000)
// AS i CREATE (:N {i: i})` peaked at 1,426 MiB resident with a 10 MiB heap (470 MiB per million nodes),
// and in the control plane stalled its event loop up to 200 ms. A child keeps the control plane's heap and
// loop untouched and can be killed at once, whatever native call it is in.
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { siblingProcess } from '../../../sibling-process.js';
import { CypherScriptError, type LoadResult } from './cypher-dump.js';

export interface CypherImportLimits {
  /** Resident memory of the loading process beyond which it is killed and the script refused. */
  maxMemoryBytes: number;
  /** Time after which it is killed and the script refused. */
  timeoutMs: number;
  /** Kills it at once (the operation ended). */
  signal?: AbortSignal;
}

// The child grows ~80 MiB/s at worst (measured above: 470 MiB per million nodes, ~6 s per million), so a
// check every 100 ms overshoots the cap by a few MiB.
const MEMORY_CHECK_MS = 100;
// The heap holds the script's current statement and the driver's rows: the native side is what grows.
const CHILD_HEAP_MB = 512;

type Reply = { ok: true; value: LoadResult } | { ok: false; message: string; name: string };

/** Resident bytes of process `pid` (Linux); null where /proc is not there or the process is gone. */
async function residentBytes(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const kb = status && /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : null;
}

/** Runs `scriptFile` into a fresh database in `targetDir`, in a child process held to `limits`. */
export function loadCypherIsolated(scriptFile: string, targetDir: string, limits: CypherImportLimits): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const { modulePath, execArgv } = siblingProcess(import.meta.url, 'cypher-import-main');
    const child = fork(modulePath, [scriptFile, targetDir], {
      execArgv: [...execArgv, `--max-old-space-size=${CHILD_HEAP_MB}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    let settled = false;
    const finish = (err: Error | null, value?: LoadResult): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(value!);
    };
    const mib = Math.round(limits.maxMemoryBytes / 1024 / 1024);
    const watch = setInterval(() => {
      void residentBytes(child.pid ?? -1).then((bytes) => {
        if (bytes !== null && bytes > limits.maxMemoryBytes) {
          finish(new CypherScriptError(`the Cypher script needs more than ${mib} MiB of memory to load, the limit for imports; it was stopped`));
        }
      });
    }, MEMORY_CHECK_MS);
    const timer = setTimeout(
      () => finish(new CypherScriptError(`the Cypher script took longer than ${Math.round(limits.timeoutMs / 1000)} s to load, the limit for imports; it was stopped`)),
      limits.timeoutMs,
    );
    const onAbort = (): void => finish(limits.signal?.reason instanceof Error ? limits.signal.reason : new Error('the Cypher import was stopped'));
    if (limits.signal?.aborted) return onAbort();
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('message', (reply: Reply) => {
      if (reply.ok) return finish(null, reply.value);
      // A CypherScriptError names the statement at fault and is meant for the user; others are ours.
      finish(reply.name === 'CypherScriptError' ? new CypherScriptError(reply.message) : new Error(reply.message));
    });
    child.once('error', (err) => finish(err));
    // 'close' comes after the IPC channel has delivered every message, unlike 'exit'.
    child.once('close', (code, signal) => {
      // Killed for memory by the kernel, or V8's heap limit: the same refusal as our own check.
      if (signal === 'SIGKILL' || /heap out of memory/i.test(stderr)) {
        return finish(new CypherScriptError(`the Cypher script needs more than ${mib} MiB of memory to load, the limit for imports; it was stopped`));
      }
      finish(new Error(`the Cypher import process exited (code ${code}, signal ${signal}) before it answered: ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}
