//! `Option`, `Box` and `Arc`: drafts that look through to their contents.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::Value;

use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, set_place, to_json};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::patch::PatchOp;
use crate::path::PathSegment;
use crate::place::{Access, Boxed, Child, OwnedChild, Place, Shared};

/// `Box<T>` drafts as `T` itself: `d.boxed_field()` gives `T`'s draft.
impl<T: Draftable> crate::draftable::Sealed for Box<T> {}
impl<T: Draftable> Draftable for Box<T> {
    type Draft<P: Place<Target = Self>> = T::Draft<Boxed<P>>;
    type Path<R> = T::Path<R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        T::draft(Boxed(place))
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        (**self).apply_edit(path, edit)
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        (**self).value_at(path)
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        (**self).outline_at(path)
    }

    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        (**self).diff_into(other, differ);
    }

    fn same_as(&self, other: &Self) -> bool {
        (**self).same_as(other)
    }
}

/// `Arc<T>` drafts as `T` itself, copy-on-write: the first write below it calls
/// `Arc::make_mut`, which copies `T` once if the `Arc` is still shared with the base.
/// An `Arc` nobody writes through stays pointer-equal to the base's.
impl<T: Draftable> crate::draftable::Sealed for Arc<T> {}
impl<T: Draftable> Draftable for Arc<T> {
    type Draft<P: Place<Target = Self>> = T::Draft<Shared<P>>;
    type Path<R> = T::Path<R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        T::draft(Shared(place))
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        if path.is_empty() && edit.op != PatchOp::Remove {
            // A whole replacement: build the new value without copying the old one first.
            let value: T = edit.decode()?;
            edit.set_undo(PatchOp::Replace, || to_json(&**self).map(Some))?;
            *self = Arc::new(value);
            return Ok(());
        }
        Arc::make_mut(self).apply_edit(path, edit)
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        (**self).value_at(path)
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        (**self).outline_at(path)
    }

    /// Shared: nothing to diff, whatever its size.
    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        if !Arc::ptr_eq(self, other) {
            (**self).diff_into(other, differ);
        }
    }

    fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other) || (**self).same_as(other)
    }
}

impl<T: Draftable> crate::draftable::Sealed for Option<T> {}
impl<T: Draftable> Draftable for Option<T> {
    type Draft<P: Place<Target = Self>> = OptionDraft<P>;
    // `None` is `null`, with no paths below it; the paths are the contents'.
    type Path<R> = T::Path<R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        OptionDraft { place }
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        if !path.is_empty() {
            return match self {
                Some(inner) => inner.apply_edit(path, edit),
                None => Err(PatchErrorKind::ThroughNone),
            };
        }
        let value: Option<T> = match edit.op {
            PatchOp::Remove => None,
            _ => edit.decode()?,
        };
        let undo_op = if edit.op == PatchOp::Remove && self.is_some() {
            PatchOp::Add
        } else {
            PatchOp::Replace
        };
        edit.set_undo(undo_op, || to_json(self).map(Some))?;
        *self = value;
        Ok(())
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        match (self, path.is_empty()) {
            (_, true) => to_json(self),
            (Some(inner), false) => inner.value_at(path),
            (None, false) => Err(PatchErrorKind::ThroughNone),
        }
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        match (self, path.is_empty()) {
            (Some(inner), _) => inner.outline_at(path),
            (None, true) => Ok(Outline::Scalar(Value::Null)),
            (None, false) => Err(PatchErrorKind::ThroughNone),
        }
    }

    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        match (self, other) {
            (Some(a), Some(b)) => a.diff_into(b, differ),
            (None, None) => {}
            _ => differ.replace(self, other),
        }
    }

    fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same_as(b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

/// The place of an `Option`'s inside: no path segment of its own (JSON writes `Some(x)` as `x`).
fn some_access<T>() -> Access<Option<T>, (), T> {
    Access {
        read: |o, ()| o.as_ref(),
        write: |o, ()| o.as_mut(),
        segment: |()| None,
    }
}

/// The draft of an `Option<T>`.
///
/// Reads through `Deref<Target = Option<T>>`. Setting `None` or a new `Some` records one
/// `replace` patch of the whole option; [`get_mut`](OptionDraft::get_mut) drafts the value
/// inside without copying it.
///
/// # Examples
///
/// ```
/// use immer_core::produce;
/// use std::sync::Arc;
///
/// let base = Arc::new(Some(String::from("a")));
/// let next = produce(&base, |d| {
///     d.get_mut().unwrap().set("b".into());
/// });
/// assert_eq!(next.as_deref(), Some("b"));
/// let cleared = produce(&next, |d| { d.take(); });
/// assert_eq!(*cleared, None);
/// ```
pub struct OptionDraft<P> {
    place: P,
}

impl<T: Draftable, P: Place<Target = Option<T>>> OptionDraft<P> {
    /// Replaces the whole option. An equal value changes nothing.
    ///
    /// Time: O(1) plus the copy-on-write of the path here.
    pub fn set(&mut self, value: Option<T>) {
        set_place(&mut self.place, value);
    }

    /// The draft of the value inside, or `None`. Copies nothing until the draft writes.
    ///
    /// Time: O(1).
    pub fn get_mut(&mut self) -> Option<T::Draft<Child<'_, P, (), T>>> {
        if self.place.get().is_some() {
            Some(T::draft(Child::new(&mut self.place, (), some_access())))
        } else {
            None
        }
    }

    /// The draft of the value inside, or `None`, consuming this draft: unlike
    /// [`get_mut`](OptionDraft::get_mut), the result can be bound to a variable when this
    /// draft is a temporary (`let mut note = d.note().into_mut().unwrap();`), as std's entry
    /// API has `into_mut`.
    ///
    /// Time: O(1).
    pub fn into_mut(self) -> Option<T::Draft<OwnedChild<P, (), T>>> {
        if self.place.get().is_some() {
            Some(T::draft(OwnedChild::new(self.place, (), some_access())))
        } else {
            None
        }
    }

    /// Sets `Some(value)` and returns the draft of the value.
    ///
    /// Time: O(1) plus the copy-on-write of the path here.
    pub fn insert(&mut self, value: T) -> T::Draft<Child<'_, P, (), T>> {
        self.set(Some(value));
        T::draft(Child::new(&mut self.place, (), some_access()))
    }

    /// The draft of the value inside, first setting `Some(f())` if it is `None`.
    ///
    /// Time: O(1) plus the copy-on-write of the path here.
    pub fn get_or_insert_with(&mut self, f: impl FnOnce() -> T) -> T::Draft<Child<'_, P, (), T>> {
        if self.place.get().is_none() {
            self.set(Some(f()));
        }
        T::draft(Child::new(&mut self.place, (), some_access()))
    }

    /// Sets `None` and returns the value that was there.
    ///
    /// Time: one clone of the value (the snapshot keeps the original), and the copy-on-write
    /// of the path here.
    pub fn take(&mut self) -> Option<T> {
        let old = self.place.get().clone();
        self.set(None);
        old
    }

    /// Sets `Some(value)` and returns the value that was there.
    ///
    /// Time: as [`take`](OptionDraft::take).
    pub fn replace(&mut self, value: T) -> Option<T> {
        let old = self.place.get().clone();
        self.set(Some(value));
        old
    }
}

impl<P: Place> Deref for OptionDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}
