//! Keeping one state consistent across nodes by shipping patches: a [`Leader`] orders
//! changes, [`Follower`]s apply them in that order and edit optimistically.
//!
//! The module is transport-agnostic: every message is a serde type, to send as JSON (or
//! anything serde writes) over whatever connects the nodes. Feed what arrives to
//! [`Leader::receive`] or [`Follower::receive`], send what they return, and call
//! [`Follower::poll`] now and then (on a timer, after an edit): it returns what the follower
//! needs to send, retransmissions included.
//!
//! # The protocol
//!
//! - A follower joins with [`ToLeader::Join`] (or, in process, [`Leader::join`]): the leader
//!   opens a *session*, one per follower incarnation, and answers with a [`Welcome`] that
//!   holds the session and a [`Snapshot`]. A follower that restarts, even under the same
//!   [`ClientId`], joins again and gets a new session, so nothing its previous life sent is
//!   mistaken for its own.
//! - A follower's edit is applied to its own state at once and queued as a [`Change`]. One
//!   change at a time is in flight: the next is sent when the leader has answered the one
//!   before, so each change is based on a version the follower has confirmed.
//! - The leader moves a change made against an older version through the changes committed
//!   since (see [`transform`](crate::transform)): list indices shift with the inserts and
//!   removals committed before them, and an edit of an element or key removed or replaced
//!   meanwhile is rejected. It then applies the change atomically, gives it the next version,
//!   and returns a [`Committed`] for every follower, or a [`Rejected`] for its author. Each
//!   session's last answer is kept (cut short, see [`RejectReason::shortened`]), so a
//!   retransmitted change is answered again, never applied twice, for as long as the session
//!   is open ([`Leader::close_session`] ends one).
//! - Nothing a change holds counts as sent: the leader reads its paths as the state's types
//!   read them (a list position written as the string `"2"` is the position 2, moved as
//!   such) and commits it as the typed state writes it ([`apply_canonical`](crate::apply_canonical)):
//!   members a type does not have are dropped, numbers and positions are written as the
//!   types write them. Every follower, typed or holding JSON, holds the leader's state. A
//!   change with no patches is refused ([`RejectReason::Empty`]), and so is one whose move
//!   would cost more than the [move limit](Leader::with_move_limit), before it is moved.
//! - A follower applies committed changes in version order, buffering early ones and ignoring
//!   duplicates, and moves its pending edits through each change from another session as it
//!   arrives, with the same transformation ([`Follower::receive_all`] moves them through a
//!   whole run of changes at once, and brings its local state along by applying the run once;
//!   it builds the local state anew from the confirmed one only when an edit leaves the
//!   queue). When an edit is dropped, the edits made after it are moved back through its
//!   inverse, so that they still land on their own elements (see the rules below).
//!
//! # Edits whose target was replaced, and edits that depend on a dropped one
//!
//! These rules decide every case the guarantees below leave open; the transformation
//! ([`transform`](crate::transform())) applies them the same way at the leader, at a follower,
//! and in the JavaScript client.
//!
//! - **A target replaced is gone.** A path below a value that an earlier change replaced or
//!   removed as a whole (a struct field, a map key, a whole list, a list element) has no place
//!   to land: the edit conflicts. A list element replaced whole (by `set`, a swap, a reversal
//!   written element by element, or the diff to a snapshot) is *another element*: a
//!   `remove` or `replace` of that element conflicts too, as does any edit below it. An edit is
//!   never moved onto an element its author did not edit.
//! - **Two writes of one field, key or list element** keep the later one in the leader's
//!   order; an insert is not a write of what was at its index (it goes before it).
//! - **After a snapshot** the changes it skips are unknown: the edits not yet sent move
//!   through the [`diff`](crate::diff) from the confirmed state to the snapshot, in which
//!   list elements that differ at the same position count as replaced whole, so an edit of
//!   one of them is dropped (and reported), never moved onto another element. (An element that
//!   another node changed while it stayed in place is one of them: the diff cannot tell it from
//!   one removed and another inserted.)
//! - **Edits that depend on a dropped one.** When an edit leaves the queue (dropped, or the
//!   change in flight waiting out of the state for the leader's answer), each later edit is
//!   moved back through its inverse. A later edit *depends* on it, and is taken out too, when
//!   it edits something the dropped edit created or replaced (a path below it), when it
//!   writes, removes or moves a whole value inside which the dropped edit changed something
//!   (a reversal, sort or rewrite of the list holding an element it ticked, a removal of
//!   that element), or when it writes again, as a list or an object, the very value the
//!   dropped edit wrote (a list of tags written from the one before). A value a recipe
//!   computed from what a dropped edit wrote elsewhere (a title copied into a todo) is not
//!   traced: patches carry paths, not where a value came from.
//! - **How a dependent edit is reported.** [`DropReason::AfterDropped`] names the edit it
//!   depended on when that edit was itself reported dropped. When it depended on the change in
//!   flight, which only the leader decides, it is dropped for the reason that change left the
//!   state (its [`DropReason::Conflict`] or [`DropReason::DoesNotApply`]), never as
//!   "after" a change that may still be accepted.
//! - [`Follower::poll`] asks for the committed changes after the follower's version
//!   ([`ToLeader::Resync`]), so a lost broadcast is found even when nothing else arrives. The
//!   leader answers with those changes from its log, or with a [`Snapshot`] when it no longer
//!   holds them (after [`Leader::compact`]). A snapshot sent to a session says how that
//!   session's last answered change ended ([`Answered`]).
//!
//! # Guarantees
//!
//! For any loss, duplication, reordering and delay of messages, partitions, and followers
//! that crash and join again, as long as the network eventually delivers what is sent often
//! enough:
//!
//! 1. **One order.** The leader's log is one total order of the changes it accepted; each is
//!    in it once, under the session and id it was sent with, however often it was sent.
//! 2. **Exactly one outcome.** Every edit a follower makes (and does not lose by crashing) is
//!    reported exactly once, as [`FollowerEvent::Accepted`] with the version it became, or as
//!    [`FollowerEvent::Dropped`] with a [`DropReason`]; never both, never neither. A dropped
//!    edit is never committed, and an accepted one is in the log at the version reported,
//!    also when the follower learned of it from a snapshot.
//! 3. **Where its author meant.** An accepted edit lands on the element its author edited,
//!    found by moving its paths through everything committed between the author's version
//!    and its own; an edit whose element was removed or replaced meanwhile is dropped. Edits
//!    made after a dropped one still land on their own elements.
//! 4. **Convergence.** Once the network heals and a follower's edits are answered, its state
//!    equals the leader's at the same version, which equals a replay of the committed changes
//!    from the start.
//! 5. **Local first.** A follower sees its own edits at once; its state is its confirmed
//!    version with its pending edits applied, moved through everything confirmed since.
//! 6. **No panic.** No message, however malformed or hostile, makes a leader or a follower
//!    panic; a change that cannot be ordered is [`Rejected`] with a [`RejectReason`].
//!
//! Not guaranteed:
//!
//! - that an edit is accepted: an edit of an element another node removed or replaced is
//!   dropped (and reported), not merged; two writes to the same field keep the later one;
//! - any order between edits of different followers beyond the leader's;
//! - progress while the leader is unreachable: followers keep editing locally, and their
//!   edits queue until it answers (the leader is a single point of ordering, not replicated);
//! - that an edit survives a [`Snapshot`] exactly as a change would (see the rules above on
//!   snapshots). The change in flight keeps its one outcome: the snapshot's [`Answered`] says
//!   it, or it waits, out of the follower's state, for the leader's answer;
//! - edits a follower had not yet had answered when it crashed, unless it kept them (see
//!   [below](#keeping-a-follower-across-restarts)): the one in flight may still be committed
//!   (under the old session, seen by everyone as another session's change), the others are
//!   lost with the process.
//!
//! # Keeping a follower across restarts
//!
//! A native app that keeps its follower shows the saved state at once after a restart,
//! offline too, goes on in the saved session and sends the saved edits again: the leader
//! answers each exactly once (by the [answer rule](Sessions#the-answer-rule), for as
//! long as it keeps the session), as if the process had never stopped.
//!
//! ## When to save
//!
//! - **After [`poll`](Follower::poll), before sending what it returned.** The one
//!   rule that matters: a change goes out only once a save holds it in flight. A follower
//!   restored from an older save would give its ids to other edits (or batch them
//!   otherwise), which the leader would take for the change it has seen.
//! - **After [`edit`](Follower::edit)**, to keep the edit: one made after the last
//!   save is lost with the process (it was never sent, so nothing else is).
//! - **After [`receive`](Follower::receive)** and
//!   [`take_events`](Follower::take_events), to keep the progress: a follower
//!   restored from an older save asks for what it missed again, and may report an outcome
//!   it had reported already (the leader answers a change again as it ended); it never
//!   applies an edit twice.
//!
//! Saving after every call that changes the follower does all of it. A save writes the whole
//! state ([`FileStore`] flushes it to the disk): an app with a large state and many edits a
//! second saves in the background, at most one save at a time and the newest state each
//! time, and sends a change once a finished save holds it in flight
//! ([`SavedFollower::in_flight_id`]), as the JavaScript client and `immer-nats` documents do.
//!
//! ## A session the leader no longer knows
//!
//! A leader keeps a session until it is closed ([`Leader::close_session`]); one restarted on
//! a durable store restores them ([`Leader::restore_session`]). A change of a session it
//! does not know is refused ([`RejectReason::UnknownSession`]), and the follower reports it
//! dropped: join again for a new session.
//!
//! ## Examples
//!
//! ```
//! use immer_core::sync::{Follower, FollowerStore, Leader, MemoryStore};
//! use std::sync::Arc;
//!
//! let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
//! let mut store = MemoryStore::new();
//! let mut ann = Follower::new(leader.join(1));
//! ann.edit(|d| d.push(1));
//! let out = ann.poll();
//! ann.save_to(&mut store).unwrap(); // before sending
//! drop((ann, out)); // killed before the message left
//!
//! let mut ann = Follower::<Vec<u32>>::load_from(&store).unwrap().expect("saved");
//! for message in ann.poll() {
//!     for out in leader.receive(message) {
//!         ann.receive(out.message);
//!     }
//! }
//! assert_eq!(**leader.state(), [1]);
//! assert!(ann.is_settled());
//! ```
//!
//! # Where the rules live
//!
//! Every transport (this crate's in-process [`Leader`], `immer-nats`' JetStream documents,
//! `immer-web`'s hub) calls these rules; none writes its own.
//!
//! - The messages and their JSON shapes: [`Change`], [`Committed`], [`Rejected`],
//!   [`Snapshot`], [`Answered`], [`RejectReason`], [`ToLeader`], [`ToFollower`]; a follower's
//!   [`FollowerEvent`]s and [`DropReason`]s are written as the JavaScript client writes them.
//! - The session table and the answer rule: [`Sessions`] (a change sent again is answered
//!   again, never applied twice).
//! - The hooks and bounds: [`Checks`] ([`Validator`], [`Authorizer`], the move limit).
//! - The order of a change: [`Leader::prepare`] (cheap refusals, the move through what was
//!   committed since its base, the canonical form, the authorizer, the validator).
//! - The seam a transport plugs into, and what a transport must do: [`Backend`].
//! - The follower: [`Follower`] (and its JavaScript twin, held to the same answers by shared
//!   traces).
//! - Undo and redo of a user's own edits, moved through what others committed since:
//!   [`UndoManager`] (and its JavaScript twin, held to the same answers by shared vectors).
//! - A follower kept across restarts of its process: [`Follower::save`] and
//!   [`Follower::restore`], [`SavedFollower`] (the JSON the JavaScript client's
//!   `Follower.save` writes), and where it is kept, [`FollowerStore`] ([`FileStore`],
//!   [`MemoryStore`]); see [above](#keeping-a-follower-across-restarts).

mod backend;
mod checks;
mod follower;
mod leader;
mod messages;
mod names;
mod persist;
mod sessions;
mod subscriptions;
mod undo;

pub use backend::Backend;
pub use checks::{Authorizer, Checks, Validator};
pub use follower::{DropReason, Follower, FollowerEvent};
pub use leader::{AppendError, Leader};
pub use messages::{
    Answered, Change, ClientId, Committed, Outbound, Outcome, Recipient, RejectReason, Rejected,
    SessionId, Snapshot, ToFollower, ToLeader, Welcome,
};
pub use names::{DOCUMENT_NAME_RULE, is_document_name};
pub use persist::{
    FileStore, FollowerStore, MemoryStore, PersistError, SAVED_FORMAT, SavedFollower,
};
pub use sessions::{Admission, Sessions};
pub use subscriptions::{PathChange, SubscriptionId, Subscriptions};
pub use undo::{Refused, SkipReason, Skipped, UndoAction, UndoError, UndoManager, Undone};
