//! Collection drafts against the same operations on plain std collections, with the patch
//! laws checked on every sequence, and what each collection shares or copies.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use immer::{
    List, ListDraft, Map, MapDraft, MapLookup, Place, Set, SetDraft, apply_patches, produce,
    produce_with_patches,
};
use proptest::prelude::*;

mod common;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
enum ListOp {
    Push(u8),
    Pop,
    Insert(usize, u8),
    Remove(usize),
    SwapRemove(usize),
    Swap(usize, usize),
    Truncate(usize),
    Clear,
    Reverse,
    Set(usize, u8),
    GetMut(usize, u8),
    FirstMut(u8),
    LastMut(u8),
    Retain(u8),
    SortByKey,
    SortDescending,
    Extend(Vec<u8>),
    IterMutAdd(u8),
    ForEachMutAdd(u8),
}

fn list_op() -> impl Strategy<Value = ListOp> {
    let index = 0..12_usize;
    prop_oneof![
        any::<u8>().prop_map(ListOp::Push),
        Just(ListOp::Pop),
        (index.clone(), any::<u8>()).prop_map(|(i, v)| ListOp::Insert(i, v)),
        index.clone().prop_map(ListOp::Remove),
        index.clone().prop_map(ListOp::SwapRemove),
        (index.clone(), index.clone()).prop_map(|(a, b)| ListOp::Swap(a, b)),
        index.clone().prop_map(ListOp::Truncate),
        Just(ListOp::Clear),
        Just(ListOp::Reverse),
        (index.clone(), any::<u8>()).prop_map(|(i, v)| ListOp::Set(i, v)),
        (index.clone(), any::<u8>()).prop_map(|(i, v)| ListOp::GetMut(i, v)),
        any::<u8>().prop_map(ListOp::FirstMut),
        any::<u8>().prop_map(ListOp::LastMut),
        (2..5_u8).prop_map(ListOp::Retain),
        Just(ListOp::SortByKey),
        Just(ListOp::SortDescending),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(ListOp::Extend),
        any::<u8>().prop_map(ListOp::IterMutAdd),
        any::<u8>().prop_map(ListOp::ForEachMutAdd),
    ]
}

/// The operation on a plain `Vec`: the model.
fn model_list(v: &mut Vec<u8>, op: &ListOp) {
    match op {
        ListOp::Push(x) => v.push(*x),
        ListOp::Pop => {
            v.pop();
        }
        ListOp::Insert(i, x) => {
            if *i <= v.len() {
                v.insert(*i, *x);
            }
        }
        ListOp::Remove(i) => {
            if *i < v.len() {
                v.remove(*i);
            }
        }
        ListOp::SwapRemove(i) => {
            if *i < v.len() {
                v.swap_remove(*i);
            }
        }
        ListOp::Swap(a, b) => {
            if *a < v.len() && *b < v.len() {
                v.swap(*a, *b);
            }
        }
        ListOp::Truncate(n) => v.truncate(*n),
        ListOp::Clear => v.clear(),
        ListOp::Reverse => v.reverse(),
        ListOp::Set(i, x) | ListOp::GetMut(i, x) => {
            if let Some(slot) = v.get_mut(*i) {
                *slot = *x;
            }
        }
        ListOp::FirstMut(x) => {
            if let Some(slot) = v.first_mut() {
                *slot = *x;
            }
        }
        ListOp::LastMut(x) => {
            if let Some(slot) = v.last_mut() {
                *slot = *x;
            }
        }
        ListOp::Retain(m) => v.retain(|x| x % m != 0),
        ListOp::SortByKey => v.sort_by_key(|x| *x),
        ListOp::SortDescending => v.sort_by(|a, b| b.cmp(a)),
        ListOp::Extend(xs) => v.extend(xs),
        ListOp::IterMutAdd(d) | ListOp::ForEachMutAdd(d) => {
            for x in v.iter_mut() {
                *x = x.wrapping_add(*d);
            }
        }
    }
}

/// The operation on a list draft.
fn draft_list<L: List<Item = u8>, P: Place<Target = L>>(d: &mut ListDraft<P>, op: &ListOp) {
    match op {
        ListOp::Push(x) => d.push(*x),
        ListOp::Pop => {
            d.pop();
        }
        ListOp::Insert(i, x) => {
            let in_range = *i <= d.len();
            assert_eq!(d.insert(*i, *x).is_ok(), in_range);
        }
        ListOp::Remove(i) => {
            let in_range = *i < d.len();
            assert_eq!(d.remove(*i).is_some(), in_range);
        }
        ListOp::SwapRemove(i) => {
            d.swap_remove(*i);
        }
        ListOp::Swap(a, b) => {
            d.swap(*a, *b);
        }
        ListOp::Truncate(n) => d.truncate(*n),
        ListOp::Clear => d.clear(),
        ListOp::Reverse => d.reverse(),
        ListOp::Set(i, x) => {
            let _ = d.set(*i, *x);
        }
        ListOp::GetMut(i, x) => {
            if let Some(mut item) = d.get_mut(*i) {
                item.set(*x);
            }
        }
        ListOp::FirstMut(x) => {
            if let Some(mut item) = d.first_mut() {
                item.set(*x);
            }
        }
        ListOp::LastMut(x) => {
            if let Some(mut item) = d.last_mut() {
                item.set(*x);
            }
        }
        ListOp::Retain(m) => d.retain(|x| x % m != 0),
        ListOp::SortByKey => d.sort_by_key(|x| *x),
        ListOp::SortDescending => d.sort_by(|a, b| b.cmp(a)),
        ListOp::Extend(xs) => d.extend(xs.iter().copied()),
        ListOp::IterMutAdd(delta) => {
            let mut items = d.iter_mut();
            while let Some(mut item) = items.next() {
                let next = item.wrapping_add(*delta);
                item.set(next);
            }
        }
        ListOp::ForEachMutAdd(delta) => d.for_each_mut(|_, mut item| {
            let next = item.wrapping_add(*delta);
            item.set(next);
        }),
    }
}

/// Runs `ops` on a list of type `L` built from `start`, and checks it against the model and
/// the patch laws.
fn check_list<L>(start: &[u8], ops: &[ListOp]) -> Result<(), TestCaseError>
where
    L: List<Item = u8> + FromIterator<u8> + std::fmt::Debug,
    for<'a> &'a L: IntoIterator<Item = &'a u8>,
{
    let base: Arc<L> = Arc::new(start.iter().copied().collect());
    let mut model = start.to_vec();
    for op in ops {
        model_list(&mut model, op);
    }
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        let d = L::list_draft(d);
        for op in ops {
            draft_list(d, op);
        }
    });
    let got: Vec<u8> = next.as_ref().into_iter().copied().collect();
    prop_assert_eq!(&got, &model);
    prop_assert_eq!(&apply_patches(&base, &patches).unwrap(), &next);
    prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &base);
    if let Err(message) = common::json_law(&*base, &*next, &patches, &inverse) {
        return Err(TestCaseError::fail(message));
    }
    // The same recipe without recording gives the same state.
    let plain = produce(&base, |d| {
        let d = L::list_draft(d);
        for op in ops {
            draft_list(d, op);
        }
    });
    prop_assert_eq!(&plain, &next);
    // Recorded in place: the same state and the same patches.
    let mut owned = (*base).clone();
    let (in_place, in_place_inverse) = immer::record_in_place(&mut owned, |d| {
        let d = L::list_draft(d);
        for op in ops {
            draft_list(d, op);
        }
    });
    prop_assert_eq!(&owned, &*next);
    prop_assert_eq!(&in_place, &patches);
    prop_assert_eq!(&in_place_inverse, &inverse);
    Ok(())
}

proptest! {
    #[test]
    fn vec_drafts_match_std(start in prop::collection::vec(any::<u8>(), 0..8), ops in prop::collection::vec(list_op(), 0..12)) {
        check_list::<Vec<u8>>(&start, &ops)?;
    }

    #[test]
    fn vec_deque_drafts_match_std(start in prop::collection::vec(any::<u8>(), 0..8), ops in prop::collection::vec(list_op(), 0..12)) {
        check_list::<VecDeque<u8>>(&start, &ops)?;
    }

    #[test]
    fn imbl_vector_drafts_match_std(start in prop::collection::vec(any::<u8>(), 0..8), ops in prop::collection::vec(list_op(), 0..12)) {
        check_list::<immer::Vector<u8>>(&start, &ops)?;
    }
}

#[derive(Clone, Debug)]
enum MapOp {
    Insert(u8, u8),
    Remove(u8),
    GetMut(u8, u8),
    GetOrInsertWith(u8, u8),
    Retain(u8),
    Clear,
    Extend(Vec<(u8, u8)>),
    ForEachMutAdd(u8),
    IterMutAdd(u8),
}

fn map_op() -> impl Strategy<Value = MapOp> {
    let key = 0..8_u8;
    prop_oneof![
        (key.clone(), any::<u8>()).prop_map(|(k, v)| MapOp::Insert(k, v)),
        key.clone().prop_map(MapOp::Remove),
        (key.clone(), any::<u8>()).prop_map(|(k, v)| MapOp::GetMut(k, v)),
        (key.clone(), any::<u8>()).prop_map(|(k, v)| MapOp::GetOrInsertWith(k, v)),
        (2..4_u8).prop_map(MapOp::Retain),
        Just(MapOp::Clear),
        prop::collection::vec((key.clone(), any::<u8>()), 0..3).prop_map(MapOp::Extend),
        any::<u8>().prop_map(MapOp::ForEachMutAdd),
        any::<u8>().prop_map(MapOp::IterMutAdd),
    ]
}

fn model_map<K: Ord + Clone>(m: &mut BTreeMap<K, u8>, key: impl Fn(u8) -> K, op: &MapOp) {
    match op {
        MapOp::Insert(k, v) => {
            m.insert(key(*k), *v);
        }
        MapOp::Remove(k) => {
            m.remove(&key(*k));
        }
        MapOp::GetMut(k, v) => {
            if let Some(slot) = m.get_mut(&key(*k)) {
                *slot = *v;
            }
        }
        MapOp::GetOrInsertWith(k, v) => {
            let slot = m.entry(key(*k)).or_insert(0);
            *slot = slot.wrapping_add(*v);
        }
        MapOp::Retain(r) => m.retain(|_, v| *v % r != 0),
        MapOp::Clear => m.clear(),
        MapOp::Extend(pairs) => m.extend(pairs.iter().map(|(k, v)| (key(*k), *v))),
        MapOp::ForEachMutAdd(d) | MapOp::IterMutAdd(d) => {
            for v in m.values_mut() {
                *v = v.wrapping_add(*d);
            }
        }
    }
}

fn draft_map<M, P: Place<Target = M>>(d: &mut MapDraft<P>, key: impl Fn(u8) -> M::Key, op: &MapOp)
where
    M: Map<Value = u8> + MapLookup<<M as Map>::Key>,
{
    match op {
        MapOp::Insert(k, v) => {
            d.insert(key(*k), *v);
        }
        MapOp::Remove(k) => {
            d.remove(&key(*k));
        }
        MapOp::GetMut(k, v) => {
            if let Some(mut value) = d.get_mut(&key(*k)) {
                value.set(*v);
            }
        }
        MapOp::GetOrInsertWith(k, v) => {
            let mut value = d.get_or_insert_with(key(*k), || 0);
            let next = value.wrapping_add(*v);
            value.set(next);
        }
        MapOp::Retain(r) => d.retain(|_, v| *v % r != 0),
        MapOp::Clear => d.clear(),
        MapOp::Extend(pairs) => d.extend(pairs.iter().map(|(k, v)| (key(*k), *v))),
        MapOp::ForEachMutAdd(delta) => d.for_each_mut(|_, mut value| {
            let next = value.wrapping_add(*delta);
            value.set(next);
        }),
        MapOp::IterMutAdd(delta) => {
            let mut entries = d.iter_mut();
            while let Some((_, mut value)) = entries.next() {
                let next = value.wrapping_add(*delta);
                value.set(next);
            }
        }
    }
}

fn check_map<M, K>(
    start: &[(u8, u8)],
    ops: &[MapOp],
    key: impl Fn(u8) -> K + Copy,
) -> Result<(), TestCaseError>
where
    K: Ord + Clone + std::fmt::Debug,
    M: Map<Key = K, Value = u8> + MapLookup<K> + FromIterator<(K, u8)> + std::fmt::Debug,
    for<'a> &'a M: IntoIterator<Item = (&'a K, &'a u8)>,
{
    let base: Arc<M> = Arc::new(start.iter().map(|(k, v)| (key(*k), *v)).collect());
    let mut model: BTreeMap<K, u8> = start.iter().map(|(k, v)| (key(*k), *v)).collect();
    for op in ops {
        model_map(&mut model, key, op);
    }
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        let d = M::map_draft(d);
        for op in ops {
            draft_map(d, key, op);
        }
    });
    let got: BTreeMap<K, u8> = next
        .as_ref()
        .into_iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    prop_assert_eq!(&got, &model);
    prop_assert_eq!(&apply_patches(&base, &patches).unwrap(), &next);
    prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &base);
    if let Err(message) = common::json_law(&*base, &*next, &patches, &inverse) {
        return Err(TestCaseError::fail(message));
    }
    Ok(())
}

proptest! {
    #[test]
    fn maps_match_std(start in prop::collection::vec((0..8_u8, any::<u8>()), 0..6), ops in prop::collection::vec(map_op(), 0..10)) {
        let name = |k: u8| format!("k{k}");
        check_map::<HashMap<String, u8>, _>(&start, &ops, name)?;
        check_map::<BTreeMap<String, u8>, _>(&start, &ops, name)?;
        check_map::<immer::imbl::HashMap<String, u8>, _>(&start, &ops, name)?;
        check_map::<immer::OrdMap<String, u8>, _>(&start, &ops, name)?;
        // Keys that are not strings travel as their JSON text.
        check_map::<BTreeMap<u32, u8>, _>(&start, &ops, u32::from)?;
        check_map::<immer::OrdMap<i64, u8>, _>(&start, &ops, |k: u8| i64::from(k) - 4)?;
    }
}

#[derive(Clone, Debug)]
enum SetOp {
    Insert(u8),
    Remove(u8),
    Retain(u8),
    Clear,
    Extend(Vec<u8>),
}

fn set_op() -> impl Strategy<Value = SetOp> {
    prop_oneof![
        (0..10_u8).prop_map(SetOp::Insert),
        (0..10_u8).prop_map(SetOp::Remove),
        (2..4_u8).prop_map(SetOp::Retain),
        Just(SetOp::Clear),
        prop::collection::vec(0..10_u8, 0..3).prop_map(SetOp::Extend),
    ]
}

fn draft_set<S: Set<Item = u8>, P: Place<Target = S>>(
    d: &mut SetDraft<P>,
    op: &SetOp,
    model: &mut BTreeSet<u8>,
) {
    match op {
        SetOp::Insert(x) => assert_eq!(d.insert(*x), model.insert(*x)),
        SetOp::Remove(x) => assert_eq!(d.remove(x), model.remove(x)),
        SetOp::Retain(r) => {
            d.retain(|x| x % r != 0);
            model.retain(|x| x % r != 0);
        }
        SetOp::Clear => {
            d.clear();
            model.clear();
        }
        SetOp::Extend(xs) => {
            d.extend(xs.iter().copied());
            model.extend(xs);
        }
    }
}

fn check_set<S>(start: &[u8], ops: &[SetOp], ordered: bool) -> Result<(), TestCaseError>
where
    S: Set<Item = u8> + FromIterator<u8> + std::fmt::Debug,
    for<'a> &'a S: IntoIterator<Item = &'a u8>,
{
    let base: Arc<S> = Arc::new(start.iter().copied().collect());
    let mut model: BTreeSet<u8> = start.iter().copied().collect();
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        let d = S::set_draft(d);
        for op in ops {
            draft_set(d, op, &mut model);
        }
    });
    let got: BTreeSet<u8> = next.as_ref().into_iter().copied().collect();
    prop_assert_eq!(&got, &model);
    prop_assert_eq!(&apply_patches(&base, &patches).unwrap(), &next);
    prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &base);
    if ordered {
        // A plain RFC 6902 applier follows an ordered set's positions in its JSON array.
        if let Err(message) = common::json_law(&*base, &*next, &patches, &inverse) {
            return Err(TestCaseError::fail(message));
        }
    }
    Ok(())
}

#[test]
fn a_set_insert_records_the_position_the_element_takes() {
    let base = Arc::new(BTreeSet::from(["b", "c"].map(String::from)));
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.insert("a".into());
    });
    assert_eq!(patches[0].path.to_pointer(), "/0");
    assert_eq!(inverse[0].path.to_pointer(), "/0");
    common::json_law(&*base, &*next, &patches, &inverse).unwrap();
    // Removing it records where it was, and undoing puts it back there.
    let (back, patches, inverse) = produce_with_patches(&next, |d| {
        d.remove(&"b".to_string());
    });
    assert_eq!(patches[0].path.to_pointer(), "/1");
    common::json_law(&*next, &*back, &patches, &inverse).unwrap();
}

#[test]
fn a_set_clear_is_one_replace() {
    let base: Arc<immer::OrdSet<u32>> = Arc::new((0..1_000_u32).collect());
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.clear();
    });
    assert!(next.is_empty());
    assert_eq!(patches.len(), 1);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

proptest! {
    #[test]
    fn sets_match_std(start in prop::collection::vec(0..10_u8, 0..6), ops in prop::collection::vec(set_op(), 0..10)) {
        check_set::<HashSet<u8>>(&start, &ops, false)?;
        check_set::<BTreeSet<u8>>(&start, &ops, true)?;
        check_set::<immer::imbl::HashSet<u8>>(&start, &ops, false)?;
        check_set::<immer::OrdSet<u8>>(&start, &ops, true)?;
    }
}

#[derive(immer::Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u32,
    done: bool,
}

fn items(n: u32) -> impl Iterator<Item = Arc<Item>> {
    (0..n).map(|id| Arc::new(Item { id, done: false }))
}

#[test]
fn an_imbl_vector_write_shares_every_other_element() {
    let base: Arc<immer::Vector<Arc<Item>>> = Arc::new(items(5_000).collect());
    let next = produce(&base, |d| d.get_mut(2_500).unwrap().set_done(true));
    assert!(next[2_500].done);
    assert!(!Arc::ptr_eq(&base[2_500], &next[2_500]));
    for i in (0..5_000).filter(|i| *i != 2_500) {
        assert!(Arc::ptr_eq(&base[i], &next[i]), "element {i} was copied");
    }
}

#[test]
fn a_map_write_shares_every_other_value() {
    let ord: Arc<immer::OrdMap<u32, Arc<Item>>> =
        Arc::new(items(1_000).map(|i| (i.id, i)).collect());
    let hash: Arc<HashMap<u32, Arc<Item>>> = Arc::new(items(1_000).map(|i| (i.id, i)).collect());
    let next_ord = produce(&ord, |d| d.get_mut(&7).unwrap().set_done(true));
    let next_hash = produce(&hash, |d| d.get_mut(&7).unwrap().set_done(true));
    for (base, next) in [(&ord[&7], &next_ord[&7]), (&hash[&7], &next_hash[&7])] {
        assert!(next.done && !Arc::ptr_eq(base, next));
    }
    for k in (0..1_000).filter(|k| *k != 7) {
        assert!(Arc::ptr_eq(&ord[&k], &next_ord[&k]));
        assert!(Arc::ptr_eq(&hash[&k], &next_hash[&k]));
    }
}

thread_local! {
    static CLONES: Cell<usize> = const { Cell::new(0) };
}

/// Counts its clones.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Counted(u32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.with(|c| c.set(c.get() + 1));
        Counted(self.0)
    }
}

immer::leaf!(Counted);

#[test]
fn a_std_vec_is_cloned_once_per_produce_however_many_writes() {
    let base = Arc::new((0..100).map(Counted).collect::<Vec<_>>());
    CLONES.with(|c| c.set(0));
    let next = produce(&base, |d| {
        for i in 0..100 {
            d.set(i, Counted(1_000 + i as u32)).unwrap();
        }
        d.push(Counted(7));
        d.remove(3);
    });
    assert_eq!(next.len(), 100);
    assert_eq!(
        CLONES.with(Cell::get),
        100,
        "the Vec's 100 elements are cloned once, on the first write"
    );
    // A second produce clones again, once: its base is the first's result, which is shared.
    let _ = produce(&next, |d| d.set(0, Counted(0)).unwrap());
    assert_eq!(CLONES.with(Cell::get), 200);
}

#[test]
fn out_of_range_indices_never_panic() {
    let base = Arc::new(vec![1_u8, 2]);
    let next = produce(&base, |d| {
        assert_eq!(d.insert(5, 9), Err(9));
        assert_eq!(d.set(2, 9), Err(9));
        assert_eq!(d.remove(2), None);
        assert_eq!(d.swap_remove(9), None);
        assert!(!d.swap(0, 9));
        assert!(d.get_mut(2).is_none());
        d.truncate(10);
    });
    assert!(Arc::ptr_eq(&base, &next));
}

#[test]
fn a_pass_that_writes_nothing_copies_nothing() {
    let base: Arc<immer::Vector<Arc<Item>>> = Arc::new(items(3_000).collect());
    let next = produce(&base, |d| {
        d.for_each_mut(|_, item| assert!(!item.done));
        let mut it = d.iter_mut();
        while let Some(mut item) = it.next() {
            // Writing the value already there is no write.
            item.set_done(false);
        }
    });
    assert!(Arc::ptr_eq(&base, &next));
}

fn write_every_thousandth<P: Place<Target = immer::Vector<Arc<Item>>>>(d: &mut ListDraft<P>) {
    d.for_each_mut(|i, mut item| {
        if i % 1_000 == 7 {
            item.set_done(true);
            assert!(item.done, "a write is read back at once");
            item.id().modify(|id| *id += 1);
            assert_eq!(item.id, i as u32 + 1);
        }
    });
}

#[test]
#[allow(
    clippy::redundant_closure,
    reason = "a generic fn item is not higher-ranked over the draft's lifetimes; the closure is"
)]
fn a_pass_shares_the_elements_it_does_not_write_and_reads_its_own_writes() {
    let base: Arc<immer::Vector<Arc<Item>>> = Arc::new(items(3_000).collect());
    for recording in [false, true] {
        let next = if recording {
            let (next, patches, _) = produce_with_patches(&base, |d| write_every_thousandth(d));
            assert_eq!(patches.len(), 6);
            assert_eq!(apply_patches(&base, &patches).unwrap(), next);
            next
        } else {
            produce(&base, |d| write_every_thousandth(d))
        };
        for i in 0..3_000 {
            let written = i % 1_000 == 7;
            assert_eq!(next[i].done, written);
            assert_eq!(Arc::ptr_eq(&base[i], &next[i]), !written, "element {i}");
        }
    }
}
