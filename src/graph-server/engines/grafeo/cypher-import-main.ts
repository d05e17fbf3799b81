// Child process of cypher-import.ts: loads one Cypher script file into a fresh database directory and
// reports the counts (or the error, with its class name) over IPC, then exits.
import { createReadStream } from 'node:fs';
import { loadCypher } from './cypher-dump.js';

const [scriptFile, targetDir] = process.argv.slice(2);
if (!process.send || !scriptFile || !targetDir) throw new Error('usage: fork cypher-import-main <script file> <target dir> with an IPC channel');
const send = (reply: unknown, then: () => void): void => void process.send!(reply, undefined, {}, then);

try {
  const value = await loadCypher(createReadStream(scriptFile), targetDir);
  send({ ok: true, value }, () => process.exit(0));
} catch (err) {
  send({ ok: false, message: err instanceof Error ? err.message : String(err), name: err instanceof Error ? err.name : 'Error' }, () => process.exit(1));
}
