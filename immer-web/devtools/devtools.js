// The devtools page: a virtual list of the timeline, a lazily expanded tree of the state at
// the selected version, the selected entry's patches, skip and revert, search, import.
// Everything comes from the program's API (relative addresses, so the page can be mounted
// under a prefix); no library.

/** Whether two JSON values are equal (as the client's `deepEqual` in `transform.js`). */
function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

const $ = (id) => document.getElementById(id);
const ROW = 28;
const view = {
  first: 0,
  newest: 0,
  version: 0, // the version shown
  entry: null, // the selected entry (its starting version)
  skip: null, // the entry skipped, when the tree shows the skipped state
  changed: [], // pointers the selected entry touched
  rows: new Map(), // version -> entry summary, loaded by pages
};

// The page's own token (`?token=` in its address), sent with every request, so that a
// server that mounts the devtools behind its authentication lets the page in.
const token = new URLSearchParams(location.search).get('token');

async function api(path, options = {}) {
  const headers = { ...(options.headers ?? {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`api/${path}`, { ...options, headers });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(text || response.statusText);
  }
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body;
}

function showError(error) {
  $('error').textContent = error ? String(error.message ?? error) : '';
}

// ---- The timeline: one row per version (the base, then each entry), rendered by window.

async function loadInfo() {
  const info = await api('info');
  Object.assign(view, { first: info.first, newest: info.newest });
  $('source').textContent = info.source;
  $('range').textContent = `versions ${info.first}–${info.newest}`;
  $('goto').max = String(info.newest);
  view.rows.clear();
  $('timeline').style.height = `${(info.newest - info.first + 1) * ROW}px`;
  await renderTimeline();
}

async function ensureRows(from, count) {
  const missing = [];
  for (let v = from; v < from + count && v < view.newest; v++) if (!view.rows.has(v)) missing.push(v);
  if (missing.length === 0) return;
  const { entries } = await api(`entries?from=${missing[0]}&count=${missing.at(-1) - missing[0] + 1}`);
  for (const e of entries) view.rows.set(e.version, e);
}

async function renderTimeline() {
  const box = $('timeline-box');
  const top = Math.floor(box.scrollTop / ROW);
  const visible = Math.ceil(box.clientHeight / ROW) + 2;
  // Row 0 is the base version; row n is the entry from version first + n - 1.
  await ensureRows(view.first + Math.max(0, top - 1), visible + 1);
  const rows = [];
  for (let n = top; n < top + visible && n <= view.newest - view.first; n++) {
    const div = document.createElement('div');
    div.className = 'row';
    div.style.top = `${n * ROW}px`;
    if (n === 0) {
      div.dataset.version = String(view.first);
      div.innerHTML = `<span class="v">v${view.first}</span> the start`;
      if (view.entry === null && view.version === view.first) div.classList.add('selected');
      div.onclick = () => select(null, view.first);
    } else {
      const e = view.rows.get(view.first + n - 1);
      if (e === undefined) continue;
      div.dataset.entry = String(e.version);
      const when = e.time ? new Date(e.time).toLocaleTimeString() : '';
      div.innerHTML = `<span class="v">v${e.version + 1}</span> `;
      div.append(e.label ?? `${e.patches} patches`);
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = ` · ${[e.author, when, `${e.patches} patches`].filter(Boolean).join(' · ')}`;
      div.append(who);
      if (view.entry === e.version) div.classList.add('selected');
      div.onclick = () => select(e.version, e.version + 1);
    }
    rows.push(div);
  }
  $('timeline').replaceChildren(...rows);
}

$('timeline-box').addEventListener('scroll', () => renderTimeline().catch(showError));

// ---- The tree: nodes fetched as they are opened, a page of children at a time.

function query(path, offset = 0) {
  const at = view.skip === null ? `version=${view.version}` : `version=${view.newest}&skip=${view.skip}`;
  return `node?${at}&path=${encodeURIComponent(path)}&offset=${offset}`;
}

function childPath(parent, key) {
  return `${parent}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function isChanged(path) {
  return view.changed.some((c) => c === path || c.startsWith(`${path}/`));
}

function line(li, key, kind, text) {
  const span = document.createElement('span');
  span.className = 'line';
  if (key !== null) {
    const k = document.createElement('span');
    k.className = 'key';
    k.textContent = `${key}: `;
    span.append(k);
  }
  const v = document.createElement('span');
  v.className = kind === 'array' || kind === 'object' ? 'preview' : 'value';
  v.textContent = text;
  span.append(v);
  li.prepend(span);
  return span;
}

/** Renders the node at `path` into `li` (opened), with its first page of children. */
async function open(li, path, key) {
  const node = await api(query(path));
  li.replaceChildren();
  li.className = node.kind === 'array' || node.kind === 'object' ? 'container open' : 'scalar';
  if (isChanged(path)) li.classList.add('changed');
  const label = node.kind === 'array' ? `[${node.size}]` : node.kind === 'object' ? `{${node.size}}` : JSON.stringify(node.value);
  const header = line(li, key, node.kind, label);
  if (li.classList.contains('container')) {
    header.onclick = () => close(li, path, key, node);
    const ul = document.createElement('ul');
    li.append(ul);
    appendChildren(ul, path, node);
  }
  return node;
}

function close(li, path, key, node) {
  li.replaceChildren();
  li.className = 'container';
  if (isChanged(path)) li.classList.add('changed');
  const header = line(li, key, node.kind, node.kind === 'array' ? `[${node.size}]` : `{${node.size}}`);
  header.onclick = () => open(li, path, key).catch(showError);
}

function appendChildren(ul, path, node) {
  for (const child of node.children) {
    const li = document.createElement('li');
    const p = childPath(path, child.key);
    li.dataset.path = p;
    li.dataset.key = String(child.key);
    li.className = child.kind === 'array' || child.kind === 'object' ? 'container' : 'scalar';
    if (isChanged(p)) li.classList.add('changed');
    const header = line(li, child.key, child.kind, child.preview);
    if (li.classList.contains('container')) header.onclick = () => open(li, p, child.key).catch(showError);
    ul.append(li);
  }
  const shown = node.offset + node.children.length;
  if (shown < node.size) {
    const more = document.createElement('li');
    more.className = 'more';
    more.textContent = `… ${node.size - shown} more`;
    more.onclick = async () => {
      const next = await api(query(path, shown));
      more.remove();
      appendChildren(ul, path, next);
    };
    ul.append(more);
  }
}

/** Opens the tree along `pointer`, paging to the child it names; resolves with its `li`. */
async function reveal(pointer) {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/');
  let li = $('tree').querySelector('li[data-path=""]');
  let path = '';
  for (const segment of segments) {
    if (!li.classList.contains('open')) await open(li, path, path === '' ? null : li.dataset.key);
    const next = childPath(path, segment.replaceAll('~1', '/').replaceAll('~0', '~'));
    let child = li.querySelector(`:scope > ul > li[data-path="${CSS.escape(next)}"]`);
    const index = Number(segment);
    if (child === null && Number.isInteger(index)) {
      // A page further on: fetch the page that holds it.
      const page = await api(query(path, index - (index % 100)));
      const ul = li.querySelector(':scope > ul');
      ul.querySelector(':scope > li.more')?.remove();
      const gap = document.createElement('li');
      gap.className = 'gap';
      gap.textContent = '…';
      ul.append(gap);
      appendChildren(ul, path, page);
      child = ul.querySelector(`:scope > li[data-path="${CSS.escape(next)}"]`);
    }
    if (child === null) throw new Error(`nothing at ${next}`);
    li = child;
    path = next;
  }
  li.scrollIntoView({ block: 'center' });
  return li;
}

async function renderTree() {
  const started = performance.now();
  const root = document.createElement('li');
  root.dataset.path = '';
  const ul = document.createElement('ul');
  ul.append(root);
  await open(root, '', null);
  $('tree').replaceChildren(ul);
  // What the selected entry touched, opened (at most a few paths).
  for (const path of view.changed.slice(0, 5)) {
    try {
      await reveal(path);
    } catch {
      // Removed by the entry: its parent is open and marked.
    }
  }
  const ms = performance.now() - started;
  window.devtools.lastRenderMs = ms;
  $('timing').textContent = `rendered in ${ms.toFixed(0)} ms`;
  $('banner').className = view.skip === null ? '' : 'on';
  $('banner').textContent = view.skip === null ? '' : `The newest version (${view.newest}) as if the entry from version ${view.skip} had never happened`;
}

// ---- Selection, jumps, skip and revert.

async function select(entry, version) {
  showError(null);
  Object.assign(view, { entry, version, skip: null, changed: [] });
  $('goto').value = String(version);
  $('skip').disabled = $('revert').disabled = entry === null;
  $('unskip').disabled = true;
  if (entry === null) {
    $('entry-title').textContent = `Version ${version}`;
    $('patches').textContent = $('inverse').textContent = '';
  } else {
    const e = await api(`entry?version=${entry}`);
    $('entry-title').textContent = `Entry ${entry} → ${entry + 1}${e.label ? `: ${e.label}` : ''}`;
    $('patches').textContent = JSON.stringify(e.patches, null, 1);
    $('inverse').textContent = JSON.stringify(e.inverse, null, 1);
    view.changed = e.patches.map((p) => pointer(p.path));
  }
  await renderTree();
  renderTimeline().catch(showError);
}

function pointer(path) {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Jumps to a version: selects the entry that leads to it (or the start). */
async function jump(version) {
  const v = Math.max(view.first, Math.min(view.newest, version));
  const box = $('timeline-box');
  box.scrollTop = Math.max(0, (v - view.first) * ROW - box.clientHeight / 2);
  await select(v === view.first ? null : v - 1, v);
}

$('first').onclick = () => jump(view.first).catch(showError);
$('last').onclick = () => jump(view.newest).catch(showError);
$('go').onclick = () => jump(Number($('goto').value)).catch(showError);
$('goto').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') jump(Number($('goto').value)).catch(showError);
});

$('skip').onclick = async () => {
  showError(null);
  try {
    const before = await api(`node?version=${view.newest}&path=`);
    view.skip = view.entry;
    await renderTree();
    const after = await api(query(''));
    $('unskip').disabled = false;
    if (deepEqual(before.children, after.children)) $('banner').textContent += ' (no visible difference at the top level)';
  } catch (error) {
    view.skip = null;
    showError(error);
  }
};
$('unskip').onclick = () => select(view.entry, view.version).catch(showError);
$('revert').onclick = async () => {
  showError(null);
  try {
    const { newest } = await api(`revert?entry=${view.entry}`, { method: 'POST' });
    await loadInfo();
    await jump(newest);
  } catch (error) {
    showError(error);
  }
};

// ---- Search and import.

let searching = 0;
$('search').addEventListener('input', async () => {
  const q = $('search').value.trim();
  const mine = ++searching;
  const at = view.skip === null ? `version=${view.version}` : `version=${view.newest}&skip=${view.skip}`;
  const { paths } = q === '' ? { paths: [] } : await api(`search?${at}&q=${encodeURIComponent(q)}`);
  if (mine !== searching) return;
  $('results').replaceChildren(
    ...paths.map((p) => {
      const a = document.createElement('a');
      a.textContent = p || '(the root)';
      a.onclick = () => reveal(p).then((li) => li.classList.add('changed')).catch(showError);
      return a;
    }),
  );
});

$('import').addEventListener('change', async () => {
  const file = $('import').files[0];
  if (!file) return;
  try {
    await api('import', { method: 'POST', body: await file.text() });
    showError(null);
    await loadInfo();
    await jump(view.newest);
  } catch (error) {
    showError(`import refused: ${error.message}`);
  }
  $('import').value = '';
});

window.devtools = { jump, reveal, select, view, lastRenderMs: null };
await loadInfo();
await jump(view.newest);
document.body.dataset.ready = 'true';
