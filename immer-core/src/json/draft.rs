//! [`Json`] as a draftable type: drafts by key and by index, patches with RFC 6902's rules,
//! diffs that skip what two versions share.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::Value;

use super::{Json, JsonArray, JsonObject};
use crate::collections::list::list_index;
use crate::collections::record;
use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Undo, set_place};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::place::{Access, Child, OwnedChild, Place};

/// Drafts by key (objects) and by index (arrays), applies patches with RFC 6902's rules, and
/// copies on write only the path to what changed.
impl crate::draftable::Sealed for Json {}
impl Draftable for Json {
    type Draft<P: Place<Target = Self>> = JsonDraft<P>;
    type Path<R> = crate::JsonPath<R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        JsonDraft { place }
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        let Some((segment, rest)) = path.split_first() else {
            return apply_to_whole(self, edit);
        };
        if !rest.is_empty() {
            return self.child_mut(segment)?.apply_edit(rest, edit);
        }
        match self {
            Json::Object(object) => apply_to_object(object, segment, edit),
            Json::Array(array) => apply_to_array(array, segment, edit),
            _ => Err(PatchErrorKind::ThroughLeaf {
                type_name: self.kind(),
            }),
        }
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        let mut here = self;
        for segment in path {
            here = here.child(segment)?;
        }
        Ok(Value::from(here))
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        let mut here = self;
        for segment in path {
            here = here.child(segment)?;
        }
        Ok(match here {
            Json::Object(_) => Outline::Object,
            Json::Array(array) => Outline::Array(array.len()),
            scalar => Outline::Scalar(Value::from(scalar)),
        })
    }

    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        match (self, other) {
            (Json::Object(from), Json::Object(to)) => diff_objects(from, to, differ),
            (Json::Array(from), Json::Array(to)) => {
                if !from.ptr_eq(to) {
                    differ.list(from.len(), to.len(), |i| from.get(i), |i| to.get(i));
                }
            }
            _ => differ.leaf(self, other),
        }
    }
}

/// The objects' diff: a `remove` or an `add` per key in one only, the values of keys in both
/// diffed; two large objects skip the nodes they share.
fn diff_objects(from: &JsonObject, to: &JsonObject, differ: &mut Differ) {
    use imbl::ordmap::DiffItem;
    if from.ptr_eq(to) {
        return;
    }
    let key = |k: &str| PathSegment::Key(k.to_owned());
    if let Some((a, b)) = from.both_large(to) {
        for item in a.diff(b) {
            match item {
                DiffItem::Add(k, new) => differ.add(key(k), new),
                DiffItem::Remove(k, old) => differ.remove(key(k), old),
                DiffItem::Update {
                    old: (k, old),
                    new: (_, new),
                } => differ.child(Some(key(k)), |d| old.diff_into(new, d)),
            }
        }
        return;
    }
    // Both sorted by key: one merge walk.
    let (mut a, mut b) = (from.iter().peekable(), to.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some((ka, old)), Some((kb, new))) => match ka.cmp(kb) {
                std::cmp::Ordering::Less => {
                    differ.remove(key(ka), *old);
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    differ.add(key(kb), *new);
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    if old != new {
                        differ.child(Some(key(ka)), |d| old.diff_into(new, d));
                    }
                    a.next();
                    b.next();
                }
            },
            (Some((ka, old)), None) => {
                differ.remove(key(ka), *old);
                a.next();
            }
            (None, Some((kb, new))) => {
                differ.add(key(kb), *new);
                b.next();
            }
            (None, None) => return,
        }
    }
}

/// The value of an `add` or a `replace`, or why it has none.
fn new_value(edit: &Edit<'_>) -> Result<Json, PatchErrorKind> {
    edit.value
        .map(Json::from)
        .ok_or_else(|| PatchErrorKind::Malformed {
            reason: format!("`{}` needs a `value`", edit.op),
        })
}

fn set_undo(edit: &mut Edit<'_>, op: PatchOp, value: Option<&Json>, index: Option<usize>) {
    if edit.want_undo {
        edit.undo = Some(Undo {
            op,
            value: value.map(Value::from),
            index,
        });
    }
}

/// An edit of the whole document: `add` and `replace` set it, `remove` is refused (a state
/// cannot be removed, only replaced).
fn apply_to_whole(this: &mut Json, edit: &mut Edit<'_>) -> Result<(), PatchErrorKind> {
    match edit.op {
        PatchOp::Add | PatchOp::Replace => {
            let old = std::mem::replace(this, new_value(edit)?);
            set_undo(edit, PatchOp::Replace, Some(&old), None);
            Ok(())
        }
        _ => Err(PatchErrorKind::RemoveRequired {
            type_name: "immer::Json",
        }),
    }
}

fn apply_to_object(
    object: &mut JsonObject,
    segment: &PathSegment,
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let key = segment.to_key();
    match edit.op {
        PatchOp::Add => match object.insert(key.as_ref(), new_value(edit)?) {
            Some(old) => set_undo(edit, PatchOp::Replace, Some(&old), None),
            None => set_undo(edit, PatchOp::Remove, None, None),
        },
        PatchOp::Remove => {
            let old = object
                .remove(&key)
                .ok_or_else(|| PatchErrorKind::MissingKey {
                    key: key.into_owned(),
                })?;
            set_undo(edit, PatchOp::Add, Some(&old), None);
        }
        _ => {
            let value = new_value(edit)?;
            let slot = object
                .get_mut(&key)
                .ok_or_else(|| PatchErrorKind::MissingKey {
                    key: key.into_owned(),
                })?;
            let old = std::mem::replace(slot, value);
            set_undo(edit, PatchOp::Replace, Some(&old), None);
        }
    }
    Ok(())
}

fn apply_to_array(
    array: &mut JsonArray,
    segment: &PathSegment,
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let len = array.len();
    match edit.op {
        PatchOp::Add => {
            let index = list_index(segment, len, true)?;
            let value = new_value(edit)?;
            if array.insert(index, value).is_err() {
                return Err(PatchErrorKind::IndexOutOfRange { index, len });
            }
            if edit.want_position {
                edit.position = Some(index);
            }
            set_undo(edit, PatchOp::Remove, None, Some(index));
        }
        PatchOp::Remove => {
            let index = list_index(segment, len, false)?;
            let old = array
                .remove(index)
                .ok_or(PatchErrorKind::IndexOutOfRange { index, len })?;
            if edit.want_position {
                edit.position = Some(index);
            }
            set_undo(edit, PatchOp::Add, Some(&old), None);
        }
        _ => {
            let index = list_index(segment, len, false)?;
            let value = new_value(edit)?;
            let slot = array
                .get_mut(index)
                .ok_or(PatchErrorKind::IndexOutOfRange { index, len })?;
            let old = std::mem::replace(slot, value);
            set_undo(edit, PatchOp::Replace, Some(&old), None);
        }
    }
    Ok(())
}

fn member() -> Access<Json, Arc<str>, Json> {
    Access {
        read: |v, k| v.as_object()?.get(k),
        write: |v, k| v.as_object_mut()?.get_mut(k),
        segment: |k| Some(PathSegment::Key(k.to_string())),
    }
}

fn element() -> Access<Json, usize, Json> {
    Access {
        read: |v, i| v.as_array()?.get(*i),
        write: |v, i| v.as_array_mut()?.get_mut(*i),
        segment: |i| Some(PathSegment::Index(*i)),
    }
}

/// The draft of a [`Json`].
///
/// Reads through `Deref<Target = Json>`. Objects are drafted by key, arrays by index; every
/// write records one patch, and copies on write only the path from the root to it: a
/// member of a small object copies that object (at most 32 members), an element of a large
/// array the array's path to it (O(log n)), and everything else stays shared with the base.
///
/// # Examples
///
/// ```
/// use immer_core::{Json, produce_with_patches};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let base = Arc::new(Json::from(json!({"tags": ["a"], "n": 1, "other": {"big": [1, 2, 3]}})));
/// let (next, patches, _) = produce_with_patches(&base, |d| {
///     d.get_mut("tags").unwrap().push("b").unwrap();
///     d.insert("n", 2).unwrap();
/// });
/// assert_eq!(*next, json!({"tags": ["a", "b"], "n": 2, "other": {"big": [1, 2, 3]}}));
/// assert_eq!(patches.len(), 2);
/// assert!(next["other"].ptr_eq(&base["other"]));
/// ```
pub struct JsonDraft<P> {
    place: P,
}

impl<P: Place<Target = Json>> JsonDraft<P> {
    /// Replaces the whole value: one `replace` patch, none when the value is equal.
    ///
    /// Time: an equality check (O(1) for a value that shares the old one's allocation),
    /// plus the copy-on-write of the path here.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"n": 1})));
    /// let next = produce(&base, |d| d.get_mut("n").unwrap().set("one"));
    /// assert_eq!(next["n"], "one");
    /// ```
    pub fn set(&mut self, value: impl Into<Json>) {
        set_place(&mut self.place, value.into());
    }

    /// The draft of an object's member, or `None` (not an object, or no such key). Copies
    /// nothing until the draft writes.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"todo": {"done": false}})));
    /// let next = produce(&base, |d| {
    ///     d.get_mut("todo").unwrap().get_mut("done").unwrap().set(true);
    ///     assert!(d.get_mut("nope").is_none());
    /// });
    /// assert_eq!(next["todo"]["done"], true);
    /// ```
    pub fn get_mut(&mut self, key: &str) -> Option<JsonDraft<Child<'_, P, Arc<str>, Json>>> {
        let (key, _) = self.place.get().as_object()?.shared_key_value(key)?;
        let key = Arc::clone(key);
        Some(JsonDraft {
            place: Child::new(&mut self.place, key, member()),
        })
    }

    /// The draft of an object's member, or `None`, consuming this draft: unlike
    /// [`get_mut`](JsonDraft::get_mut), the result can be bound to a variable when this
    /// draft is a temporary (a field's draft, `d.data()`), as std's entry API has
    /// `into_mut`.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"todo": {"done": false}})));
    /// let next = produce(&base, |d| {
    ///     let mut todo = d.get_mut("todo").unwrap().into_mut("done").unwrap();
    ///     todo.set(true);
    /// });
    /// assert_eq!(next["todo"]["done"], true);
    /// ```
    pub fn into_mut(self, key: &str) -> Option<JsonDraft<OwnedChild<P, Arc<str>, Json>>> {
        let (key, _) = self.place.get().as_object()?.shared_key_value(key)?;
        let key = Arc::clone(key);
        Some(JsonDraft {
            place: OwnedChild::new(self.place, key, member()),
        })
    }

    /// The draft of an array's element, or `None`, consuming this draft (see
    /// [`into_mut`](JsonDraft::into_mut)).
    ///
    /// Time: O(1) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"list": [1, 2]})));
    /// let next = produce(&base, |d| {
    ///     let mut second = d.get_mut("list").unwrap().into_index_mut(1).unwrap();
    ///     second.set(20);
    /// });
    /// assert_eq!(next["list"], serde_json::json!([1, 20]));
    /// ```
    pub fn into_index_mut(self, index: usize) -> Option<JsonDraft<OwnedChild<P, usize, Json>>> {
        self.place.get().as_array()?.get(index)?;
        Some(JsonDraft {
            place: OwnedChild::new(self.place, index, element()),
        })
    }

    /// The draft of an array's element, or `None` (not an array, or out of range). Copies
    /// nothing until the draft writes.
    ///
    /// Time: O(1) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!([1, 2])));
    /// let next = produce(&base, |d| d.get_index_mut(1).unwrap().set(20));
    /// assert_eq!(*next, serde_json::json!([1, 20]));
    /// ```
    pub fn get_index_mut(&mut self, index: usize) -> Option<JsonDraft<Child<'_, P, usize, Json>>> {
        self.place.get().as_array()?.get(index)?;
        Some(JsonDraft {
            place: Child::new(&mut self.place, index, element()),
        })
    }

    /// Sets an object's member and returns the value it replaced, if any: one `add` patch
    /// for a new key, one `replace` for an existing one, none for an equal value.
    ///
    /// Time: O(log n) (O(n) to add to a small object), plus the copy on first write.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an object: nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce_with_patches};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"a": 1})));
    /// let (next, patches, _) = produce_with_patches(&base, |d| {
    ///     assert_eq!(d.insert("a", 2), Ok(Some(Json::from(1))));
    ///     assert_eq!(d.insert("b", 3), Ok(None));
    ///     assert!(d.get_mut("a").unwrap().insert("x", 0).is_err());
    /// });
    /// assert_eq!(*next, serde_json::json!({"a": 2, "b": 3}));
    /// assert_eq!(patches.len(), 2);
    /// ```
    pub fn insert(&mut self, key: &str, value: impl Into<Json>) -> Result<Option<Json>, Json> {
        let value = value.into();
        let Some(object) = self.place.get().as_object() else {
            return Err(value);
        };
        if let Some(old) = object.get(key).cloned() {
            if let Some(mut member) = self.get_mut(key) {
                member.set(value);
            }
            return Ok(Some(old));
        }
        record(&mut self.place, |_, path| {
            let path = path.child(key);
            Ok((
                Patch::add(path.clone(), Value::from(&value)),
                Patch::remove(path),
            ))
        });
        if let Some(object) = self.place.get_mut().as_object_mut() {
            object.insert(key, value);
        }
        Ok(None)
    }

    /// Removes an object's member and returns it; `None` when absent or not an object. One
    /// `remove` patch.
    ///
    /// Time: O(log n) (O(n) for a small object), plus the copy on first write.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!({"a": 1, "b": 2})));
    /// let next = produce(&base, |d| {
    ///     assert_eq!(d.remove("a"), Some(Json::from(1)));
    ///     assert_eq!(d.remove("zz"), None);
    /// });
    /// assert_eq!(*next, serde_json::json!({"b": 2}));
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let old = self.place.get().as_object()?.get(key)?.clone();
        record(&mut self.place, |_, path| {
            let path = path.child(key);
            Ok((
                Patch::remove(path.clone()),
                Patch::add(path, Value::from(&old)),
            ))
        });
        self.place.get_mut().as_object_mut()?.remove(key)
    }

    /// Appends to an array. One `add` patch.
    ///
    /// Time: O(1) amortized (O(n) for a small array), plus the copy on first write.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an array: nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!([1])));
    /// let next = produce(&base, |d| d.push(2).unwrap());
    /// assert_eq!(*next, serde_json::json!([1, 2]));
    /// ```
    pub fn push(&mut self, value: impl Into<Json>) -> Result<(), Json> {
        let value = value.into();
        let Some(len) = self.place.get().as_array().map(JsonArray::len) else {
            return Err(value);
        };
        self.insert_index(len, value)
    }

    /// Inserts into an array at `index` (`index == len` appends), shifting the rest. One
    /// `add` patch.
    ///
    /// Time: O(log n) (O(n) for a small array), plus the copy on first write.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an array or `index > len`: nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!(["a", "c"])));
    /// let next = produce(&base, |d| {
    ///     d.insert_index(1, "b").unwrap();
    ///     assert!(d.insert_index(9, "z").is_err());
    /// });
    /// assert_eq!(*next, serde_json::json!(["a", "b", "c"]));
    /// ```
    pub fn insert_index(&mut self, index: usize, value: impl Into<Json>) -> Result<(), Json> {
        let value = value.into();
        match self.place.get().as_array() {
            Some(array) if index <= array.len() => {}
            _ => return Err(value),
        }
        record(&mut self.place, |_, path| {
            let path = path.child(index);
            Ok((
                Patch::add(path.clone(), Value::from(&value)),
                Patch::remove(path),
            ))
        });
        match self.place.get_mut().as_array_mut() {
            Some(array) => array.insert(index, value),
            None => Err(value),
        }
    }

    /// Removes an array's last element and returns it; `None` when empty or not an array.
    /// One `remove` patch.
    ///
    /// Time: O(log n) (O(n) for a small array), plus the copy on first write.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!([1, 2])));
    /// let next = produce(&base, |d| assert_eq!(d.pop(), Some(Json::from(2))));
    /// assert_eq!(*next, serde_json::json!([1]));
    /// ```
    pub fn pop(&mut self) -> Option<Json> {
        let len = self.place.get().as_array()?.len();
        self.remove_index(len.checked_sub(1)?)
    }

    /// Removes an array's element and returns it; `None` when out of range or not an
    /// array. One `remove` patch.
    ///
    /// Time: O(log n) (O(n) for a small array), plus the copy on first write.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, produce};
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(Json::from(serde_json::json!(["a", "b"])));
    /// let next = produce(&base, |d| {
    ///     assert_eq!(d.remove_index(0), Some(Json::from("a")));
    ///     assert_eq!(d.remove_index(5), None);
    /// });
    /// assert_eq!(*next, serde_json::json!(["b"]));
    /// ```
    pub fn remove_index(&mut self, index: usize) -> Option<Json> {
        let old = self.place.get().as_array()?.get(index)?.clone();
        record(&mut self.place, |_, path| {
            let path = path.child(index);
            Ok((
                Patch::remove(path.clone()),
                Patch::add(path, Value::from(&old)),
            ))
        });
        self.place.get_mut().as_array_mut()?.remove(index)
    }
}

impl<P: Place> Deref for JsonDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}

impl<P: Place> std::fmt::Debug for JsonDraft<P>
where
    P::Target: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JsonDraft").field(self.place.get()).finish()
    }
}
