// Newline-delimited JSON read from a byte stream (a socket): one JSON value per line, with chunks split
// anywhere (mid-line, mid-character) and several lines in one chunk. Used by both ends of the
// query-check service's socket. An unfinished line longer than the bound stops the reader: a peer
// sending one is broken or hostile, and buffering it would only grow memory.
import { StringDecoder } from 'node:string_decoder';

/** No line on the query-check socket comes near this (graph-servers check texts up to 8 kB). */
export const NDJSON_MAX_LINE_CHARS = 1_000_000;

export interface NdjsonReaderOptions {
  /** Each line's value, in order; return `false` to stop reading (the caller closes the stream). */
  onMessage(value: unknown): boolean | undefined | void;
  /** A line that is not JSON, or an unfinished line over the bound: reading stops after this call. */
  onInvalid(reason: 'not-json' | 'too-long'): void;
  /** Longest unfinished line kept, in characters (default NDJSON_MAX_LINE_CHARS). */
  maxLineChars?: number;
}

/** A `data` listener that parses the stream's lines; after a stop it ignores whatever else arrives. */
export function ndjsonReader(options: NdjsonReaderOptions): (chunk: Buffer | string) => void {
  const max = options.maxLineChars ?? NDJSON_MAX_LINE_CHARS;
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let stopped = false;
  return (chunk) => {
    if (stopped) return;
    buffered += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        stopped = true;
        options.onInvalid('not-json');
        return;
      }
      if (options.onMessage(value) === false) {
        stopped = true;
        return;
      }
    }
    if (buffered.length > max) {
      stopped = true;
      buffered = '';
      options.onInvalid('too-long');
    }
  };
}
