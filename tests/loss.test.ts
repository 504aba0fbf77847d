/**
 * Tests of the losses and training utilities: F.meanSquaredError (DeZero
 * divides by len(diff)), F.softmaxCrossEntropy, F.sigmoidCrossEntropy,
 * F.binaryCrossEntropy, F.accuracy and F.dropout (masks equal numpy's
 * seeded draws).
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;
type FloatDType = "float64" | "float32";

const TOL = GRAD_TOL;
const SCORES = [[0.5, -1.2, 2.0, 0.1], [-0.3, 1.5, -2.5, 3.0], [1.0, 0.0, -0.7, 0.25]];
const LABELS = [2, 0, 3];

function scores(dtype: FloatDType): Variable {
  return new Variable(dz.array(SCORES, { dtype }));
}

const softmaxRef = (vs: number[]) => {
  const e = vs.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`meanSquaredError() of ${dtype} divides the summed squares by len(diff)`, () => {
    const x0 = new Variable(dz.array([[1, 2], [3, 4], [5, 6], [7, 8.5]], { dtype }));
    const x1 = new Variable(dz.array([[1.5, 2], [2, 4.5], [5, 7], [6, 8]], { dtype }));
    const diff = [-0.5, 0, 1, -0.5, 0, -1, 1, 0.5];
    const y = F.meanSquaredError(x0, x1);
    assert.deepEqual(y.shape, []);
    assert.equal(y.dtype, dtype);
    assertAllClose(y, diff.reduce((s, d) => s + d * d, 0) / 4, { rtol: 1e-7 });
    y.backward();
    assertAllClose(x0.grad!, diff.map((d) => (2 * d) / 4), { rtol: 1e-7 });
    assertAllClose(x1.grad!, diff.map((d) => (-2 * d) / 4), { rtol: 1e-7 });
    assertAllClose(x0.grad!, utils.numericalGrad((v) => F.meanSquaredError(v, x1), x0), TOL[dtype]);
    assertAllClose(x1.grad!, utils.numericalGrad((v) => F.meanSquaredError(x0, v), x1), TOL[dtype]);
  });

  Deno.test(`softmaxCrossEntropy() of ${dtype} scores and int32 labels: value and gradient`, () => {
    const x = scores(dtype);
    const y = F.softmaxCrossEntropy(x, dz.array(LABELS));
    assert.equal(y.dtype, dtype);
    assertAllClose(y, 1.778316165652271, { rtol: dtype === "float64" ? 1e-14 : 1e-6 }); // numpy
    const logp = SCORES.map((r, i) => Math.log(softmaxRef(r)[LABELS[i]]));
    assertAllClose(y, -(logp[0] + logp[1] + logp[2]) / 3, { rtol: 1e-6 });
    y.backward();
    assert.equal(x.grad!.dtype, dtype);
    const expected = SCORES.map((r, i) =>
      softmaxRef(r).map((p, j) => (p - (j === LABELS[i] ? 1 : 0)) / 3)
    );
    assertAllClose(x.grad!, expected, { rtol: 1e-5, atol: 1e-7 });
    const num = utils.numericalGrad((v) => F.softmaxCrossEntropy(v, dz.array(LABELS)), x);
    assertAllClose(x.grad!, num, TOL[dtype]);
  });
}

Deno.test("softmaxCrossEntropy() takes labels as nested numbers or an int32 Variable, and is stable", () => {
  const a = F.softmaxCrossEntropy(scores("float64"), LABELS).data.item();
  const b = F.softmaxCrossEntropy(scores("float64"), new Variable(dz.array(LABELS))).data.item();
  assertAllClose(a, 1.778316165652271, { rtol: 1e-14 });
  assert.equal(a, b);
  const big = F.softmaxCrossEntropy(new Variable([[1000, 1001, 1002]]), [0]);
  assertAllClose(big, -Math.log(softmaxRef([0, 1, 2])[0]), { rtol: 1e-14 });
});

Deno.test("softmaxCrossEntropy() rejects float labels and labels out of range", () => {
  const x = scores("float64");
  assert.throws(() => F.softmaxCrossEntropy(x, dz.array([2.0, 0.5, 3.0])), {
    name: "TypeError",
    message: "softmaxCrossEntropy: labels must be an int32 array, got float64",
  });
  assert.throws(() => F.softmaxCrossEntropy(x, dz.array([2, 4, 0])), {
    name: "RangeError",
    message: "softmaxCrossEntropy: label 4 out of range [0, 4)",
  });
  assert.throws(() => F.softmaxCrossEntropy(x, dz.array([-1, 0, 0])), {
    message: "softmaxCrossEntropy: label -1 out of range [0, 4)",
  });
  assert.throws(() => F.softmaxCrossEntropy(x, dz.array([1, 2])), /one label per row/);
});

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`sigmoidCrossEntropy() of ${dtype}: -sum(t log p + (1-t) log(1-p)) / N, grad (p - t) / N`, () => {
    const xs = [[0.5, -1.2], [2.0, 0.1], [-0.3, 1.5]];
    const ts = [[1, 0], [1, 1], [0, 0]];
    const x = new Variable(dz.array(xs, { dtype }));
    const t = new Variable(dz.array(ts, { dtype }));
    const y = F.sigmoidCrossEntropy(x, t);
    assert.equal(y.dtype, dtype);
    const p = xs.flat().map((v) => 1 / (1 + Math.exp(-v)));
    const tf = ts.flat();
    const ref = -p.reduce((s, pi, i) =>
      s + tf[i] * Math.log(pi) + (1 - tf[i]) * Math.log(1 - pi), 0) / 3;
    assertAllClose(y, ref, { rtol: dtype === "float64" ? 1e-14 : 1e-6 });
    y.backward();
    assertAllClose(x.grad!, p.map((pi, i) => (pi - tf[i]) / 3), { rtol: 1e-5, atol: 1e-7 });
    assertAllClose(x.grad!, utils.numericalGrad((v) => F.sigmoidCrossEntropy(v, t), x), TOL[dtype]);
  });
}

Deno.test("sigmoidCrossEntropy() reshapes labels of the same size to the scores' shape", () => {
  const x = new Variable([[0.5], [-1.2], [2.0]]);
  const a = F.sigmoidCrossEntropy(x, dz.array([1, 0, 1])).data.item();
  const b = F.sigmoidCrossEntropy(x, dz.array([[1], [0], [1]])).data.item();
  const p = [0.5, -1.2, 2.0].map((v) => 1 / (1 + Math.exp(-v)));
  assertAllClose(a, -(Math.log(p[0]) + Math.log(1 - p[1]) + Math.log(p[2])) / 3, { rtol: 1e-14 });
  assert.equal(a, b);
  assert.throws(() => F.sigmoidCrossEntropy(x, dz.array([1, 0])), /differ in size/);
});

Deno.test("accuracy() is the fraction of rows whose arg-max equals the label", () => {
  const y = new Variable([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]]);
  const acc = F.accuracy(y, [1, 0, 0, 0]);
  assert.equal(acc.data.item(), 0.75); // the tie in row 3 picks the first index, as argmax
  assert.equal(acc.creator, null);
  assert.equal(F.accuracy(y, dz.array([2, 2, 2, 2])).data.item(), 0.25);
  assert.equal(F.accuracy(y, dz.array([1, 0, 2, 0])).data.item(), 1);
});

Deno.test("dropout() in test mode returns x itself, unchanged", () => {
  const x = new Variable([[1.5, -2, 3]]);
  const y = dz.testMode(() => F.dropout(x, 0.5));
  assert.equal(y, x);
  assert.deepEqual(y.data.toArray(), [[1.5, -2, 3]]);
});

Deno.test("dropout() in training keeps x / (1 - ratio) where numpy's seeded rand > ratio", () => {
  const xs = Array.from({ length: 12 }, (_, i) => i + 1);
  const x = new Variable(dz.array(xs, { dtype: "float64" }).reshape(3, 4));
  dz.random.seed(0);
  const y = F.dropout(x, 0.5);
  // np.random.seed(0); (np.random.rand(3, 4) > 0.5) twice in a row
  const mask1 = [1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1];
  const mask2 = [1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1];
  assertAllClose(y, xs.map((v, i) => (mask1[i] * v) / 0.5));
  y.backward();
  assertAllClose(x.grad!, mask1.map((m) => m / 0.5));
  assertAllClose(F.dropout(x, 0.5), xs.map((v, i) => (mask2[i] * v) / 0.5));
  dz.random.seed(0);
  const x32 = new Variable(dz.array(xs.slice(0, 10), { dtype: "float32" }).reshape(2, 5));
  const z = F.dropout(x32, 0.6);
  assert.equal(z.dtype, "float32");
  const mask3 = [0, 1, 1, 0, 0, 1, 0, 1, 1, 0]; // (np.random.rand(2, 5) > 0.6)
  assertAllClose(z, xs.slice(0, 10).map((v, i) => (mask3[i] * v) / 0.4), { rtol: 1e-6 });
});

Deno.test("dropout() output elements are 0 or x / (1 - ratio), as many kept as numpy keeps", () => {
  dz.random.seed(1);
  const y = F.dropout(new Variable(dz.full([50, 40], 3)), 0.3);
  const values = Array.from(y.data.data);
  assert.ok(values.every((v) => v === 0 || v === 3 / 0.7));
  assert.equal(values.filter((v) => v !== 0).length, 1412); // (np.random.rand(50, 40) > 0.3).sum()
  assert.throws(() => F.dropout(y, 1), /dropout: ratio must be in \[0, 1\)/);
});

Deno.test("binaryCrossEntropy() is DeZero's -sum(t log p + (1-t) log(1-p)) / len(t), p clipped to [1e-15, 0.999]", () => {
  const p = [[0.9, 0.2], [0.5, 1.0], [1e-20, 0.7]];
  const t = [[1, 0], [0, 1], [0, 1]];
  const clipped = p.flat().map((v) => Math.min(Math.max(v, 1e-15), 0.999));
  const want = -t.flat().reduce(
    (s, ti, i) => s + ti * Math.log(clipped[i]) + (1 - ti) * Math.log(1 - clipped[i]),
    0,
  ) / 3;
  const pv = dz.array(p, { dtype: "float64" });
  assertAllClose(F.binaryCrossEntropy(pv, dz.array(t)), want, { rtol: 1e-14 });
  // targets of another rank are reshaped to p's shape
  assertAllClose(F.binaryCrossEntropy(pv, dz.array(t.flat())), want, { rtol: 1e-14 });
  for (const dtype of ["float64", "float32"] as const) {
    const q = new Variable(dz.array([[0.3, 0.6], [0.8, 0.1]], { dtype }));
    const target = dz.array([[1, 0], [1, 1]], { dtype });
    const f = (v: Variable) => F.binaryCrossEntropy(v, target);
    f(q).backward();
    // d/dp = -(t/p - (1-t)/(1-p)) / N
    const grad = [[0.3, 0.6], [0.8, 0.1]].flat().map((v, i) => {
      const ti = [1, 0, 1, 1][i];
      return -(ti / v - (1 - ti) / (1 - v)) / 2;
    });
    assertAllClose(q.grad!, grad, TOL[dtype]);
    assertAllClose(q.grad!, utils.numericalGrad(f, q.data), TOL[dtype]);
  }
  assert.throws(
    () => F.binaryCrossEntropy(pv, [1, 0]),
    /binaryCrossEntropy: inputs of shapes \[3,2\] and \[2\] differ in size/,
  );
});
