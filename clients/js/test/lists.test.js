// List patches as moves: they reproduce Immer's result and inverse, never outnumber Immer's,
// and concurrent reorders moved through each other keep every element exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatches, enablePatches, produceWithPatches } from 'immer';
import { listPatches } from '../lists.js';
import { transform } from '../transform.js';
import { rng } from './random.js';

enablePatches();

function board(n) {
  return { title: 't', todos: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, done: false })) };
}

/** A random recipe: moves, inserts, removals, in-place edits. */
function recipe(random, tag) {
  const steps = Array.from({ length: 1 + random(3) }, () => [random(5), random(100), random(100)]);
  return (d) => {
    for (const [kind, x, y] of steps) {
      const n = d.todos.length;
      if (kind === 0 && n > 1) {
        const [t] = d.todos.splice(x % n, 1);
        d.todos.splice(y % n, 0, t);
      } else if (kind === 1) {
        d.todos.splice(x % (n + 1), 0, { id: `${tag}-${x}-${y}`, done: false });
      } else if (kind === 2 && n > 0) {
        d.todos.splice(x % n, 1);
      } else if (kind === 3 && n > 0) {
        d.todos[x % n].done = !d.todos[x % n].done;
      } else {
        d.title = `${tag}${x}`;
      }
    }
  };
}

test('rewritten patches reproduce the result and the inverse, never more of them', () => {
  const random = rng(20261202);
  let fewer = 0;
  for (let n = 0; n < 2000; n++) {
    const base = board(random(12));
    const [next, patches, inverse] = produceWithPatches(base, recipe(random, `c${n}`));
    const mine = listPatches(base, next, patches);
    const back = listPatches(next, base, inverse);
    assert.deepEqual(applyPatches(base, mine), next);
    assert.deepEqual(applyPatches(next, back), base);
    assert.ok(mine.length <= patches.length && back.length <= inverse.length);
    if (mine.length < patches.length) fewer++;
  }
  assert.ok(fewer > 300, `${fewer} cases with fewer patches`);
});

test('two concurrent reorders, moved through each other, keep every element once', () => {
  const random = rng(7);
  for (let n = 0; n < 2000; n++) {
    const base = board(2 + random(8));
    const move = (d) => {
      const len = d.todos.length;
      const [t] = d.todos.splice(random(len), 1);
      d.todos.splice(random(len), 0, t);
    };
    const [afterA, patchesA] = produceWithPatches(base, move);
    const [afterB, patchesB] = produceWithPatches(base, move);
    const a = listPatches(base, afterA, patchesA);
    const b = listPatches(base, afterB, patchesB);
    // A is ordered first; B moved through it (or dropped when it conflicts).
    const moved = transform(b, a);
    const final = moved.ok ? applyPatches(afterA, moved.mine) : afterA;
    const ids = final.todos.map((t) => t.id).sort();
    assert.deepEqual(ids, base.todos.map((t) => t.id).sort(), JSON.stringify({ a, b, moved }));
  }
});
