// A todo board's page (`/b/<name>`): renders the board's shared state and edits it with Immer
// recipes through the immer-web client, over one WebSocket to `/ws` (`connectMany`) that
// subscribes to this board. The board is kept in IndexedDB (one database per user, the board's
// name as the key): a reloaded page shows it at once, offline too, and sends the edits made
// offline when the server is back. Undo and redo (the buttons, Ctrl+Z and Ctrl+Shift+Z or
// Ctrl+Y) take back only this user's own edits, wherever others' edits moved them; each step
// remembers the todo it touched and shows it again when undone or redone. Who else is on the
// board is shown above it, and where they are (the todo under their pointer or focus) beside
// that todo: the board's presence, which the server never keeps. Exposes `window.board` (the
// board's store) and `window.undo` (its undo manager) for the tests.
import { connectMany, indexedDBStorage, tabLock } from '/client/index.js';
import { UndoManager } from '/client/undo.js';

const token = new URLSearchParams(location.search).get('token') ?? 'ann';
const name = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const $ = (id) => document.getElementById(id);
const withToken = (path) => `${path}?token=${encodeURIComponent(token)}`;

function status(store) {
  const el = $('status');
  el.dataset.state = store.status;
  el.dataset.version = String(store.version);
  el.dataset.pending = String(store.pendingCount);
  el.dataset.restored = String(store.restored);
  const kept = store.persist === null ? '' : ' · kept in this browser';
  el.textContent = store.reason
    ? `this board is gone: ${store.reason}`
    : `${store.user ?? token} (${store.role ?? '?'}) · ${store.status} · version ${store.version} · ${store.pendingCount} pending${kept}`;
}

/** The undo manager of the board, once open. */
let undo = null;

/** Enables the undo and redo buttons as the stacks allow. */
function undoButtons() {
  $('undo').disabled = undo === null || undo.undoLength === 0;
  $('redo').disabled = undo === null || undo.redoLength === 0;
}

/**
 * Undoes or redoes, says what was skipped on the way (and who made the change that stood in
 * the way), and shows again the todo the step touched.
 */
function undoOrRedo(action) {
  if (undo === null || undo.doc.reason) return;
  const outcome = action === 'undo' ? undo.undo() : undo.redo();
  const skipped = outcome.skipped.map(({ reason }) => explain(reason));
  if (!outcome.ok) {
    $('notice').textContent = skipped.length === 0
      ? `Nothing to ${action}.`
      : `Nothing to ${action}: ${skipped.join('; ')}`;
  } else {
    $('notice').textContent = skipped.length === 0 ? '' : `Skipped: ${skipped.join('; ')}`;
    flash(outcome.metadata?.todo);
  }
  undoButtons();
}

/** A skipped step's reason, in words, naming who made the change in its way. */
function explain(reason) {
  if (reason.kind === 'conflict') {
    const who = reason.author ?? (reason.version === null ? 'your own edit' : 'someone');
    return `${who} changed or removed what it touched`;
  }
  if (reason.kind === 'nothingLeft') return 'what it changed was written again since';
  return reason.kind;
}

/** Draws the eye to the todo with `id`, if it is on the board. */
function flash(id) {
  if (id === undefined) return;
  const li = [...document.querySelectorAll('#todos li')].find((el) => el.dataset.id === id);
  if (li === undefined) return;
  li.scrollIntoView({ block: 'nearest' });
  li.classList.add('flash');
  setTimeout(() => li.classList.remove('flash'), 800);
}

/** The others on the board now (the board's presence), as last shown. */
let others = [];

/** A colour of its own for each user. */
function colour(user) {
  let hash = 0;
  for (const c of user) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 45%)`;
}

function badge(user, className) {
  const el = Object.assign(document.createElement('span'), { className, textContent: user, title: user });
  el.dataset.user = user;
  el.style.background = colour(user);
  return el;
}

/**
 * Who is on the board (this user first; a user in two tabs once) and, beside each todo, who
 * is at it.
 */
function showPresence(store) {
  const users = [...new Set(others.map((p) => p.user))].filter((u) => u !== store.user);
  $('online').replaceChildren(
    Object.assign(document.createElement('span'), { textContent: 'here: ' }),
    badge(`${store.user ?? token} (you)`, 'who me'),
    ...users.map((user) => badge(user, 'who')),
  );
  for (const li of document.querySelectorAll('#todos li')) {
    const at = others.filter((p) => p.state?.todo === li.dataset.id).map((p) => p.user);
    li.querySelector('.here').replaceChildren(...[...new Set(at)].map((user) => badge(user, 'at')));
  }
}

/** Shows the others where this user is: the todo `id`, or none. */
function here(store, id) {
  if (store.reason) return;
  store.setPresence({ todo: id ?? null });
}

function render(store, state) {
  $('title').textContent = state.title;
  const list = $('todos');
  list.replaceChildren(
    ...state.todos.map((todo, index) => {
      const li = document.createElement('li');
      li.dataset.id = todo.id;
      li.className = todo.done ? 'done' : '';
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: todo.done });
      box.addEventListener('change', () => edit(store, (d) => { d.todos[index].done = box.checked; }, todo.id));
      const text = Object.assign(document.createElement('span'), { className: 'text', textContent: todo.text });
      const up = button('↑', 'up', () => move(store, todo, index, index - 1), index === 0);
      const down = button('↓', 'down', () => move(store, todo, index, index + 1), index === state.todos.length - 1);
      const remove = button('✕', 'remove', () => edit(store, (d) => { d.todos.splice(index, 1); }, todo.id));
      const at = Object.assign(document.createElement('span'), { className: 'here' });
      li.append(box, text, at, up, down, remove);
      li.addEventListener('pointerenter', () => here(store, todo.id));
      li.addEventListener('focusin', () => here(store, todo.id));
      return li;
    }),
  );
  status(store);
  undoButtons();
  showPresence(store);
}

function button(label, action, onClick, disabled = false) {
  const b = Object.assign(document.createElement('button'), { textContent: label, disabled, type: 'button' });
  b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}

/**
 * Moves `todo` from `from` to `to` as the `remove` and `add` of that todo: the one clicked is
 * the one moved (a recipe's splices tell only the list after, where a todo moved past its
 * neighbour reads the same as the neighbour moved), so that an undo of someone's edit of the
 * neighbour still finds it.
 */
function move(store, todo, from, to) {
  edit(store, [{ op: 'remove', path: ['todos', from] }, { op: 'add', path: ['todos', to], value: todo }], todo.id);
}

/**
 * Edits the board with a recipe or patches: one undo step per click (`todo`: the id of the
 * todo it touches, shown again when the step is undone or redone).
 */
function edit(store, recipe, todo) {
  if (store.reason) {
    $('notice').textContent = `This board takes no more edits: ${store.reason}`;
    return;
  }
  $('notice').textContent = '';
  undo.endStep();
  const options = { metadata: todo === undefined ? undefined : { todo } };
  if (Array.isArray(recipe)) undo.updatePatches(recipe, options);
  else undo.update(recipe, options);
  undo.endStep();
}

/** Shows why the board is not (or no longer) shown. */
function stopped(state, message) {
  $('status').dataset.state = state;
  $('status').textContent = message;
}

$('home').href = withToken('/');
$('react').href = withToken(`/b/${encodeURIComponent(name)}/react`);
document.title = `${name} · todo board`;
$('board').textContent = `board ${name}`;
const connection = connectMany(url, { token });
// One tab of a browser at a time keeps the board (two would resume one session); a reloaded
// page waits a moment for the one it replaces to let go. The React page shares the record.
const persist = (await tabLock(`immer-board ${token} ${name}`))
  ? { storage: indexedDBStorage(`immer-boards ${token}`), key: name }
  : undefined;
const store = await connection.open(name, { persist }).catch((error) => {
  // Not found, forbidden, a refused token: said on the page, with the way back to the list.
  stopped('closed', error.message);
  $('add').hidden = true;
  return null;
});
if (store !== null) {
  window.board = store;
  undo = new UndoManager(store);
  window.undo = undo;
  undo.on('refused', ({ action, reason }) => {
    const why = reason.kind === 'rejected' ? reason.message : reason.kind;
    $('notice').textContent = `Your ${action} was refused: ${why}`;
    undoButtons();
  });
  store.subscribePresence((presences) => {
    others = presences;
    showPresence(store);
  });
  here(store, null);
  $('todos').addEventListener('pointerleave', () => here(store, null));
  $('undo').addEventListener('click', () => undoOrRedo('undo'));
  $('redo').addEventListener('click', () => undoOrRedo('redo'));
  document.addEventListener('keydown', (event) => {
    // A text field keeps its own undo.
    if (!(event.ctrlKey || event.metaKey) || event.target instanceof HTMLInputElement && event.target.type === 'text') return;
    const key = event.key.toLowerCase();
    if (key === 'z' || key === 'y') {
      event.preventDefault();
      undoOrRedo(key === 'y' || event.shiftKey ? 'redo' : 'undo');
    }
  });
  if (store.role === 'editor') {
    $('devtools').href = withToken(`/b/${encodeURIComponent(name)}/devtools`);
    $('devtools').hidden = false;
  }
  store.subscribe((state) => render(store, state));
  for (const type of ['open', 'close', 'applied', 'accepted']) store.on(type, () => status(store));
  store.on('dropped', (event) => {
    const why = event.reason.kind === 'rejected' ? event.reason.message : event.reason.kind;
    $('notice').textContent = `Your edit was undone: ${why}`;
    status(store);
  });
  // The board was deleted (or the server ended this subscription): it takes no more edits.
  // Shown from this browser's copy and refused before the server ever welcomed it: said as a
  // board that could not be opened.
  let welcomed = !store.restored || store.status === 'open';
  store.on('open', () => { welcomed = true; });
  store.on('unsubscribed', () => {
    if (welcomed) status(store);
    else stopped('closed', `the document ${JSON.stringify(name)} is unsubscribed: ${store.reason}`);
    $('add').hidden = true;
  });
  $('add').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value.trim();
    if (text === '') return;
    const id = `${token}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    edit(store, (d) => { d.todos.push({ id, text, done: false }); }, id);
    $('text').value = '';
  });
  render(store, store.getState());
}
