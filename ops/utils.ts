/**
 * `utils`: DeZero's dezero/utils.py — numerical gradients and gradient
 * checks, `sumTo` on arrays, the computational graph as Graphviz DOT, and
 * the convolution sizes (`pair`, `getConvOutsize`, `getDeconvOutsize`).
 * @module
 */
import { type NDArray, sumToArray } from "../core/array/ndarray.ts";
import type { Shape } from "../core/array/shape_rules.ts";

export { type DotOptions, getDotGraph, plotDotGraph } from "../core/autograd/dot.ts";
export { getConvOutsize, getDeconvOutsize, type Pair, pair } from "./im2col.ts";
export {
  gradientCheck,
  type GradientCheckOptions,
  numericalGrad,
} from "../core/autograd/numerical.ts";

/**
 * `x` summed down to `shape` (DeZero's `utils.sum_to`): leading axes and
 * axes where `shape` has 1 are summed.
 *
 * @example
 * ```ts
 * import { array, utils } from "../mod.ts";
 * utils.sumTo(array([[1, 2, 3], [4, 5, 6]]), [1, 3]); // [[5 7 9]]
 * ```
 */
export function sumTo(x: NDArray, shape: Shape): NDArray {
  return sumToArray(x, shape);
}
