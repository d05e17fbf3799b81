// Who a pid really is. A pid alone can be reused by an unrelated process after ours died (even across a
// reboot), so a recorded pid only counts as "our node" when its kernel start time and its argv match too.
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ProcessIdentity {
  pid: number;
  /** Opaque, stable for the process's life: clock ticks since boot on Linux, `ps lstart` elsewhere. */
  startTime: string;
  argv: string[];
}

/** The identity of a live process, or null when no such process exists (or it is a zombie). */
export async function readProcessIdentity(pid: number): Promise<ProcessIdentity | null> {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (process.platform === 'linux') return readFromProc(pid);
  return readFromPs(pid);
}

async function readFromProc(pid: number): Promise<ProcessIdentity | null> {
  let stat: string;
  let cmdline: string;
  try {
    [stat, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: fields resume after the LAST ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return null;
  const startTime = fields[19]; // field 22 overall: starttime
  if (startTime === undefined) return null;
  const argv = cmdline.split('\0');
  if (argv.at(-1) === '') argv.pop();
  return { pid, startTime, argv };
}

async function readFromPs(pid: number): Promise<ProcessIdentity | null> {
  try {
    const { stdout: lstart } = await execFileAsync('ps', ['-p', String(pid), '-o', 'lstart=']);
    const { stdout: command } = await execFileAsync('ps', ['-p', String(pid), '-o', 'command=']);
    if (!lstart.trim()) return null;
    // ps cannot give argv boundaries; split on spaces is enough to find our own flags.
    return { pid, startTime: lstart.trim(), argv: command.trim().split(/\s+/) };
  } catch {
    return null;
  }
}

/**
 * True when the recorded process is still alive: same pid and kernel start time (a reused pid has another
 * start time), and its command line is either the recorded one or still has `marker` (our node's data
 * directory) as a whole argument — a process may rewrite its own argv (process.title), the start time cannot change.
 */
export async function isSameProcess(recorded: ProcessIdentity, marker: string): Promise<boolean> {
  const now = await readProcessIdentity(recorded.pid);
  if (!now || now.startTime !== recorded.startTime) return false;
  // An exiting process has already given up its memory (so /proc shows no argv) but may still hold its
  // files and sockets — the database lock, the ports — until it becomes a zombie: it is not gone yet.
  if (now.argv.length === 0) return true;
  if (now.argv.join('\0') === recorded.argv.join('\0')) return true;
  return now.argv.includes(marker);
}

/**
 * Live processes whose argv contains `arg` as one whole argument (Linux; elsewhere an empty list).
 * Finds a node process even when its pid file is missing, e.g. a control plane killed between
 * spawning the process and recording its pid.
 */
export async function findProcessesWithArg(arg: string): Promise<ProcessIdentity[]> {
  if (process.platform !== 'linux') return [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => pid !== process.pid);
  const matches = await Promise.all(
    pids.map(async (pid) => {
      try {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmdline.includes(arg) || !cmdline.split('\0').includes(arg)) return null;
      } catch {
        return null; // gone meanwhile, or not ours to read
      }
      return readProcessIdentity(pid);
    }),
  );
  return matches.filter((m): m is ProcessIdentity => m !== null);
}
