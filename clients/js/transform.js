// Moving patches through concurrent ones: the same path transformation as the Rust crate's
// `immer::transform`, held to it by shared test vectors (test/transform.test.js reads the cases
// the Rust tests write).
//
// Two lists of patches made against the same state, `mine` and `theirs`, with `theirs` ordered
// first: `transform` gives `mine` as it applies after `theirs`, and `theirs` as it applies after
// `mine`. Only paths change, never values. A path is an array of segments, as Immer writes it:
// a number is a list index, a string a key.
//
// - an insert into a list at index `i` shifts every path through an element at `i` or after up
//   by one (two inserts at the same index: the one ordered first stays first);
// - a removal at `i` shifts paths through elements after `i` down by one, and a path through the
//   removed element itself is a conflict: its target is gone;
// - a set's `remove`, which names its element by value, shifts nothing, and conflicts only with
//   a removal of the same element;
// - a `replace` or `remove` of a whole value (a field, a key, a whole list) is a conflict for
//   every path below it; the same field or key written twice keeps the later write;
// - a list element replaced whole is another element: a `remove` or `replace` of it conflicts
//   too, as does every path below it. Nothing is ever moved onto an element its author did not
//   edit.
//
// The Rust crate tells most pairs apart from the heads of their paths (`Head`, `siblings`); that
// is an optimization giving the answers of `effect`, which this file ports pair by pair.

/**
 * @typedef {import('./index.js').Patch} Patch
 * @typedef {{ index: number, path: Array<string | number>, by: Array<string | number> }} Conflict
 * @typedef {{ mineFirst: boolean, dependent: boolean, laterWriteStands?: boolean }} Rule `laterWriteStands`: a patch
 *   moved that writes a value a patch it meets writes again is dropped (the later write stands)
 */

/** Concurrent edits, the other side ordered first. */
export const CONCURRENT = Object.freeze({ mineFirst: false, dependent: false });

/**
 * A later edit moved back through the inverse of an earlier edit taken out of the queue: a
 * patch that writes or removes a whole value inside which the earlier edit changed something
 * carries (or may carry) that change, so it depends on the earlier edit and conflicts.
 */
export const AFTER_DROPPED = Object.freeze({ mineFirst: false, dependent: true });

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
  return transformBy(mine, theirs, CONCURRENT);
}

/**
 * `transform` under the rule of a later edit moved back through the inverse (`theirs`) of an
 * edit taken out before it (`AFTER_DROPPED`): what the follower does, and what the shared
 * vectors check.
 *
 * @param {readonly Patch[]} mine
 * @param {readonly Patch[]} theirs
 * @returns {{ ok: true, mine: Patch[], theirs: Patch[] } | { ok: false, conflict: Conflict }}
 */
export function transformAfterDropped(mine, theirs) {
  return transformBy(mine, theirs, AFTER_DROPPED);
}

/**
 * A revert of an older change moved through later ones: what it puts back was there first, so
 * it goes before anything inserted at the same place later.
 */
export const REVERT = Object.freeze({ mineFirst: true, dependent: false, laterWriteStands: true });

/**
 * The patches that revert an older change, moved through every change made after it, so that
 * they apply after the last: selective undo, the rule of the Rust crate's `revert_through`
 * (`History::revert`). `inverse` is the older change's inverse; `later` the forward patches of
 * each later change, oldest first. Where a later change wrote the same value again (a
 * `replace` of the same path, an `add` of the same key) the later write stands.
 *
 * @param {readonly Patch[]} inverse
 * @param {Iterable<readonly Patch[]>} later
 * @returns {{ ok: true, revert: Patch[] } | { ok: false, index: number, conflict: Conflict }}
 *   the moved revert, or the index in `later` of the change that removed or replaced what the
 *   older change changed, with the conflict
 */
export function revertThrough(inverse, later) {
  let revert = inverse.slice();
  let index = 0;
  for (const patches of later) {
    // A value a later change wrote again keeps the later write: `REVERT` drops the revert's
    // patch where it meets that write.
    const passed = new Through(patches).pass(revert, REVERT);
    if (!passed.ok) return { ok: false, index, conflict: passed.conflict };
    revert = passed.mine;
    index++;
  }
  return { ok: true, revert };
}

/**
 * Whether `patch` writes (or removes) a value that `later` writes again: a `replace` of the
 * same path, or an `add` of the same key. (At a list index an `add` inserts and a `remove`
 * takes an element out: neither writes the value there.)
 */
function overwrites(later, patch) {
  const keyed = !isIndex(patch.path[patch.path.length - 1]);
  const writes = (p, removeToo) =>
    p.op === 'replace' || (p.op === 'add' && keyed) || (p.op === 'remove' && keyed && removeToo);
  return writes(patch, true) && later.some((l) => samePath(l.path, patch.path) && writes(l, false));
}

function transformBy(mine, theirs, rule) {
  const through = new Through(theirs);
  const passed = through.pass(mine, rule);
  return passed.ok
    ? { ok: true, mine: passed.mine, theirs: through.toPatches() }
    : { ok: false, conflict: passed.conflict };
}

/**
 * One side's patches, kept while the other side's edits move through them one after another:
 * after each `pass` they apply after the edit that passed. Each patch keeps the number (its
 * owner) its caller gave the list it came with (see `prepend`). Patches are never changed in
 * place: a moved one is a new object.
 */
export class Through {
  /** @param {readonly Patch[]} [patches] */
  constructor(patches = []) {
    /** @type {(Patch | null)[]} `null` where a patch no longer has any effect. */
    this.patches = patches.flatMap(expand);
    /** @type {number[]} */
    this.owners = this.patches.map(() => 0);
  }

  /** Puts `patches`, which apply before the ones held, in front of them, under `owner`. */
  prepend(patches, owner) {
    const parts = patches.flatMap(expand);
    this.patches = [...parts, ...this.patches];
    this.owners = [...parts.map(() => owner), ...this.owners];
  }

  /** A copy, to go back to. */
  clone() {
    const copy = new Through();
    copy.patches = this.patches.slice();
    copy.owners = this.owners.slice();
    return copy;
  }

  isEmpty() {
    return this.patches.every((patch) => patch === null);
  }

  /** @returns {Patch[]} the patches that still have an effect */
  toPatches() {
    return this.patches.filter((patch) => patch !== null);
  }

  /**
   * Moves `mine` (made against the state these patches apply to) through them, and them past
   * `mine`. On a conflict nothing changes.
   *
   * @param {readonly Patch[]} mine
   * @param {Rule} rule
   * @returns {{ ok: true, mine: Patch[] } | { ok: false, conflict: Conflict, owner: number }}
   *   `mine` as it applies after these patches (which then apply after `mine`), or the
   *   conflict with the owner of the patch it met
   */
  pass(mine, rule) {
    /** @type {Array<[number, Patch]>} what changed, to put back on a conflict */
    const saved = [];
    const moved = [];
    for (let index = 0; index < mine.length; index++) {
      const patch = mine[index];
      parts: for (let current of expand(patch)) {
        const mark = saved.length;
        for (let at = 0; at < this.patches.length; at++) {
          const theirs = this.patches[at];
          if (theirs === null) continue;
          // The later write stands: this patch of mine is dropped where it meets it, and the
          // patches it passed are as they were.
          if (rule.laterWriteStands && overwrites([theirs], current)) {
            for (let n = saved.length - 1; n >= mark; n--) this.patches[saved[n][0]] = saved[n][1];
            saved.length = mark;
            continue parts;
          }
          const mineMoves = effect(current, theirs, !rule.mineFirst, rule.dependent, false);
          if (mineMoves === GONE) {
            for (let n = saved.length - 1; n >= 0; n--) this.patches[saved[n][0]] = saved[n][1];
            return { ok: false, conflict: { index, path: patch.path, by: theirs.path }, owner: this.owners[at] };
          }
          // Their patch, moved past mine: if mine removed its target or wrote the same place
          // again, it has no effect any more.
          const theirsMoves = effect(theirs, current, rule.mineFirst, false, true);
          if (theirsMoves !== SAME) {
            saved.push([at, theirs]);
            this.patches[at] = theirsMoves === GONE ? null : withIndex(theirs, theirsMoves);
          }
          if (mineMoves !== SAME) current = withIndex(current, mineMoves);
        }
        moved.push(current);
      }
    }
    return { ok: true, mine: moved };
  }
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

/** `patch` with the list index at `depth` of its path set to `to`. */
function withIndex(patch, { depth, to }) {
  const path = patch.path.slice();
  path[depth] = to;
  return { ...patch, path };
}

const isIndex = (segment) => typeof segment === 'number';

/** Whether `path` starts with the first `n` segments of `prefix` (all of them by default). */
function startsWith(path, prefix, n = prefix.length) {
  if (path.length < n) return false;
  for (let i = 0; i < n; i++) {
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

// What a patch ordered before another does to the other's path: nothing (`SAME`), its target
// is gone (`GONE`), or the list index at `depth` becomes `to` (`{ depth, to }`).
const SAME = 'same';
const GONE = 'gone';

/**
 * What an insert or removal (`againstOp`) at index `i` of a list does to a path through index
 * `j` of the same list (at `depth`): `ownSlot` when the path ends there, `patchOp` its
 * operation, `againstFirst` who goes first when both insert at one index.
 */
function shift(j, i, againstOp, ownSlot, patchOp, againstFirst, depth) {
  let shifted;
  if (againstOp === 'add') {
    // An insert at `i`: elements at `i` and after move up. My own insert at the same index
    // stays before theirs only when mine is ordered first.
    shifted = j > i || (j === i && !(ownSlot && patchOp === 'add' && !againstFirst)) ? j + 1 : j;
  } else if (j > i) {
    // A removal at `i`: elements after it move down.
    shifted = j - 1;
  } else if (j === i && !(ownSlot && patchOp === 'add')) {
    // The element itself is gone, unless mine inserts at its old place.
    return GONE;
  } else {
    shifted = j;
  }
  return shifted === j ? SAME : { depth, to: shifted };
}

/**
 * What `against` does to `patch` (both made against the same state) when `patch` is moved to
 * apply after it. `againstFirst`: on a tie (two inserts at one index), `against` comes first.
 * `dependent`: the rule `AFTER_DROPPED`. `overwritten`: `against` is the later write, so a
 * write of `patch` to the same field, key or list element is lost under it.
 */
function effect(patch, against, againstFirst, dependent, overwritten) {
  if (against.op === 'test' || patch.op === 'test') return SAME;
  const target = patch.path;
  const at = against.path;
  // Paths that part at a field or key name never touch (the common case, checked first).
  if (typeof target[0] === 'string' && typeof at[0] === 'string' && target[0] !== at[0]) return SAME;
  const last = at[at.length - 1];
  const atIndex = isIndex(last);
  if (dependent && startsWith(at, target)) {
    // `patch` writes or removes a whole value holding what `against` puts back, or writes
    // again, as a list or an object, the very value the dropped edit wrote (and may carry it).
    // An insert into a list does not (it only shifts what follows).
    const keyed = !isIndex(target[target.length - 1]);
    const below = at.length > target.length;
    const composite = patch.value !== null && typeof patch.value === 'object';
    const depends =
      patch.op === 'replace'
        ? below || composite
        : patch.op === 'remove'
          ? below
          : patch.op === 'add' && keyed && (below || composite);
    if (depends) return GONE;
  }
  if (against.op === 'remove' && against.value !== undefined && atIndex) {
    // A set's removal names its element by value (the index is only where it was): nothing
    // shifts, and only a removal of the same element conflicts.
    const sameSet = target.length === at.length && startsWith(target, at, at.length - 1);
    const sameElement = sameSet && patch.op === 'remove' && patch.value !== undefined && deepEqual(patch.value, against.value);
    return sameElement ? GONE : SAME;
  }
  if ((against.op === 'add' || against.op === 'remove') && atIndex) {
    const depth = at.length - 1;
    if (target.length > depth && startsWith(target, at, depth) && isIndex(target[depth])) {
      return shift(target[depth], last, against.op, target.length === depth + 1, patch.op, againstFirst, depth);
    }
    return SAME;
  }
  // A whole value replaced, added or removed at `at`: everything below it is gone.
  if (target.length > at.length && startsWith(target, at)) return GONE;
  if (samePath(target, at)) {
    let gone;
    if (overwritten) {
      gone = (against.op === 'add' || against.op === 'remove' || against.op === 'replace') && (patch.op === 'replace' || !atIndex);
    } else if (against.op === 'remove') {
      gone = patch.op !== 'add';
    } else if (against.op === 'replace') {
      // A list element replaced whole is another element: removing or replacing "it" would hit
      // the other one.
      gone = atIndex && (patch.op === 'remove' || patch.op === 'replace');
    } else {
      gone = false;
    }
    if (gone) return GONE;
  }
  return SAME;
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

// Which changes concern a part of the state: path patterns (the `Policy` syntax of the Rust
// crate's `immer::PathPattern`) and whether a patch touches one, for subscriptions by path.

/** A list index written in decimal, as a literal segment of a pattern names one. */
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The largest list index a literal names: the Rust crate's `usize` on a 64-bit target. */
const MAX_INDEX = 18446744073709551615n;

/**
 * The list index a literal segment names, exactly, or `undefined` when it names none: plain
 * decimal digits without a leading zero ("0" itself is one), at most `MAX_INDEX`, as the Rust
 * crate reads one.
 */
function literalIndex(text) {
  if (!DECIMAL.test(text)) return undefined;
  const index = BigInt(text);
  return index <= MAX_INDEX ? index : undefined;
}

/** A pattern's escapes: RFC 6901's, and `~2` for a `*` (a key `*` or `**` is `/~2`, `/~2~2`). */
const UNESCAPED = { '~0': '~', '~1': '/', '~2': '*' };

/**
 * Reads a path pattern: a JSON Pointer whose segments may be `*` (any one segment) or, last,
 * `**` (any number of segments, none included); `~0` and `~1` stand for `~` and `/` (RFC
 * 6901), and `~2` for `*` (a key `*` is `/~2`); `""` is the whole state. A literal segment
 * matches a key with that text and a list index written in decimal. Throws a `SyntaxError` naming the pattern and what is wrong with
 * it (a `TypeError` when it is not a string).
 *
 * ```js
 * parsePattern('/scores/~1a/**').segments;
 * // [{ kind: 'literal', value: 'scores' }, { kind: 'literal', value: '/a' }, { kind: 'rest' }]
 * ```
 *
 * @param {string} text
 * @returns {import('./index.js').PathPattern}
 */
export function parsePattern(text) {
  if (typeof text !== 'string') throw new TypeError(`a path pattern is a string, not ${JSON.stringify(text) ?? typeof text}`);
  const bad = (reason) => new SyntaxError(`bad path pattern ${JSON.stringify(text)}: ${reason}`);
  if (text === '') return Object.freeze({ text, segments: Object.freeze([]) });
  if (!text.startsWith('/')) throw bad("it must start with '/'");
  const parts = text.slice(1).split('/');
  const segments = parts.map((part, n) => {
    if (part === '*') return Object.freeze({ kind: 'any' });
    if (part === '**') {
      if (n + 1 === parts.length) return Object.freeze({ kind: 'rest' });
      throw bad("'**' may only be the last segment");
    }
    if (/~(?![012])/.test(part)) throw bad("'~' must be followed by '0' or '1' (RFC 6901), or '2' (a '*')");
    return Object.freeze({ kind: 'literal', value: part.replace(/~[012]/g, (escape) => UNESCAPED[escape]) });
  });
  return Object.freeze({ text, segments: Object.freeze(segments) });
}

/**
 * Whether `patch` touches the part of the state `pattern` names: what a subscription by path
 * is called for. A patch at path A (and, for `move` and `copy`, from F) touches pattern P when:
 *
 * - A and P agree on their common length, segment by segment (a literal matches the same key,
 *   or a list index written in decimal; `*` any one segment; `**` everything from there on):
 *   the write is at, inside or above something P names; or
 * - it is an `add` or a `remove` whose last segment is a list index i (a number, or `-` for an
 *   append, counted as the end): the elements after it shift, so it touches P when P's segment
 *   at that depth is a literal index j >= i (after `-`, any literal index) and the segments
 *   before agree as above;
 * - a `move` is a `remove` at F and an `add` at A, a `copy` an `add` at A, each by the rules
 *   above. A `replace` never shifts.
 *
 * ```js
 * touches('/tasks/2/done', { op: 'add', path: ['tasks', 0], value: task });   // true: it shifts
 * touches('/tasks/2/done', { op: 'replace', path: ['tasks', 3, 'done'], value: true });   // false
 * ```
 *
 * @param {string | import('./index.js').PathPattern} pattern as `parsePattern` reads it, or read
 * @param {Patch} patch
 * @returns {boolean}
 */
export function touches(pattern, patch) {
  const { segments } = typeof pattern === 'string' ? parsePattern(pattern) : pattern;
  if (!Array.isArray(patch?.path)) throw new TypeError(`a patch's path is an array of segments, not ${JSON.stringify(patch?.path)}`);
  switch (patch.op) {
    case 'move':
      return (Array.isArray(patch.from) && writesAt(segments, 'remove', patch.from)) || writesAt(segments, 'add', patch.path);
    case 'copy':
      return writesAt(segments, 'add', patch.path);
    default:
      return writesAt(segments, patch.op, patch.path);
  }
}

/** Whether an `op` at `path` touches the pattern of `segments` (see `touches`). */
function writesAt(segments, op, path) {
  if (agrees(segments, path, path.length)) return true;
  if (op !== 'add' && op !== 'remove') return false;
  const depth = path.length - 1;
  const last = path[depth];
  const segment = segments[depth];
  if (depth < 0 || segment?.kind !== 'literal') return false;
  const index = literalIndex(segment.value);
  if (index === undefined) return false;
  // An insert or a removal at `last` shifts the elements from there on (an append: none, but
  // the one appended may be any index). Indices are compared exactly, as BigInts.
  if (last === '-') return agrees(segments, path, depth);
  return Number.isInteger(last) && last >= 0 && index >= BigInt(last) && agrees(segments, path, depth);
}

/** Whether the first `n` segments of `path` and the pattern agree, up to the shorter of them. */
function agrees(segments, path, n) {
  const common = Math.min(segments.length, n);
  for (let k = 0; k < common; k++) {
    const segment = segments[k];
    if (segment.kind === 'rest') return true;
    if (segment.kind === 'literal' && segment.value !== (typeof path[k] === 'number' ? String(path[k]) : path[k])) return false;
  }
  return true;
}
