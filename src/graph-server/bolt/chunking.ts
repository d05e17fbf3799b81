// Bolt message framing: each message is a run of `u16 size + bytes` chunks closed by `00 00`.
// TCP (and WebSocket frames) may split anywhere, so the dechunker is a byte-level state machine.
import { ProtocolError } from './protocol-error.js';

export const MAX_CHUNK_SIZE = 0xffff;
/** Default bound for one reassembled message; larger ones are refused instead of buffered. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class Dechunker {
  private headerByte: number | null = null;
  private chunkRemaining = 0;
  private parts: Buffer[] = [];
  private messageBytes = 0;

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** Feeds bytes; returns the complete messages they finish (NOOP chunks are dropped). */
  push(data: Buffer): Buffer[] {
    const messages: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (this.chunkRemaining > 0) {
        const take = Math.min(this.chunkRemaining, data.length - pos);
        this.parts.push(data.subarray(pos, pos + take));
        pos += take;
        this.chunkRemaining -= take;
        continue;
      }
      const b = data[pos++] as number;
      if (this.headerByte === null) {
        this.headerByte = b;
        continue;
      }
      const size = (this.headerByte << 8) | b;
      this.headerByte = null;
      if (size === 0) {
        // End of message, or a NOOP keep-alive when no message is open.
        if (this.messageBytes > 0) {
          messages.push(this.parts.length === 1 ? Buffer.from(this.parts[0] as Buffer) : Buffer.concat(this.parts));
          this.parts = [];
          this.messageBytes = 0;
        }
        continue;
      }
      this.messageBytes += size;
      if (this.messageBytes > this.maxMessageBytes) {
        throw new ProtocolError(`message larger than ${this.maxMessageBytes} bytes`);
      }
      this.chunkRemaining = size;
    }
    return messages;
  }
}

/** Frames one encoded message into chunks of at most 65535 bytes plus the `00 00` terminator. */
export function chunkMessage(message: Uint8Array): Buffer {
  const chunks = Math.ceil(message.length / MAX_CHUNK_SIZE);
  const out = Buffer.allocUnsafe(message.length + chunks * 2 + 2);
  let o = 0;
  for (let pos = 0; pos < message.length; pos += MAX_CHUNK_SIZE) {
    const size = Math.min(MAX_CHUNK_SIZE, message.length - pos);
    out.writeUInt16BE(size, o);
    out.set(message.subarray(pos, pos + size), o + 2);
    o += size + 2;
  }
  out.writeUInt16BE(0, o);
  return out;
}
