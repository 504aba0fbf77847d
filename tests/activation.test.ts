/**
 * Tests of the activations F.sigmoid, F.relu, F.leakyRelu, F.softmax,
 * F.logSoftmax and of F.clip: values against JS Math closed forms,
 * gradients against hand-derived rules and numerical gradients, float64
 * and float32.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;
type FloatDType = "float64" | "float32";

const TOL = GRAD_TOL;
const ROWS = [[0.5, -1.2, 2.0, 0.1], [-0.3, 1.5, -2.5, 3.0], [1.0, 0.0, -0.7, 0.25]];

function input(dtype: FloatDType, rows: number[][] = ROWS): Variable {
  return new Variable(dz.array(rows, { dtype }));
}

/** Checks x.grad (after backward of f(x)) against utils.numericalGrad. */
function checkGrad(f: (x: Variable) => Variable, x: Variable, dtype: FloatDType): void {
  x.cleargrad();
  f(x).backward();
  assert.deepEqual(x.grad!.shape, x.shape);
  assert.equal(x.grad!.dtype, dtype);
  assertAllClose(x.grad!, utils.numericalGrad(f, x), TOL[dtype]);
}

const ELEMENTWISE: {
  name: string;
  f: (x: Variable) => Variable;
  ref: (a: number) => number;
  grad: (a: number) => number;
}[] = [
  {
    name: "sigmoid",
    f: F.sigmoid,
    ref: (a) => 1 / (1 + Math.exp(-a)),
    grad: (a) => Math.exp(-a) / (1 + Math.exp(-a)) ** 2,
  },
  { name: "relu", f: F.relu, ref: (a) => Math.max(a, 0), grad: (a) => (a > 0 ? 1 : 0) },
  {
    name: "leakyRelu",
    f: (x) => F.leakyRelu(x),
    ref: (a) => (a > 0 ? a : 0.2 * a),
    grad: (a) => (a > 0 ? 1 : 0.2),
  },
  {
    name: "leakyRelu(slope 0.05)",
    f: (x) => F.leakyRelu(x, 0.05),
    ref: (a) => (a > 0 ? a : 0.05 * a),
    grad: (a) => (a > 0 ? 1 : 0.05),
  },
];

for (const dtype of ["float64", "float32"] as const) {
  for (const { name, f, ref, grad } of ELEMENTWISE) {
    Deno.test(`${name}() values and gradient on ${dtype}`, () => {
      const x = input(dtype);
      const xs = ROWS.flat().map((v) => (dtype === "float32" ? Math.fround(v) : v));
      const y = f(x);
      assert.equal(y.dtype, dtype);
      assertAllClose(y, xs.map(ref), { rtol: dtype === "float64" ? 1e-15 : 1e-6 });
      y.backward();
      assertAllClose(x.grad!, xs.map(grad), { rtol: dtype === "float64" ? 1e-14 : 1e-6 });
      // numerical differences straddle the kink at 0 for relu: check away from it
      const away = input(dtype, ROWS.map((r) => r.map((v) => (v === 0 ? 0.4 : v))));
      checkGrad(f, away, dtype);
    });
  }
}

/** softmax of `vs` in plain JS. */
const softmaxRef = (vs: number[]) => {
  const e = vs.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const columns = (rows: number[][]) => rows[0].map((_, j) => rows.map((r) => r[j]));
const transpose = columns;

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`softmax() along axis 0, 1 (default) and -1 of ${dtype}; grads numerical`, () => {
    const rtol = dtype === "float64" ? 1e-14 : 1e-6;
    const byRow = ROWS.map(softmaxRef);
    assertAllClose(F.softmax(input(dtype)), byRow, { rtol });
    assertAllClose(F.softmax(input(dtype), 1), byRow, { rtol });
    assertAllClose(F.softmax(input(dtype), -1), byRow, { rtol });
    assertAllClose(F.softmax(input(dtype), 0), transpose(columns(ROWS).map(softmaxRef)), { rtol });
    assert.equal(F.softmax(input(dtype)).dtype, dtype);
    // a weighted sum makes the gradient non-zero: y * (w - sum(y * w)) per row
    const w = new Variable(dz.array([[1, -2, 0.5, 3]], { dtype }));
    for (const axis of [0, 1, -1]) {
      checkGrad((x) => F.sum(F.mul(F.softmax(x, axis), w)), input(dtype), dtype);
    }
    const x = input(dtype);
    F.sum(F.mul(F.softmax(x), w)).backward();
    const ws = [1, -2, 0.5, 3];
    const expected = byRow.map((y) => {
      const yw = y.reduce((s, v, j) => s + v * ws[j], 0);
      return y.map((v, j) => v * (ws[j] - yw));
    });
    assertAllClose(x.grad!, expected, { rtol: dtype === "float64" ? 1e-12 : 1e-5, atol: 1e-7 });
  });

  Deno.test(`logSoftmax() equals x - logsumexp(x) along an axis of ${dtype}; grads numerical`, () => {
    const rtol = dtype === "float64" ? 1e-14 : 1e-6;
    const logRows = ROWS.map((r) => softmaxRef(r).map(Math.log));
    assertAllClose(F.logSoftmax(input(dtype)), logRows, { rtol });
    assertAllClose(
      F.logSoftmax(input(dtype), 0),
      transpose(columns(ROWS).map((c) => softmaxRef(c).map(Math.log))),
      { rtol },
    );
    const w = new Variable(dz.array([[1, -2, 0.5, 3]], { dtype }));
    for (const axis of [0, 1, -1]) {
      checkGrad((x) => F.sum(F.mul(F.logSoftmax(x, axis), w)), input(dtype), dtype);
    }
  });
}

Deno.test("softmax() and logSoftmax() work on 3-D inputs and are stable for large scores", () => {
  const x = new Variable(dz.arange(24).reshape(2, 3, 4).astype("float64").mul(0.5));
  for (const axis of [0, 1, 2, -1]) {
    const y = F.softmax(x, axis);
    assertAllClose(F.sum(y, axis), new Array(24 / x.shape.at(axis)!).fill(1), { rtol: 1e-14 });
    checkGrad((v) => F.sum(F.mul(F.softmax(v, axis), v)), x, "float64");
    checkGrad((v) => F.sum(F.mul(F.logSoftmax(v, axis), v)), x, "float64");
  }
  const big = new Variable([[1000, 1001, 1002]]);
  const p = softmaxRef([0, 1, 2]);
  assertAllClose(F.softmax(big), p, { rtol: 1e-14 });
  assertAllClose(F.logSoftmax(big), p.map(Math.log), { rtol: 1e-14 });
});

Deno.test("clip() clamps values and passes the gradient only inside [min, max]", () => {
  for (const dtype of ["float64", "float32"] as const) {
    const x = new Variable(dz.array([[-2, -1, -0.5, 0], [0.5, 1, 1.5, 3]], { dtype }));
    const y = F.clip(x, -1, 1);
    assert.equal(y.dtype, dtype);
    assertAllClose(y, [[-1, -1, -0.5, 0], [0.5, 1, 1, 1]]);
    y.backward();
    // boundaries count as inside, as DeZero's (x >= min) * (x <= max)
    assertAllClose(x.grad!, [[0, 1, 1, 1], [1, 1, 0, 0]]);
    const away = input(dtype, [[0.5, -1.2, 2.0, 0.1], [-0.3, 0.9, -0.8, 3.0]]);
    checkGrad((v) => F.mul(F.clip(v, -1, 1), v), away, dtype);
  }
});

Deno.test("clip() and leakyRelu() of int32 with fractional parameters compute in float64, as numpy", () => {
  const i = dz.array([-1, 0, 2]);
  const c = F.clip(i, -0.5, 1.5);
  assert.equal(c.dtype, "float64");
  assert.deepEqual(c.data.toArray(), [-0.5, 0, 1.5]);
  const k = F.clip(i, 0, 1);
  assert.equal(k.dtype, "int32");
  assert.deepEqual(k.data.toArray(), [0, 0, 1]);
  const l = F.leakyRelu(i);
  assert.equal(l.dtype, "float64");
  assertAllClose(l, [-0.2, 0, 2]);
  const x = new Variable(i);
  F.clip(x, -0.5, 1.5).backward();
  assertAllClose(x.grad!, [0, 1, 0]);
});
