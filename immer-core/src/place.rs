//! The places of drafts (see `crate::place`, which re-exports them with the list, map and
//! recording places).

use std::sync::Arc;

use crate::error::UnserializableError;
use crate::patch::Patch;
use crate::path::{Path, PathSegment};

/// A recorded change: a patch and its inverse, or why they could not be written as JSON.
#[doc(hidden)]
pub type Recorded = Result<(Patch, Patch), UnserializableError>;

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

/// Who receives the patches of a root place: nobody ([`NoRecording`]), a
/// [`Recording`](crate::place::Recording) (`&mut Recording`), or either
/// (`Option<&mut Recording>`, a [`Drafting`](crate::Drafting) session that may record).
/// Sealed: implemented by these alone.
pub trait Recorder: sealed::Sealed {
    /// Whether patches are recorded.
    #[doc(hidden)]
    fn is_recording(&self) -> bool;
    /// Takes one patch and its inverse.
    #[doc(hidden)]
    fn record(&mut self, change: Recorded);
}

/// The recorder of plain `produce`: records nothing, and costs nothing, since whether to
/// record is known at compile time.
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

/// The root of a draft: the snapshot being produced, and the recorder `R`.
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
/// inside, reached from the parent place `P` by a key `K` (a field name, an index, a map
/// key). Borrows its parent's place mutably, so the parent cannot change shape (shrink, drop
/// the key, become `None`) while the child's draft exists.
pub type Child<'b, P, K, C> = Nested<&'b mut P, K, C>;

/// A child of a place held by value: the place of the drafts that the consuming accessors
/// (`into_mut`) return, which outlive the parent draft they consumed.
pub type OwnedChild<P, K, C> = Nested<P, K, C>;

/// A child place below the parent place `Q` (a `&mut P` for a [`Child`], a place by value for
/// an [`OwnedChild`]), reached by a key `K`, of type `C`.
pub struct Nested<Q: Place, K, C> {
    parent: Q,
    key: K,
    access: Access<Q::Target, K, C>,
}

impl<Q: Place, K, C> Nested<Q, K, C> {
    /// A child place. The child must exist when this is called: drafts check first.
    #[doc(hidden)]
    #[inline]
    pub fn new(parent: Q, key: K, access: Access<Q::Target, K, C>) -> Self {
        Nested {
            parent,
            key,
            access,
        }
    }
}

/// A place borrowed: what a [`Child`] holds of its parent.
impl<P: Place + ?Sized> sealed::Sealed for &mut P {}
impl<P: Place + ?Sized> Place for &mut P {
    type Target = P::Target;
    #[inline]
    fn get(&self) -> &P::Target {
        (**self).get()
    }
    #[inline]
    fn get_mut(&mut self) -> &mut P::Target {
        (**self).get_mut()
    }
    #[inline]
    fn is_recording(&self) -> bool {
        (**self).is_recording()
    }
    #[inline]
    fn write_path(&self, path: &mut Vec<PathSegment>) {
        (**self).write_path(path);
    }
    #[inline]
    fn record(&mut self, change: Recorded) {
        (**self).record(change);
    }
}

#[cold]
#[inline(never)]
pub(crate) fn vanished() -> ! {
    // The child's place holds the only mutable borrow of its parent, so nothing can remove
    // the child while it exists; reaching this is a bug in this crate, not a user error.
    unreachable!("immer: a draft's value vanished while the draft was alive")
}

impl<Q: Place, K, C> sealed::Sealed for Nested<Q, K, C> {}
impl<Q: Place, K, C> Place for Nested<Q, K, C> {
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
