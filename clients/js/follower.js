// The follower's bookkeeping, without I/O: a port of the Rust crate's `immer::sync::Follower`
// to Immer. Edits are applied to the local state at once and queued; committed changes are
// applied in version order with Immer's `applyPatches`. Other sessions' changes that arrive
// together move through the pending edits at once (`transform`'s `Through`), and are applied
// once to the confirmed state and once to the local one; the local state is built anew from
// the confirmed one only when an edit leaves the queue. The edits after one taken out move back
// through its inverse (under the rule `AFTER_DROPPED`), so that each still lands where its author
// meant it, and one that carries what the edit taken out did goes with it.

import { applyPatches, enablePatches, produceWithPatches } from 'immer';
import { listPatches } from './lists.js';
import { AFTER_DROPPED, CONCURRENT, Through, deepEqual } from './transform.js';

enablePatches();

/**
 * @typedef {import('./index.js').Patch} Patch
 * @typedef {import('./index.js').FollowerEvent} FollowerEvent
 * @typedef {import('./index.js').DropReason} DropReason
 * @typedef {import('./index.js').ServerMessage} ServerMessage
 * @typedef {import('./index.js').ClientMessage} ClientMessage
 * @typedef {Extract<ServerMessage, { type: 'committed' }>} Committed
 * @typedef {{ first: number, id: number, patches: Patch[] }} Pending an edit applied to the local
 *   state and not yet answered; edits merged into one change hold `first..id`; its patches apply
 *   after the confirmed state and the edits before it
 * @typedef {{ first: number, change: { type: 'change', id: number, base: number, patches: Patch[] }, applied: boolean }} InFlight
 *   the change sent and not yet answered; `applied`: whether its edit is in the local state (the
 *   front of the queue), or waits out of it for the server's answer, which alone decides it
 */

/**
 * Applies `patches` to `base` and returns the next state with the patches that take it back.
 *
 * @template S
 * @param {S} base
 * @param {readonly Patch[]} patches
 * @returns {[S, Patch[]]}
 */
export function applyWithInverse(base, patches) {
  if (patches.some((p) => p.path.length === 0)) {
    // A whole-state replace: Immer's recipe cannot both return a value and edit its draft.
    return [applyPatches(base, patches), [{ op: 'replace', path: [], value: base }]];
  }
  const [next, , inverse] = produceWithPatches(base, (draft) => {
    applyPatches(draft, patches);
  });
  return [next, inverse];
}

/** A follower of one document: its confirmed state, its pending edits, and its events. */
export class Follower {
  /**
   * @param {{ session: number, version: number, state: any }} start the session and the
   *   snapshot the server welcomed it with
   * @param {{ batch?: number }} [options] `batch`: how many waiting edits go out as one change
   */
  constructor(start, options = {}) {
    this.session = start.session;
    this.version = start.version;
    /** The state at `version`, as the server has it. */
    this.confirmed = start.state;
    /** `confirmed` with the pending edits applied; `undefined` while that is `confirmed` itself. */
    this.local = undefined;
    /** @type {Pending[]} */
    this.pending = [];
    /** @type {InFlight | null} */
    this.inFlight = null;
    /** @type {Map<number, Committed>} committed changes that arrived early, by version */
    this.early = new Map();
    this.nextId = 1;
    /** @type {FollowerEvent[]} */
    this.events = [];
    this.diverged = false;
    this.batch = Math.max(1, options.batch ?? 1);
  }

  /** What the user sees: the confirmed state with the pending edits applied. */
  get state() {
    return this.local === undefined ? this.confirmed : this.local;
  }

  /** How many edits wait for the server. */
  get pendingCount() {
    return this.pending.length + (this.inFlight !== null && !this.inFlight.applied ? 1 : 0);
  }

  /** Whether every edit has been answered and nothing waits to be applied. */
  get isSettled() {
    return this.pending.length === 0 && this.inFlight === null && this.early.size === 0 && !this.diverged;
  }

  /**
   * Edits the local state at once with an Immer recipe and queues the change.
   *
   * @param {(draft: any) => any} recipe
   * @returns {number | undefined} the edit's id, or `undefined` when it changed nothing
   */
  edit(recipe) {
    const base = this.state;
    const [next, immerPatches] = produceWithPatches(base, recipe);
    if (immerPatches.length === 0) return undefined;
    // Moves in lists as the remove and add of what moved, not as position-by-position replaces
    // (see lists.js).
    const patches = listPatches(base, next, immerPatches);
    const id = this.nextId++;
    this.local = next;
    this.pending.push({ first: id, id, patches });
    return id;
  }

  /**
   * What to send now: the change in flight (again, until it is answered) and a request for
   * what was committed after this follower's version (or for a snapshot, once diverged).
   *
   * @returns {ClientMessage[]}
   */
  poll() {
    if (this.inFlight === null) {
      this.mergeFront();
      const next = this.pending[0];
      if (next !== undefined) {
        this.inFlight = {
          first: next.first,
          change: { type: 'change', id: next.id, base: this.version, patches: next.patches },
          applied: true,
        };
      }
    }
    /** @type {ClientMessage[]} */
    const out = this.inFlight === null ? [] : [this.inFlight.change];
    out.push(this.diverged ? { type: 'snapshot' } : { type: 'resync', version: this.version });
    return out;
  }

  /**
   * The change to send now, if one waits and none is in flight (what `poll` sends first).
   *
   * @returns {ClientMessage | undefined}
   */
  nextChange() {
    if (this.inFlight !== null) return undefined;
    const [first] = this.poll();
    return first?.type === 'change' ? first : undefined;
  }

  /**
   * Handles one message from the server. See `receiveAll` for many at once.
   *
   * @param {ServerMessage} message
   */
  receive(message) {
    this.receiveAll([message]);
  }

  /**
   * Handles messages from the server, in the order given, as `receive` would one by one, with
   * a run of committed changes applied together: the pending edits are moved through the whole
   * run at once and the local state is brought along once, so a follower that is far behind
   * catches up in one step.
   *
   * Cost, for a run of committed changes: (patches of the run × patches pending) path
   * comparisons, plus one `applyPatches` of the run to the confirmed state and one to the
   * local state. The local state is built anew from the confirmed one (one `applyPatches` of
   * every pending edit) only when a pending edit is dropped or no longer applies, or when the
   * run has more patches than the pending edits.
   *
   * @param {Iterable<ServerMessage>} messages
   */
  receiveAll(messages) {
    for (const message of messages) {
      switch (message.type) {
        case 'committed':
          if (!this.diverged && message.version > this.version) this.early.set(message.version, message);
          break;
        case 'rejected':
          this.applyReady();
          this.applyRejected(message);
          break;
        case 'snapshot':
          this.applyReady();
          this.applySnapshot(message);
          break;
        default:
          break;
      }
    }
    this.applyReady();
  }

  /** @returns {FollowerEvent[]} the events since the last call */
  takeEvents() {
    const events = this.events;
    this.events = [];
    return events;
  }

  inFlightId() {
    return this.inFlight === null ? undefined : this.inFlight.change.id;
  }

  /** Whether `committed` is this follower's change in flight. */
  isOwn(committed) {
    return committed.session === this.session && this.inFlightId() === committed.id;
  }

  /**
   * Applies the committed changes that follow the confirmed version, in order. Other sessions'
   * changes in a row are moved through the pending edits together; the local state is brought
   * along once at the end (or built anew when an edit left the queue).
   */
  applyReady() {
    /** @type {Patch[]} what was applied to the confirmed state, as it applies to the local one */
    const tail = [];
    let rebuild = false;
    /** @type {Committed[]} */
    let others = [];
    for (;;) {
      const version = this.version + others.length + 1;
      const next = this.early.get(version);
      if (next !== undefined) this.early.delete(version);
      const own = next !== undefined && this.isOwn(next);
      if ((next === undefined || own) && others.length > 0) {
        const run = others;
        others = [];
        rebuild = this.applyOthers(run, tail) || rebuild;
      }
      if (this.diverged || next === undefined) break;
      if (own) rebuild = this.applyOwn(next, tail) || rebuild;
      else others.push(next);
    }
    for (const v of this.early.keys()) if (v <= this.version) this.early.delete(v);
    this.refreshLocal(tail, rebuild);
  }

  /**
   * Applies a run of other sessions' changes (consecutive versions): the pending edits move
   * through all of them at once. Returns whether an edit left the queue; `tail` gets the run as
   * it applies to the local state.
   *
   * @param {Committed[]} run
   * @param {Patch[]} tail
   */
  applyOthers(run, tail) {
    let rebuild = false;
    if (this.pending.length > 0) {
      const theirs = new Through(run.flatMap((c) => c.patches));
      rebuild = this.keepAlong(this.rebase(this.confirmed, theirs, null), tail);
    }
    // When it does not apply, this is not the server's history: the edits are decided when the
    // snapshot comes.
    this.advance(run);
    return rebuild;
  }

  /**
   * Takes what a rebase gave for the local state: `tail` gets the change as it applies after
   * the pending edits, or, when an edit left the queue or the tail would have more patches than
   * the pending edits (applying those again costs less), the local state is to be built anew at
   * the end. Returns whether it is.
   */
  keepAlong(rebased, tail) {
    const pending = this.pending.reduce((n, p) => n + p.patches.length, 0);
    if (rebased.tookOut || tail.length + rebased.theirs.length > Math.max(pending, 64)) {
      tail.length = 0;
      return true;
    }
    for (const patch of rebased.theirs) tail.push(patch);
    return false;
  }

  /**
   * Applies this follower's own change in flight, committed. Returns whether an edit left the
   * queue.
   *
   * @param {Committed} committed
   * @param {Patch[]} tail
   */
  applyOwn(committed, tail) {
    const inFlight = this.inFlight;
    if (inFlight === null) return false;
    const { first, applied } = inFlight;
    const same = applied && this.pending.length > 0 && deepEqual(this.pending[0].patches, committed.patches);
    // The state it applies to, to undo the local form of the change through when it differs.
    const base = this.confirmed;
    if (!this.advance([committed])) return false;
    this.inFlight = null;
    let tookOut = false;
    if (same) {
      // Moved through the same changes here and at the server: the rest of the queue already
      // applies after it, and the local state already holds it.
      this.pending.shift();
    } else {
      // Committed in another form than the local one: take the local one out and move the rest
      // through the committed one. When it waited out of the state, to the queue it is another
      // session's change.
      const drop = applied ? { id: committed.id, reason: null } : null;
      tookOut = this.keepAlong(this.rebase(base, new Through(committed.patches), drop), tail);
    }
    for (let id = first; id <= committed.id; id++) {
      this.events.push({ type: 'accepted', id, version: committed.version });
    }
    return tookOut;
  }

  /**
   * Applies committed changes to the confirmed state, each reported as applied. `false` when
   * one does not apply: the follower has diverged, and its confirmed state, no longer the
   * server's, waits for a snapshot to replace it.
   *
   * @param {Committed[]} run consecutive versions
   */
  advance(run) {
    const patches = run.length === 1 ? run[0].patches : run.flatMap((c) => c.patches);
    // All at once (Immer starts from a whole-state replace, skipping what comes before it: then
    // each change is checked on its own).
    if (run.length === 1 || !patches.some((p) => p.path.length === 0)) {
      try {
        this.confirmed = applyPatches(this.confirmed, patches);
        for (const committed of run) {
          this.version = committed.version;
          this.events.push({ type: 'applied', version: committed.version });
        }
        return true;
      } catch {
        // One of them does not apply: found below.
      }
    }
    for (const committed of run) {
      try {
        this.confirmed = applyPatches(this.confirmed, committed.patches);
      } catch (error) {
        // Not the server's history: say so, and take nothing more until a snapshot.
        this.diverged = true;
        this.early.clear();
        this.events.push({ type: 'diverged', version: committed.version, error: String(error?.message ?? error) });
        return false;
      }
      this.version = committed.version;
      this.events.push({ type: 'applied', version: committed.version });
    }
    return true;
  }

  /**
   * Brings the local state along `tail` (what was applied to the confirmed state, as it applies
   * after the pending edits), or builds it anew.
   */
  refreshLocal(tail, rebuild) {
    if (!rebuild && tail.length > 0 && this.local !== undefined) {
      try {
        this.local = applyPatches(this.local, tail);
      } catch {
        this.local = undefined;
      }
    }
    if (this.pending.length === 0) this.local = undefined;
    else if (rebuild || this.local === undefined) this.rebuildLocal();
  }

  applyRejected(rejected) {
    if (rejected.session !== this.session || this.inFlightId() !== rejected.id) return;
    const inFlight = this.inFlight;
    this.inFlight = null;
    /** @type {DropReason} */
    const reason = { kind: 'rejected', reason: rejected.reason, message: rejected.message };
    if (inFlight.applied) {
      this.rebase(this.confirmed, new Through(), { id: rejected.id, reason });
      this.rebuildLocal();
    } else {
      this.reportDropped(inFlight.first, rejected.id, reason);
    }
  }

  applySnapshot(snapshot) {
    if (snapshot.version < this.version || (snapshot.version === this.version && !this.diverged)) return;
    // JavaScript has no structural diff of the skipped changes: the edits not yet sent are
    // dropped and reported (the Rust follower's fallback). The change in flight keeps its one
    // outcome: the snapshot says it, or it waits, out of the state, for the server's answer.
    const inFlight = this.inFlight;
    this.inFlight = null;
    if (inFlight !== null) {
      const id = inFlight.change.id;
      const answered = snapshot.answered != null && snapshot.answered.id === id ? snapshot.answered : null;
      if (answered !== null && answered.committed !== undefined && answered.committed !== null) {
        for (let i = inFlight.first; i <= id; i++) {
          this.events.push({ type: 'accepted', id: i, version: answered.committed });
        }
      } else if (answered !== null && answered.rejected != null) {
        const reason = { kind: 'rejected', reason: answered.rejected, message: answered.message ?? '' };
        this.reportDropped(inFlight.first, id, reason);
      } else {
        this.inFlight = { ...inFlight, applied: false };
      }
    }
    const inFlightId = inFlight?.change.id;
    for (const pending of this.pending) {
      if (pending.id !== inFlightId) this.reportDropped(pending.first, pending.id, { kind: 'snapshot' });
    }
    this.pending = [];
    this.confirmed = snapshot.state;
    this.version = snapshot.version;
    this.diverged = false;
    for (const v of this.early.keys()) if (v <= snapshot.version) this.early.delete(v);
    this.events.push({ type: 'applied', version: this.version });
    this.rebuildLocal();
  }

  /**
   * Moves the pending edits through `theirs` (made against `base`, the confirmed state the
   * queue applies to, and ordered before the edits), taking out each that conflicts and the one
   * named by `drop` (reported with its reason, or silently when the reason is `null`).
   *
   * The edits after one taken out are moved back through its inverse (under `AFTER_DROPPED`),
   * so that they still land where their author meant them to. One that cannot be, or that
   * writes a whole value inside which the edit taken out changed something (it carries that
   * change), depends on it and is taken out too: as `afterDropped` naming that edit when it was
   * dropped; for the reason it left the state when it is the change in flight (which only the
   * server decides); as a `conflict` when it left silently (committed in another form).
   *
   * The inverse is the one the patches tell (a `replace`, a removal from a list), or else the
   * exact one, from replaying the queue on `base` (only when something is taken out).
   *
   * Walking the queue, `theirs` is kept as it applies after the edits kept so far, and `undo`
   * as the patches that take the old queue's state back to the kept edits' state.
   *
   * @param {any} base
   * @param {Through} theirs
   * @param {{ id: number, reason: DropReason | null } | null} drop
   * @returns {{ theirs: Patch[], tookOut: boolean }} the change as it applies after the edits
   *   kept, and whether an edit left the queue (the local state must then be built anew)
   */
  rebase(base, theirs, drop) {
    const old = this.pending;
    /** @type {Pending[]} */
    const kept = [];
    let undo = new Through();
    /** @type {(DropReason | null)[]} for each edit taken out, the reason the edits depending on it go for */
    const takenOut = [];
    /** @type {Patch[][] | null} */
    let inverses = null;
    for (let n = 0; n < old.length; n++) {
      const pending = old[n];
      /** @type {DropReason | null | undefined} `undefined` while it is kept */
      let reason;
      let patches;
      if (drop !== null && drop.id === pending.id) {
        reason = drop.reason;
        drop = null;
      } else {
        const before = undo.isEmpty() ? null : undo.clone();
        const back = before === null ? { ok: true, mine: pending.patches } : undo.pass(pending.patches, AFTER_DROPPED);
        if (!back.ok) {
          reason = takenOut[back.owner] ?? { kind: 'conflict', conflict: back.conflict };
        } else {
          const over = theirs.pass(back.mine, CONCURRENT);
          if (over.ok) {
            patches = over.mine;
          } else {
            // It stays out: `undo` goes back to before it.
            if (before !== null) undo = before;
            reason = { kind: 'conflict', conflict: over.conflict };
          }
        }
      }
      if (reason === undefined) {
        kept.push({ first: pending.first, id: pending.id, patches });
        continue;
      }
      const inFlight = this.inFlight;
      const sent = inFlight !== null && inFlight.applied && inFlight.change.id === pending.id;
      let depending = null;
      if (sent && reason !== null) {
        // Sent: the server decides it; it waits out of the state.
        inFlight.applied = false;
        depending = reason;
      } else if (reason !== null) {
        this.reportDropped(pending.first, pending.id, reason);
        depending = { kind: 'afterDropped', id: pending.id };
      }
      let inverse = structuralInverse(pending.patches);
      if (inverse === null) {
        inverses ??= exactInverses(base, old);
        inverse = inverses[n];
      }
      undo.prepend(inverse, takenOut.length);
      takenOut.push(depending);
    }
    this.pending = kept;
    return { theirs: theirs.toPatches(), tookOut: takenOut.length > 0 };
  }

  /**
   * `local` = `confirmed` + pending edits, built anew. An edit that no longer applies is taken
   * out with every edit after it (the one in flight waits for the server's answer; the others
   * are dropped and reported).
   */
  rebuildLocal() {
    if (this.pending.length === 0) {
      this.local = undefined;
      return;
    }
    // All at once, unless a whole-state replace among them would hide an edit before it.
    const all = this.pending.length === 1 ? this.pending[0].patches : this.pending.flatMap((p) => p.patches);
    if (!all.some((p) => p.path.length === 0)) {
      try {
        this.local = applyPatches(this.confirmed, all);
        return;
      } catch {
        // An edit no longer applies: found below.
      }
    }
    let local = this.confirmed;
    for (let at = 0; at < this.pending.length; at++) {
      try {
        local = applyPatches(local, this.pending[at].patches);
        continue;
      } catch {
        const failed = this.pending[at].id;
        /** @type {DropReason} */
        const doesNotApply = { kind: 'doesNotApply', ...failingPatch(local, this.pending[at].patches) };
        // The reason the edits after it go for: it, when it was dropped; when it is the change
        // in flight (which waits), the same as its own.
        let depending = doesNotApply;
        const drained = this.pending.splice(at);
        drained.forEach((pending, n) => {
          if (this.inFlight !== null && this.inFlight.applied && this.inFlight.change.id === pending.id) {
            this.inFlight.applied = false;
            return;
          }
          let reason = depending;
          if (n === 0) {
            reason = doesNotApply;
            depending = { kind: 'afterDropped', id: failed };
          }
          this.reportDropped(pending.first, pending.id, reason);
        });
        break;
      }
    }
    this.local = this.pending.length > 0 ? local : undefined;
  }

  /** Merges up to `batch` edits at the front of the queue into one change. */
  mergeFront() {
    let take = 1;
    const limit = Math.min(this.batch, this.pending.length);
    while (take < limit && this.pending[take].first === this.pending[take - 1].id + 1) take++;
    if (take < 2) return;
    const merged = this.pending.splice(0, take);
    this.pending.unshift({
      first: merged[0].first,
      id: merged[take - 1].id,
      patches: merged.flatMap((p) => p.patches),
    });
  }

  reportDropped(first, last, reason) {
    for (let id = first; id <= last; id++) this.events.push({ type: 'dropped', id, reason });
  }
}

/**
 * The patch of `patches` that does not apply to `state` (after those before it): its index,
 * its path, and why.
 *
 * @param {any} state
 * @param {readonly Patch[]} patches
 * @returns {{ index: number, path: import('./index.js').Path, message: string }}
 */
function failingPatch(state, patches) {
  for (let index = 0; index < patches.length; index++) {
    try {
      state = applyPatches(state, [patches[index]]);
    } catch (error) {
      return { index, path: patches[index].path, message: String(error?.message ?? error) };
    }
  }
  return { index: patches.length - 1, path: patches.at(-1)?.path ?? [], message: 'does not apply' };
}

/**
 * The inverse of `patches` as far as moving paths through it goes (its values are not the ones
 * it would write back, and it is never applied), when the patches alone tell it: each `replace`
 * undone by a `replace` of its path, each removal from a list by an insert at its index (a set's
 * removal by value, by an add of that value). `null` when an `add` is among them (a list's insert
 * and a set's add look alike; an add of a key may have replaced one), or a `move`, `copy` or
 * `test`.
 *
 * @param {readonly Patch[]} patches
 * @returns {Patch[] | null}
 */
function structuralInverse(patches) {
  const inverse = [];
  for (let i = patches.length - 1; i >= 0; i--) {
    const patch = patches[i];
    if (patch.op === 'replace') {
      inverse.push({ op: 'replace', path: patch.path, value: null });
    } else if (patch.op === 'remove' && typeof patch.path[patch.path.length - 1] === 'number') {
      inverse.push({ op: 'add', path: patch.path, value: patch.value === undefined ? null : patch.value });
    } else {
      return null;
    }
  }
  return inverse;
}

/**
 * The exact inverse of each edit of `queue`, applied in order to `base`, with list patches as
 * moves (see lists.js). An edit that does not apply (it cannot happen to a queue built on
 * `base`) and those after it get none.
 *
 * @param {any} base
 * @param {readonly Pending[]} queue
 * @returns {Patch[][]}
 */
function exactInverses(base, queue) {
  let state = base;
  let failed = false;
  return queue.map((pending) => {
    if (failed) return [];
    try {
      const [next, inverse] = applyWithInverse(state, pending.patches);
      const moves = listPatches(next, state, inverse);
      state = next;
      return moves;
    } catch {
      failed = true;
      return [];
    }
  });
}
