// Neo4j Browser's static files under /browser/, from the directory `allotrope engines install neo4j`
// unpacks (scripts/install-neo4j.mjs). Only regular files inside that directory are served: every
// path is decoded segment by segment, resolved, and checked again after symlinks are followed.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

export const BROWSER_PATH = '/browser';

const NOT_INSTALLED =
  "Neo4j Browser is not installed on this machine. It comes with the Neo4j engine: run 'allotrope engines install neo4j', then restart this database.\n";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.mp4': 'video/mp4',
  '.wasm': 'application/wasm',
};

export function isBrowserPath(pathname: string): boolean {
  return pathname === BROWSER_PATH || pathname.startsWith(`${BROWSER_PATH}/`);
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The path under the browser directory that `pathname` (already past /browser/) names, as segments,
 * or null when a segment decodes to something that could leave the directory or is not a name.
 */
function segmentsOf(rest: string): string[] | null {
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === '' || segment === '.') continue;
    if (segment === '..' || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

/** Serves GET/HEAD under /browser from `dir` (undefined: answers that the Browser is not installed). */
export function createBrowserFiles(dir: string | undefined) {
  let root: Promise<string> | null = null;

  return async function serveBrowser(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Neo4j Browser files are read with GET or HEAD.\n', { allow: 'GET, HEAD' });
    // The query string carries the connection (?dbms=…): keep it across the redirect.
    if (url.pathname === BROWSER_PATH) return plain(res, 301, 'Moved to /browser/\n', { location: `${BROWSER_PATH}/${url.search}` });
    if (dir === undefined) return plain(res, 404, NOT_INSTALLED);

    const segments = segmentsOf(url.pathname.slice(BROWSER_PATH.length + 1));
    if (segments === null) return plain(res, 400, 'Invalid path.\n');
    if (segments.length === 0) segments.push('index.html');
    const notFound = () => plain(res, 404, `Not found: ${BROWSER_PATH}/${segments.join('/')}\n`);

    root ??= realpath(dir).catch(() => {
      root = null;
      return '';
    });
    const base = await root;
    if (!base) return plain(res, 404, NOT_INSTALLED);
    let file: string;
    let size: number;
    try {
      // Followed symlinks must still land inside the directory.
      file = await realpath(join(base, ...segments));
      if (!file.startsWith(base + sep)) return notFound();
      const info = await stat(file);
      if (!info.isFile()) return notFound();
      size = info.size;
    } catch {
      return notFound();
    }
    const isHtml = extname(file).toLowerCase() === '.html';
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': size,
      'x-content-type-options': 'nosniff',
      // The bundles' names carry their content hash; index.html names them, so it is checked each time.
      'cache-control': isHtml ? 'no-cache' : 'public, max-age=86400',
    });
    if (req.method === 'HEAD') return void res.end();
    await new Promise<void>((resolve) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  };
}
