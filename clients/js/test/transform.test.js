// The JavaScript transformation gives the Rust one's answer on every case the Rust tests write
// (tests/test_transform_vectors.rs writes test/vectors/transform.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { transform } from '../transform.js';

const { cases } = JSON.parse(readFileSync(new URL('./vectors/transform.json', import.meta.url), 'utf8'));

test('the vectors are there', () => {
  assert.ok(cases.length >= 1000, `${cases.length} cases`);
  assert.ok(cases.some((c) => c.expected.ok) && cases.some((c) => !c.expected.ok));
});

test('every case: the same moved patches, or the same conflict', () => {
  let failures = 0;
  for (const [n, { mine, theirs, expected }] of cases.entries()) {
    const got = transform(mine, theirs);
    try {
      assert.deepStrictEqual(got, expected);
    } catch (error) {
      if (++failures <= 3) {
        console.error(`case ${n}:`, JSON.stringify({ mine, theirs, expected, got }));
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
