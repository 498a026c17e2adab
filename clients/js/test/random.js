// What the tests share to draw the same random cases on every run.

/**
 * A small deterministic generator (mulberry32): `rng(seed)` gives a function that returns a
 * whole number below `n` for each call.
 *
 * @param {number} seed
 * @returns {(n: number) => number}
 */
export function rng(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}
