/**
 * Tests of the elementwise F functions (add sub mul div neg pow exp log sin
 * cos tanh sqrt abs square): values against JS Math closed forms, gradients
 * against hand-derived derivatives and numerical gradients, float64 and
 * float32, every broadcasting direction.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;
type FloatDType = "float64" | "float32";

/** Tolerances of a gradient/value check per dtype. */
const TOL = GRAD_TOL;

/** A variable of `shape` filled by `gen(i)` for the flat index i. */
function mk(shape: number[], dtype: FloatDType, gen: (i: number) => number): Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = gen(i);
  return new Variable(new dz.NDArray(data, shape));
}

/** Mixed-sign values, no zeros. */
const mixed = (i: number) =>
  [0.5, -1.2, 2.0, -0.3, 1.5, -2.5, 0.7, -0.9, 1.1, -1.7, 0.2, 2.2][i % 12];
/** Positive values (log, sqrt, div denominators, pow bases). */
const positive = (i: number) =>
  [0.5, 1.2, 2.0, 0.3, 1.5, 2.5, 0.7, 0.9, 1.1, 1.7, 0.4, 2.2][i % 12];

/** Checks each input's backward gradient of sum(f(...xs)) against utils.numericalGrad. */
function checkNumericalGrads(
  f: (...xs: Variable[]) => Variable,
  xs: Variable[],
  tol: { rtol: number; atol: number },
): void {
  xs.forEach((x) => x.cleargrad());
  f(...xs).backward();
  xs.forEach((x, i) => {
    const num = utils.numericalGrad((v) => f(...xs.map((u, j) => (j === i ? v : u))), x);
    assert.ok(x.grad !== null, `input ${i} got no gradient`);
    assert.deepEqual(x.grad.shape, x.shape);
    assert.equal(x.grad.dtype, x.dtype);
    assertAllClose(x.grad, num, { ...tol, msg: `input ${i}:` });
  });
}

/** Broadcast reference: `fn` applied over numpy's broadcast of a and b, in plain JS. */
function broadcastRef(
  a: Variable,
  b: Variable,
  fn: (x: number, y: number) => number,
): { shape: number[]; values: number[] } {
  const n = Math.max(a.ndim, b.ndim);
  const pad = (s: number[]) => [...Array(n - s.length).fill(1), ...s];
  const as = pad(a.shape), bs = pad(b.shape);
  const shape = as.map((d, i) => Math.max(d, bs[i]));
  const ad = Array.from(a.data.data), bd = Array.from(b.data.data);
  const offset = (s: number[], idx: number[]) =>
    idx.reduce((o, k, d) => o * s[d] + (s[d] === 1 ? 0 : k), 0);
  const values: number[] = [];
  const size = shape.reduce((p, d) => p * d, 1);
  for (let flat = 0; flat < size; flat++) {
    const idx: number[] = [];
    for (let d = n - 1, r = flat; d >= 0; d--) {
      idx.unshift(r % shape[d]);
      r = Math.floor(r / shape[d]);
    }
    values.push(fn(ad[offset(as, idx)], bd[offset(bs, idx)]));
  }
  return { shape, values };
}

const UNARY: {
  name: string;
  f: (x: Variable) => Variable;
  ref: (a: number) => number;
  grad: (a: number) => number;
  domain: (i: number) => number;
}[] = [
  { name: "neg", f: F.neg, ref: (a) => -a, grad: () => -1, domain: mixed },
  { name: "exp", f: F.exp, ref: Math.exp, grad: Math.exp, domain: mixed },
  { name: "log", f: F.log, ref: Math.log, grad: (a) => 1 / a, domain: positive },
  { name: "sin", f: F.sin, ref: Math.sin, grad: Math.cos, domain: mixed },
  { name: "cos", f: F.cos, ref: Math.cos, grad: (a) => -Math.sin(a), domain: mixed },
  { name: "tanh", f: F.tanh, ref: Math.tanh, grad: (a) => 1 - Math.tanh(a) ** 2, domain: mixed },
  { name: "sqrt", f: F.sqrt, ref: Math.sqrt, grad: (a) => 0.5 / Math.sqrt(a), domain: positive },
  { name: "abs", f: F.abs, ref: Math.abs, grad: Math.sign, domain: mixed },
  { name: "square", f: F.square, ref: (a) => a * a, grad: (a) => 2 * a, domain: mixed },
];

for (const dtype of ["float64", "float32"] as const) {
  for (const { name, f, ref, grad, domain } of UNARY) {
    Deno.test(`${name}() matches Math on ${dtype} values and its derivative in backward`, () => {
      const x = mk([2, 3], dtype, domain);
      const xs = Array.from(x.data.data);
      const y = f(x);
      assert.equal(y.dtype, dtype);
      assert.deepEqual(y.shape, [2, 3]);
      assertAllClose(y, xs.map(ref), { rtol: dtype === "float64" ? 1e-15 : 1e-6 });
      y.backward();
      assert.equal(x.grad!.dtype, dtype);
      // float32 `1 - y^2` (tanh) cancels digits, as it does in numpy
      assertAllClose(x.grad!, xs.map(grad), { rtol: dtype === "float64" ? 1e-14 : 1e-5 });
      checkNumericalGrads(f, [mk([2, 3], dtype, domain)], TOL[dtype]);
    });
  }
}

const BINARY: {
  name: string;
  f: (a: Variable, b: Variable) => Variable;
  ref: (a: number, b: number) => number;
  ga: (a: number, b: number) => number;
  gb: (a: number, b: number) => number;
}[] = [
  { name: "add", f: F.add, ref: (a, b) => a + b, ga: () => 1, gb: () => 1 },
  { name: "sub", f: F.sub, ref: (a, b) => a - b, ga: () => 1, gb: () => -1 },
  { name: "mul", f: F.mul, ref: (a, b) => a * b, ga: (_, b) => b, gb: (a) => a },
  { name: "div", f: F.div, ref: (a, b) => a / b, ga: (_, b) => 1 / b, gb: (a, b) => -a / (b * b) },
];

for (const dtype of ["float64", "float32"] as const) {
  for (const { name, f, ref, ga, gb } of BINARY) {
    Deno.test(`${name}() of same-shape ${dtype} operands: values and hand-derived gradients`, () => {
      const a = mk([2, 3], dtype, mixed), b = mk([2, 3], dtype, (i) => positive(i + 5));
      const av = Array.from(a.data.data), bv = Array.from(b.data.data);
      const y = f(a, b);
      assert.equal(y.dtype, dtype);
      assertAllClose(y, av.map((x, i) => ref(x, bv[i])), {
        rtol: dtype === "float64" ? 1e-15 : 1e-6,
      });
      y.backward();
      assertAllClose(a.grad!, av.map((x, i) => ga(x, bv[i])), { rtol: 1e-6 });
      assertAllClose(b.grad!, av.map((x, i) => gb(x, bv[i])), { rtol: 1e-6 });
    });
  }
}

/** Every broadcasting direction: [a shape, b shape]. */
const BROADCASTS: [number[], number[]][] = [
  [[2, 3], [3]],
  [[3], [2, 3]],
  [[2, 1], [1, 3]],
  [[1, 3], [2, 1]],
  [[2, 3], [2, 1]],
  [[2, 1], [2, 3]],
  [[2, 3], []],
  [[], [2, 3]],
  [[2, 1, 3], [4, 1]],
  [[4, 1], [2, 1, 3]],
];

for (const dtype of ["float64", "float32"] as const) {
  for (const { name, f, ref } of BINARY) {
    Deno.test(`${name}() broadcasts ${dtype} operands both ways; grads sum back to each shape`, () => {
      for (const [sa, sb] of BROADCASTS) {
        const a = mk(sa, dtype, mixed), b = mk(sb, dtype, (i) => positive(i + 3));
        const expected = broadcastRef(a, b, ref);
        const y = f(a, b);
        assert.deepEqual(y.shape, expected.shape, `${sa} with ${sb}`);
        assert.equal(y.dtype, dtype);
        assertAllClose(y, expected.values, { rtol: dtype === "float64" ? 1e-15 : 1e-6 });
        checkNumericalGrads(f, [a, b], TOL[dtype]);
      }
    });
  }
}

Deno.test("add() and mul() broadcast gradients equal the hand-summed values", () => {
  const a = new Variable([[1, 2, 3], [4, 5, 6]]);
  const b = new Variable([10, 20, 30]);
  F.add(a, b).backward();
  assertAllClose(b.grad!, [2, 2, 2]);
  assertAllClose(a.grad!, [[1, 1, 1], [1, 1, 1]]);
  a.cleargrad();
  b.cleargrad();
  F.mul(a, b).backward();
  assertAllClose(b.grad!, [5, 7, 9]); // column sums of a
  assertAllClose(a.grad!, [[10, 20, 30], [10, 20, 30]]);
  const c = new Variable([[2], [3]]);
  a.cleargrad();
  F.div(a, c).backward();
  assertAllClose(c.grad!, [[-6 / 4], [-15 / 9]]); // -sum(a row) / c^2
  assertAllClose(a.grad!, [[1 / 2, 1 / 2, 1 / 2], [1 / 3, 1 / 3, 1 / 3]]);
});

Deno.test("sub() and div() accept a number on either side", () => {
  const x = new Variable([1, 2, 4]);
  const y = F.sub(3, x);
  assertAllClose(y, [2, 1, -1]);
  y.backward();
  assertAllClose(x.grad!, [-1, -1, -1]);
  x.cleargrad();
  const z = F.div(1, x);
  assertAllClose(z, [1, 0.5, 0.25]);
  z.backward();
  assertAllClose(x.grad!, [-1, -0.25, -1 / 16]);
  assertAllClose(F.add(2, x), [3, 4, 6]);
  assertAllClose(F.mul(x, 0.5), [0.5, 1, 2]);
});

Deno.test("pow() with a number exponent: values and gradient c * x^(c-1), float64 and float32", () => {
  for (const dtype of ["float64", "float32"] as const) {
    for (const c of [3, 2, 0.5, -2]) {
      const x = mk([2, 3], dtype, positive);
      const xs = Array.from(x.data.data);
      const y = F.pow(x, c);
      assert.equal(y.dtype, dtype);
      assertAllClose(y, xs.map((a) => a ** c), { rtol: dtype === "float64" ? 1e-14 : 1e-6 });
      y.backward();
      assert.equal(x.grad!.dtype, dtype);
      assertAllClose(x.grad!, xs.map((a) => c * a ** (c - 1)), { rtol: 1e-6 });
      checkNumericalGrads((v) => F.pow(v, c), [mk([2, 3], dtype, positive)], TOL[dtype]);
    }
  }
  const m = new Variable([-2, 3]);
  m.pow(3).backward();
  assertAllClose(m.grad!, [12, 27]);
});

Deno.test("pow() with a Variable exponent: the exponent's gradient is y * log(x)", () => {
  const x = new Variable([[0.5, 1.2, 2.0], [0.3, 1.5, 2.5]]);
  const c = new Variable([1.5, 2, -0.5]);
  const y = F.pow(x, c);
  const xs = [0.5, 1.2, 2.0, 0.3, 1.5, 2.5], cs = [1.5, 2, -0.5, 1.5, 2, -0.5];
  assertAllClose(y, xs.map((a, i) => a ** cs[i]), { rtol: 1e-14 });
  y.backward();
  assertAllClose(x.grad!, xs.map((a, i) => cs[i] * a ** (cs[i] - 1)), { rtol: 1e-12 });
  const gc = [0, 1, 2].map((j) =>
    [j, j + 3].reduce((s, i) => s + xs[i] ** cs[i] * Math.log(xs[i]), 0)
  );
  assertAllClose(c.grad!, gc, { rtol: 1e-12 });
  checkNumericalGrads(F.pow, [x, c], TOL.float64);
  const s = new Variable(dz.array(2.5, { dtype: "float32" }));
  checkNumericalGrads(F.pow, [mk([3], "float32", positive), s], TOL.float32);
});

Deno.test("float32 inputs stay float32 beside numbers; mixing with float64 gives float64", () => {
  const x32 = new Variable(dz.array([1.5, -2, 3], { dtype: "float32" }));
  const x64 = new Variable(dz.array([1.5, -2, 3]));
  assert.equal(F.mul(x32, 2).dtype, "float32");
  assert.equal(F.add(2.5, x32).dtype, "float32");
  assert.equal(F.div(x32, 3).dtype, "float32");
  assert.equal(F.sub(1, x32).dtype, "float32");
  assert.equal(F.pow(x32, 2).dtype, "float32");
  assert.equal(x32.mul(0.1).dtype, "float32");
  assert.equal(F.add(x32, x64).dtype, "float64");
  assertAllClose(F.mul(x32, 0.1), [Math.fround(0.15), Math.fround(-0.2), Math.fround(0.3)], {
    rtol: 1e-7,
  });
  const y = F.sum(F.mul(x32, x32));
  y.backward();
  assert.equal(y.dtype, "float32");
  assert.equal(x32.grad!.dtype, "float32");
  assertAllClose(x32.grad!, [3, -4, 6]);
});

Deno.test("int32 arithmetic follows numpy: add stays int32, div and exp give float64", () => {
  const i = new Variable([1, 2, 3]);
  assert.equal(i.dtype, "int32");
  const s = F.add(i, i);
  assert.equal(s.dtype, "int32");
  assert.deepEqual(s.data.toArray(), [2, 4, 6]);
  assert.equal(F.mul(i, 2).dtype, "int32");
  assert.equal(F.mul(i, 2.5).dtype, "float64");
  assert.equal(F.div(i, i).dtype, "float64");
  assert.equal(F.exp(i).dtype, "float64");
  assertAllClose(F.div(i, 2), [0.5, 1, 1.5]);
  assertAllClose(F.exp(i), [Math.E, Math.exp(2), Math.exp(3)], { rtol: 1e-15 });
});

Deno.test("binary ops name the op and both shapes when broadcasting fails", () => {
  const a = new Variable([[1, 2, 3], [4, 5, 6]]);
  const b = new Variable([1, 2, 3, 4]);
  assert.throws(() => F.add(a, b), { message: "add: cannot broadcast shapes [2,3] and [4]" });
  assert.throws(() => F.mul(b, a), { message: "mul: cannot broadcast shapes [4] and [2,3]" });
});
