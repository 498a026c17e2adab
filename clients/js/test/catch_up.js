// A follower far behind catches up: 2,000 committed changes of another session reach a
// follower with 200 pending edits (one of them in flight) on a board of 10,000 todos, all at
// once, as a resync answers. The edits are a typical mix (45% ticks, 35% renames, 10%
// appends, 5% inserts and 5% removals at a random place), the same in every run.
//
//   node test/catch_up.js [path/to/follower.js]
//
// prints the time `receiveAll` takes (or `receive` of each message, for a follower without
// it: to compare with an earlier version of follower.js), beside the floor: Immer's
// `applyPatches` of the same run, once, to the state, which any replica pays whatever it does
// about pending edits (an insert or removal in the middle of a list is a `splice` of a draft,
// one proxied write per element it shifts).
import { applyPatches, enablePatches, produceWithPatches } from 'immer';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import { listPatches } from '../lists.js';
import { rng } from './random.js';

enablePatches();

const todo = (id) => ({ id, text: `todo ${id}`, done: false, tags: ['a', 'b'] });
const board = (n) => ({ title: 'board', todos: Array.from({ length: n }, (_, i) => todo(i)) });

/** One random edit of `state` as a user makes it. */
function randomEdit(random, state, id) {
  const at = random(state.todos.length);
  const kind = random(100);
  return (d) => {
    if (kind < 45) d.todos[at].done = true;
    else if (kind < 80) d.todos[at].text = `renamed ${id}`;
    else if (kind < 90) d.todos.push(todo(id));
    else if (kind < 95) d.todos.splice(at, 0, todo(id));
    else d.todos.splice(at, 1);
  };
}

/**
 * Runs the catch-up with `FollowerClass` and checks what it left: the confirmed state is the
 * server's, and the local state the confirmed one with the pending edits.
 *
 * @returns {{ ms: number, floor: number, dropped: number, items: number, behind: number, pending: number }}
 */
export function catchUp(FollowerClass, { items = 10_000, behind = 2_000, pending = 200 } = {}) {
  // The server's log: another session's changes, as they come over the wire.
  const random = rng(0x9e3779b9);
  let server = board(items);
  const messages = [];
  for (let version = 1; version <= behind; version++) {
    const [next, patches] = produceWithPatches(server, randomEdit(random, server, 1_000_000 + version));
    messages.push({ type: 'committed', version, session: 2, id: version, patches: listPatches(server, next, patches) });
    server = next;
  }
  const wire = JSON.parse(JSON.stringify(messages));

  const plain = board(items);
  let start = performance.now();
  applyPatches(plain, wire.flatMap((m) => m.patches));
  const floor = performance.now() - start;

  const ann = new FollowerClass({ session: 1, version: 0, state: board(items) });
  const mine = rng(0xd1b54a32);
  for (let n = 0; n < pending; n++) ann.edit(randomEdit(mine, ann.state, 2_000_000 + n));
  ann.poll(); // the change in flight, sent before Ann went away

  start = performance.now();
  if (typeof ann.receiveAll === 'function') ann.receiveAll(wire);
  else for (const message of wire) ann.receive(message);
  const ms = performance.now() - start;

  if (ann.version !== behind) throw new Error(`caught up to ${ann.version}, not ${behind}`);
  if (!isDeepStrictEqual(ann.confirmed, server)) throw new Error("the confirmed state is not the server's");
  const rebuilt = ann.pending.reduce((state, p) => applyPatches(state, p.patches), ann.confirmed);
  if (!isDeepStrictEqual(ann.state, rebuilt)) throw new Error('the local state is not confirmed + pending');
  return { ms, floor, dropped: pending - ann.pendingCount, items, behind, pending };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const module = process.argv[2] === undefined ? '../follower.js' : pathToFileURL(process.argv[2]).href;
  const { Follower } = await import(module);
  const f = catchUp(Follower);
  console.log(
    `${f.behind} changes behind, ${f.pending} pending edits, ${f.items} items: ${f.ms.toFixed(1)} ms ` +
      `(${f.dropped} edits dropped; floor, the run applied once: ${f.floor.toFixed(1)} ms)`,
  );
}
