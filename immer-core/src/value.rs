//! `serde_json::Value` as a draftable type: the dynamic parts of a state.

use std::ops::Deref;

use serde_json::{Map, Value};

use crate::collections::list::list_index;
use crate::collections::{json, record};
use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Undo, set_place, to_json};
use crate::error::PatchErrorKind;
use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::place::{Access, Child, Place};

/// The value at `path` below `value`.
fn value_ref_at<'v>(value: &'v Value, path: &[PathSegment]) -> Result<&'v Value, PatchErrorKind> {
    let mut here = value;
    for segment in path {
        here = match here {
            Value::Object(object) => {
                let key = segment.to_key();
                object
                    .get(key.as_ref())
                    .ok_or_else(|| PatchErrorKind::MissingKey {
                        key: key.into_owned(),
                    })?
            }
            Value::Array(array) => &array[list_index(segment, array.len(), false)?],
            _ => {
                return Err(PatchErrorKind::ThroughLeaf {
                    type_name: scalar_name(here),
                });
            }
        };
    }
    Ok(here)
}

/// A JSON value drafts by key (objects) and by index (arrays), and applies patches with
/// RFC 6902's rules, so a state can hold parts whose shape is only known at run time.
impl crate::draftable::Sealed for Value {}
impl Draftable for Value {
    type Draft<P: Place<Target = Self>> = ValueDraft<P>;
    type Path<R> = crate::JsonPath<R>;

    fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
        ValueDraft { place }
    }

    fn apply_edit(
        &mut self,
        path: &[PathSegment],
        edit: &mut Edit<'_>,
    ) -> Result<(), PatchErrorKind> {
        let Some((segment, rest)) = path.split_first() else {
            return crate::draftable::apply_whole(self, edit, "serde_json::Value");
        };
        if !rest.is_empty() {
            let child = match self {
                Value::Object(object) => {
                    let key = segment.to_key();
                    object
                        .get_mut(key.as_ref())
                        .ok_or_else(|| PatchErrorKind::MissingKey {
                            key: key.into_owned(),
                        })?
                }
                Value::Array(array) => {
                    let index = list_index(segment, array.len(), false)?;
                    &mut array[index]
                }
                _ => {
                    return Err(PatchErrorKind::ThroughLeaf {
                        type_name: scalar_name(self),
                    });
                }
            };
            return child.apply_edit(rest, edit);
        }
        match self {
            Value::Object(object) => apply_to_object(object, segment, edit),
            Value::Array(array) => apply_to_array(array, segment, edit),
            _ => Err(PatchErrorKind::ThroughLeaf {
                type_name: scalar_name(self),
            }),
        }
    }

    fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
        value_ref_at(self, path).cloned()
    }

    fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
        value_ref_at(self, path).map(Outline::of)
    }

    fn diff_into(&self, other: &Self, differ: &mut Differ) {
        match (self, other) {
            (Value::Object(from), Value::Object(to)) => {
                for (key, old) in from {
                    match to.get(key) {
                        None => differ.remove(PathSegment::Key(key.clone()), old),
                        Some(new) if old != new => {
                            let segment = PathSegment::Key(key.clone());
                            differ.child(Some(segment), |d| old.diff_into(new, d));
                        }
                        Some(_) => {}
                    }
                }
                for (key, new) in to {
                    if !from.contains_key(key) {
                        differ.add(PathSegment::Key(key.clone()), new);
                    }
                }
            }
            (Value::Array(from), Value::Array(to)) => {
                differ.list(from.len(), to.len(), |i| from.get(i), |i| to.get(i));
            }
            _ => differ.leaf(self, other),
        }
    }
}

fn scalar_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn new_value(edit: &Edit<'_>) -> Result<Value, PatchErrorKind> {
    edit.value
        .cloned()
        .ok_or_else(|| PatchErrorKind::Malformed {
            reason: format!("`{}` needs a `value`", edit.op),
        })
}

fn apply_to_object(
    object: &mut Map<String, Value>,
    segment: &PathSegment,
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let key = segment.to_key().into_owned();
    let undo = match edit.op {
        PatchOp::Add => match object.insert(key, new_value(edit)?) {
            Some(old) => Undo {
                op: PatchOp::Replace,
                value: Some(old),
                index: None,
            },
            None => Undo {
                op: PatchOp::Remove,
                value: None,
                index: None,
            },
        },
        PatchOp::Remove => {
            let old = object
                .remove(&key)
                .ok_or(PatchErrorKind::MissingKey { key })?;
            Undo {
                op: PatchOp::Add,
                value: Some(old),
                index: None,
            }
        }
        _ => {
            let value = new_value(edit)?;
            let slot = object
                .get_mut(&key)
                .ok_or(PatchErrorKind::MissingKey { key })?;
            Undo {
                op: PatchOp::Replace,
                value: Some(std::mem::replace(slot, value)),
                index: None,
            }
        }
    };
    if edit.want_undo {
        edit.undo = Some(undo);
    }
    Ok(())
}

fn apply_to_array(
    array: &mut Vec<Value>,
    segment: &PathSegment,
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let undo = match edit.op {
        PatchOp::Add => {
            let index = list_index(segment, array.len(), true)?;
            array.insert(index, new_value(edit)?);
            Undo {
                op: PatchOp::Remove,
                value: None,
                index: Some(index),
            }
        }
        PatchOp::Remove => {
            let index = list_index(segment, array.len(), false)?;
            Undo {
                op: PatchOp::Add,
                value: Some(array.remove(index)),
                index: None,
            }
        }
        _ => {
            let index = list_index(segment, array.len(), false)?;
            let value = new_value(edit)?;
            Undo {
                op: PatchOp::Replace,
                value: Some(std::mem::replace(&mut array[index], value)),
                index: None,
            }
        }
    };
    if edit.want_undo {
        edit.undo = Some(undo);
    }
    Ok(())
}

fn member() -> Access<Value, String, Value> {
    Access {
        read: |v, k| v.as_object().and_then(|o| o.get(k)),
        write: |v, k| v.as_object_mut().and_then(|o| o.get_mut(k)),
        segment: |k| Some(PathSegment::Key(k.clone())),
    }
}

fn element() -> Access<Value, usize, Value> {
    Access {
        read: |v, i| v.as_array().and_then(|a| a.get(*i)),
        write: |v, i| v.as_array_mut().and_then(|a| a.get_mut(*i)),
        segment: |i| Some(PathSegment::Index(*i)),
    }
}

/// The draft of a `serde_json::Value`.
///
/// Reads through `Deref<Target = Value>`. Objects are drafted by key, arrays by index; every
/// write records one patch.
///
/// # Examples
///
/// ```
/// use immer_core::produce_with_patches;
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let base = Arc::new(json!({"tags": ["a"], "n": 1}));
/// let (next, patches, _) = produce_with_patches(&base, |d| {
///     d.get_mut("tags").unwrap().push(json!("b"));
///     d.insert("n", json!(2));
/// });
/// assert_eq!(*next, json!({"tags": ["a", "b"], "n": 2}));
/// assert_eq!(patches.len(), 2);
/// ```
pub struct ValueDraft<P> {
    place: P,
}

impl<P: Place<Target = Value>> ValueDraft<P> {
    /// Replaces the whole value. An equal value changes nothing.
    ///
    /// Time: O(1) plus the copy-on-write of the path here.
    pub fn set(&mut self, value: Value) {
        set_place(&mut self.place, value);
    }

    /// The draft of an object's member, or `None` (not an object, or no such key).
    ///
    /// Time: one lookup.
    pub fn get_mut(&mut self, key: &str) -> Option<ValueDraft<Child<'_, P, String, Value>>> {
        self.place.get().as_object()?.get(key)?;
        Some(ValueDraft {
            place: Child::new(&mut self.place, key.to_owned(), member()),
        })
    }

    /// The draft of an array's element, or `None` (not an array, or out of range).
    ///
    /// Time: O(1).
    pub fn get_index_mut(
        &mut self,
        index: usize,
    ) -> Option<ValueDraft<Child<'_, P, usize, Value>>> {
        self.place.get().as_array()?.get(index)?;
        Some(ValueDraft {
            place: Child::new(&mut self.place, index, element()),
        })
    }

    /// Sets an object's member and returns the old value. `Err(value)` when this is not an
    /// object. One `add` or `replace` patch, none for an equal value.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an object.
    ///
    /// Time: one lookup and insert, plus the copy on first write.
    pub fn insert(&mut self, key: &str, value: Value) -> Result<Option<Value>, Value> {
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
            Ok((Patch::add(path.clone(), value.clone()), Patch::remove(path)))
        });
        if let Some(object) = self.place.get_mut().as_object_mut() {
            object.insert(key.to_owned(), value);
        }
        Ok(None)
    }

    /// Removes an object's member and returns it; `None` when absent or not an object.
    /// One `remove` patch.
    ///
    /// Time: one lookup and removal, plus the copy on first write.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let old = self.place.get().as_object()?.get(key)?;
        let old = old.clone();
        record(&mut self.place, |_, path| {
            let path = path.child(key);
            Ok((Patch::remove(path.clone()), Patch::add(path, json(&old)?)))
        });
        self.place.get_mut().as_object_mut()?.remove(key)
    }

    /// Appends to an array; `Err(value)` when this is not an array. One `add` patch.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an array.
    ///
    /// Time: O(1) amortized plus the copy on first write.
    pub fn push(&mut self, value: Value) -> Result<(), Value> {
        let Some(len) = self.place.get().as_array().map(Vec::len) else {
            return Err(value);
        };
        record(&mut self.place, |_, path| {
            let path = path.child(len);
            Ok((Patch::add(path.clone(), value.clone()), Patch::remove(path)))
        });
        if let Some(array) = self.place.get_mut().as_array_mut() {
            array.push(value);
        }
        Ok(())
    }

    /// Inserts into an array at `index` (`index == len` appends), shifting the rest. One `add`
    /// patch.
    ///
    /// # Errors
    ///
    /// `Err(value)` when this value is not an array or `index > len`.
    ///
    /// Time: O(n - index) plus the copy on first write.
    pub fn insert_index(&mut self, index: usize, value: Value) -> Result<(), Value> {
        match self.place.get().as_array() {
            Some(array) if index <= array.len() => {}
            _ => return Err(value),
        }
        record(&mut self.place, |_, path| {
            let path = path.child(index);
            Ok((Patch::add(path.clone(), value.clone()), Patch::remove(path)))
        });
        if let Some(array) = self.place.get_mut().as_array_mut() {
            array.insert(index, value);
        }
        Ok(())
    }

    /// Removes an array's last element and returns it; `None` when empty or not an array.
    /// One `remove` patch.
    ///
    /// Time: O(1) plus the copy on first write.
    pub fn pop(&mut self) -> Option<Value> {
        let len = self.place.get().as_array()?.len();
        self.remove_index(len.checked_sub(1)?)
    }

    /// Removes an array's element and returns it; `None` when out of range or not an array.
    /// One `remove` patch.
    ///
    /// Time: O(n - index) plus the copy on first write.
    pub fn remove_index(&mut self, index: usize) -> Option<Value> {
        let old = self.place.get().as_array()?.get(index)?.clone();
        record(&mut self.place, |_, path| {
            let path = path.child(index);
            Ok((
                Patch::remove(path.clone()),
                Patch::add(path, to_json(&old).unwrap_or_default()),
            ))
        });
        let array = self.place.get_mut().as_array_mut()?;
        Some(array.remove(index))
    }
}

impl<P: Place> Deref for ValueDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}
