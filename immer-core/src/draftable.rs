//! The [`Draftable`] trait, its leaf implementations, and the [`Leaf`] draft.

use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::PatchErrorKind;
use crate::error::UnserializableError;
use crate::outline::{Outline, outline_of};
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::place::Place;

/// A type that can live in a snapshot: it has a *draft* to mutate it inside a recipe, and it
/// can take patches.
///
/// Implemented for the primitive types and `String` (as leaves, replaced whole), for `Option`,
/// `Box`, `Arc`, the std and `imbl` collections, `serde_json::Value`, and by
/// `#[derive(Draftable)]` for your structs and enums. Mark any other type as a leaf with
/// [`leaf!`](crate::leaf) or a field with `#[draft(leaf)]`.
///
/// The supertraits are what snapshots and patches need: `Clone` to copy a node on its first
/// write, `PartialEq` so that writing an equal value changes nothing, serde so that changes
/// travel as JSON patches, and `'static` because a snapshot owns its data.
///
/// The trait is sealed: its methods are how drafts, patches and the derive work together, and
/// they change with them. Implement it with `#[derive(Draftable)]`, [`leaf!`](crate::leaf), or
/// `#[draft(leaf)]` on a field; a type the derive cannot describe (a custom `Serialize`) is a
/// leaf.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a draftable state: it does not implement `Draftable`",
    label = "not `Draftable`",
    note = "for a type of another crate, mark the field `#[draft(leaf)]` (replaced whole) or `#[draft(skip)]` (left out of drafts and patches); for your own type, `#[derive(immer::Draftable)]` or `immer::leaf!({Self});` (the orphan rule forbids both for other crates' types)"
)]
pub trait Draftable: Sealed + Clone + PartialEq + Serialize + DeserializeOwned + 'static {
    /// The draft of a value of this type at place `P`: a [`Leaf`] for leaves, a generated
    /// `<Type>Draft` for derived types, [`ListDraft`](crate::ListDraft) for lists, and so on.
    type Draft<P: Place<Target = Self>>;

    /// The node of a typed path at a value of this type, in a state of type `R` (see
    /// [`path`](crate::path())): a [`LeafPath`](crate::LeafPath) for leaves, a generated
    /// `<Type>Path<R>` for derived types (a method per field or variant),
    /// [`ListPath`](crate::ListPath) for lists, [`MapPath`](crate::MapPath) for maps, and
    /// the contents' own for `Option`, `Box` and `Arc`.
    type Path<R>: crate::TypedPath<Root = R>;

    /// Makes the draft of the value at `place`.
    #[doc(hidden)]
    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P>;

    /// Applies one edit at `path` below this value.
    #[doc(hidden)]
    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind>;

    /// The JSON value at `path` below this value.
    #[doc(hidden)]
    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind>;

    /// What the value at `path` below this value is, without its parts (see [`Outline`]).
    /// Collections, structs and wrappers follow the path to the value and outline it there
    /// (O(1) for a collection however large, as [`outline_of`]); by default, the value at the
    /// end of a longer path is written out (`value_at`) and outlined.
    #[doc(hidden)]
    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        if path.is_empty() {
            outline_of(self)
        } else {
            self.value_at(path).map(|value| Outline::of(&value))
        }
    }

    /// Writes the patches that turn `self` into `other` into `differ` (see
    /// [`diff`](crate::diff)). By default, one `replace` when they differ.
    #[doc(hidden)]
    fn diff_into(&self, other: &Self, differ: &mut crate::diff::Differ) {
        differ.leaf(self, other);
    }

    /// Whether the two are equal, as cheaply as their sharing allows (`Arc::ptr_eq`, imbl's
    /// `ptr_eq`) before comparing.
    #[doc(hidden)]
    fn same_as(&self, other: &Self) -> bool {
        self == other
    }
}

/// Seals [`Draftable`]: implemented by `#[derive(Draftable)]`, [`leaf!`](crate::leaf) and this
/// crate, never by hand.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a draftable state: it does not implement `Draftable`",
    label = "not `Draftable`",
    note = "for a type of another crate, mark the field `#[draft(leaf)]` (replaced whole) or `#[draft(skip)]` (left out of drafts and patches); for your own type, `#[derive(immer::Draftable)]` or `immer::leaf!({Self});` (the orphan rule forbids both for other crates' types)"
)]
pub trait Sealed {}

/// One `add`, `remove` or `replace` on its way down a path, and, when asked for, what undoes it.
#[doc(hidden)]
pub struct Edit<'v> {
    pub op: PatchOp,
    pub value: Option<&'v Value>,
    /// Whether the edit should fill `undo`.
    pub want_undo: bool,
    /// The inverse: its op, its value, and the index it lands on when the edit used `-`.
    pub undo: Option<Undo>,
    /// Whether the edit should fill `position` (without the cost of an inverse).
    pub want_position: bool,
    /// In a list or a set: where an `add` landed (the index a `-` stood for, the place a
    /// set keeps the element at), or where a removed element was.
    pub position: Option<usize>,
    /// Whether the edit changed nothing (an `add` of an element a set already holds).
    pub unchanged: bool,
}

/// The inverse of an applied edit.
#[doc(hidden)]
pub struct Undo {
    pub op: PatchOp,
    pub value: Option<Value>,
    pub index: Option<usize>,
}

impl<'v> Edit<'v> {
    pub(crate) fn new(op: PatchOp, value: Option<&'v Value>, want_undo: bool) -> Self {
        Edit {
            op,
            value,
            want_undo,
            undo: None,
            want_position: false,
            position: None,
            unchanged: false,
        }
    }

    /// The value, deserialized into `T`.
    ///
    /// # Errors
    ///
    /// No value given, or one that does not fit `T` (serde's message).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PatchErrorKind> {
        let value = self.value.ok_or_else(|| PatchErrorKind::Malformed {
            reason: format!("`{}` needs a `value`", self.op),
        })?;
        T::deserialize(value).map_err(|e| PatchErrorKind::InvalidValue {
            message: e.to_string(),
        })
    }

    /// Records the inverse, if asked for.
    ///
    /// # Errors
    ///
    /// When `value` fails (the old value has no JSON form).
    pub fn set_undo(
        &mut self,
        op: PatchOp,
        value: impl FnOnce() -> Result<Option<Value>, PatchErrorKind>,
    ) -> Result<(), PatchErrorKind> {
        if self.want_undo {
            self.undo = Some(Undo {
                op,
                value: value()?,
                index: None,
            });
        }
        Ok(())
    }
}

/// Writes a value as JSON, or says why it cannot be.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, PatchErrorKind> {
    serde_json::to_value(value).map_err(|e| PatchErrorKind::Unserializable {
        message: e.to_string(),
    })
}

/// Applies an edit that lands on a whole value with no parts below (or replaces one whole):
/// `add` and `replace` deserialize the value, `remove` is refused.
#[doc(hidden)]
pub fn apply_whole<T: Serialize + DeserializeOwned>(
    this: &mut T,
    edit: &mut Edit<'_>,
    type_name: &'static str,
) -> Result<(), PatchErrorKind> {
    match edit.op {
        PatchOp::Add | PatchOp::Replace => {
            let value: T = edit.decode()?;
            edit.set_undo(PatchOp::Replace, || to_json(this).map(Some))?;
            *this = value;
            Ok(())
        }
        _ => Err(PatchErrorKind::RemoveRequired { type_name }),
    }
}

/// The JSON of a value with no parts below it, where `path` must be empty.
#[doc(hidden)]
pub fn leaf_value_at<T: Serialize>(
    this: &T,
    path: &[PathSegment],
    type_name: &'static str,
) -> Result<Value, PatchErrorKind> {
    if path.is_empty() {
        to_json(this)
    } else {
        Err(PatchErrorKind::ThroughLeaf { type_name })
    }
}

/// The outline of a whole value, for generated code: bounded on `Draftable` alone, so that a
/// type missing `Serialize` is reported once, at its `Draftable` impl.
#[doc(hidden)]
pub fn outline_whole<T: Draftable>(this: &T) -> Result<Outline, PatchErrorKind> {
    outline_of(this)
}

/// The outline of a value with no parts below it, where `path` must be empty.
#[doc(hidden)]
pub fn leaf_outline_at<T: Serialize>(
    this: &T,
    path: &[PathSegment],
    type_name: &'static str,
) -> Result<Outline, PatchErrorKind> {
    if path.is_empty() {
        outline_of(this)
    } else {
        Err(PatchErrorKind::ThroughLeaf { type_name })
    }
}

/// Applies an edit to a leaf: only at the leaf itself.
#[doc(hidden)]
pub fn apply_leaf<T: Serialize + DeserializeOwned>(
    this: &mut T,
    path: &[PathSegment],
    edit: &mut Edit<'_>,
    type_name: &'static str,
) -> Result<(), PatchErrorKind> {
    if path.is_empty() {
        apply_whole(this, edit, type_name)
    } else {
        Err(PatchErrorKind::ThroughLeaf { type_name })
    }
}

/// Replaces the value at `place` with `value`, recording one `replace` patch; does nothing
/// when the two are equal. The setter behind every draft's `set` and `set_<field>`.
#[doc(hidden)]
#[inline]
pub fn set_place<P: Place>(place: &mut P, value: P::Target)
where
    P::Target: PartialEq + Serialize,
{
    if *place.get() == value {
        return;
    }
    if place.is_recording() {
        let change = replace_change(place, &value);
        place.record(change);
    }
    *place.get_mut() = value;
}

/// The `replace` patch and its inverse for writing `value` at `place`.
pub(crate) fn replace_change<P: Place>(place: &P, value: &P::Target) -> crate::place::Recorded
where
    P::Target: Serialize,
{
    let path = place.path();
    let json = |value: &P::Target| {
        serde_json::to_value(value).map_err(|error| UnserializableError::new(path.clone(), &error))
    };
    let old = json(place.get())?;
    let new = json(value)?;
    Ok((Patch::replace(path.clone(), new), Patch::replace(path, old)))
}

/// The draft of a leaf: a value replaced whole (numbers, `bool`, `char`, `String`, unit enums,
/// and anything marked with [`leaf!`](crate::leaf) or `#[draft(leaf)]`).
///
/// Reads through `Deref`; writes with [`set`](Leaf::set) or [`modify`](Leaf::modify).
///
/// # Examples
///
/// ```
/// use immer_core::produce;
/// use std::sync::Arc;
///
/// let base = Arc::new(Some(String::from("draft")));
/// let next = produce(&base, |d| {
///     let mut text = d.get_mut().unwrap();
///     assert_eq!(text.len(), 5);
///     text.modify(|s| s.push_str("ed"));
/// });
/// assert_eq!(next.as_deref(), Some("drafted"));
/// ```
pub struct Leaf<P> {
    place: P,
}

impl<P: Place> Leaf<P>
where
    P::Target: Clone + PartialEq + Serialize,
{
    /// The draft of the leaf at `place`.
    #[doc(hidden)]
    pub fn new(place: P) -> Self {
        Leaf { place }
    }

    /// Replaces the value. Writing the value that is already there changes nothing and
    /// records nothing.
    ///
    /// Time: one `PartialEq` comparison with the old value (O(1) for a number, O(size) for a
    /// string or a collection marked leaf), plus the copy-on-write of the path to this leaf
    /// on the first write; when recording, plus writing the old and new values as JSON.
    #[inline]
    pub fn set(&mut self, value: P::Target) {
        set_place(&mut self.place, value);
    }

    /// Changes the value with `f` on a copy, then [`set`](Leaf::set)s it: a change that ends
    /// where it started records nothing.
    ///
    /// Time: one clone of the value, then as [`set`](Leaf::set).
    pub fn modify(&mut self, f: impl FnOnce(&mut P::Target)) {
        let mut value = self.place.get().clone();
        f(&mut value);
        self.set(value);
    }
}

impl<P: Place> Deref for Leaf<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}

impl<P: Place> std::fmt::Debug for Leaf<P>
where
    P::Target: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Leaf").field(self.place.get()).finish()
    }
}

/// Implements [`Draftable`] for types that are replaced whole, with [`Leaf`] as their draft
/// (and [`LeafPath`](crate::LeafPath) as their typed path, with no steps below them).
///
/// For your own types or foreign ones (a `chrono::DateTime`, a `uuid::Uuid`): the type needs
/// `Clone`, `PartialEq`, `Serialize` and `Deserialize`. For a single field, `#[draft(leaf)]`
/// does the same without an impl.
///
/// # Examples
///
/// ```
/// use immer_core::{leaf, produce};
/// use std::sync::Arc;
///
/// #[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
/// struct Rgb(u8, u8, u8);
/// leaf!(Rgb);
///
/// let base = Arc::new(vec![Rgb(0, 0, 0)]);
/// let next = produce(&base, |d| d.set(0, Rgb(255, 0, 0)).unwrap());
/// assert_eq!(next[0], Rgb(255, 0, 0));
/// ```
#[macro_export]
macro_rules! leaf {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::__private::Sealed for $ty {}
        impl $crate::Draftable for $ty {
            type Draft<P: $crate::Place<Target = Self>> = $crate::Leaf<P>;
            type Path<R> = $crate::LeafPath<R>;
            fn draft<P: $crate::Place<Target = Self>>(place: P) -> Self::Draft<P> {
                $crate::Leaf::new(place)
            }
            fn apply_edit(
                &mut self,
                path: &[$crate::PathSegment],
                edit: &mut $crate::__private::Edit<'_>,
            ) -> ::core::result::Result<(), $crate::PatchErrorKind> {
                $crate::__private::apply_leaf(self, path, edit, ::core::stringify!($ty))
            }
            fn value_at(
                &self,
                path: &[$crate::PathSegment],
            ) -> ::core::result::Result<$crate::__private::Value, $crate::PatchErrorKind> {
                $crate::__private::leaf_value_at(self, path, ::core::stringify!($ty))
            }
        }
    )+};
}

leaf!(
    bool,
    char,
    String,
    (),
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64
);

// Shared immutable strings: a clone is a reference count, as a JavaScript string's copy is.
leaf!(std::sync::Arc<str>, Box<str>);

// The std types serde writes as one value: times, paths, addresses, non-zero integers,
// borrowed-or-owned strings. A user crate cannot implement `Draftable` for them (the orphan
// rule), so they are leaves here.
mod std_leaves {
    use std::borrow::Cow;
    use std::ffi::OsString;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::num::{
        NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
        NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize,
    };
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    leaf!(
        Duration,
        SystemTime,
        PathBuf,
        OsString,
        IpAddr,
        Ipv4Addr,
        Ipv6Addr,
        SocketAddr,
        SocketAddrV4,
        SocketAddrV6,
        NonZeroU8,
        NonZeroU16,
        NonZeroU32,
        NonZeroU64,
        NonZeroU128,
        NonZeroUsize,
        NonZeroI8,
        NonZeroI16,
        NonZeroI32,
        NonZeroI64,
        NonZeroI128,
        NonZeroIsize,
        Cow<'static, str>,
    );
}
