//! A hub whose document lives in an embedded database (the `immer-store` crate): durable on
//! one machine, with no other process.

use immer::Draftable;
use immer::sync::Outbound;
use immer_store::{Document, Error, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::hub::{Hub, HubBuilder};

impl<T, R> HubBuilder<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// The hub, ready to serve, with the document `name` of `store` (created with the
    /// builder's state when it does not exist): each change is authorized and validated here,
    /// ordered at once, and written durably to the database before anything of it is sent
    /// (its commit, its answer), so a change a client was told was accepted survives a crash
    /// of the server. The answers come from the store's writer once durable; if a change
    /// cannot be written, the hub is closed (see `immer_store::Document`'s "Guarantees").
    /// Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// An `immer-store` error: a bad name, a database that cannot be read, or a stored
    /// document that does not read back as `T` (naming the version).
    pub fn build_on_store(
        self,
        store: &Store,
        name: &str,
    ) -> Result<Hub<T, R, Document<T>>, Error> {
        match store.create(name, &**self.initial_state()) {
            Ok(()) | Err(Error::Exists(_)) => {}
            Err(error) => return Err(error),
        }
        let document = store.document::<T>(name).checks(self.checks()).open()?;
        let messages = store_messages(&document);
        let hub = self.build_with(document);
        hub.deliver_from(messages);
        Ok(hub)
    }
}

/// The channel `document` releases its messages to, once durable (see
/// [`Document::release_to`]).
pub(crate) fn store_messages<T>(document: &Document<T>) -> mpsc::UnboundedReceiver<Outbound<T>>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let (sender, receiver) = mpsc::unbounded_channel();
    document.release_to(move |messages| {
        for message in messages {
            // A hub that is gone listens no more.
            let _ = sender.send(message);
        }
    });
    receiver
}
