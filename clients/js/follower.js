// The follower's bookkeeping, without I/O: a port of the Rust crate's `immer::sync::Follower`
// to Immer. Edits are applied to the local state at once and queued; committed changes are
// applied in version order with Immer's `applyPatches`; pending edits move through other
// sessions' changes with `transform`, and the edits after a dropped one move back through its
// exact inverse, so that each still lands where its author meant it.

import { applyPatches, enablePatches, produceWithPatches } from 'immer';
import { listPatches } from './lists.js';
import { deepEqual, transform } from './transform.js';

enablePatches();

/**
 * @typedef {import('./index.js').Patch} Patch
 * @typedef {import('./index.js').FollowerEvent} FollowerEvent
 * @typedef {import('./index.js').ServerMessage} ServerMessage
 * @typedef {import('./index.js').ClientMessage} ClientMessage
 * @typedef {{ first: number, id: number, patches: Patch[], inverse: Patch[] }} Pending
 * @typedef {{ first: number, change: { type: 'change', id: number, base: number, patches: Patch[] }, applied: boolean }} InFlight
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
    this.confirmed = start.state;
    /** What the user sees: the confirmed state with the pending edits applied. */
    this.state = start.state;
    /** @type {Pending[]} */
    this.pending = [];
    /** @type {InFlight | null} */
    this.inFlight = null;
    /** @type {Map<number, any>} committed changes that arrived early, by version */
    this.early = new Map();
    this.nextId = 1;
    /** @type {FollowerEvent[]} */
    this.events = [];
    this.diverged = false;
    this.batch = Math.max(1, options.batch ?? 1);
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
    const [next, immerPatches, immerInverse] = produceWithPatches(this.state, recipe);
    if (immerPatches.length === 0) return undefined;
    // Moves in lists as the remove and add of what moved, not as position-by-position
    // replaces (see lists.js).
    const patches = listPatches(this.state, next, immerPatches);
    const inverse = listPatches(next, this.state, immerInverse);
    const id = this.nextId++;
    this.state = next;
    this.pending.push({ first: id, id, patches, inverse });
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
   * Handles one message from the server.
   *
   * @param {ServerMessage} message
   */
  receive(message) {
    switch (message.type) {
      case 'committed': {
        if (this.diverged) return;
        if (message.version > this.version) this.early.set(message.version, message);
        for (let next = this.early.get(this.version + 1); next !== undefined; next = this.early.get(this.version + 1)) {
          this.early.delete(next.version);
          this.applyCommitted(next);
        }
        for (const v of this.early.keys()) if (v <= this.version) this.early.delete(v);
        break;
      }
      case 'rejected':
        this.applyRejected(message);
        break;
      case 'snapshot':
        this.applySnapshot(message);
        break;
      default:
        break;
    }
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

  applyCommitted(committed) {
    let next;
    try {
      next = applyPatches(this.confirmed, committed.patches);
    } catch (error) {
      // Not the server's history: take nothing more until a snapshot.
      this.diverged = true;
      this.early.clear();
      this.events.push({ type: 'diverged', version: committed.version, error: String(error?.message ?? error) });
      return;
    }
    const own = committed.session === this.session && this.inFlightId() === committed.id;
    if (own) {
      const inFlight = this.inFlight;
      this.inFlight = null;
      const first = inFlight.first;
      const same = this.pending.length > 0 && deepEqual(this.pending[0].patches, committed.patches);
      if (inFlight.applied && same) {
        this.pending.shift();
      } else if (inFlight.applied) {
        this.rebase(committed.patches, { id: committed.id, reason: null });
      } else {
        this.rebase(committed.patches, null);
      }
      for (let id = first; id <= committed.id; id++) {
        this.events.push({ type: 'accepted', id, version: committed.version });
      }
    } else {
      this.rebase(committed.patches, null);
    }
    this.confirmed = next;
    this.version = committed.version;
    this.events.push({ type: 'applied', version: this.version });
    this.rebuildLocal();
  }

  applyRejected(rejected) {
    if (this.inFlightId() !== rejected.id) return;
    const inFlight = this.inFlight;
    this.inFlight = null;
    const reason = { kind: 'rejected', reason: rejected.reason, message: rejected.message };
    if (inFlight.applied) {
      this.rebase([], { id: rejected.id, reason });
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
    let inFlightReason = null;
    if (inFlight !== null) {
      const id = inFlight.change.id;
      const answered = snapshot.answered != null && snapshot.answered.id === id ? snapshot.answered : null;
      if (answered !== null && answered.committed !== undefined && answered.committed !== null) {
        for (let i = inFlight.first; i <= id; i++) {
          this.events.push({ type: 'accepted', id: i, version: answered.committed });
        }
      } else if (answered !== null && answered.rejected != null) {
        inFlightReason = { kind: 'rejected', reason: answered.rejected, message: answered.message ?? '' };
        this.reportDropped(inFlight.first, id, inFlightReason);
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
   * Moves the pending edits through `theirs` (made against `confirmed`, ordered before them),
   * taking out each that conflicts and the one named by `drop` (reported with its reason, or
   * silently when the reason is null), and moving the edits after one taken out back through
   * its exact inverse.
   */
  rebase(theirs, drop) {
    let undo = [];
    const kept = [];
    let lastTakenOut = null;
    for (const pending of this.pending) {
      let outcome;
      if (drop !== null && drop.id === pending.id) {
        outcome = { ok: false, reason: drop.reason };
        drop = null;
      } else {
        const back = transform(pending.patches, undo);
        if (!back.ok) {
          outcome = { ok: false, reason: { kind: 'afterDropped', id: lastTakenOut ?? 0 } };
        } else {
          const over = transform(back.mine, theirs);
          outcome = over.ok
            ? { ok: true, mine: over.mine, undo: back.theirs, theirs: over.theirs }
            : { ok: false, reason: { kind: 'conflict', conflict: over.conflict } };
        }
      }
      if (outcome.ok) {
        undo = outcome.undo;
        theirs = outcome.theirs;
        kept.push({ ...pending, patches: outcome.mine });
      } else {
        const sent = this.inFlight !== null && this.inFlight.applied && this.inFlight.change.id === pending.id;
        if (sent && outcome.reason !== null) {
          // Sent: the server decides it.
          this.inFlight.applied = false;
        } else if (outcome.reason !== null) {
          this.reportDropped(pending.first, pending.id, outcome.reason);
        }
        lastTakenOut = pending.id;
        undo = [...pending.inverse, ...undo];
      }
    }
    this.pending = kept;
  }

  /** `state` = `confirmed` + pending edits, recording each edit's exact inverse. */
  rebuildLocal() {
    let local = this.confirmed;
    for (let at = 0; at < this.pending.length; at++) {
      try {
        const [next, inverse] = applyWithInverse(local, this.pending[at].patches);
        this.pending[at].inverse = inverse;
        local = next;
      } catch (error) {
        const failed = this.pending[at].id;
        const drained = this.pending.splice(at);
        drained.forEach((pending, n) => {
          if (this.inFlight !== null && this.inFlight.applied && this.inFlight.change.id === pending.id) {
            this.inFlight.applied = false;
            return;
          }
          const reason =
            n === 0
              ? { kind: 'doesNotApply', message: String(error?.message ?? error) }
              : { kind: 'afterDropped', id: failed };
          this.reportDropped(pending.first, pending.id, reason);
        });
        break;
      }
    }
    this.state = local;
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
      inverse: merged.reverse().flatMap((p) => p.inverse),
    });
  }

  reportDropped(first, last, reason) {
    for (let id = first; id <= last; id++) this.events.push({ type: 'dropped', id, reason });
  }
}
