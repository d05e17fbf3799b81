// Database files outside a graph-server, in a worker thread: counts of a file, and the backup of a stopped
// node's data dir — including one whose process was SIGKILLed (committed data only in the WAL), one that
// never held a file (an empty database) and one that no longer exists (refused).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASE_FILE, backupStoppedDatabase, dumpCypherInWorker, inspectGrafeoFile } from '../src/graph-server/engines/grafeo/database-files.js';

const requireCjs = createRequire(import.meta.url);
const grafeoPath = requireCjs.resolve('@grafeo-db/js');
const { GrafeoDB } = requireCjs('@grafeo-db/js') as typeof import('@grafeo-db/js');

/** Writes `nodes` nodes in a child process that is SIGKILLed once they are committed: no checkpoint, no close. */
async function crashAfterWriting(file: string, nodes: number): Promise<void> {
  const script = `
    const { GrafeoDB } = require(${JSON.stringify(grafeoPath)});
    const db = GrafeoDB.open(${JSON.stringify(file)});
    db.executeCypher('UNWIND range(1, ${nodes}) AS i CREATE (:Crash {i: i})').then(() => {
      process.stdout.write('committed\\n');
      setInterval(() => {}, 1000);
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('committed')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited with ${code} before committing`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('grafeo files in a worker thread', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-grafeo-files-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up a data dir whose process was killed, WAL included, and counts the backup', async () => {
    const dataDir = join(dir, 'crashed');
    await mkdir(dataDir);
    await crashAfterWriting(join(dataDir, DATABASE_FILE), 1234);
    assert.ok((await readdir(dataDir)).some((f) => f.endsWith('.wal')), 'the crash left a WAL behind');
    const target = join(dir, 'crashed-backup');
    await backupStoppedDatabase(dataDir, target);
    const full = (await readdir(target)).find((f) => /^backup_full_\d+\.grafeo$/.test(f));
    assert.ok(full, 'a full backup file');
    const info = await inspectGrafeoFile(join(target, full));
    assert.equal(info.nodes, 1234);
    assert.equal(info.relationships, 0);
    assert.match(info.engineVersion, /^\d+\.\d+/);
  });

  it('gives the backup of an empty database for a data dir without a database file', async () => {
    const dataDir = join(dir, 'never-started');
    await mkdir(dataDir);
    const target = join(dir, 'empty-backup');
    await backupStoppedDatabase(dataDir, target);
    const full = (await readdir(target)).find((f) => /^backup_full_\d+\.grafeo$/.test(f))!;
    assert.deepEqual(await inspectGrafeoFile(join(target, full)).then((i) => [i.nodes, i.relationships]), [0, 0]);
    assert.deepEqual(await readdir(dataDir), [], 'nothing was created in the data dir');
  });

  it('dumps a database file as Cypher in a worker, and keeps the class name of a refusal', async () => {
    const file = join(dir, 'dump-source.grafeo');
    const db = GrafeoDB.create(file);
    await db.executeCypher("CREATE (:P {name: 'a'})-[:R]->(:P {name: 'b'})");
    db.close();
    const counts = await dumpCypherInWorker(file, join(dir, 'dump.cypher'));
    assert.deepEqual([counts.nodes, counts.relationships], [2, 1]);
    assert.match(await readFile(join(dir, 'dump.cypher'), 'utf8'), /name: 'b'/);
    // Byte arrays have no Cypher literal: the dump refuses, and the caller can still tell why.
    const bytes = join(dir, 'bytes.grafeo');
    const withBytes = GrafeoDB.create(bytes);
    await withBytes.executeCypher('CREATE (:B {b: $b})', { b: new Uint8Array([1, 2, 3]) });
    withBytes.close();
    await assert.rejects(dumpCypherInWorker(bytes, join(dir, 'bytes.cypher')), (err: Error) => err.name === 'CypherScriptError' && /byte array/.test(err.message));
  });

  it('refuses a data dir that does not exist, and a file that is not a database', async () => {
    await assert.rejects(backupStoppedDatabase(join(dir, 'destroyed'), join(dir, 'nothing')), /data directory .* does not exist/);
    assert.equal(existsSync(join(dir, 'nothing')), false);
    await assert.rejects(inspectGrafeoFile(join(dir, 'no-such.grafeo')));
  });
});
