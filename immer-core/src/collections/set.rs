//! Sets: `HashSet`, `BTreeSet`, `imbl::HashSet` and `imbl::OrdSet`, all drafted by [`SetDraft`].

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hash};
use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{json, record, sealed};
use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Undo, apply_whole, to_json};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::place::Place;

/// A set type that [`SetDraft`] can draft.
pub trait Set: sealed::Sealed + Draftable {
    /// The element type.
    type Item: Clone + PartialEq + Serialize + DeserializeOwned;
    #[doc(hidden)]
    const NAME: &'static str;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[doc(hidden)]
    fn has(&self, item: &Self::Item) -> bool;
    #[doc(hidden)]
    fn add(&mut self, item: Self::Item) -> bool;
    /// Adds `item` at `position` in the set's order, for sets whose order is their own
    /// (insertion-ordered sets); others place it where their order says.
    #[doc(hidden)]
    fn add_at(&mut self, _position: usize, item: Self::Item) -> bool {
        self.add(item)
    }
    #[doc(hidden)]
    fn take(&mut self, item: &Self::Item) -> bool;
    #[doc(hidden)]
    fn items(&self) -> impl Iterator<Item = &Self::Item>;
    #[doc(hidden)]
    fn clear_all(&mut self);
    /// Whether adding a new element may reorder the others (a std hash set that grows
    /// rehashes them): the add is then recorded as a `replace` of the whole set.
    #[doc(hidden)]
    fn reorders_on_add(&self) -> bool {
        false
    }
    /// The position of `item` in the set's order (its index in the set's JSON array).
    #[doc(hidden)]
    fn position(&self, item: &Self::Item) -> Option<usize> {
        self.items().position(|x| x == item)
    }
    /// The set's draft as the [`SetDraft`] it is, for code generic over `S: Set`.
    fn set_draft<P: Place<Target = Self>>(draft: &mut Self::Draft<P>) -> &mut SetDraft<P>;
}

macro_rules! set_impl {
    ($family:ident [$($generics:tt)*] $ty:ty, $name:literal, [$($bound:tt)*] $(, $reorders:ident)?) => {
        impl<$($generics)*> sealed::Sealed for $ty where T: $($bound)* {}

        impl<$($generics)*> crate::draftable::Sealed for $ty where T: $($bound)* {}

        impl<$($generics)*> Draftable for $ty
        where
            T: $($bound)*,
        {
            type Draft<P: Place<Target = Self>> = SetDraft<P>;
            type Path<R> = crate::SetPath<R>;
            fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
                SetDraft { place }
            }
            fn apply_edit(&mut self, path: &[PathSegment], edit: &mut Edit<'_>) -> Result<(), PatchErrorKind> {
                apply_set(self, path, edit)
            }
            fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
                set_value_at(self, path)
            }
            fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
                set_outline_at(self, path)
            }
            fn diff_into(&self, other: &Self, differ: &mut Differ) {
                diff_set(self, other, differ);
            }
        }

        impl<$($generics)*> Set for $ty
        where
            T: $($bound)*,
        {
            type Item = T;
            const NAME: &'static str = $name;
            fn set_draft<P: Place<Target = Self>>(draft: &mut SetDraft<P>) -> &mut SetDraft<P> {
                draft
            }
            fn len(&self) -> usize {
                <$ty>::len(self)
            }
            fn has(&self, item: &T) -> bool {
                self.contains(item)
            }
            fn add(&mut self, item: T) -> bool {
                set_impl!(@insert $family self, item)
            }
            fn take(&mut self, item: &T) -> bool {
                set_impl!(@remove $family self, item)
            }
            fn items(&self) -> impl Iterator<Item = &T> {
                self.iter()
            }
            fn clear_all(&mut self) {
                self.clear();
            }
            $(set_impl!(@$reorders);)?
        }
    };
    // A std hash set with no room left grows (or rehashes in place) on the next insert, which
    // moves its elements; until then an insert moves none (nor does a removal).
    (@reorders) => {
        fn reorders_on_add(&self) -> bool {
            self.len() >= self.capacity()
        }
    };
    (@insert imbl $set:ident, $item:ident) => { $set.insert($item).is_none() };
    (@insert std $set:ident, $item:ident) => { $set.insert($item) };
    (@remove imbl $set:ident, $item:ident) => { $set.remove($item).is_some() };
    (@remove std $set:ident, $item:ident) => { $set.remove($item) };
}

set_impl!(std [T, S: BuildHasher + Default + Clone + 'static] HashSet<T, S>, "HashSet", [Draftable + Eq + Hash], reorders);
set_impl!(std [T] BTreeSet<T>, "BTreeSet", [Draftable + Ord]);
set_impl!(imbl [T] imbl::HashSet<T>, "imbl::HashSet", [Draftable + Eq + Hash]);
set_impl!(imbl [T] imbl::OrdSet<T>, "imbl::OrdSet", [Draftable + Ord]);

/// Sets take Immer's set patches: `add` with the value (the index is ignored), `remove` with
/// the value, or with only the index of the element in the set's order.
fn apply_set<S: Set>(
    set: &mut S,
    path: &[PathSegment],
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let Some((segment, rest)) = path.split_first() else {
        return apply_whole(set, edit, S::NAME);
    };
    if !rest.is_empty() {
        return Err(PatchErrorKind::ThroughLeaf {
            type_name: "set element",
        });
    }
    let item: S::Item = match (edit.op, edit.value) {
        (PatchOp::Add, _) | (PatchOp::Remove, Some(_)) => edit.decode()?,
        (PatchOp::Remove, None) => {
            let index = segment
                .as_index()
                .ok_or_else(|| PatchErrorKind::NotAnIndex {
                    segment: segment.to_string(),
                })?;
            let len = set.len();
            set.items()
                .nth(index)
                .cloned()
                .ok_or(PatchErrorKind::IndexOutOfRange { index, len })?
        }
        _ => {
            return Err(PatchErrorKind::Malformed {
                reason: "a set's elements are changed by `remove` and `add`, not `replace`"
                    .to_owned(),
            });
        }
    };
    let value = if edit.want_undo {
        Some(to_json(&item)?)
    } else {
        None
    };
    // The inverse names the element's position in the set's order: after an add, where it
    // landed; before a remove, where it was.
    let (changed, position) = if edit.op == PatchOp::Add {
        let changed = match segment.as_index() {
            Some(at) => set.add_at(at, item.clone()),
            None => set.add(item.clone()),
        };
        let position = if edit.want_undo || edit.want_position {
            set.position(&item)
        } else {
            None
        };
        (changed, position)
    } else if set.has(&item) {
        let position = if edit.want_undo || edit.want_position {
            set.position(&item)
        } else {
            None
        };
        (set.take(&item), position)
    } else {
        return Err(PatchErrorKind::MissingKey {
            key: value.map_or_else(|| segment.to_string(), |v| v.to_string()),
        });
    };
    edit.position = position;
    edit.unchanged = !changed;
    if edit.want_undo && changed {
        let op = if edit.op == PatchOp::Add {
            PatchOp::Remove
        } else {
            PatchOp::Add
        };
        edit.undo = Some(Undo {
            op,
            value,
            index: position,
        });
    }
    Ok(())
}

/// A set's diff: the elements of `from` only removed at their positions, from the back, then
/// those of `to` only added at theirs.
fn diff_set<S: Set>(from: &S, to: &S, differ: &mut Differ) {
    let removed: Vec<(usize, &S::Item)> = from
        .items()
        .enumerate()
        .filter(|(_, x)| !to.has(x))
        .collect();
    for (position, item) in removed.into_iter().rev() {
        differ.remove_element(position, item);
    }
    for (position, item) in to.items().enumerate().filter(|(_, x)| !from.has(x)) {
        differ.add_element(position, item);
    }
}

fn set_outline_at<S: Set>(set: &S, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
    if path.is_empty() {
        Ok(Outline::Array(set.len()))
    } else {
        set_value_at(set, path).map(|value| Outline::of(&value))
    }
}

fn set_value_at<S: Set>(set: &S, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
    match path {
        [] => to_json(set),
        [segment] => {
            let index = segment
                .as_index()
                .ok_or_else(|| PatchErrorKind::NotAnIndex {
                    segment: segment.to_string(),
                })?;
            let len = set.len();
            set.items()
                .nth(index)
                .map_or(Err(PatchErrorKind::IndexOutOfRange { index, len }), to_json)
        }
        _ => Err(PatchErrorKind::ThroughLeaf {
            type_name: "set element",
        }),
    }
}

/// The draft of a set: `HashSet`, `BTreeSet`, `imbl::HashSet` or `imbl::OrdSet`.
///
/// Elements are leaves: insert and remove them. Patches follow Immer's for sets: an `add`
/// and a `remove`, each with the element's value and its position in the set's order (the
/// index it has in the set's JSON array: after an `add`, where it landed; for a `remove`,
/// where it was), so a plain RFC 6902 applier on serde's JSON of an ordered set gets the same
/// array. Appliers of set patches, this crate's and Immer's, go by the value. Copy on write: a
/// std set is copied whole (O(n)) on the first write below the `Arc` that holds it; an `imbl`
/// set copies O(log n) nodes.
///
/// A hash set's order is its hasher's. A std `HashSet` reorders its elements when it grows:
/// such an insert is recorded as a `replace` of the whole set, so the patches still give
/// serde's JSON of the result; every other insert and removal moves no other element.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, produce_with_patches};
/// use std::collections::BTreeSet;
/// use std::sync::Arc;
///
/// let base = Arc::new(BTreeSet::from(["b", "c"].map(String::from)));
/// let (next, patches, inverse) = produce_with_patches(&base, |d| {
///     d.insert("a".into());
/// });
/// assert_eq!(serde_json::to_string(&patches).unwrap(), r#"[{"op":"add","path":[0],"value":"a"}]"#);
/// assert_eq!(serde_json::to_string(&inverse).unwrap(), r#"[{"op":"remove","path":[0],"value":"a"}]"#);
/// assert_eq!(apply_patches(&base, &patches).unwrap(), next);
/// assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
/// ```
pub struct SetDraft<P> {
    place: P,
}

impl<S: Set, P: Place<Target = S>> SetDraft<P> {
    /// Adds `item`; `false` (and no write) when it is already there. One `add` patch at the
    /// position the element takes.
    ///
    /// Time: one lookup and insert, plus the copy on first write; when recording, plus O(n)
    /// to find the element's position.
    pub fn insert(&mut self, item: S::Item) -> bool {
        if self.place.get().has(&item) {
            return false;
        }
        if !self.place.is_recording() {
            return self.place.get_mut().add(item);
        }
        if self.place.get().reorders_on_add() {
            // The others move: the whole set, as serde writes it before and after.
            let old = json(self.place.get());
            self.place.get_mut().add(item);
            record(&mut self.place, |set, path| {
                Ok((
                    Patch::replace(path.clone(), json(set)?),
                    Patch::replace(path, old?),
                ))
            });
            return true;
        }
        let value = json(&item);
        self.place.get_mut().add(item.clone());
        let position = self.place.get().position(&item).unwrap_or_default();
        record(&mut self.place, |_, path| {
            let path = path.child(position);
            let value = value?;
            Ok((
                Patch::add(path.clone(), value.clone()),
                Patch::remove_element(path, value),
            ))
        });
        true
    }

    /// Removes `item`; `false` (and no write) when it is absent. One `remove` patch at the
    /// position the element had.
    ///
    /// Time: one lookup and removal, plus the copy on first write; when recording, plus O(n)
    /// to find the element's position.
    pub fn remove(&mut self, item: &S::Item) -> bool {
        if !self.place.get().has(item) {
            return false;
        }
        if self.place.is_recording() {
            let position = self.place.get().position(item).unwrap_or_default();
            record_removal(&mut self.place, position, item);
        }
        self.place.get_mut().take(item)
    }

    /// Keeps the elements for which `keep` returns true. One `remove` patch per element
    /// removed, from the back of the set's order (so each position holds when applied in
    /// order); no write when all stay.
    ///
    /// Time: O(n) plus one removal per element removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&S::Item) -> bool) {
        let doomed: Vec<(usize, S::Item)> = self
            .place
            .get()
            .items()
            .enumerate()
            .filter(|(_, x)| !keep(x))
            .map(|(position, x)| (position, x.clone()))
            .collect();
        if self.place.is_recording() {
            for (position, item) in doomed.iter().rev() {
                record_removal(&mut self.place, *position, item);
            }
        }
        for (_, item) in &doomed {
            self.place.get_mut().take(item);
        }
    }

    /// Removes every element. One `replace` patch of the whole set (with `[]`); no write when
    /// already empty.
    ///
    /// Time: O(n) to drop the elements (O(1) when the base still shares them); when
    /// recording, plus O(n) to write the old set as JSON for the inverse.
    pub fn clear(&mut self) {
        if self.place.get().is_empty() {
            return;
        }
        record(&mut self.place, |set, path| {
            Ok((
                Patch::replace(path.clone(), Value::Array(Vec::new())),
                Patch::replace(path, json(set)?),
            ))
        });
        self.place.get_mut().clear_all();
    }

    /// Adds every element of `iter`, as [`insert`](SetDraft::insert) does.
    pub fn extend(&mut self, iter: impl IntoIterator<Item = S::Item>) {
        for item in iter {
            self.insert(item);
        }
    }
}

/// Records the removal of `item`, which is at `position` in the set's order.
fn record_removal<S: Set, P: Place<Target = S>>(place: &mut P, position: usize, item: &S::Item) {
    record(place, |_, path| {
        let path = path.child(position);
        let value = json(item)?;
        Ok((
            Patch::remove_element(path.clone(), value.clone()),
            Patch::add(path, value),
        ))
    });
}

impl<P: Place> Deref for SetDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}

/// `indexmap::IndexSet`: a set that keeps insertion order; a removal shifts the later
/// elements (`shift_remove`), so positions in patches follow its order.
#[cfg(feature = "indexmap")]
mod index_set {
    use std::hash::{BuildHasher, Hash};

    use indexmap::IndexSet;
    use serde_json::Value;

    use super::{Set, SetDraft, apply_set, diff_set, sealed, set_value_at};
    use crate::diff::Differ;
    use crate::draftable::{Draftable, Edit};
    use crate::error::PatchErrorKind;
    use crate::outline::Outline;
    use crate::path::PathSegment;
    use crate::place::Place;

    impl<T, S> sealed::Sealed for IndexSet<T, S>
    where
        T: Draftable + Eq + Hash,
        S: BuildHasher + Default + Clone + 'static,
    {
    }

    impl<T, S> crate::draftable::Sealed for IndexSet<T, S>
    where
        T: Draftable + Eq + Hash,
        S: BuildHasher + Default + Clone + 'static,
    {
    }

    impl<T, S> Draftable for IndexSet<T, S>
    where
        T: Draftable + Eq + Hash,
        S: BuildHasher + Default + Clone + 'static,
    {
        type Draft<P: Place<Target = Self>> = SetDraft<P>;
        type Path<R> = crate::SetPath<R>;
        fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
            SetDraft { place }
        }
        fn apply_edit(
            &mut self,
            path: &[PathSegment],
            edit: &mut Edit<'_>,
        ) -> Result<(), PatchErrorKind> {
            apply_set(self, path, edit)
        }
        fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
            set_value_at(self, path)
        }
        fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
            super::set_outline_at(self, path)
        }
        fn diff_into(&self, other: &Self, differ: &mut Differ) {
            diff_set(self, other, differ);
        }
    }

    impl<T, S> Set for IndexSet<T, S>
    where
        T: Draftable + Eq + Hash,
        S: BuildHasher + Default + Clone + 'static,
    {
        type Item = T;
        const NAME: &'static str = "IndexSet";
        fn set_draft<P: Place<Target = Self>>(draft: &mut SetDraft<P>) -> &mut SetDraft<P> {
            draft
        }
        fn len(&self) -> usize {
            IndexSet::len(self)
        }
        fn has(&self, item: &T) -> bool {
            self.contains(item)
        }
        fn add(&mut self, item: T) -> bool {
            self.insert(item)
        }
        fn add_at(&mut self, position: usize, item: T) -> bool {
            if self.contains(&item) {
                return false;
            }
            self.shift_insert(position.min(self.len()), item);
            true
        }
        fn take(&mut self, item: &T) -> bool {
            self.shift_remove(item)
        }
        fn items(&self) -> impl Iterator<Item = &T> {
            self.iter()
        }
        fn clear_all(&mut self) {
            self.clear();
        }
        fn position(&self, item: &T) -> Option<usize> {
            self.get_index_of(item)
        }
    }
}
