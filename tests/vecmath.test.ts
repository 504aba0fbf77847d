/**
 * core/backend/simd/vecmath.ts and the assembler under it (core/backend/simd/wasm.ts): the vector
 * functions equal the scalar fast-math functions bit for bit (over every
 * float32 exponent, special values, |x| beyond sin's fast range, lengths
 * that leave a partial SIMD step, in place); the eager float32 kernels
 * that use them equal the scalar functions too; and without WebAssembly
 * (a jitless subprocess) the library computes the same values scalar. */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { dispatch } from "../core/dispatch.ts";
import {
  cos32,
  exp32,
  log32,
  sigmoid32,
  sin32,
  SINCOS_LIMIT,
  tanh32,
} from "../core/backend/simd/fastmath.ts";
import { array } from "../core/array/ndarray.ts";
import {
  instantiateLoop,
  loopModule,
  vcos,
  VEC,
  VEC_BASE,
  VECTORIZED,
  vexp,
  vlog,
  vsigmoid,
  vsin,
  vsincos,
  vtanh,
  WASM_KERNELS,
} from "../core/backend/simd/vecmath.ts";
import {
  F32X4,
  F64X2,
  op1,
  op2,
  SIMD_STEP,
  SIMD_STEP32,
  simdLoop,
  uleb,
} from "../core/backend/simd/wasm.ts";
import { fallbackProgram } from "./fixtures/fallback_program.ts";

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Float32 inputs: 64 per exponent and sign (from a fixed bit pattern walk), then special values. */
function inputs(): Float64Array {
  const xs: number[] = [];
  for (let e = 0; e < 255; e++) {
    for (let j = 0; j < 64; j++) {
      for (const sign of [0, 1]) {
        U32[0] = (sign << 31) | (e << 23) | ((Math.imul(j + 1, 0x9e3779b1) >>> 9) & 0x7fffff);
        xs.push(F32[0]);
      }
    }
  }
  xs.push(NaN, Infinity, -Infinity, 0, -0, 88.72, 88.73, 109.6, -103.97, -110, 1048575.9, 2 ** 20);
  xs.push(0.62499994, 0.625, -0.625, 0.62500006, 44.4, -44.4, 55); // tanh's branch point, overflow of e^2x
  xs.push(32767.998, -32767.998, 2 ** 15, -(2 ** 15), -1e-30, 1e-30, -95, 89, -104); // sin's limit
  return Float64Array.from(xs);
}

const X = VEC_BASE, S = X + 4096, C = S + 4096; // regions of VEC used here

/** Runs `run(n)` on `xs` in chunks of `chunk` copied to `VEC[X...]`; `check(x, j)` each result. */
function each(
  xs: Float64Array,
  chunk: number,
  run: (n: number) => void,
  check: (x: number, j: number) => void,
): void {
  for (let b = 0; b < xs.length; b += chunk) {
    const n = Math.min(chunk, xs.length - b);
    VEC.set(xs.subarray(b, b + n), X);
    run(n);
    for (let j = 0; j < n; j++) check(xs[b + j], j);
  }
}

/** Asserts `VEC[at]` holds `fround(f(x))`, bit for bit (NaN equal to NaN). */
function same(at: number, f: (x: number) => number, x: number, what: string): void {
  const want = Math.fround(f(x));
  if (!Object.is(VEC[at], want)) assert.fail(`${what}(${x}): ${VEC[at]}, want ${want}`);
}

/** Each vector function, its scalar function and op name. */
const PAIRS = [
  [vexp, exp32, "exp"],
  [vlog, log32, "log"],
  [vsin, sin32, "sin"],
  [vcos, cos32, "cos"],
  [vtanh, tanh32, "tanh"],
  [vsigmoid, sigmoid32, "sigmoid"],
] as const;

Deno.test("vexp, vlog, vsin, vcos, vtanh, vsigmoid equal their scalar functions bit for bit", () => {
  const xs = inputs();
  for (const chunk of [4093, 256, 13]) { // partial SIMD steps at every chunk's end
    for (const [v, f, op] of PAIRS) {
      each(xs, chunk, (n) => v(X, S, n), (x, j) => same(S + j, f, x, `v${op}`));
    }
  }
});

Deno.test("vlog over positive normals (no operand for the scalar path) equals log32", () => {
  // the sweep above mixes signs, so each of its chunks holds an operand log
  // leaves to the scalar function; here every element takes the kernel
  const xs = inputs().map(Math.abs).filter((x) => x >= 2 ** -126 && x < Infinity);
  for (const chunk of [4093, 13]) {
    each(xs, chunk, (n) => vlog(X, S, n), (x, j) => same(S + j, log32, x, "vlog"));
  }
});

Deno.test("the kernels run where they can and report the operands they leave to the scalar path", () => {
  // vlog/vsin above equal their scalar functions whether the kernel or the
  // fallback computed them; here the kernels are called directly
  const kernels = WASM_KERNELS!;
  const n = 2 * SIMD_STEP32;
  const run = (name: string, xs: number[], f: (x: number) => number) => {
    VEC.set(xs, X);
    VEC.fill(42, S, S + n);
    const ok = kernels[name](X * 8, S * 8, n);
    if (ok) { for (let j = 0; j < n; j++) same(S + j, f, xs[j], name); }
    return ok;
  };
  const positive = Array.from({ length: n }, (_, j) => Math.fround(0.37 * (j + 1)));
  assert.equal(run("log", positive, log32), 1);
  for (const bad of [0, -1, NaN, Infinity, 1e-40]) {
    assert.equal(run("log", positive.map((x, j) => (j === 9 ? bad : x)), log32), 0, `log(${bad})`);
  }
  assert.equal(run("sin", positive, sin32), 1);
  assert.equal(run("cos", positive.map((x, j) => (j === 3 ? -2e6 : x)), cos32), 0);
  assert.equal(run("exp", positive.map((x) => -x * 50), exp32), 1);
  assert.equal(run("tanh", positive.map((x) => x - 3), tanh32), 1);
  assert.equal(run("sigmoid", positive.map((x) => 20 - x * 9), sigmoid32), 1);
});

Deno.test("the f32x4 kernels equal their scalar functions on a million float32 each", () => {
  // every chunk through the kernel (sin/cos operands below their limit, NaN
  // and ±Infinity there replaced by 0; log's the absolute values of normal
  // ones, 1 for others);
  // random bit patterns, so every exponent, sign and tiny/huge magnitude
  const kernels = WASM_KERNELS!;
  const n = 4096, xs = new Float64Array(n);
  for (const [, f, op] of PAIRS) {
    for (let chunk = 0; chunk < 256; chunk++) {
      for (let j = 0; j < n; j++) {
        U32[0] = Math.imul(chunk * n + j + 1, 0x9e3779b1) ^ (chunk * 0x85ebca6b);
        const x = F32[0];
        xs[j] = op === "log"
          ? (Math.abs(x) >= 2 ** -126 && Math.abs(x) < Infinity ? Math.abs(x) : 1)
          : (op === "sin" || op === "cos") && !(Math.abs(x) < SINCOS_LIMIT)
          ? x % SINCOS_LIMIT || 0
          : x;
      }
      VEC.set(xs, X);
      assert.equal(kernels[op](X * 8, S * 8, n), 1, op);
      for (let j = 0; j < n; j++) same(S + j, f, xs[j], op);
    }
  }
});

Deno.test("vsincos equals vsin and vcos; works in place", () => {
  const xs = inputs();
  each(xs, 1000, (n) => vsincos(X, S, C, n), (x, j) => {
    same(S + j, sin32, x, "vsincos sin");
    same(C + j, cos32, x, "vsincos cos");
  });
  // in place: results over their operands
  each(xs, 515, (n) => vexp(X, X, n), (x, j) => same(X + j, exp32, x, "vexp in place"));
});

Deno.test("vsin beyond its limit (2^15) takes the exact scalar path for the whole call", () => {
  const xs = Float64Array.from({ length: 64 }, (_, k) => Math.fround((k - 32) * 0.37));
  xs[17] = 3e9; // beyond the fast reduction: Math.sin for it, the rest still bit-identical
  each(xs, 64, (n) => vsin(X, S, n), (x, j) => {
    same(S + j, sin32, x, "vsin");
    if (j === 17) assert.equal(VEC[S + j], Math.fround(Math.sin(3e9)));
  });
});

Deno.test("eager float32 exp/log/sin/cos/tanh/sigmoid over long arrays equal the scalar functions", () => {
  const xs = inputs();
  const x32 = array(Array.from(xs), { dtype: "float32" });
  for (const [, f, op] of PAIRS) {
    const got = dispatch(op, [x32]).data;
    for (let i = 0; i < xs.length; i++) {
      const x = Math.fround(xs[i]); // as stored in the float32 array
      const want = Math.fround(f(x));
      if (!Object.is(got[i], want)) assert.fail(`${op}(${x}): ${got[i]}, want ${want}`);
    }
  }
});

Deno.test("VECTORIZED: this Deno runs the WebAssembly SIMD kernels", () => {
  // every Deno 2 (V8 >= 9.1) has WebAssembly SIMD; the scalar fallback is for other hosts
  assert.equal(VECTORIZED, true);
});

Deno.test("simdLoop: unrolled f64x2 statements, constants, check flag; uleb encodes", () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  // y = x * 3 + 0.5 and z = -x over n elements; check fails when some x < 0
  const f = simdLoop("f", 1, (b) => {
    const x = b.let(b.load(0, X * 8));
    b.check(op2(F64X2.lt)(b.c(0), op1(F64X2.abs)(x)));
    b.store(0, S * 8, op2(F64X2.add)(op2(F64X2.mul)(x, b.c(3)), b.c(0.5)));
    b.store(0, C * 8, op1(F64X2.neg)(x));
  });
  const run = instantiateLoop(loopModule(f));
  const n = 5 * SIMD_STEP;
  for (let j = 0; j < n; j++) VEC[X + j] = j + 1;
  VEC[S + n] = 42; // beyond n: untouched
  assert.equal(run(0, n), 1);
  for (let j = 0; j < n; j++) {
    assert.equal(VEC[S + j], (j + 1) * 3 + 0.5);
    assert.equal(VEC[C + j], -(j + 1));
  }
  assert.equal(VEC[S + n], 42);
  VEC[X + 7] = 0;
  assert.equal(run(0, n), 0);
});

Deno.test("simdLoop in f32x4 lanes: float64 elements demoted, computed in float32, promoted", () => {
  // y = x * 3 + 0.1 in float32 over n elements; the check fails when some x is 0
  const f = simdLoop("f", 1, (b) => {
    const x = b.let(b.load(0, X * 8));
    b.check(op2(F32X4.lt)(b.c(0), op1(F32X4.abs)(x)));
    b.store(0, S * 8, op2(F32X4.add)(op2(F32X4.mul)(x, b.c(3)), b.c(0.1)));
  }, true);
  const run = instantiateLoop(loopModule(f));
  const n = 3 * SIMD_STEP32;
  for (let j = 0; j < n; j++) VEC[X + j] = (j + 1) / 3; // not float32 values: rounded on load
  VEC[S + n] = 42;
  assert.equal(run(0, n), 1);
  const f32 = Math.fround;
  for (let j = 0; j < n; j++) assert.equal(VEC[S + j], f32(f32(f32((j + 1) / 3) * 3) + f32(0.1)));
  assert.equal(VEC[S + n], 42);
  VEC[X + 6] = 0; // one lane of one f32x4
  assert.equal(run(0, n), 0);
});

Deno.test("without WebAssembly (V8 jitless) the same calls run scalar, with the same results", async () => {
  const script = new URL("./fixtures/scalar_fallback.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--jitless", script.pathname],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const scalar = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(scalar.VECTORIZED, false);
  const here = fallbackProgram(dz);
  assert.deepEqual(scalar.eager, here.eager);
  assert.deepEqual(scalar.jit, here.jit);
  assert.deepEqual(here.jit, here.eager);
});
