//! A hub whose document lives in NATS JetStream (the `immer-nats` crate): any number of
//! servers, each with its own WebSocket clients, share one log; their clients' presences
//! cross between them over core NATS, outside the log.

use futures_util::StreamExt;
use immer::Draftable;
use immer_nats::{Document, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::PresenceChannel;
use crate::hub::MOST_HEARD;
use crate::hub::{Hub, HubBuilder};

/// How many presence messages wait to be published for a document's hub: more are dropped
/// (the next heartbeat says them again).
const PRESENCE_QUEUE: usize = 256;
/// How many presence messages of the other servers wait for a document's hub to read them,
/// each at most [`MOST_HEARD`] (a longer one is dropped unread): more are dropped (the next
/// heartbeat says them again). What NATS can make a server hold per open document.
const PRESENCE_HEARD: usize = 32;

/// The presence channel of `document` of `store`: its subject on core NATS
/// ([`Store::presence_subject`]), subscribed until the hub lets go of the channel. `None` when
/// the subscription fails (the document is served without other servers' presences).
async fn presence_channel(store: &Store, document: &str) -> Option<PresenceChannel> {
    let client = store.connection();
    let subject = store.presence_subject(document);
    let mut subscriber = client.subscribe(subject.clone()).await.ok()?;
    let (outgoing, mut to_publish) = mpsc::channel::<Vec<u8>>(PRESENCE_QUEUE);
    let (heard, incoming) = mpsc::channel(PRESENCE_HEARD);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = to_publish.recv() => {
                    // None: the hub let go of the channel.
                    let Some(message) = message else { break };
                    // A failed publish is a presence the next heartbeat says again.
                    let _ = client.publish(subject.clone(), message.into()).await;
                }
                message = subscriber.next() => {
                    let Some(message) = message else { break };
                    // Longer than another server writes: not read, not copied.
                    if message.payload.len() > MOST_HEARD {
                        continue;
                    }
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        heard.try_send(message.payload.to_vec())
                    {
                        break;
                    }
                }
            }
        }
        let _ = subscriber.unsubscribe().await;
    });
    Some(PresenceChannel { outgoing, incoming })
}

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
        if let Some(channel) = presence_channel(store, name).await {
            hub.relay_presence(channel);
        }
        Ok(hub)
    }
}

impl From<immer_nats::Error> for crate::DocumentError {
    fn from(error: immer_nats::Error) -> Self {
        match error {
            immer_nats::Error::InvalidName(_) => {
                crate::DocumentError::InvalidName(error.to_string())
            }
            immer_nats::Error::NotFound(name) => crate::DocumentError::NotFound(name),
            immer_nats::Error::Exists(name) => crate::DocumentError::Exists(name),
            other => crate::DocumentError::Storage(other.to_string()),
        }
    }
}

/// A [`Server`](crate::Server)'s documents in NATS JetStream: any number of servers share
/// them, each a node of the documents its clients use (see `immer_nats`).
impl<T> crate::Storage<T> for Store
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Backend = JetStream<T>;

    async fn open(
        &self,
        name: &str,
        checks: immer::sync::Checks<T>,
    ) -> Result<JetStream<T>, crate::DocumentError> {
        Ok(self.document::<T>(name).checks(checks).join().await?)
    }

    fn later(
        backend: &JetStream<T>,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<immer::sync::Outbound<T>>> {
        Some(backend.remote_messages())
    }

    async fn create(
        &self,
        name: &str,
        state: std::sync::Arc<T>,
    ) -> Result<(), crate::DocumentError> {
        Ok(Store::create(self, name, &*state).await?)
    }

    async fn delete(&self, name: &str) -> Result<bool, crate::DocumentError> {
        match Store::delete(self, name).await {
            Ok(()) => Ok(true),
            Err(immer_nats::Error::NotFound(_)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn list(&self) -> Result<Vec<String>, crate::DocumentError> {
        Ok(self.documents().await?)
    }

    async fn presence_channel(&self, name: &str) -> Option<PresenceChannel> {
        presence_channel(self, name).await
    }
}
