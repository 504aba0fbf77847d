/**
 * Tests of F.matmul and F.linear as differentiable functions: numpy's
 * matmul semantics (2-D, 1-D operands, batched with broadcast batch axes),
 * values against a plain-JS triple loop, gradients against the hand-derived
 * `gy @ W^T`, `x^T @ gy` and numerical gradients, float64 and float32.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;
type FloatDType = "float64" | "float32";

const TOL = GRAD_TOL;

function mk(shape: number[], dtype: FloatDType = "float64", seed = 0): Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => ((((i + seed) * 5) % 13) - 6) / 4);
  return new Variable(dz.array(values, { dtype }).reshape(shape));
}

/** numpy's matmul in plain JS over nested arrays (the reference). */
function matmulRef(a: dz.NestedArray, b: dz.NestedArray): dz.NestedArray {
  const depth = (v: dz.NestedArray): number => (Array.isArray(v) ? 1 + depth(v[0]) : 0);
  const da = depth(a), db = depth(b);
  if (da === 1 && db === 1) {
    return (a as number[]).reduce((s, v, i) => s + v * (b as number[])[i], 0);
  }
  if (da === 1) return dropAxis(matmulRef([a], b), -2);
  if (db === 1) return dropAxis(matmulRef(a, (b as number[]).map((v) => [v])), -1);
  if (da === 2 && db === 2) {
    const A = a as number[][], B = b as number[][];
    return A.map((row) => B[0].map((_, j) => row.reduce((s, v, k) => s + v * B[k][j], 0)));
  }
  // batch axes: broadcast the leading axis of the deeper (or both) operands
  const la = da > db ? (a as dz.NestedArray[]) : da === db ? (a as dz.NestedArray[]) : null;
  const lb = db > da ? (b as dz.NestedArray[]) : da === db ? (b as dz.NestedArray[]) : null;
  const n = Math.max(la?.length ?? 1, lb?.length ?? 1);
  return Array.from({ length: n }, (_, i) =>
    matmulRef(
      la ? la[la.length === 1 ? 0 : i] : a,
      lb ? lb[lb.length === 1 ? 0 : i] : b,
    ));
}

function dropAxis(v: dz.NestedArray, axis: -1 | -2): dz.NestedArray {
  const depth = (u: dz.NestedArray): number => (Array.isArray(u) ? 1 + depth(u[0]) : 0);
  const d = depth(v);
  if ((axis === -1 && d === 1) || (axis === -2 && d === 2)) return (v as dz.NestedArray[])[0];
  return (v as dz.NestedArray[]).map((u) => dropAxis(u, axis));
}

/** [a shape, b shape, result shape] in numpy's matmul semantics. */
const CASES: [number[], number[], number[]][] = [
  [[2, 3], [3, 4], [2, 4]],
  [[3], [3, 4], [4]],
  [[2, 3], [3], [2]],
  [[3], [3], []],
  [[2, 2, 3], [2, 3, 4], [2, 2, 4]],
  [[2, 2, 3], [3, 4], [2, 2, 4]],
  [[3], [2, 3, 4], [2, 4]],
  [[2, 2, 3], [3], [2, 2]],
  [[2, 1, 2, 3], [3, 3, 4], [2, 3, 2, 4]],
  [[1, 2, 3], [2, 1, 3, 2], [2, 1, 2, 2]],
];

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`matmul() of ${dtype} operands follows numpy's shapes; grads match numerical`, () => {
    for (const [sa, sb, sy] of CASES) {
      const what = `[${sa}] @ [${sb}]`;
      const a = mk(sa, dtype), b = mk(sb, dtype, 3);
      const y = F.matmul(a, b);
      assert.deepEqual(y.shape, sy, what);
      assert.equal(y.dtype, dtype);
      assertAllClose(y, matmulRef(a.data.toArray(), b.data.toArray()) as number[], {
        rtol: 1e-6,
        atol: 1e-7,
        msg: what,
      });
      y.backward();
      assert.deepEqual(a.grad!.shape, sa, what);
      assert.deepEqual(b.grad!.shape, sb, what);
      assert.equal(a.grad!.dtype, dtype);
      assertAllClose(a.grad!, utils.numericalGrad((v) => F.matmul(v, b), a), {
        ...TOL[dtype],
        msg: what,
      });
      assertAllClose(b.grad!, utils.numericalGrad((v) => F.matmul(a, v), b), {
        ...TOL[dtype],
        msg: what,
      });
    }
  });
}

Deno.test("matmul() gradients are gy @ W^T and x^T @ gy (the notes' shapes (2,3) and (3,4))", () => {
  const x = new Variable([[1, 2, 3], [4, 5, 6]]);
  const W = new Variable([[1, 0, -1, 2], [0, 1, 1, 0], [2, -1, 0, 1]]);
  const y = F.matmul(x, W);
  assert.deepEqual(y.data.toArray(), [[7, -1, 1, 5], [16, -1, 1, 14]]);
  y.backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assert.deepEqual(W.grad!.shape, [3, 4]);
  // gy = ones: gx rows are W's row sums, gW rows are x's column sums
  assert.deepEqual(x.grad!.data.toArray(), [[2, 2, 2], [2, 2, 2]]);
  assert.deepEqual(W.grad!.data.toArray(), [[5, 5, 5, 5], [7, 7, 7, 7], [9, 9, 9, 9]]);
  const v = new Variable([1, 2]);
  const M = new Variable([[1, 2], [3, 4]]);
  const z = v.matmul(M); // [7, 10]
  assert.deepEqual(z.data.toArray(), [7, 10]);
  z.backward();
  assert.deepEqual(v.grad!.data.toArray(), [3, 7]);
  assert.deepEqual(M.grad!.data.toArray(), [[1, 1], [2, 2]]);
});

/** The last two axes of a nested array of matrices swapped (the reference transpose). */
function swapLast(v: dz.NestedArray): dz.NestedArray {
  const m = v as dz.NestedArray[];
  if (!Array.isArray(m[0]) || !Array.isArray((m[0] as dz.NestedArray[])[0])) {
    const rows = m as number[][];
    return rows[0].map((_, j) => rows.map((r) => r[j]));
  }
  return m.map(swapLast);
}

Deno.test("MatMul(transA, transB) reads operands transposed; grads match numerical, also of grads", () => {
  // [a shape as stored, b shape as stored] for op(a) [2, 3] @ op(b) [3, 4], one batched
  const cases: [boolean, boolean, number[], number[]][] = [
    [false, false, [2, 3], [3, 4]],
    [true, false, [3, 2], [3, 4]],
    [false, true, [2, 3], [4, 3]],
    [true, true, [3, 2], [4, 3]],
    [true, true, [2, 3, 2], [4, 3]],
  ];
  for (const [tA, tB, sa, sb] of cases) {
    const what = `transA ${tA}, transB ${tB}, [${sa}] @ [${sb}]`;
    const a = mk(sa, "float64", 1), b = mk(sb, "float64", 4);
    const f = (u: Variable, v: Variable) => new F.MatMul(tA, tB).apply(u, v);
    const y = f(a, b);
    const ra = a.data.toArray(), rb = b.data.toArray();
    const want = matmulRef(tA ? swapLast(ra) : ra, tB ? swapLast(rb) : rb) as number[];
    assertAllClose(y, want, { rtol: 1e-14, atol: 1e-15, msg: what });
    // a weighted sum makes gy other than ones
    const w = mk(y.shape, "float64", 7);
    const loss = (u: Variable, v: Variable) => F.sum(F.mul(f(u, v), w));
    loss(a, b).backward({ createGraph: true });
    assertAllClose(a.grad!, utils.numericalGrad((u) => loss(u, b), a), {
      ...TOL.float64,
      msg: what,
    });
    assertAllClose(b.grad!, utils.numericalGrad((v) => loss(a, v), b), {
      ...TOL.float64,
      msg: what,
    });
    // second order: d/db of sum(ga * w2), numerically
    const w2 = mk(sa, "float64", 9);
    const ga = a.grad!;
    b.cleargrad();
    F.sum(F.mul(ga, w2)).backward();
    const gaSum = (v: Variable) => {
      const u = new Variable(a.data);
      loss(u, v).backward({ createGraph: true });
      return F.sum(F.mul(u.grad!, w2));
    };
    assertAllClose(b.grad!, utils.numericalGrad(gaSum, b), { ...TOL.float64, msg: what });
  }
  assert.throws(() => new F.MatMul(1 as unknown as boolean), /MatMul.*transA/);
});

Deno.test("matmul() with a broadcast batch sums the weight's gradient over the batch", () => {
  const x = mk([4, 2, 3]);
  const W = mk([3, 2], "float64", 1);
  F.matmul(x, W).backward();
  // gW = sum over the batch of x_b^T @ ones = column sums of all rows of x
  const rows = x.data.reshape(8, 3).toArray() as number[][];
  const colSums = [0, 1, 2].map((k) => rows.reduce((s, r) => s + r[k], 0));
  assertAllClose(W.grad!, colSums.flatMap((c) => [c, c]), { rtol: 1e-14, atol: 1e-15 });
});

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`linear() of ${dtype} equals x @ W + b with and without bias; grads numerical`, () => {
    const x = mk([4, 3], dtype), W = mk([3, 2], dtype, 2), b = mk([2], dtype, 5);
    const y = F.linear(x, W, b);
    const xw = matmulRef(x.data.toArray(), W.data.toArray()) as number[][];
    const bv = b.data.toArray() as number[];
    assert.equal(y.dtype, dtype);
    assertAllClose(y, xw.map((r) => r.map((v, j) => v + bv[j])), { rtol: 1e-6, atol: 1e-7 });
    y.backward();
    assertAllClose(b.grad!, [4, 4]); // gy = ones summed over the batch
    for (
      const [v, f] of [
        [x, (u: Variable) => F.linear(u, W, b)],
        [W, (u: Variable) => F.linear(x, u, b)],
        [b, (u: Variable) => F.linear(x, W, u)],
      ] as const
    ) {
      assertAllClose(v.grad!, utils.numericalGrad(f, v), TOL[dtype]);
    }
    const x2 = mk([4, 3], dtype), W2 = mk([3, 2], dtype, 2);
    const y2 = F.linear(x2, W2);
    assertAllClose(y2, xw, { rtol: 1e-6, atol: 1e-7 });
    y2.backward();
    assertAllClose(W2.grad!, utils.numericalGrad((u) => F.linear(x2, u), W2), TOL[dtype]);
  });
}

Deno.test("matmul() names both shapes when the inner dimensions differ", () => {
  const a = new Variable([[1, 2, 3], [4, 5, 6]]);
  const b = new Variable([[1, 2], [3, 4]]);
  assert.throws(() => F.matmul(a, b), {
    message: "matmul: inner dimensions differ: [2,3] @ [2,2] (3 != 2)",
  });
  assert.throws(() => F.matmul(a, new Variable(2)), /matmul: operands must be at least 1-D/);
});
