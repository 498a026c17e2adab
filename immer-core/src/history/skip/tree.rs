//! The trees of a skip: values over the base state, read from it only where the entries go.
//!
//! A tree starts as the base state unread ([`Node::Base`]). An object opens to its members
//! read one by one; a list to one run of the base list's elements, whose identities are their
//! base positions, split where an element is read, removed or placed. So a tick of one todo
//! in a list of 100,000 reads the list's length and that todo, and the list is three pieces.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::{Base, Step};
use crate::outline::Outline;
use crate::path::PathSegment;

/// The identity of a list element: its position in the base state's list, or a number given
/// to an element written later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Id {
    Base(usize),
    New(u64),
}

/// A value of one of the trees.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// The base state's value at this node's base path, not read.
    Base,
    /// A scalar (read from the base state, or written).
    Leaf(Value),
    Object(Box<Object>),
    List(Box<List>),
}

/// An object, its members read one by one.
#[derive(Clone, Debug)]
pub(super) struct Object {
    /// Its path in the base state, where the members not in `members` are; `None` for an
    /// object written later, whose members are all in `members`.
    pub(super) base: Option<Vec<PathSegment>>,
    /// The members read or written; `None` for one that is not there.
    pub(super) members: Members,
}

/// The members of an object that a tree read or wrote, by key: a few in a sorted list (an
/// object on a path holds one or two), more in a map.
#[derive(Clone, Debug, Default)]
pub(super) struct Members(Held);

#[derive(Clone, Debug)]
enum Held {
    Few(Vec<(String, Option<Node>)>),
    Many(BTreeMap<String, Option<Node>>),
}

impl Default for Held {
    fn default() -> Self {
        Held::Few(Vec::new())
    }
}

/// The most members kept in a list.
const FEW: usize = 16;

impl Members {
    pub(super) fn get(&self, key: &str) -> Option<&Option<Node>> {
        match &self.0 {
            Held::Few(few) => few
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| &few[i].1),
            Held::Many(many) => many.get(key),
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Option<Node>> {
        match &mut self.0 {
            Held::Few(few) => few
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| &mut few[i].1),
            Held::Many(many) => many.get_mut(key),
        }
    }

    pub(super) fn insert(&mut self, key: String, member: Option<Node>) {
        match &mut self.0 {
            Held::Few(few) => match few.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => few[i].1 = member,
                Err(i) if few.len() < FEW => {
                    few.reserve_exact(1);
                    few.insert(i, (key, member));
                }
                Err(_) => {
                    let mut many: BTreeMap<String, Option<Node>> = few.drain(..).collect();
                    many.insert(key, member);
                    self.0 = Held::Many(many);
                }
            },
            Held::Many(many) => {
                many.insert(key, member);
            }
        }
    }

    /// The members in the order of their keys.
    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = (&String, &Option<Node>)> + '_> {
        match &self.0 {
            Held::Few(few) => Box::new(few.iter().map(|(k, m)| (k, m))),
            Held::Many(many) => Box::new(many.iter()),
        }
    }
}

/// A list: runs of the base list's elements, and elements read or written.
#[derive(Clone, Debug)]
pub(super) struct List {
    /// Its path in the base state, whose elements the runs and the `Id::Base` elements are;
    /// `None` for a list written later.
    pub(super) base: Option<Vec<PathSegment>>,
    pub(super) items: Vec<Item>,
    /// How many elements the items hold.
    len: usize,
}

#[derive(Clone, Debug)]
pub(super) enum Item {
    /// The base list's elements `start..end`, not read: identities `Id::Base(start..end)`.
    Run(usize, usize),
    /// One element (boxed, so that a walk along the items reads little).
    One(Id, Box<Node>),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Run(start, end) => end - start,
            Item::One(..) => 1,
        }
    }
}

/// `base` with `segment` added, for a node read from the base state.
pub(super) fn child_base(
    base: Option<&[PathSegment]>,
    segment: PathSegment,
) -> Option<Vec<PathSegment>> {
    base.map(|b| {
        let mut path = b.to_vec();
        path.push(segment);
        path
    })
}

pub(super) fn key_segment(key: &str) -> PathSegment {
    PathSegment::Key(key.to_owned())
}

impl Node {
    /// The node the base state's value at `base` opens to: an object or a list not read yet,
    /// or a scalar.
    fn open(base: &[PathSegment], outline: Outline) -> Node {
        match outline {
            Outline::Object => Node::Object(Box::new(Object {
                base: Some(base.to_vec()),
                members: Members::default(),
            })),
            Outline::Array(len) => Node::List(Box::new(List {
                base: Some(base.to_vec()),
                items: if len == 0 {
                    Vec::new()
                } else {
                    vec![Item::Run(0, len)]
                },
                len,
            })),
            Outline::Scalar(value) => Node::Leaf(value),
        }
    }

    /// Reads the node if it is not read yet (its base path `base`).
    pub(super) fn read(&mut self, base: Option<&[PathSegment]>, state: &dyn Base) -> Option<()> {
        if let Node::Base = self {
            let base = base?;
            *self = Node::open(base, state.outline(base)?);
        }
        Some(())
    }

    /// The node's value as JSON, the base state's parts read (its base path `base`).
    pub(super) fn value(&self, base: Option<&[PathSegment]>, state: &dyn Base) -> Option<Value> {
        match self {
            Node::Base => state.value(base?),
            Node::Leaf(value) => Some(value.clone()),
            Node::Object(object) => {
                let mut fields = match &object.base {
                    Some(path) => match state.value(path)? {
                        Value::Object(fields) => fields,
                        _ => return None,
                    },
                    None => Map::new(),
                };
                for (key, member) in object.members.iter() {
                    match member {
                        Some(node) => {
                            let base = child_base(object.base.as_deref(), key_segment(key));
                            fields.insert(key.clone(), node.value(base.as_deref(), state)?);
                        }
                        None => {
                            fields.remove(key);
                        }
                    }
                }
                Some(Value::Object(fields))
            }
            Node::List(list) => {
                let mut values = Vec::with_capacity(list.len);
                for item in &list.items {
                    match item {
                        Item::Run(start, end) => {
                            for k in *start..*end {
                                let base = child_base(list.base.as_deref(), PathSegment::Index(k));
                                values.push(state.value(base.as_deref()?)?);
                            }
                        }
                        Item::One(id, node) => {
                            let base = list.element_base(*id);
                            values.push(node.value(base.as_deref(), state)?);
                        }
                    }
                }
                Some(Value::Array(values))
            }
        }
    }

    /// A node for a written value (its lists' elements numbered by `next`).
    pub(super) fn written(value: &Value, next: &mut u64) -> Node {
        match value {
            Value::Array(items) => Node::List(Box::new(List {
                base: None,
                items: items
                    .iter()
                    .map(|v| {
                        *next += 1;
                        let id = Id::New(*next);
                        Item::One(id, Box::new(Node::written(v, next)))
                    })
                    .collect(),
                len: items.len(),
            })),
            Value::Object(fields) => {
                let mut members = Members::default();
                for (key, value) in fields {
                    members.insert(key.clone(), Some(Node::written(value, next)));
                }
                Node::Object(Box::new(Object {
                    base: None,
                    members,
                }))
            }
            leaf => Node::Leaf(leaf.clone()),
        }
    }
}

impl Object {
    /// The member `key`, read from the base state the first time; `None` when it is not there.
    pub(super) fn member(&mut self, key: &str, state: &dyn Base) -> Option<&mut Node> {
        if self.members.get(key).is_none() {
            let read = self.base.as_ref().and_then(|base| {
                let mut path = base.clone();
                path.push(key_segment(key));
                let outline = state.outline(&path)?;
                Some(Node::open(&path, outline))
            });
            self.members.insert(key.to_owned(), read);
        }
        self.members.get_mut(key)?.as_mut()
    }
}

impl List {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The base path of the element `id`.
    pub(super) fn element_base(&self, id: Id) -> Option<Vec<PathSegment>> {
        match id {
            Id::Base(k) => child_base(self.base.as_deref(), PathSegment::Index(k)),
            Id::New(_) => None,
        }
    }

    /// The identity of the element at `index`.
    pub(super) fn id_at(&self, index: usize) -> Option<Id> {
        let mut offset = 0;
        for item in &self.items {
            let len = item.len();
            if index < offset + len {
                return Some(match item {
                    Item::Run(start, _) => Id::Base(start + index - offset),
                    Item::One(id, _) => *id,
                });
            }
            offset += len;
        }
        None
    }

    /// Where the element `id` is.
    pub(super) fn position(&self, id: Id) -> Option<usize> {
        let mut offset = 0;
        for item in &self.items {
            match (item, id) {
                (Item::Run(start, end), Id::Base(k)) if (*start..*end).contains(&k) => {
                    return Some(offset + k - start);
                }
                (Item::One(own, _), _) if *own == id => return Some(offset),
                _ => {}
            }
            offset += item.len();
        }
        None
    }

    /// Makes the element at `index` an item of its own (split out of its run); its slot in
    /// `items`.
    pub(super) fn split(&mut self, index: usize) -> Option<usize> {
        let mut offset = 0;
        for slot in 0..self.items.len() {
            let len = self.items[slot].len();
            if index < offset + len {
                if let Item::Run(start, end) = self.items[slot] {
                    let k = start + index - offset;
                    let mut pieces = Vec::with_capacity(3);
                    if k > start {
                        pieces.push(Item::Run(start, k));
                    }
                    let at = slot + pieces.len();
                    pieces.push(Item::One(Id::Base(k), Box::new(Node::Base)));
                    if k + 1 < end {
                        pieces.push(Item::Run(k + 1, end));
                    }
                    self.items.splice(slot..=slot, pieces);
                    return Some(at);
                }
                return Some(slot);
            }
            offset += len;
        }
        None
    }

    /// The element at `index`, its identity and its base path.
    pub(super) fn at_mut(
        &mut self,
        index: usize,
    ) -> Option<(Id, Option<Vec<PathSegment>>, &mut Node)> {
        let slot = self.split(index)?;
        let base = self.base.as_deref();
        match &mut self.items[slot] {
            Item::One(id, node) => {
                let path = match id {
                    Id::Base(k) => child_base(base, PathSegment::Index(*k)),
                    Id::New(_) => None,
                };
                Some((*id, path, node))
            }
            Item::Run(..) => None,
        }
    }

    /// The element in `slot` (made by [`split`](List::split)), replaced.
    pub(super) fn set(&mut self, slot: usize, id: Id, node: Node) {
        self.items[slot] = Item::One(id, Box::new(node));
    }

    pub(super) fn remove(&mut self, index: usize) -> Option<(Id, Node)> {
        let slot = self.split(index)?;
        match self.items.remove(slot) {
            Item::One(id, node) => {
                self.len -= 1;
                Some((id, *node))
            }
            Item::Run(..) => None,
        }
    }

    /// Inserts the element before the one at `index` (at the end when `index` is the length).
    pub(super) fn insert(&mut self, index: usize, id: Id, node: Node) {
        let one = Item::One(id, Box::new(node));
        self.len += 1;
        let mut offset = 0;
        for slot in 0..self.items.len() {
            if index == offset {
                self.items.insert(slot, one);
                return;
            }
            let len = self.items[slot].len();
            if index < offset + len {
                if let Item::Run(start, end) = self.items[slot] {
                    let k = start + index - offset;
                    self.items
                        .splice(slot..=slot, [Item::Run(start, k), one, Item::Run(k, end)]);
                }
                return;
            }
            offset += len;
        }
        self.items.push(one);
    }

    /// The elements, their identities and nodes, every one read out of its run.
    pub(super) fn elements(&mut self) -> Vec<(Id, Node)> {
        self.spread();
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::One(id, node) => Some((*id, (**node).clone())),
                Item::Run(..) => None,
            })
            .collect()
    }

    /// The list made of `elements`, in order.
    pub(super) fn replace(&mut self, elements: Vec<(Id, Node)>) {
        self.len = elements.len();
        self.items = elements
            .into_iter()
            .map(|(id, node)| Item::One(id, Box::new(node)))
            .collect();
    }

    /// The identities of the elements from `index` on, in order.
    pub(super) fn followers(&self, index: usize) -> Followers {
        let mut offset = 0;
        let mut list = Vec::new();
        for item in &self.items {
            let len = item.len();
            if offset + len > index {
                let skip = index.saturating_sub(offset);
                list.push(match item {
                    Item::Run(start, end) => Follower::Run(start + skip, *end),
                    Item::One(id, _) => Follower::One(*id),
                });
            }
            offset += len;
        }
        Followers {
            list: list.into(),
            from: 0,
        }
    }

    /// Where the first of `followers` (other than `own`) that is here is; the end when none
    /// is.
    pub(super) fn place(&self, followers: &Followers, own: Id) -> usize {
        for follower in &followers.list[followers.from..] {
            let found = match *follower {
                Follower::One(id) if id != own => self.position(id),
                Follower::One(_) => None,
                Follower::Run(start, end) => self.first_in(start, end, own),
            };
            if let Some(at) = found {
                return at;
            }
        }
        self.len
    }

    /// Where the first of the base elements `start..end` (other than `own`) that is here is.
    fn first_in(&self, start: usize, end: usize, own: Id) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        let mut offset = 0;
        for item in &self.items {
            let found = match item {
                Item::Run(s, e) => {
                    let mut k = start.max(*s);
                    if Id::Base(k) == own {
                        k += 1;
                    }
                    (k < end.min(*e)).then(|| (k, offset + k - s))
                }
                Item::One(Id::Base(k), _) if (start..end).contains(k) && Id::Base(*k) != own => {
                    Some((*k, offset))
                }
                Item::One(..) => None,
            };
            if let Some((k, at)) = found {
                if best.is_none_or(|(b, _)| k < b) {
                    best = Some((k, at));
                }
            }
            offset += item.len();
        }
        best.map(|(_, at)| at)
    }

    /// Every element an item of its own.
    fn spread(&mut self) {
        if self.items.iter().all(|i| matches!(i, Item::One(..))) {
            return;
        }
        let mut items = Vec::with_capacity(self.len);
        for item in self.items.drain(..) {
            match item {
                Item::Run(start, end) => {
                    items
                        .extend((start..end).map(|k| Item::One(Id::Base(k), Box::new(Node::Base))));
                }
                one @ Item::One(..) => items.push(one),
            }
        }
        self.items = items;
    }

    /// The elements of `order` that are here, put in that order into the places they hold.
    pub(super) fn reorder(&mut self, order: &[Id]) {
        if order.len() > 64 {
            self.spread();
        }
        let rank: HashMap<Id, usize> = order.iter().enumerate().map(|(r, id)| (*id, r)).collect();
        let mut places: Vec<usize> = order.iter().filter_map(|id| self.position(*id)).collect();
        places.sort_unstable();
        let slots: Vec<usize> = places.iter().filter_map(|&p| self.split(p)).collect();
        let mut elements: Vec<Item> = slots
            .iter()
            .map(|&s| std::mem::replace(&mut self.items[s], Item::Run(0, 0)))
            .collect();
        elements.sort_by_key(|item| match item {
            Item::One(id, _) => rank.get(id).copied(),
            Item::Run(..) => None,
        });
        for (slot, element) in slots.into_iter().zip(elements) {
            self.items[slot] = element;
        }
    }
}

/// The elements that followed an inserted or moved one, in order: `list[from..]`.
#[derive(Clone, Debug)]
pub(super) struct Followers {
    pub(super) list: Rc<[Follower]>,
    pub(super) from: usize,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Follower {
    /// The base elements `start..end`.
    Run(usize, usize),
    One(Id),
}

/// A tree over the base state.
pub(super) struct Tree<'s> {
    pub(super) root: Node,
    pub(super) state: &'s dyn Base,
}

impl<'s> Tree<'s> {
    /// The base state, unread.
    pub(super) fn new(state: &'s dyn Base) -> Self {
        Tree {
            root: Node::Base,
            state,
        }
    }

    /// The node at `steps` (read), with its base path, if it is there.
    pub(super) fn find(&mut self, steps: &[Step]) -> Option<(&mut Node, Option<Vec<PathSegment>>)> {
        let state = self.state;
        let mut node = &mut self.root;
        let mut base = Some(Vec::new());
        node.read(base.as_deref(), state)?;
        for step in steps {
            (node, base) = match (node, step) {
                (Node::Object(object), Step::Key(key)) => {
                    let path = child_base(object.base.as_deref(), key_segment(key));
                    (object.member(key, state)?, path)
                }
                (Node::List(list), Step::Id(id)) => {
                    let at = list.position(*id)?;
                    let (_, path, node) = list.at_mut(at)?;
                    (node, path)
                }
                _ => return None,
            };
            node.read(base.as_deref(), state)?;
        }
        Some((node, base))
    }

    pub(super) fn find_list(&mut self, steps: &[Step]) -> Option<&mut List> {
        match self.find(steps)? {
            (Node::List(list), _) => Some(&mut **list),
            _ => None,
        }
    }

    pub(super) fn find_object(&mut self, steps: &[Step]) -> Option<&mut Object> {
        match self.find(steps)? {
            (Node::Object(object), _) => Some(&mut **object),
            _ => None,
        }
    }
}
