//! Tuples as drafts: each element has an accessor (`_0()`, `_1()`, ...) returning its own draft
//! and a setter (`set_0`, ...). Paths are the element's position, as serde writes a tuple as a
//! JSON array.

use std::ops::Deref;

use serde_json::Value;

use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Sealed, apply_whole, set_place, to_json};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::path::PathSegment;
use crate::place::{Access, Child, Place};

/// The error for a tuple position that is not one of its `count` elements.
fn not_a_position(segment: &PathSegment, count: usize) -> PatchErrorKind {
    match segment.as_index() {
        Some(index) => PatchErrorKind::IndexOutOfRange { index, len: count },
        None => PatchErrorKind::NotAnIndex {
            segment: segment.to_string(),
        },
    }
}

macro_rules! tuple_draft {
    ($draft:ident, $path:ident, $count:literal; $($T:ident $i:tt $get:ident $set:ident),+) => {
        impl<$($T: Draftable),+> Sealed for ($($T,)+) {}

        impl<$($T: Draftable),+> Draftable for ($($T,)+) {
            type Draft<P: Place<Target = Self>> = $draft<P>;
            type Path<R> = crate::$path<$($T,)+ R>;

            fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
                $draft { place }
            }

            fn apply_edit(
                &mut self,
                path: &[PathSegment],
                edit: &mut Edit<'_>,
            ) -> Result<(), PatchErrorKind> {
                let Some((segment, rest)) = path.split_first() else {
                    return apply_whole(self, edit, "tuple");
                };
                match segment.as_index() {
                    $(Some($i) => self.$i.apply_edit(rest, edit),)+
                    _ => Err(not_a_position(segment, $count)),
                }
            }

            fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
                let Some((segment, rest)) = path.split_first() else {
                    return to_json(self);
                };
                match segment.as_index() {
                    $(Some($i) => self.$i.value_at(rest),)+
                    _ => Err(not_a_position(segment, $count)),
                }
            }

            fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
                let Some((segment, rest)) = path.split_first() else {
                    return Ok(Outline::Array($count));
                };
                match segment.as_index() {
                    $(Some($i) => self.$i.outline_at(rest),)+
                    _ => Err(not_a_position(segment, $count)),
                }
            }

            fn diff_into(&self, other: &Self, differ: &mut Differ) {
                $(differ.child(Some(PathSegment::Index($i)), |d| self.$i.diff_into(&other.$i, d));)+
            }

            fn same_as(&self, other: &Self) -> bool {
                $(self.$i.same_as(&other.$i))&&+
            }
        }

        #[doc = concat!("The draft of a tuple of ", stringify!($count), " elements: `_0()`, `_1()`, ... give each element's draft, `set_0`, ... replace one.")]
        pub struct $draft<P> {
            place: P,
        }

        impl<$($T: Draftable,)+ P: Place<Target = ($($T,)+)>> $draft<P> {
            /// Replaces the whole tuple: one `replace` patch. An equal value changes nothing.
            pub fn set(&mut self, value: ($($T,)+)) {
                set_place(&mut self.place, value);
            }

            $(
                #[doc = concat!("The draft of element ", stringify!($i), ", to change it in place.")]
                pub fn $get(&mut self) -> <$T as Draftable>::Draft<Child<'_, P, usize, $T>> {
                    $T::draft(Child::new(
                        &mut self.place,
                        $i,
                        Access {
                            read: |t, _| Some(&t.$i),
                            write: |t, _| Some(&mut t.$i),
                            segment: |i| Some(PathSegment::Index(*i)),
                        },
                    ))
                }

                #[doc = concat!("Replaces element ", stringify!($i), ": one `replace` patch. An equal value changes nothing.")]
                pub fn $set(&mut self, value: $T) {
                    set_place(
                        &mut Child::new(
                            &mut self.place,
                            $i,
                            Access {
                                read: |t, _| Some(&t.$i),
                                write: |t, _| Some(&mut t.$i),
                                segment: |i| Some(PathSegment::Index(*i)),
                            },
                        ),
                        value,
                    );
                }
            )+
        }

        impl<P: Place> Deref for $draft<P> {
            type Target = P::Target;
            fn deref(&self) -> &P::Target {
                self.place.get()
            }
        }
    };
}

tuple_draft!(Tuple2Draft, Tuple2Path, 2; A 0 _0 set_0, B 1 _1 set_1);
tuple_draft!(Tuple3Draft, Tuple3Path, 3; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2);
tuple_draft!(Tuple4Draft, Tuple4Path, 4; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3);
tuple_draft!(Tuple5Draft, Tuple5Path, 5; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3, E 4 _4 set_4);
tuple_draft!(Tuple6Draft, Tuple6Path, 6; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3, E 4 _4 set_4, F 5 _5 set_5);

/// Arrays `[T; N]` draft element by element: a fixed length, so `add` and `remove` patches
/// into them are refused, and every change is a `replace` of an element (or of the array).
/// serde implements its traits for arrays of up to 32 elements, and so does this.
impl<T: Draftable, const N: usize> Sealed for [T; N] where
    [T; N]: serde::Serialize + serde::de::DeserializeOwned
{
}

impl<T: Draftable, const N: usize> Draftable for [T; N]
where
    [T; N]: serde::Serialize + serde::de::DeserializeOwned,
{
    type Draft<P: Place<Target = Self>> = ArrayDraft<P>;
    type Path<R> = crate::ListPath<T, R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        ArrayDraft { place }
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        let Some((segment, rest)) = path.split_first() else {
            return apply_whole(self, edit, "array");
        };
        let item = segment
            .as_index()
            .and_then(|i| self.get_mut(i))
            .ok_or_else(|| not_a_position(segment, N))?;
        if rest.is_empty() && edit.op != crate::patch::PatchOp::Replace {
            return Err(PatchErrorKind::Malformed {
                reason: format!(
                    "an array has a fixed length of {N}: replace its elements instead of `{}`",
                    edit.op
                ),
            });
        }
        item.apply_edit(rest, edit)
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        let Some((segment, rest)) = path.split_first() else {
            return to_json(self);
        };
        segment
            .as_index()
            .and_then(|i| self.get(i))
            .ok_or_else(|| not_a_position(segment, N))?
            .value_at(rest)
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        let Some((segment, rest)) = path.split_first() else {
            return Ok(Outline::Array(N));
        };
        segment
            .as_index()
            .and_then(|i| self.get(i))
            .ok_or_else(|| not_a_position(segment, N))?
            .outline_at(rest)
    }

    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        for (i, (a, b)) in self.iter().zip(other).enumerate() {
            if !a.same_as(b) {
                differ.child(Some(PathSegment::Index(i)), |d| a.diff_into(b, d));
            }
        }
    }

    fn same_as(&self, other: &Self) -> bool {
        self.iter().zip(other).all(|(a, b)| a.same_as(b))
    }
}

fn array_element<T, const N: usize>() -> Access<[T; N], usize, T> {
    Access {
        read: |a, i| a.get(*i),
        write: |a, i| a.get_mut(*i),
        segment: |i| Some(PathSegment::Index(*i)),
    }
}

/// The draft of an array `[T; N]`: each element's draft by index, and `set` of one element.
/// Out-of-range indices never panic: the method returns `None` or the value back.
///
/// # Examples
///
/// ```
/// use immer_core::produce_with_patches;
/// use std::sync::Arc;
///
/// let base = Arc::new([1_u8, 2, 3]);
/// let (next, patches, _) = produce_with_patches(&base, |d| {
///     d.get_mut(1).unwrap().set(20);
///     assert!(d.set(9, 0).is_err());
/// });
/// assert_eq!(*next, [1, 20, 3]);
/// assert_eq!(patches[0].path.to_pointer(), "/1");
/// ```
pub struct ArrayDraft<P> {
    place: P,
}

impl<T: Draftable, const N: usize, P: Place<Target = [T; N]>> ArrayDraft<P>
where
    [T; N]: serde::Serialize + serde::de::DeserializeOwned,
{
    /// The draft of the element at `index`, or `None` when out of range.
    ///
    /// Time: O(1); copies nothing until the element's draft writes.
    pub fn get_mut(&mut self, index: usize) -> Option<T::Draft<Child<'_, P, usize, T>>> {
        (index < N).then(|| T::draft(Child::new(&mut self.place, index, array_element())))
    }

    /// Replaces the element at `index`: one `replace` patch, none for an equal value.
    ///
    /// # Errors
    ///
    /// `Err(value)` when `index` is out of range.
    ///
    /// Time: O(1) plus one `PartialEq` comparison with the old element.
    pub fn set(&mut self, index: usize, value: T) -> Result<(), T> {
        if index >= N {
            return Err(value);
        }
        set_place(
            &mut Child::new(&mut self.place, index, array_element()),
            value,
        );
        Ok(())
    }

    /// Swaps two elements: two `replace` patches (none when equal); `false` when either index
    /// is out of range.
    ///
    /// Time: O(1) plus the two JSON values when recording.
    pub fn swap(&mut self, a: usize, b: usize) -> bool {
        let array = self.place.get();
        let (Some(x), Some(y)) = (array.get(a).cloned(), array.get(b).cloned()) else {
            return false;
        };
        let _ = self.set(a, y);
        let _ = self.set(b, x);
        true
    }
}

impl<P: Place> Deref for ArrayDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}
