//! The runtime of [immer for Rust](https://docs.rs/immer): the [`Draftable`] trait, drafts,
//! [`produce`], patches in Immer's format, [`apply_patches`], and drafts for the std and
//! persistent collections.
//!
//! Use it through the `immer` crate, which adds `#[derive(Draftable)]`.
//!
//! - [`produce`] and [`produce_with_patches`] run a recipe on a draft; [`Drafting`] keeps a
//!   draft across several steps.
//! - [`Patch`] is Immer's patch format; [`apply_patches`] and [`apply_patches_mut`] apply
//!   patches typed and atomically; [`Path`] converts to and from JSON Pointers.
//! - [`History`] is time travel: undo, redo, jumps, and a replayable log.
//! - [`sync`] keeps a state consistent across nodes; [`transform`] moves patches through
//!   concurrent ones.
//!
//! # Collections and their costs
//!
//! A std collection is stored inline in its parent: the first write below the `Arc` that holds
//! it copies it whole, once per produce. A persistent collection of `imbl` (re-exported here)
//! copies only the nodes on the path to what changed.
//!
//! | operation (draft method) | `Vec` | `VecDeque` | `imbl::Vector` |
//! | --- | --- | --- | --- |
//! | first write in a produce | O(n) copy | O(n) copy | O(log n) copy |
//! | `get_mut(i)`, `set(i, v)` | O(1) | O(1) | O(log n) |
//! | `push`, `pop` | O(1)* | O(1)* | O(1)* |
//! | `insert(i, v)`, `remove(i)` | O(n) | O(n) | O(log n) |
//! | `truncate`, `retain` | O(n) | O(n) | O(n) |
//!
//! | operation (draft method) | `HashMap` / `HashSet` | `BTreeMap` / `BTreeSet` | `imbl::HashMap` / `imbl::HashSet` | `imbl::OrdMap` / `imbl::OrdSet` |
//! | --- | --- | --- | --- | --- |
//! | first write in a produce | O(n) copy | O(n) copy | O(log n) copy | O(log n) copy |
//! | `get_mut(k)`, `insert`, `remove` | O(1)* | O(log n) | O(log n) | O(log n) |
//!
//! \* amortized. Recording patches adds O(size of the written value) per operation for its
//! JSON, and never depends on the collection's length.

#![deny(unsafe_code)]

mod apply;
mod canonical;
mod collections;
mod diff;
mod draftable;
mod ecosystem;
mod error;
mod history;
pub mod json;
mod outline;
mod patch;
mod path;
mod pattern;
#[path = "place.rs"]
mod places;
pub mod place {
    //! Places: where a draft reads and writes, and who records its patches.
    //!
    //! A draft does not own or borrow its value directly. It holds a *place*: a chain of steps
    //! from the root snapshot down to the value (a struct field, a list index, a map key, the
    //! inside of an `Arc`). Reading walks the chain with shared references and never copies.
    //! Writing walks it with `Arc::make_mut` and the collections' own `get_mut`, so the first
    //! write below an `Arc` copies that node once and every later write finds it unique: a
    //! produce copies exactly the path from the root to what changed.
    //!
    //! The chain also knows its [`Path`](crate::Path), built only when a patch is recorded,
    //! and its root knows its [`Recorder`]: [`NoRecording`] in [`produce`](crate::produce), a
    //! [`Recording`] in [`produce_with_patches`](crate::produce_with_patches).
    //!
    //! Users name these types rarely: [`Place`] as a bound, to write functions over drafts
    //! (`fn finish<P: Place<Target = Todo>>(todo: &mut TodoDraft<P>)`), and the root draft by its
    //! aliases [`Draft`](crate::Draft), [`PatchDraft`](crate::PatchDraft) and
    //! [`SessionDraft`](crate::SessionDraft). The types are here so that every draft's type can
    //! be named and read in the docs.

    pub use crate::collections::list::{ElementPlace, IterElement};
    pub use crate::collections::map::EntryPlace;
    pub use crate::places::*;
    pub use crate::record::Recording;
}
mod produce;
mod record;
pub mod sync;
mod transform;
mod tuples;
mod typed_path;
pub mod typescript;
mod value;
mod wrappers;

pub use apply::{apply_patches, apply_patches_mut, apply_with_inverse};
pub use canonical::apply_canonical;
pub use collections::list::{
    ElementDraft, IterDraft, List, ListDraft, ListIterMut, OwnedElementDraft,
};
pub use collections::map::{EntryDraft, Map, MapDraft, MapIterMut, MapLookup, OwnedEntryDraft};
pub use collections::set::{Set, SetDraft};
pub use diff::diff;
pub use draftable::{Draftable, Leaf};
pub use error::{PatchError, PatchErrorKind, UnserializableError};
pub use history::{History, HistoryEntry, HistoryError, LogError, Transaction};
/// The persistent collections of [`imbl`]: their maps and sets are `imbl::HashMap`,
/// `imbl::OrdMap`, `imbl::HashSet` and `imbl::OrdSet`, named here with the crate, not under
/// std's names.
pub use imbl;
pub use imbl::{OrdMap, OrdSet, Vector};
pub use json::{Json, JsonArray, JsonDraft, JsonObject};
pub use patch::{Patch, PatchOp, from_json_patch, to_json_patch};
pub use path::{Path, PathSegment, PointerError};
pub use pattern::{PathPattern, PatternError};
pub use place::Place;
pub use produce::{
    Draft, Drafting, InPlaceDraft, PatchDraft, ProduceExt, Produced, RootDraft, SessionDraft,
    produce, produce_with_patches, record_in_place, try_produce_with_patches, try_record_in_place,
};
pub use transform::{Conflict, revert_through, transform};
pub use tuples::{ArrayDraft, Tuple2Draft, Tuple3Draft, Tuple4Draft, Tuple5Draft, Tuple6Draft};
pub use typed_path::{
    JsonPath, LeafPath, ListPath, MapPath, PatternOf, SetPath, Tuple2Path, Tuple3Path, Tuple4Path,
    Tuple5Path, Tuple6Path, TypedPath, path,
};
pub use typescript::{Declarations, TypeScript};
pub use value::ValueDraft;
pub use wrappers::OptionDraft;

/// Not public API: what `#[derive(Draftable)]` expands to, and the transformation under the
/// rule the JavaScript client's test vectors check.
#[doc(hidden)]
pub mod __private {
    pub use crate::diff::Differ;
    pub use crate::draftable::{
        Edit, Sealed, apply_leaf, apply_whole, leaf_outline_at, leaf_value_at, outline_whole,
        set_place,
    };
    pub use crate::outline::{Outline, outline_of};
    pub use crate::place::{Child, Merged, MergedChild, Skippable, SkippableChild};
    pub use crate::transform::transform_after_dropped;
    pub use crate::typed_path::{Step, everything, step};
    pub use serde::Serialize;
    pub use serde::de::DeserializeOwned;
    pub use serde_json::{Value, json};

    use crate::error::PatchErrorKind;
    use crate::path::PathSegment;

    use crate::place::{Access, Place};

    /// The field name of a path segment.
    pub fn field_key(segment: &PathSegment) -> ::std::borrow::Cow<'_, str> {
        segment.to_key()
    }

    /// The place of a named field, whose path segment is its serde name.
    #[inline]
    pub fn field<'b, P: Place, C>(
        parent: &'b mut P,
        name: &'static str,
        read: for<'a> fn(&'a P::Target, &&'static str) -> Option<&'a C>,
        write: for<'a> fn(&'a mut P::Target, &&'static str) -> Option<&'a mut C>,
    ) -> Child<'b, P, &'static str, C> {
        Child::new(
            parent,
            name,
            Access {
                read,
                write,
                segment: |name| Some(PathSegment::Key((*name).to_owned())),
            },
        )
    }

    /// The place of a named field with `#[serde(skip_serializing_if)]`: serde leaves its key
    /// out while `skip` holds.
    #[inline]
    pub fn skippable_field<'b, P: Place, C: serde::Serialize>(
        parent: &'b mut P,
        name: &'static str,
        skip: fn(&C) -> bool,
        read: for<'a> fn(&'a P::Target, &&'static str) -> Option<&'a C>,
        write: for<'a> fn(&'a mut P::Target, &&'static str) -> Option<&'a mut C>,
    ) -> SkippableChild<'b, P, C> {
        Skippable::new(field(parent, name, read, write), skip)
    }

    /// The place of a tuple struct's field, whose path segment is its position.
    #[inline]
    pub fn position<P: Place, C>(
        parent: &mut P,
        index: usize,
        read: for<'a> fn(&'a P::Target, &usize) -> Option<&'a C>,
        write: for<'a> fn(&'a mut P::Target, &usize) -> Option<&'a mut C>,
    ) -> Child<'_, P, usize, C> {
        Child::new(
            parent,
            index,
            Access {
                read,
                write,
                segment: |index| Some(PathSegment::Index(*index)),
            },
        )
    }

    /// The place of a newtype's only field, which has no path segment of its own (serde
    /// writes a newtype as its inside).
    #[inline]
    pub fn transparent<P: Place, C>(
        parent: &mut P,
        read: for<'a> fn(&'a P::Target, &()) -> Option<&'a C>,
        write: for<'a> fn(&'a mut P::Target, &()) -> Option<&'a mut C>,
    ) -> Child<'_, P, (), C> {
        Child::new(
            parent,
            (),
            Access {
                read,
                write,
                segment: |()| None,
            },
        )
    }

    /// The place of a `#[serde(flatten)]` field, whose keys sit in its parent's object
    /// (below the parent's value at `within`, for a field of a tagged enum's variant).
    #[inline]
    pub fn flattened<'b, P: Place, C>(
        parent: &'b mut P,
        within: Option<&'static str>,
        read: for<'a> fn(&'a P::Target, &()) -> Option<&'a C>,
        write: for<'a> fn(&'a mut P::Target, &()) -> Option<&'a mut C>,
    ) -> MergedChild<'b, P, C> {
        Merged::new(transparent(parent, read, write), within)
    }

    /// The error for a field name a struct does not have.
    pub fn unknown_field(
        segment: &PathSegment,
        type_name: &'static str,
        expected: &'static [&'static str],
    ) -> PatchErrorKind {
        PatchErrorKind::UnknownField {
            field: segment.to_string(),
            type_name,
            expected,
        }
    }

    /// The error for a tuple struct position that is not one of its `count` fields.
    pub fn not_a_position(segment: &PathSegment, count: usize) -> PatchErrorKind {
        match segment.as_index() {
            Some(index) => PatchErrorKind::IndexOutOfRange { index, len: count },
            None => PatchErrorKind::NotAnIndex {
                segment: segment.to_string(),
            },
        }
    }

    /// A `remove` of a field with `#[serde(default)]`: sets it to its default.
    ///
    /// # Errors
    ///
    /// When the old value cannot be written as JSON for the inverse.
    pub fn reset<T: serde::Serialize>(
        field: &mut T,
        edit: &mut Edit<'_>,
        default: T,
    ) -> Result<(), PatchErrorKind> {
        edit.set_undo(crate::patch::PatchOp::Replace, || {
            crate::draftable::to_json(field).map(Some)
        })?;
        *field = default;
        Ok(())
    }

    /// The place of an enum's current variant: the enum itself, reached through a path segment
    /// (`tagged`: the variant name or the content key) or none (internally tagged, untagged).
    #[inline]
    pub fn variant<'b, P: Place>(
        parent: &'b mut P,
        key: &'static str,
        read: for<'a> fn(&'a P::Target, &&'static str) -> Option<&'a P::Target>,
        write: for<'a> fn(&'a mut P::Target, &&'static str) -> Option<&'a mut P::Target>,
        tagged: bool,
    ) -> Child<'b, P, &'static str, P::Target> {
        let segment: fn(&&'static str) -> Option<PathSegment> = if tagged {
            |key| Some(PathSegment::Key((*key).to_owned()))
        } else {
            |_| None
        };
        Child::new(
            parent,
            key,
            Access {
                read,
                write,
                segment,
            },
        )
    }

    /// The JSON at `path` below a value, found in its JSON form (enums, whose paths depend on
    /// serde's representation).
    ///
    /// # Errors
    ///
    /// A missing key or index, or a path through a scalar.
    pub fn json_value_at<T: serde::Serialize>(
        this: &T,
        path: &[PathSegment],
        type_name: &'static str,
    ) -> Result<Value, PatchErrorKind> {
        let _ = type_name;
        let whole = crate::draftable::to_json(this)?;
        <Value as crate::Draftable>::value_at(&whole, path)
    }

    /// Replaces the content of the current variant: `wrap` turns the patch's value into the
    /// enum's JSON, and the inverse holds the old content.
    ///
    /// # Errors
    ///
    /// A `remove`, a value that does not fit, or an old value with no JSON form.
    pub fn replace_content<T: serde::Serialize + serde::de::DeserializeOwned>(
        this: &mut T,
        edit: &mut Edit<'_>,
        type_name: &'static str,
        wrap: impl FnOnce(Value) -> Value,
    ) -> Result<(), PatchErrorKind> {
        if edit.op == crate::patch::PatchOp::Remove {
            return Err(PatchErrorKind::RemoveRequired { type_name });
        }
        let content = edit
            .value
            .cloned()
            .ok_or_else(|| PatchErrorKind::Malformed {
                reason: format!("`{}` needs a `value`", edit.op),
            })?;
        let new: T = T::deserialize(wrap(content)).map_err(|e| PatchErrorKind::InvalidValue {
            message: e.to_string(),
        })?;
        edit.set_undo(crate::patch::PatchOp::Replace, || {
            let old = crate::draftable::to_json(this)?;
            Ok(match old {
                Value::Object(map) if map.len() == 1 => map.into_iter().next().map(|(_, v)| v),
                Value::Object(mut map) => map.values_mut().last().map(core::mem::take),
                other => Some(other),
            })
        })?;
        *this = new;
        Ok(())
    }

    /// A path naming a variant the value does not hold (or no variant at all).
    pub fn wrong_variant(
        segment: &PathSegment,
        found: &'static str,
        type_name: &'static str,
        variants: &'static [&'static str],
    ) -> PatchErrorKind {
        let name = segment.to_key();
        if variants.contains(&name.as_ref()) {
            PatchErrorKind::WrongVariant {
                expected: name.into_owned(),
                found,
            }
        } else {
            PatchErrorKind::UnknownField {
                field: name.into_owned(),
                type_name,
                expected: variants,
            }
        }
    }

    /// A field the current variant lacks: the wrong variant when another has it.
    pub fn unknown_in_variant(
        segment: &PathSegment,
        type_name: &'static str,
        found: &'static str,
        fields: &'static [&'static str],
        variants: &[(&'static str, &'static [&'static str])],
    ) -> PatchErrorKind {
        let name = segment.to_key();
        match variants
            .iter()
            .find(|(_, names)| names.contains(&name.as_ref()))
        {
            Some((variant, _)) => PatchErrorKind::WrongVariant {
                expected: (*variant).to_owned(),
                found,
            },
            None => PatchErrorKind::UnknownField {
                field: name.into_owned(),
                type_name,
                expected: fields,
            },
        }
    }

    /// A path to an internally tagged enum's tag.
    pub fn tag_path(tag: &'static str) -> PatchErrorKind {
        PatchErrorKind::Malformed {
            reason: format!(
                "`{tag}` names the variant; switch variants by replacing the whole value"
            ),
        }
    }

    /// A path into an adjacently tagged enum that is not its content key.
    pub fn adjacent_key(
        segment: &PathSegment,
        type_name: &'static str,
        tag: &'static str,
        content: &'static str,
    ) -> PatchErrorKind {
        if segment.to_key() == tag {
            tag_path(tag)
        } else {
            let _ = content;
            PatchErrorKind::UnknownField {
                field: segment.to_string(),
                type_name,
                expected: &[],
            }
        }
    }

    /// The JSON of a value.
    ///
    /// # Errors
    ///
    /// When its `Serialize` fails.
    pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, PatchErrorKind> {
        crate::draftable::to_json(value)
    }
}
