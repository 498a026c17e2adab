// Many documents over one WebSocket (`connectMany`), against the multi-document server of
// test/many_server.js: documents edited over shared sockets converge, an unsubscribed document
// stops, one the server unsubscribes reports its unanswered edits lost, a killed socket is
// reconnected and every document resumed with no edit lost or answered twice, and nothing of
// one document reaches another; a handle taken before its welcome has no state yet.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connectMany } from '../index.js';
import { startManyServer } from './many_server.js';
import { waitFor } from './server.js';

const TEAM_A = { title: 'a', todos: [{ id: 't0', text: 'first', done: false }] };
const TEAM_B = { notes: { n0: 'hello' }, order: ['n0'] };

/** What each test started, stopped after it whatever happened. */
let servers = [];
let connections = [];
afterEach(async () => {
  for (const connection of connections) connection.disconnect();
  for (const server of servers) await server.close();
  servers = [];
  connections = [];
});

async function server() {
  const started = await startManyServer({ 'team-a': TEAM_A, 'team-b': TEAM_B });
  servers.push(started);
  return started;
}

function connection(on, token, options = {}) {
  const opened = connectMany(on.url, { token, WebSocket, ...options });
  connections.push(opened);
  return opened;
}

/** Resolves with `promise`'s value, or rejects after `ms`. */
function within(promise, what, ms = 5000) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The next `type` event of `target`. */
const next = (target, type) => within(new Promise((resolve) => {
  const off = target.on(type, (event) => {
    off();
    resolve(event);
  });
}), `a ${type} event`);

/** Counts each edit's outcomes on `doc`: `outcomes.get(id)` lists them. */
function outcomesOf(doc) {
  const outcomes = new Map();
  const add = (id, outcome) => outcomes.set(id, [...(outcomes.get(id) ?? []), outcome]);
  doc.on('accepted', (e) => add(e.id, 'accepted'));
  doc.on('dropped', (e) => add(e.id, e.reason.kind));
  return outcomes;
}

/** Waits until every handle of document `name` has the leader's version and state. */
async function converged(on, name, ...docs) {
  const leader = on.leaders.get(name);
  await waitFor(() => docs.every((d) => d.isSettled && d.version === leader.version), `${name} to converge`, 5000);
  for (const doc of docs) assert.deepEqual(doc.getState(), leader.state, `${doc.name} as ${doc.user} sees it`);
  return leader.state;
}

test('two documents over one socket each, edited from two connections, converge', async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const bob = connection(on, 'bob');
  const [annA, annB, bobA, bobB] = await Promise.all([
    ann.open('team-a'),
    ann.open('team-b'),
    bob.open('team-a'),
    bob.open('team-b'),
  ]);
  assert.deepEqual(ann.documents(), ['team-a', 'team-b']);
  assert.equal(ann.document('team-b'), annB);
  assert.equal(await ann.open('team-a'), annA, 'a document open already is the same handle');
  assert.deepEqual(annA.getState(), TEAM_A);
  assert.deepEqual(bobB.getState(), TEAM_B);
  const outcomes = [annA, annB, bobA, bobB].map(outcomesOf);
  const made = [[], [], [], []];
  // A recipe that changed nothing makes no edit (and has no id).
  const track = (n, id) => id !== undefined && made[n].push(id);
  for (let round = 0; round < 20; round++) {
    track(0, annA.update((d) => {
      d.todos.push({ id: `a${round}`, text: `ann ${round}`, done: false });
    }));
    track(2, bobA.update((d) => {
      const [first] = d.todos.splice(0, 1);
      d.todos.push(first);
      d.todos[0].done = !d.todos[0].done;
    }));
    track(1, annB.update((d) => {
      d.notes[`ann${round}`] = `note ${round}`;
      d.order.push(`ann${round}`);
    }));
    track(3, bobB.update((d) => {
      d.order.reverse();
    }));
    if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const a = await converged(on, 'team-a', annA, bobA);
  const b = await converged(on, 'team-b', annB, bobB);
  assert.equal(a.todos.length, 21);
  assert.deepEqual([...b.order].sort(), Object.keys(b.notes).sort());
  for (const [n, ids] of made.entries()) {
    assert.ok(ids.length >= 15, `handle ${n} made ${ids.length} edits`);
    for (const id of ids) assert.equal(outcomes[n].get(id)?.length, 1, `edit ${id} of handle ${n}: ${outcomes[n].get(id)}`);
  }
  // One socket per connection carried both documents.
  assert.equal(on.socketsOf('ann'), 1);
  assert.equal(on.socketsOf('bob'), 1);
  assert.deepEqual(on.shapeErrors, []);
});

test('a document has no state until its open resolves, and keeps one from then on', async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const opening = ann.open('team-a');
  // Taken before the welcome: what getState() gives (and a selector is called with) is undefined.
  const early = ann.document('team-a');
  assert.equal(early.getState(), undefined);
  assert.throws(() => early.update((d) => { d.title = 'too soon'; }), /has no state yet/);
  const doc = await within(opening, 'team-a open');
  assert.equal(doc, early);
  assert.deepEqual(doc.getState(), TEAM_A);
});

test('a refused token ends the connection; a document the server refuses is not opened', async () => {
  const on = await server();
  const mallory = connection(on, 'mallory');
  const closed = next(mallory, 'close');
  await assert.rejects(within(mallory.open('team-a'), 'the refusal'), /4401.*unauthorized: unknown token/);
  assert.equal((await closed).code, 4401);
  await assert.rejects(mallory.open('team-b'), /the connection has ended: unauthorized/);
  // Refused for good: it does not try again.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(on.received.filter((r) => r.message.type === 'auth').length, 1);

  const ann = connection(on, 'ann');
  await assert.rejects(within(ann.open('team-z'), 'the refusal'), /"team-z" is unsubscribed: not found/);
  assert.deepEqual(ann.documents(), []);
  const annA = await within(ann.open('team-a'), 'team-a');
  assert.equal(annA.status, 'open');
  assert.deepEqual(on.shapeErrors, []);
});

test('an unsubscribed document stops: no more updates, no more edits', async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const bob = connection(on, 'bob');
  const [annA, annB, bobA] = await Promise.all([ann.open('team-a'), ann.open('team-b'), bob.open('team-a')]);
  const outcomes = outcomesOf(annA);
  // An edit in flight when the document closes is still answered (the server took it first).
  const id = annA.update((d) => {
    d.title = 'last words';
  });
  const unsubscribed = next(annA, 'unsubscribed');
  annA.close();
  assert.equal(annA.status, 'closed');
  assert.deepEqual(ann.documents(), ['team-b']);
  assert.deepEqual(await unsubscribed, { reason: 'unsubscribed' });
  assert.deepEqual(outcomes.get(id), ['accepted']);
  assert.equal(annA.status, 'unsubscribed');
  assert.throws(() => annA.update((d) => {
    d.title = 'too late';
  }), /"team-a" is unsubscribed \(unsubscribed\): it takes no more edits/);
  const seen = annA.getState();
  const version = annA.version;
  let notified = 0;
  annA.subscribe(() => notified++);
  const applied = [];
  annA.on('applied', (e) => applied.push(e));
  // Bob edits on; Ann's copy of team-a hears nothing of it, and her other document goes on.
  for (let n = 0; n < 5; n++) {
    bobA.update((d) => {
      d.todos.push({ id: `b${n}`, text: 'after', done: false });
    });
  }
  annB.update((d) => {
    d.notes.more = 'still here';
  });
  await converged(on, 'team-a', bobA);
  await converged(on, 'team-b', annB);
  assert.equal(annA.getState(), seen);
  assert.equal(annA.version, version);
  assert.deepEqual([notified, applied], [0, []]);
  // The server sent nothing of team-a to Ann after her unsubscribe was answered.
  const toAnn = on.sentTo('ann').filter((m) => m.doc === 'team-a');
  assert.deepEqual(toAnn.at(-1), { doc: 'team-a', type: 'unsubscribed', reason: 'unsubscribed' });
  // Opened again, it is a new subscription, from the server's state.
  const again = await within(ann.open('team-a'), 'team-a again');
  assert.notEqual(again, annA);
  assert.deepEqual(again.getState(), on.leaders.get('team-a').state);
  assert.deepEqual(on.shapeErrors, []);
});

test("a document the server unsubscribes drops its unanswered edits as sessionLost and takes no more", async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const [annA, annB] = await Promise.all([ann.open('team-a'), ann.open('team-b')]);
  const outcomes = outcomesOf(annA);
  const shown = [];
  annA.subscribe((state) => shown.push(state));
  on.hold('team-a');
  const ids = [1, 2, 3].map((n) => annA.update((d) => {
    d.todos.push({ id: `lost${n}`, text: 'never answered', done: false });
  }));
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(annA.pendingCount, 3);
  const unsubscribed = next(annA, 'unsubscribed');
  on.unsubscribe('team-a', 'the document was deleted');
  assert.deepEqual(await unsubscribed, { reason: 'the document was deleted' });
  for (const id of ids) assert.deepEqual(outcomes.get(id), ['sessionLost'], `edit ${id}`);
  assert.equal(annA.status, 'unsubscribed');
  assert.equal(annA.reason, 'the document was deleted');
  assert.equal(annA.pendingCount, 0);
  // What it shows is the server's last state, without the edits lost.
  assert.deepEqual(annA.getState(), TEAM_A);
  assert.deepEqual(shown.at(-1), TEAM_A);
  assert.throws(() => annA.update((d) => {
    d.title = 'anyone?';
  }), /"team-a" is unsubscribed \(the document was deleted\): it takes no more edits/);
  assert.deepEqual(ann.documents(), ['team-b']);
  // The connection and its other document carry on.
  annB.update((d) => {
    d.notes.after = 'deleted next door';
  });
  await annB.settled(5000);
  assert.equal(on.leaders.get('team-b').state.notes.after, 'deleted next door');
  // Nothing more about the edits lost, ever.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const id of ids) assert.equal(outcomes.get(id).length, 1);
  assert.deepEqual(on.shapeErrors, []);
});

test('a socket killed mid-edit reconnects, resumes every document, and each edit has one outcome', async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const bob = connection(on, 'bob');
  const [annA, annB, bobA, bobB] = await Promise.all([
    ann.open('team-a'),
    ann.open('team-b'),
    bob.open('team-a'),
    bob.open('team-b'),
  ]);
  const sessions = [annA.follower.session, annB.follower.session];
  const annOutcomes = [outcomesOf(annA), outcomesOf(annB)];
  const reopened = [next(annA, 'open'), next(annB, 'open')];
  const closed = next(ann, 'close');
  const made = [[], []];
  for (let n = 0; n < 20; n++) {
    made[0].push(annA.update((d) => {
      d.todos.push({ id: `r${n}`, text: `resumed ${n}`, done: false });
    }));
    made[1].push(annB.update((d) => {
      d.notes[`r${n}`] = `resumed ${n}`;
      d.order.push(`r${n}`);
    }));
    if (n === 10) {
      assert.ok(annA.pendingCount > 0 && annB.pendingCount > 0, 'edits wait when the socket dies');
      on.kill('ann');
    }
    bobA.update((d) => {
      d.title = `title ${n}`;
    });
    bobB.update((d) => {
      d.order.reverse();
    });
    if (n % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.equal((await closed).code, 1006);
  for (const event of await Promise.all(reopened)) assert.equal(event.resumed, true);
  assert.deepEqual([annA.follower.session, annB.follower.session], sessions);
  // The second socket authenticated, then subscribed each document with its session.
  const ids = [...on.idsOf('ann')];
  assert.equal(ids.length, 2);
  const second = on.received.filter((r) => r.from === ids[1]).map((r) => r.message);
  assert.deepEqual(second[0], { type: 'auth', token: 'ann' });
  assert.deepEqual(
    second.filter((m) => m.type === 'subscribe'),
    [{ type: 'subscribe', doc: 'team-a', resume: sessions[0] }, { type: 'subscribe', doc: 'team-b', resume: sessions[1] }],
  );
  const a = await converged(on, 'team-a', annA, bobA);
  await converged(on, 'team-b', annB, bobB);
  for (const [n, ids] of made.entries()) {
    for (const id of ids) assert.equal(annOutcomes[n].get(id)?.length, 1, `edit ${id} of document ${n}: ${annOutcomes[n].get(id)}`);
    assert.equal(annOutcomes[n].size, ids.length, 'no outcome for an edit never made');
  }
  // Sent again after the reconnect, each accepted todo is in the state once.
  for (let n = 0; n < 20; n++) assert.ok(a.todos.filter((t) => t.id === `r${n}`).length <= 1, `r${n} twice`);
  assert.deepEqual(on.shapeErrors, []);
});

test("messages for one document never reach another's handle", async () => {
  const on = await server();
  const ann = connection(on, 'ann');
  const bob = connection(on, 'bob');
  const [annA, annB] = await Promise.all([ann.open('team-a'), ann.open('team-b')]);
  const bobB = await bob.open('team-b');
  const seenByA = [];
  for (const type of ['applied', 'accepted', 'dropped', 'diverged', 'welcome']) annA.on(type, (e) => seenByA.push(e));
  annA.subscribe((state) => seenByA.push(state));
  const errors = [];
  ann.on('error', (e) => errors.push(e.message));
  for (let n = 0; n < 10; n++) {
    bobB.update((d) => {
      d.notes[`b${n}`] = 'for team-b only';
    });
    annB.update((d) => {
      d.order.push(`x${n}`);
      d.notes[`x${n}`] = 'mine';
    });
  }
  await converged(on, 'team-b', annB, bobB);
  assert.deepEqual(seenByA, []);
  assert.equal(annA.version, 0);
  assert.deepEqual(annA.getState(), TEAM_A);
  // Ann's team-a edits reach the team-a leader only, and Bob, who has no team-a, hears nothing.
  annA.update((d) => {
    d.title = 'team-a only';
  });
  await converged(on, 'team-a', annA);
  assert.equal(on.leaders.get('team-a').state.title, 'team-a only');
  assert.equal(on.leaders.get('team-b').state.title, undefined);
  assert.deepEqual(on.sentTo('bob').filter((m) => m.doc !== 'team-b'), []);
  // Every change went out named by its own document: its patches fit that document.
  for (const { message } of on.received.filter((r) => r.message.type === 'change')) {
    const fits = message.patches.every((p) => (message.doc === 'team-a' ? ['title', 'todos'] : ['notes', 'order']).includes(p.path[0]));
    assert.ok(fits, JSON.stringify(message));
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(on.shapeErrors, []);
});
