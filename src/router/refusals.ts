// What a client the router will not forward gets: a Bolt client a real handshake answer and then a FAILURE
// (drivers show its code and message; a silent close would read as a network fault), an HTTP client a JSON
// error in the Query API's shape.
import type net from 'node:net';
import { chunkMessage } from '../graph-server/bolt/chunking.js';
import { HANDSHAKE_BYTES, SUPPORTED_VERSIONS, negotiate, versionBytes } from '../graph-server/bolt/handshake.js';
import { Structure, packValue } from '../graph-server/bolt/packstream.js';

const FAILURE = 0x7f;
const SUCCESS = 0x70;
// Up to 5.6 a FAILURE is {code, message}; later versions want the GQL shape, which a refusal does not need.
const REFUSAL_VERSIONS = SUPPORTED_VERSIONS.filter((v) => v.major < 5 || v.minor <= 4);

export interface Refusal {
  code: string;
  message: string;
  httpStatus: number;
}

/**
 * Answers the handshake in `head` (more bytes are read from `socket` as needed), then the client's login with
 * FAILURE and closes. From Bolt 5.1 (HELLO without credentials, then LOGON) HELLO gets SUCCESS and LOGON the
 * FAILURE, as Neo4j refuses a login: drivers take a failed HELLO for a protocol error and drop its code.
 */
export function refuseBolt(socket: net.Socket, head: Buffer, refusal: Refusal): void {
  let buffered = head;
  let version: { major: number; minor: number } | null = null;
  let messages = 0;
  const timer = setTimeout(() => socket.destroy(), 10_000);
  timer.unref();
  const onData = (data: Buffer): void => {
    buffered = Buffer.concat([buffered, data]);
    step();
  };
  const step = (): void => {
    if (!version) {
      if (buffered.length < HANDSHAKE_BYTES) return;
      const choice = negotiate(buffered.subarray(4, HANDSHAKE_BYTES), { manifest: false, versions: REFUSAL_VERSIONS });
      if (choice.kind !== 'version') {
        socket.end(versionBytes(null));
        return finish();
      }
      version = choice.version;
      socket.write(versionBytes(version));
      buffered = buffered.subarray(HANDSHAKE_BYTES);
    }
    const logonSeparate = version.major > 5 || (version.major === 5 && version.minor >= 1);
    for (let end = messageEnd(buffered); end > 0; end = messageEnd(buffered)) {
      buffered = buffered.subarray(end);
      messages += 1;
      if (messages === 1 && logonSeparate) {
        socket.write(chunkMessage(packValue(new Structure(SUCCESS, [{ server: 'Neo4j/5.26.0', connection_id: 'router-refusal' }]))));
        continue;
      }
      socket.end(chunkMessage(packValue(new Structure(FAILURE, [{ code: refusal.code, message: refusal.message }]))));
      return finish();
    }
  };
  const finish = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
  };
  socket.on('data', onData);
  socket.resume();
  step();
}

/** Length of the first complete chunked message in `buf` (through its 00 00 end marker), or 0. */
function messageEnd(buf: Buffer): number {
  let at = 0;
  while (at + 2 <= buf.length) {
    const size = buf.readUInt16BE(at);
    at += 2 + size;
    if (size === 0) return at;
  }
  return 0;
}

export function refuseHttp(socket: net.Socket, refusal: Refusal): void {
  const body = JSON.stringify({ error: refusal.message, errors: [{ code: refusal.code, message: refusal.message }] });
  const reason = refusal.httpStatus === 403 ? 'Forbidden' : refusal.httpStatus === 503 ? 'Service Unavailable' : 'Error';
  socket.end(
    `HTTP/1.1 ${refusal.httpStatus} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n` +
      (refusal.httpStatus === 503 ? 'retry-after: 5\r\n' : '') +
      `\r\n${body}`,
  );
}
