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
//! - a `replace` or `remove` of a whole value (a struct field, a map key, a whole list) is a
//!   conflict for every path below it, since the value it edited is not there any more; the
//!   same field or key written twice keeps the later write;
//! - a list element replaced whole (by `set`, a swap, or a snapshot's diff that cannot tell
//!   an element changed from one removed and another inserted) is another element: a
//!   `remove` or `replace` of it conflicts too, as does every path below it. Nothing is ever
//!   moved onto an element its author did not edit.
//!
//! Cost: each patch of `mine` is moved through the patches of `theirs` it may touch, in place
//! and without allocating, no copy of a value. When no patch of `mine` inserts into or
//! removes from a list at its second segment (fields of elements: the common edit), the
//! patches of `theirs` are looked up by their first key and the index after it, so the cost is
//! linear in the pairs that share an element, a list they insert into or remove from, or a
//! whole value one of them writes; otherwise every pair is compared (a few nanoseconds for a
//! pair in different places): O(|mine| × |theirs|).

use std::borrow::Cow;
use std::collections::HashMap;

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
    transform_by(mine, theirs, Rule::CONCURRENT)
}

/// [`transform`] under `rule`.
fn transform_by(
    mine: &[Patch],
    theirs: &[Patch],
    rule: Rule,
) -> Result<(Vec<Patch>, Vec<Patch>), Conflict> {
    let mut through = Through::new(theirs);
    let moved = through
        .pass(mine, rule)
        .map_err(|blocked| blocked.conflict)?;
    Ok((moved, through.into_patches()))
}

/// [`transform`] under the rule of a later edit moved back through the inverse (`theirs`) of
/// an edit taken out before it, as a [`Follower`](crate::sync::Follower) moves its pending
/// edits: a patch of `mine` that writes or removes a whole value holding what `theirs` puts
/// back, or writes again as a list or an object the very value it puts back, conflicts. Not
/// public API: for the JavaScript client's shared test vectors.
#[doc(hidden)]
pub fn transform_after_dropped(
    mine: &[Patch],
    theirs: &[Patch],
) -> Result<(Vec<Patch>, Vec<Patch>), Conflict> {
    transform_by(mine, theirs, Rule::AFTER_DROPPED)
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
        // A value a later change wrote again keeps the later write: `Rule::REVERT` drops the
        // revert's patch where it meets that write.
        revert = Through::new(patches)
            .pass(&revert, Rule::REVERT)
            .map_err(|blocked| (index, blocked.conflict))?;
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

/// How one list of patches moves through another.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rule {
    /// On a tie (two inserts at one index), the patch moved goes first.
    mine_first: bool,
    /// Moving an edit back through the inverse of an earlier edit that was dropped: a patch
    /// that writes or removes a whole value inside which the dropped edit changed something
    /// carries (or may carry) that change, so it depends on the dropped edit and conflicts.
    dependent: bool,
    /// A patch moved that writes (or removes) a value which a patch it meets writes again (a
    /// `replace` of the same path, an `add` of the same key) is dropped: the later write
    /// stands. Compared where the two meet, each as it stands after the patches before it on
    /// both sides.
    later_write_stands: bool,
}

impl Rule {
    /// Concurrent edits, the other side ordered first.
    pub(crate) const CONCURRENT: Rule = Rule {
        mine_first: false,
        dependent: false,
        later_write_stands: false,
    };
    /// A revert of an older change moved through later ones: what it puts back was there
    /// first.
    const REVERT: Rule = Rule {
        mine_first: true,
        dependent: false,
        later_write_stands: true,
    };
    /// A later edit moved back through a dropped edit's inverse.
    pub(crate) const AFTER_DROPPED: Rule = Rule {
        mine_first: false,
        dependent: true,
        later_write_stands: false,
    };
}

/// One side's patches, kept in place while the other side's edits move through them one
/// after another: after each [`pass`](Through::pass) they apply after the edit that passed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Through<'a> {
    /// `None` where a patch no longer has any effect (the edit that passed removed its
    /// target). `move` and `copy` are kept as the `remove` and `add` they amount to. A
    /// patch is borrowed until a pass moves it (a log's patches are never copied whole).
    patches: Vec<Option<Cow<'a, Patch>>>,
    /// For each patch, the number its caller gave the list it came with (see
    /// [`prepend`](Through::prepend)).
    owners: Vec<usize>,
    /// For each patch, the start of its path, kept up to date with it.
    heads: Vec<Head>,
    /// The first keys of the patches' paths, each with its number (what [`Head::key`]
    /// counts, from 1).
    keys: HashMap<String, u32>,
}

/// The start of a patch's path, enough to tell most pairs of patches that cannot touch apart
/// and to move one list's elements through each other without reading the paths: a
/// different first key, or different elements of one list.
#[derive(Clone, Copy, Debug)]
struct Head {
    /// The first segment when it is a key: its number among the keys a [`Through`] holds,
    /// from 1 (`u32::MAX` for a key none of them has); 0 when it is not a key (nothing told).
    key: u32,
    /// The index at the second segment, if any.
    index: Option<usize>,
    /// The path's length (saturated).
    len: u32,
    op: PatchOp,
    /// Whether the patch inserts or removes at the second segment (it shifts the elements
    /// after it, or names a set element by value).
    shifts: bool,
    /// Whether it is a set's removal there, which names its element by value.
    by_value: bool,
}

impl Head {
    fn new(patch: &Patch, key: u32) -> Head {
        let segments = patch.path.segments();
        let index = match segments.get(1) {
            Some(PathSegment::Index(index)) => Some(*index),
            _ => None,
        };
        let shifts = segments.len() == 2 && matches!(patch.op, PatchOp::Add | PatchOp::Remove);
        Head {
            key,
            index,
            len: u32::try_from(segments.len()).unwrap_or(u32::MAX),
            op: patch.op,
            shifts,
            by_value: shifts && patch.op == PatchOp::Remove && patch.value.is_some(),
        }
    }

    /// Whether two patches with these heads certainly leave each other as they are.
    fn apart(self, other: Head) -> bool {
        if self.key == 0 || other.key == 0 {
            return false;
        }
        self.key != other.key
            || (!self.shifts
                && !other.shifts
                && matches!((self.index, other.index), (Some(a), Some(b)) if a != b))
    }
}

/// What became of a patch that met one held: moved past it, or dropped because the held
/// patch writes its value again ([`Rule::later_write_stands`]).
enum Met {
    Passed,
    WrittenAgain,
}

/// Why an edit could not pass: the conflict, and the owner of the patch it met.
#[derive(Debug)]
pub(crate) struct Blocked {
    pub(crate) conflict: Conflict,
    pub(crate) owner: usize,
}

/// What a pass changed in a [`Through`], to put back when the pass conflicts.
enum Saved<'a> {
    Index { at: usize, depth: usize, old: usize },
    Patch { at: usize, patch: Cow<'a, Patch> },
}

impl<'a> Through<'a> {
    pub(crate) fn new(patches: impl IntoIterator<Item = &'a Patch>) -> Self {
        let mut through = Through::default();
        for patch in patches {
            for part in expand(patch) {
                through.push(Some(part), 0);
            }
        }
        through
    }

    fn push(&mut self, patch: Option<Cow<'a, Patch>>, owner: usize) {
        let head = match &patch {
            Some(patch) => {
                let key = match patch.path.first() {
                    Some(PathSegment::Key(key)) => {
                        if let Some(&known) = self.keys.get(key) {
                            known
                        } else {
                            // Past `u32::MAX - 1` keys, the rest are not told apart (0).
                            let next = u32::try_from(self.keys.len() + 1)
                                .ok()
                                .filter(|&n| n < u32::MAX)
                                .unwrap_or(0);
                            if next != 0 {
                                self.keys.insert(key.clone(), next);
                            }
                            next
                        }
                    }
                    _ => 0,
                };
                Head::new(patch, key)
            }
            None => Head::new(&Patch::remove(Path::root()), 0),
        };
        self.patches.push(patch);
        self.owners.push(owner);
        self.heads.push(head);
    }

    /// The head of a patch of the other side, its first key counted among these patches'.
    fn head(&self, patch: &Patch) -> Head {
        let key = match patch.path.first() {
            Some(PathSegment::Key(key)) => self.keys.get(key).copied().unwrap_or(u32::MAX),
            _ => 0,
        };
        Head::new(patch, key)
    }

    /// Puts patches that apply after the ones held behind them, under `owner`.
    pub(crate) fn append(&mut self, patches: &'a [Patch], owner: usize) {
        for patch in patches {
            for part in expand(patch) {
                self.push(Some(part), owner);
            }
        }
    }

    /// Puts patches that apply before the ones held in front of them, under `owner` (copies
    /// of them: they are an inverse made for the occasion).
    pub(crate) fn prepend(&mut self, patches: &[Patch], owner: usize) {
        let held = std::mem::take(self);
        for patch in patches {
            for part in expand(patch) {
                self.push(Some(Cow::Owned(part.into_owned())), owner);
            }
        }
        for (patch, owner) in held.patches.into_iter().zip(held.owners) {
            self.push(patch, owner);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patches.iter().all(Option::is_none)
    }

    pub(crate) fn into_patches(self) -> Vec<Patch> {
        self.patches
            .into_iter()
            .flatten()
            .map(Cow::into_owned)
            .collect()
    }

    /// Moves `mine` (made against the state these patches apply to) through them, and them
    /// past `mine`. Returns `mine` as it applies after these patches; these patches then
    /// apply after `mine`. On a conflict nothing changes.
    ///
    /// Each patch of `mine` meets only the patches it may touch: when no patch of `mine`
    /// inserts into or removes from a list at its second segment (the common edit: fields of
    /// elements), the patches held are looked up by their first key and the index after it,
    /// so a patch meets those in its own element, the inserts and removals of its list, and
    /// the writes of the list whole, not every patch held: the cost is linear in the patches
    /// that touch, not the product of the two sides.
    pub(crate) fn pass(&mut self, mine: &[Patch], rule: Rule) -> Result<Vec<Patch>, Blocked> {
        let mut saved: Vec<Saved<'a>> = Vec::new();
        let mut moved = Vec::with_capacity(mine.len());
        let index = self.index_for(mine);
        let mut blocked = None;
        'patches: for (index_of_mine, patch) in mine.iter().enumerate() {
            'parts: for current in expand(patch) {
                let mut current = current.into_owned();
                let mut head = self.head(&current);
                let mut next = 0;
                let mark = saved.len();
                let mut cursors = Cursors::default();
                while let Some(at) = match &index {
                    Some(index) => index.next(head, next, &mut cursors),
                    None => (next < self.patches.len()).then_some(next),
                } {
                    next = at + 1;
                    if head.apart(self.heads[at]) {
                        continue;
                    }
                    match self.meet(at, &mut current, &mut head, rule, &mut saved) {
                        Ok(Met::Passed) => {}
                        Ok(Met::WrittenAgain) => {
                            // Dropped: the patches it passed are as they were.
                            self.restore(saved.drain(mark..));
                            continue 'parts;
                        }
                        Err((owner, by)) => {
                            blocked = Some(Blocked {
                                conflict: Conflict {
                                    index: index_of_mine,
                                    path: patch.path.clone(),
                                    by,
                                },
                                owner,
                            });
                            break 'patches;
                        }
                    }
                }
                moved.push(current);
            }
        }
        let Some(blocked) = blocked else {
            return Ok(moved);
        };
        self.restore(saved.into_iter());
        Err(blocked)
    }

    /// Puts back what `saved` (in the order it was noted) changed, newest first.
    fn restore(&mut self, saved: impl DoubleEndedIterator<Item = Saved<'a>>) {
        for change in saved.rev() {
            match change {
                Saved::Index { at, depth, old } => {
                    if let Some(patch) = self.patches[at].as_mut() {
                        set_index(patch.to_mut(), depth, old);
                        if depth == 1 {
                            self.heads[at].index = Some(old);
                        }
                    }
                }
                Saved::Patch { at, patch } => self.patches[at] = Some(patch),
            }
        }
    }

    /// Moves `current` (with its `head`) through the patch held at `at`, and that patch past
    /// it, noting in `saved` what to put back. `Err` with the patch's owner and path when
    /// `current`'s target is gone.
    fn meet(
        &mut self,
        at: usize,
        current: &mut Patch,
        head: &mut Head,
        rule: Rule,
        saved: &mut Vec<Saved<'a>>,
    ) -> Result<Met, (usize, Path)> {
        let slot = &mut self.patches[at];
        let Some(theirs) = slot else {
            return Ok(Met::Passed);
        };
        if rule.later_write_stands && overwrites(std::slice::from_ref(theirs), current) {
            return Ok(Met::WrittenAgain);
        }
        let quick = siblings(*head, self.heads[at], rule);
        let mine_moves = match &quick {
            Some((mine_moves, _)) => *mine_moves,
            None => effect(current, theirs, !rule.mine_first, rule.dependent, false),
        };
        if let Effect::Gone = mine_moves {
            return Err((self.owners[at], theirs.path.clone()));
        }
        // Their patch, moved past mine: if mine removed its target or wrote the same place
        // again, it has no effect any more.
        let theirs_moves = match quick {
            Some((_, theirs_moves)) => theirs_moves,
            None => effect(theirs, current, rule.mine_first, false, true),
        };
        match theirs_moves {
            Effect::Same => {}
            Effect::Index { depth, to } => {
                let old = set_index(theirs.to_mut(), depth, to);
                if depth == 1 {
                    self.heads[at].index = Some(to);
                }
                saved.push(Saved::Index { at, depth, old });
            }
            Effect::Gone => {
                if let Some(patch) = slot.take() {
                    saved.push(Saved::Patch { at, patch });
                }
            }
        }
        if let Effect::Index { depth, to } = mine_moves {
            set_index(current, depth, to);
            if depth == 1 {
                head.index = Some(to);
            }
        }
        Ok(Met::Passed)
    }

    /// The lookup [`pass`](Through::pass) uses for `mine`, when it holds: no patch of
    /// `mine` inserts or removes at its second segment (which would move the indices the
    /// patches held are looked up by) or starts with something other than a key, and there
    /// are enough pairs for a lookup to pay.
    fn index_for(&self, mine: &[Patch]) -> Option<Lookup> {
        // Building the lookup costs more than comparing a few patches with every patch held.
        const WORTH: usize = 1024;
        const FEWEST: usize = 8;
        if mine.len() < FEWEST || mine.len().saturating_mul(self.patches.len()) < WORTH {
            return None;
        }
        let plain = mine.iter().flat_map(expand).all(|part| {
            let head = self.head(&part);
            head.key != 0 && !head.shifts
        });
        plain.then(|| Lookup::new(&self.heads))
    }
}

/// The positions of the patches a [`Through`] holds, by the start of their paths: what a
/// patch that neither inserts nor removes at its second segment may touch (see
/// [`Head::apart`]).
struct Lookup {
    /// Patches whose path does not start with a key: every patch may touch them.
    general: Vec<usize>,
    /// For each first key: every patch under it.
    all: HashMap<u32, Vec<usize>>,
    /// For each first key: the patches under it that every patch under the key may touch
    /// (they insert or remove at the second segment, or have no index there).
    shaping: HashMap<u32, Vec<usize>>,
    /// For each first key and index after it: the patches there that neither insert nor
    /// remove.
    at: HashMap<(u32, usize), Vec<usize>>,
}

impl Lookup {
    fn new(heads: &[Head]) -> Self {
        let mut lookup = Lookup {
            general: Vec::new(),
            all: HashMap::new(),
            shaping: HashMap::new(),
            at: HashMap::new(),
        };
        for (position, head) in heads.iter().enumerate() {
            if head.key == 0 {
                lookup.general.push(position);
                continue;
            }
            lookup.all.entry(head.key).or_default().push(position);
            match head.index {
                Some(index) if !head.shifts => lookup
                    .at
                    .entry((head.key, index))
                    .or_default()
                    .push(position),
                _ => lookup.shaping.entry(head.key).or_default().push(position),
            }
        }
        lookup
    }

    /// The first position from `from` on that a patch with `head` may touch. `from` only
    /// grows along one patch's walk, whose place in each list `cursors` keeps.
    fn next(&self, head: Head, from: usize, cursors: &mut Cursors) -> Option<usize> {
        fn after(positions: &[usize], cursor: &mut usize, from: usize) -> Option<usize> {
            while positions.get(*cursor).is_some_and(|&at| at < from) {
                *cursor += 1;
            }
            positions.get(*cursor).copied()
        }
        let none: &[usize] = &[];
        let mut next = after(&self.general, &mut cursors.general, from);
        let mut take = |candidate: Option<usize>| {
            next = match (next, candidate) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        };
        if let Some(index) = head.index {
            let shaping = self.shaping.get(&head.key).map_or(none, Vec::as_slice);
            take(after(shaping, &mut cursors.shaping, from));
            let at = self.at.get(&(head.key, index)).map_or(none, Vec::as_slice);
            if cursors.at_index != Some(index) {
                // The patch moved to another element: its list, from here on.
                cursors.at_index = Some(index);
                cursors.at = at.partition_point(|&p| p < from);
            }
            take(after(at, &mut cursors.at, from));
        } else {
            let all = self.all.get(&head.key).map_or(none, Vec::as_slice);
            take(after(all, &mut cursors.all, from));
        }
        next
    }
}

/// Where one patch's walk through a [`Lookup`] is in each of its lists.
#[derive(Default)]
struct Cursors {
    general: usize,
    shaping: usize,
    all: usize,
    at: usize,
    /// The element whose list `at` walks.
    at_index: Option<usize>,
}

/// Sets the index at `depth` of `patch`'s path; returns the old one.
fn set_index(patch: &mut Patch, depth: usize, to: usize) -> usize {
    let segment = &mut patch.path.segments_mut()[depth];
    let old = segment.as_index().unwrap_or(to);
    *segment = PathSegment::Index(to);
    old
}

/// `move` and `copy` as the `remove` and `add` they amount to, for moving paths; any other
/// patch as it is, borrowed (nothing allocated).
fn expand(patch: &Patch) -> impl Iterator<Item = Cow<'_, Patch>> {
    let parts = match (patch.op, &patch.from) {
        (PatchOp::Move, Some(from)) => [
            Some(Cow::Owned(Patch::remove(from.clone()))),
            Some(Cow::Owned(Patch {
                op: PatchOp::Add,
                from: None,
                ..patch.clone()
            })),
        ],
        (PatchOp::Copy, Some(_)) => [
            Some(Cow::Owned(Patch {
                op: PatchOp::Add,
                from: None,
                ..patch.clone()
            })),
            None,
        ],
        _ => [Some(Cow::Borrowed(patch)), None],
    };
    parts.into_iter().flatten()
}

/// What a patch ordered before another does to the other's path.
#[derive(Clone, Copy)]
enum Effect {
    /// Nothing.
    Same,
    /// The list index at `depth` becomes `to`.
    Index { depth: usize, to: usize },
    /// Its target is gone.
    Gone,
}

/// What an insert or removal (`against_op`) at index `i` of a list does to a path through
/// index `j` of the same list (at `depth`): `own_slot` when the path ends there, `patch_op`
/// its operation, `against_first` who goes first when both insert at one index.
fn shift(
    j: usize,
    i: usize,
    against_op: PatchOp,
    own_slot: bool,
    patch_op: PatchOp,
    against_first: bool,
    depth: usize,
) -> Effect {
    let shifted = if against_op == PatchOp::Add {
        // An insert at `i`: elements at `i` and after move up. My own insert at the same
        // index stays before theirs only when mine is ordered first.
        if j > i || (j == i && !(own_slot && patch_op == PatchOp::Add && !against_first)) {
            // An index at `usize::MAX` is out of range anyway; it stays so.
            j.saturating_add(1)
        } else {
            j
        }
    } else if j > i {
        // A removal at `i`: elements after it move down.
        j - 1
    } else if j == i && !(own_slot && patch_op == PatchOp::Add) {
        // The element itself is gone, unless mine inserts at its old place.
        return Effect::Gone;
    } else {
        j
    };
    if shifted == j {
        Effect::Same
    } else {
        Effect::Index { depth, to: shifted }
    }
}

/// [`effect`] both ways at once, without reading the paths past their second segment, for
/// the common pair: two patches in one list (the same first key, an index second), at least
/// one inserting into or removing from it, neither a set removal by value nor a `test`.
/// `None` for any other pair.
fn siblings(mh: Head, th: Head, rule: Rule) -> Option<(Effect, Effect)> {
    let (Some(j), Some(i)) = (mh.index, th.index) else {
        return None;
    };
    let plain = |h: Head| !h.by_value && h.op != PatchOp::Test;
    if rule.dependent
        || mh.key == 0
        || mh.key != th.key
        || !(mh.shifts || th.shifts)
        || !plain(mh)
        || !plain(th)
    {
        return None;
    }
    let mine_moves = if th.shifts {
        shift(j, i, th.op, mh.len == 2, mh.op, !rule.mine_first, 1)
    } else if th.len == 2 && i == j && th.op == PatchOp::Replace && mh.op == PatchOp::Remove {
        // A removal of an element replaced whole.
        Effect::Gone
    } else {
        Effect::Same
    };
    let theirs_moves = if mh.shifts {
        shift(i, j, mh.op, th.len == 2, th.op, rule.mine_first, 1)
    } else {
        Effect::Same
    };
    Some((mine_moves, theirs_moves))
}

/// What `against` does to `patch` (both made against the same state) when `patch` is
/// moved to apply after it. `against_first`: on a tie (two inserts at one index), `against`
/// comes first. `dependent`: see [`Rule::dependent`]. `overwritten`: `against` is the later
/// write, so a write of `patch` to the same field, key or list element is lost under it.
fn effect(
    patch: &Patch,
    against: &Patch,
    against_first: bool,
    dependent: bool,
    overwritten: bool,
) -> Effect {
    if against.op == PatchOp::Test || patch.op == PatchOp::Test {
        return Effect::Same;
    }
    let (target, at) = (patch.path.segments(), against.path.segments());
    // Paths that part at a field or key name never touch (the common case, checked first).
    if let (Some(PathSegment::Key(a)), Some(PathSegment::Key(b))) = (target.first(), at.first()) {
        if a != b {
            return Effect::Same;
        }
    }
    let at_index = matches!(at.last(), Some(PathSegment::Index(_)));
    if dependent && at.starts_with(target) {
        // `patch` writes or removes a whole value holding what `against` puts back, or
        // writes again, as a list or an object, the very value the dropped edit wrote (and
        // may carry it: a list of tags written from the one before). An insert into a list
        // does not (it only shifts what follows).
        let keyed = !matches!(target.last(), Some(PathSegment::Index(_)));
        let below = at.len() > target.len();
        let composite = matches!(
            patch.value,
            Some(serde_json::Value::Array(_) | serde_json::Value::Object(_))
        );
        let depends = match patch.op {
            PatchOp::Replace => below || composite,
            PatchOp::Remove => below,
            PatchOp::Add => keyed && (below || composite),
            _ => false,
        };
        if depends {
            return Effect::Gone;
        }
    }
    if let (PatchOp::Remove, Some(_), true) = (against.op, &against.value, at_index) {
        // A set's removal names its element by value (the index is only where it was):
        // nothing shifts, and only a removal of the same element conflicts.
        let parent = &at[..at.len() - 1];
        let same_set = target.len() == at.len() && target.starts_with(parent);
        let same_element = same_set && patch.op == PatchOp::Remove && patch.value == against.value;
        return if same_element {
            Effect::Gone
        } else {
            Effect::Same
        };
    }
    if let (PatchOp::Add | PatchOp::Remove, Some(PathSegment::Index(i))) = (against.op, at.last()) {
        let depth = at.len() - 1;
        if target.len() > depth && target.starts_with(&at[..depth]) {
            if let PathSegment::Index(j) = target[depth] {
                let own_slot = target.len() == depth + 1;
                return shift(j, *i, against.op, own_slot, patch.op, against_first, depth);
            }
        }
        return Effect::Same;
    }
    // A whole value replaced, added or removed at `at`: everything below it is gone.
    if target.len() > at.len() && target.starts_with(at) {
        return Effect::Gone;
    }
    if target == at {
        let keyed = !at_index;
        let gone = match against.op {
            _ if overwritten => {
                matches!(
                    against.op,
                    PatchOp::Add | PatchOp::Remove | PatchOp::Replace
                ) && (patch.op == PatchOp::Replace || keyed)
            }
            PatchOp::Remove => patch.op != PatchOp::Add,
            // A list element replaced whole is another element: removing or replacing "it"
            // would hit the other one.
            PatchOp::Replace => at_index && matches!(patch.op, PatchOp::Remove | PatchOp::Replace),
            _ => false,
        };
        if gone {
            return Effect::Gone;
        }
    }
    Effect::Same
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The pass without the shortcuts of [`Head`] and [`siblings`]: every pair through
    /// [`effect`], both ways.
    fn pass_by_effect(
        theirs: &mut Vec<Option<Patch>>,
        mine: &[Patch],
        rule: Rule,
    ) -> Option<Vec<Patch>> {
        let before = theirs.clone();
        let mut moved = Vec::new();
        for patch in mine {
            'parts: for current in expand(patch) {
                let mut current = current.into_owned();
                let passed = theirs.clone();
                for slot in theirs.iter_mut() {
                    let Some(t) = slot else { continue };
                    if rule.later_write_stands && overwrites(std::slice::from_ref(t), &current) {
                        *theirs = passed;
                        continue 'parts;
                    }
                    let mine_moves = effect(&current, t, !rule.mine_first, rule.dependent, false);
                    if let Effect::Gone = mine_moves {
                        *theirs = before;
                        return None;
                    }
                    match effect(t, &current, rule.mine_first, false, true) {
                        Effect::Same => {}
                        Effect::Index { depth, to } => {
                            set_index(t, depth, to);
                        }
                        Effect::Gone => *slot = None,
                    }
                    if let Effect::Index { depth, to } = mine_moves {
                        set_index(&mut current, depth, to);
                    }
                }
                moved.push(current);
            }
        }
        Some(moved)
    }

    /// The patches a [`Through`] holds, as owned patches.
    fn held(through: &Through<'_>) -> Vec<Option<Patch>> {
        through
            .patches
            .iter()
            .map(|p| p.as_deref().cloned())
            .collect()
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn random_patch(rng: &mut Rng) -> Patch {
        let key = |k: &str| PathSegment::Key(k.to_owned());
        let i = PathSegment::Index(rng.below(4) as usize);
        let segments = match rng.below(8) {
            0 => vec![key("title")],
            1 => vec![key("todos")],
            2..=4 => vec![key("todos"), i],
            5 => vec![key("todos"), i, key("done")],
            6 => vec![
                key("todos"),
                i,
                key("tags"),
                PathSegment::Index(rng.below(3) as usize),
            ],
            _ => vec![key("labels"), i],
        };
        let path = Path::from(segments);
        match rng.below(5) {
            0 | 1 => Patch::replace(path, json!([1])),
            2 => Patch::add(path, json!({"id": 1})),
            3 => Patch::remove(path),
            _ => Patch::remove_element(path, json!("x")),
        }
    }

    #[test]
    fn the_shortcuts_give_what_every_pair_moved_by_effect_gives() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..20_000 {
            let theirs: Vec<Patch> = (0..rng.below(6)).map(|_| random_patch(&mut rng)).collect();
            let mine: Vec<Patch> = (0..=rng.below(3)).map(|_| random_patch(&mut rng)).collect();
            check_against_effect(&theirs, &mine);
        }
    }

    /// `mine` passed through `theirs` under every rule, as [`Through::pass`] does it and as
    /// every pair moved by [`effect`] does: the same on both sides. Whether the lookup served.
    fn check_against_effect(theirs: &[Patch], mine: &[Patch]) -> usize {
        let mut looked_up = 0;
        for rule in [Rule::CONCURRENT, Rule::REVERT, Rule::AFTER_DROPPED] {
            let mut through = Through::new(theirs);
            looked_up += usize::from(through.index_for(mine).is_some());
            let mut reference: Vec<Option<Patch>> = theirs
                .iter()
                .flat_map(expand)
                .map(|p| Some(p.into_owned()))
                .collect();
            let fast = through.pass(mine, rule).ok();
            let slow = pass_by_effect(&mut reference, mine, rule);
            assert_eq!(fast, slow, "mine {mine:?} through {theirs:?}");
            assert_eq!(held(&through), reference, "theirs past mine {mine:?}");
        }
        looked_up
    }

    /// A patch that neither inserts nor removes at its second segment, most of them in an
    /// element of `todos` (what the lookup of [`Through::pass`] serves).
    fn plain_patch(rng: &mut Rng) -> Patch {
        loop {
            let patch = random_patch(rng);
            let shifts =
                patch.path.len() == 2 && matches!(patch.op, PatchOp::Add | PatchOp::Remove);
            if !shifts {
                return patch;
            }
        }
    }

    #[test]
    fn the_lookup_gives_what_every_pair_moved_by_effect_gives() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut looked_up = 0;
        for _ in 0..2_000 {
            let theirs: Vec<Patch> = (0..rng.below(400))
                .map(|_| random_patch(&mut rng))
                .collect();
            let mine: Vec<Patch> = (0..8 + rng.below(16))
                .map(|_| plain_patch(&mut rng))
                .collect();
            looked_up += check_against_effect(&theirs, &mine);
        }
        assert!(looked_up > 1_500, "the lookup served {looked_up} passes");
    }
}
