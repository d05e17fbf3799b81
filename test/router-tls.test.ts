// The router's TLS front (src/router/tls.ts) with real parts: two real graph-server processes (Grafeo)
// behind a test-only forwarder that sniffs, terminates TLS through RouterTls and pipes to the node
// (test/helpers/tls-forwarder.ts stands in for the router core). Drivers 5 and 6 connect with
// `bolt+ssc`, `bolt+s`/`neo4j+s` and a CA file; two databases share one port by SNI; the Query API
// answers over HTTPS and Bolt over secure WebSocket; reload() swaps certificates and keeps the old one
// when the new file is broken; a silent client is cut at the handshake timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import neo4j6 from 'neo4j-driver';
import neo4j5 from 'neo4j-driver-5';
import WebSocket from 'ws';
import { newId } from '../src/ids.js';
import { ensureSelfSigned } from '../src/router/self-signed.js';
import { createRouterTls, databaseIdFromServername, type RouterTls } from '../src/router/tls.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';
import { resolveDomainTo } from './helpers/test-dns.js';
import { startForwarder, type Forwarder } from './helpers/tls-forwarder.js';
import { waitFor } from './helpers/wait-for.js';

const DOMAIN = 'allotrope.test';
// The front listens on a second loopback address so it can take each node's own Bolt port number there:
// a `neo4j+s://` driver follows the node's routing answer (`<id>.allotrope.test:<node bolt port>`) back to
// the front, as it will follow the router's.
const FRONT = '127.0.0.2';
const PASSWORD = 'router-tls-pw-1';
const drivers = [
  ['v6', neo4j6],
  ['v5', neo4j5],
] as const;

type Neo4j = typeof neo4j6;

async function names(mod: Neo4j, url: string, config: Record<string, unknown> = {}): Promise<string[]> {
  const driver = mod.driver(url, mod.auth.basic('neo4j', PASSWORD), config);
  try {
    const res = await driver.executeQuery('MATCH (n:Marker) RETURN n.name AS name ORDER BY name');
    return res.records.map((r) => r.get('name') as string);
  } finally {
    await driver.close();
  }
}

/** Connects once without retries (executeQuery retries for half a minute): for the refusals. */
async function connectOnce(mod: Neo4j, url: string, config: Record<string, unknown> = {}): Promise<void> {
  const driver = mod.driver(url, mod.auth.basic('neo4j', PASSWORD), config);
  try {
    await driver.verifyConnectivity();
  } finally {
    await driver.close();
  }
}

/** The SHA-256 fingerprint of the certificate the front presents for `servername`. */
function presented(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: FRONT, port, servername, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function dashed(id: string): string {
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`.toUpperCase();
}

describe('router TLS front', () => {
  let dir: string;
  let a: Running;
  let b: Running;
  const idA = newId();
  const idB = newId();
  let undoDns: () => void;
  // The "configured" certificate: made here like any CA-signed pair an operator would put in files.
  let caFile: string;
  let configured: RouterTls;
  let front: Forwarder;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'allotrope-router-tls-'));
    const usersFile = join(dir, 'users.json');
    await writeUsers(usersFile, [{ username: 'neo4j', password: PASSWORD }]);
    [a, b] = await Promise.all([
      startServer(join(dir, 'a'), usersFile, ['--advertised-host', `${idA}.${DOMAIN}`]),
      startServer(join(dir, 'b'), usersFile, ['--advertised-host', `${idB}.${DOMAIN}`]),
    ]);
    for (const [s, name] of [[a, 'A'], [b, 'B']] as const) {
      const d = neo4j6.driver(`bolt://127.0.0.1:${s.ready.boltPort}`, neo4j6.auth.basic('neo4j', PASSWORD));
      await d.executeQuery('CREATE (:Marker {name: $name})', { name });
      await d.close();
    }
    const pair = await ensureSelfSigned(join(dir, 'configured'), [DOMAIN]);
    caFile = join(dir, 'ca.pem');
    await copyFile(pair.certFile, caFile);
    configured = await createRouterTls({ certFile: pair.certFile, keyFile: pair.keyFile });
    undoDns = resolveDomainTo(DOMAIN, FRONT);
    front = startForwarder({
      tls: configured,
      publicHost: DOMAIN,
      backends: new Map([
        [idA, a.ready],
        [idB, b.ready],
      ]),
    });
    port = await front.listen(FRONT);
    await front.listen(FRONT, a.ready.boltPort);
    await front.listen(FRONT, b.ready.boltPort);
  });

  after(async () => {
    undoDns?.();
    await front?.close();
    await Promise.all([a && stopServer(a), b && stopServer(b)]);
    await rm(dir, { recursive: true, force: true });
  });

  test('the self-signed certificate is made once (key 0600), names the hosts and loopback, and is reused', async () => {
    const ssDir = join(dir, 'self-signed');
    const first = await createRouterTls({ selfSigned: { dir: ssDir, hosts: [DOMAIN] } });
    assert.equal(first.selfSigned, true);
    assert.equal((await stat(first.keyFile)).mode & 0o777, 0o600);
    const cert = new X509Certificate(first.caPem());
    assert.ok(cert.checkHost(DOMAIN));
    assert.ok(cert.checkHost(`${idA}.${DOMAIN}`));
    assert.ok(cert.checkHost('localhost'));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.ok(cert.checkIP('::1'));
    assert.equal(cert.checkHost('other.example'), undefined);
    // A restart reads the same files.
    const again = await createRouterTls({ selfSigned: { dir: ssDir, hosts: [DOMAIN] } });
    assert.equal(again.caPem(), first.caPem());
    // Another public host: a new certificate that names it.
    const moved = await createRouterTls({ selfSigned: { dir: ssDir, hosts: ['db.example.org'] } });
    assert.notEqual(moved.caPem(), first.caPem());
    assert.ok(new X509Certificate(moved.caPem()).checkHost(`${idA}.db.example.org`));
  });

  test('bolt+ssc:// reaches the database through the self-signed front (drivers 6 and 5)', async () => {
    const selfSigned = await createRouterTls({ selfSigned: { dir: join(dir, 'ssc'), hosts: [DOMAIN] } });
    const ssc = startForwarder({ tls: selfSigned, publicHost: DOMAIN, backends: new Map([[idA, a.ready]]) });
    try {
      const sscPort = await ssc.listen(FRONT);
      for (const [name, mod] of drivers) {
        assert.deepEqual(await names(mod as Neo4j, `bolt+ssc://${idA}.${DOMAIN}:${sscPort}`), ['A'], name);
      }
      assert.ok(ssc.terminated.some((t) => t.servername === `${idA}.${DOMAIN}`), 'the driver sent the database name as SNI');
    } finally {
      await ssc.close();
    }
  });

  test('a CA file: bolt:// and neo4j:// with trustedCertificates, drivers 6 and 5; no CA: refused', async () => {
    const config = { encrypted: 'ENCRYPTION_ON', trust: 'TRUST_CUSTOM_CA_SIGNED_CERTIFICATES', trustedCertificates: [caFile] };
    for (const [name, mod] of drivers) {
      assert.deepEqual(await names(mod as Neo4j, `bolt://${idA}.${DOMAIN}:${port}`, config), ['A'], `${name} bolt`);
      assert.deepEqual(await names(mod as Neo4j, `neo4j://${idB}.${DOMAIN}:${port}`, config), ['B'], `${name} neo4j`);
      // The system CAs do not know this certificate: the check is real.
      await assert.rejects(connectOnce(mod as Neo4j, `bolt+s://${idA}.${DOMAIN}:${port}`), /not trusted|self[- ]signed|certificate/i, `${name} without the CA`);
    }
  });

  test('bolt+s:// and neo4j+s:// URLs with the CA given to Node (NODE_EXTRA_CA_CERTS), drivers 6 and 5', async () => {
    const urls = [`bolt+s://${idA}.${DOMAIN}:${port}`, `neo4j+s://${idA}.${DOMAIN}:${port}`, `neo4j+s://${idB}.${DOMAIN}:${port}`];
    const script = fileURLToPath(new URL('./helpers/tls-driver-child.js', import.meta.url));
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, URLS: JSON.stringify(urls), PASSWORD, DOMAIN, ADDRESS: FRONT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, err);
    const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    for (const v of ['v6', 'v5']) {
      assert.deepEqual(result[`${v} ${urls[0]}`], ['A']);
      assert.deepEqual(result[`${v} ${urls[1]}`], ['A']);
      assert.deepEqual(result[`${v} ${urls[2]}`], ['B']);
    }
  });

  test('SNI routes two databases on one port; a dashed upper-case id works; an unknown name is closed', async () => {
    const config = { encrypted: 'ENCRYPTION_ON', trust: 'TRUST_CUSTOM_CA_SIGNED_CERTIFICATES', trustedCertificates: [caFile] };
    assert.deepEqual(await names(neo4j6, `bolt://${idA}.${DOMAIN}:${port}`, config), ['A']);
    assert.deepEqual(await names(neo4j6, `bolt://${idB}.${DOMAIN}:${port}`, config), ['B']);
    assert.deepEqual(await names(neo4j5 as unknown as Neo4j, `bolt://${dashed(idB)}.${DOMAIN}:${port}`, config), ['B']);
    await assert.rejects(connectOnce(neo4j6, `bolt://${newId()}.${DOMAIN}:${port}`, config));
  });

  test('the Query API answers over HTTPS through the front', async () => {
    const body = JSON.stringify({ statement: 'MATCH (n:Marker) RETURN n.name AS name' });
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: FRONT,
          port,
          servername: `${idB}.${DOMAIN}`,
          ca: [configured.caPem()],
          method: 'POST',
          path: '/db/neo4j/query/v2',
          headers: {
            host: `${idB}.${DOMAIN}:${port}`,
            'content-type': 'application/json',
            authorization: 'Basic ' + Buffer.from(`neo4j:${PASSWORD}`).toString('base64'),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(reply.status, 202, reply.text);
    assert.deepEqual((JSON.parse(reply.text) as { data: { values: unknown[][] } }).data.values, [['B']]);
  });

  test('Bolt over secure WebSocket (wss://) through the front', async () => {
    const ws = new WebSocket(`wss://${idA}.${DOMAIN}:${port}/`, { ca: [configured.caPem()] });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const reply = new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
      // The Bolt handshake: magic, then four versions (5.4 down to 5.0, 4.4, none, none).
      ws.send(Buffer.from([0x60, 0x60, 0xb0, 0x17, 0, 4, 4, 5, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0]));
      const version = await reply;
      assert.equal(version.length, 4);
      assert.ok(version[3] === 5 || version[3] === 4, `a Bolt version was agreed: ${version.toString('hex')}`);
    } finally {
      ws.terminate();
    }
  });

  test('reload() swaps the certificate for new connections; a broken file keeps the old one', async () => {
    const rDir = join(dir, 'reload');
    const one = await ensureSelfSigned(join(dir, 'pair-one'), [DOMAIN]);
    const two = await ensureSelfSigned(join(dir, 'pair-two'), [DOMAIN]);
    const certFile = join(rDir, 'cert.pem');
    const keyFile = join(rDir, 'key.pem');
    await mkdir(rDir);
    await Promise.all([copyFile(one.certFile, certFile), copyFile(one.keyFile, keyFile)]);
    const fp = async (file: string) => new X509Certificate(await readFile(file)).fingerprint256;
    const routerTls = await createRouterTls({ certFile, keyFile });
    const fwd = startForwarder({ tls: routerTls, publicHost: DOMAIN, backends: new Map([[idA, a.ready]]) });
    try {
      const p = await fwd.listen(FRONT);
      const name = `${idA}.${DOMAIN}`;
      assert.equal(await presented(p, name), await fp(one.certFile));
      await Promise.all([copyFile(two.certFile, certFile), copyFile(two.keyFile, keyFile)]);
      assert.equal(await presented(p, name), await fp(one.certFile), 'nothing changes before reload()');
      await routerTls.reload();
      assert.equal(await presented(p, name), await fp(two.certFile));
      assert.equal(routerTls.caPem(), await readFile(two.certFile, 'utf8'));
      // A truncated certificate, then a key of another pair: both refused, naming the file.
      await writeFile(certFile, (await readFile(one.certFile, 'utf8')).slice(0, 200));
      await assert.rejects(routerTls.reload(), (err: Error) => err.message.includes(certFile) && /not a PEM certificate/.test(err.message));
      await copyFile(two.certFile, certFile);
      await copyFile(one.keyFile, keyFile);
      await assert.rejects(routerTls.reload(), (err: Error) => err.message.includes(keyFile) && /mismatch/i.test(err.message));
      assert.equal(await presented(p, name), await fp(two.certFile), 'the old certificate stays');
      // And it still serves Bolt.
      assert.deepEqual(await names(neo4j6, `bolt+ssc://${name}:${p}`), ['A']);
    } finally {
      await fwd.close();
    }
  });

  test('without TLS the same front still sniffs Bolt and HTTP', async () => {
    const plain = startForwarder({ tls: null, publicHost: DOMAIN, backends: new Map(), plainBackend: a.ready });
    try {
      const p = await plain.listen('127.0.0.1');
      for (const [name, mod] of drivers) assert.deepEqual(await names(mod as Neo4j, `bolt://127.0.0.1:${p}`), ['A'], name);
      const res = await fetch(`http://127.0.0.1:${p}/db/neo4j/query/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`neo4j:${PASSWORD}`).toString('base64') },
        body: JSON.stringify({ statement: 'RETURN 1 AS one' }),
      });
      assert.equal(res.status, 202);
      assert.deepEqual(((await res.json()) as { data: { values: unknown[][] } }).data.values, [[1]]);
    } finally {
      await plain.close();
    }
  });

  test('a silent client is closed at the handshake timeout; a failed handshake rejects', async () => {
    const pair = await ensureSelfSigned(join(dir, 'timeout'), [DOMAIN]);
    const routerTls = await createRouterTls({ certFile: pair.certFile, keyFile: pair.keyFile, handshakeTimeoutMs: 400 });
    const fwd = startForwarder({ tls: routerTls, publicHost: DOMAIN, backends: new Map([[idA, a.ready]]) });
    try {
      const p = await fwd.listen(FRONT);
      const started = Date.now();
      const silent = net.connect(p, FRONT);
      // The start of a ClientHello record, then nothing.
      silent.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      await new Promise<void>((resolve) => silent.once('close', () => resolve()));
      assert.ok(Date.now() - started >= 380, `closed after ${Date.now() - started} ms`);
      await waitFor(() => fwd.failures.some((f) => /not completed within 400 ms/.test(f)), { what: 'the timeout rejection' });

      // A client that only speaks TLS 1.1: the handshake fails, terminate() rejects, the socket goes.
      const old = tls.connect({ host: FRONT, port: p, servername: `${idA}.${DOMAIN}`, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false });
      await new Promise<void>((resolve) => old.once('close', () => resolve()).on('error', () => {}));
      await waitFor(() => fwd.failures.some((f) => /^TLS handshake failed/.test(f)), { what: 'the handshake failure' });
    } finally {
      await fwd.close();
    }
  });

  test('databaseIdFromServername: <id>.<publicHost> only', () => {
    const id = newId();
    assert.equal(databaseIdFromServername(`${id}.${DOMAIN}`, DOMAIN), id);
    assert.equal(databaseIdFromServername(`${id.toUpperCase()}.ALLOTROPE.Test`, DOMAIN), id);
    assert.equal(databaseIdFromServername(`${dashed(id)}.${DOMAIN}`, DOMAIN), id);
    assert.equal(databaseIdFromServername(`${id}.${DOMAIN}.`, DOMAIN), id);
    assert.equal(databaseIdFromServername(null, DOMAIN), null);
    assert.equal(databaseIdFromServername(DOMAIN, DOMAIN), null);
    assert.equal(databaseIdFromServername(`${id}.other.test`, DOMAIN), null);
    assert.equal(databaseIdFromServername(`x.${id}.${DOMAIN}`, DOMAIN), null);
    assert.equal(databaseIdFromServername(`${id.slice(1)}.${DOMAIN}`, DOMAIN), null);
    assert.equal(databaseIdFromServername(`${id}x${DOMAIN}`, DOMAIN), null);
    assert.equal(databaseIdFromServername(`${id}.evil${DOMAIN}`, DOMAIN), null);
  });
});
