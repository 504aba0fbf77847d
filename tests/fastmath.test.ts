/**
 * Accuracy of core/backend/simd/fastmath.ts: over ~12 million float32 inputs (about 2
 * million per function: every float32 exponent, both signs, random
 * mantissas from a fixed-seed integer hash, plus dense sweeps at the hard
 * places), `fround(f32(x))` is within 2 float32 ulp of
 * `fround(Math.f(x))` (exp, tanh and log within 1); special values (NaN, ±Infinity, ±0, overflow,
 * underflow, subnormals) are exact; and the eager float32 kernels use the
 * fast functions while float64 ones keep `Math.*`.
 *
 * sin32/cos32 reduce the argument themselves for |x| < 2^15 (SINCOS_LIMIT)
 * and call `Math.sin`/`Math.cos` beyond, so they are tested on both sides
 * of the limit: within 2 ulp below it, bit-identical to `Math.*` above it.
 */
import assert from "node:assert/strict";
import { dispatch } from "../core/dispatch.ts";
import type { ElementwiseOp } from "../core/registry.ts";
import {
  cos32,
  exp32,
  FASTMATH,
  lastCos32,
  log32,
  sigmoid32,
  sin32,
  sincos32,
  SINCOS_LIMIT,
  tanh32,
} from "../core/backend/simd/fastmath.ts";
import { array } from "../core/array/ndarray.ts";

type Fn = (x: number) => number;

const MAX_ULP = 2;
const sigmoid64: Fn = (x) => 1 / (1 + Math.exp(-x)); // the registry's float64 expression

// ---- float32 bit helpers ---------------------------------------------------

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The float32 with bit pattern `bits`. */
function fromBits(bits: number): number {
  I32[0] = bits;
  return F32[0];
}

/** Float32 bit patterns mapped to integers ordered like the values (±0 -> 0). */
function ordered(bits: number): number {
  return bits >= 0 ? bits : -(bits & 0x7fffffff);
}

/** Distance in float32 ulps between two float32 values (NaN only matches NaN). */
function ulpDistance(a: number, b: number): number {
  if (a !== a || b !== b) return a !== a && b !== b ? 0 : Infinity;
  F32[0] = a;
  const ia = ordered(I32[0]);
  F32[0] = b;
  return Math.abs(ia - ordered(I32[0]));
}

/** Fixed-seed 32-bit integer hash (lowbias32), for reproducible "random" bits. */
function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- input generators (float32 values, in plain arrays of numbers) ---------

/** `perExponent` random mantissas for every biased exponent 0..254 (0: subnormals) and sign. */
function stratified(perExponent: number, signs: number[], seed: number): number[] {
  const out: number[] = [];
  for (const sign of signs) {
    for (let e = 0; e < 255; e++) {
      for (let j = 0; j < perExponent; j++) {
        const m = hash(seed + out.length) & 0x7fffff;
        out.push(fromBits((sign << 31) | (e << 23) | m));
      }
    }
  }
  return out;
}

/** `count + 1` evenly spaced float32 values over [lo, hi]. */
function grid(lo: number, hi: number, count: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= count; k++) out.push(Math.fround(lo + ((hi - lo) * k) / count));
  return out;
}

/** The `2 * k + 1` consecutive float32 values centred on fround(x0) (x0 != 0). */
function around(x0: number, k: number): number[] {
  F32[0] = x0;
  const b = I32[0];
  const out: number[] = [];
  for (let d = -k; d <= k; d++) out.push(fromBits(b + d));
  return out;
}

/** Float32 neighbours (±k ulps) of the float32 nearest n π/2, for each n. */
function nearHalfPiMultiples(ns: number[], k: number): number[] {
  const out: number[] = [];
  for (const n of ns) {
    out.push(...around(n * Math.PI / 2, k));
    out.push(...around(-n * Math.PI / 2, k));
  }
  return out;
}

// ---- the sweep ---------------------------------------------------------------

interface Report {
  count: number;
  maxUlp: number;
  worst: number;
  off: number; // inputs not correctly rounded (1 ulp or more)
}

/** Max ulp distance between fround(f(x)) and fround(ref(x)) over float32 `xs`. */
function sweep(f: Fn, ref: Fn, xs: number[]): Report {
  const x = Float32Array.from(xs);
  const got = new Float32Array(x.length);
  const want = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) got[i] = f(x[i]);
  for (let i = 0; i < x.length; i++) want[i] = ref(x[i]);
  let maxUlp = 0, worst = NaN, off = 0;
  for (let i = 0; i < x.length; i++) {
    if (Object.is(got[i], want[i])) continue;
    const d = ulpDistance(got[i], want[i]);
    if (d > 0) off++;
    if (d > maxUlp) [maxUlp, worst] = [d, x[i]];
    if (d === 0) assert.fail(`sign of zero: f(${x[i]}) = ${got[i]}, expected ${want[i]}`);
  }
  return { count: x.length, maxUlp, worst, off };
}

let total = 0;

function check(name: string, f: Fn, ref: Fn, xs: number[], maxUlp = MAX_ULP): void {
  const r = sweep(f, ref, xs);
  total += r.count;
  assert.ok(
    r.maxUlp <= maxUlp,
    `${name}: ${r.maxUlp} ulp at x = ${r.worst} (f = ${Math.fround(f(r.worst))}, ` +
      `Math = ${Math.fround(ref(r.worst))}) over ${r.count} inputs`,
  );
  console.log(
    `${name.padEnd(8)} ${String(r.count).padStart(8)} inputs, max ${r.maxUlp} ulp, ` +
      `${r.off} not correctly rounded`,
  );
}

Deno.test("exp32: within 1 ulp of Math.exp over float32", () => {
  check("exp", exp32, Math.exp, [
    ...stratified(2000, [0, 1], 1),
    ...grid(-112, 112, 600_000),
    ...around(88.72283935546875, 50_000), // overflow to Infinity
    ...around(-87.33654475, 50_000), // results become subnormal
    ...around(-103.97207708, 50_000), // results underflow to 0
    ...grid(-1, 1, 200_000),
  ], 1);
});

Deno.test("log32: within 1 ulp of Math.log over float32", () => {
  check("log", log32, Math.log, [
    ...stratified(4000, [0], 2), // all positive exponents, subnormals included
    ...stratified(20, [1], 3), // negatives: NaN
    ...around(1, 300_000), // log(x) ~ x - 1: the relative-accuracy hot spot
    ...grid(0.5, 2, 400_000),
  ], 1);
});

// every n with n π/2 below the limit
const halfPiMultiples = Array.from(
  { length: Math.floor(SINCOS_LIMIT / (Math.PI / 2)) },
  (_, n) => n + 1,
);

for (const [name, f, ref] of [["sin", sin32, Math.sin], ["cos", cos32, Math.cos]] as const) {
  Deno.test(`${name}32: within 2 ulp of Math.${name} below 2^15, Math.${name} beyond`, () => {
    check(name, f, ref, [
      ...stratified(2000, [0, 1], 4),
      ...nearHalfPiMultiples(halfPiMultiples, 16),
      ...grid(-10, 10, 200_000),
      ...around(SINCOS_LIMIT, 20_000),
      ...around(-SINCOS_LIMIT, 20_000),
    ]);
    // beyond the limit the result is Math's rounded to float32, as the vector kernel gives it
    for (const x of [...around(SINCOS_LIMIT, 1000), ...stratified(50, [0, 1], 5)]) {
      const want = f32(ref(f32(x)));
      if (Math.abs(x) >= SINCOS_LIMIT) assert.ok(Object.is(f(x), want), `${name}(${x})`);
    }
  });
}

Deno.test("sincos32 and lastCos32 equal sin32 and cos32 bit for bit", () => {
  const xs = [
    ...stratified(400, [0, 1], 8),
    ...nearHalfPiMultiples(halfPiMultiples.slice(0, 2000), 2),
    ...grid(-10, 10, 20_000),
    ...around(SINCOS_LIMIT, 100),
    NaN,
    Infinity,
    -Infinity,
    0,
    -0,
  ];
  for (const x of xs) {
    const s = sincos32(x), c = lastCos32();
    if (!Object.is(s, sin32(x)) || !Object.is(c, cos32(x))) {
      assert.fail(`sincos32(${x}) = [${s}, ${c}], sin32/cos32 = [${sin32(x)}, ${cos32(x)}]`);
    }
  }
});

Deno.test("tanh32: within 1 ulp of Math.tanh over float32", () => {
  check("tanh", tanh32, Math.tanh, [
    ...stratified(2000, [0, 1], 6),
    ...around(0.625, 100_000), // polynomial / exp form switch
    ...around(-0.625, 100_000),
    ...grid(-10, 10, 600_000),
    ...around(9.01, 50_000), // where float32 tanh reaches 1
  ], 1);
});

Deno.test("sigmoid32: within 2 ulp of 1 / (1 + Math.exp(-x)) over float32", () => {
  check("sigmoid", sigmoid32, sigmoid64, [
    ...stratified(2000, [0, 1], 8),
    ...grid(-105, 105, 600_000),
    ...grid(-104, -86, 300_000), // subnormal results
  ]);
});

Deno.test("the sweeps cover at least 10 million inputs", () => {
  assert.ok(total >= 10_000_000, `only ${total} inputs swept`);
});

// ---- special values --------------------------------------------------------

const f32 = (x: number) => Math.fround(x);

function same(actual: number, expected: number, what: string): void {
  assert.ok(Object.is(actual, expected), `${what}: got ${actual}, expected ${expected}`);
}

Deno.test("exp32: special values, overflow and underflow", () => {
  same(exp32(NaN), NaN, "exp(NaN)");
  same(exp32(Infinity), Infinity, "exp(Inf)");
  same(exp32(-Infinity), 0, "exp(-Inf)");
  same(exp32(0), 1, "exp(0)");
  same(exp32(-0), 1, "exp(-0)");
  // the functions take float32 arguments: a float64 one is rounded first
  same(exp32(88.72283), exp32(f32(88.72283)), "exp(88.72283) of the float32 argument");
  same(f32(exp32(88.72283)), f32(Math.exp(f32(88.72283))), "exp(88.72283)"); // largest finite
  assert.ok(f32(exp32(88.72283)) < Infinity);
  same(f32(exp32(88.7229)), Infinity, "exp(88.7229)"); // overflow
  same(f32(exp32(103.9)), Infinity, "exp(103.9)");
  same(f32(exp32(104)), Infinity, "exp(104)");
  same(exp32(110), Infinity, "exp(110)"); // beyond 109.6: exactly Infinity / 0
  same(exp32(1e30), Infinity, "exp(1e30)");
  same(f32(exp32(-103.9)), f32(Math.exp(f32(-103.9))), "exp(-103.9)"); // 1 subnormal ulp
  assert.ok(f32(exp32(-103.9)) > 0);
  same(f32(exp32(-103.98)), 0, "exp(-103.98)"); // underflow
  same(f32(exp32(-104)), 0, "exp(-104)");
  same(exp32(-110), 0, "exp(-110)");
  same(exp32(-1e30), 0, "exp(-1e30)");
});

Deno.test("log32: special values, subnormals", () => {
  same(log32(0), -Infinity, "log(0)");
  same(log32(-0), -Infinity, "log(-0)");
  same(log32(-1), NaN, "log(-1)");
  same(log32(-1e-45), NaN, "log(-1e-45)");
  same(log32(-Infinity), NaN, "log(-Inf)");
  same(log32(NaN), NaN, "log(NaN)");
  same(log32(Infinity), Infinity, "log(Inf)");
  same(log32(1), 0, "log(1)");
  // float32 subnormals (scaled into the normal range), the smallest normal, the largest
  for (
    const x of [1.401298464324817e-45, f32(1e-40), 1.1754942106924411e-38, 1.1754943508222875e-38]
  ) {
    same(log32(x), f32(Math.log(x)), `log(${x})`);
  }
  same(log32(3.4028234663852886e38), f32(Math.log(3.4028234663852886e38)), "log(max)");
  // a float64 argument is rounded to float32 first: float64 subnormals are 0
  for (const x of [5e-324, 1e-310, 2.2250738585072e-308]) same(log32(x), -Infinity, `log(${x})`);
  same(log32(1e-40), log32(f32(1e-40)), "log(1e-40)");
});

Deno.test("sin32, cos32: special values", () => {
  for (const f of [sin32, cos32]) {
    same(f(Infinity), NaN, `${f.name}(Inf)`);
    same(f(-Infinity), NaN, `${f.name}(-Inf)`);
    same(f(NaN), NaN, `${f.name}(NaN)`);
  }
  same(sin32(0), 0, "sin(0)");
  same(sin32(-0), -0, "sin(-0)");
  same(sin32(-1.401298464324817e-45), -1.401298464324817e-45, "sin(-min subnormal)");
  same(cos32(0), 1, "cos(0)");
  same(cos32(-0), 1, "cos(-0)");
  same(f32(sin32(3.4028234663852886e38)), f32(Math.sin(3.4028234663852886e38)), "sin(max)");
});

Deno.test("tanh32, sigmoid32: special values", () => {
  same(tanh32(Infinity), 1, "tanh(Inf)");
  same(tanh32(-Infinity), -1, "tanh(-Inf)");
  same(tanh32(NaN), NaN, "tanh(NaN)");
  same(tanh32(0), 0, "tanh(0)");
  same(tanh32(-0), -0, "tanh(-0)");
  same(tanh32(1e-30), f32(1e-30), "tanh(1e-30)");
  same(tanh32(-1e-30), f32(-1e-30), "tanh(-1e-30)");
  same(tanh32(1000), 1, "tanh(1000)");
  same(tanh32(-1000), -1, "tanh(-1000)");
  same(sigmoid32(-Infinity), 0, "sigmoid(-Inf)");
  same(sigmoid32(Infinity), 1, "sigmoid(Inf)");
  same(sigmoid32(NaN), NaN, "sigmoid(NaN)");
  same(sigmoid32(0), 0.5, "sigmoid(0)");
  same(sigmoid32(-1000), 0, "sigmoid(-1000)");
  same(f32(sigmoid32(-95)), f32(sigmoid64(-95)), "sigmoid(-95)"); // subnormal float32
  assert.ok(f32(sigmoid32(-95)) > 0);
});

Deno.test("FASTMATH names every fast function", () => {
  assert.deepEqual(Object.keys(FASTMATH).sort(), [
    "cos32",
    "exp32",
    "lastCos32",
    "log32",
    "sigmoid32",
    "sin32",
    "sincos32",
    "tanh32",
  ]);
  for (const [name, fn] of Object.entries(FASTMATH)) assert.equal(fn.name, name);
});

// ---- through the dispatcher --------------------------------------------------

const REF: Partial<Record<ElementwiseOp, Fn>> = {
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: sigmoid64,
};

Deno.test("eager float32 kernels use fast math, float64 kernels Math.*", () => {
  for (const [op, ref] of Object.entries(REF) as [ElementwiseOp, Fn][]) {
    const fast = FASTMATH[`${op}32`];
    // inputs include one where the fast result differs from fround(Math.*)
    let differs = NaN;
    for (let i = 0; differs !== differs && i < 1_000_000; i++) {
      const x = Math.fround((hash(i) / 2 ** 32) * 20 - (op === "log" ? 0 : 10));
      if (f32(fast(x)) !== f32(ref(x))) differs = x;
    }
    assert.ok(differs === differs, `${op}: no input where fast math differs`);
    const xs = [differs, 0.5, 1.5, 2, 3, 7];
    const x32 = array([xs.slice(0, 3), xs.slice(3)], { dtype: "float32" });
    const expected = Float32Array.from(x32.data, fast);
    const got = dispatch(op, [x32]);
    assert.equal(got.dtype, "float32");
    assert.deepEqual(got.data, expected, `${op} float32 contiguous`);
    // a transposed (strided) operand takes the general loop
    const gotT = dispatch(op, [x32.transpose()]);
    assert.deepEqual(
      Array.from(gotT.data),
      [0, 3, 1, 4, 2, 5].map((i) => expected[i]),
      `${op} float32 strided`,
    );
    const x64 = array(xs, { dtype: "float64" });
    const got64 = dispatch(op, [x64]);
    assert.equal(got64.dtype, "float64");
    assert.deepEqual(got64.data, Float64Array.from(xs, ref), `${op} float64`);
  }
});
