// One undo manager, two languages, the same answers. tests/test_undo_vectors.rs records seeded
// runs of the Rust crate's `immer::sync::UndoManager` (two users editing, undoing and redoing
// one board, with delayed delivery, batching and a validator that refuses some undos) and
// writes test/vectors/undo.json: for each user, the welcome it started from and each step (an
// edit as patches with its time and metadata, an undo or redo with what it answered, an end of
// step, a poll, the server's messages handed over together), with the stacks' sizes, the
// refusals and the state after it. `undo.js`, on a document of `index.js`, replays every run
// and must answer exactly as the Rust manager did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Follower, SharedDocument } from '../index.js';
import { UndoManager } from '../undo.js';
import { mismatch, readTypes } from './types.js';

const { traces } = JSON.parse(readFileSync(new URL('./vectors/undo.json', import.meta.url), 'utf8'));
const types = readTypes(new URL('../index.d.ts', import.meta.url));

/** A value as it goes on the wire (no `undefined` members). */
const plain = (value) => JSON.parse(JSON.stringify(value));

/** A document whose messages go nowhere: the replay polls its follower as the run did. */
class Replay extends SharedDocument {
  send() {}
}

/** The first difference between what undo.js did and what the run says. */
function replay(trace) {
  const doc = new Replay({ batch: trace.batch });
  doc.follower = new Follower(structuredClone(trace.start), { batch: trace.batch });
  let now = 0;
  const undo = new UndoManager(doc, { window: trace.window, clock: () => now });
  let state = trace.start.state;
  for (const [n, step] of trace.steps.entries()) {
    const at = `seed ${trace.seed}, user ${trace.user}, step ${n}`;
    const differ = (what, got, expected) => {
      try {
        assert.deepStrictEqual(got, expected);
        return null;
      } catch {
        return `${at} (${Object.keys(step)[0]}): ${what} differ\n  step:     ${JSON.stringify(step).slice(0, 2000)}\n  expected: ${JSON.stringify(expected)}\n  got:      ${JSON.stringify(got)}`;
      }
    };
    let why = null;
    if ('edit' in step) {
      now = step.at;
      const options = step.metadata === null ? {} : { metadata: step.metadata };
      why = differ('the edit ids', undo.updatePatches(structuredClone(step.edit), options), step.id);
    } else if ('undo' in step) {
      why = differ('the undos', plain(undo.undo()), step.undo);
    } else if ('redo' in step) {
      why = differ('the redos', plain(undo.redo()), step.redo);
    } else if ('endStep' in step) {
      undo.endStep();
    } else if ('poll' in step) {
      why = differ('the messages sent', plain(doc.follower.poll()), step.poll);
    } else {
      doc.inbox.push(...structuredClone(step.receive));
      doc.drain();
    }
    if ('state' in step) state = step.state;
    why ??= differ('the undo stacks', undo.undoLength, step.undo_len);
    why ??= differ('the redo stacks', undo.redoLength, step.redo_len);
    why ??= differ('the refusals', plain(undo.takeRefused()), step.refused);
    why ??= differ('the states', plain(doc.getState()), state);
    if (why !== null) return { why, steps: n };
  }
  return { why: null, steps: trace.steps.length };
}

test('the runs are there, with every kind of step and answer', () => {
  assert.ok(traces.length >= 100, `${traces.length} runs`);
  const steps = traces.flatMap((t) => t.steps);
  for (const kind of ['edit', 'undo', 'redo', 'endStep', 'poll', 'receive']) {
    assert.ok(steps.some((s) => kind in s), `no ${kind} step`);
  }
  const answers = steps.flatMap((s) => [s.undo, s.redo]).filter((a) => a !== undefined);
  assert.ok(answers.some((a) => a.ok) && answers.some((a) => !a.ok), 'undos done and not');
  const reasons = new Set(answers.flatMap((a) => a.skipped.map((s) => s.reason.kind)));
  for (const kind of ['conflict', 'nothingLeft']) assert.ok(reasons.has(kind), `no ${kind} skip`);
  assert.ok(steps.some((s) => s.refused.length > 0), 'no refusal');
  assert.ok(steps.some((s) => s.edit !== undefined && s.metadata !== null), 'no metadata');
});

test('undo.js answers every run as the Rust undo manager did', (t) => {
  const failures = [];
  let steps = 0;
  for (const trace of traces) {
    const replayed = replay(trace);
    steps += replayed.steps;
    if (replayed.why !== null) failures.push(replayed.why);
  }
  t.diagnostic(`${traces.length} runs, ${steps} steps checked`);
  for (const why of failures.slice(0, 3)) console.error(why);
  assert.equal(failures.length, 0, `${failures.length} of ${traces.length} runs differ`);
});

test('every answer and refusal of the runs is of its type in index.d.ts, key for key', () => {
  for (const trace of traces) {
    for (const step of trace.steps) {
      for (const answer of [step.undo, step.redo].filter((a) => a !== undefined)) {
        assert.equal(mismatch(types, answer, 'UndoOutcome'), null, JSON.stringify(answer));
      }
      for (const refused of step.refused) assert.equal(mismatch(types, refused, 'Refused'), null, JSON.stringify(refused));
    }
  }
});

test('an undo through a store: moved past what another user inserted, and a new edit clears the redo stack', () => {
  const doc = new Replay({ batch: 1 });
  doc.follower = new Follower({ session: 1, version: 0, state: { todos: ['a', 'b'] } });
  const undo = new UndoManager(doc, { window: 0 });
  const id = undo.update((draft) => { draft.todos.push('mine'); }, { metadata: { cursor: 2 } });
  doc.follower.poll();
  doc.inbox.push(
    { type: 'committed', version: 1, client: 0, session: 9, id: 1, patches: [{ op: 'add', path: ['todos', 0], value: 'theirs' }] },
    { type: 'committed', version: 2, client: 0, session: 1, id, patches: [{ op: 'add', path: ['todos', 3], value: 'mine' }] },
  );
  doc.drain();
  assert.deepEqual(doc.getState().todos, ['theirs', 'a', 'b', 'mine']);
  const undone = undo.undo();
  assert.deepEqual(plain(undone), { ok: true, edit: 2, metadata: { cursor: 2 }, skipped: [] });
  assert.deepEqual(doc.getState().todos, ['theirs', 'a', 'b']);
  assert.equal(undo.redoLength, 1);
  doc.update((draft) => { draft.todos.push('new'); });
  assert.equal(undo.redoLength, 0);
  assert.equal(undo.undoLength, 1);
  assert.deepEqual(plain(undo.redo()), { ok: false, skipped: [] });
});
