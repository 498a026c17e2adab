// The JavaScript transformation gives the Rust one's answer on every case the Rust tests write
// (tests/test_transform_vectors.rs writes test/vectors/transform.json), under each rule: the
// concurrent one (`transform`) and the one for a later edit moved back through a dropped edit's
// inverse (`transformAfterDropped`); and so does the selective undo, `revertThrough`, on the
// cases of `immer::revert_through` (tests/test_revert_vectors.rs writes
// test/vectors/revert.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { revertThrough, transform, transformAfterDropped } from '../transform.js';

const { cases } = JSON.parse(readFileSync(new URL('./vectors/transform.json', import.meta.url), 'utf8'));

const RULES = { concurrent: transform, afterDropped: transformAfterDropped };
const reverts = JSON.parse(readFileSync(new URL('./vectors/revert.json', import.meta.url), 'utf8')).cases;

test('the vectors are there, under both rules', () => {
  for (const rule of Object.keys(RULES)) {
    const under = cases.filter((c) => c.rule === rule);
    assert.ok(under.length >= 1000, `${under.length} cases under ${rule}`);
    assert.ok(under.some((c) => c.expected.ok) && under.some((c) => !c.expected.ok));
  }
  assert.ok(cases.every((c) => Object.hasOwn(RULES, c.rule)), 'every case names a known rule');
});

test('every case: the same moved patches, or the same conflict', () => {
  let failures = 0;
  for (const [n, { rule, mine, theirs, expected }] of cases.entries()) {
    const got = RULES[rule](mine, theirs);
    try {
      assert.deepStrictEqual(got, expected);
    } catch (error) {
      if (++failures <= 3) {
        console.error(`case ${n}:`, JSON.stringify({ rule, mine, theirs, expected, got }));
      }
    }
  }
  assert.equal(failures, 0, `${failures} of ${cases.length} cases differ`);
});

test('the transformation does not change its inputs', () => {
  const mine = [{ op: 'replace', path: ['todos', 5, 'done'], value: true }];
  const theirs = [{ op: 'remove', path: ['todos', 0] }];
  const copy = structuredClone(mine);
  const got = transform(mine, theirs);
  assert.deepEqual(mine, copy);
  assert.deepEqual(got.mine[0].path, ['todos', 4, 'done']);
});

test('every revert case: the same revert moved through the later changes, or the same conflict', (t) => {
  assert.ok(reverts.length >= 2000, `${reverts.length} cases`);
  assert.ok(reverts.some((c) => c.expected.ok) && reverts.some((c) => !c.expected.ok));
  let failures = 0;
  for (const [n, { inverse, later, expected }] of reverts.entries()) {
    const got = JSON.parse(JSON.stringify(revertThrough(inverse, later)));
    try {
      assert.deepStrictEqual(got, expected);
    } catch {
      if (++failures <= 3) console.error(`revert case ${n}:`, JSON.stringify({ inverse, later, expected, got }));
    }
  }
  t.diagnostic(`${reverts.length} revert cases checked`);
  assert.equal(failures, 0, `${failures} of ${reverts.length} revert cases differ`);
});
