//! Skipping an entry: every later entry replayed, by the identity of what it edited, on the
//! state without the entry (see [`History::skipped`](crate::History::skipped)).
//!
//! Positions do not say what a later entry meant once the entry is taken out: a todo moved by
//! it, or put back by its revert, shifts every index after it, and a whole-list write (a
//! reverse, a sort) names no element at all. So the states are held as trees whose list
//! elements carry identities: an element keeps its identity through a move (a removal and an
//! insert of the same value in one entry), a whole-list write that keeps its value (a reverse,
//! a sort) and a run of element writes that exchange values (a swap); an element written
//! whole with another value (`set`, or a removal folded into a neighbouring insert) is another
//! element. The later entries are read on the real history as changes to identities, and
//! those changes are made to the state without the entry:
//!
//! - a write of a field or a key writes it, when what holds it is there (the later write
//!   stands);
//! - a removal removes the element or key, when it is there;
//! - an insert goes right before the first of the elements that followed it, in the real
//!   history, that is there; at the end when none is (so what the revert puts back, having been
//!   there first, stays before what was inserted later at its place);
//! - a move takes the element out and inserts it again the same way;
//! - a reorder puts the elements it kept, those that are there, in its order, into the places
//!   they hold; elements it did not see stay where they are.
//!
//! A later entry that removes, or writes whole, what the entry changed (a field it wrote, a
//! key it set, an element it inserted or edited inside) leaves nothing to revert it in: a
//! [`Conflict`]. Writing the same field or key again is no conflict: the later write stands.
//!
//! # What is read of the state
//!
//! Both trees (the real history's, and the state without the entry) start as the state the
//! entry applied to, unread, and read it only where the patches go ([`tree`]): an object
//! member by member, a list as a run of the base list's elements whose identities are their
//! base positions, split where an element is read, removed or placed. So the skip costs what
//! the entries touch, not the size of the state: a tick of one todo in a list of 100,000 reads
//! the list's length and that todo. The skipped state is given as the patches from the real
//! history's tree to the other ([`write`]), which differ only where the skipped entry's
//! changes were: applied to the current snapshot, they make the skipped state, sharing what
//! the entry did not touch.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use serde_json::Value;

use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::transform::Conflict;

mod tree;
mod write;

use tree::{Follower, Followers, Id, Item, List, Node, Tree, child_base, key_segment};
pub(super) use write::patches;

#[cfg(test)]
mod dense;
#[cfg(test)]
mod tests;

/// The state the skipped entry applied to, read where the skip goes.
pub(super) trait Base {
    /// What is at `path`, if anything.
    fn outline(&self, path: &[PathSegment]) -> Option<Outline>;
    /// The value at `path`, if any.
    fn value(&self, path: &[PathSegment]) -> Option<Value>;
}

/// A step of a path by identity: a field or key, or a list element by its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Id(Id),
}

/// What a patch did, by identity.
#[derive(Clone, Debug)]
enum Change {
    /// A field or key written (a `replace`, or an `add` of a key), or the root.
    Write { at: Vec<Step>, node: Node },
    /// A key removed.
    Unset { at: Vec<Step> },
    /// An element removed.
    Remove { list: Vec<Step>, id: Id },
    /// An element inserted before the first of `followers` that is there.
    Insert {
        list: Vec<Step>,
        id: Id,
        node: Node,
        followers: Followers,
    },
    /// An element taken out and inserted again before the first of `followers` there.
    Move {
        list: Vec<Step>,
        id: Id,
        followers: Followers,
    },
    /// The elements of `order` that are there put in this order into the places they hold.
    Reorder { list: Vec<Step>, order: Vec<Id> },
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

fn child(list: &[Step], id: Id) -> Vec<Step> {
    let mut at = list.to_vec();
    at.push(Step::Id(id));
    at
}

fn child_key(parent: &[Step], key: &str) -> Vec<Step> {
    let mut at = parent.to_vec();
    at.push(Step::Key(key.to_owned()));
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

/// An element an entry removed, which an insert of the same value into the same list later in
/// the entry moves rather than makes anew.
struct Pooled {
    list: Vec<Step>,
    id: Id,
    node: Node,
    /// Its base path.
    base: Option<Vec<PathSegment>>,
    /// Its value (if it has one), once asked for.
    value: OnceCell<Option<Value>>,
}

/// The real history, read patch by patch into changes by identity.
struct Reader<'s> {
    tree: Tree<'s>,
    next: u64,
}

impl Reader<'_> {
    fn fresh(&mut self) -> Id {
        self.next += 1;
        Id::New(self.next)
    }

    fn written(&mut self, value: &Value) -> Node {
        Node::written(value, &mut self.next)
    }

    /// The identities of `path` in the tree, every segment there.
    fn steps(&mut self, path: &[PathSegment]) -> Option<Vec<Step>> {
        let state = self.tree.state;
        let mut node = &mut self.tree.root;
        let mut base = Some(Vec::new());
        let mut steps = Vec::with_capacity(path.len());
        for segment in path {
            node.read(base.as_deref(), state)?;
            (node, base) = match node {
                Node::Object(object) => {
                    let key = segment.to_key().into_owned();
                    let path = child_base(object.base.as_deref(), key_segment(&key));
                    let member = object.member(&key, state)?;
                    steps.push(Step::Key(key));
                    (member, path)
                }
                Node::List(list) => {
                    let index = list_index(segment, list.len())?;
                    let (id, path, element) = list.at_mut(index)?;
                    steps.push(Step::Id(id));
                    (element, path)
                }
                Node::Leaf(_) | Node::Base => return None,
            };
        }
        Some(steps)
    }

    /// The value at `steps`.
    fn value(&mut self, steps: &[Step]) -> Option<Value> {
        let state = self.tree.state;
        let (node, base) = self.tree.find(steps)?;
        node.value(base.as_deref(), state)
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
                let steps = self.steps(from.segments())?;
                let value = self.value(&steps)?;
                if patch.op == PatchOp::Move {
                    self.read_patch(&Patch::remove(from.clone()), index, pool, out)?;
                }
                return self.read_patch(&Patch::add(patch.path.clone(), value), index, pool, out);
            }
            _ => {}
        }
        if let Some((last, parent)) = segments.split_last() {
            let steps = self.steps(parent)?;
            let list = match self.tree.find(&steps)?.0 {
                Node::Object(_) => None,
                Node::List(list) => Some(list.len()),
                Node::Leaf(_) | Node::Base => return None,
            };
            changes = match list {
                None => {
                    let key = last.to_key().into_owned();
                    let at = child_key(&steps, &key);
                    self.read_key(patch, &steps, &key, &at, pool)?
                }
                Some(len) => self.read_element(patch, &steps, last, len, pool)?,
            };
        } else {
            // The whole state.
            let value = patch.value.as_ref()?;
            self.tree.root = self.written(value);
            changes.push(Change::Write {
                at: Vec::new(),
                node: self.tree.root.clone(),
            });
        }
        for change in changes {
            record(out, change, index, &patch.path);
        }
        Some(())
    }

    /// A patch of the field or key `key` of the object at `parent` (`at`, with the key).
    fn read_key(
        &mut self,
        patch: &Patch,
        parent: &[Step],
        key: &str,
        at: &[Step],
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let state = self.tree.state;
        if patch.op == PatchOp::Remove {
            let object = self.tree.find_object(parent)?;
            object.member(key, state)?;
            object.members.insert(key.to_owned(), None);
            return Some(vec![Change::Unset { at: at.to_vec() }]);
        }
        let value = patch.value.as_ref()?;
        if let Value::Array(new) = value {
            let object = self.tree.find_object(parent)?;
            if matches!(object.member(key, state), Some(Node::List(_))) {
                if let Some(changes) = self.rewrite_list(at, new, pool) {
                    return Some(changes);
                }
            }
        }
        let node = self.written(value);
        let object = self.tree.find_object(parent)?;
        object.members.insert(key.to_owned(), Some(node.clone()));
        Some(vec![Change::Write {
            at: at.to_vec(),
            node,
        }])
    }

    /// A patch of an element of the list at `list` (of length `len`), at `segment`.
    fn read_element(
        &mut self,
        patch: &Patch,
        list: &[Step],
        segment: &PathSegment,
        len: usize,
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let state = self.tree.state;
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
                let at = match &patch.value {
                    // A set's removal names its element by value.
                    Some(value) => self.position_of_value(list, segment, value)?,
                    None => list_index(segment, len)?,
                };
                let items = self.tree.find_list(list)?;
                let base = items.element_base(items.id_at(at)?);
                let (id, node) = items.remove(at)?;
                changes.push(remove(pool, list, id, node, base));
            }
            PatchOp::Replace => {
                let at = list_index(segment, len)?;
                let value = patch.value.as_ref()?;
                let items = self.tree.find_list(list)?;
                let (id, base, node) = items.at_mut(at)?;
                if let Value::Array(new) = value {
                    node.read(base.as_deref(), state)?;
                    if matches!(node, Node::List(_)) {
                        if let Some(changes) = self.rewrite_list(&child(list, id), new, pool) {
                            return Some(changes);
                        }
                    }
                }
                // Another element in its place.
                let items = self.tree.find_list(list)?;
                let (id, node) = items.remove(at)?;
                changes.push(remove(pool, list, id, node, base));
                changes.push(self.insert(list, at, value, pool)?);
            }
            PatchOp::Move | PatchOp::Copy | PatchOp::Test => {}
        }
        Some(changes)
    }

    /// Where the element of the list at `list` whose value is `value` is: the one at `segment`
    /// when it has it (a set's removal names the element's position too, and a set holds a
    /// value once), else the first.
    fn position_of_value(
        &mut self,
        list: &[Step],
        segment: &PathSegment,
        value: &Value,
    ) -> Option<usize> {
        let state = self.tree.state;
        let items = self.tree.find_list(list)?;
        let len = items.len();
        let at_segment = segment.as_index().filter(|&i| i < len);
        let value_at = |items: &mut List, at: usize| {
            let (_, base, node) = items.at_mut(at)?;
            node.value(base.as_deref(), state)
        };
        if let Some(at) = at_segment {
            if value_at(items, at).as_ref() == Some(value) {
                return Some(at);
            }
        }
        (0..len).find(|&i| value_at(items, i).as_ref() == Some(value))
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
        let state = self.tree.state;
        let followers = self.tree.find_list(list)?.followers(at);
        let moved = pool
            .iter()
            .position(|p| p.list.as_slice() == list && p.value(state) == Some(value));
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
            let node = self.written(value);
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
        self.tree.find_list(list)?.insert(at, id, node);
        Some(change)
    }

    /// A whole write of the list at `at` with `new`, as removals, a reorder and inserts, when
    /// it keeps at least one element's value; `None` when it keeps none (then it is one write
    /// of the whole list).
    fn rewrite_list(
        &mut self,
        at: &[Step],
        new: &[Value],
        pool: &mut Vec<Pooled>,
    ) -> Option<Vec<Change>> {
        let state = self.tree.state;
        let list = self.tree.find_list(at)?;
        let old: Vec<(Id, Node, Option<Vec<PathSegment>>)> = list
            .elements()
            .into_iter()
            .map(|(id, node)| (id, node, list.element_base(id)))
            .collect();
        let old_values: Vec<Value> = old
            .iter()
            .map(|(_, node, base)| node.value(base.as_deref(), state))
            .collect::<Option<_>>()?;
        let kept = keep(&old_values, new.iter());
        if kept.iter().all(Option::is_none) {
            return None;
        }
        let mut used = vec![false; old.len()];
        for &i in kept.iter().flatten() {
            used[i] = true;
        }
        let mut changes = Vec::new();
        for (i, (id, node, base)) in old.iter().enumerate() {
            if !used[i] {
                changes.push(remove(pool, at, *id, node.clone(), base.clone()));
            }
        }
        let items: Vec<(Id, Node)> = kept
            .iter()
            .zip(new)
            .map(|(k, value)| match k {
                Some(i) => (old[*i].0, old[*i].1.clone()),
                None => (self.fresh(), self.written(value)),
            })
            .collect();
        changes.push(Change::Reorder {
            list: at.to_vec(),
            order: kept.iter().flatten().map(|&i| old[i].0).collect(),
        });
        let followers: Rc<[Follower]> = items.iter().map(|(id, _)| Follower::One(*id)).collect();
        for (n, (k, (id, node))) in kept.iter().zip(&items).enumerate() {
            if k.is_none() {
                changes.push(Change::Insert {
                    list: at.to_vec(),
                    id: *id,
                    node: node.clone(),
                    followers: Followers {
                        list: Rc::clone(&followers),
                        from: n + 1,
                    },
                });
            }
        }
        self.tree.find_list(at)?.replace(items);
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
        let state = self.tree.state;
        let segments = run[0].path.segments();
        let list = self.steps(&segments[..segments.len() - 1])?;
        let items = self.tree.find_list(&list)?;
        let places: Vec<usize> = run
            .iter()
            .map(|p| p.path.last().and_then(PathSegment::as_index))
            .collect::<Option<_>>()?;
        let len = items.len();
        if places.iter().any(|&p| p >= len) {
            return None;
        }
        // The last write of each place stands.
        let mut writes: BTreeMap<usize, &Value> = BTreeMap::new();
        for (patch, &place) in run.iter().zip(&places) {
            writes.insert(place, patch.value.as_ref()?);
        }
        let mut old: Vec<(Id, Node, Option<Vec<PathSegment>>)> = Vec::new();
        let mut old_values = Vec::new();
        for &p in writes.keys() {
            let (id, base, node) = items.at_mut(p)?;
            old_values.push(node.value(base.as_deref(), state)?);
            old.push((id, node.clone(), base));
        }
        let kept = keep(&old_values, writes.values().copied());
        let mut used = vec![false; old.len()];
        for &i in kept.iter().flatten() {
            used[i] = true;
        }
        for (i, (id, node, base)) in old.iter().enumerate() {
            if !used[i] {
                let change = remove(pool, &list, *id, node.clone(), base.clone());
                record(out, change, first, &run[0].path);
            }
        }
        let mut fresh = Vec::new();
        for ((&place, value), k) in writes.iter().zip(&kept) {
            let (id, node) = if let Some(i) = k {
                (old[*i].0, old[*i].1.clone())
            } else {
                let id = self.fresh();
                fresh.push((place, id));
                (id, self.written(value))
            };
            let items = self.tree.find_list(&list)?;
            let slot = items.split(place)?;
            items.set(slot, id, node);
        }
        let reorder = Change::Reorder {
            list: list.clone(),
            order: kept.iter().flatten().map(|&i| old[i].0).collect(),
        };
        record(out, reorder, first, &run[0].path);
        let items = self.tree.find_list(&list)?;
        for (place, id) in fresh {
            let slot = items.split(place)?;
            let Item::One(_, node) = &items.items[slot] else {
                return None;
            };
            let insert = Change::Insert {
                list: list.clone(),
                id,
                node: (**node).clone(),
                followers: items.followers(place + 1),
            };
            record(out, insert, first, &run[0].path);
        }
        Some(())
    }
}

/// For each new value, in order, the first old value equal to it that no earlier new value
/// took, if any.
fn keep<'v>(old: &[Value], new: impl Iterator<Item = &'v Value>) -> Vec<Option<usize>> {
    let mut unused: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (i, value) in old.iter().enumerate() {
        unused.entry(canonical(value)).or_default().push_back(i);
    }
    new.map(|value| unused.get_mut(&canonical(value))?.pop_front())
        .collect()
}

/// A text of `value` that two values have exactly when they are equal (object keys in order,
/// whatever order the map keeps them in).
fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(fields) => {
                let mut keys: Vec<&String> = fields.keys().collect();
                keys.sort();
                out.push('{');
                for key in keys {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&fields[key], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    write(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

impl Pooled {
    fn value(&self, state: &dyn Base) -> Option<&Value> {
        self.value
            .get_or_init(|| self.node.value(self.base.as_deref(), state))
            .as_ref()
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

/// The removal of an element, pooled for a move.
fn remove(
    pool: &mut Vec<Pooled>,
    list: &[Step],
    id: Id,
    node: Node,
    base: Option<Vec<PathSegment>>,
) -> Change {
    pool.push(Pooled {
        list: list.to_vec(),
        id,
        node,
        base,
        value: OnceCell::new(),
    });
    Change::Remove {
        list: list.to_vec(),
        id,
    }
}

fn record(out: &mut Vec<Recorded>, change: Change, index: usize, path: &Path) {
    if let Change::Move { list, id, .. } = &change {
        // The removal it comes with was no removal: the element moved.
        out.retain(|r| {
            !matches!(&r.change, Change::Remove { list: from, id: removed } if removed == id && from == list)
        });
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
/// applying to `base`), and the state with it (after the last entry), as trees over `base`:
/// read them with [`patches`] or [`value`].
pub(super) struct Skipped {
    current: Node,
    skipped: Node,
}

pub(super) fn skip<'a>(
    base: &dyn Base,
    entries: impl IntoIterator<Item = &'a [Patch]>,
) -> Result<Skipped, Refusal> {
    let mut reader = Reader {
        tree: Tree::new(base),
        next: 0,
    };
    let mut skipped = Tree::new(base);
    let mut entries = entries.into_iter();
    let Some(first) = entries.next() else {
        return Ok(Skipped {
            current: Node::Base,
            skipped: Node::Base,
        });
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
    Ok(Skipped {
        current: reader.tree.root,
        skipped: skipped.root,
    })
}

/// Makes `change` to `tree`, where what it names is there.
fn replay(tree: &mut Tree<'_>, change: &Change) {
    let state = tree.state;
    match change {
        Change::Write { at, node } => {
            let Some((Step::Key(key), parent)) = at.split_last() else {
                if at.is_empty() {
                    tree.root = node.clone();
                }
                return;
            };
            if let Some(object) = tree.find_object(parent) {
                object.members.insert(key.clone(), Some(node.clone()));
            }
        }
        Change::Unset { at } => {
            if let Some((Step::Key(key), parent)) = at.split_last() {
                if let Some(object) = tree.find_object(parent) {
                    if object.member(key, state).is_some() {
                        object.members.insert(key.clone(), None);
                    }
                }
            }
        }
        Change::Remove { list, id } => {
            if let Some(items) = tree.find_list(list) {
                if let Some(at) = items.position(*id) {
                    items.remove(at);
                }
            }
        }
        Change::Insert {
            list,
            id,
            node,
            followers,
        } => {
            if let Some(items) = tree.find_list(list) {
                let at = items.place(followers, *id);
                items.insert(at, *id, node.clone());
            }
        }
        Change::Move {
            list,
            id,
            followers,
        } => {
            if let Some(items) = tree.find_list(list) {
                if let Some(from) = items.position(*id) {
                    if let Some((id, node)) = items.remove(from) {
                        let at = items.place(followers, id);
                        items.insert(at, id, node);
                    }
                }
            }
        }
        Change::Reorder { list, order } => {
            if let Some(items) = tree.find_list(list) {
                items.reorder(order);
            }
        }
    }
}

/// The skipped state as JSON: the whole of it read.
pub(super) fn value(skipped: &Skipped, base: &dyn Base) -> Option<Value> {
    skipped.skipped.value(Some(&[]), base)
}
