//! Moving patches through concurrent ones: the path transformation behind `sync`.
//!
//! Two lists of patches made against the same state, `mine` and `theirs`, with `theirs`
//! ordered first: [`transform`] gives `mine` as it applies after `theirs`, and `theirs` as it
//! applies after `mine`. Only paths change, never values:
//!
//! - an insert into a list at index `i` shifts every path through an element at `i` or after
//!   up by one (two inserts at the same index: the one ordered first stays first);
//! - a removal at `i` shifts paths through elements after `i` down by one, and a path through
//!   the removed element itself is a conflict: its target is gone;
//! - a set's `remove`, which names its element by value, shifts nothing, and conflicts only
//!   with a removal of the same element;
//! - a `replace` or `remove` of a whole value (a struct field, a map key, a whole list, a list
//!   element replaced by `set`) is a conflict for every path below it, since the value it
//!   edited is not there any more; the same path replaced twice keeps the later write.

use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};

/// Why a patch could not be moved through another.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The index, in its list, of the patch that could not be moved.
    pub index: usize,
    /// The path it targets.
    pub path: Path,
    /// The path of the patch that removed or replaced its target.
    pub by: Path,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the target of {} was removed or replaced by a change at {}",
            self.path, self.by
        )
    }
}

impl std::error::Error for Conflict {}

/// Moves `mine` through `theirs` (both made against the same state, `theirs` ordered first).
/// Returns `mine` as it applies after `theirs`, and `theirs` as it applies after `mine`.
///
/// # Errors
///
/// A [`Conflict`] when a patch of `mine` targets something `theirs` removed or replaced: the
/// edit has no place to land. `theirs` never conflicts: a patch of `theirs` whose target
/// `mine` removed simply has no effect on the rest of `mine`.
///
/// # Examples
///
/// ```
/// use immer_core::{Patch, Path, transform};
/// use serde_json::json;
///
/// let theirs = [Patch::remove(Path::from_pointer("/todos/0").unwrap())];
/// let mine = [Patch::replace(Path::from_pointer("/todos/5/done").unwrap(), json!(true))];
/// let (moved, _) = transform(&mine, &theirs).unwrap();
/// assert_eq!(moved[0].path.to_pointer(), "/todos/4/done");
///
/// let gone = [Patch::replace(Path::from_pointer("/todos/0/done").unwrap(), json!(true))];
/// assert!(transform(&gone, &theirs).is_err());
/// ```
pub fn transform(mine: &[Patch], theirs: &[Patch]) -> Result<(Vec<Patch>, Vec<Patch>), Conflict> {
    transform_ordered(mine, theirs, false)
}

/// [`transform`], with the tie between two inserts at one index going to `mine` when
/// `mine_first` (a revert of an older entry moved through later ones: what it puts back was
/// there before them).
fn transform_ordered(
    mine: &[Patch],
    theirs: &[Patch],
    mine_first: bool,
) -> Result<(Vec<Patch>, Vec<Patch>), Conflict> {
    let mut theirs: Vec<Patch> = theirs.iter().flat_map(expand).collect();
    let mut moved = Vec::with_capacity(mine.len());
    for (index, patch) in mine.iter().enumerate() {
        for mine_part in expand(patch) {
            let mut current = mine_part;
            let mut theirs_after = Vec::with_capacity(theirs.len());
            for theirs_patch in &theirs {
                let next =
                    move_through(&current, theirs_patch, !mine_first).ok_or_else(|| Conflict {
                        index,
                        path: patch.path.clone(),
                        by: theirs_patch.path.clone(),
                    })?;
                // Their patch, moved past mine: if mine removed its target, it has no effect.
                if let Some(theirs_moved) = move_through(theirs_patch, &current, mine_first) {
                    theirs_after.push(theirs_moved);
                }
                current = next;
            }
            theirs = theirs_after;
            moved.push(current);
        }
    }
    Ok((moved, theirs))
}

/// The patches that revert an older change, moved through every change made after it, so
/// that they apply after the last: selective undo (see
/// [`History::revert`](crate::History::revert)). `inverse` is the older change's inverse;
/// `later` the forward patches of each later change, oldest first.
///
/// What the older change put back goes before anything inserted at the same place later (it
/// was there first), and where a later change wrote the same value again (a `replace` of the
/// same path, an `add` of the same key) the later write stands.
///
/// # Errors
///
/// The index in `later` of the change that removed or replaced what the older change
/// changed, and the [`Conflict`].
///
/// # Examples
///
/// ```
/// use immer_core::{Patch, Path, revert_through};
/// use serde_json::json;
///
/// // "remove todo 3" undone after an insert at the front: it goes back at index 4.
/// let inverse = [Patch::add(Path::from_pointer("/todos/3").unwrap(), json!({"id": 3}))];
/// let insert = vec![Patch::add(Path::from_pointer("/todos/0").unwrap(), json!({"id": 9}))];
/// let moved = revert_through(&inverse, [insert.as_slice()]).unwrap();
/// assert_eq!(moved[0].path.to_pointer(), "/todos/4");
/// ```
pub fn revert_through<'a>(
    inverse: &[Patch],
    later: impl IntoIterator<Item = &'a [Patch]>,
) -> Result<Vec<Patch>, (usize, Conflict)> {
    let mut revert = inverse.to_vec();
    for (index, patches) in later.into_iter().enumerate() {
        // A value a later change wrote again keeps the later write.
        revert.retain(|patch| !overwrites(patches, patch));
        revert = transform_ordered(&revert, patches, true)
            .map_err(|conflict| (index, conflict))?
            .0;
    }
    Ok(revert)
}

/// Whether `patch` writes (or removes) a value that `later` writes again: a `replace` of the
/// same path, or an `add` of the same key. (At a list index an `add` inserts and a `remove`
/// takes an element out: neither writes the value there.)
fn overwrites(later: &[Patch], patch: &Patch) -> bool {
    let keyed = !matches!(patch.path.last(), Some(PathSegment::Index(_)));
    let writes = |p: &Patch, remove_too: bool| match p.op {
        PatchOp::Replace => true,
        PatchOp::Add => keyed,
        PatchOp::Remove => keyed && remove_too,
        _ => false,
    };
    writes(patch, true)
        && later
            .iter()
            .any(|l| l.path == patch.path && writes(l, false))
}

/// `move` and `copy` as the `remove` and `add` they amount to, for moving paths.
fn expand(patch: &Patch) -> Vec<Patch> {
    match (patch.op, &patch.from) {
        (PatchOp::Move, Some(from)) => vec![
            Patch::remove(from.clone()),
            Patch {
                op: PatchOp::Add,
                from: None,
                ..patch.clone()
            },
        ],
        (PatchOp::Copy, Some(_)) => vec![Patch {
            op: PatchOp::Add,
            from: None,
            ..patch.clone()
        }],
        _ => vec![patch.clone()],
    }
}

/// `patch` as it applies after `against` (both made against the same state); `None` when its
/// target is gone. `against_first`: on a tie (two inserts at one index), `against` comes first.
fn move_through(patch: &Patch, against: &Patch, against_first: bool) -> Option<Patch> {
    if against.op == PatchOp::Test {
        return Some(patch.clone());
    }
    let (target, at) = (&patch.path, &against.path);
    if let (PatchOp::Remove, Some(_), Some(PathSegment::Index(_))) =
        (against.op, &against.value, at.last())
    {
        // A set's removal names its element by value (the index is only where it was):
        // nothing shifts, and only a removal of the same element conflicts.
        let parent = &at[..at.len() - 1];
        let same_set = target.len() == at.len() && target.segments().starts_with(parent);
        let same_element = same_set && patch.op == PatchOp::Remove && patch.value == against.value;
        return if same_element {
            None
        } else {
            Some(patch.clone())
        };
    }
    if let (PatchOp::Add | PatchOp::Remove, Some(PathSegment::Index(i))) = (against.op, at.last()) {
        let list = &at[..at.len() - 1];
        let depth = list.len();
        if target.len() > depth && target.segments().starts_with(list) {
            if let PathSegment::Index(j) = target[depth] {
                let mut moved = patch.clone();
                let own_slot = target.len() == depth + 1;
                let shifted = match against.op {
                    // An insert at `i`: elements at `i` and after move up. My own insert at the
                    // same index stays before theirs only when mine is ordered first.
                    PatchOp::Add => {
                        if j > *i
                            || (j == *i
                                && !(own_slot && patch.op == PatchOp::Add && !against_first))
                        {
                            // An index at `usize::MAX` is out of range anyway; it stays so.
                            j.saturating_add(1)
                        } else {
                            j
                        }
                    }
                    // A removal at `i`: elements after it move down; the element itself is gone
                    // unless mine inserts at its old place.
                    _ => {
                        if j > *i {
                            j - 1
                        } else if j == *i && !(own_slot && patch.op == PatchOp::Add) {
                            return None;
                        } else {
                            j
                        }
                    }
                };
                moved.path.segments_mut()[depth] = PathSegment::Index(shifted);
                return Some(moved);
            }
        }
        return Some(patch.clone());
    }
    // A whole value replaced, added or removed at `at`: everything below it is gone.
    if target.len() > at.len() && target.starts_with(at) {
        return None;
    }
    if target == at && against.op == PatchOp::Remove && patch.op != PatchOp::Add {
        return None;
    }
    Some(patch.clone())
}
