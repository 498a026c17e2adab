// The follower without a server: the Rust regression scenarios (tests/test_sync_scenarios.rs)
// driven message by message through a small leader (test/leader.js), the rules for the edits
// after one taken out of the queue, a seeded simulation, and the catch-up timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatches, enablePatches } from 'immer';
import { Follower } from '../follower.js';
import { Leader, wire } from './leader.js';
import { catchUp } from './catch_up.js';
import { rng } from './random.js';

enablePatches();

const item = (id) => ({ id, done: false });
const board = (ids) => ({ items: ids.map(item), meta: { title: 't' } });
const ids = (state) => state.items.map((i) => i.id);
const doneIds = (state) => state.items.filter((i) => i.done).map((i) => i.id);

function follower(leader) {
  return new Follower(leader.join());
}

/** The messages among `outs` for `f`. */
function forFollower(outs, f) {
  return outs.filter((o) => o.to === 'all' || o.to === f.session).map((o) => wire(o.message));
}

function deliver(f, outs) {
  for (const message of forFollower(outs, f)) f.receive(message);
}

/** Polls `from`, hands what it sends to the leader, and delivers every answer to `nodes`. */
function syncOne(leader, from, nodes) {
  for (const message of from.poll()) {
    const outs = leader.receive(from.session, wire(message));
    for (const n of nodes) deliver(n, outs);
  }
}

const changes = (messages) => messages.filter((m) => m.type === 'change');

/** Every outcome reported for edit `id`. */
const outcomes = (events, id) => events.filter((e) => (e.type === 'accepted' || e.type === 'dropped') && e.id === id);

/** Every `afterDropped` outcome, with the edit it names. */
const afterDropped = (events) =>
  events.filter((e) => e.type === 'dropped' && e.reason.kind === 'afterDropped').map((e) => [e.id, e.reason.id]);

/** The local state is the confirmed one with the pending edits applied. */
function assertLocal(f) {
  const rebuilt = f.pending.reduce((state, p) => applyPatches(state, p.patches), f.confirmed);
  assert.deepEqual(f.state, rebuilt, 'the local state is confirmed + pending');
}

test('a remove waiting across a snapshot never removes another item', () => {
  // Ann's state is [1, 2]. While her first edit is in flight, she removes item 1; Bob
  // meanwhile marks item 1 done and inserts item 3 after it, and the leader compacts.
  const leader = new Leader(board([1, 2]));
  const ann = follower(leader);
  const bob = follower(leader);
  ann.edit((d) => {
    d.meta.title = 'ann';
  });
  const inFlight = changes(ann.poll());
  assert.equal(ann.state.items[0].id, 1);
  ann.edit((d) => {
    d.items.splice(0, 1);
  });
  bob.edit((d) => {
    d.items[0].done = true;
  });
  bob.edit((d) => {
    d.items.splice(1, 0, item(3));
  });
  for (let n = 0; n < 3; n++) syncOne(leader, bob, [bob]);
  assert.deepEqual(ids(leader.state), [1, 3, 2]);
  leader.compact(leader.version);
  const snapshot = leader.receive(ann.session, { type: 'resync', version: ann.version });
  assert.deepEqual(snapshot.map((o) => o.message.type), ['snapshot']);
  deliver(ann, snapshot);
  // Her waiting remove shows on item 1 or nowhere.
  const local = ids(ann.state);
  assert.deepEqual(local.slice(-2), [3, 2], `after the snapshot, Ann's state is ${local}`);
  for (const m of inFlight) deliver(ann, leader.receive(ann.session, m));
  for (let n = 0; n < 4; n++) syncOne(leader, ann, [ann]);
  const events = ann.takeEvents();
  const [outcome, ...more] = outcomes(events, 2);
  assert.equal(more.length, 0, JSON.stringify(events));
  assert.deepEqual(ids(leader.state), outcome.type === 'accepted' ? [3, 2] : [1, 3, 2], JSON.stringify(events));
  assert.deepEqual(ann.state, leader.state);
  assert.ok(ann.isSettled);
});

test('a dropped edit leaves no trace in a later whole-list write', () => {
  // Ann, nothing sent yet: edit 1 marks item 1 done and retitles; edit 2 reverses the items
  // (as lists.js writes it, the remove and re-insert of item 1, made with item 1 done). Bob
  // replaces the meta first, so edit 1 conflicts and is dropped: its effect must be gone from
  // Ann's state at once, and never committed, edit 2 or not.
  const leader = new Leader(board([1, 2]));
  const ann = follower(leader);
  const bob = follower(leader);
  ann.edit((d) => {
    d.items[0].done = true;
    d.meta.title = 'ann';
  });
  ann.edit((d) => {
    d.items.reverse();
  });
  bob.edit((d) => {
    d.meta = { title: 'bob' };
  });
  syncOne(leader, bob, [ann, bob]);
  const events = ann.takeEvents();
  assert.equal(outcomes(events, 1)[0]?.type, 'dropped', JSON.stringify(events));
  assert.deepEqual(doneIds(ann.state), [], `edit 1 was reported dropped, yet Ann's state shows it: ${JSON.stringify(ann.state.items)}`);
  assertLocal(ann);
  for (let n = 0; n < 3; n++) syncOne(leader, ann, [ann, bob]);
  events.push(...ann.takeEvents());
  assert.equal(outcomes(events, 2).length, 1, JSON.stringify(events));
  let state = board([1, 2]);
  for (const committed of leader.log) {
    state = applyPatches(state, committed.patches);
    assert.deepEqual(doneIds(state), [], `Ann's dropped edit 1 is committed in version ${committed.version}`);
  }
  assert.deepEqual(ann.state, leader.state);
  assert.ok(ann.isSettled && bob.isSettled);
});

test('afterDropped never names an edit that is accepted', () => {
  // Ann's edit 1 commits, but its answer is lost; her edit 2 marks item 1 done, which Bob then
  // removes. A snapshot (after compaction) says edit 1 committed: edit 2 is dropped, and not as
  // made after a dropped edit 1.
  const leader = new Leader(board([1, 2]));
  const ann = follower(leader);
  const bob = follower(leader);
  ann.edit((d) => {
    d.items.reverse();
  });
  for (const m of changes(ann.poll())) leader.receive(ann.session, m); // the answer is lost
  ann.edit((d) => {
    d.items[1].done = true;
  });
  const target = ann.state.items[1].id;
  deliver(bob, leader.receive(bob.session, { type: 'resync', version: 0 }));
  const at = bob.state.items.findIndex((i) => i.id === target);
  bob.edit((d) => {
    d.items.splice(at, 1);
  });
  syncOne(leader, bob, [bob]);
  leader.compact(leader.version);
  deliver(ann, leader.receive(ann.session, { type: 'resync', version: ann.version }));
  for (let n = 0; n < 3; n++) syncOne(leader, ann, [ann, bob]);
  const events = ann.takeEvents();
  for (const [edit, named] of afterDropped(events)) {
    assert.equal(outcomes(events, named)[0]?.type, 'dropped', `edit ${edit} was dropped as made after edit ${named}`);
  }
  assert.deepEqual(outcomes(events, 1).map((e) => e.type), ['accepted'], JSON.stringify(events));
  assert.deepEqual(outcomes(events, 2).map((e) => e.type), ['dropped'], JSON.stringify(events));
  assert.deepEqual(doneIds(leader.state), []);
  assert.deepEqual(ann.state, leader.state);
  assert.ok(ann.isSettled);
});

test('an edit that carries the change in flight, which conflicts, goes for its reason and leaves no trace', () => {
  // Ann's edit 1 (item 1 done) is in flight; her edit 2 writes the whole list, item 1 done in
  // it. Bob's removal of item 1 commits first: edit 1 leaves the state and waits for the
  // leader's answer; edit 2 carries it, and is dropped for the same conflict, not as made
  // after an edit that is still undecided.
  const leader = new Leader(board([1, 2]));
  const ann = follower(leader);
  const bob = follower(leader);
  ann.edit((d) => {
    d.items[0].done = true;
  });
  const inFlight = changes(ann.poll());
  ann.edit((d) => {
    d.items = [...d.items].reverse();
  });
  assert.deepEqual(ann.pending[1].patches.map((p) => [p.op, p.path]), [['replace', ['items']]]);
  bob.edit((d) => {
    d.items.splice(0, 1);
  });
  syncOne(leader, bob, [ann, bob]);
  let events = ann.takeEvents();
  assert.deepEqual(outcomes(events, 1), [], 'the change in flight is undecided');
  const [second] = outcomes(events, 2);
  assert.equal(second?.reason?.kind, 'conflict', JSON.stringify(events));
  assert.deepEqual(second.reason.conflict.path, ['items', 0, 'done']);
  assert.deepEqual(ann.state, leader.state, 'neither edit shows');
  assert.equal(ann.pendingCount, 1);
  for (const m of inFlight) deliver(ann, leader.receive(ann.session, m));
  events = ann.takeEvents();
  assert.equal(outcomes(events, 1)[0]?.reason?.kind, 'rejected', JSON.stringify(events));
  assert.deepEqual(ann.state, leader.state);
  assert.ok(ann.isSettled);
});

test('an edit that carries the change in flight, committed in another form, goes as a conflict', () => {
  // The leader commits Ann's edit 1 in another form than hers (a whole item for its field):
  // her local form is taken out silently, and edit 2, which carries it, is dropped as a
  // conflict, never as made after edit 1, which is accepted.
  const ann = new Follower({ session: 1, version: 0, state: board([1, 2]) });
  ann.edit((d) => {
    d.items[0].done = true;
  });
  ann.poll();
  ann.edit((d) => {
    d.items = [...d.items].reverse();
  });
  const patches = [{ op: 'replace', path: ['items', 0], value: { id: 1, done: true } }];
  ann.receive({ type: 'committed', version: 1, session: 1, id: 1, patches });
  const events = ann.takeEvents();
  assert.deepEqual(outcomes(events, 1), [{ type: 'accepted', id: 1, version: 1 }]);
  assert.equal(outcomes(events, 2)[0]?.reason?.kind, 'conflict', JSON.stringify(events));
  assert.deepEqual(ann.state, applyPatches(board([1, 2]), patches));
  assert.ok(ann.isSettled);
});

test('a later edit lands on its item after an earlier one is dropped, and a run arrives at once', () => {
  // Ann removes item 2 and retitles in one edit; after Bob's insert of item 10 she marks it
  // done. Cat's replacement of the meta, with more of Bob's inserts, arrives in one run: edit
  // 1 conflicts, and edit 2, moved back through its inverse, still marks item 10.
  const leader = new Leader(board([1, 2, 3]));
  const ann = follower(leader);
  const bob = follower(leader);
  const cat = follower(leader);
  ann.edit((d) => {
    d.items.splice(1, 1);
    d.meta.title = 'ann';
  });
  bob.edit((d) => {
    d.items.splice(2, 0, item(10));
  });
  syncOne(leader, bob, [ann, bob, cat]);
  assert.equal(ann.state.items[1].id, 10);
  ann.edit((d) => {
    d.items[1].done = true;
  });
  cat.edit((d) => {
    d.meta = { title: 'cat' };
  });
  syncOne(leader, cat, [bob, cat]);
  for (let n = 0; n < 3; n++) {
    bob.edit((d) => {
      d.items.splice(0, 0, item(20 + n));
    });
    syncOne(leader, bob, [bob, cat]);
  }
  ann.receiveAll(forFollower(leader.receive(ann.session, { type: 'resync', version: ann.version }), ann));
  assert.equal(ann.version, leader.version);
  assert.deepEqual(doneIds(ann.state), [10]);
  assertLocal(ann);
  for (let n = 0; n < 3; n++) syncOne(leader, ann, [ann, bob, cat]);
  assert.deepEqual(doneIds(leader.state), [10]);
  const events = ann.takeEvents();
  assert.equal(outcomes(events, 1).length, 1);
  assert.deepEqual(outcomes(events, 2).map((e) => e.type), ['accepted']);
  assert.deepEqual(ann.state, leader.state);
});

/** A random edit of the board as a user makes it. */
function randomEdit(random, fresh) {
  const kind = random(100);
  const x = random(1000);
  const y = random(1000);
  return (d) => {
    const n = d.items.length;
    if (kind < 30 && n > 0) d.items[x % n].done = !d.items[x % n].done;
    else if (kind < 45) d.items.splice(x % (n + 1), 0, item(fresh()));
    else if (kind < 55 && n > 0) d.items.splice(x % n, 1);
    else if (kind < 65 && n > 1) {
      const [moved] = d.items.splice(x % n, 1);
      d.items.splice(y % n, 0, moved);
    } else if (kind < 72) d.items = [...d.items].reverse();
    else if (kind < 77) d.meta = { title: `whole ${x}` };
    else if (kind < 85 && n > 0) d.items[x % n] = item(fresh());
    else d.meta.title = `title ${x}`;
  };
}

test('a seeded simulation: messages lost, batched and late; every edit one outcome; all converge', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const random = rng(seed);
    let next = 100;
    const fresh = () => next++;
    const leader = new Leader(board([1, 2, 3, 4, 5]));
    const nodes = [0, 1, 2].map(() => ({ f: new Follower(leader.join(), { batch: 1 + random(3) }), inbox: [], made: [], events: [] }));
    const post = (outs) => {
      for (const node of nodes) node.inbox.push(...forFollower(outs, node.f));
    };
    const check = (node) => {
      assertLocal(node.f);
      node.events.push(...node.f.takeEvents());
    };
    for (let step = 0; step < 300; step++) {
      const node = nodes[random(nodes.length)];
      const action = random(10);
      if (action < 4) {
        const id = node.f.edit(randomEdit(random, fresh));
        if (id !== undefined) node.made.push(id);
      } else if (action < 6) {
        for (const message of node.f.poll()) {
          if (random(10) === 0) continue; // lost on the way
          post(leader.receive(node.f.session, wire(message)));
        }
      } else if (action < 9 && node.inbox.length > 0) {
        // What has arrived, some of it lost, late or duplicated, handed over at once or one by one.
        const count = 1 + random(node.inbox.length);
        const arrived = node.inbox.splice(0, count).filter(() => random(10) !== 0);
        if (arrived.length > 1 && random(3) === 0) arrived.reverse();
        if (arrived.length > 0 && random(10) === 0) arrived.push(arrived[0]);
        if (random(2) === 0) node.f.receiveAll(arrived);
        else for (const message of arrived) node.f.receive(message);
        check(node);
      } else if (action === 9 && random(4) === 0) {
        leader.compact(leader.version - random(3));
      }
    }
    // The network heals.
    for (let round = 0; round < 50 && !nodes.every((n) => n.f.isSettled && n.f.version === leader.version); round++) {
      for (const node of nodes) {
        for (const message of node.f.poll()) post(leader.receive(node.f.session, wire(message)));
      }
      for (const node of nodes) {
        node.f.receiveAll(node.inbox.splice(0));
        check(node);
      }
    }
    for (const [n, node] of nodes.entries()) {
      const context = `seed ${seed}, node ${n}`;
      assert.ok(node.f.isSettled, `${context}: settled`);
      assert.deepEqual(node.f.state, leader.state, `${context}: converged`);
      for (const id of node.made) {
        const reported = outcomes(node.events, id);
        assert.equal(reported.length, 1, `${context}: edit ${id} has one outcome: ${JSON.stringify(reported)}`);
        if (reported[0].type === 'accepted') {
          const committed = leader.log.find((c) => c.version === reported[0].version);
          if (committed !== undefined) assert.equal(committed.session, node.f.session, `${context}: edit ${id} is in the log`);
        }
      }
      for (const [edit, named] of afterDropped(node.events)) {
        assert.equal(outcomes(node.events, named)[0]?.type, 'dropped', `${context}: edit ${edit} names edit ${named}`);
      }
    }
  }
});

test('a follower 2,000 changes behind with 200 pending edits on a 10,000-item board catches up (timing printed)', (t) => {
  const figures = catchUp(Follower);
  // A figure to read, not a bound: `node test/catch_up.js path/to/follower.js` compares versions.
  t.diagnostic(
    `receiveAll of ${figures.behind} changes with ${figures.pending} pending edits on ${figures.items} items: ` +
      `${figures.ms.toFixed(1)} ms (${figures.dropped} edits dropped; floor, the run applied once: ${figures.floor.toFixed(1)} ms)`,
  );
});
