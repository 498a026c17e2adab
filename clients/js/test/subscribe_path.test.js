// Subscriptions by path: `parsePattern` reads the `Policy` syntax, `touches` says whether a patch
// touches a pattern (each rule by its own cases, and the shared cases of the Rust crate,
// tests/data/touches.json, with the same answers), and `subscribePath` calls its listener for exactly the
// changes of the state shown that touch the pattern, with their patches: edits made here,
// others' changes, and edits taken back out, against the in-process multi-document server.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { applyWithInverse, connectMany, deepEqual, parsePattern, touches } from '../index.js';
import { startManyServer } from './many_server.js';
import { rng } from './random.js';
import { waitFor } from './server.js';

test('a pattern is read as the Policy reads it', () => {
  assert.deepEqual(parsePattern(''), { text: '', segments: [] });
  assert.deepEqual(parsePattern('/tasks/*/done').segments, [
    { kind: 'literal', value: 'tasks' },
    { kind: 'any' },
    { kind: 'literal', value: 'done' },
  ]);
  assert.deepEqual(parsePattern('/**').segments, [{ kind: 'rest' }]);
  assert.deepEqual(parsePattern('/a~1b/~0/~01').segments.map((s) => s.value), ['a/b', '~', '~1']);
  // An empty segment is a key "" (as in a JSON Pointer).
  assert.deepEqual(parsePattern('/').segments, [{ kind: 'literal', value: '' }]);
  assert.throws(() => parsePattern('tasks'), { name: 'SyntaxError', message: `bad path pattern "tasks": it must start with '/'` });
  assert.throws(() => parsePattern('/a/**/b'), { name: 'SyntaxError', message: `bad path pattern "/a/**/b": '**' may only be the last segment` });
  // `~2` is a `*`: keys named like the wildcards.
  assert.deepEqual(parsePattern('/~2/~2~2/a~02').segments.map((s) => s.value), ['*', '**', 'a~2']);
  assert.equal(touches('/~2', { op: 'replace', path: ['x'], value: 1 }), false, 'a literal `*` is not a wildcard');
  assert.equal(touches('/~2', { op: 'replace', path: ['*'], value: 1 }), true);
  assert.throws(() => parsePattern('/a~3'), { name: 'SyntaxError', message: /'~' must be followed by '0' or '1' \(RFC 6901\), or '2'/ });
  assert.throws(() => parsePattern('/a~'), { name: 'SyntaxError' });
  assert.throws(() => parsePattern(3), { name: 'TypeError', message: /a path pattern is a string/ });
});

/** `[pattern, patch, touches]`, one rule of `touches` after another. */
const CASES = [
  // (a) A and P agree on their common length: at, inside, or above what P names.
  ['/tasks/0/done', { op: 'replace', path: ['tasks', 0, 'done'], value: true }, true],
  ['/tasks/0/done', { op: 'replace', path: ['tasks', 0], value: {} }, true],
  ['/tasks/0/done', { op: 'replace', path: ['tasks'], value: [] }, true],
  ['/tasks/0/done', { op: 'replace', path: [], value: {} }, true],
  ['/tasks/0', { op: 'replace', path: ['tasks', 0, 'done'], value: true }, true],
  ['', { op: 'replace', path: ['tasks', 0, 'done'], value: true }, true],
  ['/tasks/0/done', { op: 'replace', path: ['tasks', 0, 'title'], value: 'x' }, false],
  ['/tasks/0/done', { op: 'replace', path: ['tasks', 1, 'done'], value: true }, false],
  ['/tasks/0/done', { op: 'replace', path: ['owner'], value: 'x' }, false],
  // A literal matches a key with its text and a list index written in decimal, nothing else.
  ['/scores/7', { op: 'replace', path: ['scores', '7'], value: 1 }, true],
  ['/scores/07', { op: 'replace', path: ['scores', 7], value: 1 }, false],
  ['/a~1b/~0', { op: 'add', path: ['a/b', '~'], value: 1 }, true],
  ['/a~1b', { op: 'add', path: ['a~1b'], value: 1 }, false],
  // `*` any one segment; `**` everything from there on (none included).
  ['/tasks/*/done', { op: 'replace', path: ['tasks', 5, 'done'], value: true }, true],
  ['/tasks/*/done', { op: 'replace', path: ['tasks', 5, 'title'], value: 'x' }, false],
  ['/tasks/*/done', { op: 'replace', path: ['tasks', 5], value: {} }, true],
  ['/*/0', { op: 'replace', path: ['anything', 0], value: 1 }, true],
  ['/tasks/**', { op: 'replace', path: ['tasks', 5, 'title'], value: 'x' }, true],
  ['/tasks/**', { op: 'replace', path: ['tasks'], value: [] }, true],
  ['/tasks/**', { op: 'replace', path: ['owner'], value: 'x' }, false],
  ['/**', { op: 'replace', path: ['owner'], value: 'x' }, true],
  // (a) holds for every op, a key's add and remove included (no shift for a key).
  ['/scores/a', { op: 'add', path: ['scores', 'a'], value: 1 }, true],
  ['/scores/a', { op: 'remove', path: ['scores', 'b'] }, false],
  ['/scores/a', { op: 'remove', path: ['scores'] }, true],
  // (b) an add or remove at list index i shifts the elements after it: P's literal j >= i.
  ['/tasks/2/done', { op: 'add', path: ['tasks', 0], value: {} }, true],
  ['/tasks/2/done', { op: 'add', path: ['tasks', 2], value: {} }, true],
  ['/tasks/2/done', { op: 'add', path: ['tasks', 3], value: {} }, false],
  ['/tasks/2/done', { op: 'remove', path: ['tasks', 1] }, true],
  ['/tasks/2/done', { op: 'remove', path: ['tasks', 2] }, true],
  ['/tasks/2/done', { op: 'remove', path: ['tasks', 3] }, false],
  ['/tasks/2', { op: 'remove', path: ['tasks', 1] }, true],
  ['/tasks/10', { op: 'add', path: ['tasks', 9], value: {} }, true],
  // ... compared as numbers, not as text.
  ['/tasks/10', { op: 'add', path: ['tasks', 2], value: {} }, true],
  ['/tasks/2', { op: 'add', path: ['tasks', 10], value: {} }, false],
  // ... exactly, up to the largest index (the Rust crate's 64-bit `usize`); a literal past it
  // names no index, nor does one with a sign, a leading zero or an exponent.
  ['/todos/18446744073709551615', { op: 'add', path: ['todos', 0], value: {} }, true],
  ['/todos/18446744073709551615', { op: 'remove', path: ['todos', 9007199254740991] }, true],
  ['/todos/18446744073709551615', { op: 'add', path: ['todos', '-'], value: {} }, true],
  ['/todos/18446744073709551616', { op: 'add', path: ['todos', 0], value: {} }, false],
  ['/todos/99999999999999999999', { op: 'add', path: ['todos', 0], value: {} }, false],
  ['/todos/99999999999999999999', { op: 'add', path: ['todos', '-'], value: {} }, false],
  // (9007199254740995 as a Number rounds to 9007199254740996.)
  ['/todos/9007199254740995', { op: 'add', path: ['todos', 9007199254740996], value: {} }, false],
  ['/todos/9007199254740996', { op: 'add', path: ['todos', 9007199254740996], value: {} }, true],
  ['/todos/02', { op: 'add', path: ['todos', 0], value: {} }, false],
  ['/todos/-1', { op: 'add', path: ['todos', 0], value: {} }, false],
  ['/todos/+2', { op: 'add', path: ['todos', 0], value: {} }, false],
  ['/todos/1e3', { op: 'add', path: ['todos', 0], value: {} }, false],
  // `-` appends at the end: it may land at any literal index.
  ['/tasks/7/done', { op: 'add', path: ['tasks', '-'], value: {} }, true],
  ['/tasks/0', { op: 'add', path: ['tasks', '-'], value: {} }, true],
  // Only a literal index shifts: a key of the same depth is not touched, nor is a wildcard
  // made to.
  ['/tasks/x', { op: 'add', path: ['tasks', 0], value: {} }, false],
  ['/tasks/*/done', { op: 'add', path: ['tasks', 0], value: {} }, true],
  // The segments before must agree.
  ['/other/2', { op: 'add', path: ['tasks', 0], value: {} }, false],
  ['/*/2', { op: 'add', path: ['tasks', 0], value: {} }, true],
  // A key written as digits in a string is a key: it shifts nothing.
  ['/scores/5', { op: 'add', path: ['scores', '3'], value: 1 }, false],
  // `replace` never shifts.
  ['/tasks/2', { op: 'replace', path: ['tasks', 0], value: {} }, false],
  // (c) a move is a remove at `from` and an add at `path`.
  ['/tasks/3', { op: 'move', from: ['tasks', 1], path: ['tasks', 5] }, true],
  ['/tasks/3', { op: 'move', from: ['tasks', 5], path: ['tasks', 4] }, false],
  ['/tasks/3', { op: 'move', from: ['tasks', 5], path: ['tasks', 3] }, true],
  ['/tasks/0/done', { op: 'move', from: ['tasks', 0, 'done'], path: ['archive', 0] }, true],
  ['/archive/0', { op: 'move', from: ['tasks', 0, 'done'], path: ['archive', 0] }, true],
  ['/owner', { op: 'move', from: ['tasks', 0, 'done'], path: ['archive', 0] }, false],
  // ... a copy an add at `path`: what it copies from is only read.
  ['/tasks/0', { op: 'copy', from: ['tasks', 0], path: ['tasks', 9] }, false],
  ['/tasks/9', { op: 'copy', from: ['tasks', 0], path: ['tasks', 2] }, true],
];

test('touches: each rule', () => {
  for (const [pattern, patch, expected] of CASES) {
    assert.equal(touches(pattern, patch), expected, `${pattern} by ${JSON.stringify(patch)}`);
    // A pattern read once gives the same answers.
    assert.equal(touches(parsePattern(pattern), patch), expected);
  }
  assert.throws(() => touches('/a', { op: 'add', path: '/a', value: 1 }), TypeError);
  assert.throws(() => touches('a', { op: 'add', path: ['a'], value: 1 }), SyntaxError);
});

/** The shared cases the Rust crate writes (`IMMER_UPDATE_VECTORS=1 cargo test --test test_touches`). */
const SHARED = new URL('../../../tests/data/touches.json', import.meta.url);

/** A JSON Pointer's segments, decimal ones as list indices (a path the vectors may write so). */
const fromPointer = (path) => (typeof path !== 'string' ? path : path === '' ? [] : path
  .slice(1)
  .split('/')
  .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s)));

test('touches: the Rust crate\'s cases, with the same answers', () => {
  const file = SHARED;
  const read = JSON.parse(readFileSync(file, 'utf8'));
  const cases = read;
  assert.ok(cases.length >= 400, `${cases.length} shared cases`);
  for (const { pattern, patch, touches: expected } of cases) {
    const inImmerForm = { ...patch, path: fromPointer(patch.path), ...(patch.from === undefined ? {} : { from: fromPointer(patch.from) }) };
    assert.equal(touches(pattern, inImmerForm), expected, `${pattern} by ${JSON.stringify(patch)}`);
  }
});

const BOARD = {
  title: 'board',
  todos: ['a', 'b', 'c', 'd'].map((id) => ({ id, text: `todo ${id}`, done: false })),
  tags: { x: 1 },
};

let servers = [];
let connections = [];
afterEach(async () => {
  for (const connection of connections) connection.disconnect();
  for (const server of servers) await server.close();
  servers = [];
  connections = [];
});

async function board(state = BOARD) {
  const server = await startManyServer({ board: state });
  servers.push(server);
  return server;
}

async function open(server, token) {
  const connection = connectMany(server.url, { token, WebSocket });
  connections.push(connection);
  return connection.open('board');
}

/** Calls of a path listener: `[patches, state]` each. */
function record(doc, pattern) {
  const calls = [];
  const stop = doc.subscribePath(pattern, (patches, state) => calls.push([patches, state]));
  return { calls, stop };
}

test('an edit made here calls the listeners of what it touches, with its patches', async () => {
  const server = await board();
  const ann = await open(server, 'ann');
  const done = record(ann, '/todos/1/done');
  const title = record(ann, '/title');
  const anyDone = record(ann, '/todos/*/done');
  const later = record(ann, '/todos/3');
  ann.update((d) => {
    d.todos[1].done = true;
  });
  assert.deepEqual(done.calls, [[[{ op: 'replace', path: ['todos', 1, 'done'], value: true }], ann.getState()]]);
  assert.equal(anyDone.calls.length, 1);
  assert.equal(title.calls.length, 0);
  assert.equal(later.calls.length, 0);
  // An insert before the fourth todo shifts it: touched, while its value there changed.
  ann.update((d) => {
    d.todos.splice(2, 0, { id: 'n', text: 'new', done: false });
  });
  assert.equal(later.calls.length, 1);
  assert.deepEqual(later.calls[0][0].map((p) => [p.op, p.path]), [['add', ['todos', 2]]]);
  assert.equal(done.calls.length, 1);
  // Patches made elsewhere (an undo's) too; a recipe that changes nothing calls no one.
  ann.updatePatches([{ op: 'replace', path: ['title'], value: 'renamed' }]);
  assert.deepEqual(title.calls.map(([patches, state]) => [patches, state.title]), [[[{ op: 'replace', path: ['title'], value: 'renamed' }], 'renamed']]);
  ann.update(() => {});
  assert.equal(title.calls.length + done.calls.length + later.calls.length, 3);
  await ann.settled();
});

test('others\' changes call the listeners of what they touch, and unsubscribing stops the calls', async () => {
  const server = await board();
  const ann = await open(server, 'ann');
  const bob = await open(server, 'bob');
  const text = record(ann, '/todos/0/text');
  const second = record(ann, '/todos/1');
  const tags = record(ann, '/tags/**');
  bob.update((d) => {
    d.todos[0].text = 'changed by bob';
  });
  await waitFor(() => text.calls.length === 1, 'ann to see bob\'s change');
  assert.deepEqual(text.calls[0][0], [{ op: 'replace', path: ['todos', 0, 'text'], value: 'changed by bob' }]);
  assert.equal(second.calls.length, 0);
  bob.update((d) => {
    d.todos.shift();
  });
  await waitFor(() => second.calls.length === 1, 'ann to see the removal');
  assert.equal(text.calls.length, 2);
  assert.deepEqual(second.calls[0][0].map((p) => [p.op, p.path]), [['remove', ['todos', 0]]]);
  second.stop();
  text.stop();
  bob.update((d) => {
    d.todos.unshift({ id: 'z', text: 'first', done: false });
    d.tags.y = 2;
  });
  await waitFor(() => tags.calls.length === 1, 'ann to see the tag');
  assert.deepEqual(tags.calls[0][0], [{ op: 'add', path: ['tags', 'y'], value: 2 }]);
  assert.equal(second.calls.length, 1);
  assert.equal(text.calls.length, 2);
  assert.throws(() => ann.subscribePath('todos/0', () => {}), { name: 'SyntaxError', message: /bad path pattern "todos\/0"/ });
  assert.throws(() => ann.subscribePath('/todos/0'), TypeError);
});

test('an edit taken back out calls the listeners of what it had changed', async () => {
  const server = await board();
  const ann = await open(server, 'ann');
  const bob = await open(server, 'bob');
  server.hold('board');
  // Bob removes the second todo first; ann, not knowing it, marks it done.
  bob.update((d) => {
    d.todos.splice(1, 1);
  });
  await waitFor(() => server.held.get('board').length === 1, 'bob\'s change to reach the server');
  ann.update((d) => {
    d.todos[1].done = true;
  });
  await waitFor(() => server.held.get('board').length === 2, 'ann\'s change to reach the server');
  const done = record(ann, '/todos/1/done');
  const first = record(ann, '/todos/0');
  const dropped = [];
  ann.on('dropped', (event) => dropped.push(event.reason.kind));
  server.release('board');
  await ann.settled();
  assert.deepEqual(dropped, ['rejected']);
  // The todo now second is the third, not done: the value there went back (and the removal
  // shifted it), and the first todo was never touched.
  assert.equal(ann.getState().todos[1].id, 'c');
  assert.equal(ann.getState().todos[1].done, false);
  assert.ok(done.calls.length >= 1);
  assert.deepEqual(done.calls.at(-1)[1], ann.getState());
  assert.equal(first.calls.length, 0);
});

/** The value at `path` of `state`, or `undefined` when there is none. */
function at(state, path) {
  let here = state;
  for (const segment of path) {
    if (typeof here !== 'object' || here === null || !Object.hasOwn(here, segment)) return undefined;
    here = here[segment];
  }
  return here;
}

/** Concrete paths the random edits reach, as patterns and as paths. */
const WATCHED = ['/title', '/todos', '/todos/0', '/todos/1/done', '/todos/2/text', '/todos/3', '/todos/5/done', '/tags/x', '/tags/y'];

/**
 * Watches `doc`: every notification (the state before and after), and, in it, the calls of a
 * listener of the whole state (`""`) and of each watched path.
 */
function watch(doc) {
  const log = [];
  let before = doc.getState();
  doc.subscribe((state) => {
    log.push({ before, after: state, calls: new Map() });
    before = state;
  });
  for (const pattern of ['', ...WATCHED]) {
    doc.subscribePath(pattern, (patches, state) => {
      const last = log.at(-1);
      assert.equal(state, last.after, 'a path listener is called after the state listeners, with the same state');
      assert.ok(!last.calls.has(pattern), 'called once per change');
      last.calls.set(pattern, patches);
    });
  }
  return log;
}

/** One random edit of `doc` (`next(n)`: a random whole number below n). */
function randomEdit(doc, next, round) {
  const length = doc.getState().todos.length;
  const i = length === 0 ? 0 : next(length);
  switch (next(9)) {
    case 0:
      return doc.update((d) => {
        if (length > 0) d.todos[i].done = !d.todos[i].done;
      });
    case 1:
      return doc.update((d) => {
        if (length > 0) d.todos[i].text = `text ${round}`;
      });
    case 2:
      return doc.update((d) => {
        d.todos.splice(next(length + 1), 0, { id: `n${round}`, text: `new ${round}`, done: false });
      });
    case 3:
      return doc.update((d) => {
        if (length > 0) d.todos.splice(i, 1);
      });
    case 4:
      return doc.update((d) => {
        // A move: out of one place, into another.
        if (length > 1) d.todos.splice(next(length - 1), 0, ...d.todos.splice(i, 1));
      });
    case 5:
      return doc.update((d) => {
        d.title = `title ${round}`;
      });
    case 6:
      return doc.update((d) => {
        if (Object.hasOwn(d.tags, 'y')) delete d.tags.y;
        else d.tags.y = round;
        d.tags.x = next(3);
      });
    case 7:
      // Patches made elsewhere, as an undo's.
      return doc.updatePatches([{ op: 'replace', path: ['tags'], value: { x: round } }]);
    default:
      return doc.update((d) => {
        d.todos.reverse();
      });
  }
}

// The law checked, for each change of a client's state shown (each call of its `subscribe`
// listener, from `before` to `after`): the patches given to the `""` listener (all of the
// change's; none when it is not called) take `before` to `after`; each watched concrete path P
// is called exactly when some of those patches touch P, with those patches, in order; and when
// the value at P (compared as JSON) changed, P was called. So a listener is never called when
// neither its value changed nor a patch touched it, and never missed when its value changed.
test('random edits of three clients: a path listener is called exactly for the changes that touch it, and whenever its value changed', async () => {
  for (const seed of [1, 2, 3]) {
    const server = await board();
    const docs = [await open(server, 'ann'), await open(server, 'ann'), await open(server, 'bob')];
    const logs = docs.map(watch);
    const next = rng(seed);
    for (let round = 0; round < 60; round++) {
      const doc = docs[next(docs.length)];
      randomEdit(doc, next, round);
      // Now and then changes are held and answered together, moving the edits through each
      // other (some conflict and are taken back out); now and then they arrive.
      if (next(8) === 0 && !server.held.has('board')) server.hold('board');
      if (next(6) === 0) server.release('board');
      if (next(3) === 0) await new Promise((resolve) => setTimeout(resolve, next(3)));
    }
    server.release('board');
    await Promise.all(docs.map((doc) => doc.settled()));
    await waitFor(() => docs.every((doc) => doc.version === server.leaders.get('board').version), 'every client to catch up');
    for (const doc of docs) assert.deepEqual(doc.getState(), server.leaders.get('board').state);
    let changedAndCalled = 0;
    let touchedUnchanged = 0;
    for (const log of logs) {
      for (const { before, after, calls } of log) {
        const all = calls.get('') ?? [];
        assert.ok(deepEqual(applyWithInverse(before, all)[0], after), `the patches ${JSON.stringify(all)} take the state before to the one after`);
        for (const pattern of WATCHED) {
          const touching = all.filter((patch) => touches(pattern, patch));
          const called = calls.get(pattern);
          assert.deepEqual(called ?? [], touching, `${pattern}: called with the change's patches that touch it`);
          const path = fromPointer(pattern);
          const changed = !deepEqual(at(before, path), at(after, path));
          if (changed) {
            assert.ok(called !== undefined, `${pattern} changed from ${JSON.stringify(at(before, path))} to ${JSON.stringify(at(after, path))} by ${JSON.stringify(all)}: not called`);
            changedAndCalled++;
          } else if (called !== undefined) {
            touchedUnchanged++;
          }
        }
      }
    }
    // The run did both: listeners called for their value changing, and for a touch alone.
    assert.ok(changedAndCalled > 50, `${changedAndCalled} calls for a value that changed`);
    assert.ok(touchedUnchanged > 0, `${touchedUnchanged} calls for a touch alone`);
    for (const connection of connections) connection.disconnect();
    connections = [];
  }
});
