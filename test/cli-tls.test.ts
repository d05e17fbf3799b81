// HTTPS: with a certificate configured the API is served over TLS, and SIGHUP reloads the certificate
// without a restart (api.md §1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { test } from 'node:test';
import { startServerProcess } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

function makeCert(dir: string, cn: string): boolean {
  const res = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
  return res.status === 0;
}

/** GET over HTTPS trusting only `ca`; resolves the status and the certificate the server presented. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; certSubject: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = '';
      const cert = (res.socket as TLSSocket).getPeerX509Certificate?.();
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, certSubject: cert?.subject ?? '', body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves HTTPS with the configured certificate and reloads it on SIGHUP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'allotrope-tls-'));
  try {
    if (!makeCert(dir, 'first')) {
      t.skip('openssl is not available to make a test certificate');
      return;
    }
    const server = await startServerProcess({ env: { ALLOTROPE_TLS_CERT: join(dir, 'cert.pem'), ALLOTROPE_TLS_KEY: join(dir, 'key.pem') } });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const first = await httpsGet(`${server.url}/healthz`, readFileSync(join(dir, 'cert.pem')));
      assert.equal(first.status, 200);
      assert.equal(first.certSubject, 'CN=first');

      assert.ok(makeCert(dir, 'second'));
      const secondCa = readFileSync(join(dir, 'cert.pem'));
      assert.equal(new X509Certificate(secondCa).subject, 'CN=second');
      server.child.kill('SIGHUP');
      const reloaded = await waitFor(async () => {
        const res = await httpsGet(`${server.url}/healthz`, secondCa).catch(() => null);
        return res?.certSubject === 'CN=second' ? res : null;
      }, { what: 'the reloaded certificate' });
      assert.equal(reloaded.status, 200);
      assert.equal(server.child.exitCode, null, 'still running');
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
