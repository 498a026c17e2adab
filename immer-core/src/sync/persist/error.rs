//! Why a follower could not be saved, loaded or restored.

use std::fmt;
use std::io;

use super::SAVED_FORMAT;

/// Why a follower could not be saved, loaded or restored.
///
/// A store that holds something unreadable (a file cut short by a crash of another writer,
/// damaged, or written for another document) gives one of these, never a panic. To start
/// fresh, [`remove`](super::FollowerStore::remove) what it holds and join the leader again.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, FollowerStore, MemoryStore, PersistError};
///
/// let mut store = MemoryStore::new();
/// store.save(br#"{"format": 1, "session": 4, "#).unwrap();
/// let error = Follower::<Vec<u32>>::load_from(&store).unwrap_err();
/// assert!(matches!(error, PersistError::Truncated(_)));
/// assert!(error.to_string().contains("cut short"));
/// store.remove().unwrap(); // start fresh
/// assert!(Follower::<Vec<u32>>::load_from(&store).unwrap().is_none());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PersistError {
    /// The store could not be read or written.
    Io(io::Error),
    /// What the store holds ends before its JSON does: it was cut short.
    Truncated(serde_json::Error),
    /// What the store holds is not JSON.
    NotJson(serde_json::Error),
    /// It is JSON, but not a saved follower of the format this build reads
    /// ([`SAVED_FORMAT`]).
    Format {
        /// Its `format` as written (at most 40 characters of it), or `None` when it has none.
        found: Option<String>,
    },
    /// A saved follower of this format, with a field that does not read as one.
    Malformed(serde_json::Error),
    /// A saved follower whose state is not of the document type it is loaded as (a file of
    /// another document).
    State {
        /// The type it was loaded as.
        type_name: &'static str,
        /// Why the state does not read as one.
        error: serde_json::Error,
    },
    /// A saved follower whose parts do not fit together (ids out of order, an edit that
    /// does not apply to its state).
    Inconsistent(String),
    /// The follower's state has no JSON form, so it cannot be saved.
    Encode(serde_json::Error),
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FRESH: &str = "remove it to start fresh";
        match self {
            PersistError::Io(error) => write!(f, "the saved follower's storage failed: {error}"),
            PersistError::Truncated(error) => write!(
                f,
                "the saved follower is cut short ({error}): it was not written whole; {FRESH}"
            ),
            PersistError::NotJson(error) => {
                write!(f, "the saved follower is not JSON ({error}); {FRESH}")
            }
            PersistError::Format { found: None } => write!(
                f,
                "not a saved follower: it has no `format` (this build reads format \
                 {SAVED_FORMAT}); {FRESH}"
            ),
            PersistError::Format { found: Some(found) } => write!(
                f,
                "not a saved follower of format {SAVED_FORMAT}: its `format` is {found}; {FRESH}"
            ),
            PersistError::Malformed(error) => {
                write!(
                    f,
                    "the saved follower does not read as one: {error}; {FRESH}"
                )
            }
            PersistError::State { type_name, error } => write!(
                f,
                "the saved follower's state is not a `{type_name}` (a file of another \
                 document?): {error}"
            ),
            PersistError::Inconsistent(reason) => {
                write!(
                    f,
                    "the saved follower does not hold together: {reason}; {FRESH}"
                )
            }
            PersistError::Encode(error) => {
                write!(f, "the follower's state has no JSON form to save: {error}")
            }
        }
    }
}

impl std::error::Error for PersistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PersistError::Io(error) => Some(error),
            PersistError::Truncated(error)
            | PersistError::NotJson(error)
            | PersistError::Malformed(error)
            | PersistError::State { error, .. }
            | PersistError::Encode(error) => Some(error),
            PersistError::Format { .. } | PersistError::Inconsistent(_) => None,
        }
    }
}

impl PersistError {
    /// The error for bytes that do not read as JSON at all: [`Truncated`] when they end
    /// before their JSON does, else [`NotJson`]. What
    /// [`SavedFollower::from_slice`](super::SavedFollower::from_slice) says, for a record of
    /// a transport's own that holds a saved follower.
    ///
    /// [`Truncated`]: PersistError::Truncated
    /// [`NotJson`]: PersistError::NotJson
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::PersistError;
    ///
    /// let cut = serde_json::from_slice::<serde_json::Value>(br#"{"a": ["#).unwrap_err();
    /// assert!(matches!(PersistError::unreadable(cut), PersistError::Truncated(_)));
    /// let noise = serde_json::from_slice::<serde_json::Value>(b"}{").unwrap_err();
    /// assert!(matches!(PersistError::unreadable(noise), PersistError::NotJson(_)));
    /// ```
    #[must_use]
    pub fn unreadable(error: serde_json::Error) -> Self {
        match error.classify() {
            serde_json::error::Category::Eof => PersistError::Truncated(error),
            _ => PersistError::NotJson(error),
        }
    }
}

impl From<io::Error> for PersistError {
    fn from(error: io::Error) -> Self {
        PersistError::Io(error)
    }
}
