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
    /// The identity's user and role (as the role serializes).
    user: String,
    role: serde_json::Value,
    client: ClientId,
    session: SessionId,
    /// The number of its last change.
    last: u64,
}

/// Why an edit of the server's own did not become a version.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// Refused, as a client's change would be.
    Rejected(RejectReason),
    /// Neither committed nor refused: the backend could not order it (a store that could not
    /// write it), or the role has no JSON form. Nothing was committed; edit again.
    Unanswered(String),
    /// The document could not be opened (a [`Server`](crate::Server)'s: not found, too many
    /// open, or its storage failed).
    Document(crate::DocumentError),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Rejected(reason) => write!(f, "refused: {reason}"),
            EditError::Unanswered(why) => write!(f, "not committed: {why}"),
            EditError::Document(error) => write!(f, "not committed: {error}"),
        }
    }
}

impl std::error::Error for EditError {}

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
    /// and every client receives it at once. Resolves with the version it became; a recipe
    /// that changes nothing resolves with the current version and commits nothing. The
    /// recipe runs without holding the document: it may read the hub.
    ///
    /// Each identity (user and role) edits in one session of its own, opened at its first
    /// edit; its edits are ordered in the order they are made.
    ///
    /// # Errors
    ///
    /// [`EditError::Rejected`] with the reason it was refused, or
    /// [`EditError::Unanswered`] when the backend could not order it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use immer_web::{Hub, Identity, Policy};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Hub<Vec<u32>, &str> = Hub::builder(Arc::new(vec![1]))
    ///     .policy(Policy::new().allow("job", "/**".parse::<immer_web::PathPattern>().unwrap()))
    ///     .build();
    /// let job = Identity { user: "nightly".to_owned(), role: "job" };
    /// let version = hub.edit(job, |d| d.push(2)).await.unwrap();
    /// assert_eq!((version, hub.state().to_vec()), (1, vec![1, 2]));
    /// # });
    /// ```
    pub async fn edit<F>(&self, identity: Identity<R>, recipe: F) -> Result<u64, EditError>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let role = serde_json::to_value(&identity.role)
            .map_err(|e| EditError::Unanswered(format!("the role has no JSON form: {e}")))?;
        let (state, version) = {
            let core = self.core();
            (core.backend.state(), core.backend.version())
        };
        let (_, patches, _) = produce_with_patches(&state, recipe);
        if patches.is_empty() {
            return Ok(version);
        }
        if let Some(reason) = self.precheck(&identity.role, &patches) {
            return Err(EditError::Rejected(reason));
        }
        let answer = {
            let mut core = self.core();
            if core.closed {
                return Err(EditError::Unanswered(super::CLOSED.to_owned()));
            }
            core.used = std::time::Instant::now();
            let author = identity.user.clone();
            let (client, session, id) = self.server_session(&mut core, identity, role);
            let (answer, answered) = oneshot::channel();
            core.waiting.insert((session, id), answer);
            // Made against `version`: moved through whatever was committed since.
            let change = Change {
                author: Some(author),
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
            if !core.backend.answers_later() && core.waiting.remove(&(session, id)).is_some() {
                return Err(EditError::Unanswered(
                    "the backend neither committed nor refused it".to_owned(),
                ));
            }
            answered
        };
        // A backend whose answers come later (a shared log's) answers through `distribute`.
        match answer.await {
            Ok(Ok(version)) => Ok(version),
            Ok(Err(reason)) => Err(EditError::Rejected(reason)),
            Err(_) => Err(EditError::Unanswered("the hub let go of it".to_owned())),
        }
    }

    /// The session `identity` edits in (opened at its first edit), its client, and the
    /// number of its next change.
    fn server_session(
        &self,
        core: &mut Core<B>,
        identity: Identity<R>,
        role: serde_json::Value,
    ) -> (ClientId, SessionId, u64) {
        let Core {
            servers, backend, ..
        } = core;
        let found = servers
            .iter()
            .position(|s| s.user == identity.user && s.role == role);
        let index = found.unwrap_or_else(|| {
            // Its own client: never a user's, whatever the names.
            let client = super::stable_client("server", &[&identity.user, &role.to_string()]);
            let session = backend.join(client).session;
            servers.push(ServerSession {
                user: identity.user.clone(),
                role,
                client,
                session,
                last: 0,
            });
            servers.len() - 1
        });
        let server = &mut servers[index];
        server.last += 1;
        // The authorizer reads the identity (its role) by client: one client per identity.
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
