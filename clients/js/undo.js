// Undo and redo of one user's own edits, in a document others edit too: a port of the Rust
// crate's `immer::sync::UndoManager`, held to it by shared vectors (test/undo.test.js replays
// the runs tests/test_undo_vectors.rs records, and must give the same outcomes, the same
// refusals and the same states).
//
//   import { UndoManager } from 'immer-rs-client/undo';
//   const undo = new UndoManager(store, { window: 500 });
//   undo.update((draft) => { draft.todos[0].done = true; }, { metadata: selection });
//   const result = undo.undo();   // { ok: true, edit, metadata, skipped } or { ok: false, skipped }
//   undo.on('refused', ({ edit, action, reason, metadata }) => show(reason));
//
// - Steps: edits made within `window` ms of the one before are one step; `endStep()`, `undo()`
//   and `redo()` end the step being made. A step carries the metadata given with its first
//   edit (a selection to restore), handed back when it is undone or redone. Every edit of the
//   document counts (`store.update` as well as `undo.update`).
// - An undo reverts the newest step: its edits' exact inverse, moved with `revertThrough`
//   through every change after them in the document's order (the committed log, then the
//   edits that wait for the server). A later write of the same value stands; a step whose
//   target a later change removed or replaced, or inside which another user wrote since, is
//   skipped with a reason (never applied elsewhere), and the next one is tried. A step undone
//   and its undo cancel out: the changes between them are moved back through the step's
//   inverse before an older step is moved through them.
// - An undo is an ordinary edit: the server authorizes and validates it, and may refuse it.
//   A refused undo or redo is reported (`refused` event, `takeRefused()`), and its step goes
//   back onto the stack it was taken from (a redo's only if no edit cleared that stack since).
// - An edit clears the redo stack; edits the server dropped leave their steps. After a
//   snapshot that skipped changes, the steps with an edit already committed are forgotten; a
//   new session (the store's follower replaced) forgets every step.

import { applyWithInverse } from './follower.js';
import { AFTER_DROPPED, Through, revertThrough } from './transform.js';

/**
 * @typedef {import('./index.js').Patch} Patch
 * @typedef {import('./index.js').UndoOutcome} UndoOutcome
 * @typedef {import('./index.js').SkipReason} SkipReason
 * @typedef {import('./index.js').Refused} Refused
 * @typedef {{ edits: number[], metadata: unknown }} Step
 * @typedef {{ ids: number[], patches: Patch[], version: number | null, author: string | null }} Unit
 *   a change in the document's order: the own edits it holds (none for another user's), its
 *   patches, and, once committed, its version and author
 */

/** An undo manager for one user of one document (a `Store` or a `DocumentHandle`). */
export class UndoManager {
  /**
   * @param {import('./index.js').SharedDocument} doc
   * @param {{ window?: number, clock?: () => number, limit?: number }} [options] `window`: ms
   *   within which an edit joins the step before (500); `clock`: the time in ms (`Date.now`);
   *   `limit`: the most steps the undo stack keeps (100)
   */
  constructor(doc, options = {}) {
    this.doc = doc;
    this.window = options.window ?? 500;
    this.clock = options.clock ?? (() => Date.now());
    this.limit = Math.max(1, options.limit ?? 100);
    /** @type {Map<string, Set<(event: any) => void>>} */
    this.handlers = new Map();
    this.reset();
    this.offs = [
      doc.on('edit', ({ id, patches }) => this.edited(id, patches)),
      doc.on('received', ({ messages }) => {
        this.sync();
        this.receivedMessages(messages);
      }),
      doc.on('accepted', ({ id, version }) => this.acceptedEdit(id, version)),
      doc.on('dropped', ({ id, reason }) => this.droppedEdit(id, reason)),
    ];
  }

  /** Forgets everything: a new follower (session), or none yet. */
  reset() {
    this.follower = this.doc.follower;
    /** @type {Step[]} oldest first */
    this.undoStack = [];
    /** @type {Step[]} oldest first */
    this.redoStack = [];
    this.open = false;
    this.lastEdit = 0;
    this.epoch = 0;
    /** @type {Map<number, number>} each own edit's patch count as made */
    this.edits = new Map();
    /** @type {Set<number>} own edits not yet accepted or dropped */
    this.unanswered = new Set();
    /** @type {Map<number, number[]>} each undo or redo edit, and the edits it reverted */
    this.reverts = new Map();
    /** @type {Map<number, { kind: 'undo' | 'redo', origin: Step, epoch: number }>} */
    this.actions = new Map();
    /** The confirmed state at `baseVersion`, held while a step needs it. */
    this.base = undefined;
    this.hasBase = false;
    this.baseVersion = this.follower?.version ?? 0;
    /** @type {Unit[]} the committed changes after `baseVersion` */
    this.log = [];
    /** @type {Map<number, any>} committed changes received and not yet in the log */
    this.early = new Map();
    /** @type {Map<number, number[]>} own edits accepted at each version not yet in the log */
    this.accepted = new Map();
    /** @type {Refused[]} */
    this.refused = [];
    this.nextMetadata = undefined;
    this.reverting = false;
  }

  /** Stops following the document. */
  detach() {
    for (const off of this.offs) off();
    this.offs = [];
  }

  /** How many steps `undo` may revert (some may be skipped). */
  get undoLength() {
    return this.undoStack.length;
  }

  /** How many steps `redo` may revert (some may be skipped). */
  get redoLength() {
    return this.redoStack.length;
  }

  /**
   * Edits the document with an Immer recipe (`doc.update`), with metadata for the step: kept
   * when the edit begins a step, ignored when it joins one.
   *
   * @param {(draft: any) => any} recipe
   * @param {{ metadata?: unknown }} [options]
   * @returns {number | undefined} the edit's id
   */
  update(recipe, options = {}) {
    return this.withMetadata(options.metadata, () => this.doc.update(recipe));
  }

  /**
   * Edits the document with patches made against its state (`doc.updatePatches`), recorded
   * as `update` records an edit.
   *
   * @param {readonly Patch[]} patches
   * @param {{ metadata?: unknown }} [options]
   * @returns {number | undefined} the edit's id
   */
  updatePatches(patches, options = {}) {
    return this.withMetadata(options.metadata, () => this.doc.updatePatches(patches));
  }

  withMetadata(metadata, edit) {
    this.nextMetadata = metadata;
    try {
      return edit();
    } finally {
      this.nextMetadata = undefined;
    }
  }

  /** Ends the step being made: the next edit begins a new one, however soon it comes. */
  endStep() {
    this.open = false;
  }

  /**
   * Reverts the newest step that can be: its revert is edited into the state at once and sent
   * to the server; the step moves to the redo stack. Newer steps whose revert would land
   * elsewhere or do nothing are skipped (and gone), and listed.
   *
   * @returns {UndoOutcome}
   */
  undo() {
    return this.revertTop('undo');
  }

  /**
   * Reverts the newest undo that can be, as `undo` reverts a step; the step goes back onto the
   * undo stack.
   *
   * @returns {UndoOutcome}
   */
  redo() {
    return this.revertTop('redo');
  }

  /** @returns {Refused[]} the undo and redo edits refused since the last call */
  takeRefused() {
    const refused = this.refused;
    this.refused = [];
    return refused;
  }

  /**
   * Listens for `refused` ({ edit, action, reason, metadata }): an undo or redo edit the
   * server refused (or dropped for a conflict).
   *
   * @param {'refused'} type
   * @param {(event: Refused) => void} handler
   * @returns {() => void} stops listening
   */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type)?.delete(handler);
  }

  /** An edit of the document (its hook): recorded unless it is this manager's undo or redo. */
  edited(id, patches) {
    if (this.reverting || id === undefined) return;
    this.sync();
    this.record(id, patches.length, this.nextMetadata);
  }

  record(id, count, metadata) {
    this.edits.set(id, count);
    this.unanswered.add(id);
    if (!this.hasBase) {
      this.base = this.follower.confirmed;
      this.hasBase = true;
      this.baseVersion = this.follower.version;
    }
    if (this.redoStack.length > 0) {
      this.redoStack = [];
      this.epoch++;
    }
    const now = this.clock();
    const joins = this.open && Math.max(0, now - this.lastEdit) < this.window;
    const top = this.undoStack[this.undoStack.length - 1];
    if (joins && top !== undefined) {
      top.edits.push(id);
    } else {
      this.undoStack.push({ edits: [id], metadata: metadata ?? null });
      if (this.undoStack.length > this.limit) this.undoStack.shift();
    }
    this.open = true;
    this.lastEdit = now;
  }

  revertTop(action) {
    this.sync();
    this.open = false;
    const skipped = [];
    const stack = action === 'undo' ? this.undoStack : this.redoStack;
    for (;;) {
      const step = stack.pop();
      if (step === undefined) {
        this.compact();
        return { ok: false, skipped };
      }
      let outcome = this.revert(step);
      let id;
      if (outcome.ok) {
        try {
          this.reverting = true;
          id = this.doc.updatePatches(outcome.revert);
          if (id === undefined) outcome = { ok: false, reason: { kind: 'nothingLeft' } };
        } catch (error) {
          outcome = { ok: false, reason: doesNotApply(error) };
        } finally {
          this.reverting = false;
        }
      }
      if (!outcome.ok) {
        skipped.push({ metadata: step.metadata, reason: outcome.reason });
        continue;
      }
      this.edits.set(id, outcome.revert.length);
      this.unanswered.add(id);
      this.reverts.set(id, step.edits.slice());
      const next = { edits: [id], metadata: step.metadata };
      if (action === 'undo') this.redoStack.push(next);
      else this.undoStack.push(next);
      this.actions.set(id, { kind: action, origin: step, epoch: this.epoch });
      this.compact();
      return { ok: true, edit: id, metadata: step.metadata, skipped };
    }
  }

  /**
   * The patches that revert `step`, applying to the follower's state.
   *
   * @param {Step} step
   * @returns {{ ok: true, revert: Patch[] } | { ok: false, reason: SkipReason }}
   */
  revert(step) {
    const fail = (reason) => ({ ok: false, reason });
    if (!this.hasBase) return fail({ kind: 'nothingLeft' });
    const target = new Set(step.edits);
    const units = this.units();
    const moves = this.cancelPairs(units, target);
    const first = units.findIndex((unit) => unit.ids.some((id) => target.has(id)));
    if (first < 0) return fail({ kind: 'nothingLeft' });
    let state = this.base;
    try {
      for (const unit of units.slice(0, first)) state = applyWithInverse(state, unit.patches)[0];
      let revert = [];
      for (let at = first; at < units.length; at++) {
        const unit = units[at];
        const mine = unit.ids.filter((id) => target.has(id)).length;
        if (mine > 0) {
          if (mine < unit.ids.length) return fail({ kind: 'inseparable' });
          const [next, inverse] = applyWithInverse(state, unit.patches);
          state = next;
          revert = [...inverse, ...revert];
          continue;
        }
        const moved = moves[at];
        if (moved !== null) {
          if (unit.ids.length === 0) {
            const conflict = wipes(revert, moved);
            if (conflict !== null) return fail(conflictWith(unit, conflict));
          }
          const passed = revertThrough(revert, [moved]);
          if (!passed.ok) return fail(conflictWith(unit, passed.conflict));
          revert = passed.revert;
        }
        state = applyWithInverse(state, unit.patches)[0];
      }
      if (revert.length === 0) return fail({ kind: 'nothingLeft' });
      return { ok: true, revert };
    } catch (error) {
      return fail(doesNotApply(error));
    }
  }

  /**
   * The changes after the base, in the document's order: the committed ones, then the edits
   * that wait for the server; an own change that holds several edits is split into them when
   * their patch counts tell where each begins.
   *
   * @returns {Unit[]}
   */
  units() {
    const pending = this.follower.pending.map((p) => {
      const ids = [];
      for (let id = p.first; id <= p.id; id++) ids.push(id);
      return { ids, patches: p.patches, version: null, author: null };
    });
    const units = [];
    for (const unit of [...this.log, ...pending]) {
      const counts = unit.ids.map((id) => this.edits.get(id));
      const known = counts.every((n) => n !== undefined);
      if (unit.ids.length > 1 && known && counts.reduce((a, b) => a + b, 0) === unit.patches.length) {
        let from = 0;
        unit.ids.forEach((id, n) => {
          const patches = unit.patches.slice(from, from + counts[n]);
          units.push({ ids: [id], patches, version: unit.version, author: unit.author });
          from += counts[n];
        });
      } else {
        units.push(unit);
      }
    }
    return units;
  }

  /**
   * What each of `units` is to a revert of `target` moving through it: the change itself,
   * except for the steps undone and their undos (none of `target`'s), which cancel out
   * (`null`), and the changes between such a step and its undo, moved back through the step's
   * inverse (those that edit what the step made go with it: `null`). Inner pairs first.
   *
   * @param {Unit[]} units
   * @param {Set<number>} target
   * @returns {(Patch[] | null)[]}
   */
  cancelPairs(units, target) {
    const moves = units.map((unit) => unit.patches);
    /** @type {Array<[number, Unit]>} the units left, each with its index in `units` */
    let left = units.map((unit, at) => [at, unit]);
    for (;;) {
      const view = left.map(([, unit]) => unit);
      const pair = this.nextPair(view, target);
      if (pair === null) return moves;
      const { at: undoAt, group } = pair;
      const inGroup = (unit) => unit.ids.some((id) => group.has(id));
      const first = view.findIndex(inGroup);
      if (first < 0) return moves;
      let state = this.base;
      try {
        for (const unit of view.slice(0, first)) state = applyWithInverse(state, unit.patches)[0];
      } catch {
        return moves;
      }
      const undo = new Through();
      const kept = left.slice(0, first);
      for (const [at, unit] of left.slice(first, undoAt)) {
        let inverse;
        try {
          [state, inverse] = applyWithInverse(state, unit.patches);
        } catch {
          return moves;
        }
        if (inGroup(unit)) {
          undo.prepend(inverse, 0);
          moves[at] = null;
          continue;
        }
        const passed = undo.pass(unit.patches, AFTER_DROPPED);
        if (passed.ok) {
          moves[at] = passed.mine;
          kept.push([at, { ...unit, patches: passed.mine }]);
        } else {
          // It edits what the step made: it goes with it.
          undo.prepend(inverse, 0);
          moves[at] = null;
        }
      }
      moves[left[undoAt][0]] = null;
      left = [...kept, ...left.slice(undoAt + 1)];
    }
  }

  /**
   * The pair to cancel next: an undo (or redo) whose step is all in the units before it, alone
   * in theirs, with neither in `target`; of those, one with no other such undo between its
   * step and itself, the last of them.
   *
   * @param {Unit[]} units
   * @param {Set<number>} target
   * @returns {{ at: number, group: Set<number> } | null}
   */
  nextPair(units, target) {
    const pairs = [];
    units.forEach((unit, at) => {
      if (unit.ids.length !== 1) return;
      const [id] = unit.ids;
      const reverted = this.reverts.get(id);
      if (reverted === undefined) return;
      const group = new Set(reverted);
      if (target.has(id) || reverted.some((g) => target.has(g))) return;
      const before = units.slice(0, at);
      const whole = reverted.every((g) => before.some((u) => u.ids.includes(g)));
      const holding = (u) => u.ids.some((i) => group.has(i));
      const alone = before.filter(holding).every((u) => u.ids.every((i) => group.has(i)));
      const first = before.findIndex(holding);
      if (first >= 0 && whole && alone) pairs.push({ first, at, group });
    });
    const innermost = (pair) => !pairs.some((other) => pair.first < other.at && other.at < pair.at);
    for (let n = pairs.length - 1; n >= 0; n--) {
      if (innermost(pairs[n])) return { at: pairs[n].at, group: pairs[n].group };
    }
    return null;
  }

  /** Takes in what the follower did since: the committed changes it applied, into the log. */
  sync() {
    if (this.doc.follower !== this.follower) {
      const handlers = this.handlers;
      this.reset();
      this.handlers = handlers;
      return;
    }
    if (this.follower === null) return;
    // The committed changes the document handed its follower (its `received` hook) wait in
    // `early` until the follower's version passes them.
    const version = this.follower.version;
    if (!this.hasBase) this.baseVersion = version;
    while (this.baseVersion + this.log.length < version) {
      const next = this.baseVersion + this.log.length + 1;
      const committed = this.early.get(next);
      if (committed === undefined) {
        this.resynchronized();
        break;
      }
      this.early.delete(next);
      const ids = this.accepted.get(next) ?? [];
      this.accepted.delete(next);
      this.log.push({ ids, patches: committed.patches, version: next, author: committed.author ?? null });
    }
    for (const v of [...this.early.keys()]) if (v <= version) this.early.delete(v);
    for (const v of [...this.accepted.keys()]) if (v <= version) this.accepted.delete(v);
    this.compact();
  }

  /** The document's messages, before its follower takes them (its `received` hook). */
  receivedMessages(messages) {
    for (const message of messages) {
      if (message?.type === 'committed' && message.version > this.baseVersion && !this.early.has(message.version)) {
        this.early.set(message.version, message);
      }
    }
  }

  acceptedEdit(id, version) {
    if (!this.accepted.has(version)) this.accepted.set(version, []);
    this.accepted.get(version).push(id);
    this.unanswered.delete(id);
    this.actions.delete(id);
  }

  /** Own edit `id` was dropped: an undo or redo is refused (its step goes back), any other edit leaves its step. */
  droppedEdit(id, reason) {
    this.edits.delete(id);
    this.unanswered.delete(id);
    this.reverts.delete(id);
    const holds = (step) => step.edits.includes(id);
    const action = this.actions.get(id);
    if (action !== undefined) {
      this.actions.delete(id);
      this.undoStack = this.undoStack.filter((step) => !holds(step));
      this.redoStack = this.redoStack.filter((step) => !holds(step));
      const refused = { edit: id, action: action.kind, reason, metadata: action.origin.metadata };
      this.refused.push(refused);
      const origin = { edits: action.origin.edits.filter((e) => this.edits.has(e)), metadata: action.origin.metadata };
      const stack = action.kind === 'undo' ? this.undoStack : action.epoch === this.epoch ? this.redoStack : null;
      if (stack !== null && origin.edits.length > 0) {
        let at = 0;
        while (at < stack.length && stack[at].edits[0] < origin.edits[0]) at++;
        stack.splice(at, 0, origin);
      }
      for (const handler of this.handlers.get('refused') ?? []) handler(refused);
    } else {
      for (const step of [...this.undoStack, ...this.redoStack, ...[...this.actions.values()].map((a) => a.origin)]) {
        step.edits = step.edits.filter((e) => e !== id);
      }
      this.undoStack = this.undoStack.filter((step) => step.edits.length > 0);
      this.redoStack = this.redoStack.filter((step) => step.edits.length > 0);
    }
  }

  /** A snapshot skipped changes this manager never saw: it keeps the steps whose edits all wait. */
  resynchronized() {
    this.base = this.follower.confirmed;
    this.hasBase = true;
    this.baseVersion = this.follower.version;
    this.log = [];
    const waiting = new Set();
    for (const p of this.follower.pending) for (let id = p.first; id <= p.id; id++) waiting.add(id);
    const keep = (step) => step.edits.every((e) => waiting.has(e));
    this.undoStack = this.undoStack.filter(keep);
    this.redoStack = this.redoStack.filter(keep);
    for (const [id, action] of [...this.actions]) if (!keep(action.origin)) this.actions.delete(id);
    if (this.undoStack.length === 0 && this.redoStack.length === 0) this.open = false;
  }

  /** Lets go of what no step needs. */
  compact() {
    const live = new Set();
    for (const step of [...this.undoStack, ...this.redoStack, ...[...this.actions.values()].map((a) => a.origin)]) {
      for (const e of step.edits) live.add(e);
    }
    if (live.size === 0) {
      this.base = undefined;
      this.hasBase = false;
      this.baseVersion = this.follower.version;
      this.log = [];
      this.open = false;
    } else if (this.hasBase) {
      let first = this.log.findIndex((unit) => unit.ids.some((id) => live.has(id)));
      if (first < 0) first = this.log.length;
      if (first === this.log.length) {
        this.base = this.follower.confirmed;
        this.baseVersion = this.follower.version;
        this.log = [];
      } else if (first > 0) {
        for (const unit of this.log.slice(0, first)) {
          try {
            this.base = applyWithInverse(this.base, unit.patches)[0];
          } catch {
            // The server's order applies to its own states; were it not to, the steps are
            // moved through what is left.
          }
        }
        this.log = this.log.slice(first);
        this.baseVersion += first;
      }
    }
    const ids = [
      ...this.log.flatMap((unit) => unit.ids.slice(0, 1)),
      ...this.follower.pending.map((p) => p.first),
      ...this.unanswered,
    ];
    if (ids.length === 0) {
      this.edits.clear();
      this.reverts.clear();
    } else {
      const floor = Math.min(...ids);
      for (const id of [...this.edits.keys()]) if (id < floor) this.edits.delete(id);
      for (const id of [...this.reverts.keys()]) if (id < floor) this.reverts.delete(id);
    }
  }
}

/**
 * Whether `revert`, moved through `later` (another user's change), would remove or replace a
 * value inside which `later` wrote: the first such patch, as it stands when it meets that
 * write, and the write's path (as the Rust crate's `wipes`).
 *
 * @param {Patch[]} revert
 * @param {readonly Patch[]} later
 */
function wipes(revert, later) {
  let moving = revert;
  for (const written of later) {
    const index = moving.findIndex((patch) => {
      const last = patch.path[patch.path.length - 1];
      const whole = patch.op === 'remove' || patch.op === 'replace' || (patch.op === 'add' && typeof last !== 'number');
      return whole && written.path.length > patch.path.length && patch.path.every((s, i) => s === written.path[i]);
    });
    if (index >= 0) return { index, path: moving[index].path, by: written.path };
    const passed = revertThrough(moving, [[written]]);
    if (!passed.ok) return null;
    moving = passed.revert;
  }
  return null;
}

/**
 * Why a revert cannot move through `unit`: the conflict, and the change it met (its version
 * and author once committed; `null` for an own edit that waits for the server).
 *
 * @param {Unit} unit
 * @param {import('./index.js').Conflict} conflict
 * @returns {SkipReason}
 */
function conflictWith(unit, conflict) {
  return { kind: 'conflict', conflict, version: unit.version, author: unit.author };
}

/** A `PatchError` as the reason a step was skipped. */
function doesNotApply(error) {
  return { kind: 'doesNotApply', index: error?.index ?? 0, path: error?.path ?? [], message: String(error?.reason ?? error?.message ?? error) };
}
