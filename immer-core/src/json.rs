//! [`Json`]: a schemaless JSON document whose arrays and objects are persistent, so a clone is
//! O(1), an edit copies only the path to what changed, and every version of a document shares
//! everything it did not change with the one before.
//!
//! `serde_json::Value` is also draftable, but it is a plain tree: the first write below the
//! `Arc` that holds it copies every array and object on the way down whole (a 100,000-element
//! array: 100,000 clones), and two versions share nothing. [`Json`] is the same data model on
//! `imbl`, for documents whose shape is only known at run time and that are large, or kept at
//! many versions (a [`History`](crate::History), a devtools timeline).
//!
//! # Representation
//!
//! A small container must not pay for a persistent tree's node: an `imbl::Vector` allocates a
//! chunk of 64 slots as soon as it outgrows its inline space, an `imbl::OrdMap` leaves of 16.
//! So each container has two forms, chosen by its length alone (an edit that crosses the
//! threshold converts it, O(threshold)):
//!
//! | container | small form | large form |
//! | --- | --- | --- |
//! | [`JsonArray`] | up to 64 elements: one shared allocation of exactly its elements | more: `imbl::Vector` (64-element chunks) |
//! | [`JsonObject`] | up to 32 members: one shared allocation of its members, sorted by key | more: `imbl::OrdMap` |
//!
//! A value is 24 bytes; a string is an `Arc<str>`, cloned by a reference count; object keys
//! are `Arc<str>` too, and reading a document (serde, or `From<Value>`) shares each repeated
//! key's text between the objects that hold it. An object such as
//! `{"id":1,"title":"x","done":false}` is one allocation of 136 bytes (16 of them the
//! reference counts) plus its string values: in an array of 10,000 of them, 186 bytes each
//! all told, where a `serde_json::Value` takes 696 (a B-tree leaf of 11 slots and a `String`
//! per key) and an `imbl::OrdMap` per object 794 (measured by `tests/test_json_value.rs`).
//!
//! # Member order
//!
//! An object keeps its members sorted by key (byte order), as `serde_json::Value` does without
//! `serde_json`'s `preserve_order` feature: a document reads and writes exactly as a `Value`
//! does, and a persistent map sorted by key is what keeps a large object cheap. (JavaScript
//! and Immer keep insertion order; the patches of this crate name members by key, so order
//! never changes what a patch does.)
//!
//! # Costs
//!
//! | operation | small array | large array | small object | large object |
//! | --- | --- | --- | --- | --- |
//! | clone | O(1) | O(1) | O(1) | O(1) |
//! | read by index or key | O(1) | O(log n) | O(log n) | O(log n) |
//! | first write below a shared value | O(n) copy, n ≤ 64 | O(log n) copy | O(n) copy, n ≤ 32 | O(log n) copy |
//! | insert, remove | O(n), n ≤ 64 | O(log n) | O(n), n ≤ 32 | O(log n) |
//!
//! # Examples
//!
//! ```
//! use immer_core::{Json, apply_patches, produce_with_patches};
//! use serde_json::json;
//! use std::sync::Arc;
//!
//! let base = Arc::new(Json::from(json!({"todos": [{"title": "write", "done": false}]})));
//! let (next, patches, inverse) = produce_with_patches(&base, |d| {
//!     let mut todos = d.get_mut("todos").unwrap();
//!     todos.get_index_mut(0).unwrap().insert("done", true).unwrap();
//!     todos.push(json!({"title": "ship", "done": false})).unwrap();
//! });
//! assert_eq!(next["todos"][0]["done"], true);
//! assert_eq!(patches.len(), 2);
//! assert_eq!(apply_patches(&base, &patches).unwrap(), next);
//! assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Number;

use crate::collections::list::list_index;
use crate::error::PatchErrorKind;
use crate::path::{Path, PathSegment};

mod array;
mod de;
mod draft;
mod from;
mod index;
mod object;
mod partial_eq;
mod ser;

pub use array::{ArrayIter, JsonArray};
pub use draft::JsonDraft;
pub use index::JsonIndex;
pub use object::{JsonObject, Keys, ObjectIter, Values};

/// A JSON value whose arrays and objects are persistent (see the [module docs](self)).
///
/// The same data model as `serde_json::Value`, matched the same way, and converted to and
/// from it with `From` both ways. It serializes and deserializes exactly as a `Value` does,
/// is [`Draftable`](crate::Draftable) (its draft is [`JsonDraft`]), and takes patches with
/// RFC 6902's rules.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// let doc = Json::from(json!({"title": "board", "todos": [{"id": 1, "done": false}]}));
/// assert_eq!(doc["title"], "board");
/// assert_eq!(doc["todos"][0]["id"].as_u64(), Some(1));
/// assert!(doc["missing"].is_null());
///
/// match &doc {
///     Json::Object(object) => assert_eq!(object.len(), 2),
///     _ => unreachable!(),
/// }
///
/// // A clone shares everything: O(1), whatever the document's size.
/// let copy = doc.clone();
/// assert!(copy.ptr_eq(&doc));
/// assert_eq!(doc.to_string(), r#"{"title":"board","todos":[{"done":false,"id":1}]}"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as `serde_json` holds it.
    Number(Number),
    /// A string, shared by reference count. (`serde_json::Value::String`; named apart, so
    /// that the compiler's messages in crates that use immer keep naming std's type
    /// `String`, which a second public item of that name would make `std::string::String`.)
    Str(Arc<str>),
    /// An array, persistent.
    Array(JsonArray),
    /// An object, persistent, its members sorted by key.
    Object(JsonObject),
}

/// The value `Index` returns for a key or an index that is not there.
static NULL: Json = Json::Null;

impl Json {
    /// The value at `index` (a key of an object, a position in an array), or `None` (not
    /// there, or not a container of that kind). Takes `&str`, `String` and `usize`, as
    /// `serde_json::Value::get` does.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    /// use serde_json::json;
    ///
    /// let doc = Json::from(json!({"tags": ["a", "b"]}));
    /// assert_eq!(doc.get("tags").and_then(|tags| tags.get(1)), Some(&Json::from("b")));
    /// assert_eq!(doc.get(0), None);
    /// ```
    #[must_use]
    pub fn get<I: JsonIndex>(&self, index: I) -> Option<&Json> {
        index.index_into(self)
    }

    /// The value at `index`, mutably, or `None`. Copies on write: the first write through a
    /// shared container copies it (its small form whole, its large form's path to `index`).
    ///
    /// Time: O(log n), plus the copy of a shared container.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    /// use serde_json::json;
    ///
    /// let base = Json::from(json!({"n": 1}));
    /// let mut next = base.clone();
    /// *next.get_mut("n").unwrap() = Json::from(2);
    /// assert_eq!((base["n"].as_i64(), next["n"].as_i64()), (Some(1), Some(2)));
    /// ```
    pub fn get_mut<I: JsonIndex>(&mut self, index: I) -> Option<&mut Json> {
        index.index_into_mut(self)
    }

    /// The value at a path of patch segments (keys of objects, positions in arrays, as
    /// [`Patch`](crate::Patch) paths name them), or `None` when a step is not there.
    ///
    /// Time: O(log n) per step.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, Path};
    /// use serde_json::json;
    ///
    /// let doc = Json::from(json!({"todos": [{"title": "a"}]}));
    /// let path = Path::from_pointer("/todos/0/title").unwrap();
    /// assert_eq!(doc.get_path(&path), Some(&Json::from("a")));
    /// ```
    #[must_use]
    pub fn get_path(&self, path: &[PathSegment]) -> Option<&Json> {
        path.iter()
            .try_fold(self, |here, segment| here.child(segment).ok())
    }

    /// The value at a JSON Pointer (RFC 6901: `/todos/0/title`, `~1` for `/`, `~0` for `~`),
    /// or `None` when the pointer is malformed or a step is not there. The empty pointer is
    /// the value itself.
    ///
    /// Time: O(log n) per step.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    /// use serde_json::json;
    ///
    /// let doc = Json::from(json!({"a/b": [0, {"c": true}]}));
    /// assert_eq!(doc.pointer("/a~1b/1/c"), Some(&Json::Bool(true)));
    /// assert_eq!(doc.pointer("/a~1b/7"), None);
    /// assert_eq!(doc.pointer(""), Some(&doc));
    /// ```
    #[must_use]
    pub fn pointer(&self, pointer: &str) -> Option<&Json> {
        let path = Path::from_pointer(pointer).ok()?;
        self.get_path(&path)
    }

    /// The value at a JSON Pointer, mutably (copying on write as
    /// [`get_mut`](Json::get_mut) does), or `None`.
    ///
    /// Time: O(log n) per step, plus the copies.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    /// use serde_json::json;
    ///
    /// let mut doc = Json::from(json!({"todos": [{"done": false}]}));
    /// *doc.pointer_mut("/todos/0/done").unwrap() = Json::Bool(true);
    /// assert_eq!(doc["todos"][0]["done"], true);
    /// ```
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Json> {
        let path = Path::from_pointer(pointer).ok()?;
        path.iter()
            .try_fold(self, |here, segment| here.child_mut(segment).ok())
    }

    /// The child at one path segment, or why there is none.
    pub(crate) fn child(&self, segment: &PathSegment) -> Result<&Json, PatchErrorKind> {
        match self {
            Json::Object(object) => {
                let key = segment.to_key();
                object.get(&key).ok_or_else(|| PatchErrorKind::MissingKey {
                    key: key.into_owned(),
                })
            }
            Json::Array(array) => {
                let index = list_index(segment, array.len(), false)?;
                array.get(index).ok_or(PatchErrorKind::IndexOutOfRange {
                    index,
                    len: array.len(),
                })
            }
            _ => Err(PatchErrorKind::ThroughLeaf {
                type_name: self.kind(),
            }),
        }
    }

    /// The child at one path segment, mutably (copying on write), or why there is none.
    pub(crate) fn child_mut(&mut self, segment: &PathSegment) -> Result<&mut Json, PatchErrorKind> {
        match self {
            Json::Object(object) => {
                let key = segment.to_key();
                object
                    .get_mut(&key)
                    .ok_or_else(|| PatchErrorKind::MissingKey {
                        key: key.into_owned(),
                    })
            }
            Json::Array(array) => {
                let len = array.len();
                let index = list_index(segment, len, false)?;
                array
                    .get_mut(index)
                    .ok_or(PatchErrorKind::IndexOutOfRange { index, len })
            }
            _ => Err(PatchErrorKind::ThroughLeaf {
                type_name: self.kind(),
            }),
        }
    }

    /// The name of the value's JSON type: `"null"`, `"boolean"`, `"number"`, `"string"`,
    /// `"array"` or `"object"` (JSON Schema's `type` names).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// assert_eq!(Json::from(vec![1, 2]).kind(), "array");
    /// assert_eq!(Json::Null.kind(), "null");
    /// ```
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::Str(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// Whether the two are one value in memory: the same array, object or string allocation
    /// (a clone, or a part no edit copied), or equal `null`s, booleans and numbers (which
    /// are stored inline). Two equal containers built apart are not `ptr_eq`. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    /// use serde_json::json;
    ///
    /// let doc = Json::from(json!({"a": [1], "b": [2]}));
    /// let mut next = doc.clone();
    /// next.get_mut("a").unwrap().as_array_mut().unwrap().push(3);
    /// assert!(!next.ptr_eq(&doc));
    /// assert!(next["b"].ptr_eq(&doc["b"])); // untouched: shared
    /// assert!(!Json::from(json!([1])).ptr_eq(&Json::from(json!([1]))));
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Array(a), Json::Array(b)) => a.ptr_eq(b),
            (Json::Object(a), Json::Object(b)) => a.ptr_eq(b),
            (Json::Str(a), Json::Str(b)) => Arc::ptr_eq(a, b),
            (Json::Null, Json::Null) => true,
            (Json::Bool(a), Json::Bool(b)) => a == b,
            (Json::Number(a), Json::Number(b)) => a == b,
            _ => false,
        }
    }

    /// Takes the value out, leaving `null`.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// let mut value = Json::from("x");
    /// assert_eq!(value.take(), "x");
    /// assert!(value.is_null());
    /// ```
    #[must_use = "the value taken out; to clear in place, assign `Json::Null`"]
    pub fn take(&mut self) -> Json {
        std::mem::take(self)
    }

    /// Whether the value is `null`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::Null.is_null());
    /// ```
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// `Some(())` for `null`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::Null.as_null(), Some(()));
    /// ```
    #[must_use]
    pub fn as_null(&self) -> Option<()> {
        self.is_null().then_some(())
    }

    /// Whether the value is `true` or `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::from(true).is_boolean());
    /// ```
    #[must_use]
    pub fn is_boolean(&self) -> bool {
        matches!(self, Json::Bool(_))
    }

    /// The boolean, if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from(false).as_bool(), Some(false));
    /// ```
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether the value is a number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::from(1.5).is_number());
    /// ```
    #[must_use]
    pub fn is_number(&self) -> bool {
        matches!(self, Json::Number(_))
    }

    /// The number, if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// assert_eq!(Json::from(7).as_number(), Some(&serde_json::Number::from(7)));
    /// ```
    #[must_use]
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the value is an integer that fits an `i64`.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// assert!(Json::from(-3).is_i64());
    /// assert!(!Json::from(u64::MAX).is_i64());
    /// ```
    #[must_use]
    pub fn is_i64(&self) -> bool {
        self.as_number().is_some_and(Number::is_i64)
    }

    /// Whether the value is an integer that fits a `u64`.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// assert!(Json::from(u64::MAX).is_u64());
    /// assert!(!Json::from(-1).is_u64());
    /// ```
    #[must_use]
    pub fn is_u64(&self) -> bool {
        self.as_number().is_some_and(Number::is_u64)
    }

    /// Whether the value is a number stored as a float (written with a fraction or an
    /// exponent).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// assert!(Json::from(1.0).is_f64());
    /// assert!(!Json::from(1).is_f64());
    /// ```
    #[must_use]
    pub fn is_f64(&self) -> bool {
        self.as_number().is_some_and(Number::is_f64)
    }

    /// The number as an `i64`, if it is an integer that fits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from(-3).as_i64(), Some(-3));
    /// ```
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as a `u64`, if it is an integer that fits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from(3).as_u64(), Some(3));
    /// ```
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as an `f64` (integers converted, possibly losing precision).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from(2).as_f64(), Some(2.0));
    /// ```
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    /// Whether the value is a string.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::from("x").is_string());
    /// ```
    #[must_use]
    pub fn is_string(&self) -> bool {
        matches!(self, Json::Str(_))
    }

    /// The string, if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from("x").as_str(), Some("x"));
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value is an array.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::from(vec![1]).is_array());
    /// ```
    #[must_use]
    pub fn is_array(&self) -> bool {
        matches!(self, Json::Array(_))
    }

    /// The array, if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(immer_core::Json::from(vec![1, 2]).as_array().map(|a| a.len()), Some(2));
    /// ```
    #[must_use]
    pub fn as_array(&self) -> Option<&JsonArray> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The array, mutably (its edits copy on write), if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// let mut list = Json::from(vec![1]);
    /// list.as_array_mut().unwrap().push(2);
    /// assert_eq!(list, serde_json::json!([1, 2]));
    /// ```
    pub fn as_array_mut(&mut self) -> Option<&mut JsonArray> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Whether the value is an object.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::Json::from(serde_json::json!({})).is_object());
    /// ```
    #[must_use]
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// The object, if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// let doc = Json::from(serde_json::json!({"b": 1, "a": 2}));
    /// let keys: Vec<&str> = doc.as_object().unwrap().keys().collect();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    #[must_use]
    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The object, mutably (its edits copy on write), if the value is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::Json;
    ///
    /// let mut doc = Json::from(serde_json::json!({}));
    /// doc.as_object_mut().unwrap().insert("a", 1);
    /// assert_eq!(doc, serde_json::json!({"a": 1}));
    /// ```
    pub fn as_object_mut(&mut self) -> Option<&mut JsonObject> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// JSON text: compact, or indented with `{:#}`, exactly as `serde_json` writes the same
/// `Value`.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// let doc = Json::from(json!({"b": [1, "x"], "a": null}));
/// assert_eq!(doc.to_string(), r#"{"a":null,"b":[1,"x"]}"#);
/// assert_eq!(format!("{doc:#}"), serde_json::to_string_pretty(&json!({"b": [1, "x"], "a": null})).unwrap());
/// ```
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Hands the serializer's output to the formatter (`serde_json` writes whole UTF-8
        /// fragments: its escapes are ASCII).
        struct Text<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl io::Write for Text<'_, '_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let text = std::str::from_utf8(buf).map_err(io::Error::other)?;
                self.0.write_str(text).map_err(io::Error::other)?;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let pretty = f.alternate();
        let mut out = Text(f);
        let written = if pretty {
            serde_json::to_writer_pretty(&mut out, self)
        } else {
            serde_json::to_writer(&mut out, self)
        };
        written.map_err(|_| fmt::Error)
    }
}

/// In `serde_json::Value`'s form, by variant: `Object {"a": Number(1)}`.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// let doc = Json::from(serde_json::json!({"a": [1, "x", null]}));
/// assert_eq!(format!("{doc:?}"), r#"Object {"a": Array [Number(1), Str("x"), Null]}"#);
/// ```
impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("Null"),
            Json::Bool(b) => write!(f, "Bool({b})"),
            Json::Number(n) => write!(f, "Number({n})"),
            Json::Str(s) => write!(f, "Str({:?})", &**s),
            Json::Array(a) => {
                f.write_str("Array ")?;
                fmt::Debug::fmt(a, f)
            }
            Json::Object(o) => {
                f.write_str("Object ")?;
                fmt::Debug::fmt(o, f)
            }
        }
    }
}

/// Parses JSON text, as `serde_json::from_str` does.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// let doc: Json = r#"{"a": [1, 2]}"#.parse().unwrap();
/// assert_eq!(doc["a"][1], 2);
/// assert!("{".parse::<Json>().is_err());
/// ```
impl FromStr for Json {
    type Err = serde_json::Error;
    fn from_str(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// `doc["key"]`, `doc[0]`: the value there, or `null` when it is not there (never panics),
/// as `serde_json::Value` indexes.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// let doc = Json::from(serde_json::json!({"todos": [{"title": "a"}]}));
/// assert_eq!(doc["todos"][0]["title"], "a");
/// assert!(doc["todos"][9]["title"].is_null());
/// ```
impl<I: JsonIndex> std::ops::Index<I> for Json {
    type Output = Json;
    fn index(&self, index: I) -> &Json {
        index.index_into(self).unwrap_or(&NULL)
    }
}
