//! JSON with structural sharing (`imbl` vectors and maps): the devtools keep the state at
//! every version of a timeline, each sharing all it did not change with the one before, and
//! apply patches along their path only.

use std::sync::Arc;

use immer::imbl::{OrdMap, Vector};
use immer::{Patch, PatchOp, Path, PathSegment};
use serde_json::{Map, Number, Value};

/// A JSON value whose containers share structure when cloned.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tree {
    Null,
    Bool(bool),
    Number(Number),
    String(Arc<str>),
    Array(Vector<Tree>),
    Object(OrdMap<Arc<str>, Tree>),
}

impl From<Value> for Tree {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Tree::Null,
            Value::Bool(b) => Tree::Bool(b),
            Value::Number(n) => Tree::Number(n),
            Value::String(s) => Tree::String(s.into()),
            Value::Array(a) => Tree::Array(a.into_iter().map(Tree::from).collect()),
            Value::Object(o) => Tree::Object(
                o.into_iter()
                    .map(|(k, v)| (Arc::from(k), Tree::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Tree> for Value {
    fn from(tree: &Tree) -> Self {
        match tree {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.to_string()),
            Tree::Array(a) => Value::Array(a.iter().map(Value::from).collect()),
            Tree::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

fn index(segment: &PathSegment, len: usize, end_ok: bool) -> Result<usize, String> {
    if end_ok && matches!(segment, PathSegment::Key(k) if k == "-") {
        return Ok(len);
    }
    match segment.as_index() {
        Some(i) if i < len || (end_ok && i == len) => Ok(i),
        _ => Err(format!(
            "index {} out of range (length {len})",
            segment.to_key()
        )),
    }
}

impl Tree {
    /// The value at `path`.
    pub(crate) fn at(&self, path: &[PathSegment]) -> Option<&Tree> {
        let mut here = self;
        for segment in path {
            here = match here {
                Tree::Object(o) => o.get(segment.to_key().as_ref())?,
                Tree::Array(a) => a.get(segment.as_index()?)?,
                _ => return None,
            };
        }
        Some(here)
    }

    fn at_mut(&mut self, path: &[PathSegment]) -> Result<&mut Tree, String> {
        let mut here = self;
        for segment in path {
            here = match here {
                Tree::Object(o) => o
                    .get_mut(segment.to_key().as_ref())
                    .ok_or_else(|| format!("no key {}", segment.to_key()))?,
                Tree::Array(a) => {
                    let i = index(segment, a.len(), false)?;
                    a.get_mut(i).ok_or_else(|| format!("no index {i}"))?
                }
                _ => return Err(format!("{} goes through a scalar", segment.to_key())),
            };
        }
        Ok(here)
    }

    /// Applies `patches` in order; on an error nothing changes. Returns the patches that
    /// undo them, in apply order.
    pub(crate) fn apply(&mut self, patches: &[Patch]) -> Result<Vec<Patch>, String> {
        // Cloning shares everything: the copy is what changes, and is kept only on success.
        let mut next = self.clone();
        let mut undo = Vec::new();
        for (n, patch) in patches.iter().enumerate() {
            next.apply_one(patch, &mut undo)
                .map_err(|e| format!("patch {n} at {}: {e}", patch.path))?;
        }
        *self = next;
        undo.reverse();
        Ok(undo)
    }

    fn apply_one(&mut self, patch: &Patch, undo: &mut Vec<Patch>) -> Result<(), String> {
        let value = || -> Result<Tree, String> {
            patch
                .value
                .clone()
                .map(Tree::from)
                .ok_or_else(|| format!("`{:?}` needs a value", patch.op))
        };
        match patch.op {
            PatchOp::Add => self.add(&patch.path, value()?, undo),
            PatchOp::Remove => self.remove(&patch.path, undo).map(drop),
            PatchOp::Replace => {
                let new = value()?;
                let target = self.at_mut(patch.path.segments())?;
                let old = std::mem::replace(target, new);
                undo.push(Patch::replace(patch.path.clone(), Value::from(&old)));
                Ok(())
            }
            PatchOp::Test => {
                let found = self.at(patch.path.segments()).ok_or("nothing to test")?;
                if Some(Value::from(found)) == patch.value {
                    Ok(())
                } else {
                    Err("test failed".to_owned())
                }
            }
            PatchOp::Move | PatchOp::Copy => {
                let from = patch
                    .from
                    .as_ref()
                    .ok_or("`move` and `copy` need a `from`")?;
                let moved = if patch.op == PatchOp::Move {
                    self.remove(from, undo)?
                } else {
                    self.at(from.segments()).cloned().ok_or("nothing to copy")?
                };
                self.add(&patch.path, moved, undo)
            }
        }
    }

    fn add(&mut self, path: &Path, value: Tree, undo: &mut Vec<Patch>) -> Result<(), String> {
        let Some((last, parent)) = path.segments().split_last() else {
            let old = std::mem::replace(self, value);
            undo.push(Patch::replace(Path::root(), Value::from(&old)));
            return Ok(());
        };
        match self.at_mut(parent)? {
            Tree::Object(o) => {
                let key: Arc<str> = last.to_key().as_ref().into();
                match o.insert(Arc::clone(&key), value) {
                    Some(old) => undo.push(Patch::replace(path.clone(), Value::from(&old))),
                    None => undo.push(Patch::remove(path.clone())),
                }
            }
            Tree::Array(a) => {
                let i = index(last, a.len(), true)?;
                a.insert(i, value);
                let mut at = parent.to_vec();
                at.push(PathSegment::Index(i));
                undo.push(Patch::remove(Path::from(at)));
            }
            _ => return Err("adds into a scalar".to_owned()),
        }
        Ok(())
    }

    fn remove(&mut self, path: &Path, undo: &mut Vec<Patch>) -> Result<Tree, String> {
        let (last, parent) = path
            .segments()
            .split_last()
            .ok_or("the whole state cannot be removed")?;
        let old = match self.at_mut(parent)? {
            Tree::Object(o) => o
                .remove(last.to_key().as_ref())
                .ok_or_else(|| format!("no key {}", last.to_key()))?,
            Tree::Array(a) => {
                let i = index(last, a.len(), false)?;
                a.remove(i)
            }
            _ => return Err("removes from a scalar".to_owned()),
        };
        undo.push(Patch::add(path.clone(), Value::from(&old)));
        Ok(old)
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Tree::Null => "null",
            Tree::Bool(_) => "boolean",
            Tree::Number(_) => "number",
            Tree::String(_) => "string",
            Tree::Array(_) => "array",
            Tree::Object(_) => "object",
        }
    }

    pub(crate) fn size(&self) -> usize {
        match self {
            Tree::Array(a) => a.len(),
            Tree::Object(o) => o.len(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_apply_and_their_inverse_takes_them_back() {
        let base = Tree::from(json!({"todos": [{"id": 1}, {"id": 2}], "title": "t", "m": {}}));
        let patches: Vec<Patch> = serde_json::from_value(json!([
            {"op": "add", "path": ["todos", 1], "value": {"id": 9}},
            {"op": "remove", "path": ["todos", 0]},
            {"op": "replace", "path": ["title"], "value": "u"},
            {"op": "add", "path": ["m", "k"], "value": 1},
            {"op": "move", "from": ["todos", 0], "path": ["todos", "-"]},
        ]))
        .unwrap();
        let mut next = base.clone();
        let undo = next.apply(&patches).unwrap();
        assert_eq!(
            Value::from(&next),
            json!({"todos": [{"id": 2}, {"id": 9}], "title": "u", "m": {"k": 1}})
        );
        let mut back = next.clone();
        back.apply(&undo).unwrap();
        assert_eq!(back, base);
        // A failing patch changes nothing.
        let bad: Vec<Patch> = serde_json::from_value(json!([
            {"op": "replace", "path": ["title"], "value": "v"},
            {"op": "remove", "path": ["todos", 7]},
        ]))
        .unwrap();
        let before = next.clone();
        assert!(next.apply(&bad).is_err());
        assert_eq!(next, before);
    }
}
