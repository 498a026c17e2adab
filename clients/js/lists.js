// Immer writes a change to a list position by position: moving an element k places is k + 1
// `replace` patches, and inserting at the front replaces every element after. Moved through
// another client's concurrent reorder, such replaces keep the later write at each position,
// and an element can end up twice while another is lost. `listPatches` rewrites the patches of
// a list whose elements were only inserted, removed or reordered as the `remove` and `add` of
// the elements that moved (found by identity, which Immer keeps for untouched elements), when
// that takes no more patches: one `remove` and one `add` per moved element, which the path
// transformation moves correctly through anything concurrent.

/** Lists longer than this (in the part that changed) keep Immer's patches. */
const MAX_WINDOW = 2048;

/**
 * Rewrites `patches` (made from `base` to `next`) list by list, where that takes no more.
 *
 * @param {any} base
 * @param {any} next
 * @param {import('./index.js').Patch[]} patches
 * @returns {import('./index.js').Patch[]}
 */
export function listPatches(base, next, patches) {
  const lists = new Map();
  for (const patch of patches) {
    const last = patch.path[patch.path.length - 1];
    if (typeof last !== 'number') continue;
    const parent = patch.path.slice(0, -1);
    const key = JSON.stringify(parent);
    if (!lists.has(key)) lists.set(key, parent);
  }
  let out = patches;
  for (const [key, parent] of lists) {
    // Only lists whose patches are all of whole elements, and that are lists on both sides.
    const mine = (p) => p.path.length === parent.length + 1 && JSON.stringify(p.path.slice(0, -1)) === key;
    const touches = (p) => {
      const n = Math.min(p.path.length, parent.length);
      return p.path.slice(0, n).every((s, i) => s === parent[i]);
    };
    if (out.some((p) => touches(p) && !mine(p))) continue;
    const before = at(base, parent);
    const after = at(next, parent);
    if (!Array.isArray(before) || !Array.isArray(after)) continue;
    const rewritten = moves(before, after, parent);
    const count = out.filter(mine).length;
    if (rewritten === null || rewritten.length > count) continue;
    const first = out.findIndex(mine);
    const rest = out.filter((p) => !mine(p));
    out = [...rest.slice(0, first), ...rewritten, ...rest.slice(first)];
  }
  return out;
}

function at(value, path) {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = current[segment];
  }
  return current;
}

/**
 * The removes (highest index first) and adds (lowest first) that take `before` to `after`,
 * keeping the longest common subsequence of elements by identity; `null` when the changed part
 * is too long to compare.
 */
function moves(before, after, parent) {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  const b = before.slice(start, endB);
  const a = after.slice(start, endA);
  if (b.length * a.length > MAX_WINDOW * MAX_WINDOW / 4) return null;
  // lcs[i][j]: the longest common subsequence of b[i..] and a[j..].
  const lcs = Array.from({ length: b.length + 1 }, () => new Uint32Array(a.length + 1));
  for (let i = b.length - 1; i >= 0; i--) {
    for (let j = a.length - 1; j >= 0; j--) {
      lcs[i][j] = b[i] === a[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const keptB = new Array(b.length).fill(false);
  const keptA = new Array(a.length).fill(false);
  for (let i = 0, j = 0; i < b.length && j < a.length; ) {
    if (b[i] === a[j]) {
      keptB[i++] = true;
      keptA[j++] = true;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  const out = [];
  for (let i = b.length - 1; i >= 0; i--) {
    if (!keptB[i]) out.push({ op: 'remove', path: [...parent, start + i] });
  }
  for (let j = 0; j < a.length; j++) {
    if (!keptA[j]) out.push({ op: 'add', path: [...parent, start + j], value: a[j] });
  }
  return out;
}
