//! Applying patches: typed, structurally shared, atomic.

use std::sync::Arc;

use crate::draftable::{Draftable, Edit};
use crate::error::{PatchError, PatchErrorKind};
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};

/// Applies `patches` in order to `base` and returns the new snapshot.
///
/// Typed: the path is walked through the state's own types by serde names, and each value is
/// deserialized into the type at its path. Structurally shared: only the nodes on the
/// patches' paths are copied; the rest stays `Arc::ptr_eq` with `base`. Atomic: the first
/// patch that fails makes the whole call fail, and `base` is never modified.
///
/// Accepts Immer's patches for the same JSON shape, and RFC 6902's `test`, `move` and `copy`.
///
/// Time: per `add`, `remove` or `replace`, the walk down its path (copying the nodes on it
/// once) and deserializing its value. `test`, `move` and `copy` also read a value as JSON:
/// O(size of that value), and a path that goes through an enum with data writes that enum's
/// whole value as JSON first.
///
/// # Errors
///
/// A [`PatchError`] naming the failing patch's index, its path, and the reason.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, Patch, PatchErrorKind, Path};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![1_u32, 2]);
/// let add = Patch::add(Path::from_pointer("/2").unwrap(), json!(3));
/// assert_eq!(*apply_patches(&base, &[add.clone()]).unwrap(), vec![1, 2, 3]);
///
/// let bad = Patch::replace(Path::from_pointer("/0").unwrap(), json!("one"));
/// let error = apply_patches(&base, &[add, bad]).unwrap_err();
/// assert_eq!(error.index, 1);
/// assert!(matches!(error.kind, PatchErrorKind::InvalidValue { .. }));
/// assert_eq!(*base, vec![1, 2]);
/// ```
pub fn apply_patches<T: Draftable>(base: &Arc<T>, patches: &[Patch]) -> Result<Arc<T>, PatchError> {
    let mut next = Arc::clone(base);
    for (index, patch) in patches.iter().enumerate() {
        apply_one(&mut next, patch, false).map_err(|kind| PatchError {
            index,
            path: patch.path.clone(),
            kind,
        })?;
    }
    Ok(next)
}

/// Applies `patches` in order to a state held mutably, all or nothing.
///
/// The same checks as [`apply_patches`]. On an error, the patches already applied are undone
/// (in reverse order) before returning, so `state` is equal to what it was. That rollback
/// writes back the JSON of what each patch replaced, so it needs values whose JSON reads back
/// as themselves (not a NaN float, which JSON writes as `null`); [`apply_patches`], which
/// leaves the base untouched, needs nothing of the kind.
///
/// # Errors
///
/// A [`PatchError`] naming the failing patch's index, its path, and the reason.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches_mut, Patch, Path};
/// use serde_json::json;
///
/// let mut state = vec![String::from("a")];
/// let ok = Patch::add(Path::from_pointer("/-").unwrap(), json!("b"));
/// apply_patches_mut(&mut state, &[ok.clone()]).unwrap();
/// assert_eq!(state, ["a", "b"]);
///
/// let bad = Patch::remove(Path::from_pointer("/9").unwrap());
/// assert!(apply_patches_mut(&mut state, &[ok, bad]).is_err());
/// assert_eq!(state, ["a", "b"]);
/// ```
pub fn apply_patches_mut<T: Draftable>(state: &mut T, patches: &[Patch]) -> Result<(), PatchError> {
    apply_mut_with_inverse(state, patches).map(drop)
}

/// Applies `patches` in order to `state` in place, with no rollback: on an error the patches
/// before the failing one stay applied. For a state thrown away on failure (a replica that
/// is then rebuilt or replaced), where keeping what each patch replaced would be wasted work.
pub(crate) fn apply_in_place<T: Draftable>(
    state: &mut T,
    patches: &[Patch],
) -> Result<(), PatchError> {
    for (index, patch) in patches.iter().enumerate() {
        apply_one(state, patch, false).map_err(|kind| PatchError {
            index,
            path: patch.path.clone(),
            kind,
        })?;
    }
    Ok(())
}

/// [`apply_patches_mut`], returning the exact inverse (in apply order) on success.
pub(crate) fn apply_mut_with_inverse<T: Draftable>(
    state: &mut T,
    patches: &[Patch],
) -> Result<Vec<Patch>, PatchError> {
    let mut undo: Vec<Patch> = Vec::new();
    for (index, patch) in patches.iter().enumerate() {
        match apply_one(state, patch, true) {
            Ok(inverse) => undo.extend(inverse),
            Err(kind) => {
                for inverse in undo.iter().rev() {
                    // Each inverse undoes an edit that just succeeded on this very state; it
                    // fails only for a value whose JSON does not read back as itself (a NaN
                    // float, a lossy `Serialize`), which the docs above rule out.
                    let undone = apply_one(state, inverse, false);
                    debug_assert!(
                        undone.is_ok(),
                        "immer: rolling back patch {index} failed: {undone:?}"
                    );
                }
                return Err(PatchError {
                    index,
                    path: patch.path.clone(),
                    kind,
                });
            }
        }
    }
    undo.reverse();
    Ok(undo)
}

/// Applies `patches` in order to `base` and returns the new snapshot with the exact inverse
/// (the patches that take it back to `base`, in apply order), computed from the state each
/// patch met: for patches made elsewhere (another node's, a log's) that need undoing.
///
/// # Errors
///
/// As [`apply_patches`]; `base` is untouched.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, apply_with_inverse, Patch, Path};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![1_u32, 2]);
/// let (next, inverse) = apply_with_inverse(&base, &[
///     Patch::replace(Path::from_pointer("/0").unwrap(), json!(10)),
/// ]).unwrap();
/// assert_eq!(*next, [10, 2]);
/// assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
/// ```
pub fn apply_with_inverse<T: Draftable>(
    base: &Arc<T>,
    patches: &[Patch],
) -> Result<(Arc<T>, Vec<Patch>), PatchError> {
    let mut next = Arc::clone(base);
    let mut undo: Vec<Patch> = Vec::new();
    for (index, patch) in patches.iter().enumerate() {
        let inverse = apply_one(&mut next, patch, true).map_err(|kind| PatchError {
            index,
            path: patch.path.clone(),
            kind,
        })?;
        undo.extend(inverse);
    }
    undo.reverse();
    Ok((next, undo))
}

/// Applies one patch; with `want_undo`, returns the patches that undo it (in apply order
/// reversed: the last one undoes first).
pub(crate) fn apply_one<T: Draftable>(
    state: &mut T,
    patch: &Patch,
    want_undo: bool,
) -> Result<Vec<Patch>, PatchErrorKind> {
    match patch.op {
        PatchOp::Add | PatchOp::Remove | PatchOp::Replace => edit(
            state,
            patch.op,
            &patch.path,
            patch.value.as_ref(),
            want_undo,
        )
        .map(|u| u.into_iter().collect()),
        PatchOp::Test => {
            let expected = patch
                .value
                .as_ref()
                .ok_or_else(|| malformed("`test` needs a `value`"))?;
            let found = state.value_at(&patch.path)?;
            if json_equal(&found, expected) {
                Ok(Vec::new())
            } else {
                Err(PatchErrorKind::TestFailed {
                    expected: expected.clone(),
                    found,
                })
            }
        }
        PatchOp::Copy => {
            let from = patch
                .from
                .as_ref()
                .ok_or_else(|| malformed("`copy` needs a `from`"))?;
            let value = state.value_at(from)?;
            edit(state, PatchOp::Add, &patch.path, Some(&value), want_undo)
                .map(|u| u.into_iter().collect())
        }
        PatchOp::Move => {
            let from = patch
                .from
                .as_ref()
                .ok_or_else(|| malformed("`move` needs a `from`"))?;
            if from == &patch.path {
                return Ok(Vec::new());
            }
            if patch.path.starts_with(from) {
                return Err(malformed(
                    "`move` cannot move a value into one of its own children",
                ));
            }
            let value = state.value_at(from)?;
            let removed = edit(state, PatchOp::Remove, from, None, true)?;
            match edit(state, PatchOp::Add, &patch.path, Some(&value), want_undo) {
                Ok(added) => Ok(removed
                    .into_iter()
                    .chain(added)
                    .filter(|_| want_undo)
                    .collect()),
                Err(kind) => {
                    if let Some(undo) = removed {
                        let _ = apply_one(state, &undo, false);
                    }
                    Err(kind)
                }
            }
        }
    }
}

/// Where an `add`, `remove` or `replace` landed in a list or a set (see
/// [`Edit::position`]), and whether it changed nothing.
pub(crate) struct Landing {
    pub(crate) position: Option<usize>,
    pub(crate) unchanged: bool,
}

/// Applies one `add`, `remove` or `replace` with no inverse, telling where it landed.
pub(crate) fn apply_landing<T: Draftable>(
    state: &mut T,
    op: PatchOp,
    path: &Path,
    value: Option<&serde_json::Value>,
) -> Result<Landing, PatchErrorKind> {
    let mut edit = Edit::new(op, value, false);
    edit.want_position = true;
    state.apply_edit(path, &mut edit)?;
    Ok(Landing {
        position: edit.position,
        unchanged: edit.unchanged,
    })
}

fn edit<T: Draftable>(
    state: &mut T,
    op: PatchOp,
    path: &Path,
    value: Option<&serde_json::Value>,
    want_undo: bool,
) -> Result<Option<Patch>, PatchErrorKind> {
    let mut edit = Edit::new(op, value, want_undo);
    state.apply_edit(path, &mut edit)?;
    Ok(edit.undo.map(|undo| {
        let mut path = path.clone();
        if let (Some(index), Some(last)) = (undo.index, path.segments_mut().last_mut()) {
            *last = PathSegment::Index(index);
        }
        Patch {
            op: undo.op,
            path,
            value: undo.value,
            from: None,
        }
    }))
}

fn malformed(reason: &str) -> PatchErrorKind {
    PatchErrorKind::Malformed {
        reason: reason.to_owned(),
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`), as RFC 6902's `test` asks.
#[allow(clippy::float_cmp, reason = "RFC 6902 compares numbers by exact value")]
pub(crate) fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
