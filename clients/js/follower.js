// The follower's bookkeeping, without I/O: a port of the Rust crate's `immer::sync::Follower`
// to Immer, held to it by the traces the Rust tests write (test/traces.test.js replays them and
// must give the same events, messages and states). Edits are applied to the local state at once
// and queued; committed changes are applied in version order, through Immer drafts, with the
// Rust crate's rules for a JSON value (`applyExactly`: a patch whose target is not there is an
// error, never an append or a new key). Other sessions' changes that arrive together move
// through the pending edits at once (`transform`'s `Through`), and are applied once to the
// confirmed state and once to the local one; the local state is built anew from the confirmed
// one only when an edit leaves the queue. The edits after one taken out move back through its
// exact inverse (under the rule `AFTER_DROPPED`), so that each still lands where its author
// meant it, and one that carries what the edit taken out did goes with it. After a snapshot,
// the edits not yet sent move through the diff from the confirmed state to the snapshot
// (`diffForRebase`), as in Rust.

import { current, enablePatches, isDraft, produce, produceWithPatches } from 'immer';
import { listPatches } from './lists.js';
import { AFTER_DROPPED, CONCURRENT, Through, deepEqual } from './transform.js';

enablePatches();

/** The format of what `Follower.save` writes; `Follower.restore` reads only this one. */
export const SAVED_FORMAT = 1;

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
 * @typedef {import('./index.js').SavedFollower} SavedFollower
 */

/**
 * Applies `patches` to `base` and returns the next state with the patches that take it back
 * (the exact inverse, in apply order), as the Rust crate's `apply_with_inverse` gives them for
 * a JSON value. Throws a `PatchError` when a patch does not apply (see `applyExactly`).
 *
 * @template S
 * @param {S} base
 * @param {readonly Patch[]} patches
 * @returns {[S, Patch[]]}
 */
export function applyWithInverse(base, patches) {
  const { state, inverse } = applyExactly(base, patches, true);
  return [state, inverse];
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

  /**
   * The follower's durable part, as a plain JSON value: what a page keeps to go on after a
   * reload as this follower would have gone on. It holds the confirmed state, its version and
   * the session; the pending edits with their ids and patches; the change in flight (sent, or
   * about to be: `poll` sends it again either way, and the server answers a change it has seen
   * as it ended); the next edit's id (an id the server may have seen is never given twice);
   * the local state; the committed changes that arrived early; whether it diverged; the events
   * not yet taken; and the batch size.
   *
   * It shares the follower's states and patches (Immer's, never changed in place): serialize
   * it, or let the storage copy it (IndexedDB does), to keep it.
   *
   * ```js
   * localStorage.setItem('board', JSON.stringify(follower.save()));
   * const again = Follower.restore(JSON.parse(localStorage.getItem('board')));
   * ```
   *
   * @returns {SavedFollower}
   */
  save() {
    return {
      format: SAVED_FORMAT,
      session: this.session,
      version: this.version,
      confirmed: this.confirmed,
      ...(this.local === undefined ? {} : { local: this.local }),
      pending: this.pending.map(({ first, id, patches }) => ({ first, id, patches })),
      inFlight: this.inFlight === null ? null : { ...this.inFlight },
      early: [...this.early.values()],
      nextId: this.nextId,
      diverged: this.diverged,
      events: [...this.events],
      batch: this.batch,
    };
  }

  /**
   * A follower from what `save` gave (after a JSON round trip, or a structured clone): from
   * there it sends, applies and reports exactly what the saved one would have. It takes
   * ownership of `saved` (pass a copy to keep using it). Throws a `TypeError` on a value that
   * is not a saved follower of this format.
   *
   * @param {SavedFollower} saved
   * @param {{ batch?: number }} [options] `batch`: as for the constructor (the saved one by default)
   * @returns {Follower}
   */
  static restore(saved, options = {}) {
    if (typeof saved !== 'object' || saved === null || saved.format !== SAVED_FORMAT) {
      throw new TypeError(`not a saved follower of format ${SAVED_FORMAT}: ${JSON.stringify(saved)?.slice(0, 100)}`);
    }
    for (const key of ['session', 'version', 'nextId']) {
      if (!Number.isSafeInteger(saved[key])) throw new TypeError(`a saved follower's \`${key}\` is an integer, not ${JSON.stringify(saved[key])}`);
    }
    if (!Array.isArray(saved.pending) || !Array.isArray(saved.early)) {
      throw new TypeError('a saved follower has a list of `pending` edits and of `early` changes');
    }
    const follower = new Follower(
      { session: saved.session, version: saved.version, state: saved.confirmed },
      { batch: options.batch ?? saved.batch },
    );
    follower.local = Object.hasOwn(saved, 'local') ? saved.local : undefined;
    follower.pending = saved.pending.map(({ first, id, patches }) => ({ first, id, patches }));
    follower.inFlight = saved.inFlight == null ? null : { ...saved.inFlight };
    follower.early = new Map(saved.early.map((committed) => [committed.version, committed]));
    follower.nextId = saved.nextId;
    follower.diverged = Boolean(saved.diverged);
    follower.events = [...(saved.events ?? [])];
    return follower;
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
    return this.push(next, listPatches(base, next, immerPatches));
  }

  /**
   * Edits the local state at once with patches made against it, and queues the change: what
   * `edit` does with the patches of its recipe, for patches made elsewhere (a replay of the
   * Rust follower's edits in the shared traces, an undo).
   *
   * @param {readonly Patch[]} patches
   * @returns {number | undefined} the edit's id, or `undefined` when there are no patches
   */
  editPatches(patches) {
    if (patches.length === 0) return undefined;
    return this.push(applyExactly(this.state, patches).state, [...patches]);
  }

  /** Queues an edit that took the local state to `next`; returns its id. */
  push(next, patches) {
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
   * comparisons, plus applying the run once to the confirmed state and once to the local
   * state. The local state is built anew from the confirmed one (applying every pending edit)
   * only when a pending edit is dropped or no longer applies, or when the run has more patches
   * than the pending edits.
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
    // All at once; when one does not apply, each on its own, to name it.
    if (run.length > 1) {
      try {
        this.confirmed = applyExactly(this.confirmed, run.flatMap((c) => c.patches)).state;
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
        this.confirmed = applyExactly(this.confirmed, committed.patches).state;
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
        this.local = applyExactly(this.local, tail).state;
      } catch {
        this.local = undefined;
      }
    }
    if (this.pending.length === 0) this.local = undefined;
    else if (rebuild || this.local === undefined) this.rebuildLocal();
  }

  applyRejected(rejected) {
    // A server before the shared shapes sent no session: the connection's own refusal.
    if ((rejected.session !== undefined && rejected.session !== this.session) || this.inFlightId() !== rejected.id) return;
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
    const state = snapshot.state;
    // What the snapshot changed since the confirmed state, as patches: the pending edits move
    // through it as through another session's change (a diverged state is not the server's,
    // so nothing can be moved through it).
    const theirs = this.diverged ? null : diffForRebase(this.confirmed, state);
    // The change in flight: the snapshot may say how it ended. Either way it leaves the queue
    // here: its effect is in the snapshot, it was refused, or it waits, out of the state, for
    // the server's answer (it cannot be moved through what the snapshot skips, and only the
    // server can decide it).
    /** @type {{ id: number, reason: DropReason | null } | null} */
    let takenOut = null;
    const inFlight = this.inFlight;
    this.inFlight = null;
    if (inFlight !== null) {
      const id = inFlight.change.id;
      const answered = snapshot.answered != null && snapshot.answered.id === id ? snapshot.answered : null;
      /** @type {DropReason | null} */
      let reason = null;
      if (answered !== null && answered.committed != null) {
        for (let i = inFlight.first; i <= id; i++) {
          this.events.push({ type: 'accepted', id: i, version: answered.committed });
        }
      } else if (answered !== null && answered.rejected != null) {
        reason = { kind: 'rejected', reason: answered.rejected, message: answered.message ?? '' };
      } else {
        this.inFlight = { ...inFlight, applied: false };
      }
      if (inFlight.applied) takenOut = { id, reason };
      else if (reason !== null) this.reportDropped(inFlight.first, id, reason);
    }
    if (theirs !== null) {
      this.rebase(this.confirmed, new Through(theirs), takenOut);
    } else {
      // No way to move the edits not sent yet: they are dropped and reported.
      for (const pending of this.pending) {
        if (takenOut !== null && takenOut.id === pending.id) {
          if (takenOut.reason !== null) this.reportDropped(pending.first, pending.id, takenOut.reason);
        } else {
          this.reportDropped(pending.first, pending.id, { kind: 'snapshot' });
        }
      }
      this.pending = [];
    }
    this.confirmed = state;
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
    // All at once; when an edit does not apply, each on its own, to find it.
    if (this.pending.length > 1) {
      try {
        this.local = applyExactly(this.confirmed, this.pending.flatMap((p) => p.patches)).state;
        return;
      } catch {
        // An edit no longer applies: found below.
      }
    }
    let local = this.confirmed;
    for (let at = 0; at < this.pending.length; at++) {
      try {
        local = applyExactly(local, this.pending[at].patches).state;
        continue;
      } catch (error) {
        if (!(error instanceof PatchError)) throw error;
        const failed = this.pending[at].id;
        /** @type {DropReason} */
        const doesNotApply = { kind: 'doesNotApply', index: error.index, path: error.path, message: error.reason };
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
 * The exact inverse of each edit of `queue`, applied in order to `base`. An edit that does not
 * apply (it cannot happen to a queue built on `base`) and those after it get none.
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
      const applied = applyExactly(state, pending.patches, true);
      state = applied.state;
      return applied.inverse;
    } catch {
      failed = true;
      return [];
    }
  });
}

/**
 * A patch that does not apply: its index in the list given, its path, and why, in the words of
 * the Rust crate's `PatchError` for a JSON value (`patch 2 at "/items/7": index 7 is out of
 * range for a list of length 5`).
 */
export class PatchError extends Error {
  /**
   * @param {number} index
   * @param {import('./index.js').Path} path
   * @param {string} reason
   */
  constructor(index, path, reason) {
    super(`patch ${index} at ${JSON.stringify(pointer(path))}: ${reason}`);
    this.name = 'PatchError';
    this.index = index;
    this.path = path;
    /** Why, without the index and the path (the Rust `PatchErrorKind`). */
    this.reason = reason;
  }
}

/** A path as a JSON Pointer (RFC 6901). */
function pointer(path) {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * Applies `patches` in order to `base` as the Rust crate applies them to a JSON value: a
 * patch whose target is not there (a list index past the end, a missing key, a path through a
 * number) is a `PatchError` and nothing is applied, where Immer's `applyPatches` would insert
 * at the end, write a hole or add the key. With `wantInverse`, also the exact inverse (each
 * `add` undone by a `remove` of where it landed, each `remove` by an `add` of the old value,
 * each `replace`, and an `add` over an existing key, by a `replace` with the old value).
 *
 * @template S
 * @param {S} base
 * @param {readonly Patch[]} patches
 * @param {boolean} [wantInverse]
 * @returns {{ state: S, inverse: Patch[] }}
 */
function applyExactly(base, patches, wantInverse = false) {
  /** @type {Patch[]} the inverse of each patch, in the order they apply */
  const undo = [];
  let state = base;
  let from = 0;
  // Patches below the root go through one Immer draft at a time; a write of the whole state
  // (which a recipe cannot make while editing its draft) replaces it between them.
  const run = (to) => {
    if (to > from) {
      state = produce(state, (draft) => {
        for (let index = from; index < to; index++) editDraft(draft, patches[index], index, wantInverse ? undo : null);
      });
    }
  };
  for (let index = 0; index < patches.length; index++) {
    const patch = patches[index];
    if (patch.path.length > 0) continue;
    run(index);
    from = index + 1;
    if (patch.op === 'add' || patch.op === 'replace') {
      const value = valueOf(patch, index);
      undo.push({ op: 'replace', path: [], value: plain(state) });
      state = clone(value);
    } else if (patch.op === 'test') {
      if (!deepEqual(state, patch.value)) throw testFailed(patch, state, index);
    } else {
      throw new PatchError(
        index,
        patch.path,
        patch.op === 'remove'
          ? 'a `serde_json::Value` here is required and cannot be removed; replace it instead'
          : `malformed patch: \`${patch.op}\` of the whole state`,
      );
    }
  }
  run(patches.length);
  return { state, inverse: undo.reverse() };
}

/** Applies one patch to `draft` (below its root); pushes its inverse onto `undo`. */
function editDraft(draft, patch, index, undo) {
  switch (patch.op) {
    case 'add':
    case 'remove':
    case 'replace':
      edit(draft, patch.op, patch.path, patch.op === 'remove' ? undefined : valueOf(patch, index), index, undo);
      return;
    case 'test': {
      const found = valueAt(draft, patch.path, patch, index);
      if (!deepEqual(plain(found), patch.value)) throw testFailed(patch, plain(found), index);
      return;
    }
    case 'copy':
    case 'move': {
      if (patch.from === undefined) throw new PatchError(index, patch.path, `malformed patch: \`${patch.op}\` needs a \`from\``);
      if (patch.op === 'move' && samePath(patch.from, patch.path)) return;
      if (patch.op === 'move' && patch.path.length > patch.from.length && samePath(patch.path.slice(0, patch.from.length), patch.from)) {
        throw new PatchError(index, patch.path, 'malformed patch: `move` cannot move a value into one of its own children');
      }
      const value = plain(valueAt(draft, patch.from, patch, index));
      if (patch.op === 'move') edit(draft, 'remove', patch.from, undefined, index, undo, patch.path);
      edit(draft, 'add', patch.path, value, index, undo);
      return;
    }
    default:
      throw new PatchError(index, patch.path, `malformed patch: unknown op ${JSON.stringify(patch.op)}`);
  }
}

/**
 * One `add`, `remove` or `replace` at `path` (not the root) of `draft`, with RFC 6902's rules
 * and the Rust crate's errors; its inverse onto `undo` (unless `null`). `named` is the path the
 * error names (the patch's own, for the `from` of a `move`).
 */
function edit(draft, op, path, value, index, undo, named = path) {
  const parent = valueAt(draft, path.slice(0, -1), { path: named }, index);
  const last = path[path.length - 1];
  const fail = (reason) => new PatchError(index, named, reason);
  let inverse;
  if (Array.isArray(parent)) {
    const at = arrayIndex(last, parent.length, op === 'add', fail);
    if (op === 'add') {
      parent.splice(at, 0, clone(value));
      inverse = { op: 'remove', path: [...path.slice(0, -1), at] };
    } else if (op === 'remove') {
      inverse = { op: 'add', path, value: plain(parent[at]) };
      parent.splice(at, 1);
    } else {
      inverse = { op: 'replace', path, value: plain(parent[at]) };
      parent[at] = clone(value);
    }
  } else if (isObject(parent)) {
    const key = String(last);
    const has = Object.hasOwn(parent, key);
    if (op !== 'add' && !has) throw fail(`the map has no key \`${key}\``);
    if (op === 'remove') {
      inverse = { op: 'add', path, value: plain(parent[key]) };
      delete parent[key];
    } else {
      inverse = has ? { op: 'replace', path, value: plain(parent[key]) } : { op: 'remove', path };
      parent[key] = clone(value);
    }
  } else {
    throw fail(`the path goes on below a \`${typeName(parent)}\`, which has no parts`);
  }
  undo?.push(inverse);
}

/** The value at `path` of `state`, or the Rust crate's error for `patch`. */
function valueAt(state, path, patch, index) {
  let here = state;
  for (const segment of path) {
    if (Array.isArray(here)) {
      here = here[arrayIndex(segment, here.length, false, (reason) => new PatchError(index, patch.path, reason))];
    } else if (isObject(here)) {
      const key = String(segment);
      if (!Object.hasOwn(here, key)) throw new PatchError(index, patch.path, `the map has no key \`${key}\``);
      here = here[key];
    } else {
      throw new PatchError(index, patch.path, `the path goes on below a \`${typeName(here)}\`, which has no parts`);
    }
  }
  return here;
}

/** A path segment as an index into a list of `len` (`-`, and `len` itself, only to add). */
function arrayIndex(segment, len, allowEnd, fail) {
  let index;
  if (allowEnd && segment === '-') return len;
  if (typeof segment === 'number') index = segment;
  else if (/^(0|[1-9][0-9]*)$/.test(segment)) index = Number(segment);
  else throw fail(`\`${segment}\` is not a list index`);
  if (index < (allowEnd ? len + 1 : len)) return index;
  throw fail(`index ${index} is out of range for a list of length ${len}`);
}

function valueOf(patch, index) {
  if (!Object.hasOwn(patch, 'value') || patch.value === undefined) {
    throw new PatchError(index, patch.path, `malformed patch: \`${patch.op}\` needs a \`value\``);
  }
  return patch.value;
}

function testFailed(patch, found, index) {
  return new PatchError(index, patch.path, `test failed: expected ${JSON.stringify(patch.value)}, found ${JSON.stringify(found)}`);
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value read from a draft, as a plain value (a copy of what the draft changed). */
const plain = (value) => (isDraft(value) ? current(value) : value);

/** A patch's value, copied before it goes into the state (the patch keeps its own). */
const clone = (value) => (typeof value === 'object' && value !== null ? structuredClone(value) : value);

function samePath(a, b) {
  return a.length === b.length && a.every((segment, i) => segment === b[i]);
}

function typeName(value) {
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

/**
 * The diff that pending edits move through when a snapshot skips over changes: the patches
 * that turn `from` into `to`, as the Rust crate's `diff_for_rebase` gives them for JSON
 * values. An object key by key (those only in `from` removed, then those only in `to` added,
 * the others diffed); a list: its common prefix and suffix skipped, the middle aligned by a
 * longest common subsequence when it is small (at most 4,096 pairs compared) or by position,
 * each element removed or inserted one patch, and an element removed where another is
 * inserted replaced whole (nothing tells one element changed from one removed and another
 * inserted: an edit of it conflicts rather than landing on another element); anything else
 * replaced when it differs.
 *
 * @param {any} from
 * @param {any} to
 * @returns {Patch[]}
 */
export function diffForRebase(from, to) {
  return diff(from, to, false);
}

/**
 * The patches that turn `from` into `to` in detail, for listeners of parts of the state: as
 * `diffForRebase`, with a list element paired with another (changed in place, or one removed
 * where another is inserted) written part by part where both are objects or both lists, rather
 * than replaced whole.
 *
 * @param {any} from
 * @param {any} to
 * @returns {Patch[]}
 */
export function diffInDetail(from, to) {
  return diff(from, to, true);
}

/** The diff of `diffForRebase`; `inDetail`: paired list elements diffed part by part. */
function diff(from, to, inDetail) {
  /** @type {Patch[]} */
  const patches = [];
  const walk = (a, b, path) => {
    if (a === b) return;
    if (isObject(a) && isObject(b)) {
      for (const key of Object.keys(a)) {
        if (!Object.hasOwn(b, key)) patches.push({ op: 'remove', path: [...path, key] });
        else if (!deepEqual(a[key], b[key])) walk(a[key], b[key], [...path, key]);
      }
      for (const key of Object.keys(b)) {
        if (!Object.hasOwn(a, key)) patches.push({ op: 'add', path: [...path, key], value: b[key] });
      }
    } else if (Array.isArray(a) && Array.isArray(b)) {
      diffList(a, b, path, patches, inDetail ? walk : null);
    } else if (!deepEqual(a, b)) {
      patches.push({ op: 'replace', path, value: b });
    }
  };
  walk(from, to, []);
  return patches;
}

/** The most pairs of list elements the middle of a list diff compares to align them. */
const ALIGNED = 4096;

/** A list's diff (see `diffForRebase`); `walk`: how two paired elements are diffed, if not by a `replace`. */
function diffList(from, to, path, patches, walk) {
  const same = (i, j) => deepEqual(from[i], to[j]);
  const shorter = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < shorter && same(prefix, prefix)) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && same(from.length - 1 - suffix, to.length - 1 - suffix)) suffix++;
  const n = from.length - suffix - prefix;
  const m = to.length - suffix - prefix;
  const steps = n * m <= ALIGNED ? aligned(n, m, (i, j) => same(prefix + i, prefix + j)) : positional(n, m);
  // The steps, with the index each lands on in the list as it is then.
  let at = prefix;
  const change = (i, j) => {
    const a = from[prefix + i];
    const b = to[prefix + j];
    if (same(prefix + i, prefix + j)) return;
    const alike = (isObject(a) && isObject(b)) || (Array.isArray(a) && Array.isArray(b));
    if (walk !== null && alike) walk(a, b, [...path, at]);
    else patches.push({ op: 'replace', path: [...path, at], value: b });
  };
  for (let k = 0; k < steps.length; k++) {
    const [step, i, j] = steps[k];
    const next = steps[k + 1];
    if (step === 'keep') {
      at++;
    } else if (step === 'change') {
      change(i, j);
      at++;
    } else if (step === 'remove') {
      if (next?.[0] === 'insert') {
        k++;
        change(i, next[2]);
        at++;
      } else {
        patches.push({ op: 'remove', path: [...path, at] });
      }
    } else {
      if (next?.[0] === 'remove') {
        k++;
        change(next[1], j);
      } else {
        patches.push({ op: 'add', path: [...path, at], value: to[prefix + j] });
      }
      at++;
    }
  }
}

/** The steps of a longest-common-subsequence alignment of two middles of `n` and `m` elements. */
function aligned(n, m, same) {
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = same(i, j) ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const steps = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(i, j)) {
      steps.push(['keep']);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j])) {
      steps.push(['insert', undefined, j++]);
    } else {
      steps.push(['remove', i++]);
    }
  }
  return steps;
}

/** The steps that pair two middles by position, then remove the extra elements of the first (in order: each at the same index) or insert those of the second. */
function positional(n, m) {
  const common = Math.min(n, m);
  const steps = [];
  for (let i = 0; i < common; i++) steps.push(['change', i, i]);
  for (let i = common; i < n; i++) steps.push(['remove', i]);
  for (let j = common; j < m; j++) steps.push(['insert', undefined, j]);
  return steps;
}
