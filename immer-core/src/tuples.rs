//! Tuples as drafts: each element has an accessor (`_0()`, `_1()`, ...) returning its own draft
//! and a setter (`set_0`, ...). Paths are the element's position, as serde writes a tuple as a
//! JSON array.

use std::ops::Deref;

use serde_json::Value;

use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Sealed, apply_whole, set_place, to_json};
use crate::error::PatchErrorKind;
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
    ($draft:ident, $count:literal; $($T:ident $i:tt $get:ident $set:ident),+) => {
        impl<$($T: Draftable),+> Sealed for ($($T,)+) {}

        impl<$($T: Draftable),+> Draftable for ($($T,)+) {
            type Draft<P: Place<Target = Self>> = $draft<P>;

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

tuple_draft!(Tuple2Draft, 2; A 0 _0 set_0, B 1 _1 set_1);
tuple_draft!(Tuple3Draft, 3; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2);
tuple_draft!(Tuple4Draft, 4; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3);
tuple_draft!(Tuple5Draft, 5; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3, E 4 _4 set_4);
tuple_draft!(Tuple6Draft, 6; A 0 _0 set_0, B 1 _1 set_1, C 2 _2 set_2, D 3 _3 set_3, E 4 _4 set_4, F 5 _5 set_5);
