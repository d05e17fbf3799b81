// The web console end to end in a real browser: Debian's Chromium (/usr/bin/chromium; nothing downloads
// a browser) driven by playwright-core against a real `allotrope serve` running real graph-servers.
// Signs in with the owner account created at first start, creates an API client and reads its secret
// once, creates a database and watches its operation finish, runs Cypher in the Query tab (table and
// graph), takes a snapshot, pauses and resumes, signs out; requests without the CSRF token, or from
// another origin, are refused. Saves screenshots of the main pages (see SHOTS).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { consoleCredentialsPath } from '../src/server/serve.js';
import { repoRoot } from './helpers/cli.js';
import { startControlPlaneProcess, type ControlPlaneProcess } from './helpers/control-plane-process.js';
import { testPortRange } from './helpers/lifecycle.js';
import { testStoreUrlFor } from './helpers/test-store.js';

const CHROMIUM = '/usr/bin/chromium';
// Each run saves its screenshots under test-output/console/; ALLOTROPE_UPDATE_SCREENSHOTS=1 writes them into
// docs/console/ (the pictures the docs show) so an ordinary run leaves the tree clean.
const SHOTS = process.env.ALLOTROPE_UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'console') : join(repoRoot, 'test-output', 'console');
// Generous bounds for a shared 2-core machine; every wait is on a condition, never a fixed sleep.
const LONG = 120_000;

describe('web console', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)` }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'allotrope-console-'));
  let server: ControlPlaneProcess;
  let browser: Browser;
  let page: Page;
  let owner: { username: string; password: string };
  let databaseId = '';

  const shot = async (name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    server = await startControlPlaneProcess({ dataDir, dbPorts: testPortRange() });
    const text = readFileSync(consoleCredentialsPath(dataDir), 'utf8');
    owner = { username: /^ALLOTROPE_CONSOLE_USERNAME=(.*)$/m.exec(text)![1]!, password: /^ALLOTROPE_CONSOLE_PASSWORD=(.*)$/m.exec(text)![1]! };
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the owner password at first start and keeps only a hash of it', async () => {
    assert.equal(owner.username, 'owner');
    assert.match(owner.password, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(consoleCredentialsPath(dataDir)).mode & 0o777, 0o600);
    assert.match(server.output(), /Web console owner account/);
    // The whole store, as bytes (SQLite) or as the console users' rows (PostgreSQL), never holds the password.
    const pgUrl = await testStoreUrlFor(dataDir);
    if (pgUrl) {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        const rows = JSON.stringify((await client.query('select * from console_users')).rows);
        assert.ok(rows.includes('owner') && !rows.includes(owner.password), 'the password is not in the store');
      } finally {
        await client.end();
      }
    } else {
      assert.ok(!readFileSync(join(dataDir, 'allotrope.db')).includes(owner.password), 'the password is not in the store');
    }
  });

  it('signs in with a session cookie: httpOnly, SameSite=Strict, and refuses requests without the CSRF token', async () => {
    const wrong = await fetch(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'owner', password: 'nope' }) });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'wrong username or password');
    const res = await fetch(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(owner) });
    assert.equal(res.status, 201);
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    const session = cookie.split(';')[0]!;
    const list = (headers: Record<string, string>) => fetch(`${server.url}/deployments/environments`, { headers: { cookie: session, ...headers } });
    const noCsrf = await list({});
    assert.equal(noCsrf.status, 403);
    assert.match(((await noCsrf.json()) as { error: string }).error, /X-CSRF-Token/);
    assert.equal((await list({ 'x-csrf-token': 'x'.repeat(43) })).status, 403);
    assert.equal((await list({ 'x-csrf-token': csrfToken, origin: 'https://evil.example' })).status, 403);
    assert.equal((await list({ 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await list({ 'x-csrf-token': csrfToken })).status, 200);
    // A state-changing request without the token changes nothing.
    const post = await fetch(`${server.url}/deployments/environments`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json' }, body: JSON.stringify({ label: 'sneaky', type: 'staging' }) });
    assert.equal(post.status, 403);
    const envs = (await (await list({ 'x-csrf-token': csrfToken })).json()) as Array<{ label: string }>;
    assert.ok(!envs.some((e) => e.label === 'sneaky'));
    // A form-encoded (cross-site form) sign-in is refused.
    const form = await fetch(`${server.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=owner&password=${owner.password}` });
    assert.equal(form.status, 403);
  });

  it('signs in through the page', async () => {
    await page.goto(`${server.url}/console`);
    await page.getByRole('heading', { name: 'Sign in to Allotrope' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    // By keyboard only: the fields are labelled and in order, Enter submits.
    await page.getByLabel('Username').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(owner.username);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement.name), 'password');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(owner.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Databases' }).waitFor();
    // No token in web storage; the session cookie is not readable by scripts.
    const stored = await page.evaluate(() => {
      const g = globalThis as any;
      return { local: g.localStorage.length, session: g.sessionStorage.length, cookie: g.document.cookie };
    });
    assert.deepEqual(stored, { local: 0, session: 0, cookie: '' });
    // The page's own fetch without the header is refused too.
    const status = await page.evaluate(async () => (await fetch('/deployments/databases/graphneo')).status);
    assert.equal(status, 403);
  });

  it('creates an API client and shows its secret once', async () => {
    await page.getByRole('link', { name: 'Organization' }).click();
    await page.getByRole('tab', { name: 'API Clients' }).or(page.getByRole('link', { name: 'API Clients' })).first().waitFor();
    await page.getByRole('button', { name: '+New API Client' }).click();
    const dialog = page.getByRole('dialog', { name: 'New API Client' });
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByRole('alert').filter({ hasText: /name/ }).waitFor();
    await dialog.getByLabel('Name').fill('ci pipeline');
    await dialog.getByLabel('development').check();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    const shown = page.getByRole('dialog', { name: 'API Client created' });
    await shown.getByText("we won't show it again").waitFor();
    await shot('api-client-secret');
    const clientId = (await shown.locator('[data-secret="Client ID"]').textContent())!;
    const clientSecret = (await shown.locator('[data-secret="Client secret"]').textContent())!;
    await shown.getByRole('button', { name: 'Done' }).click();
    // The secret works at the token endpoint, and is nowhere on the page any more.
    const token = await fetch(`${server.url}/organizations/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }) });
    assert.equal(token.status, 201);
    const row = page.locator('tr[data-client="ci pipeline"]');
    await row.getByText(clientId).waitFor();
    assert.ok(!(await page.content()).includes(clientSecret));
    await row.getByText('development').waitFor();
    await shot('api-clients');
    // Refreshing the secret: shown once again; the old one stops working at once.
    await row.getByRole('button', { name: 'Refresh secret' }).click();
    await page.getByRole('dialog', { name: 'Refresh the secret of ci pipeline?' }).getByRole('button', { name: 'Refresh secret' }).click();
    const refreshed = page.getByRole('dialog', { name: 'New client secret' });
    const newSecret = (await refreshed.locator('[data-secret="Client secret"]').textContent())!;
    await refreshed.getByRole('button', { name: 'Done' }).click();
    const tokenWith = (secret: string) => fetch(`${server.url}/organizations/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: clientId, client_secret: secret }) });
    assert.equal((await tokenWith(clientSecret)).status, 401);
    assert.equal((await tokenWith(newSecret)).status, 201);
  });

  it('creates a database and watches its operation finish step by step', async () => {
    await page.getByRole('link', { name: 'Databases' }).click();
    await page.getByRole('link', { name: '+ New database' }).click();
    await page.getByRole('heading', { name: 'New database' }).waitFor();
    await page.getByLabel('Version').selectOption('5.26-grafeo');
    await page.getByLabel(/^DS2 /).check();
    await page.getByRole('button', { name: 'Create database' }).click();
    await page.getByRole('alert').filter({ hasText: /name/ }).first().waitFor();
    await page.getByLabel('Name').fill('movies');
    await shot('new-database');
    await page.getByRole('button', { name: 'Create database' }).click();
    const creds = page.getByRole('dialog', { name: 'Database credentials' });
    await creds.getByText("we won't show it again").waitFor();
    await creds.getByRole('button', { name: 'Done' }).click();
    const progress = page.locator('[data-operation]');
    await progress.and(page.locator('[data-status="finished"]')).waitFor({ timeout: LONG });
    assert.ok((await progress.locator('li.finished').count()) >= 2, 'the steps are listed as finished');
    databaseId = /#\/databases\/([0-9a-f]{32})\//.exec(page.url())![1]!;
    await page.locator('h1 .badge', { hasText: 'running' }).waitFor({ timeout: LONG });
    await page.getByText('bolt://').first().waitFor();
    // No Neo4j engine in this test, so no Browser on the graph-server: the page says so instead of linking to a 404 unannounced.
    await page.getByText('Neo4j Browser is not installed here').waitFor();
    await shot('database-overview');
    await page.getByRole('link', { name: 'Databases' }).first().click();
    await page.locator('tr[data-database="movies"] .badge.green', { hasText: 'running' }).waitFor();
    await shot('databases');
  });

  it('runs Cypher in the Query tab and shows a table and a graph', async () => {
    await page.getByRole('link', { name: 'movies' }).click();
    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Query' }).click();
    await page.getByRole('heading', { name: 'Run Cypher' }).waitFor();
    // The password shown at creation is kept in this page's memory (never in storage) for the Query tab.
    const password = await page.getByLabel('Password').inputValue();
    assert.match(password, /^\S{16,}$/);
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('alert').filter({ hasText: /Unauthorized|credentials|auth/i }).waitFor();
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Cypher').fill("CREATE (a:Person {name: 'Ada'})-[:KNOWS]->(b:Person {name: 'Grace'}), (a)-[:WROTE]->(:Paper {title: 'Notes'}) RETURN a, b");
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('table', { name: 'Query result' }).waitFor();
    await page.getByLabel('Cypher').fill('MATCH (n)-[r]->(m) RETURN n, r, m');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByText('2 rows').waitFor();
    assert.equal(await page.locator('svg.graph circle').count(), 3);
    assert.equal(await page.locator('svg.graph line').count(), 2);
    await page.locator('svg.graph text', { hasText: 'Ada' }).waitFor();
    await shot('query');
  });

  it('takes a snapshot', async () => {
    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Snapshots' }).click();
    await page.getByLabel('Label (optional)').fill('before pause');
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    await page.locator('tr', { hasText: 'before pause' }).locator('.badge', { hasText: 'ready' }).waitFor({ timeout: LONG });
    await shot('snapshots');
  });

  it('exports with a download, and imports by upload with a progress bar', async () => {
    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Export' }).click();
    await page.getByLabel('Format').selectOption('archive');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).first().click();
    const file = join(dataDir, 'console-export.tar.gz');
    await (await download).saveAs(file);
    assert.ok(statSync(file).size > 0);
    await shot('export');

    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Import' }).click();
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.getByRole('alert').filter({ hasText: 'choose a file' }).waitFor();
    await page.getByLabel('File').setInputFiles(file);
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.getByRole('dialog', { name: /Replace movies/ }).getByRole('button', { name: 'Import' }).click();
    await page.getByText(/Uploaded; importing/).waitFor({ timeout: LONG });
    assert.equal(await page.getByRole('progressbar', { name: 'Upload progress' }).getAttribute('value'), '100');
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
  });

  it('shows the server\'s error next to the field or action', async () => {
    await page.getByRole('link', { name: 'Environments' }).click();
    const dev = page.locator('[data-environment="development"]');
    await dev.getByLabel('IP range (CIDR)').fill('not-an-ip');
    await dev.getByLabel('Rule label').fill('office');
    await dev.getByRole('button', { name: 'Add rule' }).click();
    await dev.getByRole('alert').filter({ hasText: /not-an-ip/ }).waitFor();
    await page.getByRole('link', { name: 'movies' }).or(page.getByRole('link', { name: 'Databases' })).first().click();
    await page.getByRole('link', { name: 'movies' }).click();
    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Backup schedule' }).click();
    await page.getByLabel('Time (HH:MM)').fill('25:99');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    const shown = await page.getByRole('alert').filter({ hasText: /time/i }).textContent();
    const direct = await page.evaluate(async (id) => {
      const s = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
      const r = await fetch(`/deployments/databases/graphneo/${id}/backups/schedule`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken }, body: JSON.stringify({ time: '25:99' }) });
      return ((await r.json()) as { error: string }).error;
    }, databaseId);
    assert.equal(shown, direct, 'the page shows the API\'s error string as it is');
  });

  it('pauses and resumes with a confirmation', async () => {
    await page.getByRole('navigation', { name: 'Database' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    const confirm = page.getByRole('dialog', { name: 'Pause movies?' });
    await confirm.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    await page.locator('h1 .badge', { hasText: 'paused' }).waitFor({ timeout: LONG });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    await page.locator('h1 .badge', { hasText: 'running' }).waitFor({ timeout: LONG });
    // A refused action shows the server's error next to it.
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('alert').filter({ hasText: /running/ }).waitFor();
  });

  it('lists operations organization-wide and shows the GDB API pages', async () => {
    await page.getByRole('link', { name: 'Operations' }).first().click();
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
    await page.getByText('Create database movies').first().waitFor();
    await shot('operations');
    const gdbApi = page.getByRole('group', { name: 'GDB API' });
    await gdbApi.getByRole('link', { name: 'Overview' }).click();
    const curl = await page.locator('pre[data-curl]').textContent();
    assert.match(curl!, new RegExp(`curl -s -X POST ${server.url.replace(/[.]/g, '\\.')}/organizations/oauth/token`));
    await shot('api-overview');
    await gdbApi.getByRole('link', { name: 'API Reference' }).click();
    await page.frameLocator('iframe.docs').getByText('Allotrope management API').first().waitFor();
    await page.getByRole('link', { name: 'Environments' }).click();
    await page.locator('[data-environment="development"]').waitFor();
    await shot('environments');
  });

  it('is usable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/console#/databases`);
    await page.locator('tr[data-database="movies"]').waitFor();
    const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await shot('phone-databases');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('restarts, and terminates only once the name is typed', async () => {
    await page.getByRole('link', { name: 'Databases', exact: true }).click();
    await page.getByRole('link', { name: 'movies' }).click();
    await page.getByRole('button', { name: 'Restart' }).click();
    await page.getByRole('dialog', { name: 'Restart movies?' }).getByRole('button', { name: 'Restart' }).click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    await page.getByRole('button', { name: 'Terminate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Terminate movies?' });
    const confirm = dialog.getByRole('button', { name: 'Terminate' });
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByLabel('Type movies to confirm').fill('movie');
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByLabel('Type movies to confirm').fill('movies');
    await confirm.click();
    await page.locator('[data-operation][data-status="finished"]').waitFor({ timeout: LONG });
    await page.locator('h1 .badge', { hasText: 'terminated' }).waitFor({ timeout: LONG });
  });

  it('signs out: the session stops working', async () => {
    const csrf = await page.evaluate(async () => ((await (await fetch('/console/api/session')).json()) as { csrfToken: string }).csrfToken);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'allotrope_session')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Allotrope' }).waitFor();
    assert.equal((await page.context().cookies()).length, 0, 'the cookie is cleared');
    // The old cookie value no longer signs anything in.
    const res = await fetch(`${server.url}/deployments/environments`, { headers: { cookie: `allotrope_session=${cookie.value}`, 'x-csrf-token': csrf } });
    assert.equal(res.status, 401);
  });
});
