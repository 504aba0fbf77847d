/**
 * Vector forms of the float32 fast-math functions of core/backend/simd/fastmath.ts
 * (`exp32`, `log32`, `sin32`, `cos32`, `sincos32`, `tanh32`, `sigmoid32`):
 * WebAssembly SIMD kernels that run the scalar functions' float64
 * operations in the same order, two lanes at a time and four vectors
 * interleaved, so each result is bit-identical to the scalar function's,
 * 2-4x faster.
 *
 * They work in place on the module's memory, seen from JS as the
 * Float64Array `VEC`: a caller writes operands into a region from
 * `VEC_BASE` on, calls e.g. `vexp(from, to, n)` (element offsets into
 * `VEC`) and reads the results, rounded to float32, back. `VEC` holds
 * nothing between two calls of a kernel: whoever runs uses it. Without
 * WebAssembly SIMD, the same calls loop over the scalar functions.
 * @module
 */
import {
  cos32,
  exp32,
  FASTMATH,
  FASTMATH_CONSTANTS,
  ipow,
  lastCos32,
  log32,
  sigmoid32,
  sin32,
  sincos32,
  tanh32,
} from "./fastmath.ts";
import {
  assemble,
  f64Load,
  F64X2,
  i32,
  I32_SHL,
  I32X4,
  type LoopBuilder,
  op1,
  op2,
  SIMD_STEP,
  simdLoop,
  type Vec,
  VEC_LENGTH,
  VEC_PAGES,
  type WasmFunction,
} from "./wasm.ts";

const { exp: E, sincos: T, tanh: H, log: L } = FASTMATH_CONSTANTS;

const add = op2(F64X2.add), sub = op2(F64X2.sub), mul = op2(F64X2.mul), div = op2(F64X2.div);
const pmin = op2(F64X2.pmin), pmax = op2(F64X2.pmax), lt = op2(F64X2.lt), ge = op2(F64X2.ge);
const iadd = op2(I32X4.add), isub = op2(I32X4.sub), iand = op2(I32X4.and), ieq = op2(I32X4.eq);
const abs = op1(F64X2.abs), neg = op1(F64X2.neg), fround = op1(F64X2.fround);
const fromI32 = op1(F64X2.fromI32);
const trunc = op1(I32X4.fromF64), widen = op1(I32X4.widenLow);
/** i32 lanes 0 and 2 moved to lanes 0 and 1 (a shuffle of the vector with itself). */
const evenLanes = (a: Vec): Vec => (k) => [...a(k), ...a(k), ...I32X4.evenLanes];
/** `m ? a : b` per lane. */
const select =
  (a: Vec, b: Vec, m: Vec): Vec => (k) => [...a(k), ...b(k), ...m(k), ...I32X4.bitselect];

/** `cs[0] + x (cs[1] + x (cs[2] + ...))`, as fastmath evaluates it. */
function poly(b: LoopBuilder, x: Vec, cs: readonly number[]): Vec {
  return cs.slice(0, -1).reduceRight((acc: Vec, ck) => add(b.c(ck), mul(x, acc)), b.c(cs.at(-1)!));
}

/** i32 lanes shifted right (logical) by `bits`; `wide`: the two i64 lanes. */
const shr = (a: Vec, bits: number, wide = false): Vec => (k) => [
  ...a(k),
  ...i32(bits),
  ...(wide ? I32X4.shrU64 : I32X4.shrU),
];

/** The f64 table entries at element `at` + the indices in i32 lanes 0 and 1 of `i`. */
function lookup(i: Vec, at: number): Vec {
  const entry = (l: number) => (k: number) => [
    ...i(k),
    ...I32X4.extractLane(l),
    ...i32(3),
    ...I32_SHL,
    ...f64Load(at * 8),
  ];
  return (k) => [...entry(0)(k), ...F64X2.splat, ...entry(1)(k), ...F64X2.replaceLane1];
}

/** Where the tables the kernels read lie in memory (f64 elements). */
const EXP_TABLE_AT = 0, POW2_TABLE_AT = E.table.length;

/** exp32 of `x`, as exp32 computes it (before the float32 rounding). */
function exp(b: LoopBuilder, x: Vec): Vec {
  // Math.max(min, Math.min(max, x)): pmin/pmax with x first keep NaN and -0 alike
  const y = b.let(pmax(pmin(x, b.c(E.max)), b.c(E.min)));
  const i = b.let(trunc(add(mul(y, b.c(E.scale)), b.c(E.offset + 0.5))));
  const r = b.let(sub(y, mul(fromI32(isub(i, b.ci(E.offset))), b.c(E.step))));
  return mul(lookup(i, EXP_TABLE_AT), poly(b, r, E.poly));
}

/**
 * log32 of `x` for normal positive lanes (a check sends anything else, 0,
 * negatives, NaN, Infinity, to the scalar function): the exponent `k` from
 * the high word of each lane's bits plus the carry, as log32 reads it.
 */
function log(b: LoopBuilder, x: Vec): Vec {
  b.check(iand(ge(x, b.c(L.min)), lt(x, b.c(Infinity))));
  const hi = shr(x, 32, true); // each lane's high word, in i32 lanes 0 and 2
  const k = b.let(evenLanes(isub(shr(iadd(hi, b.ci(L.carry)), 20), b.ci(1023))));
  const f = b.let(sub(mul(x, lookup(iadd(k, b.ci(L.offset)), POW2_TABLE_AT)), b.c(1)));
  const s = b.let(div(f, add(b.c(2), f)));
  const z = b.let(mul(s, s));
  return add(mul(fromI32(k), b.c(Math.LN2)), mul(s, poly(b, z, L.poly)));
}

/** A kernel `(from, to, n)` storing `fround(f(x))` of each element. */
const unaryKernel = (name: string, f: (b: LoopBuilder, x: Vec) => Vec) =>
  simdLoop(name, 2, (b) => b.store(1, 0, fround(f(b, b.let(b.load(0, 0))))));

/** tanh32: the polynomial where |x| < 0.3 (`H.small`), else `1 - 2 / (exp32(2x) + 1)`, per lane. */
function tanh(b: LoopBuilder, x: Vec): Vec {
  const z = b.let(mul(x, x));
  const small = b.let(mul(x, poly(b, z, H.poly)));
  const large = sub(b.c(1), div(b.c(2), add(exp(b, mul(b.c(2), x)), b.c(1))));
  return select(small, large, lt(abs(x), b.c(H.small)));
}

/** sigmoid32: `1 / (1 + exp32(-x))`. */
const sigmoid = (b: LoopBuilder, x: Vec): Vec => div(b.c(1), add(b.c(1), exp(b, neg(x))));

/**
 * `sin(from, to, n)`, `cos(...)` or `sincos(from, toSin, toCos, n)`:
 * returns 0 if an |x| is beyond the reduction's range (the caller then
 * takes the scalar functions, which fall back to `Math.sin`/`Math.cos`).
 */
function trigKernel(name: string, sin: boolean, cos: boolean): WasmFunction {
  return simdLoop(name, sin && cos ? 3 : 2, (b) => {
    const x = b.let(b.load(0, 0));
    b.check(lt(abs(x), b.c(T.limit)));
    const i = b.let(trunc(add(mul(x, b.c(T.scale)), b.c(T.offset + 0.5))));
    const n = b.let(fromI32(isub(i, b.ci(T.offset))));
    const y = b.let(sub(sub(x, mul(n, b.c(T.pio2[0]))), mul(n, b.c(T.pio2[1]))));
    const z = b.let(mul(y, y));
    const s = b.let(mul(y, poly(b, z, T.sin)));
    const co = b.let(poly(b, z, T.cos));
    const even = b.let(widen(ieq(iand(i, b.ci(1)), b.ci(0))));
    // quadrant q: ±sin or ±cos of y by q & 1, sign 1 - (q & 2); cos is quadrant q + 1
    const sign = (q: Vec) => fromI32(isub(b.ci(1), iand(q, b.ci(2))));
    if (sin) b.store(1, 0, fround(mul(select(s, co, even), sign(i))));
    if (cos) b.store(sin ? 2 : 1, 0, fround(mul(select(co, s, even), sign(iadd(i, b.ci(1))))));
  });
}

const EXPORTS = instantiate();

/**
 * The kernels' exports, or null where WebAssembly SIMD is missing (or
 * WebAssembly itself, as in V8's jitless mode, or its memory cannot be had).
 */
function instantiate(): WebAssembly.Exports | null {
  if (typeof WebAssembly !== "object") return null;
  const bytes = assemble(VEC_PAGES, [
    unaryKernel("exp", exp),
    unaryKernel("log", log),
    unaryKernel("tanh", tanh),
    unaryKernel("sigmoid", sigmoid),
    trigKernel("sin", true, false),
    trigKernel("cos", false, true),
    trigKernel("sincos", true, true),
  ]);
  if (!WebAssembly.validate(bytes)) return null;
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  } catch {
    return null;
  }
}

/** A compiled `simdLoop`: pointer arguments, then the element count. */
export type SimdFn = (...args: number[]) => number;
/**
 * The WebAssembly kernels themselves by name (`exp(from, to, n)`, byte
 * addresses, `n` a multiple of SIMD_STEP; 0 returned when an operand needs
 * the scalar function), or null where WebAssembly SIMD is missing. The
 * `v...` functions wrap them; tests call them directly.
 */
export const WASM_KERNELS: Readonly<Record<string, SimdFn>> | null = EXPORTS as
  | Record<string, SimdFn>
  | null;
const K = WASM_KERNELS;
const MEMORY = EXPORTS?.memory as WebAssembly.Memory | undefined;

/**
 * The module of one `simdLoop` function over `VEC`'s memory (imported), as
 * bytes: a JIT's fused arithmetic, instantiated by `instantiateLoop`.
 */
export function loopModule(fn: WasmFunction): Uint8Array {
  return assemble(VEC_PAGES, [fn], true);
}

/**
 * The function of a `loopModule`, instantiated over `VEC`'s memory. Throws
 * where WebAssembly SIMD is missing (code generators check `VECTORIZED`).
 */
export function instantiateLoop(bytes: Uint8Array): SimdFn {
  if (!MEMORY) throw new Error("instantiateLoop: WebAssembly SIMD is not available");
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  return new WebAssembly.Instance(module, { m: { memory: MEMORY } }).exports.f as SimdFn;
}

/**
 * The vector functions' memory as float64 elements (a plain array where
 * WebAssembly SIMD is missing); operands and results live from `VEC_BASE` on.
 */
export const VEC: Float64Array = MEMORY
  ? new Float64Array(MEMORY.buffer)
  : new Float64Array(VEC_LENGTH);
/** First element of `VEC` free for operands (the tables lie below). */
export const VEC_BASE: number = POW2_TABLE_AT + L.table.length + 7 & ~7;
VEC.set(E.table, EXP_TABLE_AT);
VEC.set(L.table, POW2_TABLE_AT);

/** The part of `n` the kernels take (a multiple of their step); the rest runs scalar. */
const bulk = (n: number) => (K ? n - n % SIMD_STEP : 0);

/**
 * A vector function `(from, to, n)`: `VEC[to + j] = fround(f32(VEC[from + j]))`
 * for j < n, by `kernel` over whole SIMD steps and `f32` over the rest (and
 * over all of them when the kernel finds an operand beyond its range).
 */
function vectorized(kernel: string, f32: (x: number) => number) {
  const run = K?.[kernel];
  return (from: number, to: number, n: number): void => {
    let m = bulk(n);
    if (m > 0 && !run!(from * 8, to * 8, m)) m = 0;
    for (let j = m; j < n; j++) VEC[to + j] = Math.fround(f32(VEC[from + j]));
  };
}

/** `exp32` over `VEC[from...]` into `VEC[to...]` (see `vectorized`). */
export const vexp: (from: number, to: number, n: number) => void = vectorized("exp", exp32);
/** `log32` over `VEC[from...]` into `VEC[to...]`. */
export const vlog: (from: number, to: number, n: number) => void = vectorized("log", log32);
/** `sin32` over `VEC[from...]` into `VEC[to...]`. */
export const vsin: (from: number, to: number, n: number) => void = vectorized("sin", sin32);
/** `cos32` over `VEC[from...]` into `VEC[to...]`. */
export const vcos: (from: number, to: number, n: number) => void = vectorized("cos", cos32);
/** `tanh32` over `VEC[from...]` into `VEC[to...]`. */
export const vtanh: (from: number, to: number, n: number) => void = vectorized("tanh", tanh32);
/** `sigmoid32` over `VEC[from...]` into `VEC[to...]`. */
export const vsigmoid: (from: number, to: number, n: number) => void = vectorized(
  "sigmoid",
  sigmoid32,
);

/** `vsin(from, s, n)` and `vcos(from, c, n)` with one reduction. */
export function vsincos(from: number, s: number, c: number, n: number): void {
  let m = bulk(n);
  if (m > 0 && !K!.sincos(from * 8, s * 8, c * 8, m)) m = 0;
  for (let j = m; j < n; j++) {
    VEC[s + j] = Math.fround(sincos32(VEC[from + j]));
    VEC[c + j] = Math.fround(lastCos32());
  }
}

/** Whether the vector kernels run as WebAssembly SIMD here. */
export const VECTORIZED: boolean = K !== null;

/**
 * The names generated loops call: the scalar fast-math functions, the
 * int32 power, the vector ones and `VEC`. A code generator binds them as closure constants,
 * e.g. `new Function(...Object.keys(MATH_SCOPE), "return function ...")`.
 */
export const MATH_SCOPE: Readonly<Record<string, unknown>> = Object.freeze({
  ...FASTMATH,
  ipow,
  VEC,
  vexp,
  vlog,
  vsin,
  vcos,
  vsincos,
  vtanh,
  vsigmoid,
});
