//! The std types serde writes as one value are leaves out of the box: each through
//! `produce_with_patches`, `apply_patches` and the JSON-level law with the `json-patch` crate.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::{NonZeroI64, NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use immer::{Draftable, apply_patches, produce_with_patches};
use serde::{Deserialize, Serialize};

mod common;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Settings {
    timeout: Duration,
    started: SystemTime,
    home: PathBuf,
    address: IpAddr,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
    listen: SocketAddr,
    workers: NonZeroU32,
    limit: Option<NonZeroUsize>,
    offset: NonZeroI64,
    name: Cow<'static, str>,
    history: Vec<Duration>,
}

fn settings() -> Arc<Settings> {
    Arc::new(Settings {
        timeout: Duration::from_millis(1_500),
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        home: PathBuf::from("/home/ann"),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        v4: Ipv4Addr::new(10, 0, 0, 1),
        v6: Ipv6Addr::LOCALHOST,
        listen: "127.0.0.1:8080".parse().unwrap(),
        workers: NonZeroU32::new(4).unwrap(),
        limit: None,
        offset: NonZeroI64::new(-3).unwrap(),
        name: Cow::Borrowed("default"),
        history: vec![Duration::from_secs(1)],
    })
}

#[test]
fn std_types_are_leaves_with_patches_that_apply_both_ways() {
    let base = settings();
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.set_timeout(Duration::from_secs(3));
        d.started()
            .set(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        d.home().modify(|p| p.push("projects"));
        d.set_address(IpAddr::V6(Ipv6Addr::LOCALHOST));
        d.set_v4(Ipv4Addr::new(10, 0, 0, 2));
        d.set_v6(Ipv6Addr::UNSPECIFIED);
        d.set_listen("0.0.0.0:9090".parse().unwrap());
        d.set_workers(NonZeroU32::new(8).unwrap());
        d.limit().set(NonZeroUsize::new(100));
        d.set_offset(NonZeroI64::new(7).unwrap());
        d.set_name(Cow::Owned("custom".into()));
        d.history().push(Duration::from_millis(250));
    });
    assert_eq!(patches.len(), 12);
    assert_eq!(next.home, PathBuf::from("/home/ann/projects"));
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    common::json_law(&*base, &*next, &patches, &inverse).unwrap();
    // And an equal value changes nothing.
    let (same, none, _) = produce_with_patches(&base, |d| {
        d.set_timeout(Duration::from_millis(1_500));
        d.set_name(Cow::Owned("default".into()));
    });
    assert!(none.is_empty());
    assert!(Arc::ptr_eq(&same, &base));
}

#[test]
fn a_non_zero_integer_refuses_zero_from_a_patch() {
    let base = settings();
    let bad = immer::Patch::replace(immer::Path::from_pointer("/workers").unwrap(), 0.into());
    let error = apply_patches(&base, &[bad]).unwrap_err();
    assert!(
        matches!(error.kind, immer::PatchErrorKind::InvalidValue { .. }),
        "{error}"
    );
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Window {
    size: (u32, u32),
    corner: (i64, i64, String),
    nested: Vec<(String, Vec<u8>)>,
}

#[test]
fn tuples_draft_element_by_element_with_positions_as_paths() {
    let base = Arc::new(Window {
        size: (800, 600),
        corner: (0, 0, "top-left".into()),
        nested: vec![("a".into(), vec![1])],
    });
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.size().set_0(1024);
        d.size()._1().set(768);
        d.corner()._2().modify(|s| s.push('!'));
        d.nested().get_mut(0).unwrap()._1().push(2);
    });
    let paths: Vec<String> = patches.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(paths, ["/size/0", "/size/1", "/corner/2", "/nested/0/1/1"]);
    assert_eq!(next.size, (1024, 768));
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    common::json_law(&*base, &*next, &patches, &inverse).unwrap();
    // The diff goes element by element too.
    let (diffed, _) = immer::diff(&*base, &*next).unwrap();
    assert_eq!(apply_patches(&base, &diffed).unwrap(), next);
    // A position past the end is an error, never a panic.
    let bad = immer::Patch::replace(immer::Path::from_pointer("/size/2").unwrap(), 1.into());
    assert!(matches!(
        apply_patches(&base, &[bad]).unwrap_err().kind,
        immer::PatchErrorKind::IndexOutOfRange { index: 2, len: 2 }
    ));
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Grid {
    cells: [[u8; 3]; 2],
    names: [String; 2],
}

#[test]
fn arrays_draft_by_index_and_keep_their_length() {
    let base = Arc::new(Grid {
        cells: [[0; 3]; 2],
        names: ["a".into(), "b".into()],
    });
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.cells().get_mut(1).unwrap().set(2, 9).unwrap();
        assert!(d.cells().get_mut(2).is_none());
        assert!(d.names().swap(0, 1));
        d.names().get_mut(0).unwrap().modify(|s| s.push('!'));
    });
    assert_eq!(next.cells, [[0, 0, 0], [0, 0, 9]]);
    assert_eq!(next.names, ["b!".to_string(), "a".to_string()]);
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    common::json_law(&*base, &*next, &patches, &inverse).unwrap();
    let (diffed, _) = immer::diff(&*base, &*next).unwrap();
    assert_eq!(apply_patches(&base, &diffed).unwrap(), next);
    // A fixed length: an `add` into an array is refused, the state untouched.
    let add = immer::Patch::add(immer::Path::from_pointer("/names/1").unwrap(), "c".into());
    let error = apply_patches(&base, &[add]).unwrap_err();
    assert!(
        matches!(error.kind, immer::PatchErrorKind::Malformed { .. }),
        "{error}"
    );
}
