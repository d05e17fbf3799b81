import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { FetchRefusedError, hostMatches, safeFetch, type FetchRefusalReason, type ResolvedAddress, type SafeFetchOptions } from '../src/storage/safe-fetch.js';

const MIB = 1024 * 1024;

describe('safeFetch', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  const resolved: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.headers.host} ${req.url}`);
      const redirect = (location: string) => res.writeHead(302, { location }).end();
      switch (req.url) {
        case '/data':
          return res.writeHead(200, { 'content-type': 'application/gzip' }).end('hello import');
        case '/big':
          return res.writeHead(200, { 'content-length': String(2 * MIB) }).end(Buffer.alloc(2 * MIB));
        case '/big-chunked': {
          // No Content-Length: the cap has to be enforced while streaming.
          res.writeHead(200);
          let sent = 0;
          const more = () => {
            while (sent < 3 * MIB) {
              sent += 64 * 1024;
              if (!res.write(Buffer.alloc(64 * 1024))) return void res.once('drain', more);
            }
            res.end();
          };
          return more();
        }
        case '/to-data':
          return redirect('/data');
        case '/to-loopback-name':
          return redirect(`http://evil.test:${port}/secret`);
        case '/to-loopback-ip':
          return redirect(`http://127.0.0.1:${port}/secret`);
        case '/to-metadata':
          return redirect('http://169.254.169.254/latest/meta-data/iam/security-credentials/');
        case '/to-private-name':
          return redirect(`http://internal.test:${port}/secret`);
        case '/to-https-only':
          return redirect(`http://files.test:${port}/data`);
        case '/loop':
          return redirect('/loop');
        case '/missing':
          return res.writeHead(404).end('no');
        default:
          return res.writeHead(500).end();
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  // The test server can only listen on loopback, which the guard rightly refuses. So an injected
  // resolver maps test-only names (.test never exists in real DNS) to chosen addresses, and
  // trustAddress makes one narrow exception: the name files.test at 127.0.0.1. Every other name and
  // address goes through the real rules — including evil.test, which resolves to that very same
  // 127.0.0.1 and must be refused.
  const fakeDns: Record<string, ResolvedAddress[]> = {
    'files.test': [{ address: '127.0.0.1', family: 4 }],
    'evil.test': [{ address: '127.0.0.1', family: 4 }],
    'internal.test': [{ address: '10.0.0.5', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '192.168.1.10', family: 4 },
    ],
  };
  const options = (overrides: Partial<SafeFetchOptions> = {}): SafeFetchOptions => ({
    hostPatterns: ['*.test'],
    allowHttp: true,
    maxBytes: MIB,
    resolve: async (hostname) => {
      resolved.push(hostname);
      const answer = fakeDns[hostname];
      if (!answer) throw new Error(`ENOTFOUND ${hostname}`);
      return answer;
    },
    trustAddress: (address, hostname) => hostname === 'files.test' && address === '127.0.0.1',
    ...overrides,
  });

  async function expectRefused(url: string, reason: FetchRefusalReason, message: RegExp, opts = options()): Promise<void> {
    await assert.rejects(safeFetch(url, opts), (err: unknown) => {
      assert.ok(err instanceof FetchRefusedError, `expected FetchRefusedError, got ${String(err)}`);
      assert.equal(err.reason, reason, err.message);
      assert.match(err.message, message);
      return true;
    });
  }

  it('downloads from an allowed host, resolving it once and connecting to the checked address', async () => {
    resolved.length = 0;
    hits.length = 0;
    const download = await safeFetch(`http://files.test:${port}/data`, options());
    assert.equal((await buffer(download.body)).toString(), 'hello import');
    assert.equal(download.contentType, 'application/gzip');
    assert.equal(download.finalHost, 'files.test');
    assert.deepEqual(resolved, ['files.test']);
    // The request carried the name while the socket went to the pinned 127.0.0.1.
    assert.deepEqual(hits, [`files.test:${port} /data`]);
  });

  it('follows a relative redirect on an allowed host', async () => {
    const download = await safeFetch(`http://files.test:${port}/to-data`, options());
    assert.equal((await buffer(download.body)).toString(), 'hello import');
  });

  it('refuses 127.0.0.1 without connecting', async () => {
    hits.length = 0;
    await expectRefused(`http://127.0.0.1:${port}/secret`, 'address-not-allowed', /address 127\.0\.0\.1 is a loopback address/, options({ hostPatterns: ['*'] }));
    assert.deepEqual(hits, []);
  });

  it('refuses the cloud metadata address 169.254.169.254', async () => {
    await expectRefused('http://169.254.169.254/latest/meta-data/', 'address-not-allowed', /metadata/, options({ hostPatterns: ['*'] }));
  });

  it('refuses a private 10.x address', async () => {
    await expectRefused('http://10.1.2.3/backup.tar.gz', 'address-not-allowed', /10\.1\.2\.3 is a private address/, options({ hostPatterns: ['*'] }));
  });

  it('refuses [::1] and the IPv4-mapped ::ffff:127.0.0.1', async () => {
    hits.length = 0;
    await expectRefused(`http://[::1]:${port}/secret`, 'address-not-allowed', /loopback/, options({ hostPatterns: ['*'] }));
    await expectRefused(`http://[::ffff:127.0.0.1]:${port}/secret`, 'address-not-allowed', /loopback/, options({ hostPatterns: ['*'] }));
    assert.deepEqual(hits, []);
  });

  it('refuses localhost, a name the real resolver maps to loopback', async () => {
    hits.length = 0;
    const opts: SafeFetchOptions = { hostPatterns: ['localhost'], allowHttp: true, maxBytes: MIB };
    await expectRefused(`http://localhost:${port}/secret`, 'address-not-allowed', /host 'localhost' resolves to (127\.0\.0\.1|::1), which is a loopback address/, opts);
    assert.deepEqual(hits, []);
  });

  it('refuses a name with any private address among its answers', async () => {
    await expectRefused(`http://mixed.test:${port}/secret`, 'address-not-allowed', /resolves to 192\.168\.1\.10, which is a private address/);
  });

  it('re-checks redirects: to a name resolving to loopback, to a loopback IP, to metadata, to a private name', async () => {
    hits.length = 0;
    await expectRefused(`http://files.test:${port}/to-loopback-name`, 'address-not-allowed', /'evil\.test' resolves to 127\.0\.0\.1/);
    await expectRefused(`http://files.test:${port}/to-loopback-ip`, 'host-not-allowed', /host '127\.0\.0\.1' is not allowed/);
    await expectRefused(`http://files.test:${port}/to-loopback-ip`, 'address-not-allowed', /loopback/, options({ hostPatterns: ['*'] }));
    await expectRefused(`http://files.test:${port}/to-metadata`, 'host-not-allowed', /169\.254\.169\.254/);
    await expectRefused(`http://files.test:${port}/to-metadata`, 'address-not-allowed', /metadata/, options({ hostPatterns: ['*'] }));
    await expectRefused(`http://files.test:${port}/to-private-name`, 'address-not-allowed', /10\.0\.0\.5, which is a private/);
    // Only the redirecting requests reached the server; no /secret was ever requested.
    assert.ok(hits.length > 0 && hits.every((h) => !h.endsWith('/secret')), hits.join());
  });

  it('re-checks the protocol of a redirect', async () => {
    await expectRefused(`http://files.test:${port}/to-https-only`, 'protocol', /only https/, options({ allowHttp: false }));
  });

  it('stops after 5 redirects', async () => {
    hits.length = 0;
    await expectRefused(`http://files.test:${port}/loop`, 'too-many-redirects', /more than 5 redirects/);
    assert.equal(hits.length, 6);
  });

  it('refuses a body over the size cap from its Content-Length, with a 413-style error', async () => {
    await assert.rejects(safeFetch(`http://files.test:${port}/big`, options()), (err: unknown) => {
      return err instanceof FetchRefusedError && err.reason === 'too-large' && err.statusCode === 413 && /limit of 1048576 bytes/.test(err.message);
    });
  });

  it('cuts off a body without Content-Length once it passes the cap', async () => {
    const download = await safeFetch(`http://files.test:${port}/big-chunked`, options());
    assert.equal(download.contentLength, null);
    await assert.rejects(buffer(download.body), (err: unknown) => err instanceof FetchRefusedError && err.reason === 'too-large' && err.statusCode === 413);
  });

  it('reports an error status from the server as a failed download', async () => {
    await expectRefused(`http://files.test:${port}/missing`, 'http-status', /answered 404/);
  });

  it('by default allows only https on *.amazonaws.com', async () => {
    const defaults: SafeFetchOptions = { maxBytes: MIB };
    await expectRefused('http://bucket.s3.us-east-1.amazonaws.com/backup.tar.gz', 'protocol', /only https URLs/, defaults);
    await expectRefused('https://example.com/backup.tar.gz', 'host-not-allowed', /'example\.com' is not allowed.*\*\.amazonaws\.com/, defaults);
    await expectRefused('https://bucket.s3.amazonaws.com.attacker.net/x', 'host-not-allowed', /attacker/, defaults);
    await expectRefused('https://127.0.0.1/x', 'host-not-allowed', /127\.0\.0\.1/, defaults);
    await expectRefused('ftp://bucket.s3.amazonaws.com/x', 'protocol', /not ftp/, defaults);
    await expectRefused('https://user:secret@bucket.s3.amazonaws.com/x', 'invalid-url', /credentials/, defaults);
    await expectRefused('not a url', 'invalid-url', /not valid/, defaults);
  });

  it('never puts the query string (a presigned signature) in its messages', async () => {
    await assert.rejects(safeFetch('https://example.com/x?X-Amz-Signature=topsecret', { maxBytes: MIB }), (err: unknown) => {
      return err instanceof FetchRefusedError && !err.message.includes('topsecret');
    });
  });
});

describe('hostMatches', () => {
  it('matches exact names, subdomain wildcards and *', () => {
    assert.equal(hostMatches('bucket.s3.eu-west-1.amazonaws.com', ['*.amazonaws.com']), true);
    assert.equal(hostMatches('BUCKET.S3.AMAZONAWS.COM.', ['*.amazonaws.com']), true);
    assert.equal(hostMatches('amazonaws.com', ['*.amazonaws.com']), false);
    assert.equal(hostMatches('evilamazonaws.com', ['*.amazonaws.com']), false);
    assert.equal(hostMatches('amazonaws.com.evil.net', ['*.amazonaws.com']), false);
    assert.equal(hostMatches('files.example.org', ['example.org', 'files.example.org']), true);
    assert.equal(hostMatches('other.example.org', ['example.org']), false);
    assert.equal(hostMatches('anything', ['*']), true);
  });
});

describe('safeFetch over https', () => {
  let dir: string;
  let server: HttpsServer;
  let port: number;
  let cert: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-tls-'));
    // A throwaway self-signed certificate for files.test only.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=files.test', '-addext', 'subjectAltName=DNS:files.test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = await readFile(join(dir, 'cert.pem'), 'utf8');
    server = createHttpsServer({ key: await readFile(join(dir, 'key.pem')), cert }, (_req, res) => res.end('over tls'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    await rm(dir, { recursive: true, force: true });
  });

  // Same controlled exception as above: test names resolve through an injected table, and only the
  // listed name/address pairs are trusted despite being loopback.
  const tlsOptions = (): SafeFetchOptions => ({
    hostPatterns: ['*.test'],
    maxBytes: MIB,
    extraCaCertificates: [cert],
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    trustAddress: (address, hostname) => address === '127.0.0.1' && (hostname === 'files.test' || hostname === 'other.test'),
  });

  it('connects to the pinned address while verifying the certificate for the URL host name', async () => {
    const download = await safeFetch(`https://files.test:${port}/`, tlsOptions());
    assert.equal((await buffer(download.body)).toString(), 'over tls');
  });

  it('still refuses a certificate that does not name the host', async () => {
    await assert.rejects(safeFetch(`https://other.test:${port}/`, tlsOptions()), (err: unknown) => {
      return err instanceof FetchRefusedError && err.reason === 'network' && /other\.test/.test(err.message);
    });
  });
});
