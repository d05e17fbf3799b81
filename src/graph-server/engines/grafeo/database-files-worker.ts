// Worker thread for database-files.ts: takes one job, answers it, and is terminated by its owner.
import { parentPort } from 'node:worker_threads';
import { backupStoppedHere, inspectFileHere, verifyFileHere, type FileJob, type FileReply } from './database-files.js';

const port = parentPort;
if (!port) throw new Error('database-files-worker must run in a worker thread');

port.once('message', (job: FileJob) => {
  void (async (): Promise<FileReply> => {
    try {
      if (job.op === 'inspect') return { ok: true, value: inspectFileHere(job.path) };
      if (job.op === 'verify') return { ok: true, value: verifyFileHere(job.path) };
      if (job.op === 'dump-cypher') {
        // Loaded only for this job: the dump needs the whole engine adapter.
        const { dumpCypherToFile } = await import('./cypher-dump.js');
        return { ok: true, value: await dumpCypherToFile(job.grafeoFile, job.target) };
      }
      await backupStoppedHere(job.dataDir, job.targetDir);
      return { ok: true, value: null };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err), name: err instanceof Error ? err.name : 'Error' };
    }
  })().then((reply) => port.postMessage(reply));
});
