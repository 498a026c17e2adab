// Moving patches through concurrent ones: the same path transformation as the Rust crate's
// `immer::transform`, held to it by shared test vectors (test/transform.test.js reads the cases
// the Rust tests write).
//
// Two lists of patches made against the same state, `mine` and `theirs`, with `theirs` ordered
// first: `transform` gives `mine` as it applies after `theirs`, and `theirs` as it applies after
// `mine`. Only paths change, never values. A path is an array of segments, as Immer writes it:
// a number is a list index, a string a key.

/**
 * @typedef {import('./index.js').Patch} Patch
 * @typedef {{ index: number, path: Array<string | number>, by: Array<string | number> }} Conflict
 */

/**
 * Moves `mine` through `theirs` (both made against the same state, `theirs` ordered first).
 *
 * @param {readonly Patch[]} mine
 * @param {readonly Patch[]} theirs
 * @returns {{ ok: true, mine: Patch[], theirs: Patch[] } | { ok: false, conflict: Conflict }}
 *   `mine` as it applies after `theirs` and `theirs` as it applies after `mine`, or the
 *   conflict: a patch of `mine` whose target `theirs` removed or replaced.
 */
export function transform(mine, theirs) {
  let theirsNow = theirs.flatMap(expand);
  const moved = [];
  for (let index = 0; index < mine.length; index++) {
    const patch = mine[index];
    for (const minePart of expand(patch)) {
      let current = minePart;
      const theirsAfter = [];
      for (const theirsPatch of theirsNow) {
        const next = moveThrough(current, theirsPatch, true);
        if (next === null) {
          return { ok: false, conflict: { index, path: patch.path, by: theirsPatch.path } };
        }
        // Their patch, moved past mine: if mine removed its target, it has no effect.
        const theirsMoved = moveThrough(theirsPatch, current, false);
        if (theirsMoved !== null) theirsAfter.push(theirsMoved);
        current = next;
      }
      theirsNow = theirsAfter;
      moved.push(current);
    }
  }
  return { ok: true, mine: moved, theirs: theirsNow };
}

/** `move` and `copy` as the `remove` and `add` they amount to, for moving paths. */
function expand(patch) {
  if (patch.op === 'move' && patch.from !== undefined) {
    return [{ op: 'remove', path: patch.from }, withoutFrom({ ...patch, op: 'add' })];
  }
  if (patch.op === 'copy' && patch.from !== undefined) {
    return [withoutFrom({ ...patch, op: 'add' })];
  }
  return [patch];
}

function withoutFrom(patch) {
  const { from: _from, ...rest } = patch;
  return rest;
}

const isIndex = (segment) => typeof segment === 'number';

function startsWith(path, prefix) {
  if (path.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (!sameSegment(path[i], prefix[i])) return false;
  }
  return true;
}

function sameSegment(a, b) {
  return a === b && typeof a === typeof b;
}

function samePath(a, b) {
  return a.length === b.length && startsWith(a, b);
}

/**
 * `patch` as it applies after `against` (both made against the same state); `null` when its
 * target is gone. `againstFirst`: on a tie (two inserts at one index), `against` comes first.
 */
function moveThrough(patch, against, againstFirst) {
  if (against.op === 'test') return patch;
  const target = patch.path;
  const at = against.path;
  const last = at[at.length - 1];
  if (against.op === 'remove' && against.value !== undefined && isIndex(last)) {
    // A set's removal names its element by value (the index is only where it was): nothing
    // shifts, and only a removal of the same element conflicts.
    const parent = at.slice(0, -1);
    const sameSet = target.length === at.length && startsWith(target, parent);
    const sameElement = sameSet && patch.op === 'remove' && deepEqual(patch.value, against.value);
    return sameElement ? null : patch;
  }
  if ((against.op === 'add' || against.op === 'remove') && isIndex(last)) {
    const list = at.slice(0, -1);
    const depth = list.length;
    if (target.length > depth && startsWith(target, list) && isIndex(target[depth])) {
      const j = target[depth];
      const i = last;
      const ownSlot = target.length === depth + 1;
      let shifted;
      if (against.op === 'add') {
        // An insert at `i`: elements at `i` and after move up. My own insert at the same index
        // stays before theirs only when mine is ordered first.
        const mineFirst = ownSlot && patch.op === 'add' && !againstFirst;
        shifted = j > i || (j === i && !mineFirst) ? j + 1 : j;
      } else if (j > i) {
        // A removal at `i`: elements after it move down.
        shifted = j - 1;
      } else if (j === i && !(ownSlot && patch.op === 'add')) {
        // The element itself is gone, unless mine inserts at its old place.
        return null;
      } else {
        shifted = j;
      }
      const path = target.slice();
      path[depth] = shifted;
      return { ...patch, path };
    }
    return patch;
  }
  // A whole value replaced, added or removed at `at`: everything below it is gone.
  if (target.length > at.length && startsWith(target, at)) return null;
  if (samePath(target, at) && against.op === 'remove' && patch.op !== 'add') return null;
  return patch;
}

/** Structural equality of two JSON values. */
export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}
