// TLS termination for the router's shared port: the router accepts a raw socket, sniffs a ClientHello,
// and hands the socket here with the bytes it already read. The handshake runs against the current
// secure context (the configured certificate, or a self-signed one made once), and the server name the
// client sent (SNI) says which database it wants: `<database id>.<public host>`.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { normalizeId } from '../ids.js';
import { ensureSelfSigned } from './self-signed.js';

export type RouterTlsOptions = (
  | { certFile: string; keyFile: string }
  | {
      /** Made once in `dir`, reused across restarts; names each host, `*.<host>`, and loopback. */
      selfSigned: { dir: string; hosts: string[] };
    }
) & {
  /** Time a client has to finish the handshake after its first byte (default 10 s). */
  handshakeTimeoutMs?: number;
};

export interface RouterTls {
  /**
   * Runs the server side of the handshake on `raw`. `head`: bytes already read from `raw` (they are
   * put back first). The caller must have stopped reading `raw` (no 'data' listener left). Rejects,
   * with `raw` destroyed, when the handshake fails or takes longer than the handshake timeout.
   */
  terminate(raw: Socket, head: Buffer): Promise<{ socket: TLSSocket; servername: string | null }>;
  /** Reads the files again (SIGHUP). On a broken file the current certificate stays and this rejects. */
  reload(): Promise<void>;
  /** The certificate (chain) clients should trust: the self-signed certificate or the configured chain. */
  caPem(): string;
  /** Whether the certificate is the generated self-signed one (connection URLs then say `+ssc`). */
  readonly selfSigned: boolean;
  /** Files in use. */
  readonly certFile: string;
  readonly keyFile: string;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Where the self-signed certificate is kept in the data directory. */
export const SELF_SIGNED_DIR = 'router-tls';

/** The options createRouterTls takes for this configuration; null when router TLS is off. */
export function routerTlsOptions(config: Pick<Config, 'routerTls' | 'dataDir' | 'publicHost'>): RouterTlsOptions | null {
  const t = config.routerTls;
  if (t.mode === 'off') return null;
  if (t.mode === 'self-signed') return { selfSigned: { dir: join(config.dataDir, SELF_SIGNED_DIR), hosts: [config.publicHost] }, handshakeTimeoutMs: t.handshakeTimeoutMs };
  return { certFile: t.cert!, keyFile: t.key!, handshakeTimeoutMs: t.handshakeTimeoutMs };
}

interface Loaded {
  context: SecureContext;
  certPem: string;
}

/** Reads and checks a certificate/key pair; the error names the file and what is wrong. */
async function load(certFile: string, keyFile: string): Promise<Loaded> {
  const read = async (what: string, file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`router TLS ${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const [certPem, keyPem] = await Promise.all([read('certificate', certFile), read('key', keyFile)]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`router TLS certificate ${certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  if (Date.parse(leaf.validTo) < Date.now()) throw new Error(`router TLS certificate ${certFile}: expired on ${leaf.validTo}`);
  let context: SecureContext;
  try {
    context = createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    // OpenSSL's words ("key values mismatch", "bad decrypt", …), never the key itself.
    throw new Error(`router TLS key ${keyFile} with certificate ${certFile}: ${(err as Error).message}`);
  }
  return { context, certPem };
}

export async function createRouterTls(opts: RouterTlsOptions): Promise<RouterTls> {
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let certFile: string;
  let keyFile: string;
  let selfSigned = false;
  if ('selfSigned' in opts) {
    const made = await ensureSelfSigned(opts.selfSigned.dir, opts.selfSigned.hosts);
    certFile = made.certFile;
    keyFile = made.keyFile;
    selfSigned = true;
  } else {
    certFile = opts.certFile;
    keyFile = opts.keyFile;
  }
  let current = await load(certFile, keyFile);

  const terminate = (raw: Socket, head: Buffer): Promise<{ socket: TLSSocket; servername: string | null }> =>
    new Promise((resolve, reject) => {
      raw.pause();
      // The handshake and Bolt's request/response are small writes: Nagle's algorithm against the
      // client's delayed ACKs would add ~40 ms to each exchange.
      raw.setNoDelay(true);
      if (head.length > 0) raw.unshift(head);
      // The context is taken now: a reload during this handshake does not change it.
      const socket = new TLSSocket(raw, { isServer: true, secureContext: current.context, requestCert: false, rejectUnauthorized: false });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        raw.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`TLS handshake not completed within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs);
      timer.unref();
      const onError = (err: Error) => fail(new Error(`TLS handshake failed: ${err.message}`));
      const onClose = () => fail(new Error('TLS handshake failed: the client closed the connection'));
      socket.once('error', onError);
      socket.once('close', onClose);
      // 'secure': the server side of a TLSSocket made with `new` finished its handshake.
      socket.once('secure', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onClose);
        const name = (socket as TLSSocket & { servername?: string | false }).servername;
        resolve({ socket, servername: typeof name === 'string' && name !== '' ? name : null });
      });
    });

  return {
    terminate,
    async reload() {
      // Files of a self-signed certificate are read again too (an operator may have replaced them).
      current = await load(certFile, keyFile);
    },
    caPem: () => current.certPem,
    selfSigned,
    certFile,
    keyFile,
  };
}

/**
 * The database a TLS server name asks for: `<32-hex id>.<publicHost>` (any case; a dashed UUID is
 * accepted) gives the id in its canonical form, anything else null.
 */
export function databaseIdFromServername(servername: string | null, publicHost: string): string | null {
  if (!servername) return null;
  const name = servername.toLowerCase().replace(/\.$/, '');
  const suffix = `.${publicHost.toLowerCase().replace(/\.$/, '')}`;
  if (suffix.length < 2 || !name.endsWith(suffix)) return null;
  const label = name.slice(0, -suffix.length);
  if (!/^[0-9a-f-]+$/.test(label)) return null;
  return normalizeId(label);
}
