//! A hub whose document lives in an embedded database (the `immer-store` crate): durable on
//! one machine, with no other process.

use immer::Draftable;
use immer_store::{Document, Error, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hub::{Hub, HubBuilder};

impl<T, R> HubBuilder<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// The hub, ready to serve, with the document `name` of `store` (created with the
    /// builder's state when it does not exist): each change is authorized and validated here
    /// and written durably to the database before it is committed and answered, so a change
    /// a client was told was accepted survives a crash of the server.
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
        Ok(self.build_with(document))
    }
}
