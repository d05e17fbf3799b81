// The database's UUID, kept in its data directory by either engine: element ids carry it, and a restore
// keeps the file (runtimes/local/data-dir.ts), so ids a client holds stay valid.
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file holding it in a graph-server data directory. */
export const DATABASE_ID_FILE = 'database-id';

/** The database's UUID, made on first start and kept in the data dir: element ids carry it. */
export async function databaseUuid(dataDir: string): Promise<string> {
  const file = join(dataDir, DATABASE_ID_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f-]{36}$/i.test(text)) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  await writeFile(`${file}.tmp`, id + '\n', { mode: 0o644 });
  await rename(`${file}.tmp`, file);
  return id;
}
