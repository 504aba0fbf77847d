/**
 * Tests of getItem: numpy basic and fancy indexing (values from numpy),
 * its gradient (hand-derived and numeric), and its errors.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";
import { centralDifference, weightedSum } from "./central_difference.ts";

const { F, Variable } = dz;
const s = dz.slice;
type Index = Parameters<typeof F.getItem>[1];

const x1 = dz.arange(5).astype("float64");
const x2 = dz.arange(12).astype("float64").reshape(3, 4);
const x3 = dz.arange(24).astype("float64").reshape(2, 3, 4);
const x4 = dz.arange(360).astype("float64").reshape(5, 3, 4, 6);

// [name, x, index, numpy's result shape, numpy's result values]
// (generated with numpy 2.4: x1 = arange(5), x2 = arange(12).reshape(3, 4),
// x3 = arange(24).reshape(2, 3, 4), x4 = arange(360).reshape(5, 3, 4, 6))
const CASES: [string, dz.NDArray, Index, number[], number[]][] = [
  ["an int picks a sub-array", x3, 1, [3, 4], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]],
  ["negative ints count from the end", x3, [-1, -2], [4], [16, 17, 18, 19]],
  ["one int per axis gives a 0-d result", x3, [1, 2, 3], [], [23]],
  ["a slice keeps the axis", x3, [s(), s(1, 3)], [2, 2, 4], [
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
  ]],
  ["a slice with a step", x3, ["...", s(null, null, 2)], [2, 3, 2], [
    0,
    2,
    4,
    6,
    8,
    10,
    12,
    14,
    16,
    18,
    20,
    22,
  ]],
  ["negative steps reverse", x3, [s(), s(null, null, -1), s(3, 0, -2)], [2, 3, 2], [
    11,
    9,
    7,
    5,
    3,
    1,
    23,
    21,
    19,
    17,
    15,
    13,
  ]],
  ["negative slice bounds", x3, [s(-1), s(-3, -1)], [1, 2, 4], [12, 13, 14, 15, 16, 17, 18, 19]],
  ["out-of-range slice bounds clamp", x3, [s(0, 10), s(-10, 2), s(1, 99, 2)], [2, 2, 2], [
    1,
    3,
    5,
    7,
    13,
    15,
    17,
    19,
  ]],
  ["negative step with omitted bounds on 1-D", x1, s(null, null, -2), [3], [4, 2, 0]],
  ["negative step clamps past the start", x1, s(10, -10, -3), [2], [4, 1]],
  ["an empty slice", x3, [s(), s(2, 1)], [2, 0, 4], []],
  ["a leading ellipsis", x3, ["...", 1], [2, 3], [1, 5, 9, 13, 17, 21]],
  ["an ellipsis in the middle", x3, [0, "...", 2], [3], [2, 6, 10]],
  ["a lone ellipsis is the whole array", x2, "...", [3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
  ["an empty tuple is the whole array", x2, [], [3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
  ["null inserts new axes", x3, [null, 0, s(), null], [1, 3, 1, 4], [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
  ]],
  ["a 1-D index list", x3, [[1, 0, 1]], [3, 3, 4], [
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
  ]],
  ["an index NDArray", x3, dz.array([1, 0]), [2, 3, 4], [
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
  ]],
  ["negative entries of an index list wrap", x3, [s(), [-1, 0]], [2, 2, 4], [
    8,
    9,
    10,
    11,
    0,
    1,
    2,
    3,
    20,
    21,
    22,
    23,
    12,
    13,
    14,
    15,
  ]],
  ["an N-D index array", x3, [s(), [[0, 2], [1, 1]]], [2, 2, 2, 4], [
    0,
    1,
    2,
    3,
    8,
    9,
    10,
    11,
    4,
    5,
    6,
    7,
    4,
    5,
    6,
    7,
    12,
    13,
    14,
    15,
    20,
    21,
    22,
    23,
    16,
    17,
    18,
    19,
    16,
    17,
    18,
    19,
  ]],
  ["two index lists pick pairs", x3, [[0, 1, 1], [2, 0, 1]], [3, 4], [
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
  ]],
  ["index arrays broadcast together", x3, [[[0], [1]], [0, 2]], [2, 2, 4], [
    0,
    1,
    2,
    3,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    20,
    21,
    22,
    23,
  ]],
  ["arange with labels picks one per row", x2, [dz.arange(3), [3, 0, 2]], [3], [3, 4, 10]],
  ["adjacent int and array keep their place", x3, [s(), 0, [0, 3]], [2, 2], [0, 3, 12, 15]],
  ["an array between slices keeps its place", x3, [s(), [0, 2], s(1, 3)], [2, 2, 2], [
    1,
    2,
    9,
    10,
    13,
    14,
    21,
    22,
  ]],
  ["int and array split by a slice go first", x3, [1, s(1), [0, 3]], [2, 2], [16, 20, 19, 23]],
  ["arrays split by a slice go first", x3, [[0, 1], s(), [1, 2]], [2, 3], [1, 5, 9, 14, 18, 22]],
  ["arrays split by null go first", x3, [[0, 1], null, [1, 2]], [2, 1, 4], [
    4,
    5,
    6,
    7,
    20,
    21,
    22,
    23,
  ]],
  ["arrays split by an empty ellipsis go first", x3, [s(), [0, 1], "...", [1, 2]], [2, 2], [
    1,
    13,
    6,
    18,
  ]],
  [
    "4-D mixed slices and broadcast arrays",
    x4,
    [s(1, 4, 2), s(null, null, -2), [[0], [1]], [1, 2, 3]],
    [2, 2, 2, 3],
    [
      121,
      122,
      123,
      127,
      128,
      129,
      73,
      74,
      75,
      79,
      80,
      81,
      265,
      266,
      267,
      271,
      272,
      273,
      217,
      218,
      219,
      223,
      224,
      225,
    ],
  ],
  ["an empty index list", x3, [[]], [0, 3, 4], []],
];

for (const [name, x, index, shape, values] of CASES) {
  Deno.test(`getItem() matches numpy: ${name}`, () => {
    const y = F.getItem(x, index);
    assert.deepEqual(y.shape, shape);
    assert.equal(y.dtype, "float64");
    assertAllClose(y, values);
  });
}

Deno.test("getItem() keeps int32 and float32 dtypes", () => {
  const yi = F.getItem(dz.arange(6).reshape(2, 3), [1, s(null, null, -1)]);
  assert.equal(yi.dtype, "int32");
  assert.deepEqual(yi.data.toArray(), [5, 4, 3]);
  const yf = F.getItem(dz.array([[1.5, 2.5], [3.5, 4.5]], { dtype: "float32" }), [[1, 0], 1]);
  assert.equal(yf.dtype, "float32");
  assert.deepEqual(yf.data.toArray(), [4.5, 2.5]);
});

Deno.test("getItem() accepts a Variable of int32 labels as an index", () => {
  const t = new Variable(dz.array([2, 0, 1]));
  assertAllClose(F.getItem(x2, [dz.arange(3), t]), [2, 4, 9]);
});

Deno.test("getItem() accepts a slice object with omitted fields", () => {
  assertAllClose(F.getItem(x1, { start: 3, stop: null, step: null }), [3, 4]);
});

Deno.test("getItem() gradient: repeated indices accumulate", () => {
  const x = new Variable(dz.zeros([5]));
  F.getItem(x, [[0, 0, 1]]).backward();
  assertAllClose(x.grad!, [2, 1, 0, 0, 0]);
});

Deno.test("getItem() gradient: pairs of index arrays scatter the output gradient", () => {
  const x = new Variable(dz.zeros([3, 4]));
  const y = F.getItem(x, [[0, 2, 0, -1], [1, 3, 1, 0]]);
  // y = [x01, x23, x01, x20]; d sum(y * [1 2 3 4]) / dx
  F.sum(F.mul(y, dz.array([1, 2, 3, 4]))).backward();
  assertAllClose(x.grad!, [[0, 4, 0, 0], [0, 0, 0, 0], [4, 0, 0, 2]]);
});

Deno.test("getItem() gradient: a slice routes the gradient to the sliced rows only", () => {
  const x = new Variable(dz.ones([3, 2]));
  F.getItem(x, s(1)).backward();
  assert.deepEqual(x.grad!.shape, [3, 2]);
  assertAllClose(x.grad!, [[0, 0], [1, 1], [1, 1]]);
});

Deno.test("getItem() gradient: int32 input keeps an int32 gradient of its shape", () => {
  const x = new Variable(dz.arange(6).reshape(2, 3));
  F.getItem(x, [s(), [2, 2]]).backward();
  assert.equal(x.grad!.dtype, "int32");
  assert.deepEqual(x.grad!.data.toArray(), [[0, 0, 2], [0, 0, 2]]);
});

const GRAD_CASES: [string, dz.NDArray, Index][] = [
  ["repeated 1-D list", x3, [[1, 0, 1, 1]]],
  ["negative-step slices", x3, [s(), s(null, null, -1), s(3, 0, -2)]],
  ["two broadcast index arrays", x3, [[[0], [1], [1]], [0, 2, 2]]],
  ["int, slice and array split apart", x3, [1, s(1), [0, 3, 0]]],
  ["ellipsis, null and a repeated array", x4, ["...", null, [5, -1, 0, 5]]],
];

for (const [name, xv, index] of GRAD_CASES) {
  Deno.test(`getItem() gradient matches the numeric gradient: ${name}`, () => {
    dz.random.seed(0);
    const x0 = dz.random.randn(xv.shape);
    const w = dz.random.randn(F.getItem(x0, index).shape);
    const x = new Variable(x0);
    F.sum(F.mul(F.getItem(x, index), w)).backward();
    const expected = centralDifference((p) => weightedSum(F.getItem(p, index), w), x0);
    assert.deepEqual(x.grad!.shape, xv.shape);
    assertAllClose(x.grad!, expected, { atol: 1e-8 });
  });
}

Deno.test("getItem() second order: the gradient's backward is the same gather", () => {
  const x = new Variable(dz.zeros([2, 3]));
  const y = F.getItem(x, [[1, 1, 0], [0, 0, 2]]); // [x10, x10, x02]
  const gy = new Variable(dz.array([1.0, 2.0, 3.0]));
  y.grad = gy;
  y.backward({ createGraph: true });
  const gx = x.grad!;
  assertAllClose(gx, [[0, 0, 3], [3, 0, 0]]);
  // d sum(gx * v) / d gy = v[[1, 1, 0], [0, 0, 2]]
  const v = dz.array([[10.0, 20, 30], [40, 50, 60]]);
  F.sum(F.mul(gx, v)).backward();
  assertAllClose(gy.grad!, [40, 40, 30]);
});

Deno.test("getItem() rejects an out-of-range int, naming the axis and size", () => {
  assert.throws(
    () => F.getItem(x3, 2),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "getItem: index 2 is out of bounds for axis 0 with size 2",
  );
  assert.throws(
    () => F.getItem(x3, [0, -4]),
    /getItem: index -4 is out of bounds for axis 1 with size 3/,
  );
});

Deno.test("getItem() rejects an out-of-range index array entry", () => {
  assert.throws(
    () => F.getItem(x3, [s(), [0, 5]]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "getItem: index 5 is out of bounds for axis 1 with size 3",
  );
  assert.throws(
    () => F.getItem(x3, ["...", [-5]]),
    /index -5 is out of bounds for axis 2 with size 4/,
  );
});

Deno.test("getItem() rejects too many indices", () => {
  assert.throws(
    () => F.getItem(x3, [0, 0, 0, 0]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        "getItem: too many indices for array: array is 3-dimensional, but 4 were indexed",
  );
  assert.throws(() => F.getItem(dz.array(3), 0), /array is 0-dimensional, but 1 were indexed/);
});

Deno.test("getItem() rejects non-integer index arrays and indices", () => {
  assert.throws(
    () => F.getItem(x3, dz.array([0.5, 1])),
    (e: Error) => e instanceof TypeError && /getItem: .*integer type, got float64/.test(e.message),
  );
  assert.throws(() => F.getItem(x3, [[0, 1.5]]), /getItem: .*integer type, got float64/);
  assert.throws(() => F.getItem(x3, 1.5), /getItem: indices must be integers, got 1.5/);
  assert.throws(() => F.getItem(x3, s(0.5)), /getItem: slice indices must be integers/);
  assert.throws(
    () => F.getItem(x3, "x" as unknown as Index),
    /getItem: indices must be integers, slices, '...', null or integer arrays, got 'x'/,
  );
});

Deno.test("getItem() rejects a zero step, two ellipses and unbroadcastable index arrays", () => {
  assert.throws(() => F.getItem(x3, s(null, null, 0)), /getItem: slice step cannot be zero/);
  assert.throws(
    () => F.getItem(x3, ["...", 0, "..."]),
    /getItem: an index can only have a single ellipsis/,
  );
  assert.throws(
    () => F.getItem(x3, [[0, 1], [0, 1, 2]]),
    /getItem: cannot broadcast shapes \[2\] and \[3\]/,
  );
});
