//! Maps: `HashMap`, `BTreeMap`, `imbl::HashMap` and `imbl::OrdMap`, all drafted by [`MapDraft`].

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{json, record, sealed};
use crate::diff::Differ;
use crate::draftable::{Draftable, Edit, Undo, apply_whole, to_json};
use crate::error::PatchErrorKind;
use crate::error::UnserializableError;
use crate::outline::Outline;
use crate::patch::{Patch, PatchOp};
use crate::path::{PathSegment, try_key_segment};
use crate::place::{Access, Child, OwnedChild, Place};

/// The key of a path segment: a string key as it is, any other key as its JSON text
/// (`1`, `true`, `[1,2]`), which is how `serde_json` writes non-string keys in an object.
///
/// A key with no JSON form gets a placeholder that is never recorded: every draft method
/// that reaches a key while recording checks it first with [`check_key`].
pub(crate) fn key_segment<K: Serialize>(key: &K) -> PathSegment {
    try_key_segment(key).unwrap_or_else(|_| PathSegment::Key(String::new()))
}

/// While recording, a key with no JSON form fails the recording: no patch path can name it,
/// and two such keys must never share one.
fn check_key<P: Place, K: Serialize>(place: &mut P, key: &K) {
    if place.is_recording() {
        if let Err(error) = try_key_segment(key) {
            let message = format!("a map key has no JSON form: {error}");
            place.record(Err(UnserializableError::new(place.path(), &message)));
        }
    }
}

/// Reads a key from a path segment: as a JSON string first, then as JSON text.
pub(crate) fn parse_key<K: DeserializeOwned>(segment: &PathSegment) -> Result<K, PatchErrorKind> {
    let text = segment.to_key();
    match K::deserialize(Value::String(text.clone().into_owned())) {
        Ok(key) => Ok(key),
        Err(as_string) => serde_json::from_str(&text).map_err(|_| PatchErrorKind::InvalidKey {
            key: text.into_owned(),
            message: as_string.to_string(),
        }),
    }
}

/// A map type that [`MapDraft`] can draft.
pub trait Map: sealed::Sealed + Draftable {
    /// The key type.
    type Key: Clone + Serialize + DeserializeOwned;
    /// The value type.
    type Value: Draftable;
    #[doc(hidden)]
    const NAME: &'static str;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[doc(hidden)]
    fn value(&self, key: &Self::Key) -> Option<&Self::Value>;
    #[doc(hidden)]
    fn value_mut(&mut self, key: &Self::Key) -> Option<&mut Self::Value>;
    #[doc(hidden)]
    fn insert_entry(&mut self, key: Self::Key, value: Self::Value) -> Option<Self::Value>;
    #[doc(hidden)]
    fn remove_entry(&mut self, key: &Self::Key) -> Option<Self::Value>;
    #[doc(hidden)]
    fn entries(&self) -> impl Iterator<Item = (&Self::Key, &Self::Value)>;
    /// Whether the two share their contents (imbl's `ptr_eq`; never for std maps).
    #[doc(hidden)]
    fn ptr_eq(&self, _other: &Self) -> bool {
        false
    }
    /// The map's draft as the [`MapDraft`] it is, for code generic over `M: Map`.
    fn map_draft<P: Place<Target = Self>>(draft: &mut Self::Draft<P>) -> &mut MapDraft<P>;
}

/// A map that can look a key up by a borrowed form `Q` of its key type, as std's maps do
/// (`K: Borrow<Q>`): so [`MapDraft::get_mut`] takes `"ann"` for a `String` key.
pub trait MapLookup<Q: ?Sized>: Map {
    /// The map's own key equal to `key`, if any.
    #[doc(hidden)]
    fn key_of(&self, key: &Q) -> Option<&Self::Key>;
}

macro_rules! map_impl {
    ([$($generics:tt)*] $ty:ty, $name:literal, [$($key_bound:tt)*], [$($lookup_bound:tt)*], $ptr_eq:expr) => {
        impl<$($generics)*, Q: ?Sized + $($lookup_bound)*> MapLookup<Q> for $ty
        where
            K: $($key_bound)* + std::borrow::Borrow<Q>,
        {
            fn key_of(&self, key: &Q) -> Option<&K> {
                self.get_key_value(key).map(|(k, _)| k)
            }
        }

        impl<$($generics)*> sealed::Sealed for $ty where K: $($key_bound)* {}

        impl<$($generics)*> crate::draftable::Sealed for $ty where K: $($key_bound)* {}

        impl<$($generics)*> Draftable for $ty
        where
            K: $($key_bound)*,
        {
            type Draft<P: Place<Target = Self>> = MapDraft<P>;
            type Path<R> = crate::MapPath<K, V, R>;
            fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
                MapDraft { place }
            }
            fn apply_edit(&mut self, path: &[PathSegment], edit: &mut Edit<'_>) -> Result<(), PatchErrorKind> {
                apply_map(self, path, edit)
            }
            fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
                map_value_at(self, path)
            }
            fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
                map_outline_at(self, path)
            }
            fn diff_into(&self, other: &Self, differ: &mut Differ) {
                diff_map(self, other, differ);
            }
            fn same_as(&self, other: &Self) -> bool {
                Map::ptr_eq(self, other) || self == other
            }
        }

        impl<$($generics)*> Map for $ty
        where
            K: $($key_bound)*,
        {
            type Key = K;
            type Value = V;
            const NAME: &'static str = $name;
            fn map_draft<P: Place<Target = Self>>(draft: &mut MapDraft<P>) -> &mut MapDraft<P> {
                draft
            }
            fn len(&self) -> usize {
                <$ty>::len(self)
            }
            fn value(&self, key: &K) -> Option<&V> {
                self.get(key)
            }
            fn value_mut(&mut self, key: &K) -> Option<&mut V> {
                self.get_mut(key)
            }
            fn insert_entry(&mut self, key: K, value: V) -> Option<V> {
                self.insert(key, value)
            }
            fn remove_entry(&mut self, key: &K) -> Option<V> {
                self.remove(key)
            }
            fn entries(&self) -> impl Iterator<Item = (&K, &V)> {
                self.iter()
            }
            fn ptr_eq(&self, other: &Self) -> bool {
                ($ptr_eq)(self, other)
            }
        }
    };
}

map_impl!([K, V: Draftable, S: BuildHasher + Default + Clone + 'static] HashMap<K, V, S>, "HashMap",
    [Draftable + Eq + Hash], [Eq + Hash], |_, _| false);
map_impl!([K, V: Draftable] BTreeMap<K, V>, "BTreeMap", [Draftable + Ord], [Ord], |_, _| false);
map_impl!([K, V: Draftable] imbl::HashMap<K, V>, "imbl::HashMap", [Draftable + Eq + Hash], [Eq + Hash],
    imbl::HashMap::ptr_eq);
map_impl!([K, V: Draftable] imbl::OrdMap<K, V>, "imbl::OrdMap", [Draftable + Ord], [Ord],
    imbl::OrdMap::ptr_eq);

fn apply_map<M: Map>(
    map: &mut M,
    path: &[PathSegment],
    edit: &mut Edit<'_>,
) -> Result<(), PatchErrorKind> {
    let Some((segment, rest)) = path.split_first() else {
        return apply_whole(map, edit, M::NAME);
    };
    let key: M::Key = parse_key(segment)?;
    let missing = || PatchErrorKind::MissingKey {
        key: segment.to_string(),
    };
    if !rest.is_empty() {
        return map
            .value_mut(&key)
            .ok_or_else(missing)?
            .apply_edit(rest, edit);
    }
    match edit.op {
        PatchOp::Add => {
            let value: M::Value = edit.decode()?;
            let old = match map.value(&key) {
                Some(old) if edit.want_undo => Some(to_json(old)?),
                _ => None,
            };
            let existed = map.insert_entry(key, value).is_some();
            if edit.want_undo {
                edit.undo = Some(if existed {
                    Undo {
                        op: PatchOp::Replace,
                        value: old,
                        index: None,
                    }
                } else {
                    Undo {
                        op: PatchOp::Remove,
                        value: None,
                        index: None,
                    }
                });
            }
        }
        PatchOp::Remove => {
            let old = map.value(&key).ok_or_else(missing)?;
            let old = if edit.want_undo {
                Some(to_json(old)?)
            } else {
                None
            };
            map.remove_entry(&key);
            if edit.want_undo {
                edit.undo = Some(Undo {
                    op: PatchOp::Add,
                    value: old,
                    index: None,
                });
            }
        }
        _ => apply_whole(map.value_mut(&key).ok_or_else(missing)?, edit, M::NAME)?,
    }
    Ok(())
}

/// A map's diff: a `remove` or `add` per key in one only, the values of keys in both diffed.
fn diff_map<M: Map>(from: &M, to: &M, differ: &mut Differ) {
    if from.ptr_eq(to) {
        return;
    }
    for (key, old) in from.entries() {
        let Some(segment) = differ.key(key) else {
            continue;
        };
        match to.value(key) {
            None => differ.remove(segment, old),
            Some(new) if !old.same_as(new) => {
                differ.child(Some(segment), |d| old.diff_into(new, d));
            }
            Some(_) => {}
        }
    }
    for (key, new) in to.entries() {
        if from.value(key).is_none() {
            if let Some(segment) = differ.key(key) {
                differ.add(segment, new);
            }
        }
    }
}

fn map_value_at<M: Map>(map: &M, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
    match path.split_first() {
        None => to_json(map),
        Some((segment, rest)) => {
            let key: M::Key = parse_key(segment)?;
            match map.value(&key) {
                Some(value) => value.value_at(rest),
                None => Err(PatchErrorKind::MissingKey {
                    key: segment.to_string(),
                }),
            }
        }
    }
}

fn map_outline_at<M: Map>(map: &M, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
    match path.split_first() {
        None => Ok(Outline::Object),
        Some((segment, rest)) => {
            let key: M::Key = parse_key(segment)?;
            match map.value(&key) {
                Some(value) => value.outline_at(rest),
                None => Err(PatchErrorKind::MissingKey {
                    key: segment.to_string(),
                }),
            }
        }
    }
}

/// The place of a map's value.
pub type EntryPlace<'b, P, K, V> = Child<'b, P, K, V>;

fn entry<M: Map>() -> Access<M, M::Key, M::Value> {
    Access {
        read: |m, k| m.value(k),
        write: |m, k| m.value_mut(k),
        segment: |k| Some(key_segment(k)),
    }
}

/// The draft of a value of the map `M` at place `P`, holding the map's place by value: what
/// [`MapDraft::into_mut`] returns.
pub type OwnedEntryDraft<P, M> =
    <<M as Map>::Value as Draftable>::Draft<OwnedChild<P, <M as Map>::Key, <M as Map>::Value>>;

/// The draft of a value of the map `M` at place `P`, as [`MapDraft::get_mut`] returns it.
pub type EntryDraft<'b, P, M> =
    <<M as Map>::Value as Draftable>::Draft<EntryPlace<'b, P, <M as Map>::Key, <M as Map>::Value>>;

/// The draft of a map: `HashMap`, `BTreeMap`, `imbl::HashMap` or `imbl::OrdMap`.
///
/// Reads through `Deref` to the map itself. Path segments are the keys: string keys as they
/// are, other keys as their JSON text (`1`, `true`). Copy on write: a std map is stored inline
/// in its parent and is copied whole (O(n)) on the first write below the `Arc` that holds it,
/// once per produce; an `imbl` map copies only the O(log n) nodes on the path to the key.
///
/// # Examples
///
/// ```
/// use immer_core::{produce_with_patches, OrdMap};
/// use std::sync::Arc;
///
/// let base: Arc<OrdMap<String, u32>> = Arc::new(OrdMap::from_iter([(String::from("ann"), 1_u32)]));
/// let (next, patches, _) = produce_with_patches(&base, |d| {
///     d.get_mut("ann").unwrap().set(2);
///     d.insert("bob".into(), 5);
/// });
/// assert_eq!(next.get("ann"), Some(&2));
/// assert_eq!(serde_json::to_string(&patches).unwrap(),
///     r#"[{"op":"replace","path":["ann"],"value":2},{"op":"add","path":["bob"],"value":5}]"#);
/// ```
pub struct MapDraft<P> {
    place: P,
}

impl<M: Map, P: Place<Target = M>> MapDraft<P> {
    /// The draft of the value at `key`, or `None`. Copies nothing until the draft writes.
    /// Takes any borrowed form of the key, as std's maps do (`"ann"` for a `String` key).
    ///
    /// Time: one lookup (`HashMap`: O(1); `BTreeMap`, `imbl`: O(log n)) and a clone of the
    /// key, which the draft holds.
    pub fn get_mut<Q: ?Sized>(&mut self, key: &Q) -> Option<EntryDraft<'_, P, M>>
    where
        M: MapLookup<Q>,
    {
        let key = self.place.get().key_of(key)?.clone();
        check_key(&mut self.place, &key);
        Some(M::Value::draft(Child::new(
            &mut self.place,
            key,
            entry::<M>(),
        )))
    }

    /// The draft of the value at `key`, or `None`, consuming the map's draft: unlike
    /// [`get_mut`](MapDraft::get_mut), the result can be bound to a variable when the map's
    /// draft is a temporary (`let mut ann = d.members().into_mut("ann").unwrap();`), as std's
    /// entry API has `into_mut`.
    ///
    /// Time: as [`get_mut`](MapDraft::get_mut).
    pub fn into_mut<Q: ?Sized>(mut self, key: &Q) -> Option<OwnedEntryDraft<P, M>>
    where
        M: MapLookup<Q>,
    {
        let key = self.place.get().key_of(key)?.clone();
        check_key(&mut self.place, &key);
        Some(M::Value::draft(OwnedChild::new(
            self.place,
            key,
            entry::<M>(),
        )))
    }

    /// Sets `key` to `value` and returns the value that was there. One `add` patch for a new
    /// key, one `replace` for an existing one, none when the value is equal.
    ///
    /// Time: one lookup and insert, plus the copy on first write (a clone of the old value to
    /// return it, since the snapshot keeps the original).
    pub fn insert(&mut self, key: M::Key, value: M::Value) -> Option<M::Value> {
        check_key(&mut self.place, &key);
        if let Some(old) = self.place.get().value(&key) {
            let old = old.clone();
            if old != value {
                crate::draftable::set_place(
                    &mut Child::new(&mut self.place, key, entry::<M>()),
                    value,
                );
            }
            return Some(old);
        }
        record(&mut self.place, |_, path| {
            let path = path.child(key_segment(&key));
            Ok((Patch::add(path.clone(), json(&value)?), Patch::remove(path)))
        });
        self.place.get_mut().insert_entry(key, value);
        None
    }

    /// Removes `key` and returns its value, or `None` (and no write) when absent. One
    /// `remove` patch. Takes any borrowed form of the key, as std's maps do.
    ///
    /// Time: one lookup and removal, plus the copy on first write.
    pub fn remove<Q: ?Sized>(&mut self, key: &Q) -> Option<M::Value>
    where
        M: MapLookup<Q>,
    {
        let key = self.place.get().key_of(key)?.clone();
        self.remove_entry(&key)
    }

    /// Removes a key that is in the map.
    fn remove_entry(&mut self, key: &M::Key) -> Option<M::Value> {
        check_key(&mut self.place, key);
        record_removal(&mut self.place, key);
        self.place.get_mut().remove_entry(key)
    }

    /// The draft of the value at `key`, first inserting `default()` when absent: the
    /// insert-or-modify of std's `entry(key).or_insert_with(default)`.
    ///
    /// Time: as [`insert`](MapDraft::insert) and [`get_mut`](MapDraft::get_mut).
    pub fn get_or_insert_with(
        &mut self,
        key: M::Key,
        default: impl FnOnce() -> M::Value,
    ) -> EntryDraft<'_, P, M> {
        if self.place.get().value(&key).is_none() {
            self.insert(key.clone(), default());
        }
        check_key(&mut self.place, &key);
        M::Value::draft(Child::new(&mut self.place, key, entry::<M>()))
    }

    /// Keeps the entries for which `keep` returns true. One `remove` patch per key removed;
    /// no write when every entry stays.
    ///
    /// Time: O(n) plus one removal per key removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&M::Key, &M::Value) -> bool) {
        let doomed: Vec<M::Key> = self
            .place
            .get()
            .entries()
            .filter(|(k, v)| !keep(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &doomed {
            self.remove_entry(key);
        }
    }

    /// Removes every entry: one `remove` patch per key; no write when already empty.
    ///
    /// Time: O(n).
    pub fn clear(&mut self) {
        self.retain(|_, _| false);
    }

    /// A lending iterator over the keys and the drafts of their values, in the map's order:
    /// `while let Some((key, mut value)) = it.next() { ... }`.
    ///
    /// Time: O(n) to collect the keys, then one lookup per step; writes copy as their drafts
    /// do.
    #[allow(
        clippy::iter_not_returning_iterator,
        reason = "a lending iterator: each draft borrows the map"
    )]
    pub fn iter_mut(&mut self) -> MapIterMut<'_, P> {
        let keys = self.place.get().entries().map(|(k, _)| k.clone()).collect();
        MapIterMut {
            place: &mut self.place,
            keys,
            next: 0,
        }
    }

    /// Calls `f` with each key and the draft of its value, in the map's order.
    ///
    /// Time: O(n) lookups; writes copy as their drafts do.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&M::Key, EntryDraft<'_, P, M>)) {
        let keys: Vec<M::Key> = self.place.get().entries().map(|(k, _)| k.clone()).collect();
        for key in keys {
            check_key(&mut self.place, &key);
            let draft = M::Value::draft(Child::new(&mut self.place, key.clone(), entry::<M>()));
            f(&key, draft);
        }
    }

    /// Inserts every pair of `iter`, as [`insert`](MapDraft::insert) does.
    pub fn extend(&mut self, iter: impl IntoIterator<Item = (M::Key, M::Value)>) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

/// A lending iterator over a map's keys and value drafts, made by [`MapDraft::iter_mut`].
pub struct MapIterMut<'b, P: Place>
where
    P::Target: Map,
{
    place: &'b mut P,
    keys: Vec<<P::Target as Map>::Key>,
    next: usize,
}

impl<M: Map, P: Place<Target = M>> MapIterMut<'_, P> {
    /// The next key and the draft of its value, or `None` at the end.
    #[allow(
        clippy::should_implement_trait,
        reason = "a lending iterator: each draft borrows the iterator"
    )]
    pub fn next(&mut self) -> Option<(&M::Key, EntryDraft<'_, P, M>)> {
        let key = self.keys.get(self.next)?;
        self.next += 1;
        check_key(&mut *self.place, key);
        let draft = M::Value::draft(Child::new(&mut *self.place, key.clone(), entry::<M>()));
        Some((key, draft))
    }
}

fn record_removal<M: Map, P: Place<Target = M>>(place: &mut P, key: &M::Key) {
    record(place, |map, path| {
        let path = path.child(key_segment(key));
        Ok((
            Patch::remove(path.clone()),
            Patch::add(path, json(&map.value(key))?),
        ))
    });
}

impl<P: Place> Deref for MapDraft<P> {
    type Target = P::Target;
    fn deref(&self) -> &P::Target {
        self.place.get()
    }
}

/// `indexmap::IndexMap`: a map that keeps insertion order, as a JavaScript object does, so its
/// keys' order in JSON is Immer's. A removal shifts the later keys (`shift_remove`), keeping
/// the order of the rest.
#[cfg(feature = "indexmap")]
mod index_map {
    use std::borrow::Borrow;
    use std::hash::{BuildHasher, Hash};

    use indexmap::IndexMap;
    use serde_json::Value;

    use super::{
        Map, MapDraft, MapLookup, apply_map, diff_map, map_outline_at, map_value_at, sealed,
    };
    use crate::diff::Differ;
    use crate::draftable::{Draftable, Edit};
    use crate::error::PatchErrorKind;
    use crate::outline::Outline;
    use crate::path::PathSegment;
    use crate::place::Place;

    impl<K, V, S> sealed::Sealed for IndexMap<K, V, S>
    where
        K: Draftable + Eq + Hash,
        V: Draftable,
        S: BuildHasher + Default + Clone + 'static,
    {
    }

    impl<K, V, S> crate::draftable::Sealed for IndexMap<K, V, S>
    where
        K: Draftable + Eq + Hash,
        V: Draftable,
        S: BuildHasher + Default + Clone + 'static,
    {
    }

    impl<K, V, S> Draftable for IndexMap<K, V, S>
    where
        K: Draftable + Eq + Hash,
        V: Draftable,
        S: BuildHasher + Default + Clone + 'static,
    {
        type Draft<P: Place<Target = Self>> = MapDraft<P>;
        type Path<R> = crate::MapPath<K, V, R>;
        fn draft<P: Place<Target = Self>>(place: P) -> Self::Draft<P> {
            MapDraft { place }
        }
        fn apply_edit(
            &mut self,
            path: &[PathSegment],
            edit: &mut Edit<'_>,
        ) -> Result<(), PatchErrorKind> {
            apply_map(self, path, edit)
        }
        fn value_at(&self, path: &[PathSegment]) -> Result<Value, PatchErrorKind> {
            map_value_at(self, path)
        }
        fn outline_at(&self, path: &[PathSegment]) -> Result<Outline, PatchErrorKind> {
            map_outline_at(self, path)
        }
        fn diff_into(&self, other: &Self, differ: &mut Differ) {
            diff_map(self, other, differ);
        }
    }

    impl<K, V, S> Map for IndexMap<K, V, S>
    where
        K: Draftable + Eq + Hash,
        V: Draftable,
        S: BuildHasher + Default + Clone + 'static,
    {
        type Key = K;
        type Value = V;
        const NAME: &'static str = "IndexMap";
        fn map_draft<P: Place<Target = Self>>(draft: &mut MapDraft<P>) -> &mut MapDraft<P> {
            draft
        }
        fn len(&self) -> usize {
            IndexMap::len(self)
        }
        fn value(&self, key: &K) -> Option<&V> {
            self.get(key)
        }
        fn value_mut(&mut self, key: &K) -> Option<&mut V> {
            self.get_mut(key)
        }
        fn insert_entry(&mut self, key: K, value: V) -> Option<V> {
            self.insert(key, value)
        }
        fn remove_entry(&mut self, key: &K) -> Option<V> {
            self.shift_remove(key)
        }
        fn entries(&self) -> impl Iterator<Item = (&K, &V)> {
            self.iter()
        }
    }

    impl<K, V, S, Q> MapLookup<Q> for IndexMap<K, V, S>
    where
        K: Draftable + Eq + Hash + Borrow<Q>,
        V: Draftable,
        S: BuildHasher + Default + Clone + 'static,
        Q: ?Sized + Eq + Hash,
    {
        fn key_of(&self, key: &Q) -> Option<&K> {
            self.get_key_value(key).map(|(k, _)| k)
        }
    }
}
