// A leader for the follower's unit tests, without a server: it orders changes as the Rust
// `Leader` does (a change made against an older version is moved through the log with
// `transform`, then applied; a conflict or a patch that does not apply is a rejection), keeps
// each session's last answer, answers a resync from its log or, after `compact`, with a
// snapshot that says how the session's last change ended, and writes every message as the
// immer-web server puts it on the wire.
import { applyPatches, enablePatches } from 'immer';
import { transform } from '../transform.js';

enablePatches();

/** Through JSON, as every message travels. */
export const wire = (message) => JSON.parse(JSON.stringify(message));

export class Leader {
  constructor(state) {
    this.state = state;
    this.version = 0;
    /** Committed changes from version `logStart + 1` on. */
    this.log = [];
    this.logStart = 0;
    /** For each session, its last answered change: `{ id, committed }` or `{ id, rejected, message }`. */
    this.answered = new Map();
    this.nextSession = 1;
  }

  /** Opens a session: what a follower starts from. */
  join() {
    return { session: this.nextSession++, version: this.version, state: wire(this.state) };
  }

  /** Forgets the log up to `version`: older resyncs get a snapshot. */
  compact(version) {
    const drop = Math.min(version, this.version) - this.logStart;
    if (drop > 0) {
      this.log.splice(0, drop);
      this.logStart += drop;
    }
  }

  committed(version) {
    return this.log[version - this.logStart - 1];
  }

  snapshotFor(session) {
    return { type: 'snapshot', version: this.version, state: wire(this.state), answered: this.answered.get(session) ?? null };
  }

  /**
   * Handles a client's message; returns what to send, each with its recipient (`'all'` or a
   * session).
   */
  receive(session, message) {
    const to = session;
    if (message.type === 'resync') {
      if (message.version >= this.version) return [];
      if (message.version < this.logStart) return [{ to, message: this.snapshotFor(session) }];
      return this.log.slice(message.version - this.logStart).map((c) => ({ to, message: wire(c) }));
    }
    if (message.type === 'snapshot') return [{ to, message: this.snapshotFor(session) }];
    if (message.type !== 'change') return [];
    const last = this.answered.get(session);
    if (last !== undefined && message.id < last.id) return [];
    if (last !== undefined && message.id === last.id) {
      // A retransmission: answered again, to its author only.
      if (last.committed === undefined) {
        return [{ to, message: { type: 'rejected', session, id: last.id, reason: last.rejected, message: last.message } }];
      }
      const committed = this.committed(last.committed);
      if (committed === undefined) return this.receive(session, { type: 'resync', version: last.committed - 1 });
      return [{ to, message: wire(committed) }];
    }
    const rejected = (reason, text) => {
      this.answered.set(session, { id: message.id, rejected: reason, message: text });
      return [{ to, message: { type: 'rejected', session, id: message.id, reason, message: text } }];
    };
    if (message.base < this.logStart) {
      return rejected({ Compacted: { base_version: message.base, log_start: this.logStart } }, 'compacted');
    }
    let patches = message.patches;
    for (let version = message.base + 1; version <= this.version; version++) {
      const moved = transform(patches, this.committed(version).patches);
      if (!moved.ok) return rejected({ Conflict: { version, conflict: moved.conflict } }, 'conflict');
      patches = moved.mine;
    }
    let next;
    try {
      next = applyPatches(this.state, patches);
    } catch (error) {
      return rejected({ DoesNotApply: { index: 0, path: [], message: String(error.message) } }, 'does not apply');
    }
    this.state = next;
    this.version += 1;
    const committed = wire({ type: 'committed', version: this.version, client: session, session, id: message.id, patches });
    this.log.push(committed);
    this.answered.set(session, { id: message.id, committed: this.version });
    return [{ to: 'all', message: committed }];
  }
}
