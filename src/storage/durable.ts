// Makes a rename in `dir` durable: fsync of the directory itself. Some filesystems refuse fsync on a
// directory; that is harmless, because the rename is atomic either way.
import { open } from 'node:fs/promises';

export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort: see above
  }
}
