// A client of an immer-web document server: edit a shared state with Immer recipes in the
// browser (or Node), see your edits at once, and converge with every other client in the
// server's order. ES module, no build step; types in index.d.ts.
//
//   import { connect } from 'immer-rs-client';
//   const store = await connect('ws://localhost:3000/ws', { token });
//   store.subscribe((state) => render(state));
//   store.update((draft) => { draft.todos[0].done = true; });
//
// Many documents over one WebSocket: `connectMany` gives a `Connection`, and each document it
// opens is a `DocumentHandle`, a store with the API of `Store`.
//
//   import { connectMany } from 'immer-rs-client';
//   const connection = connectMany('ws://localhost:3000/ws', { token });
//   const teamA = await connection.open('team-a');   // rejects with the server's reason
//   teamA.update((draft) => { draft.title = 'Team A'; });
//   teamA.on('unsubscribed', ({ reason }) => show(reason));
//   teamA.close();                                    // unsubscribes; the socket stays
//
// The multi-document protocol (JSON text frames; `index.d.ts` declares each message as
// `MultiDocumentClientMessage` and `MultiDocumentServerMessage`):
// - The client sends `{"type":"auth","token":...}` once, first (no `resume`: sessions are per
//   document). Nothing answers it; a refused token closes the socket with 4401 and the reason.
// - `{"type":"subscribe","doc":"team-a"}`, with `"resume": <session>` to resume that
//   document's session after a reconnect, is answered by the document's welcome (the
//   single-document welcome with `"doc"`) or by `{"doc":"team-a","type":"unsubscribed",
//   "reason":...}` (not found, forbidden, too many documents, ...).
// - `{"type":"unsubscribe","doc":"team-a"}` is answered by `unsubscribed` with the reason
//   `"unsubscribed"`. The server may also send `unsubscribed` on its own (the document was
//   deleted): the document stops, and its unanswered edits are reported dropped (`sessionLost`).
// - Every other message, both ways (`change`, `resync`, `snapshot`; `committed`, `rejected`,
//   `snapshot`), is the single-document one with `"doc"` added.
// - After the socket drops, the client reconnects with backoff, authenticates again and
//   subscribes every open document with `resume`; each then resumes as a single-document
//   store does (its change in flight sent again, what it missed asked for).
//
// Presence: each store (and each document of a connection) may show the others a small state
// of its own, such as a cursor or a selection, never kept or logged by the server:
//
//   store.setPresence({ cursor: [x, y] });            // sent at most 20 times a second, the last wins
//   store.subscribePresence((others) => drawCursors(others));   // [{ client, user, state }, ...]
//   store.setPresence(null);                           // shows nothing
//
// Subscriptions by path: a listener called only when a change touches a path pattern (the
// `Policy` syntax: `*` any one segment, `**` last for everything below), with the patches that
// did and the state after them (see `touches` for exactly when a patch touches a pattern).
//
//   store.subscribePath('/todos/3/done', (patches, state) => redraw(state.todos[3]));
//
// Each message of it is `{"type":"presence","state":...}` one way and
// `{"type":"presence","presences":[{"client":..,"user":..,"state":..}, ...]}` the other (what
// changed; a `null` state is one that went), with `"doc"` on a multi-document connection. The
// server takes a presence away when its connection closes or after 30 s without it (the client
// sends it again every 10 s); after a reconnect the client shows its presence again.
//
// Offline across reloads: with `persist`, a document is kept in a storage (IndexedDB in the
// browser) and a reloaded page starts from it at once, then resumes the saved session.
//
//   const storage = indexedDBStorage('my-app');
//   const doc = await connection.open('team-a', { persist: { storage } });   // shown at once
//   const store = await connect(url, { token, persist: { storage, key: 'team-a' } });

import { Follower, diffInDetail } from './follower.js';
import { parsePattern, touches } from './transform.js';

export { Follower, SAVED_FORMAT, applyWithInverse } from './follower.js';
export { transform, revertThrough, deepEqual, parsePattern, touches } from './transform.js';

/** WebSocket close codes after which reconnecting would be refused again. */
const FINAL_CODES = new Set([1003, 1007, 1008, 1009, 4401, 4403]);

/** The shortest time between two presence messages of a document, and between keep-alives. */
const PRESENCE_INTERVAL_MS = 50;
const PRESENCE_KEEP_ALIVE_MS = 10000;

/** The first wait before reconnecting, and the longest (it doubles after each failure). */
const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 5000;

/**
 * Connects to a document server and resolves with a store once the server has welcomed this
 * client (authenticated it and sent the state). Rejects with the server's reason when it
 * refuses the connection (a missing or bad token, for one).
 *
 * With `persist`, the document is kept in `persist.storage` (under `persist.key`, the url by
 * default) after every change of its state, session or unanswered edits. When the storage
 * holds it already, the store resolves at once from it (offline too: `restored` is true), then
 * connects resuming the saved session: when the server still knows it (after its own restart
 * on a durable store too), the saved edits are sent and each is answered once; when it does
 * not, those it had not answered are reported `dropped` with `sessionLost`, once each.
 *
 * ```js
 * const store = await connect(url, { token, persist: { storage: indexedDBStorage('todo'), key: 'welcome' } });
 * render(store.getState());   // the saved state, before the server answers
 * ```
 *
 * @param {string} url the server's WebSocket endpoint, such as `ws://localhost:3000/ws`
 * @param {import('./index.js').ConnectOptions} options
 * @returns {Promise<Store>}
 */
export function connect(url, options) {
  const store = new Store(url, options);
  return store.ready.then(() => store);
}

/**
 * Opens one WebSocket to a server's multi-document endpoint, which carries any number of
 * documents: open each with `connection.open(name)`. Returns at once; the token is sent as
 * soon as the socket opens, and a refused one ends the connection (every `open` then rejects
 * with the server's reason).
 *
 * ```js
 * const connection = connectMany('ws://localhost:3000/ws', { token, WebSocket });
 * const [teamA, teamB] = await Promise.all([connection.open('team-a'), connection.open('team-b')]);
 * teamA.update((draft) => { draft.todos.push({ id: 'x', text: 'one socket', done: false }); });
 * connection.disconnect();
 * ```
 *
 * @param {string} url the server's multi-document WebSocket endpoint
 * @param {import('./index.js').ConnectOptions} options as for `connect`: `token`, `WebSocket`,
 *   `batch` (for each document) and `reconnect`
 * @returns {Connection}
 */
export function connectMany(url, options) {
  return new Connection(url, options);
}

/** The `WebSocket` constructor of `options`, or the global one. */
function webSocketOf(options) {
  const WebSocket = options.WebSocket ?? globalThis.WebSocket;
  if (typeof WebSocket !== 'function') {
    throw new TypeError('no WebSocket implementation: pass one as options.WebSocket (the `ws` package in Node 20)');
  }
  return WebSocket;
}

/** A frame's JSON, or `undefined` after reporting it unreadable through `onError`. */
function readFrame(event, onError) {
  try {
    return JSON.parse(typeof event.data === 'string' ? event.data : String(event.data));
  } catch (error) {
    onError({ message: `unreadable message from the server: ${error.message}` });
    return undefined;
  }
}

/**
 * A `DocumentStorage` in the browser's IndexedDB: one object store, `documents`, in the
 * database `name`, each document's record under its key (copied by IndexedDB's structured
 * clone). The database opens on first use.
 *
 * ```js
 * const storage = indexedDBStorage('todo-boards');
 * const doc = await connection.open('team-a', { persist: { storage } });
 * ```
 *
 * @param {string} [name] the database's name
 * @param {IDBFactory} [indexedDB] the factory (the global one by default)
 * @returns {import('./index.js').DocumentStorage}
 */
export function indexedDBStorage(name = 'immer-rs-client', indexedDB = globalThis.indexedDB) {
  if (indexedDB === undefined) throw new TypeError('no IndexedDB here: use memoryStorage() or a storage of your own');
  const STORE = 'documents';
  /** @type {Promise<IDBDatabase> | null} */
  let opened = null;
  const database = () => {
    opened ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error(`the IndexedDB database ${JSON.stringify(name)} is blocked by another page`));
    });
    return opened;
  };
  /** Runs `act` on the object store in one transaction; resolves once it has committed. */
  const run = async (mode, act) => {
    const db = await database();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = act(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'));
    });
  };
  return {
    load: (key) => run('readonly', (store) => store.get(key)),
    save: (key, value) => run('readwrite', (store) => store.put(value, key)).then(() => undefined),
    remove: (key) => run('readwrite', (store) => store.delete(key)).then(() => undefined),
  };
}

/**
 * Holds the Web Lock `name` for as long as the page lives: one page (tab) of a browser at a
 * time should keep a document in one storage record, since two would resume one saved session
 * side by side. Resolves `true` once this page holds the lock, and `false` when another page
 * still holds it after `timeout` ms (a reloaded page waits that long for the page it replaces
 * to let go) or the browser has no Web Locks; never rejects.
 *
 * ```js
 * const persist = (await tabLock(`board ${name}`))
 *   ? { storage: indexedDBStorage('boards'), key: name }
 *   : undefined;                                   // another tab keeps it: this one does not
 * const board = await connection.open(name, { persist });
 * ```
 *
 * @param {string} name the lock's name, shared by the pages that would keep the same record
 * @param {{ timeout?: number, locks?: import('./index.js').TabLocks }} [options] how long to wait (3000 ms by
 *   default), and the lock manager (`navigator.locks` by default)
 * @returns {Promise<boolean>}
 */
export function tabLock(name, { timeout = 3000, locks = globalThis.navigator?.locks } = {}) {
  if (locks === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      Promise.resolve(locks.request(name, { signal: AbortSignal.timeout(timeout) }, () => {
        resolve(true);
        // Held until the page goes.
        return new Promise(() => {});
      })).catch(() => resolve(false));
    } catch {
      // A lock manager that throws rather than rejects (a name it refuses, say).
      resolve(false);
    }
  });
}

/**
 * A `DocumentStorage` in memory, for Node and tests: what it keeps is copied in and out
 * (`structuredClone`), as IndexedDB would, so that a store restored from it shares nothing
 * with the one that saved. `entries` holds the records by key.
 *
 * ```js
 * const storage = memoryStorage();
 * const store = await connect(url, { token, WebSocket, persist: { storage, key: 'welcome' } });
 * ```
 *
 * @returns {import('./index.js').DocumentStorage & { entries: Map<string, unknown> }}
 */
export function memoryStorage() {
  const entries = new Map();
  return {
    entries,
    async load(key) {
      return entries.has(key) ? structuredClone(entries.get(key)) : undefined;
    },
    async save(key, value) {
      entries.set(key, structuredClone(value));
    },
    async remove(key) {
      entries.delete(key);
    },
  };
}

/** The `{ storage, key }` of a `persist` option, checked; `null` without one. */
function persistOf(persist, defaultKey) {
  if (persist == null) return null;
  const { storage, key = defaultKey } = persist;
  for (const method of ['load', 'save', 'remove']) {
    if (typeof storage?.[method] !== 'function') {
      throw new TypeError(`persist.storage has a \`${method}\` method: pass indexedDBStorage(), memoryStorage() or your own`);
    }
  }
  if (typeof key !== 'string' || key === '') throw new TypeError(`persist.key is a string that is not empty, not ${JSON.stringify(key)}`);
  return { storage, key };
}

/** Named events and their handlers: what `SharedDocument` and `Connection` emit. */
class Emitter {
  constructor() {
    /** @type {Map<string, Set<(event: any) => void>>} */
    this.handlers = new Map();
  }

  /**
   * Calls `handler(event)` for each event `type` from now on.
   *
   * @param {string} type
   * @param {(event: any) => void} handler
   * @returns {() => void} stops listening
   */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type)?.delete(handler);
  }

  emit(type, event) {
    for (const handler of this.handlers.get(type) ?? []) handler(event);
  }
}

/**
 * A shared document as this client sees it: the state, the edits waiting for the server, and
 * the events that tell what became of them. What carries its messages is its subclass's:
 * `Store` owns a WebSocket for one document, a `DocumentHandle` shares a `Connection`'s.
 * A subclass implements `send(message)` and hands the document's messages to `receive`.
 *
 * With a storage (`persist`), the follower's durable part (`Follower.save`) is written after
 * every change of it, one write at a time: while one is under way, the next holds only the
 * newest. A change goes out only once a record that holds it in flight is written (the
 * server never sees an edit id the storage does not know, so a reloaded page never gives an
 * id twice), at the cost of one write before each change is sent; there is no timer, so an
 * edit is kept as soon as the storage can take it. `load` starts the document from the saved
 * record, before the socket opens.
 */
export class SharedDocument extends Emitter {
  /** @param {{ batch?: number, persist?: { storage: import('./index.js').DocumentStorage, key: string } | null, presenceInterval?: number, presenceKeepAlive?: number }} options */
  constructor(options) {
    super();
    this.batch = options.batch ?? 16;
    /** Where the document is kept, or `null`. */
    this.persist = options.persist ?? null;
    /** Whether the document started from its storage. */
    this.restored = false;
    /** @type {unknown[] | null} what the durable part held at the last write (see `durable`) */
    this.lastSaved = null;
    /** The number of the last write asked for, and of the last one done. */
    this.saveSeq = 0;
    this.savedSeq = 0;
    /** @type {{ seq: number, record: import('./index.js').SavedDocument | null } | null} the next write (`null`: a removal) */
    this.toSave = null;
    this.writing = false;
    /** @type {{ seq: number, resolve: () => void }[]} */
    this.waiters = [];
    /** Counts welcomes: a change held for its write is sent only on the socket it was meant for. */
    this.epoch = 0;
    /** @type {Follower | null} */
    this.follower = null;
    /** @type {string} */
    this.status = 'connecting';
    this.user = null;
    this.role = null;
    this.listeners = new Set();
    /** @type {Set<{ pattern: import('./index.js').PathPattern, listener: (patches: import('./index.js').Patch[], state: any) => void }>} */
    this.pathListeners = new Set();
    /** @type {any[]} messages received and not yet handed to the follower (see `drain`) */
    this.inbox = [];
    /** What this client shows the others (`null`: nothing), as JSON sent. */
    this.ownPresence = null;
    /** The last state sent, and the one before it (taken as shown by the server). */
    this.presenceSent = null;
    this.presenceShown = null;
    /** @type {Map<number, { client: number, user: string, state: unknown }>} the others' presences, by number */
    this.others = new Map();
    this.presenceListeners = new Set();
    this.presenceInterval = options.presenceInterval ?? PRESENCE_INTERVAL_MS;
    this.presenceKeepAlive = options.presenceKeepAlive ?? PRESENCE_KEEP_ALIVE_MS;
    /** When the last presence message went, the timer of the next, and the keep-alive's. */
    this.presenceSentAt = -Infinity;
    this.presenceTimer = null;
    this.keepAliveTimer = null;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
  }

  /** The state as this client sees it: the server's, with its own pending edits applied. */
  getState() {
    return this.follower?.state;
  }

  /** The last version confirmed by the server. */
  get version() {
    return this.follower?.version ?? 0;
  }

  /** How many of this client's edits wait for the server's answer. */
  get pendingCount() {
    return this.follower?.pendingCount ?? 0;
  }

  /** Whether every edit has been answered and nothing waits to be applied. */
  get isSettled() {
    return this.follower?.isSettled ?? false;
  }

  /**
   * Edits the state with an Immer recipe: applied here at once (listeners are called) and sent
   * to the server as a change. Returns the edit's id, or `undefined` when the recipe changed
   * nothing. Its outcome comes as an `accepted` or `dropped` event.
   *
   * @param {(draft: any) => any} recipe
   * @returns {number | undefined}
   */
  update(recipe) {
    return this.change((follower) => follower.edit(recipe));
  }

  /**
   * Edits the state with patches made against it (an undo's, a replay's), as `update` does
   * with a recipe's: applied at once and sent as a change. Throws a `PatchError` when a patch
   * does not apply (nothing changes then).
   *
   * @param {readonly import('./index.js').Patch[]} patches
   * @returns {number | undefined}
   */
  updatePatches(patches) {
    return this.change((follower) => follower.editPatches(patches));
  }

  /**
   * The one way an edit goes in: `edit(follower)` makes it; it is announced to `edit`
   * listeners ({ id, patches }: what an `UndoManager` records) and sent.
   */
  change(edit) {
    if (this.follower === null) throw new Error('the store has no state yet: await connect()');
    const before = this.follower.state;
    const id = edit(this.follower);
    // What took the state from `before` to now, for the path listeners.
    const patches = id === undefined ? undefined : this.follower.pending[this.follower.pending.length - 1].patches;
    if (id !== undefined) this.emit('edit', { id, patches });
    this.flush(before, patches);
    return id;
  }

  /**
   * Shows the others `state` (any JSON value: a cursor, a selection; `null` shows nothing),
   * as the user the server authenticated. Sent at once, or at most every `presenceInterval`
   * (50 ms) with the newest state set; sent again every `presenceKeepAlive` (10 s) so that the
   * server keeps it, and again after a reconnect. The server bounds its size (2 KiB of JSON by
   * default) and depth: one over them is refused with a `presenceRefused` event. Never kept
   * in the document, its log or its storage.
   *
   * ```js
   * document.addEventListener('pointermove', (e) => store.setPresence({ cursor: [e.clientX, e.clientY] }));
   * ```
   *
   * @param {unknown} state
   */
  setPresence(state) {
    // Kept as JSON: a later change of the object given is not shown until it is set again.
    const text = JSON.stringify(state ?? null);
    if (text === undefined) throw new TypeError('a presence is a JSON value');
    this.ownPresence = JSON.parse(text);
    this.schedulePresence();
  }

  /**
   * The others' presences shown now (never this client's own), in the order the server
   * numbered them: `{ client, user, state }`, `client` one per connection (two tabs of a user
   * are two), `user` as the server authenticated it.
   *
   * @returns {{ client: number, user: string, state: unknown }[]}
   */
  presence() {
    return [...this.others.values()].sort((a, b) => a.client - b.client);
  }

  /**
   * Calls `listener(presences)` (as `presence()` gives them) whenever the others' presences
   * change: one appears, moves or goes, or all go when the connection closes.
   *
   * @param {(presences: { client: number, user: string, state: unknown }[]) => void} listener
   * @returns {() => void} unsubscribes
   */
  subscribePresence(listener) {
    this.presenceListeners.add(listener);
    return () => this.presenceListeners.delete(listener);
  }

  /** Sends this client's presence now, or when the interval since the last one has passed. */
  schedulePresence() {
    if (this.status !== 'open' || this.presenceTimer !== null) return;
    const wait = this.presenceSentAt + this.presenceInterval - Date.now();
    if (wait <= 0) {
      this.sendPresence();
      return;
    }
    this.presenceTimer = setTimeout(() => this.sendPresence(), wait);
    this.presenceTimer.unref?.();
  }

  sendPresence() {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = null;
    if (this.status !== 'open') return;
    this.presenceSentAt = Date.now();
    // The state sent before is taken as shown (a refusal of it would have put it back).
    this.presenceShown = this.presenceSent;
    this.presenceSent = this.ownPresence;
    this.send({ type: 'presence', state: this.ownPresence });
    clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
    if (this.ownPresence !== null) {
      this.keepAliveTimer = setTimeout(() => {
        this.keepAliveTimer = null;
        this.schedulePresence();
      }, this.presenceKeepAlive);
      this.keepAliveTimer.unref?.();
    }
  }

  /** Takes the server's word on the others' presences. */
  receivePresence(message) {
    if (this.closing === true) return;
    if (message.type === 'presenceRefused') {
      // The server kept the state shown before: that is the one to keep alive and to show
      // again after a reconnect, unless a newer one was set since.
      if (this.ownPresence === this.presenceSent) this.ownPresence = this.presenceShown;
      this.presenceSent = this.presenceShown;
      this.emit('presenceRefused', { reason: String(message.reason) });
      return;
    }
    if (!Array.isArray(message.presences)) return;
    for (const { client, user, state } of message.presences) {
      if (typeof client !== 'number') continue;
      if (state === null || state === undefined) this.others.delete(client);
      else this.others.set(client, { client, user: String(user), state });
    }
    this.notifyPresence();
  }

  /**
   * The connection closed (or the document stopped): the others' presences are no longer
   * known (shown again after the next welcome), and nothing is sent until then.
   */
  presenceClosed() {
    clearTimeout(this.presenceTimer);
    clearTimeout(this.keepAliveTimer);
    this.presenceTimer = null;
    this.keepAliveTimer = null;
    if (this.others.size === 0) return;
    this.others.clear();
    this.notifyPresence();
  }

  notifyPresence() {
    const presences = this.presence();
    for (const listener of this.presenceListeners) listener(presences);
  }

  /**
   * Calls `listener(state)` whenever the state this client sees changes.
   *
   * @param {(state: any) => void} listener
   * @returns {() => void} unsubscribes
   */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener(patches, state)` whenever a change of the state this client sees touches
   * `pattern` (see `touches`): an edit made here (`update`, `updatePatches`, an undo), others'
   * changes committed, the pending edits moved through them, and edits taken back out (dropped).
   * `patches` are those of the change that touch the pattern, in order; the change's patches
   * take the state from before to `state` (an edit's own, or else the difference of the two
   * states, in detail: a list element changed in place is written part by part; a change that
   * leaves the state equal calls no one). Path listeners are called after the `subscribe` ones, in the
   * order they subscribed.
   *
   * `pattern` is a JSON Pointer whose segments may be `*` (any one segment) or, last, `**`
   * (everything below), `""` the whole state; a bad one throws a `SyntaxError` here.
   *
   * ```js
   * const stop = store.subscribePath('/todos/*', (patches, state) => renderCounts(state.todos));
   * store.subscribePath('/title', (patches, state) => (heading.textContent = state.title));
   * stop();
   * ```
   *
   * @param {string} pattern
   * @param {(patches: import('./index.js').Patch[], state: any) => void} listener
   * @returns {() => void} unsubscribes
   */
  subscribePath(pattern, listener) {
    const entry = { pattern: parsePattern(pattern), listener };
    if (typeof listener !== 'function') throw new TypeError('subscribePath takes a pattern and a listener function');
    this.pathListeners.add(entry);
    return () => {
      this.pathListeners.delete(entry);
    };
  }

  /**
   * Listens for connection and edit events: `open`, `close` ({ code, reason }), `welcome`,
   * `applied` ({ version }), `accepted` ({ id, version }), `dropped` ({ id, reason }),
   * `diverged`, `error`; and, for a `DocumentHandle`, `unsubscribed` ({ reason }). Two hooks
   * for an `UndoManager` (undo.js): `edit` ({ id, patches }) for each edit made here, and
   * `received` ({ messages }) for the server's messages before the follower takes them.
   *
   * @param {string} type
   * @param {(event: any) => void} handler
   * @returns {() => void} stops listening
   */
  on(type, handler) {
    return super.on(type, handler);
  }

  /**
   * Resolves once every edit made so far has been answered, or rejects after `timeoutMs`.
   *
   * @param {number} [timeoutMs]
   * @returns {Promise<void>}
   */
  settled(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.isSettled) {
          stop();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`not settled after ${timeoutMs} ms (${this.pendingCount} pending)`));
      }, timeoutMs);
      const offs = [this.on('applied', check), this.on('accepted', check), this.on('dropped', check)];
      const stop = () => {
        clearTimeout(timer);
        offs.forEach((off) => off());
      };
      check();
    });
  }

  /**
   * Resolves once the storage holds the document as it is now (at once without `persist`).
   * A page may await it before it unloads by its own doing (`location.reload()`).
   *
   * @returns {Promise<void>}
   */
  saved() {
    return this.whenSaved(this.saveSeq);
  }

  /** Resolves once the write numbered `seq` (and those before it) is done. */
  whenSaved(seq) {
    if (this.savedSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /**
   * Starts the document from its storage, when it holds one: the saved state, session and
   * edits, shown at once (`restored`, then listeners). Resolves whether or not one was saved;
   * a record that cannot be read is reported as an `error` and left for the next write.
   */
  async load() {
    let saved;
    try {
      saved = await this.persist.storage.load(this.persist.key);
    } catch (error) {
      this.emit('error', { message: `could not load the saved document: ${error?.message ?? error}` });
      return;
    }
    if (saved == null || this.follower !== null || this.closing === true) return;
    let follower;
    try {
      follower = Follower.restore(saved.follower, { batch: this.batch });
    } catch (error) {
      this.emit('error', { message: `could not restore the saved document: ${error.message}` });
      return;
    }
    this.follower = follower;
    this.user = saved.user ?? null;
    this.role = saved.role ?? null;
    this.restored = true;
    this.lastSaved = this.durable();
    this.emit('restored', { version: follower.version, pending: follower.pendingCount });
    this.resolveReady();
    this.notify(undefined);
  }

  /**
   * What the durable part is made of, each piece compared by identity (states and the queue
   * are replaced, never changed in place; counts and ids catch the rest).
   */
  durable() {
    const f = this.follower;
    return [
      f, f.session, f.version, f.nextId, f.confirmed, f.local, f.pending, f.pending.length, f.inFlight,
      f.inFlight?.applied, f.diverged, f.early.size, f.events.length, this.user, this.role,
    ];
  }

  /**
   * Writes the durable part when it changed since the last write; returns the number of the
   * write that holds it as it is now.
   */
  persistState() {
    if (this.persist === null || this.follower === null) return this.saveSeq;
    const now = this.durable();
    if (this.lastSaved !== null && now.every((piece, i) => piece === this.lastSaved[i])) return this.saveSeq;
    this.lastSaved = now;
    return this.write({ follower: this.follower.save(), user: this.user, role: this.role });
  }

  /** Takes the document out of its storage (after the writes before). */
  forget() {
    if (this.persist === null) return;
    this.lastSaved = null;
    this.write(null);
  }

  /** Queues a write of `record` (`null`: a removal), after the one under way. */
  write(record) {
    this.toSave = { seq: ++this.saveSeq, record };
    if (!this.writing) this.writeQueued();
    return this.saveSeq;
  }

  async writeQueued() {
    this.writing = true;
    const { storage, key } = this.persist;
    while (this.toSave !== null) {
      const { seq, record } = this.toSave;
      this.toSave = null;
      try {
        if (record === null) await storage.remove(key);
        else await storage.save(key, record);
      } catch (error) {
        // What waits for it goes on: a storage that fails must not stop the document.
        this.emit('error', { message: `could not save the document: ${error?.message ?? error}` });
      }
      this.savedSeq = seq;
      const waiting = this.waiters;
      this.waiters = [];
      for (const waiter of waiting) {
        if (waiter.seq <= seq) waiter.resolve();
        else this.waiters.push(waiter);
      }
    }
    this.writing = false;
  }

  /**
   * Sends `messages` once the write numbered `seq` is done (at once without `persist`), if the
   * document is still open on the same welcome (after a new one, `poll` sends them again).
   */
  sendSaved(messages, seq) {
    if (this.persist === null || this.savedSeq >= seq) {
      for (const message of messages) this.send(message);
      return;
    }
    const epoch = this.epoch;
    this.whenSaved(seq).then(() => {
      if (this.epoch !== epoch || this.status !== 'open') return;
      for (const message of messages) this.send(message);
    });
  }

  /**
   * Sends one of the document's messages (a change, a resync, a request for a snapshot) to
   * the server.
   *
   * @param {import('./index.js').ClientMessage} message
   */
  send(message) {
    throw new Error(`${this.constructor.name} does not say how to send ${message.type}`);
  }

  /**
   * Handles one of the document's messages from the server, as the single-document endpoint
   * writes it.
   *
   * @param {import('./index.js').ServerMessage} message
   */
  receive(message) {
    if (message.type === 'presence' || message.type === 'presenceRefused') {
      // Never the document's: taken at once, beside the follower.
      this.receivePresence(message);
      return;
    }
    if (message.type !== 'welcome') {
      // Messages that arrive together (a resync's answer) are handled together, after the
      // current task: the follower catches up in one step (see `Follower.receiveAll`).
      if (this.follower === null) return;
      this.inbox.push(message);
      if (this.inbox.length === 1) queueMicrotask(() => this.drain());
      return;
    }
    // What came before the welcome belongs to the session before it.
    this.drain();
    const before = this.follower?.state;
    this.status = 'open';
    this.user = message.user;
    this.role = message.role;
    // The server no longer knows the old session (it restarted): the edits it had not
    // answered are reported lost (the one in flight may have landed before it went).
    if (this.follower !== null && !message.resumed) this.reportUnanswered();
    if (this.follower === null || !message.resumed) {
      // A new session (the first, or the old one is no longer known): start from its state.
      this.follower = new Follower(
        { session: message.session, version: message.version, state: message.state },
        { batch: this.batch },
      );
    }
    this.epoch++;
    // The server sends the others' presences next; this client's own goes again.
    this.presenceClosed();
    if (this.ownPresence !== null) this.schedulePresence();
    this.emit('open', { session: message.session, resumed: Boolean(message.resumed) });
    this.emit('welcome', message);
    this.resolveReady();
    // Whatever was in flight goes again (answered once), and whatever was missed is asked for.
    const out = this.follower.poll();
    this.sendSaved(out, this.persistState());
    this.notify(before);
  }

  /** Reports each edit the server has not answered `dropped` with `sessionLost`. */
  reportUnanswered() {
    const lost = [...this.follower.pending.map((p) => [p.first, p.id])];
    const inFlight = this.follower.inFlight;
    if (inFlight !== null && !inFlight.applied) lost.push([inFlight.first, inFlight.change.id]);
    for (const [first, last] of lost) {
      for (let id = first; id <= last; id++) this.emit('dropped', { type: 'dropped', id, reason: { kind: 'sessionLost' } });
    }
  }

  /** Hands the messages received since the last call to the follower, all at once. */
  drain() {
    if (this.inbox.length === 0 || this.follower === null) return;
    const messages = this.inbox;
    this.inbox = [];
    this.emit('received', { messages });
    const before = this.follower.state;
    this.follower.receiveAll(messages);
    this.flush(before);
  }

  /**
   * Sends the next change if none is in flight, reports events, and notifies listeners
   * (`patches`: what took the state from `before` to now, when known).
   */
  flush(before, patches) {
    const change = this.status === 'open' ? this.follower.nextChange() : undefined;
    const events = this.follower.takeEvents();
    const seq = this.persistState();
    if (change !== undefined) this.sendSaved([change], seq);
    for (const event of events) {
      // A change that did not apply here: this state is not the server's; ask for a snapshot.
      if (event.type === 'diverged') this.send({ type: 'snapshot' });
      this.emit(event.type, event);
    }
    this.notify(before, patches);
  }

  /**
   * Calls the listeners when the state is no longer `before`; the path listeners with the
   * patches of the change that touch their pattern (`patches`: what took the state from
   * `before` to now, when known; else the difference of the two).
   */
  notify(before, patches) {
    const state = this.follower?.state;
    if (state === before) return;
    for (const listener of this.listeners) listener(state);
    if (this.pathListeners.size === 0) return;
    const change = patches ?? visibleChange(before, state);
    // A listener may unsubscribe another: that one is not called; one subscribed now is not either.
    for (const entry of [...this.pathListeners]) {
      if (!this.pathListeners.has(entry)) continue;
      const touching = change.filter((patch) => touches(entry.pattern, patch));
      if (touching.length > 0) entry.listener(touching, state);
    }
  }
}

/**
 * The patches that take the state shown from `before` to `after`: the whole state written when
 * there was none, else their difference in detail (a list element changed in place written
 * part by part).
 */
function visibleChange(before, after) {
  if (before === undefined || after === undefined) return [{ op: 'replace', path: [], value: after }];
  return diffInDetail(before, after);
}

/** A shared document: the local state, edits, and the connection that keeps it in sync. */
export class Store extends SharedDocument {
  /**
   * @param {string} url
   * @param {import('./index.js').ConnectOptions} options
   */
  constructor(url, options) {
    const WebSocket = webSocketOf(options);
    super({ ...options, persist: persistOf(options.persist, url) });
    this.url = url;
    this.token = options.token;
    this.WebSocket = WebSocket;
    this.reconnect = options.reconnect ?? true;
    /** @type {'connecting' | 'open' | 'closed'} */
    this.status = 'connecting';
    this.closedByUser = false;
    this.retryDelay = FIRST_RETRY_MS;
    this.socket = null;
    // With a storage, the saved session is known before the socket opens (to resume it).
    if (this.persist === null) this.open();
    else this.load().then(() => this.closedByUser || this.open());
  }

  /** Closes the connection for good. */
  close() {
    this.closedByUser = true;
    this.socket?.close(1000, 'closed by the client');
  }

  open() {
    const socket = new this.WebSocket(this.url);
    this.socket = socket;
    this.status = 'connecting';
    socket.onopen = () => {
      const resume = this.follower === null ? undefined : this.follower.session;
      this.transmit({ type: 'auth', token: this.token, ...(resume === undefined ? {} : { resume }) });
    };
    socket.onmessage = (event) => {
      const message = readFrame(event, (error) => this.emit('error', error));
      if (message === undefined) return;
      if (message.type === 'welcome') this.retryDelay = FIRST_RETRY_MS;
      this.receive(message);
    };
    socket.onerror = () => {
      this.emit('error', { message: 'connection error' });
    };
    socket.onclose = (event) => {
      this.status = 'closed';
      this.presenceClosed();
      const { code, reason } = event;
      this.emit('close', { code, reason });
      if (this.follower === null) {
        this.rejectReady(new Error(`the server closed the connection (${code}): ${reason || 'no reason given'}`));
        return;
      }
      if (this.closedByUser || !this.reconnect || FINAL_CODES.has(code)) return;
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, LAST_RETRY_MS);
      // Closed by the user while waiting: no new socket.
      setTimeout(() => this.closedByUser || this.open(), delay);
    };
  }

  send(message) {
    this.transmit(message);
  }

  transmit(message) {
    if (this.socket !== null && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }
}

/**
 * One WebSocket to a server's multi-document endpoint, carrying any number of documents (see
 * `connectMany`). It authenticates once, subscribes each document `open` names, and after the
 * socket drops reconnects with backoff and resumes every open document's session.
 *
 * ```js
 * const connection = connectMany(url, { token });
 * connection.on('close', ({ code, reason }) => showOffline(code, reason));   // then reconnects
 * const doc = await connection.open('team-a');
 * connection.documents();   // ['team-a']
 * connection.close('team-a');
 * connection.disconnect();
 * ```
 */
export class Connection extends Emitter {
  /**
   * @param {string} url
   * @param {import('./index.js').ConnectOptions} options
   */
  constructor(url, options) {
    super();
    this.WebSocket = webSocketOf(options);
    this.url = url;
    this.token = options.token;
    this.batch = options.batch;
    this.presenceOptions = { presenceInterval: options.presenceInterval, presenceKeepAlive: options.presenceKeepAlive };
    this.reconnect = options.reconnect ?? true;
    /** @type {'connecting' | 'open' | 'closed'} */
    this.status = 'connecting';
    /** @type {Map<string, DocumentHandle>} the documents open, by name */
    this.handles = new Map();
    /** @type {Map<string, DocumentHandle>} documents unsubscribed, until the server's answer */
    this.closing = new Map();
    /** @type {string | null} why the connection ended for good (`null` while it lives) */
    this.ended = null;
    this.closedByUser = false;
    this.retryDelay = FIRST_RETRY_MS;
    this.retryTimer = null;
    this.socket = null;
    this.openSocket();
  }

  /**
   * Opens the document `name` (subscribes to it) and resolves with it once the server has
   * welcomed it; rejects with the server's reason when it refuses (not found, forbidden, too
   * many documents) or when the connection closes first. A document already open is the same
   * handle.
   *
   * With `persist`, the document is kept in `persist.storage` (under `persist.key`, its name by
   * default), and one saved there before resolves at once, offline too, then subscribes
   * resuming the saved session (see `connect`). A document the server ends (deleted, not
   * found, forbidden) is taken out of the storage; one this client closes stays there.
   *
   * ```js
   * const teamA = await connection.open('team-a');
   * teamA.subscribe((state) => render(state));
   * const teamB = await connection.open('team-b', { persist: { storage: indexedDBStorage('boards') } });
   * ```
   *
   * @param {string} name
   * @param {import('./index.js').OpenOptions} [options]
   * @returns {Promise<DocumentHandle>}
   */
  open(name, options = {}) {
    if (typeof name !== 'string' || name === '') {
      return Promise.reject(new TypeError(`a document's name is a string that is not empty, not ${JSON.stringify(name)}`));
    }
    if (this.ended !== null) return Promise.reject(new Error(`the connection has ended: ${this.ended}`));
    let handle = this.handles.get(name);
    if (handle === undefined) {
      let persist;
      try {
        persist = persistOf(options.persist, name);
      } catch (error) {
        return Promise.reject(error);
      }
      const created = new DocumentHandle(this, name, { batch: this.batch, persist, ...this.presenceOptions });
      handle = created;
      this.handles.set(name, created);
      if (persist === null) {
        this.subscribe(created);
      } else {
        // Subscribed once loaded, resuming the saved session.
        created.loading = true;
        created.load().then(() => {
          created.loading = false;
          if (this.handles.get(name) === created) this.subscribe(created);
        });
      }
    }
    const opened = handle;
    return opened.ready.then(() => opened);
  }

  /**
   * Closes the document `name` (unsubscribes from it); the socket stays. Its edits that the
   * server has not answered when it confirms are reported `dropped` (`sessionLost`), and it
   * emits `unsubscribed`. Nothing happens when it is not open.
   *
   * @param {string} name
   */
  close(name) {
    const handle = this.handles.get(name);
    if (handle === undefined) return;
    this.handles.delete(name);
    handle.status = 'closed';
    handle.presenceClosed();
    handle.closing = true;
    if (handle.subscribed && this.isOpen()) {
      // Its messages until the answer are still its own (its change in flight may land).
      this.closing.set(name, handle);
      this.transmit({ type: 'unsubscribe', doc: name });
    } else {
      handle.end('unsubscribed');
    }
  }

  /**
   * The names of the documents open (subscribed, or to be once the socket is open), in the
   * order they were opened.
   *
   * @returns {string[]}
   */
  documents() {
    return [...this.handles.keys()];
  }

  /**
   * The open document `name`, welcomed or not yet, or `undefined`.
   *
   * @param {string} name
   * @returns {DocumentHandle | undefined}
   */
  document(name) {
    return this.handles.get(name);
  }

  /**
   * Closes the socket for good and reconnects no more: every document stops where it is (its
   * state stays readable; it takes no more edits).
   */
  disconnect() {
    this.closedByUser = true;
    if (this.retryTimer !== null) {
      // Waiting to reconnect: the socket is closed (and said so) already.
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.stop('closed by the client');
      return;
    }
    this.socket?.close(1000, 'closed by the client');
  }

  /**
   * Listens for the connection's events: `open` (the socket is open and the token sent),
   * `close` ({ code, reason }: the socket closed; it reconnects unless the code says the
   * server would refuse again or `disconnect` was called), `error` ({ message }).
   *
   * @param {string} type
   * @param {(event: any) => void} handler
   * @returns {() => void} stops listening
   */
  on(type, handler) {
    return super.on(type, handler);
  }

  isOpen() {
    return this.socket !== null && this.socket.readyState === 1;
  }

  openSocket() {
    this.retryTimer = null;
    const socket = new this.WebSocket(this.url);
    this.socket = socket;
    this.status = 'connecting';
    socket.onopen = () => {
      this.status = 'open';
      this.transmit({ type: 'auth', token: this.token });
      this.emit('open', {});
      for (const handle of this.handles.values()) this.subscribe(handle);
    };
    socket.onmessage = (event) => {
      const message = readFrame(event, (error) => this.emit('error', error));
      if (message !== undefined) this.route(message);
    };
    socket.onerror = () => {
      this.emit('error', { message: 'connection error' });
    };
    socket.onclose = (event) => {
      const { code, reason } = event;
      if (this.closedByUser || !this.reconnect || FINAL_CODES.has(code)) {
        this.finish(code, reason);
        return;
      }
      this.dropped(code, reason);
      this.emit('close', { code, reason });
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, LAST_RETRY_MS);
      this.retryTimer = setTimeout(() => this.openSocket(), delay);
    };
  }

  /**
   * Subscribes `handle` when the socket is open and no earlier subscription of its name waits
   * for the server's answer to an unsubscribe (it subscribes once that comes).
   */
  subscribe(handle) {
    if (!this.isOpen() || handle.subscribed || handle.loading || this.closing.has(handle.name)) return;
    const resume = handle.follower?.session;
    handle.subscribed = true;
    handle.status = 'connecting';
    this.transmit({ type: 'subscribe', doc: handle.name, ...(resume === undefined ? {} : { resume }) });
  }

  /** Hands a message to the document it names, without its `doc`. */
  route(frame) {
    if (typeof frame !== 'object' || frame === null || typeof frame.doc !== 'string') {
      this.emit('error', { message: `a message for no document: ${JSON.stringify(frame).slice(0, 200)}` });
      return;
    }
    const { doc: name, ...message } = frame;
    const closing = this.closing.get(name);
    if (closing !== undefined) {
      // Sent before the server took the unsubscribe: the old subscription's, up to its answer.
      if (message.type === 'unsubscribed') {
        this.closing.delete(name);
        closing.end(String(message.reason ?? 'unsubscribed'));
        const reopened = this.handles.get(name);
        if (reopened !== undefined) this.subscribe(reopened);
      } else if (message.type !== 'welcome') {
        closing.receive(message);
      }
      return;
    }
    const handle = this.handles.get(name);
    // A document closed without a subscription on this socket: nothing of it is expected.
    if (handle === undefined || !handle.subscribed) return;
    if (message.type === 'unsubscribed') {
      this.handles.delete(name);
      handle.end(String(message.reason ?? 'no reason given'));
      return;
    }
    if (message.type === 'welcome') this.retryDelay = FIRST_RETRY_MS;
    handle.receive(message);
  }

  /**
   * The socket closed: each document welcomed waits to be subscribed again on the next one;
   * one never welcomed fails its `open`; one being closed is done.
   */
  dropped(code, reason) {
    this.status = 'closed';
    // The server forgets a subscription with its socket.
    for (const handle of this.closing.values()) handle.end('unsubscribed');
    this.closing.clear();
    for (const [name, handle] of [...this.handles]) {
      handle.subscribed = false;
      handle.status = 'closed';
      handle.presenceClosed();
      if (handle.follower === null && !handle.loading) {
        // Never welcomed: its `open` fails, as `connect` does.
        this.handles.delete(name);
        handle.rejectReady(new Error(`the server closed the connection (${code}): ${reason || 'no reason given'}`));
      }
      handle.emit('close', { code, reason });
    }
  }

  /** The socket closed for good: the connection ends. */
  finish(code, reason) {
    this.dropped(code, reason);
    this.stop(reason || `closed with code ${code}`);
    this.emit('close', { code, reason });
  }

  /** The connection ends: the documents stop where they are and take no more edits. */
  stop(why) {
    this.ended = why;
    for (const handle of this.handles.values()) handle.closing = true;
    this.handles.clear();
  }

  transmit(message) {
    if (this.isOpen()) this.socket.send(JSON.stringify(message));
  }
}

/**
 * One document of a `Connection` (see `Connection.open`): a store with the API of `Store`,
 * whose messages travel over the connection's socket. Besides `Store`'s events it emits
 * `unsubscribed` ({ reason }) once it has stopped: closed by this client, or by the server
 * (the document was deleted, say). A stopped document takes no more edits (`update` throws),
 * and the edits the server had not answered are reported `dropped` with `sessionLost`.
 *
 * ```js
 * const doc = await connection.open('team-a');
 * doc.on('unsubscribed', ({ reason }) => show(`team-a is gone: ${reason}`));
 * doc.update((draft) => { draft.title = 'Team A'; });
 * await doc.settled();
 * doc.close();
 * ```
 */
export class DocumentHandle extends SharedDocument {
  /**
   * @param {Connection} connection
   * @param {string} name
   * @param {{ batch?: number, persist?: { storage: import('./index.js').DocumentStorage, key: string } | null }} options
   */
  constructor(connection, name, options) {
    super(options);
    this.connection = connection;
    this.name = name;
    /** Whether it waits for its storage before it subscribes. */
    this.loading = false;
    /** @type {'connecting' | 'open' | 'closed' | 'unsubscribed'} */
    this.status = 'connecting';
    /** Whether its subscribe went out on the connection's current socket. */
    this.subscribed = false;
    /** Whether it was closed (by this client, or with the connection): it takes no more edits. */
    this.closing = false;
    /** @type {string | null} why it stopped, once the server confirmed it (or said so itself) */
    this.reason = null;
  }

  change(edit) {
    if (this.reason !== null) {
      throw new Error(`the document ${JSON.stringify(this.name)} is unsubscribed (${this.reason}): it takes no more edits`);
    }
    if (this.closing) throw new Error(`the document ${JSON.stringify(this.name)} is closed: it takes no more edits`);
    if (this.follower === null) {
      throw new Error(`the document ${JSON.stringify(this.name)} has no state yet: await connection.open()`);
    }
    return super.change(edit);
  }

  /** Unsubscribes from the document (see `Connection.close`); the connection stays. */
  close() {
    if (this.connection.document(this.name) === this) this.connection.close(this.name);
  }

  send(message) {
    // A document being closed sends nothing more; the server answers its change in flight.
    if (this.closing || !this.subscribed) return;
    this.connection.transmit({ type: message.type, doc: this.name, ...message });
  }

  /**
   * It stopped, for `reason`: what arrived before is handled, the edits not answered are
   * reported lost, and the state is the server's last.
   */
  end(reason) {
    if (this.reason !== null) return;
    this.closing = true;
    this.status = 'unsubscribed';
    this.presenceClosed();
    // What came before the end is its own (an answer to its change in flight, say).
    this.drain();
    this.reason = reason;
    this.subscribed = false;
    const before = this.follower?.state;
    if (this.follower !== null) {
      this.reportUnanswered();
      const { session, version, confirmed } = this.follower;
      this.follower = new Follower({ session, version, state: confirmed }, { batch: this.batch });
      // Closed here: kept as the server last had it. Ended by the server: nothing to resume.
      if (reason === 'unsubscribed') this.persistState();
      else this.forget();
    }
    this.rejectReady(new Error(`the document ${JSON.stringify(this.name)} is unsubscribed: ${reason}`));
    this.emit('unsubscribed', { reason });
    this.notify(before);
  }
}
