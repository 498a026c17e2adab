//! Where a saved follower is kept: the trait, and a store in memory.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// Where a follower's durable part is kept: one record, replaced whole at each save.
///
/// A store holds bytes (a [`SavedFollower`](super::SavedFollower) as JSON, or a record of a
/// transport's that holds one); [`Follower::save_to`](crate::sync::Follower::save_to) and
/// [`Follower::load_from`](crate::sync::Follower::load_from) encode and decode it.
/// [`FileStore`](super::FileStore) keeps it in a file, [`MemoryStore`](super::MemoryStore)
/// in memory (for tests); a store of your own (a database row, the platform's key-value
/// store) implements these three methods.
///
/// # What a store must do
///
/// A [`save`](FollowerStore::save) replaces the record all or nothing: after a crash at any
/// moment, [`load`](FollowerStore::load) gives the record before it or the one it wrote,
/// never a mix or a part. A record cut short or damaged anyway (by another writer, a failing
/// disk) is refused when read ([`PersistError`](super::PersistError)), never a panic.
///
/// # Examples
///
/// A store that keeps the record in a shared string:
///
/// ```
/// use immer_core::sync::{Follower, FollowerStore, Leader};
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Default)]
/// struct Shared(Arc<Mutex<Option<Vec<u8>>>>);
///
/// impl FollowerStore for Shared {
///     fn load(&self) -> std::io::Result<Option<Vec<u8>>> {
///         Ok(self.0.lock().unwrap().clone())
///     }
///     fn save(&mut self, bytes: &[u8]) -> std::io::Result<()> {
///         *self.0.lock().unwrap() = Some(bytes.to_vec());
///         Ok(())
///     }
///     fn remove(&mut self) -> std::io::Result<()> {
///         *self.0.lock().unwrap() = None;
///         Ok(())
///     }
/// }
///
/// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
/// let mut ann = Follower::new(leader.join(1));
/// let mut store = Shared::default();
/// ann.edit(|d| d.push(1));
/// ann.save_to(&mut store).unwrap();
/// let again = Follower::<Vec<u32>>::load_from(&store).unwrap().expect("saved");
/// assert_eq!(**again.state(), [1]);
/// ```
pub trait FollowerStore {
    /// The record saved last, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    fn load(&self) -> io::Result<Option<Vec<u8>>>;

    /// Replaces the record with `bytes`, all or nothing.
    ///
    /// # Errors
    ///
    /// When the store cannot be written; the record before stays.
    fn save(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Forgets the record (nothing to do when there is none): the next
    /// [`load`](FollowerStore::load) gives `None`. What to do with a record that cannot be
    /// read, to start fresh.
    ///
    /// # Errors
    ///
    /// When the store cannot be written.
    fn remove(&mut self) -> io::Result<()>;
}

impl<S: FollowerStore + ?Sized> FollowerStore for &mut S {
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        (**self).load()
    }

    fn save(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).save(bytes)
    }

    fn remove(&mut self) -> io::Result<()> {
        (**self).remove()
    }
}

impl<S: FollowerStore + ?Sized> FollowerStore for Box<S> {
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        (**self).load()
    }

    fn save(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).save(bytes)
    }

    fn remove(&mut self) -> io::Result<()> {
        (**self).remove()
    }
}

/// A [`FollowerStore`] in memory, for tests: its clones share one record, so a test can
/// keep one while a follower's transport owns another, and read what it saved.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{FollowerStore, MemoryStore};
///
/// let store = MemoryStore::new();
/// let mut owned = store.clone();
/// owned.save(b"{}").unwrap();
/// assert_eq!(store.load().unwrap().as_deref(), Some(&b"{}"[..]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    record: Arc<Mutex<Option<Vec<u8>>>>,
}

impl MemoryStore {
    /// A store that holds nothing yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Option<Vec<u8>>> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FollowerStore for MemoryStore {
    fn load(&self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.record().clone())
    }

    fn save(&mut self, bytes: &[u8]) -> io::Result<()> {
        *self.record() = Some(bytes.to_vec());
        Ok(())
    }

    fn remove(&mut self) -> io::Result<()> {
        *self.record() = None;
        Ok(())
    }
}
