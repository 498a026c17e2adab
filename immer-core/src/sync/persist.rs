//! Keeping a follower across restarts of its process: its durable part
//! ([`SavedFollower`]), where it is kept ([`FollowerStore`]: [`FileStore`],
//! [`MemoryStore`]), and why it may not read back ([`PersistError`]).
//!
//! See the [module docs](super#keeping-a-follower-across-restarts) for when to save.

mod error;
mod file;
mod saved;
mod store;

pub use error::PersistError;
pub use file::FileStore;
pub(crate) use saved::{ChangeTag, SavedChange, SavedChangeMessage, SavedEdit};
pub use saved::{SAVED_FORMAT, SavedFollower};
pub use store::{FollowerStore, MemoryStore};
