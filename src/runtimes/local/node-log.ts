// The child's stdout and stderr go straight into a file it holds itself (not a pipe through us), so a
// node keeps running and logging when the control plane is killed. The size cap is kept by rotating at
// start and by copy-then-truncate while it runs: the child writes with O_APPEND, so after a truncate its
// next line lands at the new end of the file instead of leaving a hole.
import { constants } from 'node:fs';
import { copyFile, mkdir, open, rename, stat, truncate } from 'node:fs/promises';
import type { NodePaths } from './node-files.js';

export interface ChildLog {
  fd: number;
  /** Size of the log when the child was given it: its own output starts here. */
  offset: number;
  close(): Promise<void>;
}

export async function openChildLog(paths: NodePaths, maxBytes: number): Promise<ChildLog> {
  await mkdir(paths.logDir, { recursive: true });
  const size = await fileSize(paths.logFile);
  if (size >= maxBytes) await rename(paths.logFile, `${paths.logFile}.1`);
  const handle = await open(paths.logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  const offset = size >= maxBytes ? 0 : size;
  return { fd: handle.fd, offset, close: () => handle.close() };
}

/** Keep the live log under `maxBytes`; the previous content survives once as `<log>.1`. */
export async function capChildLog(paths: NodePaths, maxBytes: number): Promise<void> {
  if ((await fileSize(paths.logFile)) <= maxBytes) return;
  await copyFile(paths.logFile, `${paths.logFile}.1`);
  await truncate(paths.logFile, 0);
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Incremental reader of the child's output from `offset`, yielding complete lines. */
export class LogTail {
  #offset: number;
  #partial = '';
  readonly #file: string;

  constructor(file: string, offset: number) {
    this.#file = file;
    this.#offset = offset;
  }

  async readLines(): Promise<string[]> {
    let handle;
    try {
      handle = await open(this.#file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      if (size < this.#offset) this.#offset = 0; // truncated by the size cap
      if (size === this.#offset) return [];
      const length = Math.min(size - this.#offset, 1 << 20);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.#offset);
      this.#offset += bytesRead;
      const text = this.#partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      this.#partial = lines.pop() ?? '';
      return lines;
    } finally {
      await handle.close();
    }
  }

  /** The last bytes read but not yet ended by a newline (for error messages). */
  get pending(): string {
    return this.#partial;
  }
}
