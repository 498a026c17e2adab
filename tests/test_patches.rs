//! Patches: Immer's format, one per operation, folding, errors, atomicity, pointers.

use std::collections::BTreeMap;
use std::sync::Arc;

use immer::{
    Draftable, Drafting, Patch, PatchErrorKind, PatchOp, Path, PathSegment, Vector, apply_patches,
    apply_patches_mut, from_json_patch, produce, produce_with_patches, to_json_patch,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vector<Todo>,
    members: BTreeMap<String, Member>,
    archived: Option<Todo>,
    owner: Arc<User>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    text: String,
    done: bool,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Member {
    active: bool,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
}

fn todo(id: u64) -> Todo {
    Todo {
        id,
        text: format!("todo {id}"),
        done: false,
    }
}

fn board(n: u64) -> Arc<Board> {
    Arc::new(Board {
        title: "board".into(),
        todos: (0..n).map(todo).collect(),
        members: BTreeMap::from([("ann".into(), Member { active: true })]),
        archived: None,
        owner: Arc::new(User { name: "ann".into() }),
    })
}

fn patches(json: Value) -> Vec<Patch> {
    serde_json::from_value(json).unwrap()
}

#[test]
fn patches_are_immers_json() {
    let base = board(5);
    let (_, forward, inverse) =
        produce_with_patches(&base, |d| d.todos().get_mut(3).unwrap().set_done(true));
    assert_eq!(
        serde_json::to_value(&forward).unwrap(),
        json!([{"op": "replace", "path": ["todos", 3, "done"], "value": true}])
    );
    assert_eq!(
        serde_json::to_value(&inverse).unwrap(),
        json!([{"op": "replace", "path": ["todos", 3, "done"], "value": false}])
    );
}

#[test]
fn one_patch_per_operation_at_any_size() {
    let base = board(100_000);
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.todos().remove(0);
    });
    assert_eq!(
        serde_json::to_value(&forward).unwrap(),
        json!([{"op": "remove", "path": ["todos", 0]}])
    );
    assert_eq!(inverse.len(), 1);
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

#[test]
fn repeated_writes_to_one_path_fold_into_one_patch() {
    let base = board(3);
    let (_, forward, inverse) = produce_with_patches(&base, |d| {
        d.set_title("a".into());
        d.todos().get_mut(1).unwrap().set_text("x".into());
        d.set_title("b".into());
        d.set_title("c".into());
    });
    assert_eq!(
        serde_json::to_value(&forward).unwrap(),
        json!([
            {"op": "replace", "path": ["title"], "value": "c"},
            {"op": "replace", "path": ["todos", 1, "text"], "value": "x"},
        ])
    );
    assert_eq!(
        inverse[1],
        Patch::replace(Path::from(vec!["title".into()]), json!("board"))
    );
}

#[test]
fn writes_that_end_where_they_started_leave_no_patch() {
    let base = board(3);
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.set_title("changed".into());
        d.set_title("board".into());
        let mut todos = d.todos();
        todos.get_mut(0).unwrap().set_done(true);
        todos.get_mut(0).unwrap().set_done(false);
        todos.push(todo(9));
        todos.pop();
        let mut members = d.members();
        members.insert("bob".into(), Member { active: false });
        members.remove(&"bob".to_string());
        let removed = members.remove(&"ann".to_string()).unwrap();
        members.insert("ann".into(), removed);
    });
    assert_eq!(forward, []);
    assert_eq!(inverse, []);
    assert_eq!(next, base);
}

#[test]
fn a_replaced_then_removed_key_is_one_remove() {
    let base = board(0);
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.members()
            .get_mut(&"ann".to_string())
            .unwrap()
            .set_active(false);
        d.members().insert("ann".into(), Member { active: false });
        d.members().remove(&"ann".to_string());
    });
    // The field write under the key and the key's removal stay two patches: a patch below a
    // path is never folded into one at the path.
    assert_eq!(forward.last().map(|p| p.op), Some(PatchOp::Remove));
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

#[test]
fn folds_never_reorder_a_parent_past_its_child() {
    let base = board(2);
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.set_owner(Arc::new(User { name: "x".into() }));
        d.owner().set_name("y".into());
        d.set_owner(Arc::new(User { name: "z".into() }));
        // A list insert shifts later elements: a write after it is not folded before it.
        d.todos().get_mut(1).unwrap().set_text("one".into());
        d.todos().insert(0, todo(7)).unwrap();
        d.todos().get_mut(2).unwrap().set_text("two".into());
    });
    assert_eq!(next.owner.name, "z");
    assert_eq!(next.todos[2].text, "two");
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

fn drop_every_third<P: immer::Place<Target = Vector<Todo>>>(todos: &mut immer::ListDraft<P>) {
    todos.retain(|t| t.id % 3 != 0);
}

#[test]
fn produce_records_nothing_and_matches_produce_with_patches() {
    let base = board(10);
    let plain = produce(&base, |d| drop_every_third(&mut d.todos()));
    let (recorded, forward, _) = produce_with_patches(&base, |d| drop_every_third(&mut d.todos()));
    assert_eq!(plain, recorded);
    assert_eq!(forward.len(), 4);
}

#[test]
fn apply_shares_everything_off_the_patched_paths() {
    let base = board(1_000);
    let forward = patches(json!([
        {"op": "replace", "path": ["todos", 500, "done"], "value": true},
        {"op": "add", "path": ["members", "bob"], "value": {"active": false}},
    ]));
    let next = apply_patches(&base, &forward).unwrap();
    assert!(next.todos[500].done);
    assert!(Arc::ptr_eq(&base.owner, &next.owner));
    assert!(!Arc::ptr_eq(&base, &next));
    assert!(Arc::ptr_eq(&base, &apply_patches(&base, &[]).unwrap()));
}

fn error_of(base: &Arc<Board>, patch: Value) -> immer::PatchError {
    let list = vec![
        Patch::replace(Path::from(vec!["title".into()]), json!("first")),
        serde_json::from_value(patch).unwrap(),
    ];
    let error = apply_patches(base, &list).unwrap_err();
    assert_eq!(error.index, 1);
    error
}

#[test]
fn errors_name_the_patch_the_path_and_the_reason() {
    let base = board(2);
    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["titel"], "value": "x"}),
    );
    assert!(
        matches!(&e.kind, PatchErrorKind::UnknownField { field, type_name: "Board", .. } if field == "titel")
    );
    assert_eq!(
        e.to_string(),
        "patch 1 at \"/titel\": `Board` has no field `titel`; expected one of `title`, `todos`, `members`, `archived`, `owner`"
    );

    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["todos", 9, "done"], "value": true}),
    );
    assert_eq!(e.kind, PatchErrorKind::IndexOutOfRange { index: 9, len: 2 });
    assert_eq!(e.path.to_pointer(), "/todos/9/done");

    let e = error_of(
        &base,
        json!({"op": "add", "path": ["todos", 3], "value": {"id": 1, "text": "", "done": false}}),
    );
    assert_eq!(e.kind, PatchErrorKind::IndexOutOfRange { index: 3, len: 2 });

    let e = error_of(&base, json!({"op": "remove", "path": ["members", "zed"]}));
    assert_eq!(e.kind, PatchErrorKind::MissingKey { key: "zed".into() });

    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["todos", 0, "done"], "value": "yes"}),
    );
    assert!(
        matches!(&e.kind, PatchErrorKind::InvalidValue { message } if message.contains("expected a boolean")),
        "{e}"
    );

    let e = error_of(&base, json!({"op": "remove", "path": ["title"]}));
    assert!(
        matches!(e.kind, PatchErrorKind::RemoveRequired { .. }),
        "{e}"
    );

    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["title", "len"], "value": 1}),
    );
    assert!(matches!(e.kind, PatchErrorKind::ThroughLeaf { .. }), "{e}");

    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["archived", "done"], "value": true}),
    );
    assert_eq!(e.kind, PatchErrorKind::ThroughNone);

    let e = error_of(
        &base,
        json!({"op": "replace", "path": ["todos", "first"], "value": {}}),
    );
    assert!(matches!(e.kind, PatchErrorKind::NotAnIndex { .. }), "{e}");

    let e = error_of(&base, json!({"op": "add", "path": ["title"]}));
    assert!(matches!(e.kind, PatchErrorKind::Malformed { .. }), "{e}");

    let e = from_json_patch(
        &json!([{"op": "add", "path": "/a", "value": 1}, {"op": "add", "path": "a~2", "value": 1}]),
    )
    .unwrap_err();
    assert_eq!(e.index, 1);
    assert!(
        matches!(e.kind, PatchErrorKind::MalformedPointer { .. }),
        "{e}"
    );
}

#[test]
fn a_failing_list_leaves_the_state_as_it_was() {
    let base = board(3);
    let list = patches(json!([
        {"op": "replace", "path": ["title"], "value": "new"},
        {"op": "remove", "path": ["todos", 0]},
        {"op": "add", "path": ["members", "bob"], "value": {"active": true}},
        {"op": "replace", "path": ["todos", 7, "done"], "value": true},
    ]));
    let before = (*base).clone();
    assert_eq!(apply_patches(&base, &list).unwrap_err().index, 3);
    assert_eq!(*base, before);

    let mut owned = (*base).clone();
    let error = apply_patches_mut(&mut owned, &list).unwrap_err();
    assert_eq!(error.index, 3);
    assert_eq!(owned, before);

    apply_patches_mut(&mut owned, &list[..3]).unwrap();
    assert_eq!(owned.title, "new");
    assert_eq!(owned.todos.len(), 2);
}

#[test]
fn option_fields_take_remove_and_null() {
    let base = board(1);
    let next = apply_patches(&base, &patches(json!([{"op": "add", "path": ["archived"], "value": {"id": 5, "text": "t", "done": true}}]))).unwrap();
    assert_eq!(next.archived.as_ref().map(|t| t.id), Some(5));
    let cleared = apply_patches(
        &next,
        &patches(json!([{"op": "remove", "path": ["archived"]}])),
    )
    .unwrap();
    assert_eq!(cleared.archived, None);
    let nulled = apply_patches(
        &next,
        &patches(json!([{"op": "replace", "path": ["archived"], "value": null}])),
    )
    .unwrap();
    assert_eq!(nulled.archived, None);
}

#[test]
fn json_pointers_and_rfc6902_documents_round_trip() {
    let path = Path::from(vec![
        PathSegment::from("a/b"),
        PathSegment::from("m~n"),
        PathSegment::Index(0),
        PathSegment::from(""),
    ]);
    assert_eq!(path.to_pointer(), "/a~1b/m~0n/0/");
    assert_eq!(Path::from_pointer(&path.to_pointer()).unwrap(), path);
    assert_eq!(Path::from_pointer("").unwrap(), Path::root());
    assert_eq!(
        Path::from_pointer("/01").unwrap().segments(),
        [PathSegment::from("01")]
    );
    assert!(Path::from_pointer("no-slash").is_err());
    assert!(Path::from_pointer("/bad~").is_err());

    let base = board(3);
    let (next, forward, _) = produce_with_patches(&base, |d| {
        d.todos().remove(1);
        d.members().insert("a/b".into(), Member { active: false });
    });
    let document = to_json_patch(&forward);
    assert_eq!(document[0], json!({"op": "remove", "path": "/todos/1"}));
    assert_eq!(document[1]["path"], json!("/members/a~1b"));
    let back = from_json_patch(&document).unwrap();
    assert_eq!(apply_patches(&base, &back).unwrap(), next);
}

#[test]
fn rfc6902_test_move_and_copy_apply_to_typed_state() {
    let base = board(3);
    let document = json!([
        {"op": "test", "path": "/todos/0/id", "value": 0},
        {"op": "copy", "from": "/todos/0", "path": "/archived"},
        {"op": "move", "from": "/todos/2", "path": "/todos/0"},
        {"op": "test", "path": "/todos/0/id", "value": 2.0},
    ]);
    let next = apply_patches(&base, &from_json_patch(&document).unwrap()).unwrap();
    assert_eq!(
        next.todos.iter().map(|t| t.id).collect::<Vec<_>>(),
        [2, 0, 1]
    );
    assert_eq!(next.archived.as_ref().map(|t| t.id), Some(0));

    let failing = json!([{"op": "test", "path": "/title", "value": "other"}]);
    let e = apply_patches(&base, &from_json_patch(&failing).unwrap()).unwrap_err();
    assert!(matches!(e.kind, PatchErrorKind::TestFailed { .. }));
    let into_itself = json!([{"op": "move", "from": "/todos", "path": "/todos/0"}]);
    assert!(apply_patches(&base, &from_json_patch(&into_itself).unwrap()).is_err());
}

#[test]
fn a_drafting_session_spans_steps_and_folds_them() {
    let base = board(3);
    let mut session = Drafting::with_patches(&base);
    session.draft().set_title("step 1".into());
    session.draft().todos().get_mut(0).unwrap().set_done(true);
    assert_eq!(session.current().title, "step 1");
    session.draft().set_title("step 2".into());
    let produced = session.finish().unwrap();
    assert_eq!(produced.patches.len(), 2);
    assert_eq!(
        apply_patches(&base, &produced.patches).unwrap(),
        produced.state
    );
    assert_eq!(
        apply_patches(&produced.state, &produced.inverse).unwrap(),
        base
    );

    let mut quiet = Drafting::new(&base);
    quiet.draft().set_title("x".into());
    let produced = quiet.finish().unwrap();
    assert!(produced.patches.is_empty());
    assert_eq!(produced.state.title, "x");
}

#[test]
fn serde_json_values_draft_and_record() {
    let base = Arc::new(json!({"tags": ["a"], "meta": {"n": 1}}));
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.get_mut("tags").unwrap().push(json!("b")).unwrap();
        d.get_mut("meta").unwrap().insert("n", json!(2)).unwrap();
        d.remove("missing");
        d.get_mut("tags")
            .unwrap()
            .get_index_mut(0)
            .unwrap()
            .set(json!("z"));
    });
    assert_eq!(*next, json!({"tags": ["z", "b"], "meta": {"n": 2}}));
    assert_eq!(forward.len(), 3);
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Renamed {
    first_name: String,
    #[serde(rename = "years")]
    age: u32,
    #[serde(default)]
    nick_name: String,
    #[serde(skip)]
    cache: u64,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Extra {
    color: String,
}

#[test]
fn paths_use_serde_names() {
    let base = Arc::new(Renamed {
        first_name: "a".into(),
        age: 1,
        nick_name: "n".into(),
        cache: 9,
        extra: Extra {
            color: "red".into(),
        },
    });
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.set_first_name("b".into());
        d.set_age(2);
        d.extra().set_color("blue".into());
    });
    assert_eq!(
        serde_json::to_value(&forward).unwrap(),
        json!([
            {"op": "replace", "path": ["first-name"], "value": "b"},
            {"op": "replace", "path": ["years"], "value": 2},
            {"op": "replace", "path": ["color"], "value": "blue"},
        ])
    );
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    // A default field is reset by `remove`; a skipped one is not in patches.
    let reset = apply_patches(
        &base,
        &patches(json!([{"op": "remove", "path": ["nick-name"]}])),
    )
    .unwrap();
    assert_eq!(reset.nick_name, "");
    assert!(
        apply_patches(
            &base,
            &patches(json!([{"op": "replace", "path": ["cache"], "value": 1}]))
        )
        .is_err()
    );
    assert!(
        apply_patches(
            &base,
            &patches(json!([{"op": "remove", "path": ["first-name"]}]))
        )
        .is_err()
    );
}

#[test]
fn immer_set_patches_apply_by_value() {
    let base = Arc::new(std::collections::BTreeSet::from([1_u8, 2, 3]));
    let next = apply_patches(
        &base,
        &patches(json!([
            {"op": "remove", "path": [0], "value": 2},
            {"op": "add", "path": [5], "value": 9},
            {"op": "remove", "path": [0]},
        ])),
    )
    .unwrap();
    assert_eq!(*next, std::collections::BTreeSet::from([3, 9]));
}

/// A map key whose `Serialize` fails: it has no JSON form, so no patch path can name it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
struct Opaque(u8);

impl Serialize for Opaque {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("opaque keys have no JSON form"))
    }
}

immer::leaf!(Opaque);

#[test]
fn a_map_key_with_no_json_form_fails_the_recording() {
    // Such keys once all got one placeholder path, so two different keys shared a path.
    let base = Arc::new(BTreeMap::from([(Opaque(1), 1_u8), (Opaque(2), 2)]));
    let error = immer::try_produce_with_patches(&base, |d| {
        d.get_mut(&Opaque(1)).unwrap().set(10);
        d.get_mut(&Opaque(2)).unwrap().set(20);
    })
    .unwrap_err();
    assert!(error.to_string().contains("no JSON form"), "{error}");
    // Without recording, the same recipe works.
    let next = immer::produce(&base, |d| d.get_mut(&Opaque(1)).unwrap().set(10));
    assert_eq!(next[&Opaque(1)], 10);
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Blob {
    #[draft(leaf)]
    bytes: Vec<u8>,
}

#[test]
fn errors_name_leaf_types_as_written() {
    let base = Arc::new(Blob { bytes: vec![1] });
    let patch = Patch::replace(Path::from_pointer("/bytes/0").unwrap(), json!(2));
    let error = apply_patches(&base, &[patch]).unwrap_err();
    assert!(
        error.to_string().contains("`Vec<u8>`"),
        "{error} should name `Vec<u8>`"
    );
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Deep {
    list: Vec<Vec<u32>>,
    note: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Outer {
    deep: Deep,
    matrix: Vec<Vec<u32>>,
    other: u32,
}

fn outer() -> Arc<Outer> {
    Arc::new(Outer {
        deep: Deep {
            list: vec![vec![1, 2], vec![3]],
            note: "n".into(),
        },
        matrix: Vec::new(),
        other: 0,
    })
}

#[test]
fn a_replace_of_a_subtree_subsumes_the_writes_inside_it() {
    let base = outer();
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.deep().list().get_mut(0).unwrap().remove(0);
        d.deep().set_note("m".into());
        d.set_other(1);
        d.set_deep(Deep {
            list: vec![],
            note: "x".into(),
        });
    });
    let paths: Vec<String> = patches.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(paths, ["/other", "/deep"]);
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    // Writes that end where they started leave nothing, subsumed ones included.
    let (same, patches, _) = produce_with_patches(&base, |d| {
        d.deep().set_note("changed".into());
        d.set_deep(base.deep.clone());
    });
    assert!(patches.is_empty(), "{patches:?}");
    assert_eq!(same, base);
}

#[test]
fn a_write_inside_a_value_the_recipe_added_goes_into_its_patch() {
    let base = outer();
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        d.matrix().push(vec![1]);
        d.matrix().get_mut(0).unwrap().set(0, 5).unwrap();
        d.matrix().get_mut(0).unwrap().push(6);
    });
    assert_eq!(
        serde_json::to_value(&patches).unwrap(),
        json!([{"op": "add", "path": ["matrix", 0], "value": [5, 6]}])
    );
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

/// A tuple struct with a skipped element: serde writes the others closed up, and the patches
/// (and typed paths) name them where serde writes them.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Gapped(
    u32,
    #[serde(skip)] u32,
    String,
    #[serde(skip_deserializing)] u8,
    bool,
);

#[test]
fn a_tuple_structs_elements_close_up_around_a_skipped_one() {
    let base = Arc::new(Gapped(1, 7, "a".into(), 3, false));
    assert_eq!(
        serde_json::to_value(&*base).unwrap(),
        serde_json::json!([1, "a", 3, false])
    );
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.set_2("b".into());
        d.set_4(true);
    });
    let paths: Vec<String> = forward.iter().map(|p| p.path.to_pointer()).collect();
    assert_eq!(paths, ["/1", "/3"]);
    assert_eq!(immer::path::<Gapped>()._2().pattern().to_string(), "/1");
    assert_eq!(immer::path::<Gapped>()._4().pattern().to_string(), "/3");
    // The patches, applied by an independent JSON Patch implementation to serde's JSON, give
    // serde's JSON of the result; and they apply back through the typed state.
    let mut json = serde_json::to_value(&*base).unwrap();
    let ops: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(to_json_patch(&forward)).unwrap()).unwrap();
    json_patch::patch(&mut json, &ops).unwrap();
    assert_eq!(json, serde_json::to_value(&*next).unwrap());
    assert_eq!(*apply_patches(&next, &inverse).unwrap(), *base);
}
