// Neo4j Browser at each database's connectionUrls.browser: the graph-server serves /browser/ from the
// directory the Neo4j engine install unpacks, with the right content types, nothing outside that
// directory (traversal, encoded or not, and symlinks out), the network rules in force, and a plain
// 404 saying how to get it when it is not installed. The real Browser is checked when installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultEnginesDir, findNeo4j, type Neo4jInstall } from '../src/engines/neo4j-install.js';
import { buildLaunch } from '../src/runtimes/local/command.js';
import { nodePaths } from '../src/runtimes/local/node-files.js';
import { startServer, stopServer, writeUsers, type Running } from './helpers/graph-server-process.js';
import { createDatabaseAndWait, startLifecycleServer } from './helpers/lifecycle.js';
import { waitFor } from './helpers/wait-for.js';

const SECRET = 'outside-the-browser-dir-7f3a';
const INDEX = '<!doctype html><html><head><title>Neo4j Browser (test)</title><link rel="stylesheet" href="style.css"></head><body><script src="app-1234.js"></script></body></html>';
const SCRIPT = 'console.log("browser test bundle");';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: `path` goes on the wire as written (fetch would normalise `..` away first). */
function raw(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fakeInstall(browserDir: string | null): Neo4jInstall {
  return { version: '5.26.30', dir: '/nonexistent/neo4j/5.26.30', classpath: '', mainClass: 'x', jvmFlags: [], cdsArchive: null, browserDir, java: 'java' };
}

describe('Neo4j Browser on the graph-server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'allotrope-browser-'));
  const browserDir = join(dir, 'browser');
  const outside = join(dir, 'outside');
  const usersFile = join(dir, 'users.json');
  let served: Running;
  let bare: Running;

  before(async () => {
    mkdirSync(join(browserDir, 'assets'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(browserDir, 'index.html'), INDEX);
    writeFileSync(join(browserDir, 'app-1234.js'), SCRIPT);
    writeFileSync(join(browserDir, 'style.css'), 'body { margin: 0 }');
    writeFileSync(join(browserDir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(outside, 'secret.txt'), SECRET);
    // A sibling whose name starts like the browser directory: a prefix check without the separator would let it through.
    mkdirSync(`${browserDir}-evil`);
    writeFileSync(join(`${browserDir}-evil`, 'secret.txt'), SECRET);
    symlinkSync(join(outside, 'secret.txt'), join(browserDir, 'leak.txt'));
    symlinkSync(outside, join(browserDir, 'outdir'));
    symlinkSync('/etc/passwd', join(browserDir, 'passwd'));
    symlinkSync('app-1234.js', join(browserDir, 'alias.js'));
    await writeUsers(usersFile, [{ username: 'neo4j', password: 'secret-password' }]);
    [served, bare] = await Promise.all([
      startServer(join(dir, 'data-served'), usersFile, ['--browser-dir', browserDir]),
      startServer(join(dir, 'data-bare'), usersFile),
    ]);
  });

  after(async () => {
    await Promise.all([served && stopServer(served), bare && stopServer(bare)]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('/browser redirects to /browser/ and keeps the query string that carries the connection', async () => {
    const res = await raw(served.ready.httpPort, '/browser?dbms=bolt://127.0.0.1:7687');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/browser/?dbms=bolt://127.0.0.1:7687');
    assert.equal((await raw(served.ready.httpPort, '/browser')).headers.location, '/browser/');
  });

  test('/browser/ answers index.html as text/html, HEAD with the headers only', async () => {
    const res = await raw(served.ready.httpPort, '/browser/?dbms=bolt://127.0.0.1:7687');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.body, INDEX);
    assert.equal(res.headers['cache-control'], 'no-cache');
    const head = await raw(served.ready.httpPort, '/browser/index.html', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(INDEX)));
    assert.equal(head.body, '');
  });

  test('serves scripts, styles and images with their content types', async () => {
    const js = await raw(served.ready.httpPort, '/browser/app-1234.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    assert.equal(js.body, SCRIPT);
    const css = await raw(served.ready.httpPort, '/browser/style.css');
    assert.match(String(css.headers['content-type']), /^text\/css/);
    const svg = await raw(served.ready.httpPort, '/browser/assets/logo.svg');
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    const encoded = await raw(served.ready.httpPort, '/browser/assets%2Flogo.svg');
    assert.equal(encoded.status, 400, 'an encoded slash is not a path separator');
  });

  test('a symlink that stays inside the directory is served', async () => {
    const res = await raw(served.ready.httpPort, '/browser/alias.js');
    assert.equal(res.status, 200);
    assert.equal(res.body, SCRIPT);
  });

  test('refuses paths out of the directory, plain or encoded, without leaking a byte', async () => {
    const attempts = [
      '/browser/../../etc/passwd',
      '/browser/../../../../../../etc/passwd',
      '/browser/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/browser/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/browser/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/browser/%252e%252e/%252e%252e/etc/passwd',
      '/browser/..%5c..%5c..%5cetc%5cpasswd',
      '/browser/..\\..\\..\\etc\\passwd',
      '/browser/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
      '/browser/%00../etc/passwd',
      '/browser/index.html%00.js',
      '/browser//etc/passwd',
      `/browser/${encodeURIComponent(join(outside, 'secret.txt'))}`,
      '/browser/../outside/secret.txt',
      '/browser/..%2foutside%2fsecret.txt',
      '/browser/..%2fbrowser-evil%2fsecret.txt',
      '/browser/%2e%2e/browser-evil/secret.txt',
      '/browser/%',
      '/browser/assets/../../outside/secret.txt',
    ];
    for (const path of attempts) {
      const res = await raw(served.ready.httpPort, path);
      assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
      assert.ok(!res.body.includes('root:'), `${path} leaked /etc/passwd`);
      assert.ok(!res.body.includes(SECRET), `${path} leaked a file outside the directory`);
      assert.ok(!res.body.includes(dir), `${path} named the directory on disk`);
    }
  });

  test('refuses symlinks that point out of the directory', async () => {
    for (const path of ['/browser/leak.txt', '/browser/outdir/secret.txt', '/browser/passwd', '/browser/outdir/']) {
      const res = await raw(served.ready.httpPort, path);
      assert.equal(res.status, 404, path);
      assert.ok(!res.body.includes(SECRET) && !res.body.includes('root:'), path);
    }
  });

  test('answers GET and HEAD only, and no directory listings', async () => {
    const post = await raw(served.ready.httpPort, '/browser/index.html', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await raw(served.ready.httpPort, '/browser/assets/')).status, 404);
    assert.equal((await raw(served.ready.httpPort, '/browser/missing.js')).status, 404);
  });

  test('the discovery document points the Browser at this Bolt port', async () => {
    const res = await raw(served.ready.httpPort, '/');
    const doc = JSON.parse(res.body);
    assert.equal(doc.bolt_direct, `bolt://127.0.0.1:${served.ready.boltPort}`);
    assert.equal(doc.bolt_routing, `neo4j://127.0.0.1:${served.ready.boltPort}`);
    assert.match(doc.neo4j_version, /^5\./);
  });

  test('the network rules apply to the Browser files too', async () => {
    await writeUsers(usersFile, [{ username: 'neo4j', password: 'secret-password' }], ['203.0.113.0/24']);
    served.child.kill('SIGHUP');
    try {
      await waitFor(async () => (await raw(served.ready.httpPort, '/browser/')).status === 403, { timeoutMs: 10_000, what: '/browser/ to be refused' });
      const res = await raw(served.ready.httpPort, '/browser/app-1234.js');
      assert.equal(res.status, 403);
      assert.ok(!res.body.includes(SCRIPT));
    } finally {
      await writeUsers(usersFile, [{ username: 'neo4j', password: 'secret-password' }]);
      served.child.kill('SIGHUP');
      await waitFor(async () => (await raw(served.ready.httpPort, '/browser/')).status === 200, { timeoutMs: 10_000, what: '/browser/ to be open again' });
    }
  });

  test('without a browser directory, /browser/ is a plain 404 saying where the Browser comes from', async () => {
    const res = await raw(bare.ready.httpPort, '/browser/');
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, /allotrope engines install neo4j/);
    assert.equal((await raw(bare.ready.httpPort, '/browser/app-1234.js')).status, 404);
    assert.equal((await raw(bare.ready.httpPort, '/browser')).status, 301);
  });
});

describe('the local runtime and the API', () => {
  const spec = { databaseId: 'db1', stationId: 'st1', boltPort: 7687, httpPort: 7474, host: '127.0.0.1' };
  const paths = nodePaths('/srv/allotrope', 'st1');

  test('every node gets the install\'s browser directory, Grafeo and Neo4j alike', () => {
    const engines = { neo4j: fakeInstall('/cache/neo4j/5.26.30/browser') };
    for (const engine of ['grafeo', 'neo4j'] as const) {
      const { args } = buildLaunch({ ...spec, engine }, paths, {}, engines);
      const at = args.indexOf('--browser-dir');
      assert.ok(at >= 0, engine);
      assert.equal(args[at + 1], '/cache/neo4j/5.26.30/browser');
    }
    assert.ok(!buildLaunch(spec, paths, {}, { neo4j: fakeInstall(null) }).args.includes('--browser-dir'));
    assert.ok(!buildLaunch(spec, paths, {}, { neo4j: null }).args.includes('--browser-dir'));
  });

  test('connectionUrls.browser opens the Browser of that database, pointed at its Bolt URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allotrope-browser-api-'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    const server = await startLifecycleServer({ engines: { neo4j: fakeInstall(dir) } });
    try {
      const { database } = await createDatabaseAndWait(server, server.adminToken, server.environmentId, 'browsed');
      const url = new URL(database.connectionUrls.browser);
      assert.equal(url.pathname, '/browser/');
      assert.equal(url.searchParams.get('dbms'), database.connectionUrls.bolt);
      assert.equal(`${url.protocol}//${url.host}`, database.connectionUrls.http);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(await res.text(), INDEX);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the real Neo4j Browser, when the Neo4j engine is installed', () => {
  const found = findNeo4j(defaultEnginesDir());
  const browserDir = found.install?.browserDir ?? null;
  const skip = browserDir ? false : `no Neo4j Browser installed (${found.install ? `the install in ${found.install.dir} predates it` : found.reason}); run 'allotrope engines install neo4j'`;
  if (skip) console.log(`# skipping the real Neo4j Browser: ${skip}`);
  let server: Running;
  let dir: string;

  before(async () => {
    if (!browserDir) return;
    dir = mkdtempSync(join(tmpdir(), 'allotrope-browser-real-'));
    await writeUsers(join(dir, 'users.json'), [{ username: 'neo4j', password: 'secret-password' }]);
    server = await startServer(join(dir, 'data'), join(dir, 'users.json'), ['--browser-dir', browserDir]);
  });

  after(async () => {
    if (server) await stopServer(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('serves its index.html and every script it loads', { skip }, async () => {
    const index = await raw(server.ready.httpPort, `/browser/?dbms=bolt://127.0.0.1:${server.ready.boltPort}`);
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(index.body, /<title>Neo4j Browser<\/title>/);
    const scripts = [...index.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.length > 0, 'index.html loads scripts');
    for (const src of scripts) {
      const res = await raw(server.ready.httpPort, `/browser/${src}`);
      assert.equal(res.status, 200, src);
      assert.match(String(res.headers['content-type']), /^text\/javascript/, src);
      assert.equal(Number(res.headers['content-length']), statSync(join(browserDir!, src)).size, src);
    }
    // index.html names some icons its jar does not hold (Neo4j's own server answers 404 for them too).
    const assets = [...index.body.matchAll(/href="(assets\/[^"]+)"/g)].map((m) => m[1]!);
    const present = assets.filter((href) => existsSync(join(browserDir!, href)));
    assert.ok(present.length > 0, 'index.html names assets the install holds');
    for (const href of assets) assert.equal((await raw(server.ready.httpPort, `/browser/${href}`)).status, present.includes(href) ? 200 : 404, href);
  });

  test('a Neo4j node serves it too, and its discovery document names its Bolt port', { skip }, async () => {
    const neo4j = await startServer(
      join(dir, 'data-neo4j'),
      join(dir, 'users.json'),
      ['--engine', 'neo4j', '--neo4j-install', found.install!.dir, '--memory-mb', '512', '--browser-dir', browserDir!],
      { readyTimeoutMs: 180_000 },
    );
    try {
      const index = await raw(neo4j.ready.httpPort, '/browser/');
      assert.equal(index.status, 200);
      assert.match(index.body, /<title>Neo4j Browser<\/title>/);
      const doc = JSON.parse((await raw(neo4j.ready.httpPort, '/')).body);
      assert.equal(doc.bolt_direct, `bolt://127.0.0.1:${neo4j.ready.boltPort}`);
      assert.match(doc.neo4j_version, /^5\.26\./);
    } finally {
      await stopServer(neo4j);
    }
  });

  // No playwright here, and nothing may download a browser: headless Chromium's --dump-dom runs the app
  // for a while of virtual time and prints the DOM it rendered.
  const chromium = '/usr/bin/chromium';
  const noChromium = !browserDir ? skip : existsSync(chromium) ? false : `${chromium} is not installed`;
  if (browserDir && noChromium) console.log(`# skipping the headless Chromium load of Neo4j Browser: ${noChromium}`);
  test('renders in headless Chromium', { skip: noChromium }, () => {
    const url = `http://127.0.0.1:${server.ready.httpPort}/browser/?dbms=bolt://127.0.0.1:${server.ready.boltPort}`;
    const run = spawnSync(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--disable-extensions', `--user-data-dir=${join(dir, 'chromium')}`, '--virtual-time-budget=15000', '--dump-dom', url],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const indexSize = readFileSync(join(browserDir!, 'index.html'), 'utf8').length;
    // The app mounted: #mount holds its rendered UI, not the empty div index.html ships.
    assert.doesNotMatch(run.stdout, /<div id="mount"><\/div>/);
    assert.ok(run.stdout.length > indexSize, 'the DOM grew past the static page');
  });
});
