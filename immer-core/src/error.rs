//! The error of applying patches.

use std::fmt;

use crate::path::Path;

/// Why a patch could not be applied: the patch's index in the list, its path, and the reason.
///
/// Returned by [`apply_patches`](crate::apply_patches) and its relatives, which then leave
/// the state exactly as it was.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchError {
    /// The index of the failing patch in the list given.
    pub index: usize,
    /// The failing patch's path.
    pub path: Path,
    /// What went wrong.
    pub kind: PatchErrorKind,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "patch {} at {:?}: {}",
            self.index,
            self.path.to_pointer(),
            self.kind
        )
    }
}

impl std::error::Error for PatchError {}

/// The reason inside a [`PatchError`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PatchErrorKind {
    /// A struct has no field of that (serde) name.
    UnknownField {
        /// The name in the path.
        field: String,
        /// The struct's name.
        type_name: &'static str,
        /// The names it has.
        expected: &'static [&'static str],
    },
    /// A list index past the end (`len` is the list's length; `add` may use `len` itself).
    IndexOutOfRange {
        /// The index in the path.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// An `add` into a list whose capacity is fixed and reached (an `ArrayVec`).
    ListFull {
        /// The list's length, its capacity.
        len: usize,
    },
    /// A list was addressed by something that is not an index.
    NotAnIndex {
        /// The segment in the path.
        segment: String,
    },
    /// A map has no such key (for `remove`, `replace`, or a path through it).
    MissingKey {
        /// The key in the path.
        key: String,
    },
    /// A map key in the path does not parse as the map's key type.
    InvalidKey {
        /// The key in the path.
        key: String,
        /// serde's message.
        message: String,
    },
    /// The value does not deserialize into the type at the path (serde's message).
    InvalidValue {
        /// serde's message.
        message: String,
    },
    /// `remove` of a value that cannot be absent (a required struct field, the root).
    RemoveRequired {
        /// The type that cannot be removed.
        type_name: &'static str,
    },
    /// The path goes on below a value that has no parts (a number, a string, a leaf type).
    ThroughLeaf {
        /// The leaf's type.
        type_name: &'static str,
    },
    /// The path goes on below an `Option` that is `None`.
    ThroughNone,
    /// The path goes into an enum variant that is not the current one.
    WrongVariant {
        /// The variant named by the path.
        expected: String,
        /// The variant the value holds.
        found: &'static str,
    },
    /// A JSON Pointer that does not parse.
    MalformedPointer {
        /// The pointer as given.
        pointer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A patch that is not well formed (no `value` for `add`, an unknown `op`, ...).
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// A `test` operation found another value.
    TestFailed {
        /// The value the patch expected.
        expected: serde_json::Value,
        /// The value found.
        found: serde_json::Value,
    },
    /// The value at the path cannot be written as JSON (serde's message).
    Unserializable {
        /// serde's message.
        message: String,
    },
}

impl fmt::Display for PatchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchErrorKind::UnknownField {
                field,
                type_name,
                expected,
            } => {
                write!(f, "`{type_name}` has no field `{field}`")?;
                match expected {
                    [] => write!(f, "; it has no fields a patch can reach"),
                    names => write!(f, "; expected one of `{}`", names.join("`, `")),
                }
            }
            PatchErrorKind::IndexOutOfRange { index, len } => {
                write!(
                    f,
                    "index {index} is out of range for a list of length {len}"
                )
            }
            PatchErrorKind::ListFull { len } => {
                write!(
                    f,
                    "the list is full at {len} elements: its capacity is fixed"
                )
            }
            PatchErrorKind::NotAnIndex { segment } => {
                write!(f, "`{segment}` is not a list index")
            }
            PatchErrorKind::MissingKey { key } => write!(f, "the map has no key `{key}`"),
            PatchErrorKind::InvalidKey { key, message } => {
                write!(f, "`{key}` is not a valid key for this map: {message}")
            }
            PatchErrorKind::InvalidValue { message } => {
                write!(f, "the value does not fit the type here: {message}")
            }
            PatchErrorKind::RemoveRequired { type_name } => write!(
                f,
                "a `{type_name}` here is required and cannot be removed; replace it instead"
            ),
            PatchErrorKind::ThroughLeaf { type_name } => {
                write!(
                    f,
                    "the path goes on below a `{type_name}`, which has no parts"
                )
            }
            PatchErrorKind::ThroughNone => write!(f, "the path goes on below a `None`"),
            PatchErrorKind::WrongVariant { expected, found } => {
                write!(
                    f,
                    "the path names variant `{expected}` but the value is `{found}`"
                )
            }
            PatchErrorKind::MalformedPointer { pointer, reason } => {
                write!(f, "malformed JSON Pointer {pointer:?}: {reason}")
            }
            PatchErrorKind::Malformed { reason } => write!(f, "malformed patch: {reason}"),
            PatchErrorKind::TestFailed { expected, found } => {
                write!(f, "test failed: expected {expected}, found {found}")
            }
            PatchErrorKind::Unserializable { message } => {
                write!(f, "the value here cannot be written as JSON: {message}")
            }
        }
    }
}

/// A value written in a recipe that has no JSON form, so no patch could describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnserializableError {
    /// Where the value was written.
    pub path: Path,
    /// serde's message.
    pub message: String,
}

impl UnserializableError {
    pub(crate) fn new(path: Path, error: &impl fmt::Display) -> Self {
        UnserializableError {
            path,
            message: error.to_string(),
        }
    }
}

impl fmt::Display for UnserializableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "immer: a value written in the recipe at {} cannot be written as JSON, so no patch can describe it: {}",
            self.path, self.message
        )
    }
}

impl std::error::Error for UnserializableError {}
