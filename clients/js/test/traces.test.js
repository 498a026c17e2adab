// One follower, two languages, the same answers. The Rust tests write traces of
// `immer::sync::Follower` in a seeded simulation with lost, duplicated, late and reordered
// messages, crashes, snapshots and refusals (immer-web/tests/test_follower_traces.rs writes
// test/vectors/follower.json): for each life of each follower, the welcome it started from and
// each step (an edit, as the patches its recipe made; a poll; messages received together, as
// the server sends them), with the events, version, waiting edits and state after it.
// `follower.js` replays every trace and must answer exactly as the Rust follower did: the same
// events field for field, the same messages sent, the same states. Every message, event and
// reason in the traces is also checked against the types of index.d.ts, key for key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Follower } from '../follower.js';
import { mismatch, readTypes } from './types.js';

const { traces } = JSON.parse(readFileSync(new URL('./vectors/follower.json', import.meta.url), 'utf8'));
const types = readTypes(new URL('../index.d.ts', import.meta.url));

/** A value as it goes on the wire (no `undefined` members). */
const plain = (value) => JSON.parse(JSON.stringify(value));

/** The follower `save` gives, through JSON and back (as a page keeps it across a reload). */
function reloaded(follower) {
  const saved = JSON.parse(JSON.stringify(follower.save()));
  assert.equal(mismatch(types, saved, 'SavedFollower'), null, 'a saved follower is a SavedFollower of index.d.ts');
  const again = Follower.restore(structuredClone(saved));
  assert.deepStrictEqual(JSON.parse(JSON.stringify(again.save())), saved, 'a restored follower saves as it was saved');
  return again;
}

/**
 * The first difference between what the JavaScript follower did and what the trace says;
 * before step `n`, the follower is replaced by `swap(follower, n)` (by default, itself).
 */
function replay(trace, swap = (follower) => follower) {
  const { start, batch } = trace;
  let follower = new Follower(
    { session: start.session, version: start.version, state: structuredClone(start.state) },
    { batch },
  );
  let state = start.state;
  let events = 0;
  for (const [n, step] of trace.steps.entries()) {
    follower = swap(follower, n);
    const at = `seed ${trace.seed}, node ${trace.node}, session ${start.session}, step ${n}`;
    const differ = (what, got, expected) => {
      try {
        assert.deepStrictEqual(got, expected);
        return null;
      } catch {
        return `${at} (${Object.keys(step)[0]}): ${what} differ\n  step:     ${JSON.stringify(step)}\n  expected: ${JSON.stringify(expected)}\n  got:      ${JSON.stringify(got)}`;
      }
    };
    let why = null;
    if ('edit' in step) {
      why = differ('the edit ids', follower.editPatches(structuredClone(step.edit)), step.id);
    } else if ('poll' in step) {
      why = differ('the messages sent', plain(follower.poll()), step.poll);
    } else {
      follower.receiveAll(structuredClone(step.receive));
    }
    if ('state' in step) state = step.state;
    why ??= differ('the events', plain(follower.takeEvents()), step.events);
    why ??= differ('the versions', follower.version, step.version);
    why ??= differ('the edits waiting', follower.pendingCount, step.pending);
    why ??= differ('whether settled', follower.isSettled, step.settled);
    why ??= differ('the states', plain(follower.state), state);
    if (why !== null) return { why, steps: n, events };
    events += step.events.length;
  }
  return { why: null, steps: trace.steps.length, events };
}

test('the traces are there, with every kind of step, event and reason', () => {
  assert.ok(traces.length >= 40, `${traces.length} traces`);
  const steps = traces.flatMap((t) => t.steps);
  for (const kind of ['edit', 'poll', 'receive']) assert.ok(steps.some((s) => kind in s), `no ${kind} step`);
  const events = steps.flatMap((s) => s.events);
  for (const type of ['applied', 'accepted', 'dropped']) {
    assert.ok(events.some((e) => e.type === type), `no ${type} event`);
  }
  for (const kind of ['rejected', 'conflict', 'afterDropped']) {
    assert.ok(events.some((e) => e.reason?.kind === kind), `no ${kind} reason`);
  }
  const received = steps.flatMap((s) => s.receive ?? []);
  for (const type of ['committed', 'rejected', 'snapshot']) {
    assert.ok(received.some((m) => m.type === type), `no ${type} message`);
  }
  assert.ok(received.some((m) => m.type === 'snapshot' && m.answered !== null), 'no snapshot that answers');
});

test('follower.js answers every trace as the Rust follower did', (t) => {
  const failures = [];
  let steps = 0;
  let events = 0;
  for (const trace of traces) {
    const replayed = replay(trace);
    steps += replayed.steps;
    events += replayed.events;
    if (replayed.why !== null) failures.push(replayed.why);
  }
  t.diagnostic(`${traces.length} traces, ${steps} steps, ${events} events checked`);
  for (const why of failures.slice(0, 3)) console.error(why);
  assert.equal(failures.length, 0, `${failures.length} of ${traces.length} traces differ`);
});

test('a follower saved and restored before every step of every trace answers as the Rust one did', (t) => {
  const failures = [];
  let steps = 0;
  for (const trace of traces) {
    const replayed = replay(trace, reloaded);
    steps += replayed.steps;
    if (replayed.why !== null) failures.push(replayed.why);
  }
  t.diagnostic(`${traces.length} traces, ${steps} steps, each after a save and restore`);
  for (const why of failures.slice(0, 3)) console.error(why);
  assert.equal(failures.length, 0, `${failures.length} of ${traces.length} traces differ`);
});

test('a follower restored at any one step of a trace goes on as the one never saved', (t) => {
  // Each step of every ninth trace: the follower there is restored once, and the rest of the
  // trace is replayed from it (the step-by-step replay above restores at every step in a row).
  const failures = [];
  let forks = 0;
  for (const trace of traces.filter((_, i) => i % 9 === 0)) {
    for (let at = 0; at < trace.steps.length; at++) {
      const replayed = replay(trace, (follower, n) => (n === at ? reloaded(follower) : follower));
      forks++;
      if (replayed.why !== null) failures.push(`restored before step ${at}: ${replayed.why}`);
    }
  }
  t.diagnostic(`${forks} restores, each followed to the end of its trace`);
  for (const why of failures.slice(0, 3)) console.error(why);
  assert.equal(failures.length, 0, `${failures.length} of ${forks} restores differ`);
});

test('a value that is not a saved follower is refused with a reason', () => {
  assert.throws(() => Follower.restore(null), /not a saved follower of format 1/);
  assert.throws(() => Follower.restore({ format: 2 }), /not a saved follower of format 1/);
  const saved = new Follower({ session: 1, version: 0, state: {} }).save();
  assert.throws(() => Follower.restore({ ...saved, version: '3' }), /`version` is an integer, not "3"/);
  assert.throws(() => Follower.restore({ ...saved, pending: null }), /a list of `pending` edits/);
});

test("every message, event and reason of the traces is of its type in index.d.ts, key for key", (t) => {
  /** @type {Map<string, number>} how many values of each tag were checked */
  const checked = new Map();
  const check = (value, type, where) => {
    const why = mismatch(types, value, type);
    assert.equal(why, null, `${where}: ${JSON.stringify(value)} is not a ${type}: ${why}`);
    const tag = [value.type, value.reason?.kind, Object.keys(value.reason?.reason ?? {})[0]].filter(Boolean).join(' ');
    checked.set(`${type} ${tag}`, (checked.get(`${type} ${tag}`) ?? 0) + 1);
  };
  for (const trace of traces) {
    const where = `seed ${trace.seed}, node ${trace.node}`;
    check(trace.start, 'ServerMessage', where);
    for (const step of trace.steps) {
      for (const patch of step.edit ?? []) check(patch, 'Patch', where);
      for (const message of step.poll ?? []) check(message, 'ClientMessage', where);
      for (const message of step.receive ?? []) check(message, 'ServerMessage', where);
      for (const event of step.events) check(event, 'FollowerEvent', where);
    }
  }
  t.diagnostic([...checked].map(([tag, n]) => `${tag}: ${n}`).join(', '));
});

test('the type reader catches a shape that drifts', () => {
  // The shapes as they were before the Rust types were made the one definition.
  assert.notEqual(mismatch(types, { type: 'dropped', id: 1, reason: { kind: 'doesNotApply', message: 'x' } }, 'FollowerEvent'), null);
  assert.notEqual(mismatch(types, { Dropped: { change_id: 1, reason: { AfterDropped: { change_id: 1 } } } }, 'FollowerEvent'), null);
  assert.notEqual(mismatch(types, { type: 'committed', version: 1, session: 1, id: 1, patches: [] }, 'ServerMessage'), null);
  assert.notEqual(
    mismatch(types, { type: 'snapshot', version: 1, state: {}, answered: { id: 1, outcome: { Committed: { version: 1 } } } }, 'ServerMessage'),
    null,
  );
  assert.equal(mismatch(types, { type: 'snapshot', version: 1, state: {}, answered: { id: 1, committed: 1 } }, 'ServerMessage'), null);
});
