// Worker thread for grafeo-files.ts: takes one job, answers it, and is terminated by its owner.
import { parentPort } from 'node:worker_threads';
import { backupStoppedHere, inspectFileHere, type FileJob, type FileReply } from './grafeo-files.js';

const port = parentPort;
if (!port) throw new Error('grafeo-files-worker must run in a worker thread');

port.once('message', (job: FileJob) => {
  void (async (): Promise<FileReply> => {
    try {
      if (job.op === 'inspect') return { ok: true, value: inspectFileHere(job.path) };
      await backupStoppedHere(job.dataDir, job.targetDir);
      return { ok: true, value: null };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  })().then((reply) => port.postMessage(reply));
});
