//! Documents of [`immer`] drafts replicated through NATS JetStream: a durable change log
//! with failover, shared by any number of app servers, with no leader process.
//!
//! # The model
//!
//! - **The stream is the leader.** Every document is one subject of a JetStream stream
//!   (`immer.<stream>.<document>`); its messages are the document's committed changes
//!   ([`Committed`](immer::sync::Committed), as JSON), in order. A change's version counts
//!   the document's changes; the stream sequence of its message is where it sits in the log.
//! - **Optimistic appends.** A node orders its own change as the in-process
//!   [`Leader`](immer::sync::Leader) would (moving it through the changes committed since
//!   the version it was made against, then validating it) and appends it with JetStream's
//!   `Nats-Expected-Last-Subject-Sequence` set to the last message it applied. When another
//!   node got there first, the append fails, the node applies what it missed as it arrives,
//!   moves its change through it, and appends again. Each append carries a `Nats-Msg-Id` made
//!   of the node's session and the change's id, so a retry after a lost acknowledgement is
//!   dropped by JetStream's deduplication instead of being appended twice.
//! - **Followers, as in process.** Every node follows its documents' subjects (through one
//!   consumer for all of them, see below) and is a [`Follower`](immer::sync::Follower) of
//!   each: local edits show at once, move
//!   through the changes of other nodes, and end exactly once as
//!   [`Accepted`](immer::sync::FollowerEvent::Accepted) or
//!   [`Dropped`](immer::sync::FollowerEvent::Dropped), with the guarantees of
//!   [`immer::sync`]. Waiting edits go out as one append ([`DocumentBuilder::batch`]).
//! - **One rule decides.** A message takes effect only when its version is the one after
//!   the last that did; every node skips any other alike. JetStream's expected sequence
//!   makes such a message rare: a retry whose first attempt landed unseen, or, in a cluster
//!   of nats-server older than 2.9.21, two appends accepted with the same expectation
//!   (nats-server#4320). An author whose append was skipped appends its change again, under
//!   a new message id.
//! - **Kept across restarts.** [`DocumentBuilder::persist`] keeps a node's copy of a
//!   document in a [`FollowerStore`](immer::sync::FollowerStore) (a
//!   [`FileStore`](immer::sync::FileStore) for a native app): its session, its waiting edits
//!   and change in flight, saved after every change of them, one save at a time. A change is
//!   appended only once a save holds it in flight, so a node killed at any moment goes on
//!   from its last save at its next join, sending the same change under the same message id,
//!   which the log decides once.
//! - **Sessions outlive their node.** Every committed change names its client, session and
//!   id, so every node derives from the log the sessions that committed lately, each with
//!   its client and last committed change, and a snapshot carries them: a remote client
//!   whose node was killed, or that reconnects to another node, resumes its session there
//!   ([`Document::resume_session`]), its change sent again answered as it ended, never
//!   appended twice.
//! - **Snapshots** of a document live in a JetStream object store, pointed to by a key-value
//!   bucket entry that says the version and stream sequence they include. The node that
//!   commits every [`Config::snapshot_every`]-th change writes one; with
//!   [`Config::compact`] it then purges the subject up to it. A starting node loads the
//!   newest snapshot and replays the tail; a node that finds the log purged past its
//!   position reloads from the snapshot and keeps its waiting edits where it can.
//!
//! # How a node spends its time
//!
//! - **One reader of the log per node.** A [`Store`] (and every clone of it) follows the
//!   documents it has open through one ordered consumer over the stream's whole subject
//!   space, `immer.<stream>.*` (nats-server 2.9 has no consumer over several chosen
//!   subjects), and hands each message to the documents open by its subject; a message of a
//!   document not open here is dropped by its subject, never decoded. A document joins the
//!   reader where it is, and reads what it needs from before that itself (directly, one
//!   request per message, for up to 8; through a pull consumer of its own, deleted after,
//!   for more). The price: every node receives every change of the stream, open here or
//!   not; documents that different nodes serve belong in different streams
//!   ([`Config::stream`]).
//! - **The document's work runs on a pool of threads, never on the runtime's.** Applying
//!   committed changes (to the node's replica of the log and to its
//!   [`Follower`](immer::sync::Follower), which moves every waiting edit through each foreign
//!   change), ordering this node's change for an append, and encoding, decoding and
//!   reloading snapshots are CPU work that grows with the state and the edits waiting. The
//!   process has one pool of threads for it (as many as cores, 2 to 8), shared by all the
//!   documents it has open: a document's work is done in order, one step (a run, or an
//!   append to order) at a time, never by two threads at once, and a busy document yields
//!   its thread after each step. The async task of each document only talks to NATS (takes
//!   its messages from the reader, appends, waits for acknowledgements), so a node that is
//!   busy catching up still reads, appends and answers heartbeats on time, and so do the
//!   other tasks of the app.
//! - **What a node costs per open document**: one tokio task, its replica and follower
//!   (the state twice, shared by structure, plus the edits waiting), and a place in the
//!   reader; no thread and no consumer on the server. With 1,000 small documents open, a
//!   node held 2 more threads than before it opened them, 1 consumer on the server, and about
//!   24 KiB of memory per document (`cargo run --release -p immer-nats --example nats_many`;
//!   BENCHMARKS.md has the figures). An idle document costs no timer and no request: the
//!   reader alone asks where the log ends when its consumer has been quiet for half a second.
//! - **Runs.** The node hands what the reader has ready for a document to its work at once,
//!   and the pool applies everything waiting (up to 1,024 messages) as one run: one lock of
//!   the document and one pass of the follower, instead of one per message. While a run is
//!   applied, [`Document::edit`] and the other getters wait for it.
//! - **Catching up in batches.** A document that falls 4,096 messages behind the reader (its
//!   work is busy with a long run) is dropped from it and joins it again from its own
//!   position; one that waits for the log (its own append's message, or the one that refused
//!   it) and hears nothing for a fifth of a second asks where its log ends. Either reads the
//!   missed range through a pull consumer of its own, 1,000 messages per request.
//! - **Refused appends.** JetStream refuses an append whose expected sequence is no longer
//!   the subject's last with error 10071 (wrong last sequence, with the sequence), and, in a
//!   cluster of nats-server 2.10 and later while another append to the subject is in
//!   process, with 10164 (wrong last sequence, without it). Both mean that someone appended
//!   first: the node waits for what it missed, moves its change through it, and appends
//!   again (when the log turns out to end where the node is, at once).
//! - **Joining through an outage.** [`Store::open`] and [`DocumentBuilder::join`] retry
//!   what is transient (JetStream not answering or not ready yet, as when a server restarts
//!   or a cluster elects its leader, no responders, time-outs) until
//!   [`Config::join_timeout`], and then return the last error.
//!
//! Set the environment variable `IMMER_NATS_DEBUG` to have nodes say on stderr when they
//! follow the log anew, catch up, reload a snapshot, or retry an append.
//!
//! # Examples
//!
//! ```no_run
//! use immer::Draftable;
//! use immer_nats::{Config, Store};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
//! struct Board {
//!     todos: Vec<String>,
//! }
//!
//! # async fn run() -> Result<(), immer_nats::Error> {
//! let client = async_nats::connect("127.0.0.1:4222").await.map_err(immer_nats::Error::nats)?;
//! let store = Store::open(client, Config::default()).await?;
//! store.create("board", &Board::default()).await.ok(); // once, by anyone
//! let board = store.document::<Board>("board").client(7).join().await?;
//! board.edit(|d| d.todos().push("write the docs".into()));
//! board.settle(std::time::Duration::from_secs(5)).await?;
//! assert_eq!(board.state().todos, ["write the docs"]);
//! # Ok(())
//! # }
//! ```

// The store first: rustdoc lists the methods of `Store` in the order of their modules, and
// `Store::document`, defined beside the builder it makes, comes last.
mod config;
mod error;
mod store;

mod builder;
mod document;
mod node;
mod persist;
mod pool;
mod reader;
mod sessions;
mod worker;

pub use crate::builder::DocumentBuilder;
pub use crate::config::Config;
pub use crate::document::Document;
pub use crate::error::Error;
pub use crate::store::Store;
