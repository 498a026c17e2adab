// A client of an immer-web document server: edit a shared state with Immer recipes in the
// browser (or Node), see your edits at once, and converge with every other client in the
// server's order. ES module, no build step; types in index.d.ts.
//
//   import { connect } from 'immer-rs-client';
//   const store = await connect('ws://localhost:3000/ws', { token });
//   store.subscribe((state) => render(state));
//   store.update((draft) => { draft.todos[0].done = true; });

import { Follower } from './follower.js';

export { Follower, applyWithInverse } from './follower.js';
export { transform, revertThrough, deepEqual } from './transform.js';

/** WebSocket close codes after which reconnecting would be refused again. */
const FINAL_CODES = new Set([1003, 1007, 1008, 1009, 4401, 4403]);

/**
 * Connects to a document server and resolves with a store once the server has welcomed this
 * client (authenticated it and sent the state). Rejects with the server's reason when it
 * refuses the connection (a missing or bad token, for one).
 *
 * @param {string} url the server's WebSocket endpoint, such as `ws://localhost:3000/ws`
 * @param {import('./index.js').ConnectOptions} options
 * @returns {Promise<Store>}
 */
export function connect(url, options) {
  const store = new Store(url, options);
  return store.ready.then(() => store);
}

/** A shared document: the local state, edits, and the connection that keeps it in sync. */
export class Store {
  /**
   * @param {string} url
   * @param {import('./index.js').ConnectOptions} options
   */
  constructor(url, options) {
    this.url = url;
    this.token = options.token;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') {
      throw new TypeError('no WebSocket implementation: pass one as options.WebSocket (the `ws` package in Node 20)');
    }
    this.batch = options.batch ?? 16;
    this.reconnect = options.reconnect ?? true;
    /** @type {Follower | null} */
    this.follower = null;
    /** @type {'connecting' | 'open' | 'closed'} */
    this.status = 'connecting';
    this.user = null;
    this.role = null;
    this.listeners = new Set();
    this.handlers = new Map();
    this.closedByUser = false;
    this.retryDelay = 250;
    this.socket = null;
    /** @type {any[]} messages received and not yet handed to the follower (see `drain`) */
    this.inbox = [];
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.open();
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
    if (this.follower === null) throw new Error('the store has no state yet: await connect()');
    const before = this.follower.state;
    const id = this.follower.edit(recipe);
    this.flush(before);
    return id;
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
   * Listens for connection and edit events: `open`, `close` ({ code, reason }), `welcome`,
   * `applied` ({ version }), `accepted` ({ id, version }), `dropped` ({ id, reason }),
   * `diverged`, `error`.
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

  /** Closes the connection for good. */
  close() {
    this.closedByUser = true;
    this.socket?.close(1000, 'closed by the client');
  }

  emit(type, event) {
    for (const handler of this.handlers.get(type) ?? []) handler(event);
  }

  open() {
    const socket = new this.WebSocket(this.url);
    this.socket = socket;
    this.status = 'connecting';
    socket.onopen = () => {
      const resume = this.follower === null ? undefined : this.follower.session;
      this.send({ type: 'auth', token: this.token, ...(resume === undefined ? {} : { resume }) });
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(typeof event.data === 'string' ? event.data : String(event.data));
      } catch (error) {
        this.emit('error', { message: `unreadable message from the server: ${error.message}` });
        return;
      }
      this.onMessage(message);
    };
    socket.onerror = () => {
      this.emit('error', { message: 'connection error' });
    };
    socket.onclose = (event) => {
      this.status = 'closed';
      const { code, reason } = event;
      this.emit('close', { code, reason });
      if (this.follower === null) {
        this.rejectReady(new Error(`the server closed the connection (${code}): ${reason || 'no reason given'}`));
        return;
      }
      if (this.closedByUser || !this.reconnect || FINAL_CODES.has(code)) return;
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, 5000);
      setTimeout(() => this.open(), delay);
    };
  }

  onMessage(message) {
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
    this.retryDelay = 250;
    this.user = message.user;
    this.role = message.role;
    if (this.follower !== null && !message.resumed) {
      // The server no longer knows the old session (it restarted): the edits it had not
      // answered are reported lost (the one in flight may have landed before it went).
      const lost = [...this.follower.pending.map((p) => [p.first, p.id])];
      const inFlight = this.follower.inFlight;
      if (inFlight !== null && !inFlight.applied) lost.push([inFlight.first, inFlight.change.id]);
      for (const [first, last] of lost) {
        for (let id = first; id <= last; id++) this.emit('dropped', { type: 'dropped', id, reason: { kind: 'sessionLost' } });
      }
    }
    if (this.follower === null || !message.resumed) {
      // A new session (the first, or the old one is no longer known): start from its state.
      this.follower = new Follower(
        { session: message.session, version: message.version, state: message.state },
        { batch: this.batch },
      );
    }
    this.emit('open', { session: message.session, resumed: Boolean(message.resumed) });
    this.emit('welcome', message);
    this.resolveReady();
    // Whatever was in flight goes again (answered once), and whatever was missed is asked for.
    for (const out of this.follower.poll()) this.send(out);
    this.notify(before);
  }

  /** Hands the messages received since the last call to the follower, all at once. */
  drain() {
    if (this.inbox.length === 0 || this.follower === null) return;
    const messages = this.inbox;
    this.inbox = [];
    const before = this.follower.state;
    this.follower.receiveAll(messages);
    this.flush(before);
  }

  /** Sends the next change if none is in flight, reports events, and notifies listeners. */
  flush(before) {
    const change = this.status === 'open' ? this.follower.nextChange() : undefined;
    if (change !== undefined) this.send(change);
    for (const event of this.follower.takeEvents()) {
      // A change that did not apply here: this state is not the server's; ask for a snapshot.
      if (event.type === 'diverged') this.send({ type: 'snapshot' });
      this.emit(event.type, event);
    }
    this.notify(before);
  }

  notify(before) {
    const state = this.follower?.state;
    if (state === before) return;
    for (const listener of this.listeners) listener(state);
  }

  send(message) {
    if (this.socket !== null && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }
}
