//! Edits from the server itself (a REST handler, a background job): ordered, authorized and
//! validated like any client's change, and seen by every client at once.

use immer::sync::{
    Change, ClientId, Outbound, Recipient, RejectReason, SessionId, ToFollower, ToLeader,
};
use immer::{Draftable, PatchDraft, produce_with_patches};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::{Backend, Core, Hub, Identity};

/// A session the server edits in, as one identity.
pub(super) struct ServerSession {
    client: ClientId,
    session: SessionId,
    /// The number of its last change.
    last: u64,
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// Edits the document with a typed recipe, as `identity` (the server's own: its role
    /// decides what it may write, by the [`Policy`](crate::Policy)). The change goes the way
    /// a client's goes: the hub's limits and cheap checks, then the backend (moved through
    /// what was committed since, authorized, validated, made durable where the backend is),
    /// and every client receives it at once. Resolves with the version it became, or why it
    /// was refused; a recipe that changes nothing resolves with the current version and
    /// commits nothing.
    ///
    /// Each identity edits in one session of its own, opened at its first edit; its edits
    /// are ordered in the order they are made.
    ///
    /// # Errors
    ///
    /// The [`RejectReason`] it was refused with.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use immer_web::{Hub, Identity, Policy};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Hub<Vec<u32>, &str> = Hub::builder(Arc::new(vec![1]))
    ///     .policy(Policy::new().allow("job", "/**".parse().unwrap()))
    ///     .build();
    /// let job = Identity { user: "nightly".to_owned(), role: "job" };
    /// let version = hub.edit(job, |d| d.push(2)).await.unwrap();
    /// assert_eq!((version, hub.state().to_vec()), (1, vec![1, 2]));
    /// # });
    /// ```
    pub async fn edit<F>(&self, identity: Identity<R>, recipe: F) -> Result<u64, RejectReason>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let answer = {
            let mut core = self.core();
            let (state, version) = (core.backend.state(), core.backend.version());
            let (_, patches, _) = produce_with_patches(&state, recipe);
            if patches.is_empty() {
                return Ok(version);
            }
            if let Some(reason) = self.precheck(&identity.role, &patches) {
                return Err(reason);
            }
            let (client, session, id) = self.server_session(&mut core, identity);
            let (answer, answered) = oneshot::channel();
            core.waiting.insert((session, id), answer);
            let change = Change {
                client,
                session,
                id,
                base: version,
                patches,
            };
            let outs = core.backend.receive(ToLeader::Change(change));
            let limits = &self.inner.limits;
            Self::distribute(&mut core, outs, 0, limits);
            core.backend.compact(limits.keep_log);
            answered
        };
        // A backend whose answers come later (a shared log's) answers through `distribute`.
        answer
            .await
            .unwrap_or(Err(RejectReason::UnknownSession { session: 0 }))
    }

    /// The session `identity` edits in (opened at its first edit), its client, and the
    /// number of its next change.
    fn server_session(
        &self,
        core: &mut Core<B>,
        identity: Identity<R>,
    ) -> (ClientId, SessionId, u64) {
        let Core {
            servers,
            backend,
            next_client,
            ..
        } = core;
        let server = servers.entry(identity.user.clone()).or_insert_with(|| {
            let client = *next_client;
            *next_client += 1;
            let session = backend.join(client).session;
            ServerSession {
                client,
                session,
                last: 0,
            }
        });
        server.last += 1;
        // The authorizer reads the identity (its role) by client.
        self.inner
            .identities
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(server.client, identity);
        (server.client, server.session, server.last)
    }

    /// Resolves the server's edit that `out` answers, if it answers one.
    pub(super) fn answer_server(core: &mut Core<B>, out: &Outbound<T>) {
        let (key, answer) = match (&out.to, &out.message) {
            (Recipient::All, ToFollower::Committed(c)) => ((c.session, c.id), Ok(c.version)),
            (Recipient::Session(_), ToFollower::Rejected(r)) => {
                ((r.session, r.id), Err(r.reason.clone()))
            }
            _ => return,
        };
        if let Some(waiter) = core.waiting.remove(&key) {
            // The caller may have stopped waiting.
            let _ = waiter.send(answer);
        }
    }
}
