// Offline across a reload, in Node: a store kept in a storage (`persist`) is "reloaded" (a new
// store from what the old one saved) while its server is down; the server, killed with SIGKILL
// while edits were in flight, starts again on its data directory; every edit lands once, and
// the state is the one the same edits give online. A session the server no longer knows
// reports the saved edits `sessionLost`, once each. A change goes out only once it is saved.
// `tabLock` keeps one page at a time on a record (its browser test is offline.test.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { produce } from 'immer';
import WebSocket from 'ws';
import { Follower, connect, memoryStorage, tabLock } from '../index.js';
import { startServer, waitFor } from './server.js';

/** Records each edit's outcomes, over every store that had it. */
function outcomesOf(...stores) {
  const outcomes = new Map();
  const add = (id, what) => outcomes.set(id, [...(outcomes.get(id) ?? []), what]);
  for (const store of stores) {
    store.on('accepted', (e) => add(e.id, 'accepted'));
    store.on('dropped', (e) => add(e.id, e.reason.kind));
  }
  return outcomes;
}

/** The `n`th edit: a todo added, and every third one a new title. */
function recipe(n) {
  return (d) => {
    d.todos.push({ id: `p${n}`, text: `edit ${n}`, done: n % 2 === 0 });
    if (n % 3 === 0) d.title = `title ${n}`;
  };
}

test('a store reloaded from its storage while the server is down sends every edit once to the restarted server', async () => {
  let server = await startServer();
  const storage = memoryStorage();
  const persist = { storage, key: 'welcome' };
  let first;
  let second;
  try {
    const initial = (await server.state()).state;
    first = await connect(server.ws, { token: 'ann', WebSocket, persist });
    assert.equal(first.restored, false);
    const outcomes = outcomesOf(first);
    const ids = [];
    // Online: accepted, so the server keeps the session with its changes.
    for (let n = 0; n < 5; n++) ids.push(first.update(recipe(n)));
    await first.settled();
    // Edits in flight when the server dies: the first change is on the wire (it went once
    // its record was written), its answer may never come.
    for (let n = 5; n < 10; n++) ids.push(first.update(recipe(n)));
    await first.saved();
    assert.ok(first.follower.inFlight !== null, 'a change is in flight');
    const closed = new Promise((resolve) => first.on('close', resolve));
    await server.kill();
    await closed;
    const shown = first.getState();

    // The reload: the old store goes, a new one starts from the storage, offline.
    first.close();
    await first.saved();
    second = await connect(server.ws, { token: 'ann', WebSocket, persist });
    assert.equal(second.restored, true);
    assert.equal(second.status, 'connecting');
    assert.deepEqual(second.getState(), shown, 'the saved state, shown at once');
    assert.ok(second.pendingCount > 0);
    const later = outcomesOf(second);
    for (let n = 10; n < 13; n++) ids.push(second.update(recipe(n)));
    assert.equal(new Set(ids).size, ids.length, 'no id given twice');

    const reopened = new Promise((resolve) => second.on('open', resolve));
    server = await startServer(server.port, server.data);
    assert.equal((await reopened).resumed, true);
    await second.settled(20000);
    for (const [id, what] of later) outcomes.set(id, [...(outcomes.get(id) ?? []), ...what]);
    for (const id of ids) assert.deepEqual(outcomes.get(id), ['accepted'], `edit ${id}: one outcome`);
    const expected = ids.map((_, n) => recipe(n)).reduce((state, edit) => produce(state, edit), initial);
    const { state, version } = await server.state();
    assert.deepEqual(state, expected, 'the state the same edits give online');
    assert.deepEqual(second.getState(), state);
    assert.equal(second.version, version);
    // What is kept now: the server's version, nothing pending.
    await second.saved();
    const kept = Follower.restore(structuredClone(storage.entries.get('welcome').follower));
    assert.equal(kept.version, version);
    assert.equal(kept.pendingCount, 0);
  } finally {
    first?.close();
    second?.close();
    await server.stop();
    rmSync(server.data, { recursive: true, force: true });
  }
});

test('saved edits of a session the server no longer knows are reported sessionLost, once each', async () => {
  const storage = memoryStorage();
  const persist = { storage, key: 'welcome' };
  let server = await startServer();
  let store;
  try {
    const saving = await connect(server.ws, { token: 'ann', WebSocket, persist });
    saving.update(recipe(0));
    await saving.settled();
    const closed = new Promise((resolve) => saving.on('close', resolve));
    await server.kill();
    await closed;
    const offline = [saving.update(recipe(1)), saving.update(recipe(2))];
    saving.close();
    await saving.saved();
    await server.stop();
    rmSync(server.data, { recursive: true, force: true });

    // Another server (its own data directory): the session is unknown there.
    server = await startServer(server.port);
    store = await connect(server.ws, { token: 'ann', WebSocket, persist });
    assert.equal(store.restored, true);
    const outcomes = outcomesOf(store);
    const reopened = await new Promise((resolve) => store.on('open', resolve));
    assert.equal(reopened.resumed, false);
    await store.settled();
    for (const id of offline) assert.deepEqual(outcomes.get(id), ['sessionLost'], `edit ${id}`);
    assert.equal(outcomes.size, offline.length);
    assert.deepEqual(store.getState(), (await server.state()).state);
    await store.saved();
    assert.equal(storage.entries.get('welcome').follower.session, store.follower.session, 'the new session is kept');
    assert.equal(storage.entries.get('welcome').follower.pending.length, 0);
  } finally {
    store?.close();
    await server.stop();
  }
});

/** A WebSocket the test drives: it records what the client sends and delivers what it is given. */
class FakeSocket {
  static last = null;

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.last = this;
  }

  send(data) {
    this.sent.push(JSON.parse(data));
  }

  close() {}

  /** Opens it and delivers the server's `messages`. */
  deliver(...messages) {
    if (this.readyState === 0) {
      this.readyState = 1;
      this.onopen();
    }
    for (const message of messages) this.onmessage({ data: JSON.stringify(message) });
  }
}

test('a change goes out only once the storage holds it', async () => {
  // A storage whose writes wait until the test lets them through.
  const entries = new Map();
  let held = [];
  const storage = {
    load: async (key) => entries.get(key),
    save: (key, value) => new Promise((resolve) => held.push(() => resolve(entries.set(key, structuredClone(value))))),
    remove: async (key) => entries.delete(key),
  };
  const release = async () => {
    while (held.length > 0) {
      const now = held;
      held = [];
      now.forEach((done) => done());
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  const opening = connect('ws://test', { token: 'ann', WebSocket: FakeSocket, persist: { storage, key: 'doc' } });
  await waitFor(() => FakeSocket.last !== null && FakeSocket.last.url === 'ws://test', 'the socket');
  const socket = FakeSocket.last;
  socket.deliver({ type: 'welcome', session: 7, user: 'ann', role: 'editor', version: 0, state: { n: 0 }, resumed: false });
  const store = await opening;
  await release();
  socket.sent.length = 0;
  const id = store.update((d) => {
    d.n = 1;
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(socket.sent, [], 'nothing sent before the write');
  await release();
  assert.deepEqual(socket.sent, [{ type: 'change', id, base: 0, patches: [{ op: 'replace', path: ['n'], value: 1 }] }]);
  assert.equal(entries.get('doc').follower.inFlight.change.id, id, 'the record holds it in flight');
  store.close();
});

/**
 * Web Locks' exclusive mode, as far as `tabLock` uses it (a holder never lets go): the first
 * request of a name is granted, the others wait until their signal aborts, and then reject.
 */
function fakeLocks() {
  const held = new Set();
  return {
    request(name, { signal }, callback) {
      if (!held.has(name)) {
        held.add(name);
        return Promise.resolve(callback());
      }
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    },
  };
}

test('tabLock: held by one page at a time, false after the wait or without Web Locks', async () => {
  const locks = fakeLocks();
  assert.equal(await tabLock('board a', { locks }), true);
  const started = Date.now();
  // Node does not wait for `AbortSignal.timeout`'s timer: this one keeps the test alive.
  const alive = setTimeout(() => {}, 5000);
  assert.equal(await tabLock('board a', { locks, timeout: 200 }), false, 'held by the first, past the wait');
  clearTimeout(alive);
  assert.ok(Date.now() - started >= 150, 'it waited');
  assert.equal(await tabLock('board b', { locks }), true, 'another name is free');
  if (globalThis.navigator?.locks === undefined) {
    assert.equal(await tabLock('board a'), false, 'no Web Locks here');
  }
  const refusing = { request: () => Promise.reject(new Error('SecurityError')) };
  assert.equal(await tabLock('board c', { locks: refusing }), false, 'a refusal is false, not a rejection');
  const throwing = { request: () => { throw new Error('NotSupportedError'); } };
  assert.equal(await tabLock('board d', { locks: throwing }), false, 'a throw is false, not a rejection');
});
