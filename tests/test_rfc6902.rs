//! The public RFC 6902 test suite against `apply_patches` on a `serde_json::Value`.

use std::sync::Arc;

use immer::{apply_patches, apply_patches_mut, from_json_patch};
use serde_json::Value;

fn run(file: &str) -> usize {
    let text = std::fs::read_to_string(format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    let records: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (n, record) in records.iter().enumerate() {
        if record["disabled"] == Value::Bool(true) {
            continue;
        }
        checked += 1;
        let name = format!("{file} #{n} ({})", record["comment"].as_str().unwrap_or(""));
        let doc = Arc::new(record["doc"].clone());
        let outcome = from_json_patch(&record["patch"]).and_then(|patches| {
            let result = apply_patches(&doc, &patches)?;
            // The in-place form agrees, and restores the document when it fails.
            let mut in_place = (*doc).clone();
            match apply_patches_mut(&mut in_place, &patches) {
                Ok(()) => assert_eq!(in_place, *result, "{name}: in place"),
                Err(_) => unreachable!("{name}: in place failed where apply_patches succeeded"),
            }
            Ok(result)
        });
        match (record.get("expected"), record.get("error"), outcome) {
            (_, Some(error), Ok(result)) => {
                panic!("{name}: expected an error ({error}), got {result}")
            }
            (_, Some(_), Err(_)) => {
                let mut in_place = (*doc).clone();
                if let Ok(patches) = from_json_patch(&record["patch"]) {
                    assert!(
                        apply_patches_mut(&mut in_place, &patches).is_err(),
                        "{name}"
                    );
                }
                assert_eq!(
                    in_place, *doc,
                    "{name}: a failed patch list left a change behind"
                );
            }
            (Some(expected), None, Ok(result)) => assert_eq!(*result, *expected, "{name}"),
            (None, None, Ok(_)) => {}
            (_, None, Err(error)) => panic!("{name}: unexpected error {error}"),
        }
    }
    checked
}

#[test]
fn rfc6902_test_suite() {
    let checked = run("tests.json") + run("spec_tests.json");
    assert_eq!(checked, 108, "every enabled record runs");
}
