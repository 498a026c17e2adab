//! The skip as it was first written, kept for the tests to hold the skip to: the whole base
//! state read as JSON into one tree whose every list element carries an identity, the later
//! entries read and replayed over it (see the parent module for the rules, which are the
//! same). It reads the whole state, so it costs the size of the state; the skip itself reads
//! only what the entries touch, and must give the same answers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::transform::Conflict;

/// A JSON value whose list elements carry identities.
#[derive(Clone, Debug)]
enum Node {
    Leaf(Value),
    Object(BTreeMap<String, Node>),
    List(Vec<(u64, Node)>),
}

impl Node {
    fn to_value(&self) -> Value {
        match self {
            Node::Leaf(value) => value.clone(),
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
            Node::List(items) => Value::Array(items.iter().map(|(_, n)| n.to_value()).collect()),
        }
    }

    /// The node at `steps`, if it is there.
    fn find_mut(&mut self, steps: &[Step]) -> Option<&mut Node> {
        let mut node = self;
        for step in steps {
            node = match (node, step) {
                (Node::Object(fields), Step::Key(key)) => fields.get_mut(key)?,
                (Node::List(items), Step::Id(id)) => {
                    &mut items.iter_mut().find(|(i, _)| i == id)?.1
                }
                _ => return None,
            };
        }
        Some(node)
    }
}

/// A step of a path by identity: a field or key, or a list element by its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Id(u64),
}

/// What a patch did, by identity.
#[derive(Clone, Debug)]
enum Change {
    /// A field or key written (a `replace`, or an `add` of a key), or the root.
    Write { at: Vec<Step>, node: Node },
    /// A key removed.
    Unset { at: Vec<Step> },
    /// An element removed.
    Remove { list: Vec<Step>, id: u64 },
    /// An element inserted before the first of `followers` that is there.
    Insert {
        list: Vec<Step>,
        id: u64,
        node: Node,
        followers: Vec<u64>,
    },
    /// An element taken out and inserted again before the first of `followers` there.
    Move {
        list: Vec<Step>,
        id: u64,
        followers: Vec<u64>,
    },
    /// The elements of `order` that are there put in this order into the places they hold.
    Reorder { list: Vec<Step>, order: Vec<u64> },
}

impl Change {
    /// What the change takes away or writes whole, and how: `Some((at, strict))` where a
    /// change of the skipped entry at or below `at` (strictly below, when `strict`) conflicts.
    fn takes(&self) -> Option<(Vec<Step>, bool)> {
        match self {
            Change::Write { at, .. } => Some((at.clone(), true)),
            Change::Unset { at } => Some((at.clone(), false)),
            Change::Remove { list, id } => Some((child(list, *id), false)),
            Change::Insert { .. } | Change::Move { .. } | Change::Reorder { .. } => None,
        }
    }

    /// What the change made or edited, for the conflicts of later changes with it; moves and
    /// reorders place elements but make nothing, and a key taken away makes nothing (taken
    /// away again later, after someone wrote it anew, the later change stands).
    fn made(&self) -> Option<Vec<Step>> {
        match self {
            Change::Write { at, .. } => Some(at.clone()),
            Change::Remove { list, id } | Change::Insert { list, id, .. } => Some(child(list, *id)),
            Change::Unset { .. } | Change::Move { .. } | Change::Reorder { .. } => None,
        }
    }
}

fn child(list: &[Step], id: u64) -> Vec<Step> {
    let mut at = list.to_vec();
    at.push(Step::Id(id));
    at
}

/// A change, with the patch it came from (its index in its entry, its path).
#[derive(Clone, Debug)]
struct Recorded {
    change: Change,
    patch: usize,
    path: Path,
}

/// Why an entry could not be read: the patch's index and path (its entry did not apply as
/// recorded).
pub(super) type Unreadable = (usize, Path);

/// The real history, read patch by patch into changes by identity.
struct Reader {
    tree: Node,
    next: u64,
}

impl Reader {
    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn node(&mut self, value: &Value) -> Node {
        match value {
            Value::Array(items) => {
                Node::List(items.iter().map(|v| (self.fresh(), self.node(v))).collect())
            }
            Value::Object(fields) => Node::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.node(v)))
                    .collect(),
            ),
            leaf => Node::Leaf(leaf.clone()),
        }
    }

    /// The identities of `path` in the tree, every segment there.
    fn steps(&self, path: &[PathSegment]) -> Option<Vec<Step>> {
        let mut node = &self.tree;
        let mut steps = Vec::with_capacity(path.len());
        for segment in path {
            match node {
                Node::Object(fields) => {
                    let key = segment.to_key();
                    node = fields.get(key.as_ref())?;
                    steps.push(Step::Key(key.into_owned()));
                }
                Node::List(items) => {
                    let (id, next) = items.get(list_index(segment, items.len())?)?;
                    steps.push(Step::Id(*id));
                    node = next;
                }
                Node::Leaf(_) => return None,
            }
        }
        Some(steps)
    }

    /// Reads one entry's patches, applying them to the tree.
    fn read(&mut self, patches: &[Patch]) -> Result<Vec<Recorded>, Unreadable> {
        let mut out = Vec::new();
        // Elements this entry removed, for a later insert of the same value to move them.
        let mut pool: Vec<Pooled> = Vec::new();
        let mut index = 0;
        while index < patches.len() {
            let patch = &patches[index];
            let fail = || (index, patch.path.clone());
            // A run of element writes in one list: a swap keeps its elements.
            let run = element_run(&patches[index..]);
            if run > 1
                && self
                    .read_run(&patches[index..index + run], index, &mut pool, &mut out)
                    .is_some()
            {
                index += run;
                continue;
            }
            self.read_patch(patch, index, &mut pool, &mut out)
                .ok_or_else(fail)?;
            index += 1;
        }
        Ok(out)
    }

    fn read_patch(
        &mut self,
        patch: &Patch,
        index: usize,
        pool: &mut Vec<Pooled>,
        out: &mut Vec<Recorded>,
    ) -> Option<()> {
        let segments = patch.path.segments();
        let mut changes = Vec::new();
        match patch.op {
            PatchOp::Test => return Some(()),
            PatchOp::Move | PatchOp::Copy => {
                let from = patch.from.as_ref()?;
                let value = self.find(&self.steps(from.segments())?)?.to_value();
                if patch.op == PatchOp::Move {
                    self.read_patch(&Patch::remove(from.clone()), index, pool, out)?;
                }
                return self.read_patch(&Patch::add(patch.path.clone(), value), index, pool, out);
            }
            _ => {}
        }
        if let Some((last, parent)) = segments.split_last() {
            let list = self.steps(parent)?;
            match self.find(&list)? {
                Node::Object(fields) => {
                    let key = last.to_key().into_owned();
                    let at = child_key(&list, &key);
                    let old = fields.get(&key).cloned();
                    changes = self.read_key(patch, &at, old.as_ref(), pool)?;
                }
                Node::List(items) => {
                    let len = items.len();
                    changes = self.read_element(patch, &list, last, len, pool)?;
                }
                Node::Leaf(_) => return None,
            }
        } else {
            // The whole state.
            let value = patch.value.as_ref()?;
            self.tree = self.node(value);
            changes.push(Change::Write {
                at: Vec::new(),
                node: self.tree.clone(),
            });
        }
        for change in changes {
            record(out, change, index, &patch.path);
        }
        Some(())
    }

    /// A patch of a field or key at `at` (holding `old`).
    fn read_key(
        &mut self,
        patch: &Patch,
        at: &[Step],
        old: Option<&Node>,
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let (key, parent) = match at.split_last() {
            Some((Step::Key(key), parent)) => (key.clone(), parent),
            _ => return None,
        };
        if patch.op == PatchOp::Remove {
            let Node::Object(fields) = self.tree.find_mut(parent)? else {
                return None;
            };
            fields.remove(&key)?;
            return Some(vec![Change::Unset { at: at.to_vec() }]);
        }
        let value = patch.value.as_ref()?;
        if let (Some(Node::List(old)), Value::Array(new)) = (old, value) {
            if let Some(changes) = self.rewrite_list(at, old, new, pool) {
                return Some(changes);
            }
        }
        let node = self.node(value);
        let Node::Object(fields) = self.tree.find_mut(parent)? else {
            return None;
        };
        fields.insert(key, node.clone());
        Some(vec![Change::Write {
            at: at.to_vec(),
            node,
        }])
    }

    /// A patch of an element of the list at `list` (of length `len`), at `last`.
    fn read_element(
        &mut self,
        patch: &Patch,
        list: &[Step],
        segment: &PathSegment,
        len: usize,
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let mut changes = Vec::new();
        match patch.op {
            PatchOp::Add => {
                let at = match segment {
                    PathSegment::Key(key) if key == "-" => len,
                    other => other.as_index().filter(|&i| i <= len)?,
                };
                let value = patch.value.as_ref()?;
                changes.push(self.insert(list, at, value, pool)?);
            }
            PatchOp::Remove => {
                let Node::List(items) = self.tree.find_mut(list)? else {
                    return None;
                };
                let at = match &patch.value {
                    // A set's removal names its element by value.
                    Some(value) => items.iter().position(|(_, n)| n.to_value() == *value)?,
                    None => list_index(segment, len)?,
                };
                let (id, node) = items.remove(at);
                changes.push(remove(pool, list, id, node));
            }
            PatchOp::Replace => {
                let at = list_index(segment, len)?;
                let value = patch.value.as_ref()?;
                let Node::List(items) = self.find(list)? else {
                    return None;
                };
                let (id, old) = items[at].clone();
                if let (Node::List(old), Value::Array(new)) = (&old, value) {
                    if let Some(changes) = self.rewrite_list(&child(list, id), old, new, pool) {
                        return Some(changes);
                    }
                }
                // Another element in its place.
                let Node::List(items) = self.tree.find_mut(list)? else {
                    return None;
                };
                let (id, node) = items.remove(at);
                changes.push(remove(pool, list, id, node));
                changes.push(self.insert(list, at, value, pool)?);
            }
            PatchOp::Move | PatchOp::Copy | PatchOp::Test => {}
        }
        Some(changes)
    }

    /// Inserts `value` at `at` of the list at `list`: the element this entry removed with
    /// that value (a move), or a new one.
    fn insert(
        &mut self,
        list: &[Step],
        at: usize,
        value: &Value,
        pool: &mut Vec<Pooled>,
    ) -> Option<Change> {
        let Node::List(items) = self.find(list)? else {
            return None;
        };
        let followers: Vec<u64> = items[at..].iter().map(|(id, _)| *id).collect();
        let moved = pool
            .iter()
            .position(|p| p.list.as_slice() == list && p.value == *value);
        let (id, node, change) = if let Some(p) = moved {
            let Pooled { id, node, .. } = pool.remove(p);
            (
                id,
                node,
                Change::Move {
                    list: list.to_vec(),
                    id,
                    followers,
                },
            )
        } else {
            let id = self.fresh();
            let node = self.node(value);
            (
                id,
                node.clone(),
                Change::Insert {
                    list: list.to_vec(),
                    id,
                    node,
                    followers,
                },
            )
        };
        let Some(Node::List(items)) = self.tree.find_mut(list) else {
            return None;
        };
        items.insert(at, (id, node));
        Some(change)
    }

    /// A whole write of the list at `at` (held as `old`) with `new`, as removals, a reorder
    /// and inserts, when it keeps at least one element's value; `None` when it keeps none
    /// (then it is one write of the whole list).
    fn rewrite_list(
        &mut self,
        at: &[Step],
        old: &[(u64, Node)],
        new: &[Value],
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let old_values: Vec<Value> = old.iter().map(|(_, n)| n.to_value()).collect();
        let mut used = vec![false; old.len()];
        let kept: Vec<Option<usize>> = new
            .iter()
            .map(|value| {
                let found = (0..old.len()).find(|&i| !used[i] && old_values[i] == *value)?;
                used[found] = true;
                Some(found)
            })
            .collect();
        if kept.iter().all(Option::is_none) {
            return None;
        }
        let mut changes = Vec::new();
        for (i, (id, node)) in old.iter().enumerate() {
            if !used[i] {
                changes.push(remove(pool, at, *id, node.clone()));
            }
        }
        let items: Vec<(u64, Node)> = kept
            .iter()
            .zip(new)
            .map(|(k, value)| match k {
                Some(i) => old[*i].clone(),
                None => (self.fresh(), self.node(value)),
            })
            .collect();
        changes.push(Change::Reorder {
            list: at.to_vec(),
            order: kept.iter().flatten().map(|&i| old[i].0).collect(),
        });
        for (n, (k, (id, node))) in kept.iter().zip(&items).enumerate() {
            if k.is_none() {
                changes.push(Change::Insert {
                    list: at.to_vec(),
                    id: *id,
                    node: node.clone(),
                    followers: items[n + 1..].iter().map(|(id, _)| *id).collect(),
                });
            }
        }
        *self.tree.find_mut(at)? = Node::List(items);
        Some(changes)
    }

    /// A run of element writes in one list (see [`element_run`]): the elements whose values
    /// it exchanges keep their identities, as by a reorder of those places; the others are
    /// removed and other elements inserted in their places.
    fn read_run(
        &mut self,
        run: &[Patch],
        first: usize,
        pool: &mut Vec<Pooled>,
        out: &mut Vec<Recorded>,
    ) -> Option<()> {
        let segments = run[0].path.segments();
        let list = self.steps(&segments[..segments.len() - 1])?;
        let Some(Node::List(items)) = self.tree.find_mut(&list) else {
            return None;
        };
        let places: Vec<usize> = run
            .iter()
            .map(|p| p.path.last().and_then(PathSegment::as_index))
            .collect::<Option<_>>()?;
        if places.iter().any(|&p| p >= items.len()) {
            return None;
        }
        // The last write of each place stands.
        let mut writes: BTreeMap<usize, &Value> = BTreeMap::new();
        for (patch, &place) in run.iter().zip(&places) {
            writes.insert(place, patch.value.as_ref()?);
        }
        let old: Vec<(u64, Node, Value)> = writes
            .keys()
            .map(|&p| (items[p].0, items[p].1.clone(), items[p].1.to_value()))
            .collect();
        let mut used = vec![false; old.len()];
        let kept: Vec<Option<usize>> = writes
            .values()
            .map(|value| {
                let found = (0..old.len()).find(|&i| !used[i] && old[i].2 == **value)?;
                used[found] = true;
                Some(found)
            })
            .collect();
        for (i, (id, node, value)) in old.iter().enumerate() {
            if !used[i] {
                let _ = value;
                let change = remove(pool, &list, *id, node.clone());
                record(out, change, first, &run[0].path);
            }
        }
        let mut fresh = Vec::new();
        for ((&place, value), k) in writes.iter().zip(&kept) {
            let element = if let Some(i) = k {
                (old[*i].0, old[*i].1.clone())
            } else {
                let id = self.fresh();
                fresh.push((place, id));
                (id, self.node(value))
            };
            let Some(Node::List(items)) = self.tree.find_mut(&list) else {
                return None;
            };
            items[place] = element;
        }
        let reorder = Change::Reorder {
            list: list.clone(),
            order: kept.iter().flatten().map(|&i| old[i].0).collect(),
        };
        record(out, reorder, first, &run[0].path);
        let Some(Node::List(items)) = self.tree.find_mut(&list) else {
            return None;
        };
        for (place, id) in fresh {
            let insert = Change::Insert {
                list: list.clone(),
                id,
                node: items[place].1.clone(),
                followers: items[place + 1..].iter().map(|(id, _)| *id).collect(),
            };
            record(out, insert, first, &run[0].path);
        }
        Some(())
    }

    fn find(&self, steps: &[Step]) -> Option<&Node> {
        let mut node = &self.tree;
        for step in steps {
            node = match (node, step) {
                (Node::Object(fields), Step::Key(key)) => fields.get(key)?,
                (Node::List(items), Step::Id(id)) => &items.iter().find(|(i, _)| i == id)?.1,
                _ => return None,
            };
        }
        Some(node)
    }
}

/// How many patches from the first form a run of element writes in one list: `replace`s of
/// list elements (not the list's end) with the same parent path. 0 or 1 when there is no run.
fn element_run(patches: &[Patch]) -> usize {
    let is_element_write = |p: &Patch| {
        p.op == PatchOp::Replace
            && matches!(p.path.last(), Some(PathSegment::Index(_)))
            && !matches!(p.value, Some(Value::Array(_)))
    };
    let Some(first) = patches.first().filter(|p| is_element_write(p)) else {
        return 0;
    };
    let parent = &first.path.segments()[..first.path.len() - 1];
    patches
        .iter()
        .take_while(|p| is_element_write(p) && &p.path.segments()[..p.path.len() - 1] == parent)
        .count()
}

/// An element an entry removed, which an insert of the same value into the same list later in
/// the entry moves rather than makes anew.
struct Pooled {
    list: Vec<Step>,
    id: u64,
    node: Node,
    value: Value,
}

/// The removal of an element, pooled for a move.
fn remove(pool: &mut Vec<Pooled>, list: &[Step], id: u64, node: Node) -> Change {
    let value = node.to_value();
    pool.push(Pooled {
        list: list.to_vec(),
        id,
        node,
        value,
    });
    Change::Remove {
        list: list.to_vec(),
        id,
    }
}

fn record(out: &mut Vec<Recorded>, change: Change, index: usize, path: &Path) {
    if let Change::Move { id, .. } = &change {
        // The removal it comes with was no removal: the element moved.
        out.retain(|r| !matches!(&r.change, Change::Remove { id: removed, .. } if removed == id));
    }
    out.push(Recorded {
        change,
        patch: index,
        path: path.clone(),
    });
}

fn list_index(segment: &PathSegment, len: usize) -> Option<usize> {
    segment.as_index().filter(|&i| i < len)
}

fn child_key(parent: &[Step], key: &str) -> Vec<Step> {
    let mut at = parent.to_vec();
    at.push(Step::Key(key.to_owned()));
    at
}

/// Why skipping an entry failed.
pub(super) enum Refusal {
    /// An entry did not apply as recorded: which one (0 for the skipped one, counting on),
    /// and the patch.
    Unreadable(usize, Unreadable),
    /// A later entry (its number after the skipped one, from 0) took away what the skipped
    /// entry changed.
    Conflict(usize, Conflict),
}

/// The state without the first of `entries` (each entry's patches, in order; the first
/// applying to `base`), as JSON.
pub(super) fn skip<'a>(
    base: &Value,
    entries: impl IntoIterator<Item = &'a [Patch]>,
) -> Result<Value, Refusal> {
    let mut reader = Reader {
        tree: Node::Leaf(Value::Null),
        next: 0,
    };
    reader.tree = reader.node(base);
    let mut skipped = reader.tree.clone();
    let mut entries = entries.into_iter();
    let Some(first) = entries.next() else {
        return Ok(base.clone());
    };
    let own = reader
        .read(first)
        .map_err(|error| Refusal::Unreadable(0, error))?;
    let made: Vec<(Vec<Step>, &Recorded)> = own
        .iter()
        .filter_map(|r| r.change.made().map(|at| (at, r)))
        .collect();
    for (n, patches) in entries.enumerate() {
        let changes = reader
            .read(patches)
            .map_err(|error| Refusal::Unreadable(n + 1, error))?;
        for recorded in &changes {
            if let Some((at, strict)) = recorded.change.takes() {
                let hit = made
                    .iter()
                    .find(|(m, _)| m.starts_with(&at) && (!strict || m.len() > at.len()));
                if let Some((_, mine)) = hit {
                    return Err(Refusal::Conflict(
                        n,
                        Conflict {
                            index: mine.patch,
                            path: mine.path.clone(),
                            by: recorded.path.clone(),
                        },
                    ));
                }
            }
            replay(&mut skipped, &recorded.change);
        }
    }
    Ok(skipped.to_value())
}

/// Makes `change` to `tree`, where what it names is there.
fn replay(tree: &mut Node, change: &Change) {
    match change {
        Change::Write { at, node } => {
            let Some((Step::Key(key), parent)) = at.split_last() else {
                if at.is_empty() {
                    *tree = node.clone();
                }
                return;
            };
            if let Some(Node::Object(fields)) = tree.find_mut(parent) {
                fields.insert(key.clone(), node.clone());
            }
        }
        Change::Unset { at } => {
            if let Some((Step::Key(key), parent)) = at.split_last() {
                if let Some(Node::Object(fields)) = tree.find_mut(parent) {
                    fields.remove(key);
                }
            }
        }
        Change::Remove { list, id } => {
            if let Some(Node::List(items)) = tree.find_mut(list) {
                items.retain(|(i, _)| i != id);
            }
        }
        Change::Insert {
            list,
            id,
            node,
            followers,
        } => {
            if let Some(Node::List(items)) = tree.find_mut(list) {
                let at = place(items, followers, *id);
                items.insert(at, (*id, node.clone()));
            }
        }
        Change::Move {
            list,
            id,
            followers,
        } => {
            if let Some(Node::List(items)) = tree.find_mut(list) {
                if let Some(from) = items.iter().position(|(i, _)| i == id) {
                    let element = items.remove(from);
                    let at = place(items, followers, *id);
                    items.insert(at, element);
                }
            }
        }
        Change::Reorder { list, order } => {
            if let Some(Node::List(items)) = tree.find_mut(list) {
                let places: Vec<usize> = (0..items.len())
                    .filter(|&p| order.contains(&items[p].0))
                    .collect();
                let mut elements: Vec<(u64, Node)> =
                    places.iter().map(|&p| items[p].clone()).collect();
                elements.sort_by_key(|(id, _)| order.iter().position(|o| o == id));
                for (place, element) in places.into_iter().zip(elements) {
                    items[place] = element;
                }
            }
        }
    }
}

/// Where an element goes: before the first of `followers` (other than itself) that is in
/// `items`, or at the end.
fn place(items: &[(u64, Node)], followers: &[u64], own: u64) -> usize {
    followers
        .iter()
        .filter(|f| **f != own)
        .find_map(|f| items.iter().position(|(i, _)| i == f))
        .unwrap_or(items.len())
}
