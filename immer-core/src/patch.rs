//! Patches in Immer's format, and their RFC 6902 form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::{PatchError, PatchErrorKind};
use crate::path::Path;

/// What a [`Patch`] does.
///
/// `Add`, `Remove` and `Replace` are Immer's three operations and the only ones this crate
/// records. `Test`, `Move` and `Copy` come from RFC 6902 documents and apply as RFC 6902 says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    /// Insert into a list at `path`'s index (shifting the rest), or set a map key or field.
    Add,
    /// Remove the list element (shifting the rest) or map key at `path`.
    Remove,
    /// Replace the value at `path`, which must exist.
    Replace,
    /// RFC 6902: fail unless the value at `path` equals `value`.
    Test,
    /// RFC 6902: remove the value at `from` and add it at `path`.
    Move,
    /// RFC 6902: add a copy of the value at `from` at `path`.
    Copy,
}

impl PatchOp {
    /// The operation's name as it is written in JSON (`"add"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOp::Add => "add",
            PatchOp::Remove => "remove",
            PatchOp::Replace => "replace",
            PatchOp::Test => "test",
            PatchOp::Move => "move",
            PatchOp::Copy => "copy",
        }
    }
}

impl fmt::Display for PatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to a state, in Immer's JSON format:
/// `{"op":"replace","path":["todos",3,"done"],"value":true}`.
///
/// # Examples
///
/// ```
/// use immer_core::{Patch, Path};
/// use serde_json::json;
///
/// let patch = Patch::replace(Path::from_pointer("/todos/3/done").unwrap(), json!(true));
/// assert_eq!(
///     serde_json::to_value(&patch).unwrap(),
///     json!({"op": "replace", "path": ["todos", 3, "done"], "value": true}),
/// );
/// assert_eq!(
///     patch.to_json_patch(),
///     json!({"op": "replace", "path": "/todos/3/done", "value": true}),
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// The operation.
    pub op: PatchOp,
    /// Where it applies.
    pub path: Path,
    /// The value of `add`, `replace` and `test` (and, as Immer writes it, of a set's `remove`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Value>,
    /// The source of `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Path>,
}

/// A `value` member that is present is `Some`, even when it is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl Patch {
    /// An `add` of `value` at `path`.
    #[must_use]
    pub fn add(path: Path, value: Value) -> Patch {
        Patch {
            op: PatchOp::Add,
            path,
            value: Some(value),
            from: None,
        }
    }

    /// A `remove` at `path`.
    #[must_use]
    pub fn remove(path: Path) -> Patch {
        Patch {
            op: PatchOp::Remove,
            path,
            value: None,
            from: None,
        }
    }

    /// A set's `remove`: it names the element by `value`; the last segment of `path` is the
    /// element's position in the set's order.
    #[must_use]
    pub(crate) fn remove_element(path: Path, value: Value) -> Patch {
        Patch {
            value: Some(value),
            ..Patch::remove(path)
        }
    }

    /// A `replace` with `value` at `path`.
    #[must_use]
    pub fn replace(path: Path, value: Value) -> Patch {
        Patch {
            op: PatchOp::Replace,
            path,
            value: Some(value),
            from: None,
        }
    }

    /// A `test` that the value at `path` equals `value`.
    #[must_use]
    pub fn test(path: Path, value: Value) -> Patch {
        Patch {
            op: PatchOp::Test,
            path,
            value: Some(value),
            from: None,
        }
    }

    /// This patch as an RFC 6902 operation: the same object with `path` (and `from`) written
    /// as JSON Pointer strings.
    #[must_use]
    pub fn to_json_patch(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("op".into(), Value::from(self.op.as_str()));
        object.insert("path".into(), Value::from(self.path.to_pointer()));
        if let Some(from) = &self.from {
            object.insert("from".into(), Value::from(from.to_pointer()));
        }
        if let Some(value) = &self.value {
            object.insert("value".into(), value.clone());
        }
        Value::Object(object)
    }

    /// Reads one RFC 6902 operation (`{"op":"add","path":"/a/0","value":1}`).
    ///
    /// # Errors
    ///
    /// [`PatchErrorKind::Malformed`] when a member is missing or of the wrong type, and
    /// [`PatchErrorKind::MalformedPointer`] when `path` or `from` is not a JSON Pointer.
    pub fn from_json_patch(operation: &Value) -> Result<Patch, PatchErrorKind> {
        let malformed = |reason: &str| PatchErrorKind::Malformed {
            reason: reason.to_owned(),
        };
        let Value::Object(object) = operation else {
            return Err(malformed("an operation must be a JSON object"));
        };
        let op = match object.get("op").and_then(Value::as_str) {
            Some("add") => PatchOp::Add,
            Some("remove") => PatchOp::Remove,
            Some("replace") => PatchOp::Replace,
            Some("test") => PatchOp::Test,
            Some("move") => PatchOp::Move,
            Some("copy") => PatchOp::Copy,
            Some(other) => {
                return Err(malformed(&format!(
                    "unknown op `{other}`; expected add, remove, replace, test, move or copy"
                )));
            }
            None => return Err(malformed("`op` is missing or not a string")),
        };
        let pointer = |name: &str| -> Result<Option<Path>, PatchErrorKind> {
            match object.get(name) {
                None => Ok(None),
                Some(Value::String(text)) => Path::from_pointer(text).map(Some).map_err(|e| {
                    PatchErrorKind::MalformedPointer {
                        pointer: e.pointer,
                        reason: e.reason,
                    }
                }),
                Some(_) => Err(malformed(&format!(
                    "`{name}` must be a JSON Pointer string"
                ))),
            }
        };
        let path = pointer("path")?.ok_or_else(|| malformed("`path` is missing"))?;
        let from = pointer("from")?;
        let value = object.get("value").cloned();
        match op {
            PatchOp::Add | PatchOp::Replace | PatchOp::Test if value.is_none() => {
                return Err(malformed(&format!("`{op}` needs a `value`")));
            }
            PatchOp::Move | PatchOp::Copy if from.is_none() => {
                return Err(malformed(&format!("`{op}` needs a `from`")));
            }
            _ => {}
        }
        Ok(Patch {
            op,
            path,
            value,
            from,
        })
    }
}

impl fmt::Display for Patch {
    /// Writes the patch as one line of RFC 6902 JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json_patch())
    }
}

/// Writes patches as an RFC 6902 document: a JSON array of operations with pointer paths.
#[must_use]
pub fn to_json_patch(patches: &[Patch]) -> Value {
    Value::Array(patches.iter().map(Patch::to_json_patch).collect())
}

/// Reads an RFC 6902 document (a JSON array of operations) into patches.
///
/// # Errors
///
/// A [`PatchError`] naming the first malformed operation's index.
///
/// # Examples
///
/// ```
/// use immer_core::{from_json_patch, PatchOp};
/// use serde_json::json;
///
/// let patches = from_json_patch(&json!([{"op": "remove", "path": "/todos/0"}])).unwrap();
/// assert_eq!(patches[0].op, PatchOp::Remove);
/// assert!(from_json_patch(&json!([{"op": "add", "path": "todos"}])).is_err());
/// ```
pub fn from_json_patch(document: &Value) -> Result<Vec<Patch>, PatchError> {
    let Value::Array(operations) = document else {
        return Err(PatchError {
            index: 0,
            path: Path::root(),
            kind: PatchErrorKind::Malformed {
                reason: "an RFC 6902 document must be a JSON array".to_owned(),
            },
        });
    };
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            Patch::from_json_patch(operation).map_err(|kind| PatchError {
                index,
                path: Path::root(),
                kind,
            })
        })
        .collect()
}
