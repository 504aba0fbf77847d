/**
 * `utils`: DeZero's dezero/utils.py — numerical gradients and gradient
 * checks, `sumTo` on arrays, the computational graph as Graphviz DOT, and
 * the convolution sizes (`pair`, `getConvOutsize`, `getDeconvOutsize`).
 * @module
 */
import { NDArray, sumToArray } from "../core/array/ndarray.ts";
import { checkShape, type Shape } from "../core/array/shape_rules.ts";
import { show } from "../core/validate.ts";

// `export *` so that `deno doc` lists them in the namespace (it does not follow named re-exports)
export * from "../core/autograd/dot.ts";
export * from "../core/autograd/numerical.ts";
export * from "./conv_sizes.ts";

/**
 * `x` summed down to `shape` (DeZero's `utils.sum_to`): leading axes and
 * axes where `shape` has 1 are summed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, utils } from "@dezero/dezero-ts";
 * assert.equal(String(utils.sumTo(array([[1, 2, 3], [4, 5, 6]]), [1, 3])), "[[5 7 9]]");
 * ```
 */
export function sumTo(x: NDArray, shape: Shape): NDArray {
  if (!(x instanceof NDArray)) throw new TypeError(`sumTo: expected an NDArray, got ${show(x)}`);
  return sumToArray(x, checkShape(shape, "sumTo"));
}
