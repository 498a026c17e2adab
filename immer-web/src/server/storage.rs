//! Where a [`Server`](crate::Server)'s documents live: the [`Storage`] trait, and the
//! embedded store (`immer-store`) behind it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use immer::Draftable;
use immer::sync::{Backend, Checks, Outbound};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// Why a document of a [`Server`](crate::Server) could not be opened, created, deleted or
/// listed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentError {
    /// The name breaks the storage's rule (said in the message).
    InvalidName(String),
    /// No document has this name.
    NotFound(String),
    /// A document has this name already.
    Exists(String),
    /// [`Limits::max_open_documents`](crate::Limits::max_open_documents) documents are open
    /// and in use.
    TooManyOpen(usize),
    /// The storage failed (the database, the network), in words: it names the document, and
    /// the version when a stored change does not read back.
    Storage(String),
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentError::InvalidName(message) | DocumentError::Storage(message) => {
                f.write_str(message)
            }
            DocumentError::NotFound(name) => write!(f, "no document is named {name:?}"),
            DocumentError::Exists(name) => write!(f, "a document is named {name:?} already"),
            DocumentError::TooManyOpen(max) => write!(
                f,
                "every one of the {max} open documents is in use: try again later"
            ),
        }
    }
}

impl std::error::Error for DocumentError {}

impl From<immer_store::Error> for DocumentError {
    fn from(error: immer_store::Error) -> Self {
        match error {
            immer_store::Error::InvalidName { .. } => DocumentError::InvalidName(error.to_string()),
            immer_store::Error::NotFound(name) => DocumentError::NotFound(name),
            immer_store::Error::Exists(name) => DocumentError::Exists(name),
            other => DocumentError::Storage(other.to_string()),
        }
    }
}

/// Where a [`Server`](crate::Server) keeps its documents, by name: it opens each as a
/// [`Backend`] that orders its changes, and keeps the list. Implemented by
/// [`immer_store::Store`] (one file on this machine, durable: the default) and, with the
/// `jetstream` feature, by `immer_nats::Store` (a log shared by many servers): an app moves
/// from one to the other by how it opens its storage, not by its code.
pub trait Storage<T>: Send + Sync + 'static {
    /// An open document.
    type Backend: Backend<T> + Send + 'static;

    /// Opens the document `name`, whose every change passes `checks`. Called at its first
    /// use, once at a time per name.
    fn open(
        &self,
        name: &str,
        checks: Checks<T>,
    ) -> impl Future<Output = Result<Self::Backend, DocumentError>> + Send;

    /// What `backend` sends on its own, later (a shared log's commits and answers), if it
    /// answers later (see [`Backend::answers_later`]).
    fn later(_backend: &Self::Backend) -> Option<mpsc::UnboundedReceiver<Outbound<T>>> {
        None
    }

    /// Creates the document `name` with `state` at version 0.
    fn create(
        &self,
        name: &str,
        state: Arc<T>,
    ) -> impl Future<Output = Result<(), DocumentError>> + Send;

    /// Deletes the document `name` and everything stored of it; `false` when there was none.
    fn delete(&self, name: &str) -> impl Future<Output = Result<bool, DocumentError>> + Send;

    /// The names of the documents, in order.
    fn list(&self) -> impl Future<Output = Result<Vec<String>, DocumentError>> + Send;

    /// For a storage that several servers share: the channel on which they tell each other
    /// what their clients show on document `name` (their presence), opened with the document
    /// and kept while it is open. `None` (the default) for a storage of one server.
    fn presence_channel(
        &self,
        _name: &str,
    ) -> impl Future<Output = Option<crate::PresenceChannel>> + Send {
        async { None }
    }
}

/// Runs `work` (the store's blocking I/O) off the runtime's threads.
async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, immer_store::Error> + Send + 'static,
) -> Result<R, DocumentError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(DocumentError::from),
        Err(error) => Err(DocumentError::Storage(format!(
            "the store's task failed: {error}"
        ))),
    }
}

impl<T> Storage<T> for immer_store::Store
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Backend = immer_store::Document<T>;

    async fn open(&self, name: &str, checks: Checks<T>) -> Result<Self::Backend, DocumentError> {
        let (store, name) = (self.clone(), name.to_owned());
        blocking(move || store.document::<T>(&name).checks(checks).open()).await
    }

    /// Each change's commit and answer, released once durable, in version order; the
    /// channel ends if the document breaks (a change it could not write).
    fn later(backend: &Self::Backend) -> Option<mpsc::UnboundedReceiver<Outbound<T>>> {
        Some(crate::stored::store_messages(backend))
    }

    async fn create(&self, name: &str, state: Arc<T>) -> Result<(), DocumentError> {
        let (store, name) = (self.clone(), name.to_owned());
        blocking(move || store.create(&name, &*state)).await
    }

    async fn delete(&self, name: &str) -> Result<bool, DocumentError> {
        let (store, name) = (self.clone(), name.to_owned());
        blocking(move || store.delete(&name)).await
    }

    async fn list(&self) -> Result<Vec<String>, DocumentError> {
        let store = self.clone();
        blocking(move || store.list()).await
    }
}
