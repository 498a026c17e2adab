// The client against the real Rust server (the web_board example), started by the tests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { connect, connectMany } from '../index.js';
import { startServer, waitFor } from './server.js';

let server;
const open = [];
async function client(token, options = {}) {
  const store = await connect(server.ws, { token, WebSocket, ...options });
  open.push(store);
  return store;
}

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const store of open) store.close();
  await server.stop();
});

/** Waits until every store has answered all its edits and reached the server's version. */
async function converged(...stores) {
  await waitFor(async () => {
    const { version } = await server.state();
    return stores.every((s) => s.isSettled && s.version === version);
  }, 'the clients to reach the server');
  const { state } = await server.state();
  for (const store of stores) assert.deepEqual(store.getState(), state);
  return state;
}

test('two clients edit concurrently, including reorders and removals, and converge', async () => {
  const ann = await client('ann');
  const bob = await client('bob');
  const outcomes = new Map();
  for (const store of [ann, bob]) {
    store.on('accepted', (e) => outcomes.set(`${store.user}:${e.id}`, 'accepted'));
    store.on('dropped', (e) => outcomes.set(`${store.user}:${e.id}`, 'dropped'));
  }
  const made = [];
  for (let round = 0; round < 30; round++) {
    const annId = ann.update((d) => {
      d.todos.push({ id: `a${round}`, text: `ann ${round}`, done: false });
    });
    const bobId = bob.update((d) => {
      if (d.todos.length > 1) {
        const [first] = d.todos.splice(0, 1);
        d.todos.push(first);
      }
      if (round % 3 === 0 && d.todos.length > 2) d.todos.splice(d.todos.length - 2, 1);
    });
    const annToggle = ann.update((d) => {
      if (d.todos.length > 0) d.todos[round % d.todos.length].done = !d.todos[round % d.todos.length].done;
    });
    // A recipe that changed nothing makes no edit (and has no id).
    for (const [who, id] of [['ann', annId], ['bob', bobId], ['ann', annToggle]]) {
      if (id !== undefined) made.push(`${who}:${id}`);
    }
    // Now and then, let the other's changes arrive between edits.
    if (round % 2 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  const state = await converged(ann, bob);
  // Every edit has exactly one outcome.
  for (const key of made) assert.ok(outcomes.has(key), `no outcome for ${key}`);
  assert.ok(made.filter((k) => k.startsWith('bob:')).length >= 25, `bob edited: ${made.join(' ')}`);
  assert.ok([...outcomes.values()].includes('accepted'));
  assert.ok(state.todos.length > 0);
  // Reorders moved through each other neither duplicate nor lose a todo.
  const ids = state.todos.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids}`);
});

test('no token, or a bad one, is refused with a reason', async () => {
  await assert.rejects(client(''), /unauthorized/);
  await assert.rejects(client('mallory'), /unauthorized: unknown token/);
});

test("a viewer's write is rejected and rolled back", async () => {
  const victor = await client('victor');
  assert.equal(victor.role, 'viewer');
  const before = victor.getState();
  const dropped = new Promise((resolve) => victor.on('dropped', resolve));
  victor.update((d) => {
    d.title = 'mine now';
  });
  assert.equal(victor.getState().title, 'mine now', 'applied at once');
  const event = await dropped;
  assert.equal(event.reason.kind, 'rejected');
  assert.ok('Forbidden' in event.reason.reason, JSON.stringify(event.reason));
  assert.deepEqual(victor.getState(), before);
  assert.notEqual((await server.state()).state.title, 'mine now');
});

test('a write outside the paths a role may write is rejected; inside, accepted', async () => {
  const carol = await client('carol');
  const events = [];
  carol.on('dropped', (e) => events.push(['dropped', e]));
  carol.on('accepted', (e) => events.push(['accepted', e]));
  const text = carol.getState().todos[0].text;
  carol.update((d) => {
    d.todos[0].text = 'renamed';
  });
  await carol.settled();
  assert.equal(events.at(-1)[0], 'dropped');
  assert.deepEqual(events.at(-1)[1].reason.reason.Forbidden.path, ['todos', 0, 'text']);
  assert.equal(carol.getState().todos[0].text, text);
  const done = carol.getState().todos[0].done;
  carol.update((d) => {
    d.todos[0].done = !done;
  });
  await carol.settled();
  assert.equal(events.at(-1)[0], 'accepted');
  assert.equal((await server.state()).state.todos[0].done, !done);
});

test("the state, the devtools' API and import answer only whom the board lets in", async () => {
  const get = (path, token, options = {}) =>
    fetch(`${server.http}${path}`, {
      ...options,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  assert.equal((await get('/api/boards/welcome')).status, 401);
  assert.equal((await get('/api/boards/welcome', 'mallory')).status, 401);
  assert.equal((await get('/api/boards/welcome', 'victor')).status, 200);
  assert.equal((await fetch(`${server.http}/api/boards/welcome?token=carol`)).status, 200);
  assert.equal((await get('/api/boards/nowhere', 'victor')).status, 404);
  // The devtools for editors: the page itself shows nothing, its API is guarded.
  assert.equal((await get('/b/welcome/devtools')).status, 200);
  assert.equal((await get('/b/welcome/devtools/api/info')).status, 401);
  assert.equal((await get('/b/welcome/devtools/api/info', 'victor')).status, 403);
  assert.equal((await get('/b/welcome/devtools/api/info', 'ann')).status, 200);
  assert.equal((await get('/b/nowhere/devtools/api/info', 'ann')).status, 404);
  assert.equal((await get('/b/welcome/devtools/elsewhere', 'ann')).status, 404);
  const session = '{"base": {"title": "x", "todos": []}}\n';
  assert.equal((await get('/b/welcome/devtools/api/import', null, { method: 'POST', body: session })).status, 401);
  // Even for an editor: the devtools follow the live board, which an import would replace.
  const imported = await get('/b/welcome/devtools/api/import', 'ann', { method: 'POST', body: session });
  assert.equal(imported.status, 409);
  assert.match((await imported.json()).error, /live/);
  assert.notEqual((await server.state()).state.title, 'x');
});

test('the list of boards: anyone with a token lists them, editors create and delete them', async () => {
  const { api } = server;
  assert.equal((await api('GET', '/api/boards')).status, 401);
  assert.equal((await api('GET', '/api/boards', { token: 'mallory' })).status, 401);
  const listed = await (await api('GET', '/api/boards', { token: 'victor' })).json();
  assert.equal(listed.user, 'victor');
  assert.equal(listed.role, 'viewer');
  assert.ok(listed.boards.includes('welcome'), JSON.stringify(listed));

  // Only editors create, and a name is checked.
  const refused = await api('POST', '/api/boards', { token: 'carol', body: { name: 'carols' } });
  assert.equal(refused.status, 403);
  assert.match((await refused.json()).error, /forbidden: carol may not create/);
  const bad = await api('POST', '/api/boards', { token: 'ann', body: { name: 'a board/1' } });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /"a board\/1" is not a board's name: a name is 1 to 200 ASCII letters/);
  const malformed = await api('POST', '/api/boards', { token: 'ann', body: { title: 'no name' } });
  assert.equal(malformed.status, 400);
  assert.match((await malformed.json()).error, /send \{"name": \.\.\.\}/);
  const made = await api('POST', '/api/boards', { token: 'ann', body: { name: 'team-a' } });
  assert.equal(made.status, 201);
  assert.deepEqual(await made.json(), { name: 'team-a' });
  const taken = await api('POST', '/api/boards', { token: 'bob', body: { name: 'team-a' } });
  assert.equal(taken.status, 409);
  assert.match((await taken.json()).error, /a board named "team-a" exists already/);
  assert.ok((await (await api('GET', '/api/boards', { token: 'bob' })).json()).boards.includes('team-a'));

  // A new board starts as the demo's board, at version 0, with its own socket.
  const fresh = await server.state('team-a');
  assert.equal(fresh.version, 0);
  const teamA = await connect(`${server.wsMany}/team-a`, { token: 'ann', WebSocket });
  open.push(teamA);
  teamA.update((d) => {
    d.title = 'Team A';
  });
  await teamA.settled();
  assert.equal((await server.state('team-a')).state.title, 'Team A');
  assert.notEqual((await server.state()).state.title, 'Team A', 'the other board is its own');

  // Only editors delete; whoever is on the board is told.
  assert.equal((await api('DELETE', '/api/boards/team-a', { token: 'victor' })).status, 403);
  const connection = connectMany(server.wsMany, { token: 'carol', WebSocket });
  try {
    const onIt = await connection.open('team-a');
    assert.equal(onIt.getState().title, 'Team A');
    const gone = new Promise((resolve) => onIt.on('unsubscribed', resolve));
    assert.equal((await api('DELETE', '/api/boards/team-a', { token: 'ann' })).status, 204);
    assert.match((await gone).reason, /deleted/);
  } finally {
    connection.disconnect();
  }
  const again = await api('DELETE', '/api/boards/team-a', { token: 'ann' });
  assert.equal(again.status, 404);
  assert.match((await again.json()).error, /no board is named "team-a"/);
  assert.equal((await api('GET', '/api/boards/team-a', { token: 'ann' })).status, 404);
  assert.ok(!(await (await api('GET', '/api/boards', { token: 'ann' })).json()).boards.includes('team-a'));
});

test('one socket carries many boards (connectMany on /ws)', async () => {
  for (const name of ['many-1', 'many-2']) {
    assert.equal((await server.api('POST', '/api/boards', { token: 'ann', body: { name } })).status, 201);
  }
  const connection = connectMany(server.wsMany, { token: 'bob', WebSocket });
  try {
    const [one, two] = await Promise.all([connection.open('many-1'), connection.open('many-2')]);
    one.update((d) => {
      d.todos.push({ id: 'm1', text: 'on board one', done: false });
    });
    two.update((d) => {
      d.title = 'Board two';
    });
    await Promise.all([one.settled(), two.settled()]);
    const [first, second] = [await server.state('many-1'), await server.state('many-2')];
    assert.deepEqual(one.getState(), first.state);
    assert.deepEqual(two.getState(), second.state);
    assert.ok(first.state.todos.some((t) => t.id === 'm1'));
    assert.equal(second.state.title, 'Board two');
    await assert.rejects(connection.open('nowhere'), /no document is named "nowhere"/);
  } finally {
    connection.disconnect();
  }
});

test('members the board does not have never reach any client, and __proto__ is refused', async () => {
  const ann = await client('ann');
  const bob = await client('bob');
  ann.update((d) => {
    d.todos.push({ id: 'junk-1', text: 'with junk', done: false, junk: 'z'.repeat(10000), isAdmin: true });
  });
  await ann.settled();
  const state = await converged(ann, bob);
  const added = state.todos.find((t) => t.id === 'junk-1');
  assert.deepEqual(Object.keys(added).sort(), ['done', 'id', 'text']);
  assert.deepEqual(bob.getState().todos.find((t) => t.id === 'junk-1'), added);
  // The author holds the committed form too.
  assert.deepEqual(ann.getState().todos.find((t) => t.id === 'junk-1'), added);
  const dropped = new Promise((resolve) => ann.on('dropped', resolve));
  ann.update((d) => {
    d.todos.push(JSON.parse('{"id": "p", "text": "proto", "done": false, "__proto__": {"isAdmin": true}}'));
  });
  const event = await dropped;
  assert.deepEqual(event.reason.reason.Forbidden.path.at(-1), '__proto__');
  await converged(ann, bob);
  assert.equal(bob.getState().todos.some((t) => t.id === 'p'), false);
});

test('the validation hook refuses an invalid next state', async () => {
  const ann = await client('ann');
  const dropped = new Promise((resolve) => ann.on('dropped', resolve));
  ann.update((d) => {
    d.title = '   ';
  });
  const event = await dropped;
  assert.ok('Invalid' in event.reason.reason);
  assert.match(event.reason.message, /title may not be empty/);
  assert.notEqual(ann.getState().title, '   ');
});

test('a dropped connection reconnects, resumes its session, and loses no edit', async () => {
  const ann = await client('ann');
  const bob = await client('bob');
  const accepted = new Set();
  ann.on('accepted', (e) => accepted.add(e.id));
  ann.on('dropped', (e) => accepted.add(e.id));
  const session = ann.follower.session;
  const ids = [];
  for (let n = 0; n < 20; n++) {
    ids.push(ann.update((d) => {
      d.todos.push({ id: `r${n}`, text: `resumed ${n}`, done: false });
    }));
    if (n === 10) ann.socket.terminate();
    bob.update((d) => {
      d.title = `title ${n}`;
    });
  }
  const reopened = new Promise((resolve) => ann.on('open', resolve));
  const event = await reopened;
  assert.equal(event.resumed, true);
  assert.equal(ann.follower.session, session);
  const state = await converged(ann, bob);
  for (const id of ids) assert.ok(accepted.has(id), `edit ${id} has an outcome`);
  // Each accepted todo is in the state once.
  for (let n = 0; n < 20; n++) {
    assert.ok(state.todos.filter((t) => t.id === `r${n}`).length <= 1);
  }
});

/**
 * Ann's store on its own server: an edit accepted, the server killed (SIGKILL), two edits
 * made while it is down, and the server started again on `data(own)`; resolves with what the
 * store's `open` said and each edit's outcome.
 */
async function editAcrossARestart(data) {
  let own = await startServer();
  const ann = await connect(own.ws, { token: 'ann', WebSocket });
  const dirs = [own.data];
  try {
    const outcomes = new Map();
    ann.on('accepted', (e) => outcomes.set(e.id, [...(outcomes.get(e.id) ?? []), 'accepted']));
    ann.on('dropped', (e) => outcomes.set(e.id, [...(outcomes.get(e.id) ?? []), e.reason.kind]));
    const first = ann.update((d) => {
      d.title = 'before the restart';
    });
    await ann.settled();
    const closed = new Promise((resolve) => ann.on('close', resolve));
    await own.kill();
    await closed;
    const offline = [
      ann.update((d) => {
        d.title = 'offline 1';
      }),
      ann.update((d) => {
        d.todos.push({ id: 'offline', text: 'offline 2', done: false });
      }),
    ];
    const reopening = new Promise((resolve) => ann.on('open', resolve));
    own = await startServer(own.port, data(own));
    dirs.push(own.data);
    const reopened = await reopening;
    await ann.settled();
    assert.deepEqual(ann.getState(), (await own.state()).state);
    return { reopened, first, offline, outcomes, state: ann.getState() };
  } finally {
    ann.close();
    await own.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

test('a server restarted on its store resumes the session: edits made while it was down land, once each', async () => {
  const { reopened, first, offline, outcomes, state } = await editAcrossARestart((own) => own.data);
  assert.equal(reopened.resumed, true);
  for (const id of [first, ...offline]) assert.deepEqual(outcomes.get(id), ['accepted'], `edit ${id}`);
  assert.equal(state.title, 'offline 1');
  assert.equal(state.todos.filter((t) => t.id === 'offline').length, 1);
});

test('edits a server that forgot the session never saw are reported lost, once each', async () => {
  // Started again on a new data directory: the board is new, the session unknown.
  const { reopened, first, offline, outcomes } = await editAcrossARestart(() => undefined);
  assert.equal(reopened.resumed, false);
  assert.deepEqual(outcomes.get(first), ['accepted']);
  for (const id of offline) assert.deepEqual(outcomes.get(id), ['sessionLost'], `edit ${id}`);
});
