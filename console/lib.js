// Small helpers of the console: DOM building (text is always set as text, never parsed as HTML), the API
// client (session cookie + X-CSRF-Token), modal dialogs and live operation progress.
export const VENDOR = 'graphneo';

/** h('tag.class', {attr, onclick}, ...children) */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = name === 'svg' || name === 'line' || name === 'circle' || name === 'text' || name === 'g' || name === 'title'
    ? document.createElementNS('http://www.w3.org/2000/svg', name)
    : document.createElement(name);
  if (classes.length) el.setAttribute('class', classes.join(' '));
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

/** A labelled form control; returns [wrapper, control]. */
export function field(labelText, control, hint) {
  const id = control.id || nextId('f');
  control.id = id;
  const err = h('div.field-error', { id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', `${id}-error`);
  // An error about the value goes once the value changes.
  control.addEventListener('input', () => (err.textContent = ''));
  const wrap = h('div.field', {}, h('label', { for: id }, labelText), control, hint ? h('div.muted', {}, hint) : null, err);
  wrap.errorEl = err;
  return wrap;
}

// ---- API ----
const session = { csrf: null, user: null, onSignedOut: () => undefined };
export function setSession(s) {
  session.csrf = s?.csrfToken ?? null;
  session.user = s?.user ?? null;
}
export const currentUser = () => session.user;
export const onSignedOut = (fn) => (session.onSignedOut = fn);

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function parse(res) {
  const text = await res.text();
  let body = null;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  if (!res.ok) {
    if (res.status === 401 && session.csrf) {
      setSession(null);
      session.onSignedOut(body?.error ?? 'signed out');
    }
    throw new ApiError(res.status, body?.error ?? `${res.status} ${res.statusText}`);
  }
  return body;
}

/** A request to this origin's API with the session cookie and its CSRF token. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (session.csrf) headers['x-csrf-token'] = session.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  return parse(res);
}

export const db = (id, rest = '') => `/deployments/databases/${VENDOR}/${encodeURIComponent(id)}${rest}`;

/** Multipart upload with progress (fetch cannot report upload progress). */
export function upload(method, path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.setRequestHeader('x-csrf-token', session.csrf ?? '');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed (network error)'));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error ?? `${xhr.status} ${xhr.statusText}`));
    };
    xhr.send(formData);
  });
}

// ---- page-lifetime timers ----
let timers = [];
export function every(ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch {}
    if (!stopped) handle.t = setTimeout(tick, ms);
  };
  const handle = { t: setTimeout(tick, ms), stop: () => ((stopped = true), clearTimeout(handle.t)) };
  timers.push(handle);
  return handle;
}
export function stopTimers() {
  for (const t of timers) t.stop();
  timers = [];
}

// ---- dialogs ----
/** A modal dialog; `build(close)` returns its content. Resolves with what close() was given. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const dlg = h('dialog', { 'aria-labelledby': titleId });
    const close = (value) => {
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    dlg.addEventListener('cancel', (e) => (e.preventDefault(), close(undefined)));
    dlg.append(h('h2', { id: titleId }, title), build(close));
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Asks before an action; `danger` words the confirm button as destructive; `typeToConfirm` must be typed. */
export function confirmDialog(title, text, { confirmLabel = 'Confirm', danger = false, typeToConfirm } = {}) {
  return modal(title, (close) => {
    const input = typeToConfirm ? h('input', { type: 'text', autocomplete: 'off' }) : null;
    const ok = h(danger ? 'button.danger' : 'button', { type: 'submit', disabled: Boolean(typeToConfirm) }, confirmLabel);
    if (input) input.addEventListener('input', () => (ok.disabled = input.value !== typeToConfirm));
    return h('form', { method: 'dialog', onsubmit: (e) => (e.preventDefault(), close(true)) },
      h('p', {}, text),
      input ? field(`Type ${typeToConfirm} to confirm`, input) : null,
      h('div.row', {}, ok, h('button.secondary', { type: 'button', onclick: () => close(false) }, 'Cancel')));
  });
}

export function copyButton(text, label = 'Copy') {
  const b = h('button.secondary', { type: 'button', 'aria-label': `${label}: ${text.length > 40 ? text.slice(0, 40) + '…' : text}` }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy';
    }
    setTimeout(() => (b.textContent = label), 1500);
  });
  return b;
}

/** Shows a secret once, with the reference's wording. */
export function showSecretOnce(title, rows) {
  return modal(title, (close) =>
    h('div', {},
      h('p.secret', { role: 'note' }, "Copy it now: we won't show it again."),
      h('dl.kv', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', { 'data-secret': k }, v), ' ', copyButton(v))])),
      h('div.row', {}, h('button', { type: 'button', onclick: () => close() }, 'Done'))));
}

// ---- states, dates ----
export function stateColour(state) {
  if (state === 'running' || state === 'finished' || state === 'ready' || state === 'healthy') return 'green';
  if (state === 'paused' || state === 'terminated' || state === 'pending' || state === 'unknown') return 'grey';
  if (state === 'failed' || state === 'error' || state === 'unhealthy' || state === 'cancelled') return 'red';
  return 'yellow';
}
export const badge = (text, colour = stateColour(text)) => h(`span.badge.${colour}`, {}, text);
export const envColour = (c) => (c === 'green' || c === 'yellow' || c === 'red' ? c : 'grey');
export function when(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = /^\d+$/.test(String(v)) ? new Date(Number(v) * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}
export const bytes = (n) => (n === null || n === undefined ? '—' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

/** An element showing an API error's message (role=alert) or nothing. */
export function errorSlot() {
  const el = h('div.error', { role: 'alert' });
  el.show = (err) => (el.textContent = err ? (err.message ?? String(err)) : '');
  return el;
}

/** Runs `fn` with `button` disabled, showing its error in `slot`. */
export async function act(button, slot, fn) {
  slot?.show(null);
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    slot?.show(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Live progress of an operation, step by step, until it finishes or fails. */
export function operationProgress(databaseId, operationId, onDone) {
  const box = h('section.panel', { 'aria-live': 'polite', 'data-operation': operationId }, h('p', {}, 'Starting operation…'));
  let done = false;
  const render = (op) => {
    clear(box,
      h('h2', {}, op.description || op.operationType, ' ', badge(op.status)),
      h('ol.steps', {}, (op.steps ?? []).map((s) => h(`li.${['finished', 'running', 'failed'].includes(s.status) ? s.status : 'pending'}`, { 'data-step': s.name }, `${s.name} — ${s.status}${s.message ? `: ${s.message}` : ''}`))),
      op.error ? h('p.error', {}, op.error) : null);
    box.dataset.status = op.status;
  };
  const poll = every(800, async () => {
    if (done) return;
    const op = await api('GET', db(databaseId, `/operations/${operationId}`));
    render(op);
    if (op.status === 'finished' || op.status === 'failed' || op.status === 'cancelled') {
      done = true;
      poll.stop();
      onDone?.(op);
    }
  });
  return box;
}
