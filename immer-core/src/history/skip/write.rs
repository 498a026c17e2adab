//! The skipped state as patches from the current state: the two trees of a skip share the
//! base state, and differ where the skipped entry's changes were, so the patches walk only
//! what either tree read. Applied to the current snapshot, they give the skipped state
//! sharing every part the skipped entry did not touch.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::tree::{Id, Item, List, Node, Object, child_base, key_segment};
use super::{Base, Skipped};
use crate::patch::Patch;
use crate::path::{Path, PathSegment};

/// The patches that turn the current state into the skipped one. With `replace`, an element
/// removed where another is inserted is one `replace` (as a tuple or a fixed-length array
/// takes it); without, a `remove` and an `add` (as a set takes it). `None` when the base state
/// cannot be read where they go.
pub(in crate::history) fn patches(
    skipped: &Skipped,
    base: &dyn Base,
    replace: bool,
) -> Option<Vec<Patch>> {
    let mut writer = Writer {
        state: base,
        replace,
        out: Vec::new(),
        at: Vec::new(),
    };
    let root: &[PathSegment] = &[];
    writer.node(&skipped.current, Some(root), &skipped.skipped, Some(root))?;
    Some(writer.out)
}

/// Writes the patches from one tree to another over the same base state.
struct Writer<'s> {
    state: &'s dyn Base,
    replace: bool,
    out: Vec<Patch>,
    /// Where the walk is, in the state the patches so far have made.
    at: Vec<PathSegment>,
}

/// A member of an object, or an element of a list, as one of the trees has it.
type Part<'n> = (Cow<'n, Node>, Option<Vec<PathSegment>>);

impl Writer<'_> {
    fn here(&self) -> Path {
        Path::from(self.at.clone())
    }

    fn path(&self, last: PathSegment) -> Path {
        let mut path = self.at.clone();
        path.push(last);
        Path::from(path)
    }

    /// The node, read if it was not (`base` its base path).
    fn read<'n>(&self, node: &'n Node, base: Option<&[PathSegment]>) -> Option<Cow<'n, Node>> {
        if let Node::Base = node {
            let mut read = Node::Base;
            read.read(base, self.state)?;
            Some(Cow::Owned(read))
        } else {
            Some(Cow::Borrowed(node))
        }
    }

    /// The patches from `from` to `to`, two values at the same place (their base paths
    /// `from_base` and `to_base`).
    fn node(
        &mut self,
        from: &Node,
        from_base: Option<&[PathSegment]>,
        to: &Node,
        to_base: Option<&[PathSegment]>,
    ) -> Option<()> {
        if let (Node::Base, Node::Base) = (from, to) {
            if from_base == to_base {
                return Some(());
            }
        }
        let from = self.read(from, from_base)?;
        let to = self.read(to, to_base)?;
        match (&*from, &*to) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                if a != b {
                    self.out.push(Patch::replace(self.here(), b.clone()));
                }
            }
            // Members that neither read are the base state's in both: only those read differ.
            (Node::Object(a), Node::Object(b)) if a.base == b.base => self.object(a, b)?,
            (Node::List(a), Node::List(b)) => self.list(a, b)?,
            (_, to) => {
                let value = to.value(to_base, self.state)?;
                self.out.push(Patch::replace(self.here(), value));
            }
        }
        Some(())
    }

    /// The member `key` of `object`, if it is there.
    fn member<'n>(&self, object: &'n Object, key: &str) -> Option<Part<'n>> {
        let base = child_base(object.base.as_deref(), key_segment(key));
        match object.members.get(key) {
            Some(Some(node)) => Some((Cow::Borrowed(node), base)),
            Some(None) => None,
            None => {
                // Not read: the base state's, if it has it.
                self.state.outline(base.as_deref()?)?;
                Some((Cow::Owned(Node::Base), base))
            }
        }
    }

    fn object(&mut self, from: &Object, to: &Object) -> Option<()> {
        let mut keys: Vec<&String> = from
            .members
            .iter()
            .chain(to.members.iter())
            .map(|(k, _)| k)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            match (self.member(from, key), self.member(to, key)) {
                (None, None) => {}
                (Some(_), None) => self.out.push(Patch::remove(self.path(key_segment(key)))),
                (None, Some((node, base))) => {
                    let value = node.value(base.as_deref(), self.state)?;
                    self.out
                        .push(Patch::add(self.path(key_segment(key)), value));
                }
                (Some((a, a_base)), Some((b, b_base))) => {
                    self.at.push(key_segment(key));
                    self.node(&a, a_base.as_deref(), &b, b_base.as_deref())?;
                    self.at.pop();
                }
            }
        }
        Some(())
    }

    /// The elements `to` keeps in the order `from` has them (as many as can be), the others
    /// of `from` removed and those of `to` inserted, and the patches inside the elements both
    /// have.
    fn list(&mut self, from: &List, to: &List) -> Option<()> {
        let cuts = cuts(from, to);
        let old = pieces(from, &cuts);
        let new = pieces(to, &cuts);
        let place: HashMap<Id, usize> = old.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        let matched: Vec<Option<usize>> = new.iter().map(|p| place.get(&p.id).copied()).collect();
        let kept = kept(&new, &matched);
        let mut position = 0;
        let (mut next_old, mut next_new) = (0, 0);
        for anchor in kept.iter().copied().map(Some).chain([None]) {
            let (old_end, new_end) = match anchor {
                Some(n) => (matched[n]?, n),
                None => (old.len(), new.len()),
            };
            let removed: usize = old[next_old..old_end].iter().map(|p| p.len).sum();
            let mut values = Vec::new();
            for piece in &new[next_new..new_end] {
                piece.values(to, self.state, &mut values)?;
            }
            let paired = if self.replace {
                removed.min(values.len())
            } else {
                0
            };
            let mut values = values.into_iter();
            for value in values.by_ref().take(paired) {
                self.out.push(Patch::replace(
                    self.path(PathSegment::Index(position)),
                    value,
                ));
                position += 1;
            }
            for _ in paired..removed {
                self.out
                    .push(Patch::remove(self.path(PathSegment::Index(position))));
            }
            for value in values {
                self.out
                    .push(Patch::add(self.path(PathSegment::Index(position)), value));
                position += 1;
            }
            let Some(n) = anchor else {
                break;
            };
            let (a, b) = (&old[old_end], &new[n]);
            match (a.node, b.node) {
                (None, None) => position += a.len,
                (a_node, b_node) => {
                    self.at.push(PathSegment::Index(position));
                    self.node(
                        a_node.unwrap_or(&Node::Base),
                        from.element_base(a.id).as_deref(),
                        b_node.unwrap_or(&Node::Base),
                        to.element_base(b.id).as_deref(),
                    )?;
                    self.at.pop();
                    position += 1;
                }
            }
            next_old = old_end + 1;
            next_new = n + 1;
        }
        Some(())
    }
}

/// A piece of a list cut where either of two lists has an element of its own: a run of base
/// elements neither list read (`node` `None`), or one element.
struct Piece<'n> {
    /// The first element's identity.
    id: Id,
    len: usize,
    node: Option<&'n Node>,
}

impl Piece<'_> {
    /// The values of the piece's elements, in `list`.
    fn values(&self, list: &List, state: &dyn Base, out: &mut Vec<Value>) -> Option<()> {
        match (self.node, self.id) {
            (Some(node), id) => out.push(node.value(list.element_base(id).as_deref(), state)?),
            (None, Id::Base(start)) => {
                for k in start..start + self.len {
                    out.push(state.value(list.element_base(Id::Base(k))?.as_slice())?);
                }
            }
            (None, Id::New(_)) => return None,
        }
        Some(())
    }
}

/// The base positions where a piece of either list starts or ends.
fn cuts(a: &List, b: &List) -> Vec<usize> {
    let mut cuts = Vec::new();
    for item in a.items.iter().chain(&b.items) {
        match item {
            Item::Run(start, end) => cuts.extend([*start, *end]),
            Item::One(Id::Base(k), _) => cuts.extend([*k, k + 1]),
            Item::One(Id::New(_), _) => {}
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// The list's items cut at `cuts`.
fn pieces<'n>(list: &'n List, cuts: &[usize]) -> Vec<Piece<'n>> {
    let mut out = Vec::with_capacity(list.items.len());
    for item in &list.items {
        match item {
            Item::Run(start, end) => {
                let mut from = *start;
                let inner = cuts.partition_point(|&c| c <= *start);
                for &cut in cuts[inner..].iter().take_while(|&&c| c < *end) {
                    out.push(Piece {
                        id: Id::Base(from),
                        len: cut - from,
                        node: None,
                    });
                    from = cut;
                }
                out.push(Piece {
                    id: Id::Base(from),
                    len: end - from,
                    node: None,
                });
            }
            Item::One(id, node) => out.push(Piece {
                id: *id,
                len: 1,
                node: Some(node),
            }),
        }
    }
    out
}

/// The pieces of the new list, by index, that keep their place: those in the old list too
/// (`matched`: their index there), in increasing order there, as many elements as can be.
fn kept(new: &[Piece<'_>], matched: &[Option<usize>]) -> Vec<usize> {
    // best[n]: the most elements of a chain ending with piece n, and the piece before it;
    // found with a Fenwick tree of maxima over the old indices.
    let size = matched.iter().flatten().max().map_or(0, |m| m + 1);
    let mut tree = vec![(0_usize, usize::MAX); size + 1];
    let mut best: Vec<(usize, usize)> = vec![(0, usize::MAX); new.len()];
    for (n, piece) in new.iter().enumerate() {
        let Some(at) = matched[n] else {
            continue;
        };
        // The chains ending before `at` in the old list.
        let mut found = (0, usize::MAX);
        let mut i = at;
        while i > 0 {
            if tree[i].0 > found.0 {
                found = tree[i];
            }
            i &= i - 1;
        }
        let total = found.0 + piece.len;
        best[n] = (total, found.1);
        let mut i = at + 1;
        while i < tree.len() {
            if total > tree[i].0 {
                tree[i] = (total, n);
            }
            i += i & i.wrapping_neg();
        }
    }
    let mut last = (0..new.len())
        .filter(|&n| matched[n].is_some())
        .max_by_key(|&n| (best[n].0, std::cmp::Reverse(n)));
    let mut chain = Vec::new();
    while let Some(n) = last {
        chain.push(n);
        last = Some(best[n].1).filter(|&p| p != usize::MAX);
    }
    chain.reverse();
    chain
}
