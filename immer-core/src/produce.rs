//! `produce`, `produce_with_patches`, and the long-lived [`Drafting`] session.

use std::sync::Arc;

use crate::draftable::Draftable;
use crate::error::UnserializableError;
use crate::patch::Patch;
use crate::place::{NoRecording, Root, Shared};
use crate::record::Recording;

/// The draft of a whole snapshot `Arc<T>`, whose patches go to the recorder `R` (see
/// [`Recorder`](crate::place::Recorder)). Named by its three uses:
///
/// - [`Draft`], what a [`produce`] recipe receives;
/// - [`PatchDraft`], what a [`produce_with_patches`] recipe receives;
/// - [`SessionDraft`], what [`Drafting::draft`] and a history
///   [`Transaction`](crate::Transaction) hand out.
///
/// For `T` with `#[derive(Draftable)]` it is the generated `<T>Draft`; to write a function
/// that works inside all three (and on nested values too), take `&mut TDraft<P>` with
/// `P: Place<Target = T>`.
pub type RootDraft<'a, T, R> = <T as Draftable>::Draft<Shared<Root<'a, Arc<T>, R>>>;

/// The draft a [`produce`] recipe receives: records nothing.
///
/// # Examples
///
/// ```
/// use immer_core::{Draft, produce};
/// use std::sync::Arc;
///
/// fn add_two(d: &mut Draft<'_, Vec<u32>>) {
///     d.push(2);
/// }
///
/// let next = produce(&Arc::new(vec![1]), add_two);
/// assert_eq!(*next, [1, 2]);
/// ```
pub type Draft<'a, T> = RootDraft<'a, T, NoRecording>;

/// The draft a [`produce_with_patches`] recipe receives: records into a [`Recording`] it
/// borrows for `'r`.
pub type PatchDraft<'a, 'r, T> = RootDraft<'a, T, &'r mut Recording>;

/// The draft of a [`Drafting`] session or a history [`Transaction`](crate::Transaction):
/// records when the session does.
pub type SessionDraft<'a, 'r, T> = RootDraft<'a, T, Option<&'r mut Recording>>;

/// Runs `recipe` on a draft of `base` and returns the new snapshot.
///
/// Writes copy exactly the path from the root to what changed; everything else stays
/// pointer-shared with `base`. A recipe that writes nothing, or only values equal to what is
/// there, returns `base` itself (`Arc::ptr_eq`). `base` is never modified. Records nothing.
///
/// # Examples
///
/// ```
/// use immer_core::produce;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![Arc::new(1_u32), Arc::new(2)]);
/// let next = produce(&base, |d| d.get_mut(1).unwrap().set(20));
/// assert_eq!(*next, vec![Arc::new(1), Arc::new(20)]);
/// assert!(Arc::ptr_eq(&base[0], &next[0]));
/// assert!(Arc::ptr_eq(&base, &produce(&base, |d| d.get_mut(0).unwrap().set(1))));
/// ```
pub fn produce<T, F>(base: &Arc<T>, recipe: F) -> Arc<T>
where
    T: Draftable,
    F: FnOnce(&mut Draft<'_, T>),
{
    let mut next = Arc::clone(base);
    recipe(&mut T::draft(Shared(Root::new(&mut next, NoRecording))));
    next
}

/// Runs `recipe` on a draft of `base` and returns the new snapshot, the patches that turn
/// `base` into it, and the inverse patches that turn it back.
///
/// One patch per operation: a list `remove(0)` is one `remove`, whatever the list's length.
/// Repeated writes to one path fold into one patch, and writes that end where they started
/// leave none. Patches apply in order; so do the inverse patches, to undo.
///
/// # Panics
///
/// If a value the recipe writes cannot be written as JSON (its `Serialize` fails, as it does
/// for a map whose keys are not strings, numbers or booleans). [`try_produce_with_patches`]
/// returns that as an error instead.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, produce_with_patches};
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![String::from("a"), String::from("b")]);
/// let (next, patches, inverse) = produce_with_patches(&base, |d| {
///     d.remove(0);
/// });
/// assert_eq!(serde_json::to_string(&patches).unwrap(), r#"[{"op":"remove","path":[0]}]"#);
/// assert_eq!(apply_patches(&base, &patches).unwrap(), next);
/// assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
/// ```
pub fn produce_with_patches<T, F>(base: &Arc<T>, recipe: F) -> (Arc<T>, Vec<Patch>, Vec<Patch>)
where
    T: Draftable,
    F: FnOnce(&mut PatchDraft<'_, '_, T>),
{
    match try_produce_with_patches(base, recipe) {
        Ok(produced) => produced.into_parts(),
        Err(error) => panic!("{error}"),
    }
}

/// [`produce_with_patches`], returning an error instead of panicking when a written value
/// cannot be written as JSON.
///
/// # Errors
///
/// [`UnserializableError`] with serde's message.
pub fn try_produce_with_patches<T, F>(
    base: &Arc<T>,
    recipe: F,
) -> Result<Produced<T>, UnserializableError>
where
    T: Draftable,
    F: FnOnce(&mut PatchDraft<'_, '_, T>),
{
    let mut next = Arc::clone(base);
    let mut recording = Recording::new();
    recipe(&mut T::draft(Shared(Root::new(&mut next, &mut recording))));
    let (patches, inverse) = recording.finish()?;
    Ok(Produced {
        state: next,
        patches,
        inverse,
    })
}

/// The draft a [`record_in_place`] recipe receives: the value itself, no `Arc`, recording
/// into a [`Recording`] it borrows for `'r`.
pub type InPlaceDraft<'a, 'r, T> = <T as Draftable>::Draft<Root<'a, T, &'r mut Recording>>;

/// Runs `recipe` on a draft of `state` itself and returns the patches and the inverse
/// patches of what it did: recording in place, for programs that keep no old versions (a
/// game loop, a server that only ships changes).
///
/// No `Arc`, no copy: every write goes straight into `state`. The patches are the ones
/// [`produce_with_patches`] records for the same recipe (one per operation, folded the same
/// way): `remove(0)` on a list of 100,000 is one `remove`.
///
/// # Panics
///
/// If a value the recipe writes cannot be written as JSON; [`try_record_in_place`] returns
/// that as an error instead.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches_mut, record_in_place};
///
/// let mut state = vec![String::from("a"), String::from("b")];
/// let (patches, inverse) = record_in_place(&mut state, |d| {
///     d.remove(0);
/// });
/// assert_eq!(state, ["b"]);
/// assert_eq!(serde_json::to_string(&patches).unwrap(), r#"[{"op":"remove","path":[0]}]"#);
/// apply_patches_mut(&mut state, &inverse).unwrap();
/// assert_eq!(state, ["a", "b"]);
/// ```
pub fn record_in_place<T, F>(state: &mut T, recipe: F) -> (Vec<Patch>, Vec<Patch>)
where
    T: Draftable,
    F: FnOnce(&mut InPlaceDraft<'_, '_, T>),
{
    match try_record_in_place(state, recipe) {
        Ok(recorded) => recorded,
        Err(error) => panic!("{error}"),
    }
}

/// [`record_in_place`], returning an error instead of panicking when a written value has no
/// JSON form. The recipe's writes are in `state` either way: in place, nothing can be rolled
/// back without the patches that failed.
///
/// # Errors
///
/// [`UnserializableError`] with where and serde's message.
pub fn try_record_in_place<T, F>(
    state: &mut T,
    recipe: F,
) -> Result<(Vec<Patch>, Vec<Patch>), UnserializableError>
where
    T: Draftable,
    F: FnOnce(&mut InPlaceDraft<'_, '_, T>),
{
    let mut recording = Recording::new();
    recipe(&mut T::draft(Root::new(state, &mut recording)));
    recording.finish()
}

/// A new snapshot with the patches that made it and the inverse patches that undo them.
#[derive(Clone, Debug, PartialEq)]
pub struct Produced<T> {
    /// The new snapshot.
    pub state: Arc<T>,
    /// The patches from the base to `state`, to apply in order.
    pub patches: Vec<Patch>,
    /// The patches from `state` back to the base, to apply in order.
    pub inverse: Vec<Patch>,
}

impl<T> Produced<T> {
    /// `(state, patches, inverse)`.
    pub fn into_parts(self) -> (Arc<T>, Vec<Patch>, Vec<Patch>) {
        (self.state, self.patches, self.inverse)
    }
}

/// A long-lived draft: edits that span several steps (an event loop, a UI gesture), finished
/// into one snapshot and, when recording, one list of patches.
///
/// [`draft`](Drafting::draft) hands out the draft as often as needed; every step writes into
/// the same copy, so a node copied once is not copied again.
///
/// # Examples
///
/// ```
/// use immer_core::Drafting;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![1_u32, 2, 3]);
/// let mut session = Drafting::with_patches(&base);
/// session.draft().push(4);
/// assert_eq!(session.current().len(), 4);
/// session.draft().remove(0);
/// let produced = session.finish().unwrap();
/// assert_eq!(*produced.state, vec![2, 3, 4]);
/// assert_eq!(produced.patches.len(), 2);
/// assert_eq!(*base, vec![1, 2, 3]);
/// ```
pub struct Drafting<T> {
    state: Arc<T>,
    recording: Option<Recording>,
}

impl<T: Draftable> Drafting<T> {
    /// A session over `base` that records nothing.
    #[must_use]
    pub fn new(base: &Arc<T>) -> Self {
        Drafting {
            state: Arc::clone(base),
            recording: None,
        }
    }

    /// A session over `base` that records patches.
    #[must_use]
    pub fn with_patches(base: &Arc<T>) -> Self {
        Drafting {
            state: Arc::clone(base),
            recording: Some(Recording::new()),
        }
    }

    /// The draft, for one more step.
    pub fn draft(&mut self) -> SessionDraft<'_, '_, T> {
        T::draft(Shared(Root::new(&mut self.state, self.recording.as_mut())))
    }

    /// The state as the steps so far left it.
    #[must_use]
    pub fn current(&self) -> &Arc<T> {
        &self.state
    }

    /// Ends the session: the new snapshot, and the patches if the session records (empty
    /// lists if it does not).
    ///
    /// # Errors
    ///
    /// [`UnserializableError`] when a written value has no JSON form.
    pub fn finish(self) -> Result<Produced<T>, UnserializableError> {
        let (patches, inverse) = match self.recording {
            Some(recording) => recording.finish()?,
            None => (Vec::new(), Vec::new()),
        };
        Ok(Produced {
            state: self.state,
            patches,
            inverse,
        })
    }
}

/// `produce` and friends as methods of a snapshot: `state.produce(|d| ...)`.
///
/// # Examples
///
/// ```
/// use immer_core::ProduceExt;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![1_u8]);
/// let next = base.produce(|d| d.push(2));
/// assert_eq!(*next, vec![1, 2]);
/// assert_eq!(base.apply_patches(&base.produce_with_patches(|d| d.push(2)).1).unwrap(), next);
/// ```
pub trait ProduceExt<T: Draftable> {
    /// [`produce`].
    fn produce<F>(&self, recipe: F) -> Arc<T>
    where
        F: FnOnce(&mut Draft<'_, T>);

    /// [`produce_with_patches`].
    fn produce_with_patches<F>(&self, recipe: F) -> (Arc<T>, Vec<Patch>, Vec<Patch>)
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>);

    /// [`apply_patches`](crate::apply_patches).
    ///
    /// # Errors
    ///
    /// As [`apply_patches`](crate::apply_patches).
    fn apply_patches(&self, patches: &[Patch]) -> Result<Arc<T>, crate::PatchError>;
}

impl<T: Draftable> ProduceExt<T> for Arc<T> {
    fn produce<F>(&self, recipe: F) -> Arc<T>
    where
        F: FnOnce(&mut Draft<'_, T>),
    {
        produce(self, recipe)
    }

    fn produce_with_patches<F>(&self, recipe: F) -> (Arc<T>, Vec<Patch>, Vec<Patch>)
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        produce_with_patches(self, recipe)
    }

    fn apply_patches(&self, patches: &[Patch]) -> Result<Arc<T>, crate::PatchError> {
        crate::apply::apply_patches(self, patches)
    }
}
