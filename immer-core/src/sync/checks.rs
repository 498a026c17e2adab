//! The hooks and bounds a change passes before it is committed: one type for each hook,
//! held together as [`Checks`] by whatever orders changes.

use std::fmt;
use std::sync::Arc;

use crate::patch::Patch;
use crate::path::Path;

use super::{ClientId, Committed, RejectReason};

/// A validation hook: given the state a change applies to, the state it leads to, and its
/// author, `Ok(())` lets it be committed and `Err(reason)` refuses it (as
/// [`RejectReason::Invalid`]). See [`Checks::validator`].
pub type Validator<T> = dyn Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync;

/// An authorization hook: given a change's author and its patches as they would be committed
/// (moved through everything committed since the author's version), `Ok(())` lets it through
/// and `Err(path)` refuses it (as [`RejectReason::Forbidden`]). See [`Checks::authorizer`].
pub type Authorizer = dyn Fn(ClientId, &[Patch]) -> Result<(), Path> + Send + Sync;

/// What taking up one committed patch costs in moving a change, counted in the pairs of
/// patches compared (see [`Checks::move_limit`]).
const MOVE_OVERHEAD: usize = 50;

/// What a change must pass before it is committed, besides applying: the authorization and
/// validation hooks and the bound on the work of moving it. A [`Leader`](super::Leader) runs
/// them in [`prepare`](super::Leader::prepare), in this order: the move limit before the
/// change is moved, the authorizer on the change as it will be committed, the validator on
/// the state it leads to. Cheap to clone (the hooks are shared), so that every node of a
/// shared log, and every transport in front of it, runs the same ones.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Checks, Leader};
/// use std::sync::Arc;
///
/// let checks = Checks::new()
///     .validator(|_, next: &Vec<u32>, _| if next.len() <= 3 { Ok(()) } else { Err("full".into()) })
///     .authorizer(|client, patches| match patches.first() {
///         Some(p) if client != 1 => Err(p.path.clone()),
///         _ => Ok(()),
///     })
///     .move_limit(400_000);
/// let leader = Leader::new(Arc::new(vec![1_u32])).with_checks(checks.clone());
/// assert_eq!(leader.checks().max_move_work(), Some(400_000));
/// ```
pub struct Checks<T> {
    validator: Option<Arc<Validator<T>>>,
    authorizer: Option<Arc<Authorizer>>,
    move_limit: Option<usize>,
}

impl<T> Checks<T> {
    /// No hooks and no bound: every change that applies is committed.
    #[must_use]
    pub fn new() -> Self {
        Checks {
            validator: None,
            authorizer: None,
            move_limit: None,
        }
    }

    /// Runs `validator` on every change before it is committed, with the state it applies
    /// to, the state it leads to, and its author: a change it refuses is rejected with
    /// [`RejectReason::Invalid`]. Replaces an earlier validator.
    #[must_use]
    pub fn validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync + 'static,
    {
        self.validator = Some(Arc::new(validator));
        self
    }

    /// Runs `authorizer` on every change before it is committed, with its author and its
    /// patches as they will be committed: a change it refuses is rejected with
    /// [`RejectReason::Forbidden`] naming the path. Replaces an earlier authorizer.
    #[must_use]
    pub fn authorizer<F>(mut self, authorizer: F) -> Self
    where
        F: Fn(ClientId, &[Patch]) -> Result<(), Path> + Send + Sync + 'static,
    {
        self.authorizer = Some(Arc::new(authorizer));
        self
    }

    /// The validator, shared (see [`validator`](Checks::validator)).
    #[must_use]
    pub fn shared_validator(mut self, validator: Arc<Validator<T>>) -> Self {
        self.validator = Some(validator);
        self
    }

    /// The authorizer, shared (see [`authorizer`](Checks::authorizer)).
    #[must_use]
    pub fn shared_authorizer(mut self, authorizer: Arc<Authorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Bounds the work of moving one change through what was committed since its base,
    /// counted as the patches committed since its base times (its own patches + 50): each
    /// patch committed costs about as much to take up as 50 pairs of patches cost to
    /// compare. A change over `max_work` is refused before it is moved
    /// ([`RejectReason::Limit`]). Without a bound, a change based on an old version makes
    /// the leader go through everything committed since, under whatever holds it.
    ///
    /// 400,000 (the WebSocket hub's default) is a few milliseconds at most on a 2-core
    /// machine (see BENCHMARKS.md): a change of one patch may be about 7,800 one-patch
    /// changes behind, one of 1,000 patches 380.
    #[must_use]
    pub fn move_limit(mut self, max_work: usize) -> Self {
        self.move_limit = Some(max_work);
        self
    }

    /// The bound on the work of moving a change, if any (see
    /// [`move_limit`](Checks::move_limit)).
    #[must_use]
    pub fn max_move_work(&self) -> Option<usize> {
        self.move_limit
    }

    /// Whether a validator is set.
    #[must_use]
    pub fn has_validator(&self) -> bool {
        self.validator.is_some()
    }

    /// Whether an authorizer is set.
    #[must_use]
    pub fn has_authorizer(&self) -> bool {
        self.authorizer.is_some()
    }

    /// Counts the work of moving a change of `patches` patches through `log` (the changes
    /// committed since its base), no further than the bound.
    ///
    /// # Errors
    ///
    /// [`RejectReason::Limit`] when it is over the bound.
    pub fn check_move<'a>(
        &self,
        patches: usize,
        log: impl IntoIterator<Item = &'a Committed>,
    ) -> Result<(), RejectReason> {
        let Some(max) = self.move_limit else {
            return Ok(());
        };
        let weight = patches.saturating_add(MOVE_OVERHEAD);
        let mut work = 0_usize;
        for committed in log {
            work = work.saturating_add(committed.patches.len().saturating_mul(weight));
            if work > max {
                return Err(RejectReason::Limit {
                    limit: "work to move the change (the patches committed since its base, \
                            times its patches and 50)"
                        .to_owned(),
                    max,
                    got: work,
                });
            }
        }
        Ok(())
    }

    /// Runs the authorizer on a change as it will be committed.
    ///
    /// # Errors
    ///
    /// [`RejectReason::Forbidden`] with the path refused.
    pub fn authorize(&self, client: ClientId, patches: &[Patch]) -> Result<(), RejectReason> {
        match &self.authorizer {
            Some(authorizer) => {
                authorizer(client, patches).map_err(|path| RejectReason::Forbidden { path })
            }
            None => Ok(()),
        }
    }

    /// Runs the validator on the state a change applies to and the one it leads to.
    ///
    /// # Errors
    ///
    /// [`RejectReason::Invalid`] with the hook's reason.
    pub fn validate(&self, state: &T, next: &T, client: ClientId) -> Result<(), RejectReason> {
        match &self.validator {
            Some(validator) => {
                validator(state, next, client).map_err(|message| RejectReason::Invalid { message })
            }
            None => Ok(()),
        }
    }
}

impl<T> Default for Checks<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Checks<T> {
    fn clone(&self) -> Self {
        Checks {
            validator: self.validator.clone(),
            authorizer: self.authorizer.clone(),
            move_limit: self.move_limit,
        }
    }
}

impl<T> fmt::Debug for Checks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field("validator", &self.validator.is_some())
            .field("authorizer", &self.authorizer.is_some())
            .field("move_limit", &self.move_limit)
            .finish()
    }
}
