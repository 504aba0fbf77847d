/**
 * Fast float32 transcendentals for the generated loops.
 *
 * Each function takes and returns a float64 JS number but is only accurate
 * enough for a float32 result: once the caller rounds it into a Float32Array
 * it is within 2 float32 ulp (in practice within 1) of the correctly rounded
 * float32 of the float64 `Math.*` value, for every float32 input, with IEEE
 * handling of NaN, ±Infinity and -0. They compute in float64 with range
 * reduction and short minimax polynomials (Remez fits for relative error,
 * each polynomial below 4e-9 relative error), which in V8 is 1.5-3.5x faster
 * than the `Math.*` builtins in a loop over a Float32Array.
 *
 * They are small, monomorphic and allocation-free so that TurboFan inlines
 * them into the generated kernels: the op registry names them in
 * `ElementwiseSpec.expr32` (e.g. `exp32(a)`) and code generators bind
 * `FASTMATH` as closure constants of the compiled loop. float64 results keep
 * using `Math.*`.
 * @module
 */

const LN2 = Math.LN2;

// exp: x = k ln2/8 + r, |r| <= ln2/16; exp(x) = 2^(k/8) * exp(r), with
// 2^(k/8) read from a table. x is clamped to [-110, 110] (Math.min/max keep
// NaN) instead of branching: V8 compiles a never-taken branch of an inlined
// helper into a deoptimization exit, which measured 2x slower per element.
// The table's ends (|x| > 109.6) hold 0 and Infinity, so ±Infinity and
// out-of-range inputs need no branch either.
const EXP_N = 8;
const EXP_MIN = -110, EXP_MAX = 110; // the clamp of x
const EXP_OFF = 1280; // table index of k = 0; |k| <= 110 * 8 / ln2 < 1271
const EXP_EDGE = 1265; // |k| from which the table holds 0 / Infinity
const EXP_SCALE = EXP_N / LN2;
const EXP_STEP = LN2 / EXP_N;
const EXP_TABLE = new Float64Array(2 * EXP_OFF + 1);
for (let i = 0; i < EXP_TABLE.length; i++) {
  const k = i - EXP_OFF;
  EXP_TABLE[i] = k <= -EXP_EDGE ? 0 : k >= EXP_EDGE ? Infinity : 2 ** (k / EXP_N);
}
const EXP_POLY = [
  1,
  0.9999999905174652,
  0.49999999209787904,
  0.16668654372567293,
  0.041676606017038764,
];
const [, E1, E2, E3, E4] = EXP_POLY;

/**
 * `exp(x)` as `2^(k/8) * p(r)`, `k = round(x * 8 / ln2)`, `r = x - k ln2/8`,
 * `p` a degree-4 minimax polynomial (relative error 8e-11). From 88.73 to
 * 109.6 the result is a finite float64 above the float32 range, which rounds
 * to Infinity when stored; beyond ±109.6 it is Infinity or 0 exactly.
 */
export function exp32(x: number): number {
  const y = Math.max(EXP_MIN, Math.min(EXP_MAX, x)); // NaN stays NaN (index 0, NaN result)
  const i = (y * EXP_SCALE + (EXP_OFF + 0.5)) | 0; // floor(v + 0.5) for v > 0
  const r = y - (i - EXP_OFF) * EXP_STEP;
  return EXP_TABLE[i] * (1 + r * (E1 + r * (E2 + r * (E3 + r * E4))));
}

// log: the float64 exponent is read through a shared scratch buffer (no
// allocation); the mantissa is scaled by an exact power of two from a table.
const SCRATCH = new Float64Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // high word index
const POW2_OFF = 1050;
const POW2_NEG = new Float64Array(2 * POW2_OFF); // 2^-k at k + POW2_OFF, k in [-1050, 1050)
for (let i = 0; i < POW2_NEG.length; i++) POW2_NEG[i] = 2 ** -(i - POW2_OFF);

const LOG_MIN = 2.2250738585072014e-308; // smallest normal float64
const LOG_CARRY = 0x95f62;
const LOG_POLY = [2, 0.6666677611888179, 0.3997756942794339, 0.29871071642249153];
const [, L1, L2, L3] = LOG_POLY;

/** log32 outside the normal float64 range: 0, negatives, Inf, NaN, subnormals. */
function logSpecial(x: number): number {
  if (x === 0) return -Infinity;
  if (!(x > 0)) return NaN;
  if (x === Infinity) return x;
  return log32(x * 18014398509481984) - 54 * LN2; // subnormal float64: scale by 2^54
}

/**
 * `log(x)` as `k ln2 + 2 atanh(s)`, with `x = 2^k m`, `m` in [√½, √2),
 * `s = (m - 1) / (m + 1)` and `2 atanh(s) = s (2 + z q(z))`, `z = s²`,
 * `q` a degree-2 minimax polynomial (relative error 8e-10).
 */
export function log32(x: number): number {
  if (!(x >= LOG_MIN && x < Infinity)) return logSpecial(x);
  SCRATCH[0] = x;
  // adding 1 - √½ to the mantissa bits carries into the exponent when m >= √2
  const k = ((SCRATCH_U32[HI] + LOG_CARRY) >>> 20) - 1023;
  const f = x * POW2_NEG[POW2_OFF + k] - 1;
  const s = f / (2 + f);
  const z = s * s;
  return k * LN2 + s * (2 + z * (L1 + z * (L2 + z * L3)));
}

// sin/cos: x = n π/2 + y, |y| <= π/4, by Cody-Waite with fdlibm's split of
// π/2 (33 + 53 bits): n π/2 is exact for n < 2^20, which covers |x| < 2^20.
const TWO_OVER_PI = 2 / Math.PI;
const PIO2_1 = 1.57079632673412561417e+00; // first 33 bits of π/2
const PIO2_1T = 6.07710050650619224932e-11; // π/2 - PIO2_1
const SINCOS_OFF = 4194304; // 2^22: keeps the rounding argument positive, a multiple of 4
/** Largest |x| reduced here; beyond, `Math.sin`/`Math.cos` (slower, exact reduction). */
export const SINCOS_LIMIT = 1048576; // 2^20
const SIN_POLY = [1, -0.16666654605910536, 0.00833216052675533, -0.00019515250638454235];
const COS_POLY = [
  1,
  -0.4999999969435035,
  0.04166662034293148,
  -0.0013886681198984013,
  2.438352501894499e-05,
];
const [, S1, S2, S3] = SIN_POLY;
const [, C1, C2, C3, C4] = COS_POLY;
const SC = new Float64Array(2); // [sin(y), cos(y)], selected by the quadrant
/**
 * `sin(x)`: with `x = n π/2 + y`, `±sin(y)` or `±cos(y)` by the quadrant
 * `n mod 4`, where `sin(y) = y (1 + z s(z))`, `cos(y) = 1 + z c(z)`,
 * `z = y²` (minimax, relative errors 4e-9 and 6e-11). Accurate for float32
 * `|x| < 2^20` (float64 inputs within 1e-12 of a multiple of π/2 lose
 * accuracy); `Math.sin` beyond.
 */
export function sin32(x: number): number {
  if (!(Math.abs(x) < SINCOS_LIMIT)) return Math.sin(x);
  return quadrant(reduce(x));
}

/** `cos(x)` as `sin32` with the quadrant shifted by one: `cos(y)`, `-sin(y)`, `-cos(y)`, `sin(y)`. */
export function cos32(x: number): number {
  if (!(Math.abs(x) < SINCOS_LIMIT)) return Math.cos(x);
  return quadrant(reduce(x) + 1);
}

const LAST_COS = new Float64Array(1);

/**
 * `sin32(x)`, leaving `cos32(x)` for `lastCos32()`: one reduction and one
 * pair of polynomials for both (a fused loop that needs sin and cos of one
 * value, as sin's gradient does, calls this), bit-identical to the two.
 */
export function sincos32(x: number): number {
  if (!(Math.abs(x) < SINCOS_LIMIT)) {
    LAST_COS[0] = Math.cos(x);
    return Math.sin(x);
  }
  const i = reduce(x);
  LAST_COS[0] = quadrant(i + 1);
  return quadrant(i);
}

/** The cosine computed by the latest `sincos32` call. */
export function lastCos32(): number {
  return LAST_COS[0];
}

/**
 * Cody-Waite reduction of |x| < SINCOS_LIMIT to `y` in [-pi/4, pi/4]:
 * leaves `[sin(y), cos(y)]` in SC and returns the quadrant index
 * `n + SINCOS_OFF` (a multiple of 4 apart from n, so its low bits are n's).
 */
function reduce(x: number): number {
  const i = (x * TWO_OVER_PI + (SINCOS_OFF + 0.5)) | 0;
  const n = i - SINCOS_OFF;
  const y = (x - n * PIO2_1) - n * PIO2_1T;
  const z = y * y;
  SC[0] = y * (1 + z * (S1 + z * (S2 + z * S3)));
  SC[1] = 1 + z * (C1 + z * (C2 + z * (C3 + z * C4)));
  return i;
}

/**
 * `sin(y + q pi/2)` from SC: sin, cos, -sin, -cos by `q mod 4`, selected
 * without branching (a branch on the quadrant mispredicts on spread inputs:
 * 2x slower there).
 */
function quadrant(q: number): number {
  return SC[q & 1] * (1 - (q & 2));
}

const TANH_SMALL = 0.3;
const TANH_POLY = [
  1,
  -0.33333329623104946,
  0.13332930991434294,
  -0.05383204591059735,
  0.02003383386933814,
];
const [, T1, T2, T3, T4] = TANH_POLY;

/**
 * `tanh(x)`: `x (1 + z t(z))`, `z = x²`, for `|x| < 0.3` (minimax, relative
 * error 1e-10; keeps -0 and avoids cancellation near 0), else
 * `1 - 2 / (exp32(2x) + 1)` (±1 at ±Infinity).
 */
export function tanh32(x: number): number {
  if (Math.abs(x) < TANH_SMALL) {
    const z = x * x;
    return x * (1 + z * (T1 + z * (T2 + z * (T3 + z * T4))));
  }
  return 1 - 2 / (exp32(2 * x) + 1);
}

/** `sigmoid(x) = 1 / (1 + exp32(-x))`: 0 at -Infinity, 1 at Infinity. */
export function sigmoid32(x: number): number {
  return 1 / (1 + exp32(-x));
}

/**
 * The constants of `exp32`, `log32`, the sin/cos reduction and polynomials and `tanh32`,
 * for the vector kernels of core/backend/simd/vecmath.ts, which run the same operations
 * (polynomials as `c0 + x (c1 + x (c2 + ...))`).
 */
export const FASTMATH_CONSTANTS = {
  exp: {
    min: EXP_MIN,
    max: EXP_MAX,
    scale: EXP_SCALE,
    offset: EXP_OFF,
    step: EXP_STEP,
    table: EXP_TABLE,
    poly: EXP_POLY,
  },
  sincos: {
    scale: TWO_OVER_PI,
    offset: SINCOS_OFF,
    pio2: [PIO2_1, PIO2_1T],
    limit: SINCOS_LIMIT,
    sin: SIN_POLY,
    cos: COS_POLY,
  },
  tanh: { small: TANH_SMALL, poly: TANH_POLY },
  log: { min: LOG_MIN, carry: LOG_CARRY, table: POW2_NEG, offset: POW2_OFF, poly: LOG_POLY },
} as const;

/**
 * The fast float32 functions by the name generated code calls them with
 * (`ElementwiseSpec.expr32`); a code generator binds these as closure
 * constants, e.g. `new Function(...Object.keys(FASTMATH), "return function ...")`.
 */
export const FASTMATH: Readonly<Record<string, (x: number) => number>> = Object.freeze({
  exp32,
  log32,
  sin32,
  cos32,
  sincos32,
  lastCos32,
  tanh32,
  sigmoid32,
});

/**
 * `a ** b` in numpy's int32 arithmetic: products wrap (squaring with
 * `Math.imul`), `0 ** 0` is 1, and a negative exponent is an error, as
 * numpy's "Integers to negative integer powers are not allowed". The
 * registry's int32 `pow` (`ElementwiseSpec.int`) calls it.
 */
export function ipow(a: number, b: number): number {
  if (b < 0) throw new RangeError("pow: integers to negative integer powers are not allowed");
  let r = 1;
  for (; b > 0; b >>>= 1) {
    if (b & 1) r = Math.imul(r, a);
    a = Math.imul(a, a);
  }
  return r;
}

// Type feedback for the rare branches (sin/cos beyond SINCOS_LIMIT, log of
// 0/negative/subnormal/Infinity, tanh near 0): V8 compiles a branch that has
// never run into a deoptimization exit, which slows the whole loop that
// inlines the function (measured 2x on exp before it became branchless), so
// each function runs once over the special values when the module loads.
for (const x of [NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0, 5e-324, 0.1, -0.1, 3, -3]) {
  for (const f of Object.values(FASTMATH)) f(x);
}
