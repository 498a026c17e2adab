//! Lists: `Vec`, `VecDeque` and `imbl::Vector`, all drafted by [`ListDraft`].

use std::collections::VecDeque;
use std::ops::Deref;

use serde_json::Value;

use super::{json, record, sealed};
use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Undo, apply_whole, to_json};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::place::{Access, Child, OwnedChild, Place};

/// A list type that [`ListDraft`] can draft: `Vec`, `VecDeque`, `imbl::Vector`.
pub trait List: sealed::Sealed + Draftable {
    /// The element type.
    type Item: Draftable;
    #[doc(hidden)]
    const NAME: &'static str;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[doc(hidden)]
    fn item(&self, index: usize) -> Option<&Self::Item>;
    #[doc(hidden)]
    fn item_mut(&mut self, index: usize) -> Option<&mut Self::Item>;
    /// `index <= len`, checked by the caller.
    #[doc(hidden)]
    fn insert_at(&mut self, index: usize, value: Self::Item);
    /// `index < len`, checked by the caller.
    #[doc(hidden)]
    fn remove_at(&mut self, index: usize) -> Self::Item;
    #[doc(hidden)]
    fn truncate_to(&mut self, len: usize);
    /// Both `< len`, checked by the caller.
    #[doc(hidden)]
    fn swap_at(&mut self, a: usize, b: usize);
    #[doc(hidden)]
    fn retain_mask(&mut self, keep: &[bool]);
    #[doc(hidden)]
    fn reverse_all(&mut self);
    #[doc(hidden)]
    fn sort_all_by(
        &mut self,
        compare: &mut dyn FnMut(&Self::Item, &Self::Item) -> std::cmp::Ordering,
    );
    /// The elements in order.
    #[doc(hidden)]
    type Items<'a>: Iterator<Item = &'a Self::Item>
    where
        Self: 'a;
    #[doc(hidden)]
    fn items(&self) -> Self::Items<'_>;
    /// A cursor that writes many elements in order cheaply (`imbl`'s `FocusMut`).
    #[doc(hidden)]
    type Cursor<'a>
    where
        Self: 'a;
    #[doc(hidden)]
    fn cursor(&mut self) -> Self::Cursor<'_>;
    #[doc(hidden)]
    fn cursor_item<'c>(
        cursor: &'c mut Self::Cursor<'_>,
        index: usize,
    ) -> Option<&'c mut Self::Item>;
    /// A copy to read from while a pass writes, when one is cheap (persistent lists); `None`
    /// for lists whose copy is O(n).
    #[doc(hidden)]
    fn snapshot(&self) -> Option<Self>;

    /// Whether the list is at its fixed capacity (`ArrayVec`; never for growable lists).
    #[doc(hidden)]
    fn is_full(&self) -> bool {
        false
    }

    /// Whether the two share their contents (`imbl::Vector::ptr_eq`; never for std lists).
    #[doc(hidden)]
    fn ptr_eq(&self, _other: &Self) -> bool {
        false
    }

    /// The list's draft as the [`ListDraft`] it is, for code generic over `L: List` (where
    /// the compiler knows `L::Draft<P>` only as a projection).
    fn list_draft<P: Place<Target = Self>>(draft: &mut Self::Draft<P>) -> &mut ListDraft<P>;
}

/// `Draftable` for a list type: `list_impl!([generics] Type where [bounds])`.
macro_rules! list_impl {
    ([$($generics:tt)*] $ty:ty where [$($bounds:tt)*]) => {
        impl<$($generics)*> sealed::Sealed for $ty where $($bounds)* {}

        impl<$($generics)*> crate::draftable::Sealed for $ty where $($bounds)* {}

        impl<$($generics)*> Draftable for $ty where $($bounds)* {
            type Draft<P: Place<Target = Self>> = ListDraft<P>;
            type Path<R> = crate::ListPath<<Self as List>::Item, R>;
            fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
                ListDraft { place }
            }
            fn apply_edit(&mut self, path: &[PathSegment], edit: &mut Edit<'_>) -> Result<(), PatchErrorKind> {
                apply_list(self, path, edit)
            }
            fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
                list_value_at(self, path)
            }
            fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
                list_outline_at(self, path)
            }
            fn diff_into(&self, other: &Self, differ: &mut Differ) {
                if !List::ptr_eq(self, other) {
                    differ.list(self.len(), other.len(), |i| self.item(i), |i| other.item(i));
                }
            }
            fn same_as(&self, other: &Self) -> bool {
                List::ptr_eq(self, other)
                    || (List::len(self) == List::len(other)
                        && self.items().zip(other.items()).all(|(a, b)| a.same_as(b)))
            }
        }
    };
}

list_impl!([T: Draftable] Vec<T> where []);
list_impl!([T: Draftable] VecDeque<T> where []);
list_impl!([T: Draftable] Vector<T> where []);

use imbl::Vector;

fn keep_by_mask<T>(keep: &[bool]) -> impl FnMut(&T) -> bool + '_ {
    let mut keep = keep.iter();
    move |_| keep.next().copied().unwrap_or(true)
}

/// `List` for a list held in one allocation (`Vec`, `VecDeque`, `SmallVec`, `ArrayVec`): they
/// differ only in their generics, how an element is removed, how a contiguous slice is reached,
/// and whether their capacity is fixed.
macro_rules! std_list {
    (
        [$($generics:tt)*] $ty:ty where [$($bounds:tt)*],
        item: $item:ty,
        name: $name:literal,
        iter: $iter:ty,
        remove: |$list:ident, $index:ident| $remove:expr,
        slice: $slice:ident
        $(, is_full: |$full:ident| $is_full:expr)?
    ) => {
        impl<$($generics)*> List for $ty where $($bounds)* {
            type Item = $item;
            fn list_draft<P: Place<Target = Self>>(draft: &mut ListDraft<P>) -> &mut ListDraft<P> {
                draft
            }
            const NAME: &'static str = $name;
            $(fn is_full(&self) -> bool {
                let $full = self;
                $is_full
            })?
            fn len(&self) -> usize {
                self.len()
            }
            fn item(&self, index: usize) -> Option<&$item> {
                self.get(index)
            }
            fn item_mut(&mut self, index: usize) -> Option<&mut $item> {
                self.get_mut(index)
            }
            fn insert_at(&mut self, index: usize, value: $item) {
                self.insert(index, value);
            }
            fn remove_at(&mut self, index: usize) -> $item {
                let ($list, $index) = (self, index);
                $remove
            }
            fn truncate_to(&mut self, len: usize) {
                self.truncate(len);
            }
            fn swap_at(&mut self, a: usize, b: usize) {
                self.swap(a, b);
            }
            fn retain_mask(&mut self, keep: &[bool]) {
                let mut keep = keep_by_mask(keep);
                // `SmallVec::retain` hands out `&mut`: read it as `&`.
                self.retain(|x| keep(x));
            }
            fn reverse_all(&mut self) {
                self.$slice().reverse();
            }
            fn sort_all_by(&mut self, compare: &mut dyn FnMut(&$item, &$item) -> std::cmp::Ordering) {
                self.$slice().sort_by(compare);
            }
            type Items<'a>
                = $iter
            where
                Self: 'a;
            fn items(&self) -> Self::Items<'_> {
                self.iter()
            }
            type Cursor<'a>
                = &'a mut $ty
            where
                Self: 'a;
            fn cursor(&mut self) -> Self::Cursor<'_> {
                self
            }
            fn cursor_item<'c>(
                cursor: &'c mut Self::Cursor<'_>,
                index: usize,
            ) -> Option<&'c mut $item> {
                cursor.get_mut(index)
            }
            fn snapshot(&self) -> Option<Self> {
                None
            }
        }
    };
}

std_list!(
    [T: Draftable] Vec<T> where [],
    item: T,
    name: "Vec",
    iter: std::slice::Iter<'a, T>,
    remove: |list, index| list.remove(index),
    slice: as_mut_slice
);
std_list!(
    [T: Draftable] VecDeque<T> where [],
    item: T,
    name: "VecDeque",
    iter: std::collections::vec_deque::Iter<'a, T>,
    remove: |list, index| match list.remove(index) {
        Some(value) => value,
        None => unreachable!("immer: the caller checks the index"),
    },
    slice: make_contiguous
);

impl<T: Draftable> List for Vector<T> {
    type Item = T;
    fn list_draft<P: Place<Target = Self>>(draft: &mut ListDraft<P>) -> &mut ListDraft<P> {
        draft
    }
    const NAME: &'static str = "imbl::Vector";
    fn len(&self) -> usize {
        Vector::len(self)
    }
    fn item(&self, index: usize) -> Option<&T> {
        self.get(index)
    }
    fn item_mut(&mut self, index: usize) -> Option<&mut T> {
        self.get_mut(index)
    }
    fn insert_at(&mut self, index: usize, value: T) {
        self.insert(index, value);
    }
    fn remove_at(&mut self, index: usize) -> T {
        self.remove(index)
    }
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
    fn swap_at(&mut self, a: usize, b: usize) {
        self.swap(a, b);
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        self.retain(keep_by_mask(keep));
    }
    fn reverse_all(&mut self) {
        *self = self.iter().rev().cloned().collect();
    }
    fn sort_all_by(&mut self, compare: &mut dyn FnMut(&T, &T) -> std::cmp::Ordering) {
        // `Vector::sort_by` takes `Fn`; a stable sort of the elements, rebuilt, takes `FnMut`.
        let mut items: Vec<T> = self.iter().cloned().collect();
        items.sort_by(compare);
        *self = items.into_iter().collect();
    }
    type Items<'a>
        = imbl::vector::Iter<'a, T, imbl::shared_ptr::DefaultSharedPtr>
    where
        T: 'a;
    fn items(&self) -> Self::Items<'_> {
        self.iter()
    }
    type Cursor<'a>
        = imbl::vector::FocusMut<'a, T, imbl::shared_ptr::DefaultSharedPtr>
    where
        T: 'a;
    fn cursor(&mut self) -> Self::Cursor<'_> {
        self.focus_mut()
    }
    fn cursor_item<'c>(cursor: &'c mut Self::Cursor<'_>, index: usize) -> Option<&'c mut T> {
        cursor.get_mut(index)
    }
    fn snapshot(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn ptr_eq(&self, other: &Self) -> bool {
        Vector::ptr_eq(self, other)
    }
}

/// The list position a segment names: a canonical decimal number (RFC 6901), or `-` (one past
/// the end) where `allow_end`. Every list-like type (lists, JSON arrays) reads positions so.
pub(crate) fn list_index(
    segment: &PathSegment,
    len: usize,
    allow_end: bool,
) -> Result<usize, PatchErrorKind> {
    let index = match segment {
        PathSegment::Key(k) if allow_end && k == "-" => return Ok(len),
        other => other.as_index().ok_or_else(|| PatchErrorKind::NotAnIndex {
            segment: other.to_string(),
        })?,
    };
    let bound = if allow_end { len + 1 } else { len };
    if index < bound {
        Ok(index)
    } else {
        Err(PatchErrorKind::IndexOutOfRange { index, len })
    }
}

fn apply_list<L: List>(
    list: &mut L,
    path: &[PathSegment],
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let Some((segment, rest)) = path.split_first() else {
        return apply_whole(list, edit, L::NAME);
    };
    if !rest.is_empty() {
        let index = list_index(segment, list.len(), false)?;
        return match list.item_mut(index) {
            Some(item) => item.apply_edit(rest, edit),
            None => Err(PatchErrorKind::IndexOutOfRange {
                index,
                len: list.len(),
            }),
        };
    }
    match edit.op {
        PatchOp::Add => {
            let index = list_index(segment, list.len(), true)?;
            if list.is_full() {
                return Err(PatchErrorKind::ListFull { len: list.len() });
            }
            let value: L::Item = edit.decode()?;
            list.insert_at(index, value);
            if edit.want_position {
                edit.position = Some(index);
            }
            if edit.want_undo {
                edit.undo = Some(Undo {
                    op: PatchOp::Remove,
                    value: None,
                    index: Some(index),
                });
            }
        }
        PatchOp::Remove => {
            let index = list_index(segment, list.len(), false)?;
            if edit.want_position {
                edit.position = Some(index);
            }
            let old = if edit.want_undo {
                list.item(index).map(to_json).transpose()?
            } else {
                None
            };
            list.remove_at(index);
            if edit.want_undo {
                edit.undo = Some(Undo {
                    op: PatchOp::Add,
                    value: old,
                    index: None,
                });
            }
        }
        _ => {
            let index = list_index(segment, list.len(), false)?;
            if let Some(item) = list.item_mut(index) {
                apply_whole(item, edit, L::NAME)?;
            }
        }
    }
    Ok(())
}

fn list_value_at<L: List>(list: &L, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
    match path.split_first() {
        None => to_json(list),
        Some((segment, rest)) => {
            let index = list_index(segment, list.len(), false)?;
            match list.item(index) {
                Some(item) => item.value_at(rest),
                None => Err(PatchErrorKind::IndexOutOfRange {
                    index,
                    len: list.len(),
                }),
            }
        }
    }
}

fn list_outline_at<L: List>(list: &L, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
    match path.split_first() {
        None => Ok(Outline::Array(list.len())),
        Some((segment, rest)) => {
            let index = list_index(segment, list.len(), false)?;
            match list.item(index) {
                Some(item) => item.outline_at(rest),
                None => Err(PatchErrorKind::IndexOutOfRange {
                    index,
                    len: list.len(),
                }),
            }
        }
    }
}

/// The place of a list element.
pub type ElementPlace<'b, P, T> = Child<'b, P, usize, T>;

/// The draft of an element of the list `L` at place `P`.
pub type ElementDraft<'b, P, L> =
    <<L as List>::Item as Draftable>::Draft<ElementPlace<'b, P, <L as List>::Item>>;

/// The draft of an element of the list `L` at place `P`, holding the list's place by value:
/// what [`ListDraft::into_mut`] returns.
pub type OwnedElementDraft<P, L> =
    <<L as List>::Item as Draftable>::Draft<OwnedChild<P, usize, <L as List>::Item>>;

fn element<L: List>() -> Access<L, usize, L::Item> {
    Access {
        read: |l, i| l.item(*i),
        write: |l, i| l.item_mut(*i),
        segment: |i| Some(PathSegment::Index(*i)),
    }
}

/// The draft of a list: `Vec<T>`, `VecDeque<T>` or `imbl::Vector<T>`.
///
/// Reads through `Deref` to the list itself. Every write records one patch per operation
/// (a `remove(0)` is one `remove` patch at any length) and copies on write:
///
/// - `Vec` and `VecDeque` are stored inline in their parent, so the first write below an
///   `Arc` that holds one copies the whole list once: O(n) on the first write in a produce,
///   never again in the same produce. Use `Vec<Arc<T>>` so that copy is of pointers.
/// - `imbl::Vector` copies only the O(log n) nodes on the path to the element.
///
/// Index arguments out of range never panic: the method returns `None`, `false` or the value
/// back.
///
/// # Examples
///
/// ```
/// use immer_core::{produce_with_patches, Vector};
/// use std::sync::Arc;
///
/// let base = Arc::new(Vector::from_iter(0..100_000_u32));
/// let (next, patches, _) = produce_with_patches(&base, |d| {
///     d.remove(0);
///     d.get_mut(0).unwrap().set(7);
/// });
/// assert_eq!((next[0], next.len()), (7, 99_999));
/// assert_eq!(patches.len(), 2);
/// ```
pub struct ListDraft<P> {
    place: P,
}

impl<L: List, P: Place<Target = L>> ListDraft<P> {
    /// The draft of the element at `index`, or `None` when out of range.
    ///
    /// Time: O(1) (`Vector`: O(log n)); copies nothing until the element's draft writes.
    pub fn get_mut(&mut self, index: usize) -> Option<ElementDraft<'_, P, L>> {
        if index < self.place.get().len() {
            Some(L::Item::draft(Child::new(
                &mut self.place,
                index,
                element::<L>(),
            )))
        } else {
            None
        }
    }

    /// The draft of the element at `index`, or `None` when out of range, consuming the
    /// list's draft: unlike [`get_mut`](ListDraft::get_mut), the result can be bound to a
    /// variable when the list's draft is a temporary, as std's entry API has `into_mut`.
    ///
    /// ```
    /// use immer_core::produce;
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Some(vec![1_u32, 2, 3]));
    /// let next = produce(&base, |d| {
    ///     // `d.get_mut().unwrap().get_mut(1)` would borrow a temporary that is dropped at
    ///     // the end of the statement; `into_mut` takes it instead.
    ///     let mut second = d.get_mut().unwrap().into_mut(1).unwrap();
    ///     second.set(20);
    /// });
    /// assert_eq!(*next, Some(vec![1, 20, 3]));
    /// ```
    ///
    /// Time: as [`get_mut`](ListDraft::get_mut).
    pub fn into_mut(self, index: usize) -> Option<OwnedElementDraft<P, L>> {
        if index < self.place.get().len() {
            Some(L::Item::draft(OwnedChild::new(
                self.place,
                index,
                element::<L>(),
            )))
        } else {
            None
        }
    }

    /// The draft of the first element, or `None` when empty.
    ///
    /// Time: as [`get_mut`](ListDraft::get_mut).
    pub fn first_mut(&mut self) -> Option<ElementDraft<'_, P, L>> {
        self.get_mut(0)
    }

    /// The draft of the last element, or `None` when empty.
    ///
    /// Time: as [`get_mut`](ListDraft::get_mut).
    pub fn last_mut(&mut self) -> Option<ElementDraft<'_, P, L>> {
        let len = self.place.get().len();
        if len == 0 {
            None
        } else {
            self.get_mut(len - 1)
        }
    }

    /// A lending iterator over the element drafts, front to back:
    /// `while let Some(mut item) = it.next() { ... }`.
    ///
    /// Each draft borrows the iterator, so this is not a `std::iter::Iterator`; see also
    /// [`for_each_mut`](ListDraft::for_each_mut).
    ///
    /// Time: O(1) per step (`Vector`: O(log n) per read, O(1) amortized per write); writes
    /// copy as their drafts do.
    #[allow(
        clippy::iter_not_returning_iterator,
        reason = "a lending iterator: each draft borrows the list"
    )]
    pub fn iter_mut(&mut self) -> ListIterMut<'_, P> {
        let snapshot = if self.place.is_recording() {
            None
        } else {
            self.place.get().snapshot()
        };
        ListIterMut {
            pass: Pass::Lazy(&mut self.place),
            snapshot,
            next: 0,
        }
    }

    /// Calls `f` with each element's index and draft, front to back.
    ///
    /// Elements the drafts do not write are not copied. On an `imbl::Vector` outside
    /// recording, the pass reads from a snapshot of the list (an O(1) copy) and writes through
    /// one cursor, so a pass that writes every element costs about what `iter_mut` on the
    /// vector itself does.
    ///
    /// Time: O(n) (`Vector` while recording: O(n log n)); writes copy as their drafts do.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(usize, IterDraft<'_, '_, P, L>)) {
        let snapshot = if self.place.is_recording() {
            None
        } else {
            self.place.get().snapshot()
        };
        let len = self.place.get().len();
        let mut originals = snapshot.as_ref().map(List::items);
        let mut pass = Pass::Lazy(&mut self.place);
        for index in 0..len {
            let original = originals.as_mut().and_then(Iterator::next);
            f(
                index,
                L::Item::draft(IterElement {
                    pass: Some(&mut pass),
                    live: None,
                    original,
                    index,
                }),
            );
        }
    }

    /// Replaces the element at `index`; gives `value` back when out of range. An equal value
    /// changes nothing. One `replace` patch.
    ///
    /// # Errors
    ///
    /// `Err(value)` when `index` is out of range.
    ///
    /// Time: O(1) (`Vector`: O(log n)) plus one `PartialEq` comparison with the old element
    /// (O(its size)) and the copy on first write.
    pub fn set(&mut self, index: usize, value: L::Item) -> Result<(), L::Item> {
        if index >= self.place.get().len() {
            return Err(value);
        }
        crate::draftable::set_place(
            &mut Child::new(&mut self.place, index, element::<L>()),
            value,
        );
        Ok(())
    }

    /// Appends an element. One `add` patch.
    ///
    /// # Panics
    ///
    /// On a full `ArrayVec`, as `ArrayVec::push` does; check `is_full()` on the list first, or
    /// use [`insert`](ListDraft::insert), which gives the value back.
    ///
    /// Time: O(1) amortized (`Vector`: O(1) amortized, copying O(log n) nodes) plus the copy
    /// on first write.
    pub fn push(&mut self, value: L::Item) {
        let len = self.place.get().len();
        record(&mut self.place, |_, path| {
            let path = path.child(len);
            Ok((Patch::add(path.clone(), json(&value)?), Patch::remove(path)))
        });
        self.place.get_mut().insert_at(len, value);
    }

    /// Removes and returns the last element, or `None` when empty. One `remove` patch.
    ///
    /// Time: O(1) (`Vector`: O(log n)) plus the copy on first write.
    pub fn pop(&mut self) -> Option<L::Item> {
        let len = self.place.get().len();
        if len == 0 { None } else { self.remove(len - 1) }
    }

    /// Inserts `value` at `index` (`index == len` appends), shifting the rest. One `add` patch.
    ///
    /// # Errors
    ///
    /// `Err(value)` when `index > len`, or when the list is full (an `ArrayVec`).
    ///
    /// Time: `Vec`: O(n - index); `VecDeque`: O(min(index, n - index)); `Vector`: O(log n);
    /// plus the copy on first write.
    pub fn insert(&mut self, index: usize, value: L::Item) -> Result<(), L::Item> {
        let list = self.place.get();
        if index > list.len() || list.is_full() {
            return Err(value);
        }
        record(&mut self.place, |_, path| {
            let path = path.child(index);
            Ok((Patch::add(path.clone(), json(&value)?), Patch::remove(path)))
        });
        self.place.get_mut().insert_at(index, value);
        Ok(())
    }

    /// Removes and returns the element at `index`, shifting the rest; `None` when out of
    /// range. One `remove` patch, whatever the list's length.
    ///
    /// Time: `Vec`: O(n - index); `VecDeque`: O(min(index, n - index)); `Vector`: O(log n);
    /// plus the copy on first write.
    pub fn remove(&mut self, index: usize) -> Option<L::Item> {
        self.place.get().item(index)?;
        record_removal(&mut self.place, index);
        Some(self.place.get_mut().remove_at(index))
    }

    /// Removes the element at `index` and puts the last one in its place; `None` when out of
    /// range. A `replace` and a `remove` patch (one `remove` for the last element).
    ///
    /// Time: O(1) (`Vector`: O(log n)) plus the copy on first write.
    pub fn swap_remove(&mut self, index: usize) -> Option<L::Item> {
        let len = self.place.get().len();
        if index >= len {
            return None;
        }
        if index + 1 < len {
            self.swap(index, len - 1);
        }
        self.pop()
    }

    /// Swaps two elements; `false` (and no change) when either index is out of range.
    /// Two `replace` patches, none when the elements are equal.
    ///
    /// Time: O(1) (`Vector`: O(log n)) plus the copy on first write.
    pub fn swap(&mut self, a: usize, b: usize) -> bool {
        let list = self.place.get();
        let (Some(x), Some(y)) = (list.item(a), list.item(b)) else {
            return false;
        };
        if x == y {
            return true;
        }
        record_pair(&mut self.place, a, b);
        self.place.get_mut().swap_at(a, b);
        true
    }

    /// Shortens the list to `len` elements (nothing when it is not longer). One `remove`
    /// patch per element removed, from the end.
    ///
    /// Time: O(removed) (`Vector`: O(log n)) plus the copy on first write.
    pub fn truncate(&mut self, len: usize) {
        let old_len = self.place.get().len();
        if len >= old_len {
            return;
        }
        if self.place.is_recording() {
            for index in (len..old_len).rev() {
                record_removal(&mut self.place, index);
            }
        }
        self.place.get_mut().truncate_to(len);
    }

    /// Removes every element. One `replace` patch of the whole list (with `[]`); nothing when
    /// already empty.
    ///
    /// Time: O(n) to drop the elements (O(1) when the base still shares them).
    pub fn clear(&mut self) {
        if self.place.get().is_empty() {
            return;
        }
        record(&mut self.place, |list, path| {
            Ok((
                Patch::replace(path.clone(), Value::Array(Vec::new())),
                Patch::replace(path, json(list)?),
            ))
        });
        self.place.get_mut().truncate_to(0);
    }

    /// Keeps the elements for which `keep` returns true. One `remove` patch per element
    /// removed (from the back, so each patch's index holds when applied in order); no write
    /// when every element stays.
    ///
    /// Time: O(n) plus the copy on first write.
    pub fn retain(&mut self, mut keep: impl FnMut(&L::Item) -> bool) {
        let mask: Vec<bool> = self.place.get().items().map(&mut keep).collect();
        if mask.iter().all(|k| *k) {
            return;
        }
        if self.place.is_recording() {
            for index in (0..mask.len()).rev().filter(|i| !mask[*i]) {
                record_removal(&mut self.place, index);
            }
        }
        self.place.get_mut().retain_mask(&mask);
    }

    /// Reverses the order. One `replace` patch of the whole list; no write for fewer than two
    /// elements or a palindrome.
    ///
    /// Time: O(n) plus the copy on first write.
    pub fn reverse(&mut self) {
        let list = self.place.get();
        if list
            .items()
            .eq(list.items().collect::<Vec<_>>().into_iter().rev())
        {
            return;
        }
        let mut reversed = list.clone();
        reversed.reverse_all();
        crate::draftable::set_place(&mut self.place, reversed);
    }

    /// Sorts with `compare` (stable). One `replace` patch of the whole list; no write when
    /// already sorted.
    ///
    /// Time: O(n log n), O(n) when already sorted, plus the copy on first write.
    pub fn sort_by(&mut self, mut compare: impl FnMut(&L::Item, &L::Item) -> std::cmp::Ordering) {
        let list = self.place.get();
        let items: Vec<&L::Item> = list.items().collect();
        if items
            .windows(2)
            .all(|w| compare(w[0], w[1]) != std::cmp::Ordering::Greater)
        {
            return;
        }
        if self.place.is_recording() {
            let mut sorted = list.clone();
            sorted.sort_all_by(&mut compare);
            crate::draftable::set_place(&mut self.place, sorted);
        } else {
            self.place.get_mut().sort_all_by(&mut compare);
        }
    }

    /// Sorts by the key `f` gives (stable). As [`sort_by`](ListDraft::sort_by).
    pub fn sort_by_key<K: Ord>(&mut self, mut f: impl FnMut(&L::Item) -> K) {
        self.sort_by(|a, b| f(a).cmp(&f(b)));
    }

    /// Appends every element of `iter`. One `add` patch each.
    ///
    /// Time: O(1) amortized per element (`Vector`: O(log n)) plus the copy on first write.
    pub fn extend(&mut self, iter: impl IntoIterator<Item = L::Item>) {
        for value in iter {
            self.push(value);
        }
    }
}

/// Records the removal of the element at `index` (which exists).
fn record_removal<L: List, P: Place<Target = L>>(place: &mut P, index: usize) {
    record(place, |list, path| {
        let path = path.child(index);
        Ok((
            Patch::remove(path.clone()),
            Patch::add(path, json(&list.item(index))?),
        ))
    });
}

/// Records a swap of two elements as two `replace` patches.
fn record_pair<L: List, P: Place<Target = L>>(place: &mut P, a: usize, b: usize) {
    for (index, other) in [(a, b), (b, a)] {
        record(place, |list, path| {
            let path = path.child(index);
            Ok((
                Patch::replace(path.clone(), json(&list.item(other))?),
                Patch::replace(path, json(&list.item(index))?),
            ))
        });
    }
}

impl<P: Place> Deref for ListDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}

/// A lending iterator over a list's element drafts, made by [`ListDraft::iter_mut`].
pub struct ListIterMut<'b, P: Place>
where
    P::Target: List,
{
    pass: Pass<'b, P>,
    snapshot: Option<P::Target>,
    next: usize,
}

impl<'b, L: List, P: Place<Target = L>> ListIterMut<'b, P> {
    /// The next element's draft, or `None` at the end.
    #[allow(
        clippy::should_implement_trait,
        reason = "a lending iterator: each draft borrows the iterator"
    )]
    pub fn next(&mut self) -> Option<IterDraft<'_, 'b, P, L>> {
        let index = self.next;
        let len = match &self.pass {
            Pass::Lazy(place) => place.get().len(),
            _ => self.snapshot.as_ref().map_or(0, List::len),
        };
        if index >= len {
            return None;
        }
        self.next += 1;
        let original = self.snapshot.as_ref().and_then(|s| s.item(index));
        Some(L::Item::draft(IterElement {
            pass: Some(&mut self.pass),
            live: None,
            original,
            index,
        }))
    }
}

/// The draft of an element during a pass over a list ([`ListDraft::for_each_mut`],
/// [`ListDraft::iter_mut`]).
pub type IterDraft<'e, 'p, P, L> = <<L as List>::Item as Draftable>::Draft<IterElement<'e, 'p, P>>;

/// Where a pass over a list writes: through the place chain until the first write, then,
/// on a persistent list outside recording, through one cursor.
pub(crate) enum Pass<'p, P: Place>
where
    P::Target: List,
{
    Lazy(&'p mut P),
    Eager(<P::Target as List>::Cursor<'p>),
    Moving,
}

/// The place of an element during a pass over a list ([`ListDraft::for_each_mut`],
/// [`ListDraft::iter_mut`]): reads the pass's snapshot until the element is written, then the
/// live element.
pub struct IterElement<'e, 'p, P: Place>
where
    P::Target: List,
{
    pass: Option<&'e mut Pass<'p, P>>,
    live: Option<&'e mut <P::Target as List>::Item>,
    original: Option<&'e <P::Target as List>::Item>,
    index: usize,
}

impl<P: Place> crate::place::Sealed for IterElement<'_, '_, P> where P::Target: List {}

impl<L: List, P: Place<Target = L>> Place for IterElement<'_, '_, P> {
    type Target = L::Item;

    #[inline]
    fn get(&self) -> &L::Item {
        if let Some(live) = self.live.as_deref() {
            return live;
        }
        if let Some(original) = self.original {
            return original;
        }
        match self.pass.as_deref() {
            Some(Pass::Lazy(place)) => place
                .get()
                .item(self.index)
                .unwrap_or_else(|| crate::place::vanished()),
            _ => crate::place::vanished(),
        }
    }

    #[inline]
    fn get_mut(&mut self) -> &mut L::Item {
        if self.live.is_none() && self.original.is_some() {
            // A snapshot exists, so nobody records: switch the pass to its cursor (once) and
            // keep this element's live reference.
            self.original = None;
            let Some(pass) = self.pass.take() else {
                crate::place::vanished()
            };
            if let Pass::Lazy(_) = pass {
                if let Pass::Lazy(place) = std::mem::replace(pass, Pass::Moving) {
                    *pass = Pass::Eager(L::cursor(place.get_mut()));
                }
            }
            if let Pass::Eager(cursor) = pass {
                self.live = L::cursor_item(cursor, self.index);
            }
        }
        if let Some(live) = self.live.as_deref_mut() {
            return live;
        }
        // No snapshot (a std list, or recording): every write walks the place chain.
        match self.pass.as_deref_mut() {
            Some(Pass::Lazy(place)) => place
                .get_mut()
                .item_mut(self.index)
                .unwrap_or_else(|| crate::place::vanished()),
            _ => crate::place::vanished(),
        }
    }

    #[inline]
    fn is_recording(&self) -> bool {
        match self.pass.as_deref() {
            Some(Pass::Lazy(place)) => place.is_recording(),
            _ => false,
        }
    }

    fn write_path(&self, path: &mut Vec<PathSegment>) {
        if let Some(Pass::Lazy(place)) = self.pass.as_deref() {
            place.write_path(path);
        }
        path.push(PathSegment::Index(self.index));
    }

    fn record(&mut self, change: crate::place::Recorded) {
        if let Some(Pass::Lazy(place)) = self.pass.as_deref_mut() {
            place.record(change);
        }
    }
}

/// `smallvec::SmallVec` (feature `smallvec`): a list draft, as `Vec`.
#[cfg(feature = "smallvec")]
mod small_vec {
    use serde_json::Value;
    use smallvec::{Array, SmallVec};

    use super::{
        List, ListDraft, apply_list, keep_by_mask, list_outline_at, list_value_at, sealed,
    };
    use crate::diff::Differ;
    use crate::draftable::{Draftable, Edit};
    use crate::error::PatchErrorKind;
    use crate::outline::Outline;
    use crate::path::PathSegment;
    use crate::place::Place;

    list_impl!([A: Array + 'static] SmallVec<A> where [A::Item: Draftable]);
    std_list!(
        [A: Array + 'static] SmallVec<A> where [A::Item: Draftable],
        item: A::Item,
        name: "SmallVec",
        iter: std::slice::Iter<'a, A::Item>,
        remove: |list, index| list.remove(index),
        slice: as_mut_slice
    );
}

/// `arrayvec::ArrayVec` (feature `arrayvec`): a list draft with a fixed capacity. An `add`
/// patch into a full one is refused; the draft's `insert` gives the value back; `push` and
/// `extend` panic when it is full, as `ArrayVec::push` does.
#[cfg(feature = "arrayvec")]
mod array_vec {
    use arrayvec::ArrayVec;
    use serde_json::Value;

    use super::{
        List, ListDraft, apply_list, keep_by_mask, list_outline_at, list_value_at, sealed,
    };
    use crate::diff::Differ;
    use crate::draftable::{Draftable, Edit};
    use crate::error::PatchErrorKind;
    use crate::outline::Outline;
    use crate::path::PathSegment;
    use crate::place::Place;

    list_impl!([T: Draftable, const CAP: usize] ArrayVec<T, CAP> where []);
    std_list!(
        [T: Draftable, const CAP: usize] ArrayVec<T, CAP> where [],
        item: T,
        name: "ArrayVec",
        iter: std::slice::Iter<'a, T>,
        remove: |list, index| list.remove(index),
        slice: as_mut_slice,
        is_full: |list| list.is_full()
    );
}
