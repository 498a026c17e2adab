// The todo board in React (`/b/<name>/react`), the second front end of the board that
// `immer-web/examples/web/board.js` draws by hand: the same shared document through the same
// client (one WebSocket to `/ws`, `connectMany`), drawn by components that each select the
// part of the board they show with `useDocument`, so that an edit re-renders what it changed
// and nothing else. Undo and redo (the buttons, Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y) take back this
// user's own edits only; who else is on the board, and at which todo, is its presence. The
// board is kept in IndexedDB, in the record the plain page keeps it in (one tab at a time,
// under a Web Lock), so edits made offline survive a reload on either page.
// Exposes `window.board` (the board's document) for the tests, and each component's renders
// (`window.__renders`, `window.__listRenders`).
//
// Built by `npm run build:demo` (type-checked with `tsc`, bundled by esbuild into `demo/dist/`:
// see `build.mjs`).
import { useEffect, useMemo, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectMany, indexedDBStorage, tabLock, type DocumentHandle, type DropReason, type SkipReason } from 'immer-rs-client';
import { UndoManager } from 'immer-rs-client/undo';
import { useDocument, usePresence } from 'immer-rs-client/react';
import type { Board } from './board.js';
import { BoardContext, colour, useBoard } from './context.js';
import { AddTodo, TodoList } from './todos.js';

declare global {
  interface Window {
    /** The board's document, once open. */
    board?: DocumentHandle<Board>;
  }
}

const token = new URLSearchParams(location.search).get('token') ?? 'ann';
const name = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const withToken = (path: string) => `${path}?token=${encodeURIComponent(token)}`;

/** The connection's state, version and pending edits, as one value that changes when they do. */
function useStatus(store: DocumentHandle<Board>): string {
  return useSyncExternalStore(
    (onChange) => {
      const off = (['open', 'close', 'applied', 'accepted', 'dropped', 'unsubscribed'] as const).map((type) => store.on(type, onChange));
      return () => off.forEach((stop) => stop());
    },
    () => `${store.status} ${store.version} ${store.pendingCount}`,
  );
}

function Status() {
  const { store } = useBoard();
  useStatus(store);
  return (
    <div id="status" data-state={store.status} data-version={store.version} data-pending={store.pendingCount}
      data-restored={String(store.restored)}>
      {store.reason !== null
        ? `this board is gone: ${store.reason}`
        : `${store.user ?? token} (${String(store.role ?? '?')}) · ${store.status} · version ${store.version} · ${store.pendingCount} pending${store.persist === null ? '' : ' · kept in this browser'}`}
    </div>
  );
}

/** The title, renamed in place. */
function Title() {
  const { store, edit } = useBoard();
  const title = useDocument(store, (s) => s.title);
  const [draft, setDraft] = useState<string | null>(null);
  const rename = (event: FormEvent) => {
    event.preventDefault();
    const text = draft?.trim() ?? '';
    setDraft(null);
    if (text !== '' && text !== title) edit((d) => { d.title = text; });
  };
  return (
    <header>
      {draft === null ? (
        <>
          <h1 id="title" onDoubleClick={() => setDraft(title)}>{title}</h1>
          <button type="button" id="rename" title="Rename the board" onClick={() => setDraft(title)}>✎</button>
        </>
      ) : (
        <form id="retitle" onSubmit={rename}>
          <input id="title-text" value={draft} maxLength={200} autoFocus onChange={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={(event) => { if (event.key === 'Escape') setDraft(null); }} />
          <button>Rename</button>
        </form>
      )}
    </header>
  );
}

/** Who is on the board: this user first, then the others (a user in two tabs once). */
function Online() {
  const { store } = useBoard();
  const others = usePresence(store);
  const users = [...new Set(others.map((p) => p.user))].filter((user) => user !== store.user);
  const me = `${store.user ?? token} (you)`;
  return (
    <div id="online">
      <span>here: </span>
      <Badge user={me} className="who me" />
      {users.map((user) => <Badge key={user} user={user} className="who" />)}
    </div>
  );
}

function Badge({ user, className }: { user: string; className: string }) {
  return <span className={className} data-user={user} title={user} style={{ background: colour(user) }}>{user}</span>;
}

/** A skipped step's reason, in words, naming who made the change in its way. */
function explain(reason: SkipReason): string {
  if (reason.kind === 'conflict') {
    const who = reason.author ?? (reason.version === null ? 'your own edit' : 'someone');
    return `${who} changed or removed what it touched`;
  }
  if (reason.kind === 'nothingLeft') return 'what it changed was written again since';
  return reason.kind;
}

/** Why an edit was dropped, in words. */
function dropped(reason: DropReason): string {
  return reason.kind === 'rejected' ? reason.message : reason.kind;
}

/** Undo and redo: the buttons, and the keys. */
function Tools() {
  const { store, undo, say } = useBoard();
  // The stacks change with the board's state: drawn again whenever it changes.
  useDocument(store);
  const step = (action: 'undo' | 'redo') => {
    if (store.reason !== null) return;
    const outcome = action === 'undo' ? undo.undo() : undo.redo();
    const skipped = outcome.skipped.map(({ reason }) => explain(reason));
    if (!outcome.ok) say(skipped.length === 0 ? `Nothing to ${action}.` : `Nothing to ${action}: ${skipped.join('; ')}`);
    else say(skipped.length === 0 ? '' : `Skipped: ${skipped.join('; ')}`);
  };
  useEffect(() => {
    const keys = (event: KeyboardEvent) => {
      // A text field keeps its own undo.
      if (!(event.ctrlKey || event.metaKey) || event.target instanceof HTMLInputElement && event.target.type === 'text') return;
      const key = event.key.toLowerCase();
      if (key === 'z' || key === 'y') {
        event.preventDefault();
        step(key === 'y' || event.shiftKey ? 'redo' : 'undo');
      }
    };
    document.addEventListener('keydown', keys);
    return () => document.removeEventListener('keydown', keys);
  });
  return (
    <div id="tools">
      <button id="undo" type="button" disabled={undo.undoLength === 0} title="Undo (Ctrl+Z)" onClick={() => step('undo')}>↶ Undo</button>
      <button id="redo" type="button" disabled={undo.redoLength === 0} title="Redo (Ctrl+Shift+Z, Ctrl+Y)" onClick={() => step('redo')}>↷ Redo</button>
    </div>
  );
}

function Nav({ children }: { children?: ReactNode }) {
  return (
    <nav>
      <a id="home" href={withToken('/')}>← all boards</a>
      <span id="board">board {name}</span>
      <a id="classic" href={withToken(`/b/${encodeURIComponent(name)}`)}>plain page</a>
      {children}
    </nav>
  );
}

/** The add form, while the board takes edits. */
function Adding() {
  const { store } = useBoard();
  const status = useStatus(store);
  return status.startsWith('unsubscribed') ? null : <AddTodo token={token} />;
}

function App({ store, undo }: { store: DocumentHandle<Board>; undo: UndoManager<Board> }) {
  const [notice, say] = useState('');
  useEffect(() => {
    const offDropped = store.on('dropped', (event) => say(`Your edit was undone: ${dropped(event.reason)}`));
    const offRefused = undo.on('refused', ({ action, reason }) => say(`Your ${action} was refused: ${dropped(reason)}`));
    store.setPresence({ todo: null });
    return () => {
      offDropped();
      offRefused();
    };
  }, [store, undo]);
  // One context value for the page's life: a new one would render every todo again.
  const board = useMemo<BoardContext>(() => ({
    store,
    undo,
    say,
    edit: (recipe, todo) => {
      if (store.reason !== null) {
        say(`This board takes no more edits: ${store.reason}`);
        return;
      }
      say('');
      undo.endStep();
      undo.update(recipe, { metadata: todo === undefined ? undefined : { todo } });
      undo.endStep();
    },
  }), [store, undo]);
  return (
    <BoardContext.Provider value={board}>
      <Nav>{store.role === 'editor' ? <a id="devtools" href={withToken(`/b/${encodeURIComponent(name)}/devtools`)}>devtools</a> : null}</Nav>
      <Title />
      <Status />
      <Online />
      <Tools />
      <div id="notice" role="alert">{notice}</div>
      <TodoList />
      <Adding />
    </BoardContext.Provider>
  );
}

/** Why the board is not shown. */
function Stopped({ message }: { message: string }) {
  return (
    <>
      <Nav />
      <div id="status" data-state="closed">{message}</div>
    </>
  );
}

document.title = `${name} · todo board (React)`;
window.__renders = {};
window.__listRenders = 0;
const root = createRoot(document.getElementById('root') ?? document.body);
const connection = connectMany(url, { token });
// The lock and the record are the plain page's: whichever page holds the lock keeps the board.
const persist = (await tabLock(`immer-board ${token} ${name}`))
  ? { storage: indexedDBStorage(`immer-boards ${token}`), key: name }
  : undefined;
try {
  const store = await connection.open<Board>(name, persist === undefined ? {} : { persist });
  window.board = store;
  root.render(<App store={store} undo={new UndoManager(store)} />);
} catch (error) {
  // Not found, forbidden, a refused token: said on the page, with the way back to the list.
  root.render(<Stopped message={error instanceof Error ? error.message : String(error)} />);
}
