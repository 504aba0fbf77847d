/**
 * Tests of bench/peers.ts's data generators against the peers' reference
 * outputs in bench/data/checks.json (computed by numpy), bit for bit.
 * @module
 */
import assert from "node:assert/strict";
import checks from "../bench/data/checks.json" with { type: "json" };
import {
  checkGenerators,
  hash32,
  initWeight,
  spiralPerm,
  symmetric,
  u32,
  uniform,
  w5Batch,
} from "../bench/peers.ts";

const first = (a: ArrayLike<number>, n = 4): number[] => Array.from(a).slice(0, n);

Deno.test("hash32() is lowbias32 on unsigned 32-bit integers", () => {
  assert.deepEqual([0, 1, 2, 3].map(hash32), checks.hash32_0_to_3);
});

Deno.test("u32() hashes hash32(seed) + i", () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => u32(7, i)), checks.rand_u32_seed7_first4);
});

Deno.test("u32() wraps hash32(seed) + i modulo 2^32", () => {
  const h = hash32(7); // 2^32 - h is the index where the sum wraps to 0
  assert.equal(u32(7, 2 ** 32 - h), hash32(0));
});

Deno.test("uniform() keeps the top 24 bits of u32() as a float in [0, 1)", () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => uniform(7, i)), checks.uniform_seed7_first4);
});

Deno.test("symmetric() gives W1's x and W2's A as float32(2u - 1)", () => {
  const x = symmetric(1, 1000 * 1000);
  assert.deepEqual(first(x), checks.w1_x_first4);
  assert.equal(x.reduce((s, v) => s + v, 0), checks.w1_x_sum_f64);
  assert.deepEqual(first(symmetric(2128, 4)), checks.w2_a128_first4);
});

Deno.test("initWeight() scales by sqrt(3 / fanIn) and rounds once to float32", () => {
  assert.deepEqual(Array.from(initWeight(31, 2, 10)), checks.w3_W1);
  assert.deepEqual(first(initWeight(32, 10, 3)), checks.w3_W2_first4);
  assert.deepEqual(first(initWeight(53, 784, 1000)), checks.w5_W1_first4);
  assert.deepEqual(first(initWeight(54, 1000, 10)), checks.w5_W2_first4);
});

Deno.test("spiralPerm() is the stable argsort of u32(100 + epoch, i)", () => {
  assert.deepEqual(first(spiralPerm(0), 10), checks.w3_perm_epoch0_first10);
  assert.deepEqual(first(spiralPerm(299), 10), checks.w3_perm_epoch299_first10);
  const p = spiralPerm(0);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
});

Deno.test("w5Batch() draws x from uniform(51, i) and t from u32(52, i) mod 10", () => {
  const { x, t } = w5Batch();
  assert.equal(x.length, 256 * 784);
  assert.equal(t.length, 256);
  assert.deepEqual(first(x), checks.w5_x_first4);
  assert.deepEqual(first(t, 10), checks.w5_t_first10);
});

Deno.test("checkGenerators() accepts the generators as they are", () => {
  assert.doesNotThrow(checkGenerators);
});
