// `GET /downloads/<key>?expires=…&name=…&signature=…`: the signed links of the local blob store. No
// token: the link itself is the credential (HMAC over key, expiry and file name), so this plugin must be
// registered outside the authenticated scope. Expired or altered links answer 403, a file deleted since
// 404 (the store's errors, mapped in src/api/errors.ts); one file per link.
import type { FsBlobStore } from '../../storage/fs.js';
import type { Clock } from '../../clock.js';
import type { ApiInstance, RoutePlugin } from '../types.js';
import { DownloadQuery } from '../schemas/backups.js';
import { errorResponses } from '../schemas/common.js';

export function downloadRoutes(deps: { blobStore: FsBlobStore; clock: Clock }): RoutePlugin {
  return async (app: ApiInstance): Promise<void> => {
    app.get(
      '/downloads/*',
      {
        schema: {
          tags: ['backups'],
          summary: 'Download an export through its signed link (no token needed; the link expires)',
          security: [],
          querystring: DownloadQuery,
          response: errorResponses(403, 404),
        },
      },
      async (request, reply) => {
        const key = (request.params as { '*': string })['*'];
        const download = await deps.blobStore.openSignedDownload(
          { key, expires: request.query.expires, signature: request.query.signature, name: request.query.name },
          deps.clock.now(),
        );
        reply.header('Content-Type', 'application/octet-stream');
        reply.header('Content-Length', String(download.sizeBytes));
        reply.header('Content-Disposition', download.contentDisposition);
        reply.header('Cache-Control', 'private, no-store');
        return reply.send(download.stream);
      },
    );
  };
}
