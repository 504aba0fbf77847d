/**
 * The `random` namespace: numpy-compatible seeded draws (`seed`, `rand`,
 * `randn`, `randint`, `permutation`). Float draws run through the
 * dispatcher, so a jitted function draws fresh numbers on every replay.
 * @module
 */
import { dispatch } from "../dispatch.ts";
import type { DType } from "./dtype.ts";
import { NDArray } from "./ndarray.ts";
import { nextInterval, seed } from "../backend/cpu/rng.ts";
import { fmtShape, sizeOf } from "./shape_rules.ts";

export { seed };

function shapeOf(dims: (number | readonly number[])[], op: string): number[] {
  const s = dims.length === 1 && Array.isArray(dims[0]) ? [...dims[0]] : dims as number[];
  if (!s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`random.${op}: invalid shape ${fmtShape(s)}`);
  }
  return s;
}

/** Uniform draws in [0, 1) of shape `dims` (float64), as `np.random.rand`. */
export function rand(...dims: (number | readonly number[])[]): NDArray {
  return dispatch("random", [], {
    kind: "uniform",
    shape: shapeOf(dims, "rand"),
    dtype: "float64",
  });
}

/** Standard normal draws of shape `dims` (float64), as `np.random.randn`. */
export function randn(...dims: (number | readonly number[])[]): NDArray {
  return dispatch("random", [], {
    kind: "normal",
    shape: shapeOf(dims, "randn"),
    dtype: "float64",
  });
}

/** Uniform draws of `dtype` (default float64) and `shape`. */
export function uniform(shape: readonly number[], dtype: DType = "float64"): NDArray {
  return dispatch("random", [], { kind: "uniform", shape: shapeOf([shape], "uniform"), dtype });
}

/** Integers in [low, high) of `shape` (int32), as `np.random.randint`. */
export function randint(
  low: number,
  high: number,
  shape: number | readonly number[] = [],
): NDArray {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`random.randint: need integers low < high, got ${low}, ${high}`);
  }
  const s = shapeOf([typeof shape === "number" ? [shape] : shape], "randint");
  const out = new Int32Array(sizeOf(s));
  for (let i = 0; i < out.length; i++) out[i] = low + nextInterval(high - low - 1);
  return new NDArray(out, s);
}

/** A random permutation of `0..n-1` (int32), as `np.random.permutation(n)`. */
export function permutation(n: number): NDArray {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random.permutation: invalid n ${n}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = nextInterval(i);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return new NDArray(out, [n]);
}
