//! The ecosystem's types behind features, each through `produce_with_patches`,
//! `apply_patches` and the JSON-level law with the `json-patch` crate. `.ci/run` runs this
//! file once per feature, each alone (`cargo test --features chrono --test test_features`).

#![allow(
    unused_imports,
    dead_code,
    reason = "each feature uses a part of the imports and helpers; without one, none"
)]

use std::sync::Arc;

use immer::{Draftable, apply_patches, produce_with_patches};
use serde::{Deserialize, Serialize};

mod common;

/// Both laws, by our apply and by json-patch on serde's JSON.
fn laws<T: Draftable + std::fmt::Debug>(
    base: &Arc<T>,
    next: &Arc<T>,
    patches: &[immer::Patch],
    inverse: &[immer::Patch],
) {
    assert_eq!(&apply_patches(base, patches).unwrap(), next);
    assert_eq!(&apply_patches(next, inverse).unwrap(), base);
    common::json_law(&**base, &**next, patches, inverse).unwrap();
}

#[cfg(feature = "chrono")]
#[test]
fn chrono_types_are_leaves() {
    use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Event {
        at: DateTime<Utc>,
        local: DateTime<FixedOffset>,
        day: NaiveDate,
    }
    let base = Arc::new(Event {
        at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        local: DateTime::parse_from_rfc3339("2026-12-02T10:00:00+02:00").unwrap(),
        day: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
    });
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.set_at(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        d.day().modify(|day| *day = day.succ_opt().unwrap());
    });
    assert_eq!(patches.len(), 2);
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "time")]
#[test]
fn time_types_are_leaves() {
    use time::{Date, Duration, Month, OffsetDateTime};
    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Job {
        at: OffsetDateTime,
        day: Date,
        every: Duration,
    }
    let base = Arc::new(Job {
        at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        day: Date::from_calendar_date(2026, Month::December, 2).unwrap(),
        every: Duration::minutes(5),
    });
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.set_every(Duration::minutes(10));
        d.day().modify(|day| *day = day.next_day().unwrap());
    });
    assert_eq!(patches.len(), 2);
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "uuid")]
#[test]
fn uuids_are_leaves_and_map_keys() {
    use uuid::Uuid;
    let a = Uuid::from_u128(1);
    let base: Arc<std::collections::BTreeMap<Uuid, u32>> = Arc::new([(a, 1)].into());
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.get_mut(&a).unwrap().set(2);
        d.insert(Uuid::from_u128(2), 3);
    });
    assert_eq!(patches[0].path.to_pointer(), format!("/{a}"));
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "url")]
#[test]
fn urls_are_leaves() {
    let base = Arc::new(vec![url::Url::parse("https://example.com/a").unwrap()]);
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.get_mut(0).unwrap().modify(|u| u.set_path("/b"));
    });
    assert_eq!(next[0].path(), "/b");
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "rust_decimal")]
#[test]
fn decimals_are_leaves() {
    use rust_decimal::Decimal;
    let base = Arc::new(Some(Decimal::new(1050, 2)));
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.get_mut().unwrap().modify(|x| *x += Decimal::new(25, 2));
    });
    assert_eq!(next.unwrap().to_string(), "10.75");
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "smol_str")]
#[test]
fn smol_strings_are_leaves() {
    let base = Arc::new(vec![smol_str::SmolStr::new("a")]);
    let (next, patches, inverse) = produce_with_patches(&base, |d| d.push("b".into()));
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "compact_str")]
#[test]
fn compact_strings_are_leaves() {
    let base = Arc::new(vec![compact_str::CompactString::new("a")]);
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        let _ = d.set(0, "z".into());
    });
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "bytes")]
#[test]
fn bytes_are_leaves() {
    let base = Arc::new(Some(bytes::Bytes::from_static(b"ab")));
    let (next, patches, inverse) =
        produce_with_patches(&base, |d| d.set(Some(bytes::Bytes::from_static(b"cd"))));
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "indexmap")]
#[test]
fn index_maps_and_sets_keep_their_order_in_patches() {
    use indexmap::{IndexMap, IndexSet};
    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        fields: IndexMap<String, u32>,
        tags: IndexSet<String>,
    }
    let base = Arc::new(Doc {
        fields: [("z", 1), ("a", 2), ("m", 3)]
            .map(|(k, v)| (k.to_owned(), v))
            .into(),
        tags: ["x", "b", "y"].map(str::to_owned).into(),
    });
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.fields().remove("a");
        d.fields().insert("b".into(), 4);
        d.fields().get_mut("z").unwrap().set(9);
        d.tags().remove(&"b".to_owned());
        d.tags().insert("c".into());
    });
    assert_eq!(next.fields.keys().collect::<Vec<_>>(), ["z", "m", "b"]);
    assert_eq!(next.tags.iter().collect::<Vec<_>>(), ["x", "y", "c"]);
    let paths: Vec<String> = patches.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(
        paths,
        ["/fields/a", "/fields/b", "/fields/z", "/tags/1", "/tags/2"]
    );
    laws(&base, &next, &patches, &inverse);
    // Undone: a set's element goes back to its position; a map's key removed and added again
    // comes last, as in a JavaScript object (Immer's patches name no position for keys).
    let back = apply_patches(&next, &inverse).unwrap();
    assert_eq!(back.tags.iter().collect::<Vec<_>>(), ["x", "b", "y"]);
    assert_eq!(back.fields.keys().collect::<Vec<_>>(), ["z", "m", "a"]);
}

#[cfg(feature = "smallvec")]
#[test]
fn small_vecs_are_list_drafts() {
    use smallvec::SmallVec;
    let base: Arc<SmallVec<[u32; 4]>> = Arc::new(SmallVec::from_slice(&[1, 2, 3]));
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.remove(0);
        d.push(4);
        d.push(5);
        d.get_mut(0).unwrap().set(20);
    });
    assert_eq!(next.as_slice(), [20, 3, 4, 5]);
    laws(&base, &next, &patches, &inverse);
}

#[cfg(feature = "arrayvec")]
#[test]
fn array_vecs_are_list_drafts_that_refuse_what_does_not_fit() {
    use arrayvec::ArrayVec;
    let base: Arc<ArrayVec<u32, 3>> = Arc::new([1, 2].into_iter().collect());
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.push(3);
        assert_eq!(d.insert(0, 9), Err(9), "full: the value comes back");
        d.get_mut(1).unwrap().set(20);
    });
    assert_eq!(next.as_slice(), [1, 20, 3]);
    laws(&base, &next, &patches, &inverse);
    // An `add` into a full one is an error, never a panic, and nothing is applied.
    let add = immer::Patch::add(immer::Path::from_pointer("/0").unwrap(), 7.into());
    let error = apply_patches(&next, &[add]).unwrap_err();
    assert!(
        matches!(error.kind, immer::PatchErrorKind::ListFull { len: 3 }),
        "{error}"
    );
}
