//! A hub whose document lives in NATS JetStream (the `immer-nats` crate): any number of
//! servers, each with its own WebSocket clients, share one log.

use immer::Draftable;
use immer_nats::{Document, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hub::{Hub, HubBuilder};

/// The [`Backend`](immer::sync::Backend) of a hub on a JetStream log: this server's node of
/// an `immer-nats` document, which appends its clients' changes, each under the client's
/// own session, so that every server's clients see every change. Build a hub on one with
/// [`HubBuilder::build_on_jetstream`].
pub type JetStream<T> = Document<T>;

impl<T, R> HubBuilder<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// The hub, ready to serve, with the document `name` of `store` (created with the
    /// builder's state when it does not exist): this server joins it as a node, its clients'
    /// changes are authorized and validated here and appended to the log, and every change
    /// any server appends reaches its clients. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// An `immer-nats` error: a JetStream failure, a bad name, or a log that cannot be read.
    pub async fn build_on_jetstream(
        self,
        store: &Store,
        name: &str,
    ) -> Result<Hub<T, R, JetStream<T>>, immer_nats::Error> {
        match store.create(name, &**self.initial_state()).await {
            Ok(()) | Err(immer_nats::Error::Exists(_)) => {}
            Err(error) => return Err(error),
        }
        let document = store.document::<T>(name).checks(self.checks());
        let document = document.join().await?;
        let messages = document.remote_messages();
        let hub = self.build_with(document);
        hub.deliver_from(messages);
        Ok(hub)
    }
}
