//! `immer::Json`, the persistent JSON value, by property: random recipes over a document whose
//! arrays and objects cross their small/large thresholds give the patches, the inverse, the
//! diff and the state that the same recipe gives on `serde_json::Value`, and an independent
//! RFC 6902 applier agrees; untouched parts stay pointer-shared; broken patches never
//! half-apply; serde reads and writes exactly as `serde_json::Value` does. And `History`,
//! the derive and sync with it, and what a small object costs in memory.

use std::collections::BTreeSet;
use std::sync::Arc;

use immer::sync::{Follower, Leader, Recipient, ToLeader};
use immer::{
    Draftable, History, Json, JsonArray, JsonObject, Patch, Path, apply_patches, apply_patches_mut,
    diff, produce, produce_with_patches,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod common;
#[path = "support/counting.rs"]
mod counting;

// ---- What a small object costs: every allocation of this test's thread, counted.

/// The bytes `make` leaves allocated per item, for `n` items.
fn bytes_per<T>(n: usize, make: impl FnOnce() -> T) -> (T, f64) {
    let before = counting::held();
    let built = make();
    let after = counting::held();
    #[allow(clippy::cast_precision_loss, reason = "a ratio to print")]
    let per = (after - before) as f64 / n as f64;
    (built, per)
}

#[test]
fn a_small_object_costs_one_exact_allocation() {
    const N: usize = 10_000;
    let text = serde_json::to_string(
        &(0..N)
            .map(|i| json!({"id": i, "title": "x", "done": false}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (json, per_json) = bytes_per(N, || serde_json::from_str::<Json>(&text).unwrap());
    let (value, per_value) = bytes_per(N, || serde_json::from_str::<Value>(&text).unwrap());
    // What the devtools held before: each object an `imbl::OrdMap`, keys not shared.
    let (ordmaps, per_ordmap) = bytes_per(N, || {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|todo| {
                todo.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (Arc::<str>::from(k.as_str()), Json::from(v)))
                    .collect::<immer::OrdMap<Arc<str>, Json>>()
            })
            .collect::<immer::Vector<_>>()
    });
    println!(
        "bytes per {{\"id\":1,\"title\":\"x\",\"done\":false}} in an array of {N}: \
         immer::Json {per_json:.0}, serde_json::Value {per_value:.0}, \
         imbl::OrdMap<Arc<str>, Json> {per_ordmap:.0}"
    );
    // A 24-byte slot in the array, one allocation of 16 + 3 x 40 bytes, a 17-byte string:
    // no 64- or 16-slot node.
    assert!(per_json < 200.0, "{per_json} bytes per small object");
    assert!(per_json * 3.0 < per_value, "{per_json} vs {per_value}");
    assert!(per_json * 3.0 < per_ordmap, "{per_json} vs {per_ordmap}");
    assert_eq!(json, value);
    drop(ordmaps);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn a_value_is_three_words() {
    assert_eq!(std::mem::size_of::<Json>(), 24);
    assert_eq!(std::mem::size_of::<JsonArray>(), 16);
    assert_eq!(std::mem::size_of::<JsonObject>(), 16);
}

#[test]
fn a_document_reads_its_repeated_keys_once() {
    let doc: Json = serde_json::from_str(r#"[{"title": "a"}, {"title": "b"}]"#).unwrap();
    let key = |i: usize| {
        let object = doc[i].as_object().unwrap();
        object.keys().next().unwrap().as_ptr()
    };
    assert_eq!(key(0), key(1));
}

// ---- serde, conversions and the rest of the surface.

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!(-0.0)),
        "[a-c\\\\\"/\\n\\u{e9}\\u{1F600}\\u{7f}]{0,6}".prop_map(Value::from),
    ]
}

/// Any JSON document, with arrays and objects on both sides of their small/large thresholds.
fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 400, 90, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..90).prop_map(Value::Array),
            prop::collection::vec(("[a-e]{0,3}", inner), 0..45)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serde_reads_and_writes_as_serde_json_does(generated in document()) {
        // Read from one text by both (serde_json's float parsing need not give back the very
        // float written, so each is compared with what serde_json reads from the same text).
        let text = serde_json::to_string(&generated).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let read: Json = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&read, &value);
        let (compact, pretty) = (value.to_string(), format!("{value:#}"));
        prop_assert_eq!(&serde_json::to_string(&read).unwrap(), &compact);
        prop_assert_eq!(&serde_json::to_string_pretty(&read).unwrap(), &pretty);
        prop_assert_eq!(&read.to_string(), &compact);
        prop_assert_eq!(&format!("{read:#}"), &pretty);
        prop_assert_eq!(&serde_json::to_value(&read).unwrap(), &value);
        // Converted, not parsed: the same value, equal and hashed alike.
        let converted = Json::from(&value);
        prop_assert_eq!(&converted, &read);
        prop_assert_eq!(Value::from(&converted), value.clone());
        prop_assert_eq!(hash(&converted), hash(&read));
        // Read from a `Value` as a deserializer, and from its pretty text.
        prop_assert_eq!(&Json::deserialize(&value).unwrap(), &read);
        prop_assert_eq!(&pretty.parse::<Json>().unwrap(), &serde_json::from_str::<Value>(&pretty).unwrap());
        // Every value reachable by pointer, as serde_json reaches it.
        for pointer in pointers(&value) {
            prop_assert_eq!(read.pointer(&pointer).map(Value::from), value.pointer(&pointer).cloned());
        }
    }
}

fn hash(value: &Json) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// The pointers of every value in `value`, and a few that name nothing.
fn pointers(value: &Value) -> Vec<String> {
    let mut out = vec![String::new(), "/nope".to_owned(), "/0/1".to_owned()];
    let mut stack = vec![(String::new(), value)];
    while let Some((at, here)) = stack.pop() {
        match here {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{at}/{i}"), item));
                }
                out.push(format!("{at}/{}", items.len()));
            }
            Value::Object(members) => {
                for (k, item) in members {
                    let escaped = k.replace('~', "~0").replace('/', "~1");
                    stack.push((format!("{at}/{escaped}"), item));
                }
            }
            _ => {}
        }
        out.push(at);
    }
    out
}

#[test]
fn serde_edge_cases_read_as_serde_json_reads_them() {
    for text in [
        r#"{"a": 1, "a": 2}"#,
        r#"{"b": {"x": 1}, "a": [], "b": null}"#,
        "[1e400]",
        "[-0, -0.0, 18446744073709551615, -9223372036854775808, 1.5e-300]",
        r#""\u0000\ud83d\ude00""#,
        "{}",
        "[]",
    ] {
        let value: Result<Value, _> = serde_json::from_str(text);
        let json: Result<Json, _> = serde_json::from_str(text);
        match (value, json) {
            (Ok(value), Ok(json)) => {
                assert_eq!(json, value, "{text}");
                assert_eq!(json.to_string(), value.to_string(), "{text}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            (a, b) => panic!("{text}: serde_json {a:?}, Json {b:?}"),
        }
    }
    // Nesting past serde_json's limit is an error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(serde_json::from_str::<Json>(&deep).is_err());
    // As a typed field, and as an array or object alone.
    let array: JsonArray = serde_json::from_str("[1, [2]]").unwrap();
    assert_eq!(array, json!([1, [2]]));
    assert!(serde_json::from_str::<JsonArray>("{}").is_err());
    let object: JsonObject = serde_json::from_str(r#"{"k": true}"#).unwrap();
    assert_eq!(object, json!({"k": true}));
    assert!(serde_json::from_str::<JsonObject>("[]").is_err());
}

#[test]
fn the_surface_answers_as_serde_json_value_does() {
    let doc = Json::from(json!({
        "s": "text", "i": -3, "u": 7, "f": 1.5, "b": true, "n": null,
        "list": [1, "two", [3]], "obj": {"k": "v"}
    }));
    assert_eq!(doc["s"], "text");
    assert_eq!(doc["i"], -3);
    assert_eq!(doc["u"], 7_u8);
    assert_eq!(doc["f"], 1.5);
    assert_eq!(doc["b"], true);
    assert!(doc["n"].is_null() && doc["missing"].is_null() && doc["s"]["deeper"].is_null());
    assert_eq!(doc["list"][1], "two");
    assert_eq!(doc["list"][2][0], 1 + 2);
    assert!(doc["list"][99].is_null());
    assert_eq!(
        doc.get("obj").and_then(|o| o.get("k")),
        Some(&Json::from("v"))
    );
    assert_eq!(doc.get(0), None);
    assert_eq!(doc["list"].get(0), Some(&Json::from(1)));
    assert_eq!(doc.pointer("/list/2/0"), Some(&Json::from(3)));
    assert_eq!(doc.pointer("list"), None);
    assert_eq!(
        (doc["i"].as_i64(), doc["u"].as_u64(), doc["f"].as_f64()),
        (Some(-3), Some(7), Some(1.5))
    );
    assert_eq!(doc["s"].as_str(), Some("text"));
    assert_eq!(doc["b"].as_bool(), Some(true));
    assert!(doc["i"].is_i64() && !doc["i"].is_u64() && doc["f"].is_f64() && doc["u"].is_number());
    assert!(doc["list"].is_array() && doc["obj"].is_object() && doc["s"].is_string());
    assert_eq!(
        doc.as_object().map(|o| o.keys().collect::<Vec<_>>()),
        Some(vec!["b", "f", "i", "list", "n", "obj", "s", "u"])
    );
    assert_eq!(Json::default(), Json::Null);
    assert_eq!(
        format!("{:?}", doc["list"]),
        r#"Array [Number(1), Str("two"), Array [Number(3)]]"#
    );
    assert_eq!(doc.to_string(), Value::from(&doc).to_string());
    // Built from Rust values, as with `json!`.
    let built: Json = [
        ("id", Json::from(1)),
        ("title", Json::from("x")),
        ("tags", Json::from(vec!["a", "b"])),
        ("due", Json::from(None::<u32>)),
        ("ratio", Json::from(0.25_f32)),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        built,
        json!({"id": 1, "title": "x", "tags": ["a", "b"], "due": null, "ratio": 0.25})
    );
    assert_eq!(json!([1, 2]), Json::from_iter([1, 2]));
    assert!(Json::from(f64::INFINITY).is_null());
    // Edited in place, copying on write.
    let mut edited = doc.clone();
    *edited.pointer_mut("/obj/k").unwrap() = Json::from("w");
    edited["list"].get(0).unwrap();
    edited
        .get_mut("list")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(4);
    assert_eq!(doc["obj"]["k"], "v");
    assert_eq!(edited["obj"]["k"], "w");
    assert_eq!(edited["list"][3], 4);
    assert!(edited["s"].ptr_eq(&doc["s"]));
    assert!(edited.get_mut("nope").is_none() && edited.pointer_mut("/list/9").is_none());
    assert_eq!(edited.get_mut("b").map(Json::take), Some(Json::Bool(true)));
    assert!(edited["b"].is_null());
}

// ---- Random recipes: the same on `Json` and on `Value`.

fn todo(id: u32) -> Value {
    json!({"id": id, "title": format!("todo {id}"), "done": id % 3 == 0, "tags": ["t"]})
}

/// A document whose `todos` (`n` of them) and `index` (`m` members) may be on either side of
/// their thresholds (64 elements, 32 members).
fn base(n: u32, m: u32) -> Value {
    json!({
        "title": "board",
        "count": 0,
        "todos": (0..n).map(todo).collect::<Vec<_>>(),
        "index": (0..m).map(|i| (format!("k{i}"), todo(500 + i))).collect::<serde_json::Map<_, _>>(),
        "meta": {"labels": ["a", "b"], "created": 1},
    })
}

#[derive(Clone, Debug)]
enum Op {
    SetTitle(String),
    SetCount(i64),
    TodoDone(usize, bool),
    TodoTag(usize, String),
    TodoUntag(usize),
    PushTodo(u32),
    InsertTodo(usize, u32),
    RemoveTodo(usize),
    PopTodo,
    IndexInsert(u32, u32),
    IndexRemove(u32),
    IndexDone(u32, bool),
    RootInsert(String, Value),
    RootRemove(String),
    ReplaceTodos(Vec<u32>),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..90_usize;
    let k = 0..45_u32;
    let word = "[a-c]{1,2}";
    prop_oneof![
        word.prop_map(Op::SetTitle),
        (-2..2_i64).prop_map(Op::SetCount),
        (i.clone(), any::<bool>()).prop_map(|(i, b)| Op::TodoDone(i, b)),
        (i.clone(), word).prop_map(|(i, w)| Op::TodoTag(i, w)),
        i.clone().prop_map(Op::TodoUntag),
        (1000..1010_u32).prop_map(Op::PushTodo),
        (i.clone(), 1000..1010_u32).prop_map(|(i, id)| Op::InsertTodo(i, id)),
        i.clone().prop_map(Op::RemoveTodo),
        Just(Op::PopTodo),
        (k.clone(), 2000..2010_u32).prop_map(|(k, id)| Op::IndexInsert(k, id)),
        k.clone().prop_map(Op::IndexRemove),
        (k, any::<bool>()).prop_map(|(k, b)| Op::IndexDone(k, b)),
        ("[a-c]", leaf()).prop_map(|(k, v)| Op::RootInsert(k, v)),
        "[a-c]|count".prop_map(Op::RootRemove),
        prop::collection::vec(0..100_u32, 0..70).prop_map(Op::ReplaceTodos),
    ]
}

/// Runs `op` on a `JsonDraft` or a `ValueDraft`: their methods have the same names and take
/// the same arguments. Records the ids of the todos and the index keys it wrote into.
macro_rules! run {
    ($d:expr, $op:expr, $touched:expr) => {{
        let d = $d;
        let touched: &mut BTreeSet<String> = $touched;
        match $op {
            Op::SetTitle(t) => d.get_mut("title").unwrap().set(json!(t)),
            Op::SetCount(n) => {
                let _ = d.insert("count", json!(n));
            }
            Op::TodoDone(i, b) => {
                if let Some(mut t) = d.get_mut("todos").unwrap().get_index_mut(*i) {
                    touched.insert(t["id"].to_string());
                    t.insert("done", json!(b)).unwrap();
                }
            }
            Op::TodoTag(i, w) => {
                if let Some(mut t) = d.get_mut("todos").unwrap().get_index_mut(*i) {
                    touched.insert(t["id"].to_string());
                    t.get_mut("tags").unwrap().push(json!(w)).unwrap();
                }
            }
            Op::TodoUntag(i) => {
                if let Some(mut t) = d.get_mut("todos").unwrap().get_index_mut(*i) {
                    touched.insert(t["id"].to_string());
                    t.get_mut("tags").unwrap().pop();
                }
            }
            Op::PushTodo(id) => d.get_mut("todos").unwrap().push(todo(*id)).unwrap(),
            Op::InsertTodo(i, id) => {
                let _ = d.get_mut("todos").unwrap().insert_index(*i, todo(*id));
            }
            Op::RemoveTodo(i) => {
                d.get_mut("todos").unwrap().remove_index(*i);
            }
            Op::PopTodo => {
                d.get_mut("todos").unwrap().pop();
            }
            Op::IndexInsert(k, id) => {
                touched.insert(format!("k{k}"));
                let _ = d
                    .get_mut("index")
                    .unwrap()
                    .insert(&format!("k{k}"), todo(*id));
            }
            Op::IndexRemove(k) => {
                d.get_mut("index").unwrap().remove(&format!("k{k}"));
            }
            Op::IndexDone(k, b) => {
                if let Some(mut t) = d.get_mut("index").unwrap().get_mut(&format!("k{k}")) {
                    touched.insert(format!("k{k}"));
                    t.insert("done", json!(b)).unwrap();
                }
            }
            Op::RootInsert(k, v) => {
                let _ = d.insert(k, v.clone());
            }
            Op::RootRemove(k) => {
                d.remove(k);
            }
            Op::ReplaceTodos(ids) => d.get_mut("todos").unwrap().set(Value::from(
                ids.iter().map(|id| todo(*id)).collect::<Vec<_>>(),
            )),
        }
    }};
}

/// The todos of `next` (by id) and the index members (by key) that no op wrote into are the
/// base's very values.
fn untouched_parts_are_shared(
    base: &Json,
    next: &Json,
    touched: &BTreeSet<String>,
    todos_replaced: bool,
) -> Result<(), TestCaseError> {
    prop_assert!(next["meta"].ptr_eq(&base["meta"]));
    if !todos_replaced {
        for todo in next["todos"].as_array().unwrap() {
            let id = todo["id"].to_string();
            let old = base["todos"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == todo["id"]);
            if let (false, Some(old)) = (touched.contains(&id), old) {
                prop_assert!(todo.ptr_eq(old), "todo {} was copied", id);
            }
        }
    }
    for (key, member) in next["index"].as_object().unwrap() {
        if let (false, Some(old)) = (touched.contains(key), base["index"].get(key)) {
            prop_assert!(member.ptr_eq(old), "index member {} was copied", key);
        }
    }
    if touched.iter().all(|k| !k.starts_with('k')) && next["index"] == base["index"] {
        prop_assert!(next["index"].ptr_eq(&base["index"]));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn recipes_give_the_patches_and_states_of_serde_json_value(
        n in 0..90_u32,
        m in 0..45_u32,
        ops in prop::collection::vec(op(), 0..12),
    ) {
        let value_base = Arc::new(base(n, m));
        let json_base = Arc::new(Json::from(&*value_base));
        let mut touched = BTreeSet::new();
        let (next, patches, inverse) = produce_with_patches(&json_base, |d| {
            for op in &ops {
                run!(&mut *d, op, &mut touched);
            }
        });
        let (value_next, value_patches, value_inverse) = produce_with_patches(&value_base, |d| {
            for op in &ops {
                run!(&mut *d, op, &mut BTreeSet::new());
            }
        });
        // The same state and the same patches as on `serde_json::Value`.
        prop_assert_eq!(&*next, &*value_next);
        prop_assert_eq!(&patches, &value_patches);
        prop_assert_eq!(&inverse, &value_inverse);
        // And without recording, the same state.
        let quiet = produce(&json_base, |d| {
            for op in &ops {
                run!(&mut *d, op, &mut BTreeSet::new());
            }
        });
        prop_assert_eq!(&quiet, &next);
        // No patches: nothing changed (the very snapshot, when nothing was written).
        if patches.is_empty() {
            prop_assert_eq!(&next, &json_base);
        }
        if ops.is_empty() {
            prop_assert!(Arc::ptr_eq(&next, &json_base));
        }
        // Forward and back, as a whole snapshot and in place.
        let applied = apply_patches(&json_base, &patches).unwrap();
        prop_assert_eq!(&applied, &next);
        prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &json_base);
        let mut owned = (*json_base).clone();
        apply_patches_mut(&mut owned, &patches).unwrap();
        prop_assert_eq!(&owned, &*next);
        // An independent RFC 6902 applier agrees on serde's JSON.
        if let Err(message) = common::json_law(&*json_base, &*next, &patches, &inverse) {
            return Err(TestCaseError::fail(message));
        }
        // The diff of the two versions takes one to the other, both ways.
        let (forward, backward) = diff(&*json_base, &*next).unwrap();
        prop_assert_eq!(&apply_patches(&json_base, &forward).unwrap(), &next);
        prop_assert_eq!(&apply_patches(&next, &backward).unwrap(), &json_base);
        let replaced = ops.iter().any(|op| matches!(op, Op::ReplaceTodos(_)));
        // Untouched parts are shared, by the recipe and by the applied patches.
        untouched_parts_are_shared(&json_base, &next, &touched, replaced)?;
        untouched_parts_are_shared(&json_base, &applied, &touched, replaced)?;
    }
}

// ---- Broken patches: never a panic, never half applied, the same answer as on `Value`.

fn segment() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "title", "count", "todos", "index", "meta", "labels", "id", "done", "tags", "k0",
            "k31", "k40", "nope", "-", "", "0", "01", "63", "64",
        ])
        .prop_map(Value::from),
        (0..100_u64).prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!(null)),
    ]
}

fn patch() -> impl Strategy<Value = Value> {
    let op = prop::sample::select(vec![
        "add", "remove", "replace", "test", "move", "copy", "nope",
    ]);
    let path = prop::collection::vec(segment(), 0..4);
    (
        op,
        path,
        prop::option::of(leaf()),
        prop::option::of(path_strategy()),
    )
        .prop_map(|(op, path, value, from)| {
            let mut written = json!({"op": op, "path": path});
            if let Some(value) = value {
                written["value"] = value;
            }
            if let Some(from) = from {
                written["from"] = Value::from(from);
            }
            written
        })
}

fn path_strategy() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(segment(), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn broken_patches_never_half_apply(
        n in 0..80_u32,
        m in 0..40_u32,
        raw in prop::collection::vec(patch(), 1..6),
    ) {
        let value_base = Arc::new(base(n, m));
        let json_base = Arc::new(Json::from(&*value_base));
        let Ok(patches) = raw
            .iter()
            .map(|p| serde_json::from_value::<Patch>(p.clone()))
            .collect::<Result<Vec<_>, _>>()
        else {
            return Ok(());
        };
        let on_json = apply_patches(&json_base, &patches);
        let on_value = apply_patches(&value_base, &patches);
        match (&on_json, &on_value) {
            (Ok(a), Ok(b)) => prop_assert_eq!(&**a, &**b),
            // The same patch fails, the same way (a type's name aside).
            (Err(a), Err(b)) => {
                prop_assert_eq!((a.index, &a.path), (b.index, &b.path));
                prop_assert_eq!(std::mem::discriminant(&a.kind), std::mem::discriminant(&b.kind));
            }
            _ => prop_assert!(false, "Json {:?}, Value {:?}", on_json, on_value),
        }
        // The base is untouched, and in place a failure rolls every patch back.
        prop_assert_eq!(&*json_base, &*value_base);
        let mut owned = (*json_base).clone();
        let in_place = apply_patches_mut(&mut owned, &patches);
        let expected = on_json.as_ref().map_or(&*json_base, |next| &**next);
        prop_assert_eq!(in_place.is_ok(), on_json.is_ok());
        prop_assert_eq!(&owned, expected);
    }
}

// ---- History, the derive, and sync.

#[test]
fn a_history_of_json_reaches_every_version_and_replays_from_its_log() {
    let base = Arc::new(Json::from(base(100, 40)));
    let mut history = History::new(Arc::clone(&base)).with_checkpoints(8);
    let mut states = vec![Arc::clone(&base)];
    for step in 0..50_u32 {
        let i = usize::try_from(step * 7 % 90).unwrap();
        history.commit(Some(&format!("step {step}")), |d| {
            if step % 4 == 3 {
                d.get_mut("index").unwrap().insert("new", step).unwrap();
                return;
            }
            let mut todos = d.get_mut("todos").unwrap();
            match step % 4 {
                0 => drop(todos.get_index_mut(i).unwrap().insert("done", step)),
                1 => todos.insert_index(i, todo(3000 + step)).unwrap(),
                _ => drop(todos.remove_index(i)),
            }
        });
        states.push(Arc::clone(history.current()));
    }
    for (version, state) in states.iter().enumerate() {
        let at = history.state_at(version as u64).unwrap();
        assert_eq!(&at, state, "version {version}");
        // Every version shares its untouched parts with every other.
        assert!(at["meta"].ptr_eq(&base["meta"]));
    }
    history.goto(10).unwrap();
    assert_eq!(history.current(), &states[10]);
    history.undo().unwrap();
    assert_eq!(history.current(), &states[9]);
    let replayed = History::from_log(Arc::clone(&base), history.to_log().as_bytes()).unwrap();
    assert_eq!(replayed.state_at(50).unwrap(), states[50]);
    // A version's patches, found by the diff of two versions, are what changed only.
    let (patches, _) = diff(&*states[0], &*states[1]).unwrap();
    assert_eq!(
        patches,
        vec![Patch::replace(
            Path::from_pointer("/todos/0/done").unwrap(),
            json!(0)
        )]
    );
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Doc {
    title: String,
    data: Json,
}

/// Delivers every message at once, in order, with no faults.
fn pump<T: Draftable>(leader: &mut Leader<T>, followers: &mut [Follower<T>]) {
    for _ in 0..4 {
        let outgoing: Vec<ToLeader> = followers.iter_mut().flat_map(Follower::poll).collect();
        for message in outgoing {
            for out in leader.receive(message) {
                for follower in followers.iter_mut() {
                    if out.to == Recipient::All || out.to == Recipient::Session(follower.session())
                    {
                        follower.receive(out.message.clone());
                    }
                }
            }
        }
    }
}

#[test]
fn followers_of_a_json_field_converge_with_their_edits_moved_through_each_others() {
    let doc = Arc::new(Doc {
        title: "t".into(),
        data: Json::from(
            json!({"items": (0..100).map(|i| json!({"id": i, "n": 0})).collect::<Vec<_>>()}),
        ),
    });
    let mut leader = Leader::new(doc);
    let mut nodes = vec![Follower::new(leader.join(1)), Follower::new(leader.join(2))];
    // Node 2 removes item 0 while node 1 edits item 5: node 1's edit lands on item 5, at 4.
    nodes[1].edit(|d| {
        d.data().get_mut("items").unwrap().remove_index(0);
    });
    nodes[0].edit(|d| {
        let mut item = d
            .data()
            .into_mut("items")
            .unwrap()
            .into_index_mut(5)
            .unwrap();
        item.insert("n", 1).unwrap();
    });
    nodes[0].edit(|d| d.set_title("mine".into()));
    let from_2 = nodes[1].poll();
    for out in leader.receive(from_2[0].clone()) {
        for node in &mut nodes {
            node.receive(out.message.clone());
        }
    }
    pump(&mut leader, &mut nodes);
    let state = leader.state();
    assert_eq!(state.title, "mine");
    assert_eq!(state.data["items"][4], json!({"id": 5, "n": 1}));
    assert_eq!(state.data["items"].as_array().map(JsonArray::len), Some(99));
    assert!(nodes.iter().all(|n| n.state() == state && n.is_settled()));
}

#[test]
fn followers_of_a_whole_json_document_converge() {
    let mut leader = Leader::new(Arc::new(Json::from(json!({"log": [], "n": 0}))));
    let mut nodes = vec![Follower::new(leader.join(1)), Follower::new(leader.join(2))];
    for round in 0..3 {
        for (i, node) in nodes.iter_mut().enumerate() {
            node.edit(|d| {
                d.get_mut("log")
                    .unwrap()
                    .push(format!("{i}.{round}"))
                    .unwrap();
                d.insert("n", round).unwrap();
            });
        }
        pump(&mut leader, &mut nodes);
    }
    let state = leader.state();
    assert_eq!(state["log"].as_array().map(JsonArray::len), Some(6));
    assert_eq!(state["n"], 2);
    assert!(nodes.iter().all(|n| n.state() == state && n.is_settled()));
}
