/**
 * Tests of the reductions F.sum, F.mean, F.average, F.max, F.min and F.logsumexp:
 * every axis form (none, number, negative, list) with and without keepdims
 * on 3-D inputs, values against a plain-JS reference reducer, gradients
 * against hand-derived rules and numerical gradients, float64 and float32.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;
type FloatDType = "float64" | "float32";
type Axis = number | number[] | null;

const SHAPE = [2, 3, 4];
/** 24 distinct mixed-sign values (7 is coprime with 24). */
const VALUES = Array.from({ length: 24 }, (_, i) => (((i * 7) % 24) - 11.5) / 4);

function input(dtype: FloatDType, values = VALUES, shape = SHAPE): Variable {
  return new Variable(dz.array(values, { dtype }).reshape(shape));
}

/** numpy's reduction in plain JS: folds `values` of `shape` over `axis`. */
function reduceRef(
  values: number[],
  shape: number[],
  axis: Axis,
  keepdims: boolean,
  init: number,
  combine: (acc: number, v: number) => number,
): { shape: number[]; values: number[] } {
  const nd = shape.length;
  const axes = axis === null
    ? shape.map((_, d) => d)
    : (typeof axis === "number" ? [axis] : axis).map((a) => (a + nd) % nd);
  const kept = shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const out = new Array(kept.reduce((a, b) => a * b, 1)).fill(init);
  values.forEach((v, flat) => {
    let o = 0;
    for (let d = 0, rest = flat, step = values.length; d < nd; d++) {
      step /= shape[d];
      const k = Math.floor(rest / step);
      rest -= k * step;
      o = o * kept[d] + (axes.includes(d) ? 0 : k);
    }
    out[o] = combine(out[o], v);
  });
  return { shape: keepdims ? kept : kept.filter((_, d) => !axes.includes(d)), values: out };
}

const AXES: Axis[] = [null, 0, 1, 2, -1, -3, [0, 2], [-1, 0], [1, 2], [0, 1, 2]];

const count = (axis: Axis) =>
  axis === null ? 24 : (typeof axis === "number" ? [axis] : axis)
    .reduce((p, a) => p * SHAPE[(a + 3) % 3], 1);

const REDUCERS: {
  name: string;
  f: (x: Variable, axis: Axis, keepdims: boolean) => Variable;
  ref: (axis: Axis, keepdims: boolean) => { shape: number[]; values: number[] };
}[] = [
  {
    name: "sum",
    f: F.sum,
    ref: (axis, keepdims) => reduceRef(VALUES, SHAPE, axis, keepdims, 0, (a, v) => a + v),
  },
  {
    name: "mean",
    f: F.mean,
    ref: (axis, keepdims) => {
      const r = reduceRef(VALUES, SHAPE, axis, keepdims, 0, (a, v) => a + v);
      return { shape: r.shape, values: r.values.map((v) => v / count(axis)) };
    },
  },
  {
    name: "max",
    f: F.max,
    ref: (axis, keepdims) => reduceRef(VALUES, SHAPE, axis, keepdims, -Infinity, Math.max),
  },
  {
    name: "min",
    f: F.min,
    ref: (axis, keepdims) => reduceRef(VALUES, SHAPE, axis, keepdims, Infinity, Math.min),
  },
];

for (const dtype of ["float64", "float32"] as const) {
  for (const { name, f, ref } of REDUCERS) {
    Deno.test(`${name}() over every axis form of a 3-D ${dtype} array, keepdims both ways`, () => {
      const tol = dtype === "float64" ? { rtol: 1e-6, atol: 1e-8 } : { rtol: 1e-3, atol: 1e-4 };
      for (const axis of AXES) {
        for (const keepdims of [false, true]) {
          const what = `axis ${JSON.stringify(axis)} keepdims ${keepdims}`;
          const x = input(dtype);
          const y = f(x, axis, keepdims);
          const expected = ref(axis, keepdims);
          assert.deepEqual(y.shape, expected.shape, what);
          assert.equal(y.dtype, dtype);
          assertAllClose(y, expected.values, { rtol: 1e-6, msg: what });
          y.backward();
          assert.deepEqual(x.grad!.shape, SHAPE, what);
          assert.equal(x.grad!.dtype, dtype);
          const num = utils.numericalGrad((v) => f(v, axis, keepdims), x);
          assertAllClose(x.grad!, num, { ...tol, msg: what });
        }
      }
    });
  }
}

Deno.test("sum() and mean() gradients are ones and 1/count, whatever the axes", () => {
  for (const axis of AXES) {
    const x = input("float64");
    F.sum(x, axis, false).backward();
    assertAllClose(x.grad!, new Array(24).fill(1));
    x.cleargrad();
    F.mean(x, axis, true).backward();
    assertAllClose(x.grad!, new Array(24).fill(1 / count(axis)));
  }
});

Deno.test("max() and min() route the gradient to the extreme elements, every tie included", () => {
  const x = new Variable([[1, 3, 3], [2, 2, 0]]);
  F.max(x, 1).backward();
  assertAllClose(x.grad!, [[0, 1, 1], [1, 1, 0]]);
  x.cleargrad();
  F.min(x, 0).backward();
  assertAllClose(x.grad!, [[1, 0, 0], [0, 1, 1]]);
  x.cleargrad();
  F.max(x).backward();
  assertAllClose(x.grad!, [[0, 1, 1], [0, 0, 0]]);
  const y = input("float64");
  F.mul(F.max(y, [0, 2], true), new Variable([[[1], [2], [3]]])).backward();
  const expected = new Array(24).fill(0);
  for (const [j, w] of [[0, 1], [1, 2], [2, 3]]) {
    const idx = [0, 1, 2, 3, 12, 13, 14, 15].map((k) => k + 4 * j);
    const best = idx.reduce((b, i) => (VALUES[i] > VALUES[b] ? i : b));
    expected[best] = w;
  }
  assertAllClose(y.grad!, expected);
});

Deno.test("Variable.sum() matches F.sum and sums ints exactly", () => {
  const x = new Variable([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(x.sum().data.toArray(), 21);
  assert.deepEqual(x.sum(0).data.toArray(), [5, 7, 9]);
  assert.deepEqual(x.sum(-1, true).data.toArray(), [[6], [15]]);
  assert.equal(x.sum().dtype, "int32");
});

/** log(sum(exp(values))) of one group, computed naively in float64. */
const lse = (vs: number[]) => Math.log(vs.reduce((s, v) => s + Math.exp(v), 0));

Deno.test("logsumexp() equals log(sum(exp(x))) over axes; its gradient is the softmax", () => {
  const x = new Variable([[0.5, -1.2, 2.0], [-0.3, 1.5, -2.5]]);
  const rows = [[0.5, -1.2, 2.0], [-0.3, 1.5, -2.5]];
  const all = lse(rows.flat());
  const y = F.logsumexp(x);
  assert.deepEqual(y.shape, []);
  assertAllClose(y, all, { rtol: 1e-14 });
  y.backward();
  assertAllClose(x.grad!, rows.flat().map((v) => Math.exp(v - all)), { rtol: 1e-12 });
  const r = F.logsumexp(x, 1, true);
  assert.deepEqual(r.shape, [2, 1]);
  assertAllClose(r, rows.map(lse), { rtol: 1e-14 });
  const c = F.logsumexp(x, -2);
  assert.deepEqual(c.shape, [3]);
  assertAllClose(c, [0, 1, 2].map((j) => lse([rows[0][j], rows[1][j]])), { rtol: 1e-14 });
  assertAllClose(F.logsumexp(x, [0, 1]), all, { rtol: 1e-14 });
  for (const axis of [null, 0, 1, -1, [0, 1]] as Axis[]) {
    for (const keepdims of [false, true]) {
      const v = new Variable(dz.array(VALUES).reshape(SHAPE));
      F.logsumexp(v, axis, keepdims).backward();
      const num = utils.numericalGrad((u) => F.logsumexp(u, axis, keepdims), v);
      assertAllClose(v.grad!, num, { rtol: 1e-6, atol: 1e-8 });
    }
  }
});

Deno.test("logsumexp() is stable for large inputs and keeps float32", () => {
  const x = new Variable([[1000, 1001, 1002], [-1000, -1001, -1002]]);
  const y = F.logsumexp(x, 1);
  const tail = Math.log(1 + Math.exp(-1) + Math.exp(-2));
  assertAllClose(y, [1002 + tail, -1000 + tail], { rtol: 1e-15 });
  const x32 = new Variable(dz.array([[1, 2, 3], [4, 5, 7]], { dtype: "float32" }));
  const y32 = F.logsumexp(x32, 1);
  assert.equal(y32.dtype, "float32");
  assertAllClose(y32, [lse([1, 2, 3]), lse([4, 5, 7])], { rtol: 1e-6 });
  F.sum(y32).backward();
  assert.equal(x32.grad!.dtype, "float32");
  assertAllClose(x32.grad!.data.sum(1), [1, 1], { rtol: 1e-6 });
});

Deno.test("reductions name the op and axis when an axis is out of range or repeated", () => {
  const x = new Variable([[1, 2], [3, 4]]);
  assert.throws(() => F.sum(x, 2), {
    message: "sum: axis 2 is out of bounds for an array of dimension 2",
  });
  assert.throws(() => F.max(x, -3), {
    message: "max: axis -3 is out of bounds for an array of dimension 2",
  });
  assert.throws(() => F.mean(x, [0, -2]), { message: "mean: repeated axis in [0,-2]" });
});

Deno.test("average() is DeZero's sum(x, axis) * (y.size / x.size), with its gradient", () => {
  const x = dz.array([[1, 2, 4], [3, 5, 7]], { dtype: "float64" });
  assertAllClose(F.average(x), 22 * (1 / 6), { rtol: 0 });
  assertAllClose(F.average(x, 0), [4 * 0.5, 7 * 0.5, 11 * 0.5], { rtol: 0 });
  assert.deepEqual(F.average(x, 1, true).shape, [2, 1]);
  assertAllClose(F.average(x, [0, 1], true), [[22 / 6]], { rtol: 1e-15 });
  for (const dtype of ["float64", "float32"] as const) {
    const v = new Variable(x.astype(dtype));
    F.sum(F.mul(F.average(v, 1), dz.array([1, 2], { dtype }))).backward();
    assertAllClose(v.grad!, [[1 / 3, 1 / 3, 1 / 3], [2 / 3, 2 / 3, 2 / 3]], { rtol: 1e-6 });
  }
  assert.ok(utils.gradientCheck((v) => F.sum(F.square(F.average(v, 0))), x));
});
