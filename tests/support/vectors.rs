//! Shared vector files: written by a Rust test, checked by the JavaScript tests. A stale file
//! fails the test that writes it; it is rewritten only on request (`IMMER_UPDATE_VECTORS=1`),
//! never silently, so the JavaScript tests never check against stale answers. The cases come
//! from a fixed seed ([`Rng`]).

#![allow(dead_code, reason = "each vector test uses what it needs")]

use std::path::Path;

/// Checks that `file` (relative to the workspace's root) holds `about` and `body` under
/// `key` as JSON, or rewrites it when `IMMER_UPDATE_VECTORS` is set. `command` is the command
/// that writes it, for the message of a stale file.
pub(crate) fn check_vectors(
    file: &str,
    about: &str,
    key: &str,
    body: serde_json::Value,
    command: &str,
) {
    let mut document = serde_json::Map::new();
    document.insert("about".to_owned(), about.into());
    document.insert(key.to_owned(), body);
    let text = serde_json::to_string(&document).expect("vectors are JSON") + "\n";
    check_committed(
        file,
        &text,
        &format!(
            "the answers changed; rewrite it with IMMER_UPDATE_VECTORS=1 {command}, and check \
             the JavaScript port against it (npm test in clients/js)"
        ),
    );
}

/// Checks that `file` (relative to the workspace's root) holds `text`, or writes it when
/// `IMMER_UPDATE_VECTORS` is set; a stale file fails with `what_to_do`.
pub(crate) fn check_committed(file: &str, text: &str, what_to_do: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The root crate's tests, or a member crate's one level below it.
    let root = if root.join("clients").is_dir() {
        root
    } else {
        root.parent().expect("a member crate lies in the workspace")
    };
    let path = root.join(file);
    if std::env::var_os("IMMER_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, text).expect("the committed file is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: {what_to_do}",
        path.display()
    );
}

/// xorshift64*: deterministic cases without a dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap_or(0)
    }
}

/// A value for a patch to write: a flag, a short string, a small object or a small list.
pub(crate) fn value(rng: &mut Rng) -> serde_json::Value {
    match rng.below(4) {
        0 => serde_json::json!(true),
        1 => serde_json::json!(format!("v{}", rng.below(3))),
        2 => serde_json::json!({"id": rng.below(3), "done": false}),
        _ => serde_json::json!(["a", "b"]),
    }
}
