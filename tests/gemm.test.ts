/**
 * Tests of the gemm (core/backend/simd/gemm.ts) through `matmulArrays`:
 * float32 products against a float64 naive product in this file within
 * float32 rounding bounds (|err| <= k * eps32 * sum |a||b|), every
 * transposition, odd non-square sizes, broadcast batches, the bias/ReLU
 * epilogue, float64 (a float64 bound) and int32 (exact); any split of the
 * rows gives the same bits; jit == eager on a training step of several
 * product sizes; without WebAssembly (a jitless subprocess) the scalar gemm
 * runs and jit == eager still.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";
import { allocate } from "../core/array/alloc.ts";
import type { DType } from "../core/array/dtype.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { matmulArrays } from "../core/matmul.ts";
import {
  finishGemm,
  gemm,
  GEMM_WASM,
  gemmEpoch,
  gemmRows,
  prepareGemm,
} from "../core/backend/simd/gemm.ts";
import { gemm as scalarGemm } from "../core/backend/cpu/gemm.ts";
import { hostEffect } from "../core/hooks.ts";
import { gemmOperands, gemmProgram } from "./fixtures/gemm_program.ts";

const EPS = { float32: 2 ** -24, float64: 2 ** -53, int32: 0 };

/** Fixed data of `shape` in [-1, 1] (small integers for int32). */
function make(shape: number[], dtype: DType, seed: number): NDArray {
  const size = shape.reduce((x, y) => x * y, 1);
  const data = allocate(dtype, size);
  for (let i = 0; i < size; i++) {
    data[i] = dtype === "int32" ? ((i * 7 + seed * 3) % 11) - 5 : Math.sin(i * 0.731 + seed);
  }
  return new NDArray(data, shape);
}

/** The float64 product of stored matrices at element offsets, read transposed per flags, and sum |a||b|. */
function naive(
  m: number,
  n: number,
  k: number,
  A: ArrayLike<number>,
  aOff: number,
  tA: boolean,
  B: ArrayLike<number>,
  bOff: number,
  tB: boolean,
): { c: Float64Array; mag: Float64Array } {
  const c = new Float64Array(m * n), mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, a = 0;
      for (let p = 0; p < k; p++) {
        const x = A[aOff + (tA ? p * m + i : i * k + p)] * B[bOff + (tB ? j * k + p : p * n + j)];
        s += x;
        a += Math.abs(x);
      }
      c[i * n + j] = s;
      mag[i * n + j] = a;
    }
  }
  return { c, mag };
}

/**
 * Asserts `got` (from element `off`) is the naive product, plus `bias` and
 * the ReLU, within (k + 2) eps of sum |a||b| (+ |bias|) per element.
 */
function check(
  got: ArrayLike<number>,
  off: number,
  ref: { c: Float64Array; mag: Float64Array },
  n: number,
  k: number,
  eps: number,
  what: string,
  bias: ArrayLike<number> | null = null,
  relu = false,
): void {
  for (let i = 0; i < ref.c.length; i++) {
    const b = bias === null ? 0 : bias[bias.length > 1 ? i % n : 0];
    let want = ref.c[i] + b;
    if (relu) want = Math.max(want, 0);
    const bound = (k + 2) * eps * (ref.mag[i] + Math.abs(b));
    const err = Math.abs(got[off + i] - want);
    if (!(err <= bound)) {
      throw new Error(`${what}: element ${i} is ${got[off + i]}, want ${want} (bound ${bound})`);
    }
  }
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 63],
  [65, 129, 3],
  [257, 63, 17],
  [17, 1000, 65],
  [129, 65, 257],
  [1000, 3, 129],
  [63, 257, 1000],
  [65, 65, 65],
];

Deno.test("gemm float32 and float64 within rounding bounds, every transposition and odd size", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [m, n, k] of SIZES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = make(transA ? [k, m] : [m, k], dtype, 1);
          const b = make(transB ? [n, k] : [k, n], dtype, 2);
          const c = matmulArrays(a, b, { transA, transB });
          assert.deepEqual(c.shape, [m, n]);
          assert.equal(c.dtype, dtype);
          const ref = naive(m, n, k, a.data, 0, transA, b.data, 0, transB);
          check(c.data, 0, ref, n, k, EPS[dtype], `${dtype} ${m}x${k}x${n} ${transA} ${transB}`);
        }
      }
    }
  }
});

Deno.test("gemm int32 products are exact", () => {
  for (const [m, n, k] of [[65, 17, 129], [3, 257, 63]]) {
    const a = make([m, k], "int32", 1), b = make([n, k], "int32", 2);
    const c = matmulArrays(a, b, { transB: true });
    assert.equal(c.dtype, "int32");
    const ref = naive(m, n, k, a.data, 0, false, b.data, 0, true);
    assert.deepEqual(Array.from(c.data), Array.from(ref.c));
  }
});

Deno.test("gemm over broadcast batch axes", () => {
  const [m, n, k] = [33, 65, 70];
  for (const dtype of ["float32", "float64"] as const) {
    const a = make([2, 1, m, k], dtype, 3), b = make([3, n, k], dtype, 4);
    const c = matmulArrays(a, b, { transB: true });
    assert.deepEqual(c.shape, [2, 3, m, n]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const ref = naive(m, n, k, a.data, i * m * k, false, b.data, j * n * k, true);
        check(c.data, (i * 3 + j) * m * n, ref, n, k, EPS[dtype], `${dtype} batch ${i}, ${j}`);
      }
    }
  }
});

Deno.test("gemm bias and ReLU epilogue: bias of n values or one, with and without ReLU", () => {
  const [m, n, k] = [70, 37, 90];
  for (const dtype of ["float32", "float64"] as const) {
    const a = make([m, k], dtype, 5), b = make([k, n], dtype, 6);
    const ref = naive(m, n, k, a.data, 0, false, b.data, 0, false);
    for (const bias of [make([n], dtype, 7), make([1], dtype, 8)]) {
      for (const relu of [false, true]) {
        const c = matmulArrays(a, b, { activation: relu ? "relu" : null }, bias);
        const what = `${dtype} bias [${bias.shape}] relu ${relu}`;
        check(c.data, 0, ref, n, k, EPS[dtype], what, bias.data, relu);
        if (relu) assert.ok(Array.from(c.data).every((v) => v >= 0), what);
      }
    }
  }
});

Deno.test(
  "gemm rows computed in any split give the bits of one call",
  { ignore: !GEMM_WASM },
  () => {
    const [m, n, k] = [203, 77, 600];
    for (const f64 of [false, true]) {
      const dtype = f64 ? "float64" : "float32";
      const A = make([k, m], dtype, 9).data, B = make([k, n], dtype, 10).data;
      const bias = make([n], dtype, 11).data;
      const whole = allocate(dtype, m * n), split = allocate(dtype, m * n);
      const plan = prepareGemm(m, n, k, A, 0, true, B, 0, false, bias, true, f64)!;
      gemmRows(plan, 0, plan.panels);
      finishGemm(plan, whole, 0);
      const again = prepareGemm(m, n, k, A, 0, true, B, 0, false, bias, true, f64)!;
      for (const [p0, p1] of [[30, plan.panels], [0, 1], [1, 30]]) gemmRows(again, p0, p1);
      finishGemm(again, split, 0);
      assert.deepEqual(split, whole);
      const ref = naive(m, n, k, A, 0, true, B, 0, false);
      check(whole, 0, ref, n, k, EPS[dtype], `${dtype} split`, bias, true);
    }
  },
);

Deno.test(
  "gemm keeping B packed for a replay: the bits of packing it each time, until the next epoch",
  { ignore: !GEMM_WASM },
  () => {
    const [m, n, k] = [37, 70, 130];
    for (const dtype of ["float32", "float64"] as const) {
      const A = make([m, k], dtype, 1).data, B = make([n, k], dtype, 2).data;
      const other = make([k, n], dtype, 3).data;
      const product = (b: typeof B, keep: number) => {
        const C = allocate(dtype, m * n);
        gemm(m, n, k, A, 0, false, b, 0, true, C, 0, null, false, keep);
        return Array.from(C);
      };
      const fresh = product(B, -1), theOther = product(other, -1);
      gemmEpoch();
      assert.deepEqual(product(B, 0), fresh, `${dtype}: packs and keeps`);
      // products in between work above the kept pack, without touching it
      for (let i = 0; i < 3; i++) {
        const C = allocate(dtype, 400 * 300);
        const big = make([400, 500], dtype, 4).data, right = make([500, 300], dtype, 5).data;
        gemm(400, 300, 500, big, 0, false, right, 0, false, C, 0);
      }
      // the caller promises the same operand: the kept pack is read, not `other`
      assert.deepEqual(product(other, 0), fresh, `${dtype}: reads the kept pack`);
      gemmEpoch();
      assert.deepEqual(product(other, 0), theOther, `${dtype}: a new epoch packs afresh`);
      assert.deepEqual(product(B, 1), fresh, `${dtype}: another index, another pack`);
      assert.deepEqual(product(other, 0), theOther, `${dtype}: both kept`);
    }
    // one index read by float32 then float64 products packs each its own way
    gemmEpoch();
    const r32 = make([m, k], "float32", 6).data, r64 = make([m, k], "float64", 6).data;
    const W32 = make([n, k], "float32", 7).data, W64 = make([n, k], "float64", 7).data;
    const C32 = allocate("float32", m * n), C64 = allocate("float64", m * n);
    gemm(m, n, k, r32, 0, false, W32, 0, true, C32, 0, null, false, 2);
    gemm(m, n, k, r64, 0, false, W64, 0, true, C64, 0, null, false, 2);
    const ref = naive(m, n, k, r64, 0, false, W64, 0, true);
    check(C64, 0, ref, n, k, EPS.float64, "float64 after float32 under one index");
  },
);

Deno.test("jit == eager bit for bit where products read the same weights twice, threads included", () => {
  for (const [rows, size] of [[30, 100], [300, 600]]) {
    const run = (jitted: boolean) => {
      dz.random.seed(4);
      const W = new dz.Parameter(dz.random.randn(size, size).mul(0.05).astype("float32"));
      const step = (x: NDArray) => {
        const y = dz.F.sum(dz.F.tanh(dz.F.matmul(dz.F.tanh(dz.F.matmul(x, W)), W)));
        W.cleargrad();
        y.backward();
        W.data = W.data.sub(W.grad!.data.mul(0.1)).astype("float32");
        return y;
      };
      const f = jitted ? jit(step) : step;
      const xs = [0, 1, 2, 3].map((s) => make([rows, size], "float32", s));
      const ys = xs.map((x) => f(x).data.item());
      if (jitted) assert.equal((f as dz.Jitted<[NDArray], dz.Variable>).stats().cacheHits, 3);
      return { ys, W: Array.from(W.data.data) };
    };
    const eager = run(false), jitted = run(true);
    assert.deepEqual(jitted, eager, `[${rows}x${size}] @ [${size}x${size}]`);
  }
});

Deno.test("jit: a replay inside another's host step does not hand the outer one its packs", () => {
  // both tapes keep their weights' pack under index 0; the inner replay (run by a host step
  // between the outer's two products) must not leave a pack the outer's second product reads
  dz.random.seed(1);
  const W1 = new dz.Parameter(dz.random.randn(100, 100).mul(0.1).astype("float32"));
  const W2 = new dz.Parameter(dz.random.randn(100, 100).mul(0.1).astype("float32"));
  const y = make([30, 100], "float32", 1);
  const inner = jit((y: NDArray) => dz.F.matmul(dz.F.tanh(dz.F.matmul(y, W2)), W2));
  inner(y);
  const body = (x: NDArray) => {
    const h = dz.F.tanh(dz.F.matmul(x, W1));
    hostEffect(() => void inner(y));
    return dz.F.matmul(h, W1);
  };
  const outer = jit(body);
  const x = make([30, 100], "float32", 2);
  const eager = Array.from(body(x).data.data);
  for (let i = 0; i < 3; i++) assert.deepEqual(Array.from(outer(x).data.data), eager, `call ${i}`);
  assert.equal(outer.stats().cacheHits, 2);
  assert.ok(inner.stats().cacheHits >= 3);
  // nor when the inner replay throws after its products (a bad index), caught in the host step
  const failing = jit((y: NDArray, idx: NDArray) =>
    dz.F.getItem(dz.F.matmul(dz.F.tanh(dz.F.matmul(y, W2)), W2), idx)
  );
  const good = dz.array([0, 2], { dtype: "int32" }), bad = dz.array([0, 99], { dtype: "int32" });
  failing(y, good);
  const caught = (x: NDArray) => {
    const h = dz.F.tanh(dz.F.matmul(x, W1));
    hostEffect(() => {
      assert.throws(() => failing(y, bad), /out of bounds/);
    });
    return dz.F.matmul(h, W1);
  };
  const outer2 = jit(caught);
  for (let i = 0; i < 3; i++) assert.deepEqual(Array.from(outer2(x).data.data), eager, `call ${i}`);
  assert.equal(outer2.stats().cacheHits, 2);
  assert.equal(failing.stats().cacheHits, 2); // the outer trace ran it inline
});

Deno.test("jit == eager bit for bit on a training step with products of several sizes", () => {
  const run = (jitted: boolean) => {
    dz.random.seed(3);
    const x = new dz.Variable(dz.random.randn(70, 300).astype("float32"));
    const t = dz.array(Array.from({ length: 70 }, (_, i) => i % 10), { dtype: "int32" });
    const model = new dz.MLP([257, 65, 10]);
    const opt = new dz.optimizers.SGD(0.1).setup(model);
    const step = (x: dz.Variable, t: NDArray) => {
      const loss = dz.F.softmaxCrossEntropy(model.apply(x), t);
      model.cleargrads();
      loss.backward();
      opt.update();
      return loss;
    };
    const f = jitted ? jit(step) : step;
    const losses = Array.from({ length: 4 }, () => f(x, t).data.toArray() as number);
    return { losses, params: [...model.params()].map((p) => Array.from(p.data.data)) };
  };
  const eager = run(false), jitted = run(true);
  assert.ok(eager.losses[3] < eager.losses[0], "the loss goes down");
  assert.deepEqual(jitted.losses, eager.losses);
  assert.deepEqual(jitted.params, eager.params);
});

Deno.test("without WebAssembly (V8 jitless) the scalar gemm runs, and jit == eager there too", async () => {
  const script = new URL("./fixtures/gemm_fallback.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--jitless", script.pathname],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const scalar = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(scalar.wasm, false);
  assert.deepEqual(scalar.jit, scalar.eager);
  // the forward product is the scalar gemm's: float64 sums of the float32 operands, rounded once
  const [x, W, b] = gemmOperands(dz);
  const y = new Float32Array(40 * 50);
  scalarGemm(40, 50, 300, x.data, 0, false, W.data, 0, false, y, 0, b.data, true);
  assert.deepEqual(scalar.eager.slice(0, y.length), Array.from(y));
  const here = gemmProgram(dz);
  assert.deepEqual(here.jit, here.eager);
  const ref = naive(40, 50, 300, x.data, 0, false, W.data, 0, false);
  check(here.eager, 0, ref, 50, 300, EPS.float32, "forward with WebAssembly", b.data, true);
});

Deno.test("gemm where the module's memory cannot grow (out of memory): the scalar gemm computes the product", () => {
  if (GEMM_WASM === null) return; // nothing to grow: every product is the scalar gemm's already
  const memory = GEMM_WASM.memory;
  // rows enough that this product's packs and copies (> 2304 bytes a row) need more than there is
  const m = Math.ceil(memory.buffer.byteLength / 2304) + 64, k = 256, n = 64;
  const a = make([m, k], "float32", 11), b = make([k, n], "float32", 12);
  const grow = memory.grow;
  memory.grow = () => {
    throw new RangeError("WebAssembly.Memory.grow(): Unable to grow instance memory");
  };
  try {
    const c = a.matmul(b);
    // the scalar gemm's sums: float64, k in order (one block of 256), rounded once
    const ref = naive(m, n, k, a.data, 0, false, b.data, 0, false).c.map(Math.fround);
    assert.deepEqual(c.data, Float32Array.from(ref));
  } finally {
    memory.grow = grow;
  }
});
