//! What several test files share: the JSON-level law, checked with an independent RFC 6902
//! implementation (the `json-patch` crate) on serde's own JSON of the states.

#![allow(dead_code, reason = "each test file uses what it needs")]

use immer::{Patch, to_json_patch};
use serde::Serialize;
use serde_json::Value;

/// `patches` applied to `document` by the `json-patch` crate, or its error.
pub(crate) fn rfc6902(document: &Value, patches: &[Patch]) -> Result<Value, String> {
    let patch: json_patch::Patch =
        serde_json::from_value(to_json_patch(patches)).map_err(|e| e.to_string())?;
    let mut out = document.clone();
    json_patch::patch(&mut out, &patch).map_err(|e| e.to_string())?;
    Ok(out)
}

/// serde's JSON of a value.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("the test types have a JSON form")
}

/// The JSON-level law: the patches take serde's JSON of `base` to serde's JSON of `next`, and
/// the inverse takes it back, by the `json-patch` crate. `Err` says which half failed.
pub(crate) fn json_law<T: Serialize + ?Sized>(
    base: &T,
    next: &T,
    patches: &[Patch],
    inverse: &[Patch],
) -> Result<(), String> {
    let (base, next) = (json(base), json(next));
    let forward = rfc6902(&base, patches)?;
    if forward != next {
        return Err(format!(
            "json-patch: the patches give {forward}, serde writes {next}; patches {patches:?}"
        ));
    }
    let back = rfc6902(&next, inverse)?;
    if back != base {
        return Err(format!(
            "json-patch: the inverse gives {back}, serde writes {base}; inverse {inverse:?}"
        ));
    }
    Ok(())
}
