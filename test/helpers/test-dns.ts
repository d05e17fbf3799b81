// Names under a test domain resolve to a loopback address in this process. Stubbed because no DNS
// server here answers for them; the drivers still connect by name, so TLS carries it as the server
// name (SNI) and checks the certificate against it, as they would against a real domain.
import dns from 'node:dns';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** Makes `*.<domain>` resolve to `address` (IPv4) for every `dns.lookup` caller; returns the undo. */
export function resolveDomainTo(domain: string, address: string): () => void {
  const real = dns.lookup;
  const suffix = `.${domain.toLowerCase()}`;
  const stub = (host: string, options: unknown, callback?: LookupCallback) => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
    if (typeof host === 'string' && host.toLowerCase().endsWith(suffix)) {
      process.nextTick(() => (opts.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)));
      return;
    }
    return (real as (...a: unknown[]) => void)(host, options, callback);
  };
  (dns as { lookup: unknown }).lookup = stub;
  return () => {
    (dns as { lookup: unknown }).lookup = real;
  };
}
