//! Sets: `HashSet`, `BTreeSet`, `imbl::HashSet` and `imbl::OrdSet`, all drafted by [`SetDraft`].

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hash};
use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{json, record, sealed};
use crate::draftable::{Draftable, Edit, Undo, apply_whole, to_json};
use crate::error::PatchErrorKind;
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
    #[doc(hidden)]
    fn take(&mut self, item: &Self::Item) -> bool;
    #[doc(hidden)]
    fn items(&self) -> impl Iterator<Item = &Self::Item>;
    /// The set's draft as the [`SetDraft`] it is, for code generic over `S: Set`.
    fn set_draft<P: Place<Target = Self>>(draft: &mut Self::Draft<P>) -> &mut SetDraft<P>;
}

macro_rules! set_impl {
    ($family:ident [$($generics:tt)*] $ty:ty, $name:literal, [$($bound:tt)*]) => {
        impl<$($generics)*> sealed::Sealed for $ty where T: $($bound)* {}

        impl<$($generics)*> Draftable for $ty
        where
            T: $($bound)*,
        {
            type Draft<P: Place<Target = Self>> = SetDraft<P>;
            fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
                SetDraft { place }
            }
            fn apply_edit(&mut self, path: &[PathSegment], edit: &mut Edit<'_>) -> Result<(), PatchErrorKind> {
                apply_set(self, path, edit)
            }
            fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
                set_value_at(self, path)
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
        }
    };
    (@insert imbl $set:ident, $item:ident) => { $set.insert($item).is_none() };
    (@insert std $set:ident, $item:ident) => { $set.insert($item) };
    (@remove imbl $set:ident, $item:ident) => { $set.remove($item).is_some() };
    (@remove std $set:ident, $item:ident) => { $set.remove($item) };
}

set_impl!(std [T, S: BuildHasher + Default + Clone + 'static] HashSet<T, S>, "HashSet", [Draftable + Eq + Hash]);
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
    let changed = if edit.op == PatchOp::Add {
        set.add(item)
    } else if set.has(&item) {
        set.take(&item)
    } else {
        return Err(PatchErrorKind::MissingKey {
            key: value.map_or_else(|| segment.to_string(), |v| v.to_string()),
        });
    };
    if edit.want_undo && changed {
        let op = if edit.op == PatchOp::Add {
            PatchOp::Remove
        } else {
            PatchOp::Add
        };
        edit.undo = Some(Undo {
            op,
            value,
            index: None,
        });
    }
    Ok(())
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
/// with the value, and a `remove` with the element's position in the set's order and its
/// value (appliers use the value). Copy on write: a std set is copied whole (O(n)) on the first
/// write below the `Arc` that holds it; an `imbl` set copies O(log n) nodes.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, produce_with_patches};
/// use std::collections::BTreeSet;
/// use std::sync::Arc;
///
/// let base = Arc::new(BTreeSet::from([1_u8, 2]));
/// let (next, patches, inverse) = produce_with_patches(&base, |d| {
///     d.remove(&1);
///     d.insert(3);
/// });
/// assert_eq!(*next, BTreeSet::from([2, 3]));
/// assert_eq!(apply_patches(&base, &patches).unwrap(), next);
/// assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
/// ```
pub struct SetDraft<P> {
    place: P,
}

impl<S: Set, P: Place<Target = S>> SetDraft<P> {
    /// Adds `item`; `false` (and no write) when it is already there. One `add` patch.
    ///
    /// Time: one lookup and insert, plus the copy on first write.
    pub fn insert(&mut self, item: S::Item) -> bool {
        if self.place.get().has(&item) {
            return false;
        }
        record(&mut self.place, |set, path| {
            let path = path.child(set.len());
            let value = json(&item)?;
            Ok((
                Patch::add(path.clone(), value.clone()),
                Patch {
                    value: Some(value),
                    ..Patch::remove(path)
                },
            ))
        });
        self.place.get_mut().add(item)
    }

    /// Removes `item`; `false` (and no write) when it is absent. One `remove` patch.
    ///
    /// Time: one lookup and removal, plus O(n) to find its position when recording, plus the
    /// copy on first write.
    pub fn remove(&mut self, item: &S::Item) -> bool {
        if !self.place.get().has(item) {
            return false;
        }
        record(&mut self.place, |set, path| {
            let position = set.items().position(|x| x == item).unwrap_or_default();
            let path = path.child(position);
            let value = json(item)?;
            Ok((
                Patch {
                    value: Some(value.clone()),
                    ..Patch::remove(path.clone())
                },
                Patch::add(path, value),
            ))
        });
        self.place.get_mut().take(item)
    }

    /// Keeps the elements for which `keep` returns true. One `remove` patch per element
    /// removed; no write when all stay.
    ///
    /// Time: O(n) plus one removal per element removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&S::Item) -> bool) {
        let doomed: Vec<S::Item> = self
            .place
            .get()
            .items()
            .filter(|x| !keep(x))
            .cloned()
            .collect();
        for item in &doomed {
            self.remove(item);
        }
    }

    /// Removes every element: one `remove` patch each; no write when already empty.
    ///
    /// Time: O(n).
    pub fn clear(&mut self) {
        self.retain(|_| false);
    }

    /// Adds every element of `iter`, as [`insert`](SetDraft::insert) does.
    pub fn extend(&mut self, iter: impl IntoIterator<Item = S::Item>) {
        for item in iter {
            self.insert(item);
        }
    }
}

impl<P: Place> Deref for SetDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}
