/**
 * Fast float32 transcendentals for the generated loops.
 *
 * Each function takes and returns a float64 JS number but works on float32
 * values: the argument is rounded to float32 first and the result is a
 * float32 value within 2 float32 ulp of the correctly rounded float32 of the
 * float64 `Math.*` value (`exp32`, `tanh32`, `log32` within 1), with IEEE
 * handling of NaN, ±Infinity and -0. They use range reduction and short
 * minimax polynomials (Lawson/Remez fits for relative error, fitted with
 * numpy and rounded to float32).
 *
 * They compute in float32 arithmetic: every operation is written `f32(a op b)`, which equals
 * the float32 operation exactly (float64 has more than twice float32's
 * precision), in the order of their f32x4 vector kernels in
 * core/backend/simd/vecmath.ts (no fused multiply-add, float32 constants,
 * the same integer and rounding steps), so the scalar function and the
 * kernel give bit-identical results.
 *
 * They are small, monomorphic and allocation-free so that TurboFan inlines
 * them into the generated kernels: the op registry names them in
 * `ElementwiseSpec.expr32` (e.g. `exp32(a)`) and code generators bind
 * `FASTMATH` as closure constants of the compiled loop. float64 results keep
 * using `Math.*`.
 * @module
 */

const LN2 = Math.LN2;
const f32 = Math.fround;
/** `f32(f32(v + ROUND) - ROUND)` is float32 v (|v| < 2^22) rounded to an integer, ties to even. */
const ROUND = 12582912; // 1.5 * 2^23

// exp: x = n ln2 + r, |r| <= ln2/2 (slightly more where x * log2(e) rounds
// up), exp(x) = 2^n exp(r); n ln2 in two float32 parts, the first with 9
// significant bits so that n * LN2_HI is exact for |n| <= 150. x is clamped
// to [-104, 89] (Math.min/max keep NaN), beyond which float32 exp is 0 or
// Infinity, and 2^n is applied as 2^(n >> 1) * 2^(n - (n >> 1)), two
// float32 normals, so results underflow through the subnormals and overflow
// to Infinity rounded once, as float32 does.
const EXP_MIN = -104, EXP_MAX = 89;
const LOG2E = f32(Math.LOG2E);
const LN2_HI = 0.693359375; // 355 / 512
const LN2_LO = f32(LN2 - LN2_HI);
// q(r) = (exp(r) - 1 - r) / r², minimax for relative error of exp(r) over
// |r| <= 1.02 ln2/2 by Lawson's iteration (numpy), rounded to float32: 4e-9
const EXP_POLY = [
  0.4999999403953552,
  0.16666509211063385,
  0.04166852682828903,
  0.008370121009647846,
  0.0013811592943966389,
].map(f32);
const [Q0, Q1, Q2, Q3, Q4] = EXP_POLY;
const POW2_HALF_OFF = 75; // 2^j at j + 75, j in [-75, 64]: the halves of 2^n, |n| <= 150
const POW2_HALF = Float64Array.from({ length: 140 }, (_, i) => 2 ** (i - POW2_HALF_OFF));

/**
 * `exp(x)` in float32 arithmetic: `n = round(x log2(e))`, `r = x - n ln2`,
 * `exp(x) = 2^n (1 + (r + r² q(r)))`, `q` a degree-4 polynomial in
 * Estrin's form (`(Q0 + r Q1) + r² ((Q2 + r Q3) + r² Q4)`: half Horner's
 * chain of dependent roundings, which is what a scalar call waits on). Each
 * operation is a float32 one (`fround` of the float64 result, which is the
 * float32 result exactly), in the order of the vector kernel (vecmath.ts),
 * whose results it equals bit for bit. Rounding to nearest integer is by
 * adding and subtracting 1.5 * 2^23.
 */
export function exp32(x: number): number {
  const y = Math.max(EXP_MIN, Math.min(EXP_MAX, f32(x)));
  const n = f32(f32(f32(y * LOG2E) + ROUND) - ROUND);
  const r = f32(f32(y - f32(n * LN2_HI)) - f32(n * LN2_LO));
  const r2 = f32(r * r);
  const q = f32(f32(Q0 + f32(r * Q1)) + f32(r2 * f32(f32(Q2 + f32(r * Q3)) + f32(r2 * Q4))));
  const p = f32(1 + f32(r + f32(r2 * q)));
  const k = n | 0, k1 = k >> 1; // the kernel: n's int32 from the bits of n + 1.5 2^23
  return f32(f32(p * POW2_HALF[k1 + POW2_HALF_OFF]) * POW2_HALF[k - k1 + POW2_HALF_OFF]);
}

// log: x = 2^k m, m in [√½, √2), from the float32 bits of x (read through a
// shared scratch buffer, no allocation): adding the bits of 1 minus those of
// √½ carries into the exponent field when m >= √2.
const LOG_F32 = new Float32Array(1);
const LOG_BITS = new Int32Array(LOG_F32.buffer);
const LOG_CARRY = 0x3f800000 - 0x3f3504f3;
const MIN_NORMAL = 2 ** -126; // smallest normal float32
// R(z) = z r(z) = (2 atanh(s) - 2s) / s, z = s²: minimax for relative error
// of 2 atanh(s) over |s| <= 1.01 (√2 - 1) / (√2 + 1) by Lawson's iteration
// (numpy), rounded to float32: 9e-10
const LOG_POLY = [0.6666678190231323, 0.3997665047645569, 0.2989770770072937].map(f32);
const [G0, G1, G2] = LOG_POLY;

/** log32 outside the normal float32 range: 0, negatives, Inf, NaN, subnormals. */
function logSpecial(x: number): number {
  if (x === 0) return -Infinity;
  if (!(x > 0)) return NaN;
  if (x === Infinity) return x;
  return logNormal(x * 8388608, -23); // subnormal float32: scaled by 2^23 (exact)
}

/**
 * `log(x)` in float32 arithmetic (as `exp32`), as in fdlibm's logf: with
 * `x = 2^k m`, `f = m - 1`, `s = f / (2 + f)`, `z = s²`,
 * `log(x) = k ln2 + f - (f²/2 - s (f²/2 + z r(z)))`, `r` a degree-2 minimax
 * polynomial; `k ln2` in exp32's two parts.
 */
export function log32(x: number): number {
  x = f32(x);
  if (!(x >= MIN_NORMAL && x < Infinity)) return logSpecial(x);
  return logNormal(x, 0);
}

/** log32 of a normal float32 `x`, plus `k0` ln2. */
function logNormal(x: number, k0: number): number {
  LOG_F32[0] = x;
  const bits = LOG_BITS[0];
  const e = ((bits + LOG_CARRY) >> 23) - 127;
  LOG_BITS[0] = bits - (e << 23);
  const f = f32(LOG_F32[0] - 1);
  const s = f32(f / f32(2 + f));
  const z = f32(s * s);
  const r = f32(z * f32(G0 + f32(z * f32(G1 + f32(z * G2)))));
  const h = f32(f32(0.5 * f) * f);
  const k = e + k0;
  const t = f32(f32(f32(s * f32(h + r)) + f32(k * LN2_LO)) - h);
  return f32(f32(t + f) + f32(k * LN2_HI));
}

// sin/cos: x = n π/2 + y, |y| <= π/4 (a little more where x 2/π rounds
// up), by Cody-Waite in float32 with π/2 in four float32 parts, the first
// three of 8-9 significant bits so that n times each is exact for
// |n| < 2^15. Sweeping every float32 x within 12 ulp of each n π/2 and a
// sample of the rest (numpy, float32 arithmetic) keeps sin/cos within 2 ulp
// below 2^15 and finds up to 12 ulp by 2^16: the limit is 2^15.
const TWO_OVER_PI = f32(2 / Math.PI);
const PIO2 = [
  1.5703125, // 201 / 128
  0.00048351287841796875, // 507 / 2^20
  3.1385570764541626e-07, // 337 / 2^30
  6.07710062827671e-11, // float32 nearest the rest of π/2
];
const [P1, P2, P3, P4] = PIO2;
/** Largest |x| reduced here; beyond, `Math.sin`/`Math.cos` (slower, exact reduction). */
export const SINCOS_LIMIT = 32768; // 2^15
// sin(y) = y + y z s(z), cos(y) = 1 + (z² c(z) - z/2), z = y²: minimax for
// relative error over |y| <= 1.01 π/4 by Lawson's iteration (numpy),
// rounded to float32: 4e-9 and 1.3e-10
const SIN_POLY = [-0.16666653752326965, 0.008332113735377789, -0.00019508831610437483].map(f32);
const COS_POLY = [0.04166664555668831, -0.0013887252425774932, 2.4425746232736856e-05].map(f32);
const [S0, S1, S2] = SIN_POLY;
const [C0, C1, C2] = COS_POLY;
const SC = new Float64Array(2); // [sin(y), cos(y)], selected by the quadrant

/**
 * `sin(x)` in float32 arithmetic (as `exp32`): with `x = n π/2 + y`,
 * `±sin(y)` or `±cos(y)` by the quadrant `n mod 4` (minimax polynomials).
 * Within 2 ulp for float32 `|x| < 2^15` (SINCOS_LIMIT); `Math.sin` beyond
 * (rounded to float32, as the vector kernel's).
 */
export function sin32(x: number): number {
  x = f32(x);
  if (!(Math.abs(x) < SINCOS_LIMIT)) return f32(Math.sin(x));
  return quadrant(reduce(x));
}

/** `cos(x)` as `sin32` with the quadrant shifted by one: `cos(y)`, `-sin(y)`, `-cos(y)`, `sin(y)`. */
export function cos32(x: number): number {
  x = f32(x);
  if (!(Math.abs(x) < SINCOS_LIMIT)) return f32(Math.cos(x));
  return quadrant(reduce(x) + 1);
}

const LAST_COS = new Float64Array(1);

/**
 * `sin32(x)`, leaving `cos32(x)` for `lastCos32()`: one reduction and one
 * pair of polynomials for both (a fused loop that needs sin and cos of one
 * value, as sin's gradient does, calls this), bit-identical to the two.
 */
export function sincos32(x: number): number {
  x = f32(x);
  if (!(Math.abs(x) < SINCOS_LIMIT)) {
    LAST_COS[0] = f32(Math.cos(x));
    return f32(Math.sin(x));
  }
  const n = reduce(x);
  LAST_COS[0] = quadrant(n + 1);
  return quadrant(n);
}

/** The cosine computed by the latest `sincos32` call. */
export function lastCos32(): number {
  return LAST_COS[0];
}

/**
 * Cody-Waite reduction of float32 |x| < SINCOS_LIMIT to `y`: leaves
 * `[sin(y), cos(y)]` in SC and returns the quadrant `n` (an int32, NaN to 0).
 * sin(y) is `y` itself where y is ±0 (the sum would turn -0 into +0).
 */
function reduce(x: number): number {
  const n = f32(f32(f32(x * TWO_OVER_PI) + ROUND) - ROUND);
  const y = f32(f32(f32(f32(x - f32(n * P1)) - f32(n * P2)) - f32(n * P3)) - f32(n * P4));
  const z = f32(y * y);
  const s = f32(y + f32(f32(y * z) * f32(S0 + f32(z * f32(S1 + f32(z * S2))))));
  SC[0] = y === 0 ? y : s;
  const c = f32(C0 + f32(z * f32(C1 + f32(z * C2))));
  SC[1] = f32(1 + f32(f32(f32(z * z) * c) - f32(0.5 * z)));
  return n | 0;
}

/**
 * `sin(y + q π/2)` from SC: sin, cos, -sin, -cos by `q mod 4` (two's
 * complement bits), selected without branching (a branch on the quadrant
 * mispredicts on spread inputs: 2x slower there).
 */
function quadrant(q: number): number {
  return SC[q & 1] * (1 - (q & 2));
}

const TANH_SMALL = 0.625;
// t(z) = (tanh(x) - x) / x³, z = x²: minimax for relative error over
// |x| <= 1.01 * 0.625 by Lawson's iteration (numpy), rounded to float32: 5e-9
const TANH_POLY = [
  -0.33333277702331543,
  0.13331303000450134,
  -0.05372760444879532,
  0.02059810422360897,
  -0.005657739471644163,
].map(f32);
const [T0, T1, T2, T3, T4] = TANH_POLY;

/**
 * `tanh(x)` in float32 arithmetic (as `exp32`), from `a = |x|`:
 * `a + a z t(z)`, `z = a²`, for `a < 0.625` (minimax), else
 * `1 - 2 / (exp32(2a) + 1)` (1 at Infinity), with the sign of x (-0 stays).
 */
export function tanh32(x: number): number {
  x = f32(x);
  const a = Math.abs(x);
  let r;
  if (a < TANH_SMALL) {
    const z = f32(a * a);
    const t = f32(T0 + f32(z * f32(T1 + f32(z * f32(T2 + f32(z * f32(T3 + f32(z * T4))))))));
    r = f32(a + f32(f32(a * z) * t));
  } else {
    r = f32(1 - f32(2 / f32(exp32(f32(a + a)) + 1)));
  }
  return Math.sign(x) * r; // r >= 0: the kernel's copy of x's sign bit
}

/**
 * `sigmoid(x)` in float32 arithmetic, from `e = exp32(-|x|)`: `1 / (1 + e)`
 * for x >= 0, `e / (1 + e)` for x < 0 (no overflow of exp(-x): results
 * down to the float32 subnormals); 0 at -Infinity, 1 at Infinity.
 */
export function sigmoid32(x: number): number {
  x = f32(x);
  const e = exp32(-Math.abs(x));
  return f32((x < 0 ? e : 1) / f32(1 + e));
}

/**
 * The constants (float32 values) of `exp32`, `log32`, the sin/cos reduction and polynomials
 * and `tanh32`, for the vector kernels of core/backend/simd/vecmath.ts,
 * which run the same operations (each polynomial in the form its function states).
 */
export const FASTMATH_CONSTANTS = {
  round: ROUND,
  exp: {
    min: EXP_MIN,
    max: EXP_MAX,
    log2e: LOG2E,
    ln2: [LN2_HI, LN2_LO],
    poly: EXP_POLY,
  },
  sincos: { scale: TWO_OVER_PI, pio2: PIO2, limit: SINCOS_LIMIT, sin: SIN_POLY, cos: COS_POLY },
  tanh: { small: TANH_SMALL, poly: TANH_POLY },
  log: { min: MIN_NORMAL, carry: LOG_CARRY, poly: LOG_POLY },
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
