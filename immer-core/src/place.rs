//! Places: where a draft reads and writes.
//!
//! A draft does not own or borrow its value directly. It holds a *place*: a chain of steps
//! from the root snapshot down to the value (a struct field, a list index, a map key, the
//! inside of an `Arc`). Reading walks the chain with shared references and never copies.
//! Writing walks it with `Arc::make_mut` and the collections' own `get_mut`, so the first
//! write below an `Arc` copies that node once and every later write finds it unique: a
//! produce copies exactly the path from the root to what changed.
//!
//! The chain also knows its [`Path`], built only when a patch is recorded, and where the
//! recorder is, if there is one. Users name [`Place`] only as a bound, to write functions over
//! drafts (`fn finish<P: Place<Target = Todo>>(todo: &mut TodoDraft<P>)`).

use std::sync::Arc;

use crate::patch::Patch;

/// A recorded change: a patch and its inverse, or why they could not be written as JSON.
#[doc(hidden)]
pub type Recorded = Result<(Patch, Patch), String>;
use crate::path::{Path, PathSegment};
use crate::record::Recording;

mod sealed {
    pub trait Sealed {}
}

pub(crate) use sealed::Sealed;

/// Where a draft reads and writes its value: a chain of steps from a root snapshot.
///
/// Implemented only by this crate's place types; name it as a bound to write functions that
/// take drafts:
///
/// ```
/// use immer_core::{Draftable, Place, produce};
/// use std::sync::Arc;
///
/// fn bump<P: Place<Target = u32>>(mut counter: immer_core::Leaf<P>) {
///     let next = *counter + 1;
///     counter.set(next);
/// }
///
/// let base = Arc::new(Some(1_u32));
/// let next = produce(&base, |d| {
///     if let Some(counter) = d.get_mut() {
///         bump(counter);
///     }
/// });
/// assert_eq!(*next, Some(2));
/// ```
pub trait Place: sealed::Sealed {
    /// The type of the value at this place.
    type Target;

    /// Reads the value. Never copies.
    #[doc(hidden)]
    fn get(&self) -> &Self::Target;

    /// Makes the path to the value unique (copying shared nodes once) and returns it.
    ///
    /// Writing through this reference bypasses patch recording: drafts record before they
    /// call it.
    #[doc(hidden)]
    fn get_mut(&mut self) -> &mut Self::Target;

    /// Whether a recorder is listening (false in plain `produce`, known at compile time).
    #[doc(hidden)]
    fn is_recording(&self) -> bool;

    /// Appends the segments from the root to this place.
    #[doc(hidden)]
    fn write_path(&self, path: &mut Vec<PathSegment>);

    /// Hands a patch and its inverse (or why they could not be written) to the recorder.
    #[doc(hidden)]
    fn record(&mut self, change: Recorded);

    /// The path from the root to this place.
    #[doc(hidden)]
    fn path(&self) -> Path {
        let mut segments = Vec::new();
        self.write_path(&mut segments);
        Path::from(segments)
    }
}

/// Who receives the patches of a root place: nobody ([`NoRecording`]) or a [`Recording`].
#[doc(hidden)]
pub trait Recorder: sealed::Sealed {
    fn is_recording(&self) -> bool;
    fn record(&mut self, change: Recorded);
}

/// The recorder of plain `produce`: records nothing, costs nothing.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRecording;

impl sealed::Sealed for NoRecording {}
impl Recorder for NoRecording {
    #[inline]
    fn is_recording(&self) -> bool {
        false
    }
    #[inline]
    fn record(&mut self, _: Recorded) {}
}

impl sealed::Sealed for &mut Recording {}
impl Recorder for &mut Recording {
    #[inline]
    fn is_recording(&self) -> bool {
        true
    }
    fn record(&mut self, change: Recorded) {
        Recording::record(self, change);
    }
}

impl<R: Recorder> sealed::Sealed for Option<R> {}
impl<R: Recorder> Recorder for Option<R> {
    #[inline]
    fn is_recording(&self) -> bool {
        self.as_ref().is_some_and(Recorder::is_recording)
    }
    fn record(&mut self, change: Recorded) {
        if let Some(recorder) = self {
            recorder.record(change);
        }
    }
}

/// The root of a draft: the value being produced, and the recorder.
#[doc(hidden)]
pub struct Root<'a, T, R> {
    value: &'a mut T,
    recorder: R,
}

impl<'a, T, R: Recorder> Root<'a, T, R> {
    pub(crate) fn new(value: &'a mut T, recorder: R) -> Self {
        Root { value, recorder }
    }
}

impl<T, R> sealed::Sealed for Root<'_, T, R> {}
impl<T, R: Recorder> Place for Root<'_, T, R> {
    type Target = T;
    #[inline]
    fn get(&self) -> &T {
        self.value
    }
    #[inline]
    fn get_mut(&mut self) -> &mut T {
        self.value
    }
    #[inline]
    fn is_recording(&self) -> bool {
        self.recorder.is_recording()
    }
    #[inline]
    fn write_path(&self, _: &mut Vec<PathSegment>) {}
    #[inline]
    fn record(&mut self, change: Recorded) {
        self.recorder.record(change);
    }
}

/// How to reach a child of type `C` inside a `T` by a key `K` (a field, an index, a map key).
#[doc(hidden)]
pub struct Access<T, K, C> {
    pub read: for<'a> fn(&'a T, &K) -> Option<&'a C>,
    pub write: for<'a> fn(&'a mut T, &K) -> Option<&'a mut C>,
    pub segment: fn(&K) -> Option<PathSegment>,
}

impl<T, K, C> Clone for Access<T, K, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, K, C> Copy for Access<T, K, C> {}

/// A child of another place: a struct field, a list element, a map value, an `Option`'s
/// inside. Borrows its parent's place mutably, so the parent cannot change shape (shrink,
/// drop the key, become `None`) while the child's draft exists.
#[doc(hidden)]
pub struct Child<'b, P: Place, K, C> {
    parent: &'b mut P,
    key: K,
    access: Access<P::Target, K, C>,
}

impl<'b, P: Place, K, C> Child<'b, P, K, C> {
    /// A child place. The child must exist when this is called: drafts check first.
    #[inline]
    pub fn new(parent: &'b mut P, key: K, access: Access<P::Target, K, C>) -> Self {
        Child {
            parent,
            key,
            access,
        }
    }
}

#[cold]
#[inline(never)]
pub(crate) fn vanished() -> ! {
    // The child's place holds the only mutable borrow of its parent, so nothing can remove
    // the child while it exists; reaching this is a bug in this crate, not a user error.
    unreachable!("immer: a draft's value vanished while the draft was alive")
}

impl<P: Place, K, C> sealed::Sealed for Child<'_, P, K, C> {}
impl<P: Place, K, C> Place for Child<'_, P, K, C> {
    type Target = C;
    #[inline]
    fn get(&self) -> &C {
        match (self.access.read)(self.parent.get(), &self.key) {
            Some(child) => child,
            None => vanished(),
        }
    }
    #[inline]
    fn get_mut(&mut self) -> &mut C {
        match (self.access.write)(self.parent.get_mut(), &self.key) {
            Some(child) => child,
            None => vanished(),
        }
    }
    #[inline]
    fn is_recording(&self) -> bool {
        self.parent.is_recording()
    }
    fn write_path(&self, path: &mut Vec<PathSegment>) {
        self.parent.write_path(path);
        if let Some(segment) = (self.access.segment)(&self.key) {
            path.push(segment);
        }
    }
    #[inline]
    fn record(&mut self, change: Recorded) {
        self.parent.record(change);
    }
}

/// The inside of an `Arc<T>`: reads deref, writes `Arc::make_mut` (copying `T` once if the
/// `Arc` is still shared with the base).
#[doc(hidden)]
pub struct Shared<P>(pub(crate) P);

impl<P> sealed::Sealed for Shared<P> {}
impl<T: Clone, P: Place<Target = Arc<T>>> Place for Shared<P> {
    type Target = T;
    #[inline]
    fn get(&self) -> &T {
        self.0.get()
    }
    #[inline]
    fn get_mut(&mut self) -> &mut T {
        Arc::make_mut(self.0.get_mut())
    }
    #[inline]
    fn is_recording(&self) -> bool {
        self.0.is_recording()
    }
    #[inline]
    fn write_path(&self, path: &mut Vec<PathSegment>) {
        self.0.write_path(path);
    }
    #[inline]
    fn record(&mut self, change: Recorded) {
        self.0.record(change);
    }
}

/// The inside of a `Box<T>`.
#[doc(hidden)]
pub struct Boxed<P>(pub(crate) P);

impl<P> sealed::Sealed for Boxed<P> {}
impl<T, P: Place<Target = Box<T>>> Place for Boxed<P> {
    type Target = T;
    #[inline]
    fn get(&self) -> &T {
        self.0.get()
    }
    #[inline]
    fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
    #[inline]
    fn is_recording(&self) -> bool {
        self.0.is_recording()
    }
    #[inline]
    fn write_path(&self, path: &mut Vec<PathSegment>) {
        self.0.write_path(path);
    }
    #[inline]
    fn record(&mut self, change: Recorded) {
        self.0.record(change);
    }
}
