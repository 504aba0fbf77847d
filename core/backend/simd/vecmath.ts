/**
 * Vector forms of the float32 fast-math functions of core/backend/simd/fastmath.ts
 * (`exp32`, `log32`, `sin32`, `cos32`, `sincos32`, `tanh32`, `sigmoid32`):
 * WebAssembly SIMD kernels that run the scalar functions' operations in the
 * same order, so each result is bit-identical to the scalar function's:
 * float32 operations in f32x4 lanes (each group of four float64 operands
 * demoted to one f32x4, the results promoted back), four vectors
 * interleaved.
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
  F32X4,
  i32,
  I32X4,
  type LoopBuilder,
  op1,
  op2,
  SIMD_STEP32,
  simdLoop,
  type Vec,
  VEC_LENGTH,
  VEC_PAGES,
  type WasmFunction,
} from "./wasm.ts";

const { round: ROUND, exp: E, sincos: T, tanh: H, log: L } = FASTMATH_CONSTANTS;

const add4 = op2(F32X4.add), sub4 = op2(F32X4.sub), mul4 = op2(F32X4.mul), div4 = op2(F32X4.div);
const pmin4 = op2(F32X4.pmin), pmax4 = op2(F32X4.pmax), lt4 = op2(F32X4.lt), eq4 = op2(F32X4.eq);
const ge4 = op2(F32X4.ge), abs4 = op1(F32X4.abs), fromI32 = op1(F32X4.fromI32);
// integer and bit operations
const iadd = op2(I32X4.add), isub = op2(I32X4.sub), iand = op2(I32X4.and), ieq = op2(I32X4.eq);
const xor = op2(I32X4.xor), or = op2(I32X4.or);
/** `m ? a : b` per bit. */
const select =
  (a: Vec, b: Vec, m: Vec): Vec => (k) => [...a(k), ...b(k), ...m(k), ...I32X4.bitselect];
/** Each lane shifted by `bits` with shift instruction `op`. */
const shift =
  (op: number[]) => (a: Vec, bits: number): Vec => (k) => [...a(k), ...i32(bits), ...op];
const shl = shift(I32X4.shl), shrS = shift(I32X4.shrS);

/** `cs[0] + x (cs[1] + x (cs[2] + ...))`, as fastmath evaluates it. */
function poly(b: LoopBuilder, x: Vec, cs: readonly number[]): Vec {
  return cs.slice(0, -1).reduceRight(
    (acc: Vec, ck) => add4(b.c(ck), mul4(x, acc)),
    b.c(cs.at(-1)!),
  );
}

/**
 * `x + 1.5 2^23` for |x| < 2^22: rounds x to an integer n (ties to even),
 * which is this float32 minus 1.5 2^23, and its bits minus those of 1.5 2^23
 * as int32 (what `n | 0` is in fastmath; for NaN x the bits are a NaN's,
 * which the results ignore).
 */
const biased = (b: LoopBuilder, x: Vec): Vec => add4(x, b.c(ROUND));
/** The integer of a `biased` value as float32. */
const unbiased = (b: LoopBuilder, m: Vec): Vec => sub4(m, b.c(ROUND));
const ROUND_BITS = new Int32Array(new Float32Array([ROUND]).buffer)[0];
/** The integer of a `biased` value as int32. */
const unbiasedInt = (b: LoopBuilder, m: Vec): Vec => isub(m, b.ci(ROUND_BITS));

/** The float32 2^k of i32 lanes k in [-126, 127], built in the exponent bits. */
const pow2 = (b: LoopBuilder, k: Vec): Vec => shl(iadd(k, b.ci(127)), 23);

/**
 * exp32 of f32x4 `x`, as exp32 computes it; or (`upTo` <= 88) exp32 of
 * `min(x, upTo)` for x >= 0 or NaN: there 2^n is a float32 normal, so
 * exp32's two scalings by halves of it are exact and one does, and its
 * clamp from below is moot.
 */
function exp(b: LoopBuilder, x: Vec, upTo?: number): Vec {
  // Math.max(min, Math.min(max, x)): pmin/pmax with x first keep NaN and -0 alike
  const y = b.let(
    upTo === undefined ? pmax4(pmin4(x, b.c(E.max)), b.c(E.min)) : pmin4(x, b.c(upTo)),
  );
  const m = b.let(biased(b, mul4(y, b.c(E.log2e))));
  const n = b.let(unbiased(b, m));
  const r = b.let(sub4(sub4(y, mul4(n, b.c(E.ln2[0]))), mul4(n, b.c(E.ln2[1]))));
  const r2 = b.let(mul4(r, r));
  const [q0, q1, q2, q3, q4] = E.poly.map((c) => b.c(c));
  const q = add4(add4(q0, mul4(r, q1)), mul4(r2, add4(add4(q2, mul4(r, q3)), mul4(r2, q4))));
  const p = add4(b.c(1), add4(r, mul4(r2, q)));
  const k = b.let(unbiasedInt(b, m));
  if (upTo !== undefined) return mul4(p, pow2(b, k));
  const k1 = b.let(shrS(k, 1));
  return mul4(mul4(p, pow2(b, k1)), pow2(b, isub(k, k1)));
}

/**
 * log32 of `x` for normal positive lanes (a check sends anything else, 0,
 * negatives, subnormals, NaN, Infinity, to the scalar function): the
 * exponent `k` from the bits of each lane plus the carry, as log32 reads it.
 */
function log(b: LoopBuilder, x: Vec): Vec {
  b.check(iand(ge4(x, b.c(L.min)), lt4(x, b.c(Infinity))));
  const k = b.let(isub(shrS(iadd(x, b.ci(L.carry)), 23), b.ci(127)));
  const f = b.let(sub4(isub(x, shl(k, 23)), b.c(1)));
  const s = b.let(div4(f, add4(b.c(2), f)));
  const z = b.let(mul4(s, s));
  const r = mul4(z, poly(b, z, L.poly));
  const h = b.let(mul4(mul4(b.c(0.5), f), f));
  const dk = b.let(fromI32(k));
  const t = sub4(add4(mul4(s, add4(h, r)), mul4(dk, b.c(E.ln2[1]))), h);
  return add4(add4(t, f), mul4(dk, b.c(E.ln2[0])));
}

/** A kernel `(from, to, n)` storing `f(x)` of each element, in f32x4 lanes. */
const unaryKernel = (name: string, f: (b: LoopBuilder, x: Vec) => Vec) =>
  simdLoop(name, 2, (b) => b.store(1, 0, f(b, b.let(b.load(0, 0)))), true);

/** The sign bit of each lane. */
const SIGN = -0x80000000;

/**
 * Where tanh's `exp32(2a)` may stop: from exp32(19) = 1.8e8 on,
 * `1 - 2 / (exp32(2a) + 1)` rounds to 1 in float32.
 */
const TANH_EXP_MAX = 19;

/**
 * tanh32 of `a = |x|`: the polynomial where a < 0.625 (`H.small`), else
 * `1 - 2 / (exp32(2a) + 1)`, per lane; then x's sign bit.
 */
function tanh(b: LoopBuilder, x: Vec): Vec {
  const a = b.let(abs4(x));
  const z = b.let(mul4(a, a));
  const small = b.let(add4(a, mul4(mul4(a, z), poly(b, z, H.poly))));
  const e = exp(b, add4(a, a), TANH_EXP_MAX);
  const large = sub4(b.c(1), div4(b.c(2), add4(e, b.c(1))));
  return select(x, select(small, large, lt4(a, b.c(H.small))), b.ci(SIGN));
}

/** sigmoid32: `e = exp32(-|x|)`, `(x < 0 ? e : 1) / (1 + e)`. */
function sigmoid(b: LoopBuilder, x: Vec): Vec {
  const e = b.let(exp(b, or(x, b.ci(SIGN)))); // exp32(-|x|)
  return div4(select(e, b.c(1), lt4(x, b.c(0))), add4(b.c(1), e));
}

/**
 * `sin(from, to, n)`, `cos(...)` or `sincos(from, toSin, toCos, n)`:
 * returns 0 if an |x| is beyond the reduction's range (the caller then
 * takes the scalar functions, which fall back to `Math.sin`/`Math.cos`).
 */
function trigKernel(name: string, sin: boolean, cos: boolean): WasmFunction {
  return simdLoop(name, sin && cos ? 3 : 2, (b) => {
    const x = b.let(b.load(0, 0));
    b.check(lt4(abs4(x), b.c(T.limit)));
    const m = b.let(biased(b, mul4(x, b.c(T.scale))));
    const n = b.let(unbiased(b, m));
    const y = b.let(T.pio2.reduce((acc: Vec, p) => sub4(acc, mul4(n, b.c(p))), x));
    const z = b.let(mul4(y, y));
    const s = add4(y, mul4(mul4(y, z), poly(b, z, T.sin)));
    const sy = b.let(select(y, s, eq4(y, b.c(0)))); // sin(±0) = ±0
    const cz = poly(b, z, T.cos);
    const co = b.let(add4(b.c(1), sub4(mul4(mul4(z, z), cz), mul4(b.c(0.5), z))));
    const q = m; // the low bits of m's are n's (those of 1.5 2^23 are 0)
    const even = b.let(ieq(iand(q, b.ci(1)), b.ci(0)));
    // quadrant q: ±sin or ±cos of y by q & 1, negated where q & 2; cos is quadrant q + 1
    const sign = (q: Vec) => shl(iand(q, b.ci(2)), 30);
    if (sin) b.store(1, 0, xor(select(sy, co, even), sign(q)));
    if (cos) b.store(sin ? 2 : 1, 0, xor(select(co, sy, even), sign(iadd(q, b.ci(1)))));
  }, true);
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
 * addresses, `n` a multiple of SIMD_STEP32; 0 returned when an operand needs
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
/** First element of `VEC` free for operands (all of it: the kernels keep no tables there). */
export const VEC_BASE = 0;

/** The part of `n` the kernels take (a multiple of SIMD_STEP32); the rest runs scalar. */
const bulk = (n: number) => (K ? n - n % SIMD_STEP32 : 0);

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
