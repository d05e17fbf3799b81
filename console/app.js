// The Allotrope web console: a hash-routed page over the management API of this origin. Signed in with a
// session cookie (httpOnly; this script never sees it) and the session's CSRF token, kept in memory only.
import { graphView, resultTable } from './graph.js';
import {
  act, api, badge, bytes, clear, confirmDialog, copyButton, currentUser, db, envColour, errorSlot, every, field, h, modal,
  onSignedOut, operationProgress, setSession, showSecretOnce, stateColour, stopTimers, upload, when,
} from './lib.js';

const root = document.getElementById('root');
// Database passwords shown at creation, kept for the Query tab until the page is left (never stored).
const knownPasswords = new Map();

// ---------------------------------------------------------------- sign-in
function signInPage(message) {
  stopTimers();
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, value: 'owner' });
  const pass = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const err = errorSlot();
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form.panel.signin', { 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Allotrope'),
    message ? h('p.muted', {}, message) : null,
    field('Username', user), field('Password', pass), err, h('div.row', {}, submit),
    h('p.muted', {}, 'The owner account and its password were printed at first start and written to console-credentials in the data directory.'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(submit, err, async () => {
      const s = await api('POST', '/console/api/session', { username: user.value, password: pass.value });
      setSession(s);
      if (!location.hash || location.hash === '#/signin') location.hash = '#/databases';
      route();
    });
  });
  clear(root, h('main', { id: 'main' }, form));
  user.focus();
}

onSignedOut((why) => signInPage(why));

async function signOut() {
  try {
    await api('DELETE', '/console/api/session');
  } catch {}
  setSession(null);
  location.hash = '#/signin';
  signInPage('You are signed out.');
}

// ---------------------------------------------------------------- layout
const NAV = [
  ['#/databases', 'Databases'],
  ['#/environments', 'Environments'],
  ['#/operations', 'Operations'],
  ['#/organization/api-clients', 'Organization'],
];
const API_NAV = [
  ['#/api/overview', 'Overview'],
  ['#/api/reference', 'API Reference'],
];

function shell(content) {
  const here = location.hash || '#/databases';
  // The section a link belongs to: its first path part, or the whole link under GDB API.
  const section = (href) => (href.startsWith('#/api') ? href : href.split('/').slice(0, 2).join('/'));
  const link = ([href, text]) => h('a', { href, 'aria-current': here.startsWith(section(href)) ? 'page' : undefined }, text);
  const me = currentUser();
  clear(root,
    h('div.layout', {},
      h('header.top', {},
        h('a.brand', { href: '#/databases' }, 'Allotrope'),
        h('span.who', {}, `${me.username} (${me.role})`),
        h('button.secondary', { type: 'button', onclick: signOut }, 'Sign out')),
      h('nav.side', { 'aria-label': 'Main' },
        NAV.map(link),
        h('div.group', { role: 'group', 'aria-label': 'GDB API' }, h('div.group-title', {}, 'GDB API'), API_NAV.map(link))),
      h('main', { id: 'main', tabindex: '-1' }, content)));
}

// Small caches of catalogue data.
let catalog = null;
async function loadCatalog() {
  if (!catalog) {
    const [plans, versions, regions] = await Promise.all([api('GET', '/deployments/plans'), api('GET', '/deployments/versions'), api('GET', '/deployments/regions')]);
    catalog = { plans, versions, regions };
  }
  return catalog;
}
const environments = () => api('GET', '/deployments/environments');
const price = (p) => `${p.pricePerHour} ${p.currency}/hour`;

// ---------------------------------------------------------------- databases
async function databasesPage(params) {
  const envs = await environments();
  const envFilter = h('select', {}, h('option', { value: '' }, 'All environments'), envs.map((e) => h('option', { value: e.id }, e.label)));
  envFilter.value = params.get('environment') ?? '';
  const list = h('div', { 'aria-live': 'polite' });
  const err = errorSlot();
  const envById = new Map(envs.map((e) => [e.id, e]));
  const load = async () => {
    const q = envFilter.value ? `?environmentId=${encodeURIComponent(envFilter.value)}` : '';
    const dbs = await api('GET', `/deployments/databases/graphneo${q}`);
    clear(list, dbs.length === 0
      ? h('p.muted', {}, 'No databases yet.')
      : h('div.table-wrap', {}, h('table', {},
        h('thead', {}, h('tr', {}, ['Name', 'State', 'Environment', 'Plan', 'Version', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, dbs.map((d) => {
          const env = envById.get(d.environmentId);
          return h('tr', { 'data-database': d.name },
            h('td', {}, h('a', { href: `#/databases/${d.id}/overview` }, d.name)),
            h('td', {}, badge(d.status.state)),
            h('td', {}, env ? badge(env.label, envColour(env.color)) : d.environmentId),
            h('td', {}, d.plan.toUpperCase()),
            h('td', {}, `${d.version.number} (${d.version.engine ?? d.version.edition})`),
            h('td', {}, when(d.createdAt)));
        })))));
  };
  envFilter.addEventListener('change', () => {
    history.replaceState(null, '', envFilter.value ? `#/databases?environment=${envFilter.value}` : '#/databases');
    act(null, err, load);
  });
  await act(null, err, load);
  every(3000, load);
  return h('div', {},
    h('h1', {}, 'Databases'),
    h('div.row', {}, field('Filter by environment', envFilter), h('a.button', { href: '#/databases/new' }, '+ New database')),
    err, list);
}

async function newDatabasePage() {
  const [{ plans, versions, regions }, envs] = await Promise.all([loadCatalog(), environments()]);
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const env = h('select', {}, envs.map((e) => h('option', { value: e.id }, `${e.label} (${e.type})`)));
  const version = h('select', {}, versions.map((v) => h('option', { value: v.id, selected: v.default }, `${v.number} ${v.engine ?? ''} ${v.edition}${v.default ? ' (default)' : ''}`)));
  const region = h('select', {}, regions.map((r) => h('option', { value: r.id, selected: r.default }, r.name)));
  const planGroup = h('fieldset', {}, h('legend', {}, 'Plan'),
    plans.map((p, i) => h('label.inline', {}, h('input', { type: 'radio', name: 'plan', value: p.id, checked: i === 1 || plans.length === 1 }),
      `${p.name} — ${p.memoryMb / 1024} GB RAM, ${p.storageGb} GB, ${p.cpus} CPU, ${price(p)}${p.features.snapshots ? '' : ' (no snapshots)'}`)));
  const err = errorSlot();
  const submit = h('button', { type: 'submit' }, 'Create database');
  const nameField = field('Name', name);
  const form = h('form.panel', {}, nameField, field('Environment', env), planGroup, field('Version', version), field('Region', region, 'A database lives in its environment\'s region.'), err, h('div.row', {}, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    nameField.errorEl.textContent = '';
    act(submit, err, async () => {
      const plan = form.querySelector('input[name=plan]:checked')?.value;
      try {
        const res = await api('POST', '/deployments/databases/graphneo', { name: name.value, environmentId: env.value, plan, version: version.value, region: region.value });
        knownPasswords.set(res.database.id, res.credentials);
        await showSecretOnce('Database credentials', [['Username', res.credentials.username], ['Password', res.credentials.password]]);
        location.hash = `#/databases/${res.database.id}/overview?operation=${res.operationId}`;
      } catch (e2) {
        if (/name/i.test(e2.message)) nameField.errorEl.textContent = e2.message;
        else throw e2;
      }
    });
  });
  return h('div', {}, h('h1', {}, 'New database'), form);
}

const TABS = [['overview', 'Overview'], ['query', 'Query'], ['operations', 'Operations'], ['snapshots', 'Snapshots'], ['backups', 'Backup schedule'], ['export', 'Export'], ['import', 'Import'], ['users', 'Users'], ['settings', 'Settings']];

async function databasePage(id, tab, params) {
  const d = await api('GET', db(id));
  const stateBadge = badge(d.status.state);
  const content = h('div', {});
  const page = h('div', {},
    h('h1', {}, d.name, ' ', stateBadge),
    h('nav.tabs', { 'aria-label': 'Database' }, TABS.map(([t, label]) => h('a', { href: `#/databases/${id}/${t}`, 'aria-current': t === tab ? 'page' : undefined }, label))),
    content);
  every(3000, async () => {
    const s = await api('GET', db(id, '/status'));
    stateBadge.textContent = s.state;
    stateBadge.className = `badge ${stateColour(s.state)}`;
  });
  const tabs = { overview: overviewTab, query: queryTab, operations: operationsTab, snapshots: snapshotsTab, backups: backupsTab, export: exportTab, import: importTab, users: usersTab, settings: settingsTab };
  content.append(await (tabs[tab] ?? overviewTab)(d, params));
  return page;
}

function urlRow(label, url) {
  return [h('dt', {}, label), h('dd', {}, h('code', {}, url), ' ', copyButton(url, `Copy ${label}`))];
}

async function overviewTab(d, params) {
  const progress = h('div');
  const err = errorSlot();
  const follow = (operationId) => {
    clear(progress, operationProgress(d.id, operationId, () => undefined));
  };
  if (params.get('operation')) follow(params.get('operation'));
  const { plans } = await loadCatalog();
  const run = (label, fn, confirm) => h(confirm?.danger ? 'button.danger' : 'button.secondary', {
    type: 'button',
    onclick: async (e) => {
      const b = e.currentTarget;
      if (confirm && !(await confirmDialog(confirm.title, confirm.text, confirm))) return;
      const res = await act(b, err, fn);
      if (res?.operationId) follow(res.operationId);
    },
  }, label);
  const planSelect = h('select', {}, plans.map((p) => h('option', { value: p.id, selected: p.id === d.plan }, `${p.name} — ${price(p)}`)));
  const cloneName = h('input', { type: 'text', value: `${d.name}-clone` });
  const u = d.connectionUrls;
  // The graph-server serves Neo4j Browser only where the Neo4j engine (which ships it) is installed.
  const browserNote = h('p.muted', { 'aria-live': 'polite' });
  let browserChecked = false;
  const checkBrowser = () => {
    browserChecked = true;
    fetch(u.browser).then((r) => {
      if (r.status === 404) browserNote.replaceChildren('Neo4j Browser is not installed here (it comes with the Neo4j engine: allotrope engines install neo4j); the Query tab runs Cypher without it.');
    }, () => (browserChecked = false));
  };
  const status = h('section.panel', { 'aria-live': 'polite' });
  const renderStatus = (x) => {
    if (!browserChecked && x.status.state === 'running') checkBrowser();
    renderStatusPanel(x);
  };
  const renderStatusPanel = (x) => clear(status, h('h2', {}, 'Status'),
    h('dl.kv', {},
      h('dt', {}, 'State'), h('dd', {}, badge(x.status.state)),
      h('dt', {}, 'Health'), h('dd', {}, badge(x.status.lastHealthCheckStatus?.status ?? 'unknown')),
      h('dt', {}, 'Plan'), h('dd', {}, x.plan.toUpperCase()),
      h('dt', {}, 'Version'), h('dd', {}, `${x.version.number} ${x.version.engine ?? ''} ${x.version.edition}`),
      h('dt', {}, 'Region'), h('dd', {}, x.region),
      h('dt', {}, 'Needs restart'), h('dd', {}, x.status.needsRestart ? 'yes' : 'no')),
    h('h2', {}, 'Nodes'),
    h('div.table-wrap', {}, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Station'), h('th', {}, 'Type'), h('th', {}, 'State'))),
      h('tbody', {}, x.nodes.map((n) => h('tr', {}, h('td.mono', {}, n.stationId), h('td', {}, n.nodeType), h('td', {}, badge(n.state))))))));
  renderStatus(d);
  every(3000, async () => renderStatus(await api('GET', db(d.id))));
  return h('div', {},
    progress,
    h('section.panel', {}, h('h2', {}, 'Connection'),
      h('dl.kv', {}, urlRow('Bolt', u.bolt), urlRow('Neo4j', u.neo4j), urlRow('HTTP (Query API)', u.http),
        h('dt', {}, 'Browser'), h('dd', {}, h('a', { href: u.browser, target: '_blank', rel: 'noopener' }, 'Open Neo4j Browser'), ' ', copyButton(u.browser, 'Copy Browser URL'), browserNote))),
    status,
    h('section.panel', {}, h('h2', {}, 'Actions'),
      h('div.row', {},
        run('Pause', () => api('PUT', db(d.id, '/pause')), { title: `Pause ${d.name}?`, text: 'Compute stops; data is kept. Connections are closed.', confirmLabel: 'Pause' }),
        run('Resume', () => api('PUT', db(d.id, '/resume'))),
        run('Restart', () => api('PUT', db(d.id, '/restart'), {}), { title: `Restart ${d.name}?`, text: 'Every node restarts; open connections are closed.', confirmLabel: 'Restart' })),
      h('div.row', {}, field('Change plan', planSelect),
        run('Change plan', () => api('PUT', db(d.id, '/plan/change'), { targetPlanName: planSelect.value }), { title: 'Change the plan?', text: 'A running database restarts to apply the new plan.', confirmLabel: 'Change plan' })),
      h('div.row', {}, field('Clone name', cloneName),
        run('Clone', async () => {
          const res = await api('POST', db(d.id, '/clone'), { name: cloneName.value });
          knownPasswords.set(res.database.id, res.credentials);
          await showSecretOnce('Clone credentials', [['Username', res.credentials.username], ['Password', res.credentials.password]]);
          location.hash = `#/databases/${res.database.id}/overview?operation=${res.operationId}`;
        }, { title: 'Clone this database?', text: 'A new database with a copy of this one\'s data is created.', confirmLabel: 'Clone' })),
      h('div.row', {},
        run('Empty', () => api('PUT', db(d.id, '/empty')), { title: `Empty ${d.name}?`, text: 'All data is deleted; the database is kept.', danger: true, confirmLabel: 'Delete all data', typeToConfirm: d.name }),
        run('Terminate', () => api('DELETE', db(d.id)), { title: `Terminate ${d.name}?`, text: 'The database stops for good; a final snapshot is taken and its endpoint is freed.', danger: true, confirmLabel: 'Terminate', typeToConfirm: d.name })),
      err));
}

function operationsTable(ops, showDatabase) {
  if (ops.length === 0) return h('p.muted', {}, 'No operations.');
  return h('div.table-wrap', {}, h('table', {},
    h('thead', {}, h('tr', {}, [...(showDatabase ? ['Database'] : []), 'Operation', 'Status', 'Started', 'Duration', 'Steps'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ops.map((o) => h('tr', {},
      showDatabase ? h('td', {}, h('a', { href: `#/databases/${o.databaseId}/operations` }, o.databaseName ?? o.databaseId)) : null,
      h('td', {}, o.description || o.operationType),
      h('td', {}, badge(o.status)),
      h('td', {}, when(o.startedAt)),
      h('td', {}, o.durationInSeconds === null || o.durationInSeconds === undefined ? '—' : `${o.durationInSeconds} s`),
      h('td', {}, h('details', {}, h('summary', {}, `${(o.steps ?? []).length} step${(o.steps ?? []).length === 1 ? '' : 's'}`),
        h('ol.steps', {}, (o.steps ?? []).map((s) => h(`li.${['finished', 'running', 'failed'].includes(s.status) ? s.status : 'pending'}`, {}, `${s.name} — ${s.status}${s.message ? `: ${s.message}` : ''}`))))))))));
}

async function operationsTab(d) {
  const box = h('div', { 'aria-live': 'polite' });
  const load = async () => clear(box, operationsTable(await api('GET', db(d.id, '/operations')), false));
  await load();
  every(3000, load);
  return box;
}

async function snapshotsTab(d) {
  const list = h('div');
  const progress = h('div');
  const err = errorSlot();
  const label = h('input', { type: 'text', autocomplete: 'off' });
  const load = async () => {
    const snaps = await api('GET', db(d.id, '/snapshots'));
    clear(list, snaps.length === 0 ? h('p.muted', {}, 'No snapshots.') : h('div.table-wrap', {}, h('table', {},
      h('thead', {}, h('tr', {}, ['Label', 'Kind', 'Status', 'Size', 'Created', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, snaps.map((s) => h('tr', { 'data-snapshot': s.id },
        h('td', {}, s.label ?? '—'), h('td', {}, s.kind), h('td', {}, badge(s.status)), h('td', {}, bytes(s.sizeBytes)), h('td', {}, when(s.createdAt)), h('td', {}, when(s.expiresAt)),
        h('td', {}, h('div.row', {},
          h('button.secondary', { type: 'button', disabled: s.status !== 'ready', onclick: async (e) => {
            if (!(await confirmDialog('Restore this snapshot?', `${d.name}'s data is replaced by the snapshot's.`, { danger: true, confirmLabel: 'Restore' }))) return;
            const res = await act(e.currentTarget, err, () => api('POST', db(d.id, `/snapshots/${s.id}/restore`), {}));
            if (res) clear(progress, operationProgress(d.id, res.operationId));
          } }, 'Restore'),
          h('button.secondary', { type: 'button', onclick: async (e) => {
            if (!(await confirmDialog('Delete this snapshot?', 'It cannot be restored afterwards.', { danger: true, confirmLabel: 'Delete' }))) return;
            await act(e.currentTarget, err, () => api('DELETE', db(d.id, `/snapshots/${s.id}`)));
            await load();
          } }, 'Delete')))))))));
  };
  const take = h('button', { type: 'submit' }, 'Take snapshot');
  const form = h('form.panel', { onsubmit: (e) => {
    e.preventDefault();
    act(take, err, async () => {
      const res = await api('POST', db(d.id, '/snapshots'), label.value ? { label: label.value } : {});
      clear(progress, operationProgress(d.id, res.operationId, load));
      await load();
    });
  } }, h('h2', {}, 'Take a snapshot'), field('Label (optional)', label), h('div.row', {}, take), err);
  await act(null, err, load);
  return h('div', {}, form, progress, h('h2', {}, 'Snapshots'), list);
}

async function backupsTab(d) {
  const s = await api('GET', db(d.id, '/backups/schedule'));
  const enabled = h('input', { type: 'checkbox', checked: s.enabled });
  const frequency = h('select', {}, ['daily', 'weekly', 'monthly'].map((f) => h('option', { value: f, selected: f === s.frequency }, f)));
  const time = h('input', { type: 'text', value: s.time, inputmode: 'numeric', autocomplete: 'off' });
  const timezone = h('input', { type: 'text', value: s.timezone });
  const retention = h('input', { type: 'number', min: 1, value: s.retention });
  const dayOfWeek = h('select', {}, ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'].map((n, i) => h('option', { value: i, selected: i === s.dayOfWeek }, n)));
  const dayOfMonth = h('input', { type: 'number', min: 1, max: 28, value: s.dayOfMonth });
  const err = errorSlot();
  const saved = h('p.notice', { role: 'status' });
  const save = h('button', { type: 'submit' }, 'Save schedule');
  const backups = await api('GET', db(d.id, '/backups'));
  return h('div', {},
    h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      saved.textContent = '';
      act(save, err, async () => {
        await api('PUT', db(d.id, '/backups/schedule'), { enabled: enabled.checked, frequency: frequency.value, time: time.value, timezone: timezone.value, retention: Number(retention.value), dayOfWeek: Number(dayOfWeek.value), dayOfMonth: Number(dayOfMonth.value) });
        saved.textContent = 'Schedule saved.';
      });
    } },
    h('h2', {}, 'Scheduled backups'),
    h('label.inline', {}, enabled, 'Enabled'),
    field('Frequency', frequency), field('Time (HH:MM)', time), field('Time zone', timezone), field('Day of week (weekly)', dayOfWeek), field('Day of month (monthly)', dayOfMonth), field('Backups kept', retention),
    err, saved, h('div.row', {}, save)),
    h('h2', {}, 'Scheduled backups taken'),
    backups.length === 0 ? h('p.muted', {}, 'None yet.') : h('ul', {}, backups.map((b) => h('li', {}, `${when(b.createdAt)} — ${b.status}, ${bytes(b.sizeBytes)}`))));
}

// A signed /downloads/ link of local storage is served by this control plane: follow it on this origin
// (the link names the configured public address, which a proxy or a port-0 start may not match).
// Presigned S3 links are followed as they are.
function sameOriginDownload(url) {
  const u = new URL(url, location.href);
  return u.pathname.startsWith('/downloads/') && u.searchParams.has('signature') && u.searchParams.has('expires') ? `${u.pathname}${u.search}` : u.href;
}

async function exportTab(d) {
  const list = h('div');
  const progress = h('div');
  const err = errorSlot();
  const format = h('select', {}, h('option', { value: 'archive' }, 'Archive (.tar.gz of the store)'), h('option', { value: 'cypher' }, 'Cypher script'));
  const load = async () => {
    const exps = await api('GET', db(d.id, '/exports'));
    clear(list, exps.length === 0 ? h('p.muted', {}, 'No exports.') : h('div.table-wrap', {}, h('table', {},
      h('thead', {}, h('tr', {}, ['Created', 'Format', 'Status', 'Size', 'Download'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, exps.map((x) => h('tr', {}, h('td', {}, when(x.createdAt)), h('td', {}, x.format), h('td', {}, badge(x.status)), h('td', {}, bytes(x.sizeBytes)),
        h('td', {}, x.status === 'ready' ? h('button.secondary', { type: 'button', onclick: async (e) => {
          const full = await act(e.currentTarget, err, () => api('GET', db(d.id, `/exports/${x.id}`)));
          if (full?.url) h('a', { href: sameOriginDownload(full.url), download: '' }).click();
        } }, 'Download') : '—')))))));
  };
  const go = h('button', { type: 'submit' }, 'Export');
  await act(null, err, load);
  return h('div', {},
    h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      act(go, err, async () => {
        const res = await api('PUT', db(d.id, '/export'), { format: format.value });
        clear(progress, operationProgress(d.id, res.operationId, load));
        await load();
      });
    } }, h('h2', {}, 'Export this database'), field('Format', format), h('div.row', {}, go), err),
    progress, h('h2', {}, 'Exports'), list);
}

async function importTab(d) {
  const file = h('input', { type: 'file', accept: '.tar.gz,.tgz,.dump,.cypher,.cyp,.txt,application/gzip' });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Upload progress' });
  const pct = h('span', { role: 'status' });
  const err = errorSlot();
  const progress = h('div');
  const go = h('button', { type: 'submit' }, 'Upload and import');
  return h('div', {},
    h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      if (!file.files?.[0]) return err.show(new Error('choose a file to import'));
      act(go, err, async () => {
        if (!(await confirmDialog(`Replace ${d.name}'s data?`, 'The database\'s data is replaced by the file\'s. A running database restarts with it.', { danger: true, confirmLabel: 'Import' }))) return;
        const form = new FormData();
        form.append('file', file.files[0]);
        const res = await upload('PUT', db(d.id, '/import'), form, (loaded, total) => {
          bar.value = Math.round((loaded / total) * 100);
          pct.textContent = `${bar.value}% uploaded`;
        });
        bar.value = 100;
        pct.textContent = 'Uploaded; importing…';
        clear(progress, operationProgress(d.id, res.operationId));
      });
    } },
    h('h2', {}, 'Import data'),
    h('p.muted', {}, 'An archive exported from Allotrope, a Neo4j .dump, or a Cypher script.'),
    field('File', file), h('div.row', {}, go), bar, pct, err),
    progress);
}

async function usersTab(d) {
  const list = h('div');
  const err = errorSlot();
  const load = async () => {
    const users = await api('GET', db(d.id, '/users'));
    clear(list, h('div.table-wrap', {}, h('table', {},
      h('thead', {}, h('tr', {}, ['Username', 'Read-only', 'Description', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, users.map((u) => h('tr', {}, h('td', {}, u.username), h('td', {}, u.readOnly ? 'yes' : 'no'), h('td', {}, u.description ?? ''), h('td', {}, when(u.expireAt)),
        h('td', {}, h('div.row', {},
          h('button.secondary', { type: 'button', onclick: async (e) => {
            if (!(await confirmDialog(`New password for ${u.username}?`, 'The old password stops working.', { confirmLabel: 'Replace password' }))) return;
            const res = await act(e.currentTarget, err, () => api('POST', db(d.id, `/users/${u.id}/password`), {}));
            if (res) await showSecretOnce('New password', [['Username', u.username], ['Password', res.password]]);
          } }, 'New password'),
          h('button.secondary', { type: 'button', onclick: async (e) => {
            if (!(await confirmDialog(`Delete ${u.username}?`, 'Its connections stop working.', { danger: true, confirmLabel: 'Delete' }))) return;
            await act(e.currentTarget, err, () => api('DELETE', db(d.id, `/users/${u.id}`)));
            await load();
          } }, 'Delete')))))))));
  };
  const username = h('input', { type: 'text', autocomplete: 'off' });
  const readOnly = h('input', { type: 'checkbox' });
  const add = h('button', { type: 'submit' }, 'Create user');
  await act(null, err, load);
  return h('div', {},
    h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      act(add, err, async () => {
        const res = await api('POST', db(d.id, '/users'), { ...(username.value ? { username: username.value } : {}), readOnly: readOnly.checked });
        await showSecretOnce('Database user created', [['Username', res.username], ['Password', res.password]]);
        await load();
      });
    } }, h('h2', {}, 'New database user'), field('Username (empty: generated)', username), h('label.inline', {}, readOnly, 'Read-only'), h('div.row', {}, add), err),
    list);
}

async function settingsTab(d) {
  const { configuration } = await api('GET', db(d.id, '/settings/config'));
  const rows = h('tbody');
  const addRow = (c = { key: '', value: '', secret: false }) => {
    const tr = h('tr', {},
      h('td', {}, h('input', { type: 'text', value: c.key, 'aria-label': 'Setting name', 'data-k': '' })),
      h('td', {}, h('input', { type: c.secret ? 'password' : 'text', value: c.value, 'aria-label': 'Value', 'data-v': '' })),
      h('td', {}, h('input', { type: 'checkbox', checked: c.secret, 'aria-label': 'Secret', 'data-s': '' })),
      h('td', {}, h('button.secondary', { type: 'button', onclick: () => tr.remove() }, 'Remove')));
    rows.append(tr);
  };
  configuration.forEach(addRow);
  const err = errorSlot();
  const saved = h('p.notice', { role: 'status' });
  const save = h('button', { type: 'submit' }, 'Save settings');
  return h('form.panel', { onsubmit: (e) => {
    e.preventDefault();
    saved.textContent = '';
    act(save, err, async () => {
      const configuration = [...rows.children].map((tr) => ({ key: tr.querySelector('[data-k]').value, value: tr.querySelector('[data-v]').value, secret: tr.querySelector('[data-s]').checked })).filter((c) => c.key);
      const res = await api('PUT', db(d.id, '/settings/config'), { configuration });
      saved.textContent = res.needsRestart ? 'Saved; restart the database to apply.' : 'Saved.';
    });
  } },
  h('h2', {}, 'Database settings'),
  h('p.muted', {}, 'Secret values are masked; they take effect at the next restart.'),
  h('div.table-wrap', {}, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Setting'), h('th', {}, 'Value'), h('th', {}, 'Secret'), h('th', {}))), rows)),
  h('div.row', {}, h('button.secondary', { type: 'button', onclick: () => addRow() }, '+ Add setting'), save), err, saved);
}

// The Query API answers on the database's own HTTP port (connectionUrls.http), which allows any origin
// (CORS): the browser sends the database user's credentials there directly, never through the control plane.
async function queryTab(d) {
  const known = knownPasswords.get(d.id);
  const user = h('input', { type: 'text', value: known?.username ?? 'neo4j', autocomplete: 'off' });
  const pass = h('input', { type: 'password', value: known?.password ?? '', autocomplete: 'off' });
  const cypher = h('textarea', { rows: 5, spellcheck: 'false' }, 'MATCH (n)-[r]->(m) RETURN n, r, m LIMIT 25');
  const err = errorSlot();
  const out = h('div', { 'aria-live': 'polite' });
  const run = h('button', { type: 'submit' }, 'Run');
  const form = h('form.panel', { onsubmit: (e) => {
    e.preventDefault();
    act(run, err, async () => {
      clear(out, h('p.muted', {}, 'Running…'));
      const started = performance.now();
      const res = await fetch(`${d.connectionUrls.http}/db/neo4j/query/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Basic ${btoa(`${user.value}:${pass.value}`)}` },
        body: JSON.stringify({ statement: cypher.value }),
      }).catch(() => {
        throw new Error(`cannot reach ${d.connectionUrls.http} (is the database running, and does a network rule let this address in?)`);
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || body.errors?.length) {
        clear(out);
        throw new Error(body.errors?.map((x) => `${x.code}: ${x.message}`).join('; ') || `${res.status} ${res.statusText}`);
      }
      const { fields, values } = body.data;
      clear(out,
        h('p.muted', {}, `${values.length} rows in ${Math.round(performance.now() - started)} ms`),
        h('h2', {}, 'Table'), resultTable(fields, values),
        h('h2', {}, 'Graph'), graphView(values));
    });
  } },
  h('h2', {}, 'Run Cypher'),
  h('p.muted', {}, `Through the database's Query API at ${d.connectionUrls.http}, as a database user.`),
  h('div.row', {}, field('Database user', user), field('Password', pass)),
  field('Cypher', cypher), h('div.row', {}, run), err);
  cypher.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  return h('div', {}, form, out);
}

// ---------------------------------------------------------------- environments
async function environmentsPage() {
  const list = h('div');
  const err = errorSlot();
  const load = async () => {
    const envs = await environments();
    clear(list, envs.map((e) => environmentPanel(e, load)));
  };
  const label = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const type = h('select', {}, ['development', 'staging', 'production'].map((t) => h('option', { value: t }, t)));
  const add = h('button', { type: 'submit' }, 'Create environment');
  await act(null, err, load);
  return h('div', {},
    h('h1', {}, 'Environments'),
    h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      act(add, err, async () => {
        await api('POST', '/deployments/environments', { label: label.value, type: type.value });
        label.value = '';
        await load();
      });
    } }, h('h2', {}, 'New environment'), h('div.row', {}, field('Label', label), field('Type', type, 'development is green, staging yellow, production red')), h('div.row', {}, add), err),
    list);
}

function environmentPanel(e, reload) {
  const err = errorSlot();
  const type = h('select', {}, ['development', 'staging', 'production'].map((t) => h('option', { value: t, selected: t === e.type }, t)));
  const ruleLabel = h('input', { type: 'text', autocomplete: 'off' });
  const ipRange = h('input', { type: 'text', autocomplete: 'off', placeholder: '203.0.113.0/24' });
  const addRule = h('button', { type: 'submit' }, 'Add rule');
  return h('section.panel', { 'data-environment': e.label },
    h('h2', {}, e.label, ' ', h(`span.badge.${envColour(e.color)}`, {}, `${e.type} (${e.color})`)),
    h('p.muted', {}, `Region ${e.region}${e.cidr ? `, network ${e.cidr}` : ''}. `, h('a', { href: `#/databases?environment=${e.id}` }, 'Its databases')),
    h('div.row', {}, field('Type', type),
      h('button.secondary', { type: 'button', onclick: (ev) => act(ev.currentTarget, err, async () => (await api('PATCH', `/deployments/environments/${e.id}`, { type: type.value }), reload())) }, 'Change type'),
      h('button.danger', { type: 'button', onclick: async (ev) => {
        if (!(await confirmDialog(`Delete environment ${e.label}?`, 'Only an environment without databases can be deleted.', { danger: true, confirmLabel: 'Delete' }))) return;
        await act(ev.currentTarget, err, async () => (await api('DELETE', `/deployments/environments/${e.id}`), reload()));
      } }, 'Delete')),
    h('h3', {}, 'Network rules (IP allowlist)'),
    e.networkRules.length === 0 ? h('p.muted', {}, 'No rules: every address may connect.') : h('ul', {}, e.networkRules.map((r) => h('li', {}, `${r.label}: `, h('code', {}, r.ipRange), ' ',
      h('button.secondary', { type: 'button', onclick: (ev) => act(ev.currentTarget, err, async () => (await api('DELETE', `/deployments/environments/${e.id}/network-rules/${r.id}`), reload())) }, 'Delete')))),
    h('form', { onsubmit: (ev) => {
      ev.preventDefault();
      act(addRule, err, async () => (await api('POST', `/deployments/environments/${e.id}/network-rules`, { label: ruleLabel.value, ipRange: ipRange.value }), reload()));
    } }, h('div.row', {}, field('Rule label', ruleLabel), field('IP range (CIDR)', ipRange), addRule)),
    err);
}

// ---------------------------------------------------------------- operations (organization-wide)
async function operationsPage() {
  const box = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    const dbs = await api('GET', '/deployments/databases/graphneo');
    const all = (await Promise.all(dbs.map(async (d) => (await api('GET', db(d.id, '/operations'))).map((o) => ({ ...o, databaseName: d.name }))))).flat();
    all.sort((a, b) => Number(b.startedAt ?? 0) - Number(a.startedAt ?? 0));
    clear(box, operationsTable(all.slice(0, 200), true));
  };
  await load();
  every(5000, load);
  return h('div', {}, h('h1', {}, 'Operations'), h('p.muted', {}, 'Every operation of the organization\'s databases, newest first.'), box);
}

// ---------------------------------------------------------------- organization: API clients
async function organizationPage(tab) {
  const tabs = h('nav.tabs', { 'aria-label': 'Organization' },
    h('a', { href: '#/organization/api-clients', 'aria-current': tab === 'api-clients' ? 'page' : undefined }, 'API Clients'),
    h('a', { href: '#/organization/environment-types', 'aria-current': tab === 'environment-types' ? 'page' : undefined }, 'Environment types'));
  const body = tab === 'environment-types' ? await environmentTypesTab() : await apiClientsTab();
  return h('div', {}, h('h1', {}, 'Organization'), tabs, body);
}

async function apiClientsTab() {
  const envs = await environments();
  const envName = new Map(envs.map((e) => [e.id, e.label]));
  const list = h('div');
  const err = errorSlot();
  const load = async () => {
    const clients = await api('GET', '/organizations/api-clients');
    clear(list, h('div.table-wrap', {}, h('table', {},
      h('thead', {}, h('tr', {}, ['Name', 'Client ID', 'Role', 'Environments', 'Created', 'Last used', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, clients.map((c) => h('tr', { 'data-client': c.name },
        h('td', {}, c.name), h('td', {}, h('code', {}, c.clientId), ' ', copyButton(c.clientId, 'Copy Client ID')), h('td', {}, c.role),
        h('td', {}, c.environmentIds.length === 0 ? 'all' : c.environmentIds.map((id) => envName.get(id) ?? id).join(', ')),
        h('td', {}, when(c.createdAt)), h('td', {}, when(c.lastUsedAt)),
        h('td', {}, h('div.row', {},
          h('button.secondary', { type: 'button', onclick: async (e) => {
            if (!(await confirmDialog(`Refresh the secret of ${c.name}?`, 'The old secret and every token issued with it stop working at once.', { confirmLabel: 'Refresh secret' }))) return;
            const res = await act(e.currentTarget, err, () => api('POST', `/organizations/api-clients/${c.id}/secret`));
            if (res) await showSecretOnce('New client secret', [['Client ID', c.clientId], ['Client secret', res.clientSecret]]);
          } }, 'Refresh secret'),
          h('button.secondary', { type: 'button', onclick: async (e) => {
            if (!(await confirmDialog(`Delete ${c.name}?`, 'Its tokens stop working.', { danger: true, confirmLabel: 'Delete' }))) return;
            await act(e.currentTarget, err, () => api('DELETE', `/organizations/api-clients/${c.id}`));
            await load();
          } }, 'Delete')))))))));
  };
  const newClient = h('button', { type: 'button', onclick: async () => {
    const created = await modal('New API Client', (close) => {
      const name = h('input', { type: 'text', autocomplete: 'off' });
      const role = h('select', {}, ['operator', 'read-operator', 'admin'].map((r) => h('option', { value: r }, r)));
      const boxes = envs.map((e) => h('input', { type: 'checkbox', value: e.id, name: 'environments' }));
      const nameField = field('Name', name);
      const ferr = errorSlot();
      const confirm = h('button', { type: 'submit' }, 'Confirm');
      const form = h('form', { onsubmit: (ev) => {
        ev.preventDefault();
        nameField.errorEl.textContent = '';
        act(confirm, ferr, async () => {
          try {
            close(await api('POST', '/organizations/api-clients', { name: name.value, role: role.value, environmentIds: boxes.filter((b) => b.checked).map((b) => b.value) }));
          } catch (e2) {
            if (/name/i.test(e2.message)) nameField.errorEl.textContent = e2.message;
            else throw e2;
          }
        });
      } },
      nameField,
      h('fieldset', {}, h('legend', {}, 'Environments'), envs.map((e, i) => h('label.inline', {}, boxes[i], e.label)), h('div.muted', {}, 'Operators use only these; admins use every environment.')),
      field('Role', role), ferr,
      h('div.row', {}, confirm, h('button.secondary', { type: 'button', onclick: () => close() }, 'Cancel')));
      setTimeout(() => name.focus());
      return form;
    });
    if (!created) return;
    await showSecretOnce('API Client created', [['Client ID', created.clientId], ['Client secret', created.clientSecret]]);
    await load();
  } }, '+New API Client');
  await act(null, err, load);
  return h('div', {}, h('div.row', {}, newClient), err, list);
}

async function environmentTypesTab() {
  const scopes = await api('GET', '/organizations/environment-types');
  return h('div', {}, scopes.map((s) => {
    const err = errorSlot();
    const boxes = ['read', 'create', 'restart', 'pause', 'resume', 'clone', 'snapshot', 'export', 'change-plan', 'switch-url', 'terminate', 'import', 'restore', 'empty']
      .map((a) => [a, h('input', { type: 'checkbox', value: a, checked: s.allowedActions.includes(a) })]);
    const save = h('button', { type: 'submit' }, 'Save');
    return h('form.panel', { onsubmit: (e) => {
      e.preventDefault();
      act(save, err, () => api('PUT', `/organizations/environment-types/${s.type}`, { allowedActions: boxes.filter(([, b]) => b.checked).map(([a]) => a) }));
    } }, h('h2', {}, s.type, ' ', h(`span.badge.${envColour(s.color)}`, {}, s.color)),
    h('fieldset', {}, h('legend', {}, 'What operators may do'), boxes.map(([a, b]) => h('label.inline', {}, b, a))), h('div.row', {}, save), err);
  }));
}

// ---------------------------------------------------------------- GDB API
async function apiOverviewPage() {
  const clients = await api('GET', '/organizations/api-clients').catch(() => []);
  const pick = h('select', {}, clients.map((c) => h('option', { value: c.clientId }, `${c.name} (${c.clientId})`)), h('option', { value: '<client_id>' }, 'another client'));
  const pre = h('pre', { 'data-curl': '' });
  const render = () => {
    const origin = location.origin;
    const text = [
      '# 1. Get a token (valid for one hour) with an API client\'s credentials:',
      `curl -s -X POST ${origin}/organizations/oauth/token \\`,
      `  -d grant_type=client_credentials -d client_id=${pick.value} -d client_secret=<client_secret>`,
      '',
      '# 2. Call the API with it:',
      `curl -s ${origin}/deployments/databases/graphneo -H "Authorization: Bearer <access_token>"`,
    ].join('\n');
    pre.textContent = text;
    copy.replaceWith((copy = copyButton(text, 'Copy commands')));
  };
  let copy = h('span');
  pick.addEventListener('change', render);
  const page = h('div', {}, h('h1', {}, 'GDB API — Overview'),
    h('nav.tabs', { 'aria-label': 'GDB API' }, h('a', { href: '#/api/overview', 'aria-current': 'page' }, 'Overview'), h('a', { href: '#/api/reference' }, 'API Reference')),
    h('section.panel', {},
      h('p', {}, 'Everything this console does goes through the management API, which scripts and tools use with a bearer token from an API client (Organization > API Clients).'),
      field('API client', pick), pre, copy,
      h('p.muted', {}, 'The client secret is shown only when the client is created or its secret refreshed.')));
  render();
  return page;
}

async function apiReferencePage() {
  return h('div', {}, h('h1', {}, 'GDB API — API Reference'),
    h('nav.tabs', { 'aria-label': 'GDB API' }, h('a', { href: '#/api/overview' }, 'Overview'), h('a', { href: '#/api/reference', 'aria-current': 'page' }, 'API Reference')),
    h('p', {}, 'The reference of this install\'s API (', h('a', { href: '/docs', target: '_blank', rel: 'noopener' }, 'open in a new tab'), ', or as ', h('a', { href: '/openapi.json' }, 'OpenAPI 3.1'), ').'),
    h('iframe.docs', { src: '/docs', title: 'API Reference' }));
}

// ---------------------------------------------------------------- router
async function route(event) {
  const navigated = event?.type === 'hashchange';
  stopTimers();
  if (!currentUser()) {
    try {
      setSession(await api('GET', '/console/api/session'));
    } catch {
      return signInPage();
    }
  }
  const [path, query] = (location.hash.replace(/^#/, '') || '/databases').split('?');
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean);
  let page;
  try {
    if (parts[0] === 'databases' && parts[1] === 'new') page = await newDatabasePage();
    else if (parts[0] === 'databases' && parts[1]) page = await databasePage(parts[1], parts[2] ?? 'overview', params);
    else if (parts[0] === 'environments') page = await environmentsPage();
    else if (parts[0] === 'operations') page = await operationsPage();
    else if (parts[0] === 'organization') page = await organizationPage(parts[1] ?? 'api-clients');
    else if (parts[0] === 'api' && parts[1] === 'reference') page = await apiReferencePage();
    else if (parts[0] === 'api') page = await apiOverviewPage();
    else page = await databasesPage(params);
  } catch (err) {
    if (!currentUser()) return;
    page = h('div', {}, h('h1', {}, 'Something went wrong'), h('p.error', { role: 'alert' }, err.message));
  }
  if (!currentUser()) return;
  shell(page);
  // After a navigation, keyboard and screen-reader users continue from the new page's content.
  if (navigated) root.querySelector('main')?.focus({ preventScroll: true });
  document.title = `${document.querySelector('main h1')?.textContent ?? 'Console'} — Allotrope`;
}

window.addEventListener('hashchange', route);
route();
