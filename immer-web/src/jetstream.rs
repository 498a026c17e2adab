//! A hub whose document lives in NATS JetStream (the `immer-nats` crate): any number of
//! servers, each with its own WebSocket clients, share one log.

use std::sync::Arc;

use immer::Draftable;
use immer::sync::{
    ClientId, Committed, Outbound, Recipient, SessionId, ToFollower, ToLeader, Welcome,
};
use immer_nats::{Document, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hub::{Backend, Hub, HubBuilder};

/// A [`Backend`] on a JetStream log: this server's node of an `immer-nats` document
/// appends its clients' changes, each under the client's own session, and every server's
/// clients see every change. Build one with [`HubBuilder::build_on_jetstream`].
pub struct JetStream<T> {
    document: Document<T>,
}

impl<T> JetStream<T> {
    /// This server's node of the document.
    pub fn document(&self) -> &Document<T> {
        &self.document
    }
}

impl<T> Backend<T> for JetStream<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn join(&mut self, client: ClientId) -> Welcome<T> {
        self.document.open_session(client)
    }

    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        match message {
            // Answered when its message comes back through the log.
            ToLeader::Change(change) => {
                self.document.submit(change);
                Vec::new()
            }
            ToLeader::Resync { session, version } => self
                .document
                .resync(session, version)
                .into_iter()
                .map(|message| Outbound {
                    to: Recipient::Session(session),
                    message,
                })
                .collect(),
            ToLeader::SnapshotRequest { session } => vec![Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Snapshot(self.document.snapshot(session)),
            }],
            ToLeader::Join { client, .. } => vec![Outbound {
                to: Recipient::Sender,
                message: ToFollower::Welcome(self.document.open_session(client)),
            }],
        }
    }

    fn state(&self) -> Arc<T> {
        self.document.confirmed()
    }

    fn version(&self) -> u64 {
        self.document.version()
    }

    fn log(&self) -> Vec<Committed> {
        self.document.log()
    }

    // The node keeps its own window of the log.
    fn compact(&mut self, _keep: u64) {}

    fn close_session(&mut self, session: SessionId) {
        self.document.close_session(session);
    }
}

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
        let checks = self.checks();
        match store.create(name, &*checks.state).await {
            Ok(()) | Err(immer_nats::Error::Exists(_)) => {}
            Err(error) => return Err(error),
        }
        let authorizer = checks.authorizer;
        let mut document = store
            .document::<T>(name)
            .authorizer(move |client, patches| authorizer(client, patches))
            .move_limit(checks.move_limit);
        if let Some(validator) = checks.validator {
            document =
                document.validator(move |state, next, client| validator(state, next, client));
        }
        let document = document.join().await?;
        let messages = document.remote_messages();
        let hub = self.build_with(JetStream { document });
        hub.deliver_from(messages);
        Ok(hub)
    }
}
