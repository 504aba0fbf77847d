/**
 * Tests of ops/pooling.ts and the simple pooling: max and average pooling
 * against windows scanned here (zero padding, as DeZero), where the
 * gradient goes (the first maximum), numeric gradient checks (non-square
 * windows included), second derivatives, and the errors.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, utils, Variable } = dz;
type V = dz.Variable;

function randn(shape: number[], dtype: dz.DType = "float64", seed = 0): dz.NDArray {
  dz.random.seed(seed);
  return dz.random.randn(...shape).astype(dtype);
}

/** Each window's values (padding as zeros), window by window, in [N, C, OH, OW] order. */
function windows(
  x: dz.NDArray,
  [KH, KW]: number[],
  [SH, SW]: number[],
  [PH, PW]: number[],
): number[][] {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1, OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  const out: number[][] = [];
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const win: number[] = [];
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const h = i * SH + kh - PH, w = j * SW + kw - PW;
              win.push(
                h < 0 || h >= H || w < 0 || w >= W ? 0 : x.raw[((n * C + c) * H + h) * W + w],
              );
            }
          }
          out.push(win);
        }
      }
    }
  }
  return out;
}

const CASES: [number[], number[], number[]][] = [
  [[2, 2], [2, 2], [0, 0]],
  [[3, 2], [1, 2], [1, 0]],
  [[2, 3], [2, 1], [1, 1]],
];

Deno.test("pooling() and averagePooling() equal maxima and means of zero-padded windows", () => {
  for (const dtype of ["float64", "float32"] as const) {
    const x = randn([2, 3, 5, 6], dtype, 1);
    for (const [k, s, p] of CASES) {
      const win = windows(x, k, s, p);
      const y = F.pooling(x, k as [number, number], s as [number, number], p as [number, number]);
      assert.equal(y.dtype, dtype);
      assert.deepEqual(Array.from(y.data.data), win.map((w) => Math.max(...w)));
      const a = F.averagePooling(
        x,
        k as [number, number],
        s as [number, number],
        p as [number, number],
      );
      const tol = dtype === "float64" ? { rtol: 1e-12 } : { rtol: 1e-6, atol: 1e-7 };
      assertAllClose(a, win.map((w) => w.reduce((t, v) => t + v, 0) / w.length), tol);
    }
  }
  // DeZero's zero padding: an all-negative window at the border pools to 0
  const neg = dz.full([1, 1, 2, 2], -3);
  assert.deepEqual(F.pooling(neg, 2, 2, 1).data.toArray(), [[[[0, 0], [0, 0]]]]);
});

Deno.test("pooling() sends each window's gradient to its first maximum", () => {
  const x = new Variable(dz.array([[[[1, 3, 3, 0], [2, 3, 1, 5], [7, 7, 4, 4], [7, 0, 4, 4]]]], {
    dtype: "float64",
  }));
  const y = F.pooling(x, 2, 2);
  assert.deepEqual(y.data.toArray(), [[[[3, 5], [7, 4]]]]);
  F.sum(F.mul(y, dz.array([[[[1, 2], [3, 4]]]], { dtype: "float64" }))).backward();
  assert.deepEqual(x.grad!.data.toArray(), [[[[0, 1, 0, 0], [0, 0, 0, 2], [3, 0, 4, 0], [
    0,
    0,
    0,
    0,
  ]]]]);
  // the simple version gives a tie to every maximum, as max does
  const xs = new Variable(x.data);
  F.sum(F.poolingSimple(xs, 2, 2)).backward();
  assert.deepEqual(xs.grad!.data.toArray(), [[[[0, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1], [
    1,
    0,
    1,
    1,
  ]]]]);
});

Deno.test("pooling() and averagePooling() gradients pass numeric checks (non-square windows, float32 too)", () => {
  const x = randn([2, 2, 5, 4], "float64", 2);
  for (const [k, s, p] of CASES) {
    const [kk, ss, pp] = [k, s, p] as [number, number][];
    const shape = F.pooling(x, kk, ss, pp).shape;
    const R = randn(shape, "float64", 3);
    const maxLoss = (v: V | dz.NDArray) => F.sum(F.mul(F.pooling(v, kk, ss, pp), R));
    const avgLoss = (v: V | dz.NDArray) => F.sum(F.mul(F.averagePooling(v, kk, ss, pp), R));
    assert.ok(utils.gradientCheck(maxLoss, x));
    assert.ok(utils.gradientCheck(avgLoss, x));
    for (const loss of [maxLoss, avgLoss]) {
      const x32 = new Variable(x.astype("float32"));
      loss(x32).backward();
      assertAllClose(x32.grad!, utils.numericalGrad(loss, x), GRAD_TOL.float32);
    }
  }
});

Deno.test("pooling() second derivatives: the gradient's gradient picks the same elements", () => {
  const x0 = randn([1, 2, 4, 4], "float64", 4);
  const W = randn([1, 2, 4, 4], "float64", 5);
  const R = randn([1, 2, 2, 2], "float64", 6);
  // g(x) = sum(dL/dx * W) with L = sum(pooling(x)^2 * R): its gradient needs the backward's backward
  const g = (x: V) => {
    F.sum(F.mul(F.square(F.pooling(x, 2, 2)), R)).backward({ createGraph: true });
    const gx = x.grad!;
    x.cleargrad();
    return F.sum(F.mul(gx, W));
  };
  const x = new Variable(x0);
  g(x).backward();
  assertAllClose(x.grad!, utils.numericalGrad(g, x0), { rtol: 1e-6, atol: 1e-8 });
});

Deno.test("poolingSimple() equals pooling() on distinct values, gradients included", () => {
  const x = randn([2, 3, 6, 5], "float64", 7);
  const [a, b] = [new Variable(x), new Variable(x)];
  const ya = F.pooling(a, [3, 2], [2, 1], 1), yb = F.poolingSimple(b, [3, 2], [2, 1], 1);
  assert.deepEqual(Array.from(ya.data.data), Array.from(yb.data.data));
  const R = randn(ya.shape, "float64", 8);
  F.sum(F.mul(ya, R)).backward();
  F.sum(F.mul(yb, R)).backward();
  assertAllClose(a.grad!, b.grad!, { rtol: 1e-12 });
});

Deno.test("pooling() errors name the function and the shapes", () => {
  assert.throws(
    () => F.pooling(dz.ones([4, 4]), 2),
    /pooling: input must be 4-D \[N, C, H, W\], got shape \[4,4\]/,
  );
  assert.throws(
    () => F.pooling(dz.ones([1, 1, 3, 3]), 4),
    /pooling: kernel 4x4 is larger than the padded input 3x3/,
  );
  assert.throws(
    () => F.averagePooling(dz.ones([1, 1, 3, 3]), [2, 0]),
    /averagePooling: kernelSize must be integers >= 1/,
  );
  assert.throws(
    () => F.averagePooling(dz.ones([1, 1, 3, 3]), 2, 1, -1),
    /averagePooling: pad must be integers >= 0/,
  );
});
