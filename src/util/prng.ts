/**
 * mulberry32: a small seeded PRNG, reproducible from its seed and allocation free per call. Used
 * by the bench workloads, the fuzzer and the tests, so a seed printed by one reproduces in all.
 */

/** A generator of uniform uint32 values. */
export function mulberry32u(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A generator of uniform floats in [0, 1), from the same sequence as mulberry32u. */
export function mulberry32(seed: number): () => number {
  const u = mulberry32u(seed);
  return () => u() / 4294967296;
}
