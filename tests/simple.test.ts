/**
 * Tests of ops/simple.ts, DeZero's teaching versions: each against closed
 * forms or loops written here, beside the optimized function it teaches,
 * and numeric gradient checks (float64, and float32 loosely).
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

/** Checks `f`'s gradient at `x` numerically, in float64 and (loosely) float32. */
function checkGrad(f: (x: V) => V, x: dz.NDArray): void {
  assert.ok(utils.gradientCheck(f, x));
  const x32 = new Variable(x.astype("float32"));
  f(x32).backward();
  assertAllClose(x32.grad!, utils.numericalGrad(f, x), GRAD_TOL.float32);
}

Deno.test("conv2dSimple() equals conv2d(), values and gradients", () => {
  const x = randn([2, 3, 6, 5], "float64", 1);
  const W = randn([4, 3, 3, 2], "float64", 2);
  const b = randn([4], "float64", 3);
  const a = F.conv2d(x, W, b, [2, 1], 1), s = F.conv2dSimple(x, W, b, [2, 1], 1);
  assertAllClose(s, a, { rtol: 1e-12, atol: 1e-12 });
  const R = randn(a.shape, "float64", 4);
  checkGrad((v) => F.sum(F.mul(F.conv2dSimple(v, W, b, [2, 1], 1), R)), x);
  checkGrad((v) => F.sum(F.mul(F.conv2dSimple(x, v, b, [2, 1], 1), R)), W);
  assert.throws(
    () => F.conv2dSimple(x, randn([4, 2, 3, 3])),
    /conv2dSimple: x \[2,3,6,5\] has 3 channels/,
  );
});

Deno.test("linearSimple() is x @ W + b", () => {
  const x = randn([3, 4], "float64", 5), W = randn([4, 2], "float64", 6), b = randn([2]);
  const want: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 2; j++) {
      let s = b.raw[j];
      for (let k = 0; k < 4; k++) s += x.raw[i * 4 + k] * W.raw[k * 2 + j];
      want.push(s);
    }
  }
  assertAllClose(F.linearSimple(x, W, b), want, { rtol: 1e-12 });
  assertAllClose(F.linearSimple(x, W), F.matmul(x, W), { rtol: 0 });
  checkGrad((v) => F.sum(F.linearSimple(v, W, b)), x);
  checkGrad((v) => F.sum(F.square(F.linearSimple(x, v, b))), W);
});

Deno.test("sigmoidSimple() is 1 / (1 + exp(-x)), as sigmoid()", () => {
  const x = randn([3, 4], "float64", 7).mul(3);
  assertAllClose(F.sigmoidSimple(x), Array.from(x.raw).map((v) => 1 / (1 + Math.exp(-v))), {
    rtol: 1e-15,
  });
  assertAllClose(F.sigmoidSimple(x), F.sigmoid(x), { rtol: 1e-14 });
  checkGrad((v) => F.sum(F.sigmoidSimple(v)), x);
});

Deno.test("softmaxSimple() is exp(x) / sum(exp(x)) along the axis, as softmax()", () => {
  const x = randn([3, 4], "float64", 8);
  const e = Array.from(x.raw).map(Math.exp);
  const want = e.map((v, i) => v / e.slice(i - i % 4, i - i % 4 + 4).reduce((s, a) => s + a, 0));
  assertAllClose(F.softmaxSimple(x), want, { rtol: 1e-14 });
  assertAllClose(F.softmaxSimple(x, 0), F.softmax(x, 0), { rtol: 1e-14 });
  const R = randn([3, 4], "float64", 9);
  checkGrad((v) => F.sum(F.mul(F.softmaxSimple(v), R)), x);
});

Deno.test("softmaxCrossEntropySimple() is -mean log softmax at the labels, as softmaxCrossEntropy()", () => {
  const x = randn([4, 3], "float64", 10);
  const t = dz.array([2, 0, 1, 2], { dtype: "int32" });
  let want = 0;
  for (let i = 0; i < 4; i++) {
    const row = Array.from(x.raw.slice(i * 3, i * 3 + 3));
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    want -= (row[t.raw[i]] - lse) / 4;
  }
  assertAllClose(F.softmaxCrossEntropySimple(x, t), want, { rtol: 1e-14 });
  assertAllClose(F.softmaxCrossEntropySimple(x, t), F.softmaxCrossEntropy(x, t), { rtol: 1e-14 });
  checkGrad((v) => F.softmaxCrossEntropySimple(v, t), x);
  assert.throws(
    () => F.softmaxCrossEntropySimple(x, dz.array([0, 3, 0, 0])),
    /getItem: index 3 is out of bounds/,
  );
});

Deno.test("meanSquaredErrorSimple() is sum((x0 - x1)^2) / len, as meanSquaredError()", () => {
  const a = randn([5, 2], "float64", 11), b = randn([5, 2], "float64", 12);
  const want = Array.from(a.raw).reduce((s, v, i) => s + (v - b.raw[i]) ** 2, 0) / 5;
  assertAllClose(F.meanSquaredErrorSimple(a, b), want, { rtol: 1e-14 });
  assertAllClose(F.meanSquaredErrorSimple(a, b), F.meanSquaredError(a, b), { rtol: 1e-14 });
  checkGrad((v) => F.meanSquaredErrorSimple(v, b), a);
});
