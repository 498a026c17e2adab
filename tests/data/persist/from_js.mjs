// The saved-follower fixtures, both ways between the JavaScript client and the Rust crate
// (tests/test_persist.rs reads from_js.json and writes from_rust.json).
//
//   node tests/data/persist/from_js.mjs           checks both (run after `npm ci` in clients/js)
//   node tests/data/persist/from_js.mjs --write   rewrites from_js.json
//
// from_js.json: a JavaScript follower of a board (batch 3) saved with a change in flight, two
// edits waiting and a committed change of another session that arrived early, with the state
// it shows, its version, its pending count and what it sends next; Rust restores it and must
// show and send the same. from_rust.json: the same from a Rust follower, which the JavaScript
// client must restore to the same state, count and messages.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Follower } from '../../../clients/js/follower.js';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));

const board = {
  title: 'board',
  todos: [0, 1, 2].map((n) => ({ id: `t${n}`, text: `todo ${n}`, done: false })),
};
const follower = new Follower({ session: 3, version: 2, state: board }, { batch: 3 });
follower.edit((d) => { d.todos.splice(1, 0, { id: 'sent', text: 'text of sent', done: false }); });
follower.poll(); // the change in flight
follower.edit((d) => { d.todos[2].done = true; });
follower.edit((d) => { d.title = 'title renamed'; });
// Another session's change, version 4: early (version 3 has not arrived).
follower.receive({
  type: 'committed', version: 4, client: 0, session: 9, id: 1,
  patches: [{ op: 'add', path: ['todos', 0], value: { id: 'bob', text: 'text of bob', done: false } }],
});
const saved = JSON.parse(JSON.stringify(follower.save()));
const body = {
  saved,
  state: follower.state,
  version: follower.version,
  pendingCount: follower.pendingCount,
  poll: follower.poll(),
};
const about = 'A JavaScript follower\'s save (Follower.save), with the state it shows, its version, its '
  + 'pending count and what it sends next: tests/data/persist/from_js.mjs writes it, '
  + 'tests/test_persist.rs restores it in Rust.';
const text = `${JSON.stringify({ about, follower: body })}\n`;
if (process.argv.includes('--write')) {
  writeFileSync(here('from_js.json'), text);
} else {
  assert.equal(readFileSync(here('from_js.json'), 'utf8'), text, 'from_js.json is stale: --write');
}

const rust = JSON.parse(readFileSync(here('from_rust.json'), 'utf8')).follower;
const restored = Follower.restore(rust.saved);
assert.deepEqual(restored.state, rust.state);
assert.equal(restored.version, rust.version);
assert.equal(restored.pendingCount, rust.pendingCount);
assert.deepEqual(restored.poll(), rust.poll);
console.log('from_js.json and from_rust.json: both ways the same');
