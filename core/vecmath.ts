/**
 * Vector forms of `exp32`, `sin32`, `cos32` and `sincos32` (core/fastmath.ts)
 * for float32 loops: WebAssembly SIMD kernels that run the scalar
 * functions' float64 operations in the same order, two lanes at a time and
 * four vectors interleaved, so each result is bit-identical to the scalar
 * function's, about 3x faster.
 *
 * They work in place on the module's memory, seen from JS as the
 * Float64Array `VEC`: a caller writes operands into a region from
 * `VEC_BASE` on, calls e.g. `vexp(from, to, n)` (element offsets into
 * `VEC`) and reads the results, rounded to float32, back. Without
 * WebAssembly SIMD, the same calls loop over the scalar functions.
 * @module
 */
import {
  cos32,
  exp32,
  FASTMATH,
  FASTMATH_CONSTANTS,
  lastCos32,
  sin32,
  sincos32,
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
  type WasmFunction,
} from "./wasm.ts";

const { exp: E, sincos: T } = FASTMATH_CONSTANTS;

const add = op2(F64X2.add), sub = op2(F64X2.sub), mul = op2(F64X2.mul);
const pmin = op2(F64X2.pmin), pmax = op2(F64X2.pmax), lt = op2(F64X2.lt);
const iadd = op2(I32X4.add), isub = op2(I32X4.sub), iand = op2(I32X4.and), ieq = op2(I32X4.eq);
const abs = op1(F64X2.abs), fromI32 = op1(F64X2.fromI32), fround = op1(F64X2.fround);
const trunc = op1(I32X4.fromF64), widen = op1(I32X4.widenLow);
/** `m ? a : b` per lane. */
const select =
  (a: Vec, b: Vec, m: Vec): Vec => (k) => [...a(k), ...b(k), ...m(k), ...I32X4.bitselect];

/** `cs[0] + x (cs[1] + x (cs[2] + ...))`, as fastmath evaluates it. */
function poly(b: LoopBuilder, x: Vec, cs: readonly number[]): Vec {
  return cs.slice(0, -1).reduceRight((acc: Vec, ck) => add(b.c(ck), mul(x, acc)), b.c(cs.at(-1)!));
}

/** `exp(from, to, n)`: exp32 of each element, rounded to float32. */
const expKernel = simdLoop("exp", 2, (b) => {
  // Math.max(min, Math.min(max, x)): pmin/pmax with x first keep NaN and -0 alike
  const y = b.let(pmax(pmin(b.load(0, 0), b.c(E.max)), b.c(E.min)));
  const i = b.let(trunc(add(mul(y, b.c(E.scale)), b.c(E.offset + 0.5))));
  const r = b.let(sub(y, mul(fromI32(isub(i, b.ci(E.offset))), b.c(E.step))));
  // the table entry of each lane's index, as in exp32 (the table lies at address 0)
  const entry = (l: number) => (k: number) => [
    ...i(k),
    ...I32X4.extractLane(l),
    ...i32(3),
    ...I32_SHL,
    ...f64Load(0),
  ];
  const table: Vec = (k) => [...entry(0)(k), ...F64X2.splat, ...entry(1)(k), ...F64X2.replaceLane1];
  b.store(1, 0, fround(mul(table, poly(b, r, E.poly))));
});

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

const PAGES = 32;
const KERNELS = instantiate();

/** The kernels' exports, or null where WebAssembly SIMD is missing. */
function instantiate(): WebAssembly.Exports | null {
  const bytes = assemble(PAGES, [
    expKernel,
    trigKernel("sin", true, false),
    trigKernel("cos", false, true),
    trigKernel("sincos", true, true),
  ]);
  if (!WebAssembly.validate(bytes)) return null;
  return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
}

/** A compiled `simdLoop`: pointer arguments, then the element count. */
export type SimdFn = (...args: number[]) => number;
const K = KERNELS as Record<string, SimdFn> | null;
const MEMORY = KERNELS?.memory as WebAssembly.Memory | undefined;

/**
 * Compiles more `simdLoop` functions over `VEC`'s memory (a JIT's fused
 * arithmetic); null where WebAssembly SIMD is missing.
 */
export function compileLoops(functions: WasmFunction[]): Record<string, SimdFn> | null {
  if (!MEMORY) return null;
  const module = new WebAssembly.Module(assemble(PAGES, functions, true));
  return new WebAssembly.Instance(module, { m: { memory: MEMORY } }).exports as never;
}

/**
 * The vector functions' memory as float64 elements (a plain array where
 * WebAssembly SIMD is missing); operands and results live from `VEC_BASE` on.
 */
export const VEC: Float64Array = MEMORY
  ? new Float64Array(MEMORY.buffer)
  : new Float64Array(PAGES * 8192);
/** First element of `VEC` free for operands (the exp table lies below). */
export const VEC_BASE: number = E.table.length + 7 & ~7;
VEC.set(E.table);

/** The part of `n` the kernels take (a multiple of their step); the rest runs scalar. */
const bulk = (n: number) => (K ? n - n % SIMD_STEP : 0);

/** `VEC[to + j] = fround(exp32(VEC[from + j]))` for j < n. */
export function vexp(from: number, to: number, n: number): void {
  const m = bulk(n);
  if (m > 0) K!.exp(from * 8, to * 8, m);
  for (let j = m; j < n; j++) VEC[to + j] = Math.fround(exp32(VEC[from + j]));
}

/** `VEC[to + j] = fround(sin32(VEC[from + j]))` for j < n. */
export function vsin(from: number, to: number, n: number): void {
  let m = bulk(n);
  if (m > 0 && !K!.sin(from * 8, to * 8, m)) m = 0; // an |x| beyond the reduction's range
  for (let j = m; j < n; j++) VEC[to + j] = Math.fround(sin32(VEC[from + j]));
}

/** `VEC[to + j] = fround(cos32(VEC[from + j]))` for j < n. */
export function vcos(from: number, to: number, n: number): void {
  let m = bulk(n);
  if (m > 0 && !K!.cos(from * 8, to * 8, m)) m = 0;
  for (let j = m; j < n; j++) VEC[to + j] = Math.fround(cos32(VEC[from + j]));
}

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
 * vector ones and `VEC`. A code generator binds them as closure constants,
 * e.g. `new Function(...Object.keys(MATH_SCOPE), "return function ...")`.
 */
export const MATH_SCOPE: Readonly<Record<string, unknown>> = Object.freeze({
  ...FASTMATH,
  VEC,
  vexp,
  vsin,
  vcos,
  vsincos,
});
