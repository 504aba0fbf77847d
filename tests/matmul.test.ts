/**
 * Tests of the matmul kernel (core/backend/simd/gemm.ts, and the scalar core/backend/cpu/gemm.ts
 * under it) through the dispatcher: values
 * against a naive triple loop for many shapes and all dtypes, transposed
 * operands, broadcast batch axes, numpy's 1-D rules, the fused bias/ReLU
 * epilogue, `out`, dtype rules and error messages.
 * @module
 */
import assert from "node:assert/strict";
import { dispatch } from "../core/dispatch.ts";
import { allocate } from "../core/array/alloc.ts";
import type { DType } from "../core/array/dtype.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { assertAllClose } from "./assert.ts";

const DTYPES: DType[] = ["float32", "float64", "int32"];
const TOL = {
  float32: { rtol: 1e-6, atol: 1e-5 },
  float64: { rtol: 1e-12, atol: 1e-12 },
  int32: { rtol: 0, atol: 0 },
};

/** Deterministic test data of `shape`: irrational-looking floats, small ints. */
function make(shape: number[], dtype: DType, seed = 0): NDArray {
  const size = shape.reduce((x, y) => x * y, 1);
  const data = allocate(dtype, size);
  for (let i = 0; i < size; i++) {
    data[i] = dtype === "int32" ? ((i * 7 + seed * 3) % 11) - 5 : Math.sin(i * 1.3 + seed);
  }
  return new NDArray(data, shape);
}

/**
 * numpy's `matmul(a, b)` with `a.mT` / `b.mT` per the flags, by a naive triple
 * loop in float64 over explicitly broadcast batch indices.
 */
function reference(
  a: NDArray,
  b: NDArray,
  transA = false,
  transB = false,
): { shape: number[]; values: number[] } {
  const as = a.ndim === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.ndim === 1 ? [b.shape[0], 1] : b.shape;
  const [ar, ac] = as.slice(-2), [br, bc] = bs.slice(-2);
  const m = transA ? ac : ar, k = transA ? ar : ac, n = transB ? br : bc;
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const nd = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...Array(nd - s.length).fill(1), ...s];
  const pa = pad(ab), pb = pad(bb);
  const batch = pa.map((d, i) => (d === 1 ? pb[i] : d));
  const values: number[] = [];
  const nb = batch.reduce((x, y) => x * y, 1);
  for (let t = 0; t < nb; t++) {
    let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const i = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      ia += (pa[d] === 1 ? 0 : i) * sa;
      ib += (pb[d] === 1 ? 0 : i) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const x = a.data[ia * m * k + (transA ? p * m + i : i * k + p)];
          const y = b.data[ib * k * n + (transB ? j * k + p : p * n + j)];
          s += x * y;
        }
        values.push(s);
      }
    }
  }
  const shape = [...batch];
  if (a.ndim > 1) shape.push(m);
  if (b.ndim > 1) shape.push(n);
  return { shape, values };
}

/** Checks `dispatch("matmul", [a, b], attrs)` against the reference. */
function check(a: NDArray, b: NDArray, attrs: { transA?: boolean; transB?: boolean } = {}) {
  const y = dispatch("matmul", [a, b], attrs);
  const ref = reference(a, b, attrs.transA, attrs.transB);
  const msg = `${a.dtype} [${a.shape}] @ [${b.shape}] ${JSON.stringify(attrs)}:`;
  assert.deepEqual(y.shape, ref.shape, msg);
  assertAllClose(y.data, ref.values, { ...TOL[y.dtype], msg });
  return y;
}

// [m, k, n]: unit, odd, tile and block edges (MR=NR=4, MC=64, KC=256, NC=1024), tall/skinny, empty
const SHAPES = [
  [1, 1, 1],
  [7, 13, 5],
  [33, 65, 17],
  [128, 256, 64],
  [300, 3, 2],
  [2, 3, 300],
  [5, 1, 9],
  [1, 40, 1],
  [67, 300, 6],
  [0, 3, 4],
  [3, 0, 4],
  [3, 4, 0],
];

Deno.test("matmul() matches a naive triple loop for many shapes and every dtype", () => {
  for (const dtype of DTYPES) {
    for (const [m, k, n] of SHAPES) {
      const y = check(make([m, k], dtype), make([k, n], dtype, 1));
      assert.equal(y.dtype, dtype);
    }
  }
});

Deno.test("matmul() reads a transposed B without copying", () => {
  // x @ W.T with W stored [n, k], as a Linear layer's gx = gy @ W^T reads it
  const x = make([5, 3], "float64"), W = make([4, 3], "float64", 2);
  const before = Array.from(W.data);
  const y = check(x, W, { transB: true });
  assert.deepEqual(y.shape, [5, 4]);
  assert.deepEqual(Array.from(W.data), before);
  assertAllClose(y, dispatch("matmul", [x, W.transpose()]), { rtol: 1e-15 });
});

Deno.test("matmul() reads transposed operands for all four transA/transB combinations", () => {
  for (const dtype of DTYPES) {
    for (const [m, k, n] of [...SHAPES, [70, 260, 1030]]) {
      if (m * k * n > 1e6 && dtype !== "float64") continue;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = make(transA ? [k, m] : [m, k], dtype);
          const b = make(transB ? [n, k] : [k, n], dtype, 1);
          check(a, b, { transA, transB });
        }
      }
    }
  }
});

Deno.test("matmul() broadcasts batch axes as numpy does", () => {
  const cases: [number[], number[], number[], { transA?: boolean; transB?: boolean }?][] = [
    [[2, 3, 4, 5], [5, 6], [2, 3, 4, 6]],
    [[1, 4, 5], [3, 5, 2], [3, 4, 2]],
    [[2, 1, 3, 4], [5, 4, 2], [2, 5, 3, 2]],
    [[3, 5, 4], [5, 2], [3, 4, 2], { transA: true }],
    [[2, 3, 4], [1, 6, 4], [2, 3, 6], { transB: true }],
    [[0, 2, 3], [3, 4], [0, 2, 4]],
  ];
  for (const dtype of DTYPES) {
    for (const [sa, sb, expected, attrs] of cases) {
      const y = check(make(sa, dtype), make(sb, dtype, 1), attrs);
      assert.deepEqual(y.shape, expected);
    }
  }
});

Deno.test("matmul() treats 1-D operands as numpy does (vec @ mat, mat @ vec, vec @ vec)", () => {
  const cases: [number[], number[], number[]][] = [
    [[4], [4, 5], [5]],
    [[3, 4], [4], [3]],
    [[4], [4], []],
    [[2, 3, 4], [4], [2, 3]],
    [[4], [2, 4, 5], [2, 5]],
    [[0], [0], []],
  ];
  for (const dtype of DTYPES) {
    for (const [sa, sb, expected] of cases) {
      const y = check(make(sa, dtype), make(sb, dtype, 1));
      assert.deepEqual(y.shape, expected);
    }
  }
  assert.equal(dispatch("matmul", [make([3], "float64"), make([3], "float64")]).ndim, 0);
  check(make([4], "float64"), make([5, 4], "float64"), { transB: true });
});

Deno.test("matmul() adds a bias along the last axis and applies relu in its store", () => {
  // k = 300 spans two k-panels: the bias is added once, relu applied at the end
  for (const dtype of DTYPES) {
    for (const [m, k, n] of [[7, 13, 5], [9, 300, 6], [3, 0, 4], [1, 1, 1]]) {
      for (const biasShape of [[n], [1, n], [1]]) {
        for (const activation of [null, "relu"]) {
          for (const transB of [false, true]) {
            const a = make([m, k], dtype), b = make(transB ? [n, k] : [k, n], dtype, 1);
            const bias = make(biasShape, dtype, 2);
            const y = dispatch("matmul", [a, b, bias], { transB, activation });
            const ref = reference(a, b, false, transB).values.map((v, i) => {
              const s = v + bias.data[bias.size === 1 ? 0 : i % n];
              return activation === "relu" ? Math.max(s, 0) : s;
            });
            const msg = `${dtype} ${m}x${k}x${n} bias [${biasShape}] ${activation} ${transB}:`;
            assert.deepEqual(y.shape, [m, n], msg);
            assert.equal(y.dtype, dtype, msg);
            assertAllClose(y.data, ref, { ...TOL[dtype], msg });
          }
        }
      }
    }
  }
  const y = dispatch("matmul", [make([2, 3, 4], "float32"), make([4, 5], "float32")], {
    activation: "relu",
  });
  assert.ok(Array.from(y.data).every((v) => v >= 0));
});

Deno.test("matmul() keeps int32 @ int32 in int32 (wrapping as numpy) and promotes mixed dtypes", () => {
  const big = new NDArray(new Int32Array([65536]), [1, 1]);
  const y = dispatch("matmul", [big, big]);
  assert.equal(y.dtype, "int32");
  assert.equal(y.data[0], 0); // 2^32 wraps, as numpy's int32 matmul
  const cases: [DType, DType, DType][] = [
    ["float32", "int32", "float64"],
    ["float32", "float64", "float64"],
    ["int32", "float64", "float64"],
  ];
  for (const [da, db, expected] of cases) {
    const out = check(make([3, 4], da), make([4, 2], db, 1));
    assert.equal(out.dtype, expected);
  }
  const withBias = dispatch("matmul", [
    make([2, 3], "int32"),
    make([3, 2], "int32"),
    make([2], "float32"),
  ]);
  assert.equal(withBias.dtype, "float64");
});

Deno.test("matmul() accumulates float32 products in float64 and rounds once", () => {
  const a = new NDArray(new Float32Array([1e8, 1, -1e8]), [1, 3]);
  const b = new NDArray(new Float32Array([1, 1, 1]), [3, 1]);
  assert.equal(dispatch("matmul", [a, b]).data[0], 1);
});

Deno.test("matmul() writes into out when given, overwriting what was there", () => {
  const a = make([2, 5, 3], "float32"), b = make([3, 6], "float32", 1);
  const out = new NDArray(new Float32Array(60).fill(NaN), [2, 5, 6]);
  const y = dispatch("matmul", [a, b], {}, out);
  assert.equal(y, out);
  assertAllClose(out.data, reference(a, b).values, TOL.float32);
  const empty = new NDArray(new Float64Array(6).fill(NaN), [2, 3]);
  dispatch("matmul", [make([2, 0], "float64"), make([0, 3], "float64")], {}, empty);
  assert.deepEqual(Array.from(empty.data), [0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => dispatch("matmul", [a, b], {}, new NDArray(new Float32Array(60), [10, 6])),
    /matmul: cannot write a float32 result of shape \[2,5,6\] into a float32 out of shape \[10,6\]/,
  );
  assert.throws(
    () => dispatch("matmul", [a, b], {}, new NDArray(new Int32Array(60), [2, 5, 6])),
    /matmul: cannot write a float32 result/,
  );
  const sq = make([3, 3], "float64");
  assert.throws(
    () => dispatch("matmul", [sq, make([3, 3], "float64")], {}, sq),
    /matmul: out must not share storage with an operand/,
  );
});

Deno.test("matmul() errors name the op and the shapes", () => {
  const f = (shape: number[]) => make(shape, "float64");
  const cases: [NDArray[], Record<string, unknown>, RegExp][] = [
    [[f([2, 3]), f([4, 5])], {}, /^matmul: inner dimensions differ: \[2,3\] @ \[4,5\] \(3 != 4\)$/],
    [[f([2, 3]), f([5, 4])], { transB: true }, /\[2,3\] @ \[5,4\]\.mT \(3 != 4\)/],
    [[f([3, 2]), f([4, 5])], { transA: true }, /\[3,2\]\.mT @ \[4,5\] \(3 != 4\)/],
    [[f([3]), f([4])], {}, /inner dimensions differ: \[3\] @ \[4\] \(3 != 4\)/],
    [[f([]), f([3])], {}, /^matmul: operands must be at least 1-D, got \[\] and \[3\]$/],
    [[f([2, 2, 3]), f([3, 3, 4])], {}, /^matmul: cannot broadcast shapes \[2\] and \[3\]$/],
    [[f([3]), f([3, 4])], { transA: true }, /matmul: a transposed operand must be at least 2-D/],
    [
      [f([2, 3]), f([3, 4]), f([3])],
      {},
      /matmul: bias of shape \[3\] does not broadcast .* \[2,4\]/,
    ],
    [[f([2, 3]), f([3, 4]), f([2, 4])], {}, /bias of shape \[2,4\]/],
    [[f([3]), f([3, 4]), f([1, 4])], {}, /bias of shape \[1,4\] .* result \[4\]/],
    [[f([2, 3]), f([3, 4])], { activation: "tanh" }, /matmul: unknown activation 'tanh'/],
  ];
  for (const [inputs, attrs, re] of cases) {
    assert.throws(() => dispatch("matmul", inputs, attrs), { message: re });
  }
});
