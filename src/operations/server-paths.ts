// Operation messages are shown to API callers, who have no business knowing the server's layout (data
// directory, temp dirs, runtime roots). Absolute paths in them become `<server path>`; the full error,
// path included, goes to the server log.

/** API paths that messages name on purpose ("see GET /deployments/plans"); never redacted. */
const API_PATH = /^\/(?:deployments|organizations|downloads|docs|openapi\.json|healthz|readyz|metrics|\.well-known|\{)/;

// A '/' that starts a token (not inside a URL, a word, `a/b` or `~/x`), then the path's characters.
const POSIX_PATH = /(?<![\w.:/~-])\/[^\s'"`,;()<>[\]{}]+/g;
const WINDOWS_PATH = /\b[A-Za-z]:\\[^\s'"`,;()<>[\]{}]*/g;

export const REDACTED_PATH = '<server path>';

/** `message` with every absolute filesystem path replaced by `<server path>`. */
export function hideServerPaths(message: string): string {
  return message.replace(POSIX_PATH, (path) => (API_PATH.test(path) ? path : REDACTED_PATH)).replace(WINDOWS_PATH, REDACTED_PATH);
}
