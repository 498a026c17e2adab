//! Which patches touch a path pattern: [`PathPattern::touches`], on cases picked by hand with
//! their answers written by hand, and on generated cases; all of them are written to
//! `tests/data/touches.json`, which the JavaScript client's `touches` replays. The file is
//! checked against the answers of this crate and rewritten only with `IMMER_UPDATE_VECTORS=1`.

#[path = "support/vectors.rs"]
mod vectors;
use vectors::Rng;

use immer::{Patch, PathPattern};
use serde_json::{Value, json};

/// `(pattern, op, path, from, touches)`, each answer worked out from the rules by hand.
#[allow(clippy::too_many_lines, reason = "one table of cases reads best whole")]
fn hand_picked() -> Vec<(&'static str, &'static str, Value, Option<Value>, bool)> {
    vec![
        // A literal is a list index only when it fits one (u64): past that, no shift.
        (
            "/todos/99999999999999999999",
            "add",
            json!(["todos", 0]),
            None,
            false,
        ),
        (
            "/todos/18446744073709551615",
            "add",
            json!(["todos", 0]),
            None,
            true,
        ),
        ("/todos/01", "add", json!(["todos", 0]), None, false),
        // Rule 1: at, inside or above what the pattern names.
        (
            "/todos/*/done",
            "replace",
            json!(["todos", 3, "done"]),
            None,
            true,
        ),
        (
            "/todos/*/done",
            "replace",
            json!(["todos", 3, "text"]),
            None,
            false,
        ),
        ("/todos/*/done", "replace", json!(["todos", 3]), None, true),
        ("/todos/*/done", "replace", json!(["todos"]), None, true),
        ("/todos/*/done", "replace", json!([]), None, true),
        ("/todos/*/done", "replace", json!(["title"]), None, false),
        (
            "/todos/*/done",
            "replace",
            json!(["todos", 3, "done", "x"]),
            None,
            true,
        ),
        (
            "/todos/*/done",
            "add",
            json!(["todos", 3, "done"]),
            None,
            true,
        ),
        (
            "/todos/*/done",
            "remove",
            json!(["todos", 3, "text"]),
            None,
            false,
        ),
        ("/todos/*/done", "add", json!(["todos", 0]), None, true),
        ("/todos/*/done", "remove", json!(["todos", 0]), None, true),
        (
            "/todos/*/done",
            "remove",
            json!(["todos", 1, "tags", 0]),
            None,
            false,
        ),
        ("/title", "replace", json!(["title", "x"]), None, true),
        ("/a/b/c", "replace", json!(["a"]), None, true),
        ("/a/b/c", "remove", json!(["a", "b"]), None, true),
        ("/a/0/c", "add", json!(["a"]), None, true),
        // The root pattern: every write touches the whole state.
        ("", "replace", json!(["title"]), None, true),
        ("", "remove", json!(["todos", 0]), None, true),
        ("", "replace", json!([]), None, true),
        ("", "move", json!(["b"]), Some(json!(["a"])), true),
        // `**`: everything from there on, and what is above it.
        ("/**", "replace", json!(["title"]), None, true),
        ("/**", "replace", json!([]), None, true),
        ("/**", "add", json!(["todos", 0]), None, true),
        ("/todos/**", "replace", json!(["todos"]), None, true),
        ("/todos/**", "replace", json!([]), None, true),
        ("/todos/**", "replace", json!(["title"]), None, false),
        (
            "/todos/**",
            "remove",
            json!(["todos", 5, "tags", 0]),
            None,
            true,
        ),
        ("/todos/**", "replace", json!(["todosX"]), None, false),
        (
            "/settings/**",
            "add",
            json!(["settings", "theme"]),
            None,
            true,
        ),
        // Rule 2: an insertion or a removal shifts what a literal index names, at or after it.
        (
            "/todos/3/done",
            "replace",
            json!(["todos", 3, "done"]),
            None,
            true,
        ),
        (
            "/todos/3/done",
            "replace",
            json!(["todos", 2, "done"]),
            None,
            false,
        ),
        ("/todos/3/done", "replace", json!(["todos", 4]), None, false),
        ("/todos/3/done", "add", json!(["todos", 2]), None, true),
        ("/todos/3/done", "add", json!(["todos", 3]), None, true),
        ("/todos/3/done", "add", json!(["todos", 4]), None, false),
        ("/todos/3/done", "remove", json!(["todos", 3]), None, true),
        ("/todos/3/done", "remove", json!(["todos", 4]), None, false),
        ("/todos/3/done", "remove", json!(["todos", 0]), None, true),
        ("/todos/3/done", "add", json!(["todos", "-"]), None, true),
        ("/todos/3/done", "replace", json!(["todos", 0]), None, false),
        (
            "/todos/3/done",
            "remove",
            json!(["todos", 1, "tags", 0]),
            None,
            false,
        ),
        (
            "/todos/3/done",
            "add",
            json!(["todos", 1, "done"]),
            None,
            false,
        ),
        ("/2", "add", json!([0]), None, true),
        ("/2", "add", json!([3]), None, false),
        ("/2", "remove", json!([2]), None, true),
        ("/2", "add", json!(["-"]), None, true),
        (
            "/todos/2/tags/1",
            "remove",
            json!(["todos", 2, "tags", 0]),
            None,
            true,
        ),
        (
            "/todos/2/tags/1",
            "remove",
            json!(["todos", 1, "tags", 0]),
            None,
            false,
        ),
        ("/todos/2/tags/1", "remove", json!(["todos", 1]), None, true),
        (
            "/todos/2/tags/1",
            "add",
            json!(["todos", 2, "tags", "-"]),
            None,
            true,
        ),
        ("/todos/2/tags/1", "add", json!(["todos", 3]), None, false),
        (
            "/todos/2/tags/1",
            "replace",
            json!(["todos", 2, "tags"]),
            None,
            true,
        ),
        (
            "/todos/*/tags/1",
            "remove",
            json!(["todos", 7, "tags", 0]),
            None,
            true,
        ),
        (
            "/todos/*/tags/1",
            "remove",
            json!(["todos", 7, "tags", 2]),
            None,
            false,
        ),
        ("/todos/*/tags/1", "remove", json!(["todos", 7]), None, true),
        // `-`: an append, and a literal `-`, which is no index.
        ("/todos/*", "add", json!(["todos", "-"]), None, true),
        ("/todos/-", "add", json!(["todos", "-"]), None, true),
        ("/todos/-", "add", json!(["todos", 2]), None, false),
        ("/todos/-", "remove", json!(["todos", 0]), None, false),
        // Digit keys of an object shift nothing; a literal matches a key or an index.
        ("/settings/3", "add", json!(["settings", "1"]), None, false),
        (
            "/settings/3",
            "remove",
            json!(["settings", "1"]),
            None,
            false,
        ),
        ("/settings/3", "remove", json!(["settings", 1]), None, true),
        (
            "/settings/3",
            "replace",
            json!(["settings", "3"]),
            None,
            true,
        ),
        ("/settings/3", "replace", json!(["settings", 3]), None, true),
        ("/todos/03", "remove", json!(["todos", 0]), None, false),
        ("/todos/03", "replace", json!(["todos", "03"]), None, true),
        ("/todos/03", "replace", json!(["todos", 3]), None, false),
        // Rule 3: a move removes at `from` and adds at `path`; a copy only adds.
        (
            "/todos/3/done",
            "move",
            json!(["todos", 5]),
            Some(json!(["todos", 1])),
            true,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["todos", 4]),
            Some(json!(["todos", 5])),
            false,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["todos", 0]),
            Some(json!(["todos", 5])),
            true,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["todos", 6]),
            Some(json!(["todos", 3])),
            true,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["todos", 3, "done"]),
            Some(json!(["title"])),
            true,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["title"]),
            Some(json!(["todos", 3, "done"])),
            true,
        ),
        (
            "/todos/3/done",
            "move",
            json!(["b"]),
            Some(json!(["a"])),
            false,
        ),
        (
            "/title",
            "move",
            json!(["subtitle"]),
            Some(json!(["title"])),
            true,
        ),
        (
            "/title",
            "move",
            json!(["title"]),
            Some(json!(["subtitle"])),
            true,
        ),
        (
            "/todos/3/done",
            "copy",
            json!(["todos", 9]),
            Some(json!(["todos", 3])),
            false,
        ),
        (
            "/todos/3/done",
            "copy",
            json!(["todos", 1]),
            Some(json!(["todos", 9])),
            true,
        ),
        (
            "/todos/3/done",
            "copy",
            json!(["todos", 3, "done"]),
            Some(json!(["todos", 0])),
            true,
        ),
        // A test writes nothing and shifts nothing; rule 1 reads it like any op.
        (
            "/todos/3/done",
            "test",
            json!(["todos", 3, "done"]),
            None,
            true,
        ),
        ("/todos/3/done", "test", json!(["todos", 0]), None, false),
        // Escapes: `~1` is a `/` in a key.
        ("/a~1b", "replace", json!(["a/b"]), None, true),
        ("/a~1b", "replace", json!(["a", "b"]), None, false),
    ]
}

fn patch_json(op: &str, at: Value, from: Option<Value>) -> Value {
    let mut written = json!({"op": op});
    written["path"] = at;
    if matches!(op, "add" | "replace" | "test") {
        written["value"] = json!(true);
    }
    if let Some(from) = from {
        written["from"] = from;
    }
    written
}

/// A pattern over a board-like state: literals, `*` and `**` where paths often meet.
fn pattern(rng: &mut Rng) -> String {
    let mut text = String::new();
    for depth in 0..rng.below(5) {
        let segment = match (depth, rng.below(6)) {
            (_, 0) => "*".to_owned(),
            (_, 1) => "**".to_owned(),
            (0, _) => (*rng.pick(&["todos", "title", "settings"])).to_owned(),
            (2, 2..=3) => (*rng.pick(&["done", "tags", "text"])).to_owned(),
            _ => rng.below(4).to_string(),
        };
        text.push('/');
        let rest = segment == "**";
        text.push_str(&segment);
        if rest {
            break;
        }
    }
    text
}

/// A path as JSON: keys and list indices, sometimes `-` or a key of digits.
fn path(rng: &mut Rng) -> Value {
    let len = rng.below(5);
    let mut segments = Vec::new();
    for depth in 0..len {
        segments.push(match (depth, rng.below(8)) {
            (0, _) => json!(*rng.pick(&["todos", "title", "settings"])),
            (_, 0) if depth + 1 == len => json!("-"),
            (_, 1) => json!(rng.below(4).to_string()),
            (2, 2..=3) => json!(*rng.pick(&["done", "tags", "text"])),
            _ => json!(rng.below(4)),
        });
    }
    json!(segments)
}

fn generated(rng: &mut Rng) -> (String, Value) {
    let op = *rng.pick(&["add", "remove", "replace", "move", "copy", "test"]);
    let from = matches!(op, "move" | "copy").then(|| path(rng));
    (pattern(rng), patch_json(op, path(rng), from))
}

fn touches(pattern: &str, patch: &Value) -> bool {
    let pattern: PathPattern = pattern.parse().expect("the cases' patterns parse");
    let patch: Patch = serde_json::from_value(patch.clone()).expect("the cases' patches parse");
    pattern.touches(&patch)
}

#[test]
fn hand_picked_cases_touch_as_the_rules_say() {
    let mut wrong = Vec::new();
    for (pattern, op, path, from, expected) in hand_picked() {
        let patch = patch_json(op, path, from);
        if touches(pattern, &patch) != expected {
            wrong.push(format!("{pattern:?} {patch} should give {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The file the JavaScript client replays: the hand-picked cases, then generated ones.
#[test]
fn the_touches_cases_are_written_for_the_javascript_client() {
    let mut cases: Vec<Value> = hand_picked()
        .into_iter()
        .map(|(pattern, op, path, from, expected)| {
            json!({"pattern": pattern, "patch": patch_json(op, path, from), "touches": expected})
        })
        .collect();
    let mut rng = Rng(0x7011_C4E5_2026_1206);
    let (mut yes, mut no) = (0, 0);
    for _ in 0..400 {
        let (pattern, patch) = generated(&mut rng);
        let answer = touches(&pattern, &patch);
        if answer {
            yes += 1;
        } else {
            no += 1;
        }
        cases.push(json!({"pattern": pattern, "patch": patch, "touches": answer}));
    }
    assert!(yes > 100 && no > 100, "{yes} touch, {no} do not");
    let lines: Vec<String> = cases.iter().map(Value::to_string).collect();
    vectors::check_committed(
        "tests/data/touches.json",
        &format!("[\n{}\n]\n", lines.join(",\n")),
        "rewrite it with IMMER_UPDATE_VECTORS=1 cargo test --test test_touches, and check the \
         JavaScript client against it",
    );
}
