// The todo board's page: renders the shared state and edits it with Immer recipes through the
// immer-web client. Exposes `window.board` (the store) for the browser test.
import { connect } from '/client/index.js';

const token = new URLSearchParams(location.search).get('token') ?? 'ann';
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const $ = (id) => document.getElementById(id);

function status(store) {
  const el = $('status');
  el.dataset.state = store.status;
  el.dataset.version = String(store.version);
  el.dataset.pending = String(store.pendingCount);
  el.textContent = `${store.user ?? token} (${store.role ?? '?'}) · ${store.status} · version ${store.version} · ${store.pendingCount} pending`;
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
      box.addEventListener('change', () => edit(store, (d) => { d.todos[index].done = box.checked; }));
      const text = Object.assign(document.createElement('span'), { className: 'text', textContent: todo.text });
      const up = button('↑', 'up', () => edit(store, (d) => { move(d.todos, index, index - 1); }), index === 0);
      const down = button('↓', 'down', () => edit(store, (d) => { move(d.todos, index, index + 1); }), index === state.todos.length - 1);
      const remove = button('✕', 'remove', () => edit(store, (d) => { d.todos.splice(index, 1); }));
      li.append(box, text, up, down, remove);
      return li;
    }),
  );
  status(store);
}

function button(label, action, onClick, disabled = false) {
  const b = Object.assign(document.createElement('button'), { textContent: label, disabled, type: 'button' });
  b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}

function move(list, from, to) {
  const [todo] = list.splice(from, 1);
  list.splice(to, 0, todo);
}

function edit(store, recipe) {
  $('notice').textContent = '';
  store.update(recipe);
}

const store = await connect(url, { token }).catch((error) => {
  $('status').dataset.state = 'closed';
  $('status').textContent = error.message;
  throw error;
});
window.board = store;
store.subscribe((state) => render(store, state));
for (const type of ['open', 'close', 'applied', 'accepted']) store.on(type, () => status(store));
store.on('dropped', (event) => {
  const why = event.reason.kind === 'rejected' ? event.reason.message : event.reason.kind;
  $('notice').textContent = `Your edit was undone: ${why}`;
  status(store);
});
$('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (text === '') return;
  const id = `${token}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  edit(store, (d) => { d.todos.push({ id, text, done: false }); });
  $('text').value = '';
});
render(store, store.getState());
