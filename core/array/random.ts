/**
 * The `random` namespace: numpy-compatible seeded draws (`seed`, `rand`,
 * `randn`, `randint`, `permutation`). Float draws run through the
 * dispatcher, so a jitted function draws fresh numbers on every replay.
 * @module
 */
import { dispatch } from "../dispatch.ts";
import { checkDType, type DType, INT32_MAX, INT32_MIN } from "./dtype.ts";
import { NDArray } from "./ndarray.ts";
import { nextInterval, seed } from "../backend/cpu/rng.ts";
import { checkShape, MAX_SIZE, sizeOf } from "./shape_rules.ts";
import { checkInt } from "../validate.ts";

export { seed };

function shapeOf(dims: (number | readonly number[])[], op: string): number[] {
  return checkShape(dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims, `random.${op}`);
}

/**
 * Uniform draws in [0, 1) of shape `dims` (float64), as `np.random.rand`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { random } = dz;
 * random.seed(0);
 * assert.equal(String(random.rand(3)), "[0.5488135  0.71518937 0.60276338]"); // numpy's numbers
 * assert.deepEqual(random.rand(2, 3).shape, [2, 3]);
 * ```
 */
export function rand(...dims: (number | readonly number[])[]): NDArray {
  return dispatch("random", [], {
    kind: "uniform",
    shape: shapeOf(dims, "rand"),
    dtype: "float64",
  });
}

/**
 * Standard normal draws of shape `dims` (float64), as `np.random.randn`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { random } = dz;
 * random.seed(0);
 * assert.equal(String(random.randn(3)), "[1.76405235 0.40015721 0.97873798]"); // numpy's numbers
 * ```
 */
export function randn(...dims: (number | readonly number[])[]): NDArray {
  return dispatch("random", [], {
    kind: "normal",
    shape: shapeOf(dims, "randn"),
    dtype: "float64",
  });
}

/**
 * Uniform draws of `dtype` (default float64) and `shape`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { random } = dz;
 * const u = random.uniform([2, 3], "float32");
 * assert.deepEqual([u.shape, u.dtype], [[2, 3], "float32"]);
 * assert.ok(Array.from(u.data).every((v) => v >= 0 && v < 1));
 * ```
 */
export function uniform(shape: readonly number[], dtype: DType = "float64"): NDArray {
  const s = checkShape(shape, "random.uniform");
  return dispatch("random", [], {
    kind: "uniform",
    shape: s,
    dtype: checkDType(dtype, "random.uniform"),
  });
}

/**
 * Integers in [low, high) of `shape` (int32), as `np.random.randint`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { random } = dz;
 * random.seed(0);
 * assert.equal(String(random.randint(0, 10, [5])), "[5 0 3 3 7]"); // numpy's numbers
 * ```
 */
export function randint(
  low: number,
  high: number,
  shape: number | readonly number[] = [],
): NDArray {
  checkInt(low, "random.randint", "low", INT32_MIN, INT32_MAX);
  checkInt(high, "random.randint", "high", INT32_MIN, INT32_MAX + 1);
  if (high <= low) {
    throw new RangeError(`random.randint: need low < high, got ${low}, ${high}`);
  }
  const s = checkShape(shape, "random.randint", true);
  const out = new Int32Array(sizeOf(s));
  for (let i = 0; i < out.length; i++) out[i] = low + nextInterval(high - low - 1);
  return new NDArray(out, s);
}

/**
 * A random permutation of `0..n-1` (int32), as `np.random.permutation(n)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { random } = dz;
 * random.seed(0);
 * assert.equal(String(random.permutation(5)), "[2 0 1 3 4]"); // numpy's numbers
 * ```
 */
export function permutation(n: number): NDArray {
  checkInt(n, "random.permutation", "n", 0, MAX_SIZE);
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
