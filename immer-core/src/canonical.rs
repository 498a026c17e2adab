//! Patches as the state's types write them: what a server commits of a change it received.
//!
//! A patch from elsewhere (a browser, another service) may be written in many ways that
//! apply alike: a list position as the string `"2"` or the number `2`, a value with members
//! its Rust type does not have (serde drops them), a number as `1` where the type writes
//! `1.0`, an element added to a set at a position other than where the set keeps it, `-` for
//! the end of a list. Applied to the typed state they all lead to the same state, but a client
//! that applies them as JSON (Immer in a browser) would hold something else, and a later
//! change moved through them would not see a list position written as a string. The
//! canonical form is the one the typed state writes: list positions as numbers (and map keys
//! and struct fields as strings), each position where the edit landed, and each value as the
//! typed state serializes it right after the patch.

use std::sync::Arc;

use crate::apply::{apply_landing, apply_one};
use crate::draftable::Draftable;
use crate::error::{PatchError, PatchErrorKind};
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};

/// A key no type has: reading it below a value tells a list (or another value addressed by
/// position) from a struct or a map by the error it gives.
const PROBE: &str = "\u{1}";

/// Whether the value at `prefix` of `state` is addressed by position (a list, a set, a tuple,
/// a JSON array): `None` when there is no value there to ask.
fn positional<T: Draftable>(
    state: &T,
    prefix: &[PathSegment],
    probe: &mut Vec<PathSegment>,
) -> Option<bool> {
    probe.clear();
    probe.extend_from_slice(prefix);
    probe.push(PathSegment::Key(PROBE.to_owned()));
    match state.value_at(probe) {
        Err(PatchErrorKind::NotAnIndex { .. }) => Some(true),
        Err(
            PatchErrorKind::UnknownField { .. }
            | PatchErrorKind::MissingKey { .. }
            | PatchErrorKind::InvalidKey { .. }
            | PatchErrorKind::WrongVariant { .. },
        ) => Some(false),
        _ => None,
    }
}

/// `path` with every segment written as the type at its place reads it: a position in a
/// list as a number, a key or a field as a string. `Err` names the segment that is written
/// as a string of digits where no value tells whether it is a position.
fn canonical_path<T: Draftable>(
    state: &T,
    path: &Path,
    probe: &mut Vec<PathSegment>,
) -> Result<Path, PatchErrorKind> {
    let mut segments = path.segments().to_vec();
    for depth in 0..segments.len() {
        let ambiguous = match &segments[depth] {
            PathSegment::Index(_) => true,
            PathSegment::Key(key) => crate::path::parse_index(key).is_some(),
        };
        if !ambiguous {
            continue;
        }
        match (
            positional(state, &segments[..depth], probe),
            &segments[depth],
        ) {
            (Some(true), PathSegment::Key(key)) => {
                if let Some(index) = crate::path::parse_index(key) {
                    segments[depth] = PathSegment::Index(index);
                }
            }
            (Some(false), PathSegment::Index(index)) => {
                segments[depth] = PathSegment::Key(index.to_string());
            }
            // A number where nothing is there to ask: left as it is (a position, as every
            // client writes one); the edit is moved and applied as such.
            (None, PathSegment::Index(_)) | (Some(_), _) => {}
            (None, PathSegment::Key(key)) => {
                return Err(PatchErrorKind::Malformed {
                    reason: format!(
                        "segment {depth} ({key:?}) is a string of digits where no value tells \
                         whether it is a list position: write a position as a number"
                    ),
                });
            }
        }
    }
    Ok(Path::from(segments))
}

/// `patches` with every path written as the types of `state` read it (see the module docs):
/// list positions as numbers, keys and fields as strings. Values are left as they are (see
/// [`apply_canonical`]).
///
/// # Errors
///
/// A [`PatchError`] for a patch with a segment written as a string of digits where `state`
/// has no value to tell whether it is a list position.
pub(crate) fn canonical_paths<T: Draftable>(
    state: &T,
    patches: &[Patch],
) -> Result<Vec<Patch>, PatchError> {
    let mut probe = Vec::new();
    patches
        .iter()
        .enumerate()
        .map(|(index, patch)| {
            let error = |kind| PatchError {
                index,
                path: patch.path.clone(),
                kind,
            };
            let path = canonical_path(state, &patch.path, &mut probe).map_err(error)?;
            let from = match &patch.from {
                Some(from) => Some(canonical_path(state, from, &mut probe).map_err(error)?),
                None => None,
            };
            Ok(Patch {
                op: patch.op,
                path,
                value: patch.value.clone(),
                from,
            })
        })
        .collect()
}

/// Applies `patches` in order to `base` and returns the new snapshot with the patches as the
/// typed state writes them: each path as the types read it (list positions as numbers, the
/// position an element landed at for an `add` to a set or at `-`), each `add` and `replace`
/// value as the new state serializes it right after that patch (members its type does not
/// have are gone, numbers are written as the type writes them), and an `add` that changed
/// nothing (an element a set already holds) left out. Applied as JSON to `base` serialized,
/// the canonical patches give exactly the new state serialized.
///
/// This is what a [`Leader`](crate::sync::Leader) commits of a change it receives, so that
/// every follower, typed or not, holds the leader's state.
///
/// # Errors
///
/// As [`apply_patches`](crate::apply_patches): the first patch that does not apply, or a
/// segment written as a string of digits where no value tells whether it is a list position;
/// `base` is untouched.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_canonical, Patch, Path};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let base = Arc::new(vec![vec![0.5_f64]]);
/// let sent = [
///     // A position written as a string, and a number the type writes as `1.0`.
///     Patch::replace(Path::from_iter(["0".into(), "0".into()]), json!(1)),
///     // The end of the outer list.
///     Patch::add(Path::from_pointer("/-").unwrap(), json!([2])),
/// ];
/// let (next, canonical) = apply_canonical(&base, &sent).unwrap();
/// assert_eq!(canonical[0].path, Path::from_iter([0.into(), 0.into()]));
/// assert_eq!(canonical[0].value, Some(json!(1.0)));
/// assert_eq!(canonical[1].path, Path::from_iter([1.into()]));
/// assert_eq!(canonical[1].value, Some(json!([2.0])));
/// assert_eq!(*next, [vec![1.0], vec![2.0]]);
/// ```
pub fn apply_canonical<T: Draftable>(
    base: &Arc<T>,
    patches: &[Patch],
) -> Result<(Arc<T>, Vec<Patch>), PatchError> {
    apply_typed(base, canonical_paths(&**base, patches)?)
}

/// [`apply_canonical`] of patches whose paths are canonical already (see
/// [`canonical_paths`]).
pub(crate) fn apply_typed<T: Draftable>(
    base: &Arc<T>,
    patches: Vec<Patch>,
) -> Result<(Arc<T>, Vec<Patch>), PatchError> {
    let mut next = Arc::clone(base);
    let state = Arc::make_mut(&mut next);
    let mut probe = Vec::new();
    let mut canonical = Vec::with_capacity(patches.len());
    for (index, patch) in patches.into_iter().enumerate() {
        let error = |kind, path: &Path| PatchError {
            index,
            path: path.clone(),
            kind,
        };
        // A `move` and a `copy` as the `remove` and `add` they amount to (each canonical); a
        // `test` that holds changes nothing.
        let parts = match (patch.op, patch.from) {
            (PatchOp::Add | PatchOp::Remove | PatchOp::Replace, _) => {
                vec![(patch.op, patch.path, patch.value)]
            }
            (PatchOp::Test, _) => {
                let test = Patch {
                    op: PatchOp::Test,
                    path: patch.path,
                    value: patch.value,
                    from: None,
                };
                apply_one(state, &test, false).map_err(|kind| error(kind, &test.path))?;
                continue;
            }
            (PatchOp::Move | PatchOp::Copy, None) => {
                return Err(error(
                    malformed("`move` and `copy` need a `from`"),
                    &patch.path,
                ));
            }
            (op @ (PatchOp::Move | PatchOp::Copy), Some(from)) => {
                if op == PatchOp::Move && from == patch.path {
                    continue;
                }
                if op == PatchOp::Move && patch.path.starts_with(&from) {
                    let reason = "`move` cannot move a value into one of its own children";
                    return Err(error(malformed(reason), &patch.path));
                }
                let value = state.value_at(&from).map_err(|kind| error(kind, &from))?;
                let mut parts = Vec::with_capacity(2);
                if op == PatchOp::Move {
                    parts.push((PatchOp::Remove, from, None));
                }
                parts.push((PatchOp::Add, patch.path, Some(value)));
                parts
            }
        };
        for (op, path, value) in parts {
            if let Some(patch) = apply_part(state, op, path, value, &mut probe)
                .map_err(|(kind, path)| error(kind, &path))?
            {
                canonical.push(patch);
            }
        }
    }
    Ok((next, canonical))
}

/// Applies one `add`, `remove` or `replace` to `state` and returns it as the typed state
/// writes it (`None`: it changed nothing), or why it does not apply, with its path.
fn apply_part<T: Draftable>(
    state: &mut T,
    op: PatchOp,
    mut path: Path,
    value: Option<serde_json::Value>,
    probe: &mut Vec<PathSegment>,
) -> Result<Option<Patch>, (PatchErrorKind, Path)> {
    let landing = match apply_landing(state, op, &path, value.as_ref()) {
        Ok(landing) => landing,
        Err(kind) => return Err((kind, path)),
    };
    if landing.unchanged {
        return Ok(None);
    }
    // Where it landed in a list or a set: the position a `-` stood for, the place a set
    // keeps the element at (or held the one removed).
    if let (Some(at), Some(last)) = (landing.position, path.segments_mut().last_mut()) {
        *last = PathSegment::Index(at);
    }
    // Read again, now that every place on it exists: a position still written as a string
    // was not moved as one (its list was not there to tell before), so nothing can say where
    // it landed.
    let before = path.clone();
    let path = match canonical_path(state, &path, probe) {
        Ok(read) if !written_as_string(&before, &read) => read,
        Ok(_) | Err(_) => {
            let reason = "a list position written as a string where no value told it was one: \
                          write positions as numbers";
            return Err((malformed(reason), before));
        }
    };
    let mut canonical = Patch {
        op,
        path,
        value: None,
        from: None,
    };
    if op == PatchOp::Remove {
        let segments = canonical.path.segments();
        let parent = &segments[..segments.len().saturating_sub(1)];
        if !segments.is_empty() && positional(state, parent, probe) == Some(false) {
            // A field removed is set to its default (`Option`'s `None`, a
            // `#[serde(default)]`): still there, written as the type writes it.
            if let Ok(default) = state.value_at(segments) {
                canonical.op = PatchOp::Replace;
                canonical.value = Some(default);
            }
        } else {
            // A set's removal names its element by value too, as Immer writes it.
            canonical.value = value;
        }
    } else {
        let written = state
            .value_at(&canonical.path)
            .map_err(|kind| (kind, canonical.path.clone()))?;
        canonical.value = Some(written);
    }
    Ok(Some(canonical))
}

/// Whether `read` made a position of a segment `sent` wrote as a string.
fn written_as_string(sent: &Path, read: &Path) -> bool {
    sent.segments()
        .iter()
        .zip(read.segments())
        .any(|(s, r)| matches!((s, r), (PathSegment::Key(_), PathSegment::Index(_))))
}

fn malformed(reason: &str) -> PatchErrorKind {
    PatchErrorKind::Malformed {
        reason: reason.to_owned(),
    }
}
