//! The path transformation's answers, written for the JavaScript client's port to check:
//! `clients/js/test/transform.test.js` reads `clients/js/test/vectors/transform.json` and
//! asserts that its `transform` gives the same answer for every case. One transformation, two
//! implementations: this test writes the cases from a fixed seed (the file is committed, and
//! rewritten identically on every run).

use immer::{Patch, PatchOp, Path, PathSegment, transform};
use serde_json::{Value, json};

/// xorshift64*: deterministic cases without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn word(rng: &mut Rng, words: &[&'static str]) -> &'static str {
    words[rng.below(words.len() as u64) as usize]
}

fn key(k: &str) -> PathSegment {
    PathSegment::Key(k.to_owned())
}

/// A path into a board-like state: a title, a list of todos with fields and tag lists, a
/// map of settings, a set of labels; indices small so that paths often meet.
fn path(rng: &mut Rng) -> Path {
    let i = PathSegment::Index(rng.below(4) as usize);
    let segments = match rng.below(10) {
        0 => vec![key("title")],
        1 => vec![key("todos")],
        2 | 3 => vec![key("todos"), i],
        4 => vec![key("todos"), i, key(word(rng, &["done", "text"]))],
        5 => vec![key("todos"), i, key("tags")],
        6 => vec![
            key("todos"),
            i,
            key("tags"),
            PathSegment::Index(rng.below(3) as usize),
        ],
        // A key that reads as a number is still a key.
        7 => vec![key("settings"), key(word(rng, &["1", "theme", "0"]))],
        8 => vec![key("labels"), PathSegment::Index(rng.below(3) as usize)],
        _ => vec![key("settings")],
    };
    Path::from(segments)
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => json!(true),
        1 => json!(format!("v{}", rng.below(3))),
        2 => json!({"id": rng.below(3), "done": false}),
        _ => json!(["a", "b"]),
    }
}

fn patch(rng: &mut Rng) -> Patch {
    let at = path(rng);
    let list_element = matches!(at.last(), Some(PathSegment::Index(_)));
    match rng.below(12) {
        0..=3 => Patch::replace(at, value(rng)),
        4..=6 => Patch::add(at, value(rng)),
        // A set's removal names its element by value.
        9 if list_element => Patch {
            op: PatchOp::Remove,
            path: at,
            value: Some(json!(format!("l{}", rng.below(2)))),
            from: None,
        },
        10 => Patch {
            op: *rng.pick(&[PatchOp::Move, PatchOp::Copy]),
            path: at,
            value: None,
            from: Some(path(rng)),
        },
        11 => Patch {
            op: PatchOp::Test,
            path: at,
            value: Some(value(rng)),
            from: None,
        },
        // 7 and 8, and 9 when the path does not end in an index.
        _ => Patch::remove(at),
    }
}

fn patches(rng: &mut Rng) -> Vec<Patch> {
    (0..=rng.below(4)).map(|_| patch(rng)).collect()
}

#[test]
fn the_transformation_cases_are_written_for_the_javascript_client() {
    let mut rng = Rng(0x1BAD_5EED_2026_1202);
    let mut cases = Vec::new();
    let (mut conflicts, mut moved) = (0, 0);
    for _ in 0..2_000 {
        let mine = patches(&mut rng);
        let theirs = patches(&mut rng);
        let expected = match transform(&mine, &theirs) {
            Ok((mine_after, theirs_after)) => {
                moved += usize::from(mine_after != mine);
                json!({"ok": true, "mine": mine_after, "theirs": theirs_after})
            }
            Err(conflict) => {
                conflicts += 1;
                json!({"ok": false, "conflict": conflict})
            }
        };
        cases.push(json!({"mine": mine, "theirs": theirs, "expected": expected}));
    }
    // The cases exercise both answers, and moves that change paths.
    assert!(
        conflicts > 200 && moved > 200,
        "{conflicts} conflicts, {moved} moved"
    );
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("clients/js/test/vectors/transform.json");
    let text = serde_json::to_string(&json!({
        "about": "Cases of immer::transform, written by tests/test_transform_vectors.rs",
        "cases": cases,
    }))
    .unwrap();
    std::fs::write(&file, text + "\n").unwrap();
}
