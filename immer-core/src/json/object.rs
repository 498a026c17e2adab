//! [`JsonObject`]: up to [`SMALL`] members in one shared allocation, sorted by key; more on
//! `imbl::OrdMap`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use imbl::OrdMap;

use super::Json;

/// The most members an object keeps in its small form: a sorted slice that a lookup
/// bisects and a write copies whole (at most 32 pairs of reference counts, about what an
/// `imbl::OrdMap` copies for a leaf of 16 and its branch), and that allocates exactly its
/// members where the map would allocate a leaf of 16 slots.
pub(crate) const SMALL: usize = 32;

/// One member of an object: its key and value.
type Member = (Arc<str>, Json);

/// The large form of an object.
type Large = OrdMap<Arc<str>, Json>;

/// A JSON object: persistent, cloned in O(1), copied on write along the path to an edit
/// only, its members sorted by key (as `serde_json::Value` keeps them).
///
/// Up to 32 members it is one shared allocation of exactly its members; past that, an
/// `imbl::OrdMap` (see the [module docs](super) for the costs).
///
/// # Examples
///
/// ```
/// use immer_core::{Json, JsonObject};
///
/// let mut todo = JsonObject::new();
/// todo.insert("title", "write");
/// todo.insert("done", false);
/// let before = todo.clone(); // O(1)
/// todo.insert("done", true);
/// assert_eq!(before.get("done"), Some(&Json::Bool(false)));
/// assert_eq!(todo.get("done"), Some(&Json::Bool(true)));
/// assert_eq!(todo.keys().collect::<Vec<_>>(), ["done", "title"]);
/// ```
#[derive(Clone)]
pub struct JsonObject(Repr);

#[derive(Clone)]
enum Repr {
    Small(Arc<[Member]>),
    Large(Arc<Large>),
}

impl JsonObject {
    /// An empty object.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::JsonObject::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        JsonObject(Repr::Small(Arc::new([])))
    }

    /// The object of `members`, in any order; of two members with one key, the later stays
    /// (as `serde_json` reads a document that repeats a key).
    pub(crate) fn from_members(mut members: Vec<Member>) -> Self {
        // A stable sort keeps repeated keys in their order: the last of each run wins.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<Member> = Vec::with_capacity(members.len());
        for member in members {
            match unique.last_mut() {
                Some(last) if last.0 == member.0 => *last = member,
                _ => unique.push(member),
            }
        }
        if unique.len() <= SMALL {
            JsonObject(Repr::Small(unique.into()))
        } else {
            JsonObject(Repr::Large(Arc::new(unique.into_iter().collect())))
        }
    }

    /// The number of members. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let object: immer_core::JsonObject = [("a", 1), ("b", 2)].into_iter().collect();
    /// assert_eq!(object.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(members) => members.len(),
            Repr::Large(members) => members.len(),
        }
    }

    /// Whether there is no member. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(immer_core::JsonObject::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position of `key` in a small object's members, or where it would go.
    fn search(members: &[Member], key: &str) -> Result<usize, usize> {
        members.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The value of `key`, or `None`.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonObject};
    ///
    /// let object: JsonObject = [("a", 1)].into_iter().collect();
    /// assert_eq!(object.get("a"), Some(&Json::from(1)));
    /// assert_eq!(object.get("b"), None);
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.get_key_value(key).map(|(_, value)| value)
    }

    /// The member with `key`: the object's own key and its value, or `None`.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonObject};
    ///
    /// let object: JsonObject = [("a", 1)].into_iter().collect();
    /// assert_eq!(object.get_key_value("a"), Some(("a", &Json::from(1))));
    /// ```
    #[must_use]
    pub fn get_key_value(&self, key: &str) -> Option<(&str, &Json)> {
        self.shared_key_value(key).map(|(k, v)| (&**k, v))
    }

    /// The member with `key`, its key as the shared `Arc` the object holds.
    pub(crate) fn shared_key_value(&self, key: &str) -> Option<(&Arc<str>, &Json)> {
        match &self.0 {
            Repr::Small(members) => {
                let at = Self::search(members, key).ok()?;
                members.get(at).map(|(k, v)| (k, v))
            }
            Repr::Large(members) => members.get_key_value(key),
        }
    }

    /// Whether there is a member with `key`.
    ///
    /// Time: O(log n).
    ///
    /// # Examples
    ///
    /// ```
    /// let object: immer_core::JsonObject = [("a", 1)].into_iter().collect();
    /// assert!(object.contains_key("a") && !object.contains_key("b"));
    /// ```
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key`, mutably, or `None`. Copies on write: a shared small object is
    /// copied whole (at most 32 members' reference counts), a large one along the path to
    /// the key.
    ///
    /// Time: O(log n), plus that copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonObject};
    ///
    /// let base: JsonObject = [("n", 1)].into_iter().collect();
    /// let mut next = base.clone();
    /// *next.get_mut("n").unwrap() = Json::from(2);
    /// assert_eq!((base.get("n"), next.get("n")), (Some(&Json::from(1)), Some(&Json::from(2))));
    /// ```
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match &mut self.0 {
            Repr::Small(members) => {
                let at = Self::search(members, key).ok()?;
                Arc::make_mut(members).get_mut(at).map(|(_, v)| v)
            }
            Repr::Large(members) => {
                if !members.contains_key(key) {
                    return None;
                }
                Arc::make_mut(members).get_mut(key)
            }
        }
    }

    /// Sets `key` to `value` and returns the value it replaced, if any.
    ///
    /// Time: O(n) small (a new allocation when the key is new), O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonObject};
    ///
    /// let mut object = JsonObject::new();
    /// assert_eq!(object.insert("a", 1), None);
    /// assert_eq!(object.insert("a", 2), Some(Json::from(1)));
    /// ```
    pub fn insert(&mut self, key: impl Into<Arc<str>>, value: impl Into<Json>) -> Option<Json> {
        let key = key.into();
        let value = value.into();
        match &mut self.0 {
            Repr::Small(members) => match Self::search(members, &key) {
                Ok(at) => {
                    let slot = &mut Arc::make_mut(members)[at].1;
                    Some(std::mem::replace(slot, value))
                }
                Err(at) if members.len() < SMALL => {
                    let mut next = Vec::with_capacity(members.len() + 1);
                    next.extend_from_slice(&members[..at]);
                    next.push((key, value));
                    next.extend_from_slice(&members[at..]);
                    *members = next.into();
                    None
                }
                Err(_) => {
                    let mut large: Large = members.iter().cloned().collect();
                    large.insert(key, value);
                    self.0 = Repr::Large(Arc::new(large));
                    None
                }
            },
            Repr::Large(members) => Arc::make_mut(members).insert(key, value),
        }
    }

    /// Removes `key` and returns its value; `None` (and nothing changes) when absent.
    ///
    /// Time: O(n) small, O(log n) large.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Json, JsonObject};
    ///
    /// let mut object: JsonObject = [("a", 1), ("b", 2)].into_iter().collect();
    /// assert_eq!(object.remove("a"), Some(Json::from(1)));
    /// assert_eq!(object.remove("a"), None);
    /// assert_eq!(object.len(), 1);
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        match &mut self.0 {
            Repr::Small(members) => {
                let at = Self::search(members, key).ok()?;
                let old = members[at].1.clone();
                let next: Vec<Member> = members[..at]
                    .iter()
                    .chain(&members[at + 1..])
                    .cloned()
                    .collect();
                *members = next.into();
                Some(old)
            }
            Repr::Large(members) => {
                if !members.contains_key(key) {
                    return None;
                }
                let members_mut = Arc::make_mut(members);
                let old = members_mut.remove(key);
                if members_mut.len() <= SMALL {
                    let small: Vec<Member> = members_mut
                        .iter()
                        .map(|(k, v)| (Arc::clone(k), v.clone()))
                        .collect();
                    self.0 = Repr::Small(small.into());
                }
                old
            }
        }
    }

    /// The members, sorted by key.
    ///
    /// # Examples
    ///
    /// ```
    /// let object: immer_core::JsonObject = [("b", 1), ("a", 2)].into_iter().collect();
    /// let keys: Vec<&str> = object.iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    #[must_use]
    pub fn iter(&self) -> ObjectIter<'_> {
        ObjectIter(match &self.0 {
            Repr::Small(members) => IterRepr::Small(members.iter()),
            Repr::Large(members) => IterRepr::Large(members.iter()),
        })
    }

    /// The keys, sorted.
    ///
    /// # Examples
    ///
    /// ```
    /// let object: immer_core::JsonObject = [("b", 1), ("a", 2)].into_iter().collect();
    /// assert_eq!(object.keys().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    #[must_use]
    pub fn keys(&self) -> Keys<'_> {
        Keys(self.iter())
    }

    /// The values, in the order of their keys.
    ///
    /// # Examples
    ///
    /// ```
    /// let object: immer_core::JsonObject = [("b", 1), ("a", 2)].into_iter().collect();
    /// let values: Vec<i64> = object.values().filter_map(|v| v.as_i64()).collect();
    /// assert_eq!(values, [2, 1]);
    /// ```
    #[must_use]
    pub fn values(&self) -> Values<'_> {
        Values(self.iter())
    }

    /// Whether the two are one object in memory (a clone, or an object no edit copied), so
    /// equal without looking inside. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let a: immer_core::JsonObject = [("k", 1)].into_iter().collect();
    /// let b = a.clone();
    /// assert!(a.ptr_eq(&b));
    /// let c: immer_core::JsonObject = [("k", 1)].into_iter().collect();
    /// assert!(!a.ptr_eq(&c) && a == c);
    /// ```
    #[must_use]
    pub fn ptr_eq(&self, other: &JsonObject) -> bool {
        match (&self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => Arc::ptr_eq(a, b),
            (Repr::Large(a), Repr::Large(b)) => Arc::ptr_eq(a, b) || a.ptr_eq(b),
            _ => false,
        }
    }

    /// The two large forms, when both objects have one: their differences can be walked
    /// skipping the nodes they share.
    pub(crate) fn both_large<'a>(
        &'a self,
        other: &'a JsonObject,
    ) -> Option<(&'a Large, &'a Large)> {
        match (&self.0, &other.0) {
            (Repr::Large(a), Repr::Large(b)) => Some((a, b)),
            _ => None,
        }
    }
}

impl Default for JsonObject {
    /// An empty object.
    fn default() -> Self {
        JsonObject::new()
    }
}

impl PartialEq for JsonObject {
    /// Member by member, after an O(1) check for one object in memory (and, for two large
    /// objects, skipping the nodes they share).
    fn eq(&self, other: &JsonObject) -> bool {
        if self.ptr_eq(other) {
            return true;
        }
        if let Some((a, b)) = self.both_large(other) {
            return a == b;
        }
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((ka, va), (kb, vb))| ka == kb && va == vb)
    }
}

impl Eq for JsonObject {}

impl Hash for JsonObject {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (key, value) in self {
            key.hash(state);
            value.hash(state);
        }
    }
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self).finish()
    }
}

/// Collects the members into an object; of two with one key, the later stays.
///
/// # Examples
///
/// ```
/// let object: immer_core::JsonObject = [("a", 1), ("a", 2)].into_iter().collect();
/// assert_eq!(object, serde_json::json!({"a": 2}));
/// ```
impl<K: Into<Arc<str>>, V: Into<Json>> FromIterator<(K, V)> for JsonObject {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        JsonObject::from_members(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Inserts the members, as [`insert`](JsonObject::insert) does.
///
/// # Examples
///
/// ```
/// let mut object = immer_core::JsonObject::new();
/// object.extend([("a", 1), ("b", 2)]);
/// assert_eq!(object, serde_json::json!({"a": 1, "b": 2}));
/// ```
impl<K: Into<Arc<str>>, V: Into<Json>> Extend<(K, V)> for JsonObject {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl<'a> IntoIterator for &'a JsonObject {
    type Item = (&'a str, &'a Json);
    type IntoIter = ObjectIter<'a>;
    fn into_iter(self) -> ObjectIter<'a> {
        self.iter()
    }
}

/// The members of a [`JsonObject`], sorted by key: made by [`JsonObject::iter`].
pub struct ObjectIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Small(std::slice::Iter<'a, Member>),
    Large(imbl::ordmap::Iter<'a, Arc<str>, Json, imbl::shared_ptr::DefaultSharedPtr>),
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (&'a str, &'a Json);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(it) => it.next().map(|(k, v)| (&**k, v)),
            IterRepr::Large(it) => it.next().map(|(k, v)| (&**k, v)),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Small(it) => it.size_hint(),
            IterRepr::Large(it) => it.size_hint(),
        }
    }
}

impl DoubleEndedIterator for ObjectIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(it) => it.next_back().map(|(k, v)| (&**k, v)),
            IterRepr::Large(it) => it.next_back().map(|(k, v)| (&**k, v)),
        }
    }
}

impl ExactSizeIterator for ObjectIter<'_> {}

impl std::iter::FusedIterator for ObjectIter<'_> {}

/// The keys of a [`JsonObject`], sorted: made by [`JsonObject::keys`].
pub struct Keys<'a>(ObjectIter<'a>);

impl<'a> Iterator for Keys<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.0.next().map(|(k, _)| k)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Keys<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, _)| k)
    }
}

impl ExactSizeIterator for Keys<'_> {}

/// The values of a [`JsonObject`], in the order of their keys: made by
/// [`JsonObject::values`].
pub struct Values<'a>(ObjectIter<'a>);

impl<'a> Iterator for Values<'a> {
    type Item = &'a Json;
    fn next(&mut self) -> Option<&'a Json> {
        self.0.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Values<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(_, v)| v)
    }
}

impl ExactSizeIterator for Values<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> JsonObject {
        (0..n).map(|i| (format!("k{i:03}"), i)).collect()
    }

    #[test]
    fn the_form_follows_the_length_both_ways() {
        let mut object = numbered(SMALL);
        assert!(matches!(object.0, Repr::Small(_)));
        object.insert("zzz", 1);
        assert!(matches!(object.0, Repr::Large(_)));
        assert_eq!(object.len(), SMALL + 1);
        assert_eq!(object.remove("k000"), Some(Json::from(0)));
        assert!(matches!(object.0, Repr::Small(_)));
        assert_eq!(object.keys().next(), Some("k001"));
        assert_eq!(object.keys().next_back(), Some("zzz"));
        // Equal whatever the form, and hashed alike.
        let large = numbered(100);
        let mut shrunk = large.clone();
        for i in SMALL..100 {
            shrunk.remove(&format!("k{i:03}"));
        }
        assert_eq!(shrunk, numbered(SMALL));
        assert!(matches!(shrunk.0, Repr::Small(_)));
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value() {
        let object: JsonObject = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        assert_eq!(object.len(), 2);
        assert_eq!(object.get("b"), Some(&Json::from(3)));
        let large: JsonObject = (0..100)
            .map(|i| (format!("k{}", i % 50), i))
            .collect::<JsonObject>();
        assert_eq!(large.len(), 50);
        assert_eq!(large.get("k7"), Some(&Json::from(57)));
    }
}
