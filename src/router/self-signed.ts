// The router's quick-start certificate: made once with @peculiar/x509 (no openssl at run time), kept in
// a directory of its own (key mode 0600) and reused across restarts while it still names every host
// asked for and is not about to expire. Clients trust it with `+ssc` URLs or by the CA file it is.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import { createPrivateKey, webcrypto, X509Certificate, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

export const SELF_SIGNED_CERT = 'router-cert.pem';
export const SELF_SIGNED_KEY = 'router-key.pem';
const VALID_DAYS = 3650;
/** A stored certificate closer than this to its end is made again. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** `[::1]` → `::1`; anything else as given, lower-cased. */
function bare(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The names a certificate for `hosts` carries: each host, `*.<host>` for names, and loopback. */
export function selfSignedNames(hosts: string[]): { dns: string[]; ips: string[] } {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const raw of hosts) {
    const h = bare(raw);
    if (h === '') continue;
    if (isIP(h)) ips.add(h);
    else {
      dns.add(h);
      dns.add(`*.${h}`);
    }
  }
  return { dns: [...dns], ips: [...ips] };
}

/** Whether the stored certificate still serves: parses, names every host, and is not near its end. */
function stillGood(pem: string, keyPem: string, names: { dns: string[]; ips: string[] }, now: number): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
  } catch {
    return false;
  }
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS || Date.parse(cert.validFrom) > now + 60_000) return false;
  // `*.<host>` is checked through a name it must cover.
  const dnsOk = names.dns.every((n) => cert.checkHost(n.startsWith('*.') ? `x${n.slice(1)}` : n, { wildcards: true }) !== undefined);
  return dnsOk && names.ips.every((ip) => cert.checkIP(ip) !== undefined);
}

async function makeCertificate(names: { dns: string[]; ips: string[] }, now: number): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // Serial numbers are positive: clear the top bit of 16 random bytes.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=Allotrope router (self-signed), O=Allotrope`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      // Its own issuer: clients that take it as a CA file (trustedCertificates) anchor on it.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n' };
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The self-signed certificate and key files in `dir` for `hosts`, made when missing, unreadable as a
 * certificate, not naming every host, or within 30 days of expiry. Returns their paths and whether they
 * were made now.
 */
export async function ensureSelfSigned(dir: string, hosts: string[], now = Date.now()): Promise<{ certFile: string; keyFile: string; created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, SELF_SIGNED_CERT);
  const keyFile = join(dir, SELF_SIGNED_KEY);
  const names = selfSignedNames(hosts);
  const [certPem, keyPem] = await Promise.all([readIfThere(certFile), readIfThere(keyFile)]);
  if (certPem !== null && keyPem !== null && stillGood(certPem, keyPem, names, now)) {
    // A key someone loosened is tightened again.
    if (((await stat(keyFile)).mode & 0o077) !== 0) await chmod(keyFile, 0o600);
    return { certFile, keyFile, created: false };
  }
  const made = await makeCertificate(names, now);
  // Key first, each by rename: a crash leaves either the old pair or a new key beside an old
  // certificate, which the next start finds mismatched (checkPrivateKey) and replaces.
  await writeFile(`${keyFile}.tmp`, made.keyPem, { mode: 0o600 });
  await chmod(`${keyFile}.tmp`, 0o600);
  await rename(`${keyFile}.tmp`, keyFile);
  await writeFile(`${certFile}.tmp`, made.certPem, { mode: 0o644 });
  await rename(`${certFile}.tmp`, certFile);
  return { certFile, keyFile, created: true };
}
