//! Paths into a state: the `path` of a [`Patch`](crate::Patch), in Immer's array form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One step of a [`Path`]: a list index or a key (a struct field's serde name or a map key).
///
/// Serialized as Immer writes it: an index is a JSON number, a key a JSON string.
/// Map keys that are not strings are written as their JSON text (`1`, `true`), the way
/// `serde_json` writes such keys in an object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// A position in a list (or a tuple struct's field).
    Index(usize),
    /// A struct field by its serde name, or a map key.
    Key(String),
}

impl PathSegment {
    /// The segment as a key: a `Key`'s text, or an `Index` written in decimal.
    #[must_use]
    pub fn to_key(&self) -> std::borrow::Cow<'_, str> {
        match self {
            PathSegment::Index(i) => std::borrow::Cow::Owned(i.to_string()),
            PathSegment::Key(k) => std::borrow::Cow::Borrowed(k),
        }
    }

    /// The segment as a list index: an `Index`, or a `Key` that is a canonical decimal
    /// number (`"7"`, not `"07"` or `"+7"`), as RFC 6901 reads array indices.
    #[must_use]
    pub fn as_index(&self) -> Option<usize> {
        match self {
            PathSegment::Index(i) => Some(*i),
            PathSegment::Key(k) => parse_index(k),
        }
    }
}

/// One segment of a JSON Pointer with its escapes read (`~0` is `~`, `~1` is `/`, RFC 6901);
/// `None` when a `~` is followed by anything else.
pub(crate) fn unescape_segment(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Appends `key` to a JSON Pointer, escaped as RFC 6901 writes it (`~` as `~0`, `/` as `~1`).
pub(crate) fn escape_segment_into(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

pub(crate) fn parse_index(text: &str) -> Option<usize> {
    let canonical = text == "0" || (!text.is_empty() && !text.starts_with('0'));
    if canonical && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSegment::Index(i) => write!(f, "{i}"),
            PathSegment::Key(k) => f.write_str(k),
        }
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        PathSegment::Index(index)
    }
}

impl From<&str> for PathSegment {
    fn from(key: &str) -> Self {
        PathSegment::Key(key.to_owned())
    }
}

impl From<String> for PathSegment {
    fn from(key: String) -> Self {
        PathSegment::Key(key)
    }
}

/// A location in a state, from the root: Immer's `path` array (`["todos", 3, "done"]`).
///
/// A plain value: compare it, inspect its segments, rewrite an index (synchronization moves
/// pending edits through committed ones that way). Converts to and from RFC 6901 JSON
/// Pointers with [`Path::to_pointer`] and [`Path::from_pointer`].
///
/// # Examples
///
/// ```
/// use immer_core::{Path, PathSegment};
///
/// let path = Path::from_pointer("/todos/3/done").unwrap();
/// assert_eq!(path.segments(), &[PathSegment::from("todos"), 3.into(), "done".into()]);
/// assert_eq!(path.to_pointer(), "/todos/3/done");
/// assert_eq!(serde_json::to_string(&path).unwrap(), r#"["todos",3,"done"]"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Path(Vec<PathSegment>);

impl Path {
    /// The root: an empty path.
    #[must_use]
    pub const fn root() -> Self {
        Path(Vec::new())
    }

    /// The segments, from the root.
    #[must_use]
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// The segments, mutably (to rewrite an index, say).
    pub fn segments_mut(&mut self) -> &mut Vec<PathSegment> {
        &mut self.0
    }

    /// The number of segments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is the root.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends a segment.
    pub fn push(&mut self, segment: impl Into<PathSegment>) {
        self.0.push(segment.into());
    }

    /// Removes and returns the last segment.
    pub fn pop(&mut self) -> Option<PathSegment> {
        self.0.pop()
    }

    /// This path with one more segment.
    #[must_use]
    pub fn child(&self, segment: impl Into<PathSegment>) -> Path {
        let mut path = self.clone();
        path.push(segment);
        path
    }

    /// The path without its last segment (`None` for the root).
    #[must_use]
    pub fn parent(&self) -> Option<Path> {
        self.0.split_last().map(|(_, parent)| Path(parent.to_vec()))
    }

    /// The last segment.
    #[must_use]
    pub fn last(&self) -> Option<&PathSegment> {
        self.0.last()
    }

    /// Whether `prefix` is this path or one of its ancestors.
    #[must_use]
    pub fn starts_with(&self, prefix: &Path) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The RFC 6901 JSON Pointer of this path (`/todos/3/done`; `~` and `/` escaped).
    #[must_use]
    pub fn to_pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            out.push('/');
            match segment {
                PathSegment::Index(i) => out.push_str(&i.to_string()),
                PathSegment::Key(k) => escape_segment_into(&mut out, k),
            }
        }
        out
    }

    /// Parses an RFC 6901 JSON Pointer. A segment that is a canonical decimal number becomes
    /// an [`PathSegment::Index`]; maps and structs accept it as a key as well.
    ///
    /// # Errors
    ///
    /// A pointer that is not empty and does not start with `/`, or that holds a `~` not
    /// followed by `0` or `1`.
    pub fn from_pointer(pointer: &str) -> Result<Path, PointerError> {
        if pointer.is_empty() {
            return Ok(Path::root());
        }
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(PointerError {
                pointer: pointer.to_owned(),
                reason: "a JSON Pointer is empty or starts with `/`",
            });
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            let Some(key) = unescape_segment(raw) else {
                return Err(PointerError {
                    pointer: pointer.to_owned(),
                    reason: "`~` must be followed by `0` or `1`",
                });
            };
            segments.push(match parse_index(&key) {
                Some(index) => PathSegment::Index(index),
                None => PathSegment::Key(key),
            });
        }
        Ok(Path(segments))
    }
}

impl fmt::Display for Path {
    /// Writes the JSON Pointer form (`/todos/3/done`; the root is `""`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_pointer())
    }
}

impl From<Vec<PathSegment>> for Path {
    fn from(segments: Vec<PathSegment>) -> Self {
        Path(segments)
    }
}

impl From<Path> for Vec<PathSegment> {
    fn from(path: Path) -> Self {
        path.0
    }
}

impl FromIterator<PathSegment> for Path {
    fn from_iter<I: IntoIterator<Item = PathSegment>>(iter: I) -> Self {
        Path(iter.into_iter().collect())
    }
}

impl std::ops::Deref for Path {
    type Target = [PathSegment];
    fn deref(&self) -> &[PathSegment] {
        &self.0
    }
}

/// A JSON Pointer that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerError {
    /// The pointer as given.
    pub pointer: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for PointerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed JSON Pointer {:?}: {}",
            self.pointer, self.reason
        )
    }
}

impl std::error::Error for PointerError {}

/// A map key as a path segment: the key `serde_json` writes for it in an object (a string as
/// it is; a number, `bool` or `char` as its text), or, for a key `serde_json` cannot write in
/// an object (a tuple, a struct), its JSON text.
///
/// # Errors
///
/// When the key has no JSON form.
pub(crate) fn try_key_segment<K: Serialize>(key: &K) -> Result<PathSegment, serde_json::Error> {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(text)) => Ok(PathSegment::Key(text)),
        Ok(other) => Ok(PathSegment::Key(other.to_string())),
        // A value `serde_json::Value` cannot hold (a `u128` past 64 bits) may still be a key.
        Err(error) => object_key(key).ok_or(error).map(PathSegment::Key),
    }
}

/// The key `serde_json` writes for `key` in an object, if it writes one.
fn object_key<K: Serialize>(key: &K) -> Option<String> {
    /// A map of the one key, so that `serde_json` writes the key as it does in an object.
    struct OneKey<'k, K>(&'k K);
    impl<K: Serialize> Serialize for OneKey<'_, K> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap as _;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(self.0, &())?;
            map.end()
        }
    }
    match serde_json::to_value(OneKey(key)).ok()? {
        serde_json::Value::Object(object) => object.into_iter().next().map(|(text, _)| text),
        _ => None,
    }
}
