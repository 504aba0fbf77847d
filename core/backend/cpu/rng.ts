/**
 * The seeded generator behind `random`: numpy's legacy `RandomState` (MT19937), so
 * `random.seed(0); random.rand(...)` gives the very numbers
 * `np.random.seed(0); np.random.rand(...)` gives, on every machine.
 * @module
 */
import { checkInt } from "../../validate.ts";
import type { TypedArray } from "../../array/dtype.ts";

const N = 624;
const M = 397;
const mt = new Uint32Array(N);
let mti = N + 1;
let hasGauss = false;
let gauss = 0;

/** Reseeds the generator as `np.random.seed(s)` does (init_genrand). */
export function seed(s: number): void {
  checkInt(s, "random.seed", "seed", 0, 0xffffffff);
  mt[0] = s >>> 0;
  for (mti = 1; mti < N; mti++) {
    const prev = mt[mti - 1] ^ (mt[mti - 1] >>> 30);
    mt[mti] = (Math.imul(1812433253, prev) + mti) >>> 0;
  }
  hasGauss = false;
}

/** Next raw 32-bit output of MT19937. */
export function nextU32(): number {
  if (mti >= N) {
    if (mti === N + 1) seed(5489);
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    mti = 0;
  }
  let y = mt[mti++];
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y >>> 0;
}

/** A double in [0, 1) with 53 random bits (numpy's random_sample). */
export function nextDouble(): number {
  const a = nextU32() >>> 5, b = nextU32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** A standard normal draw (numpy's legacy polar Box-Muller, cached pair). */
export function nextGauss(): number {
  if (hasGauss) {
    hasGauss = false;
    return gauss;
  }
  let x1: number, x2: number, r2: number;
  do {
    x1 = 2 * nextDouble() - 1;
    x2 = 2 * nextDouble() - 1;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1 || r2 === 0);
  const f = Math.sqrt(-2 * Math.log(r2) / r2);
  gauss = f * x1;
  hasGauss = true;
  return f * x2;
}

/** A uniform integer in [0, max] by masked rejection (numpy's legacy interval). */
export function nextInterval(max: number): number {
  if (max === 0) return 0;
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  let v: number;
  while ((v = (nextU32() & mask) >>> 0) > max);
  return v;
}

/** The generator's whole state: MT19937's words and position, and the cached normal draw. */
export interface RngState {
  /** The 624 state words. */
  mt: number[];
  /** The position in them (625: never seeded). */
  mti: number;
  /** The second normal of the last Box-Muller pair, when unused (else null). */
  gauss: number | null;
}

/** A copy of the generator's state (an exported module starts from it). */
export function rngState(): RngState {
  return { mt: Array.from(mt), mti, gauss: hasGauss ? gauss : null };
}

/** Restores a state from `rngState`, so the draws continue as they would have from it. */
export function setRngState(s: RngState): void {
  mt.set(s.mt);
  mti = s.mti;
  hasGauss = s.gauss !== null;
  gauss = s.gauss ?? 0;
}

/** Fills `out` with uniform [0,1) or standard normal draws. */
export function draw(kind: "uniform" | "normal", out: TypedArray): void {
  const next = kind === "normal" ? nextGauss : nextDouble;
  for (let i = 0; i < out.length; i++) out[i] = next();
}
