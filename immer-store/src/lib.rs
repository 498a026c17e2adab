//! Documents of [immer] drafts kept durable in an embedded database: the single-machine
//! default, with the same sync core as every transport.
//!
//! A [`Store`] is one [redb](https://docs.rs/redb) file holding documents by name: each one's
//! newest snapshot and the changes committed after it. A [`Document`] opened from it is
//! ordered at once by an in-process [`Leader`](immer::sync::Leader), and each change is
//! written durably (see [`Store`]'s "Durable") before anything of it is sent (its commit,
//! its answer), so a change anyone was told was accepted survives a crash. The document
//! does not wait for the disk to order its next change: its answers come later, in version
//! order, once durable (see [`Document`]'s "Pipelined commits" and "Guarantees"). It is an
//! [`immer::sync::Backend`]: the WebSocket hub serves it as it serves the in-process leader
//! or a JetStream document.
//!
//! Why redb: a pure-Rust embedded database (no C toolchain, no server), ACID with
//! copy-on-write B-trees and checksummed commit slots, so a file cut short by a crash opens at
//! its last commit, and a damaged one is refused with an error, never half-read.

mod commit;
mod document;
mod error;
mod release;
mod store;

pub use document::{Document, DocumentBuilder};
pub use error::{Error, NAME_RULE, check_name};
pub use store::Store;
