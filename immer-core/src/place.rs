//! The places of drafts (see `crate::place`, which re-exports them with the list, map and
//! recording places).

use std::cell::OnceCell;
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

/// The place methods of a place that is its `inner` place but for what it records.
macro_rules! through_inner {
    () => {
        type Target = C;
        #[inline]
        fn get(&self) -> &C {
            self.inner.get()
        }
        #[inline]
        fn get_mut(&mut self) -> &mut C {
            self.inner.get_mut()
        }
        #[inline]
        fn is_recording(&self) -> bool {
            self.inner.is_recording()
        }
        #[inline]
        fn write_path(&self, path: &mut Vec<PathSegment>) {
            self.inner.write_path(path);
        }
    };
}

/// The place of a `#[serde(flatten)]` field: its keys sit in its parent's JSON object, so it
/// has no path segment of its own, and a write of the whole field (a `set`, an `Option` made
/// `None`, an enum's variant switched) changes some of the parent's keys and leaves the others.
/// Such a write is recorded as a `replace` of the parent's object, with the field's keys as
/// they are after it beside the parent's others; writes inside the field are recorded as they
/// are.
pub struct Merged<Q: Place, C> {
    inner: Nested<Q, (), C>,
    /// The place's path, found on the first change recorded here.
    here: OnceCell<Path>,
    /// The key, below the parent place's value, of the object the field's keys sit in: the
    /// variant's key (or its content's) for a field of a tagged enum's variant.
    within: Option<&'static str>,
}

/// A [`Merged`] place borrowing its parent.
pub type MergedChild<'b, P, C> = Merged<&'b mut P, C>;

impl<Q: Place, C> Merged<Q, C> {
    /// A flattened field's place: `inner`, with no segment of its own; `within` is the key
    /// below the parent's value of the object the field's keys sit in, if any.
    #[doc(hidden)]
    #[inline]
    pub fn new(inner: Nested<Q, (), C>, within: Option<&'static str>) -> Self {
        Merged {
            inner,
            here: OnceCell::new(),
            within,
        }
    }

    /// The parent's object with the whole field written: the `replace` of the parent's
    /// object, and its inverse, for the field's write `forward` (with its inverse
    /// `inverse`), or `None` when a side is not an object (nothing to merge).
    fn merged(&self, forward: &Patch, inverse: &Patch) -> Option<Result<(Patch, Patch), String>>
    where
        Q::Target: serde::Serialize,
    {
        use serde_json::{Map, Value};
        // What each side writes into the parent: the value of an `add` or `replace`, nothing
        // for a `remove`, nothing for `null` (a `None` or a unit flattened adds no key), and
        // its name as a key for an externally tagged unit variant (`"C"` adds `"C": null`).
        let keys = |patch: &Patch| -> Option<Map<String, Value>> {
            match (&patch.op, &patch.value) {
                (crate::PatchOp::Remove, _) | (_, Some(Value::Null)) => Some(Map::new()),
                (crate::PatchOp::Add | crate::PatchOp::Replace, Some(Value::Object(map))) => {
                    Some(map.clone())
                }
                (crate::PatchOp::Add | crate::PatchOp::Replace, Some(Value::String(name))) => {
                    Some(Map::from_iter([(name.clone(), Value::Null)]))
                }
                _ => None,
            }
        };
        let (new_keys, old_keys) = (keys(forward)?, keys(inverse)?);
        let mut parent = match serde_json::to_value(self.inner.parent.get()) {
            Ok(value) => value,
            Err(error) => return Some(Err(error.to_string())),
        };
        if let Some(key) = self.within {
            parent = parent.get_mut(key).map(Value::take)?;
        }
        let Value::Object(mut rest) = parent else {
            return None;
        };
        // The parent's other keys: its current object without the field's keys, before or
        // after (whichever the parent holds now).
        for key in new_keys.keys().chain(old_keys.keys()) {
            rest.remove(key);
        }
        let with = |keys: Map<String, Value>| {
            let mut object = rest.clone();
            object.extend(keys);
            Value::Object(object)
        };
        let path = forward.path.clone();
        Some(Ok((
            Patch::replace(path.clone(), with(new_keys)),
            Patch::replace(path, with(old_keys)),
        )))
    }
}

impl<Q: Place, C> sealed::Sealed for Merged<Q, C> {}
impl<Q: Place, C> Place for Merged<Q, C>
where
    Q::Target: serde::Serialize,
{
    through_inner!();
    fn record(&mut self, change: Recorded) {
        let change = match &change {
            Ok((forward, inverse))
                if forward.path == *self.here.get_or_init(|| self.inner.path()) =>
            {
                match self.merged(forward, inverse) {
                    Some(Ok(merged)) => Ok(merged),
                    Some(Err(message)) => {
                        Err(UnserializableError::new(forward.path.clone(), &message))
                    }
                    None => change,
                }
            }
            _ => change,
        };
        self.inner.record(change);
    }
}

/// The place of a named field with `#[serde(skip_serializing_if = "...")]`: serde leaves the
/// key out while the predicate holds, so the patches must add the key before they write
/// inside it, and remove it when the field ends where serde leaves it out.
///
/// While recording, the place knows whether the key is in the JSON its patches have written
/// so far. A write of the whole field is held until the value is written (the next change
/// recorded here, or the draft's drop), then recorded by the predicate on the value written:
/// as an `add` of the key when it makes the key appear (its inverse a `remove`), a `remove`
/// when it makes it disappear (its inverse an `add` of the old value), as it is otherwise. A
/// write inside the field while the key is out is preceded by an `add` of the field as it
/// was (`[]` for an empty list); and when the draft is dropped with the field left where serde
/// leaves it out, a `remove` of the key follows (its inverse an `add` of the field as it is).
pub struct Skippable<Q: Place, C: serde::Serialize> {
    inner: Nested<Q, &'static str, C>,
    /// The place's path, found on the first change recorded here.
    here: OnceCell<Path>,
    skip: fn(&C) -> bool,
    /// While recording: whether the key is in the JSON the patches have written.
    written: bool,
    /// While recording and the key is out: the field's JSON, which an `add` puts back.
    left_out: Option<serde_json::Value>,
    /// A write of the whole field, recorded once the value is written.
    held: Option<(Patch, Patch)>,
}

/// A [`Skippable`] place borrowing its parent.
pub type SkippableChild<'b, P, C> = Skippable<&'b mut P, C>;

impl<Q: Place, C: serde::Serialize> Skippable<Q, C> {
    /// A field's place whose key serde leaves out while `skip` holds.
    #[doc(hidden)]
    pub fn new(inner: Nested<Q, &'static str, C>, skip: fn(&C) -> bool) -> Self {
        let (written, left_out) = if inner.is_recording() && skip(inner.get()) {
            (false, serde_json::to_value(inner.get()).ok())
        } else {
            (true, None)
        };
        Skippable {
            inner,
            here: OnceCell::new(),
            skip,
            written,
            left_out,
            held: None,
        }
    }

    /// Records the held write of the whole field, by whether serde writes the key for the
    /// value now in place.
    fn release(&mut self) {
        let Some((forward, inverse)) = self.held.take() else {
            return;
        };
        let here = forward.path.clone();
        let writes = !(self.skip)(self.inner.get());
        let change = match (self.written, writes) {
            (false, true) => (
                Patch::add(here.clone(), forward.value.unwrap_or_default()),
                Patch::remove(here),
            ),
            (true, false) => (
                Patch::remove(here.clone()),
                Patch::add(here, inverse.value.unwrap_or_default()),
            ),
            // Out before and after, with the same JSON: nothing serde writes changed.
            (false, false) if forward.value == self.left_out => return,
            _ => (forward, inverse),
        };
        self.written = writes;
        self.left_out = if writes {
            None
        } else {
            serde_json::to_value(self.inner.get()).ok()
        };
        self.inner.record(Ok(change));
    }
}

impl<Q: Place, C: serde::Serialize> sealed::Sealed for Skippable<Q, C> {}
impl<Q: Place, C: serde::Serialize> Place for Skippable<Q, C> {
    through_inner!();
    fn record(&mut self, change: Recorded) {
        self.release();
        let Ok((forward, inverse)) = change else {
            return self.inner.record(change);
        };
        let here = self.here.get_or_init(|| self.inner.path());
        if forward.path == *here && forward.op == crate::PatchOp::Replace {
            // The whole field written: recorded once the value is in place.
            self.held = Some((forward, inverse));
            return;
        }
        if !self.written && forward.path.segments().len() > here.segments().len() {
            // A write inside a field serde left out: the key goes in first, as the field was.
            if let Some(value) = self.left_out.take() {
                self.written = true;
                let add = (Patch::add(here.clone(), value), Patch::remove(here.clone()));
                self.inner.record(Ok(add));
            }
        }
        self.inner.record(Ok((forward, inverse)));
    }
}

impl<Q: Place, C: serde::Serialize> Drop for Skippable<Q, C> {
    fn drop(&mut self) {
        self.release();
        // Left where serde leaves it out, after writes that put the key in: out it goes.
        if self.written && self.inner.is_recording() && (self.skip)(self.inner.get()) {
            let here = self.inner.path();
            let change = serde_json::to_value(self.inner.get())
                .map(|value| (Patch::remove(here.clone()), Patch::add(here.clone(), value)))
                .map_err(|error| UnserializableError::new(here, &error));
            self.inner.record(change);
        }
    }
}
