/**
 * DeZero's teaching versions (its `*_simple` functions): each built from
 * other F functions line by line as DeZero builds it, so autograd derives
 * the gradient. They compute what the optimized functions compute, up to
 * rounding (and `poolingSimple` gives a tied window's gradient to every
 * maximum, as `max` does), more slowly.
 * @module
 */
import { arange } from "../core/array/ndarray.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { softmax } from "./activation.ts";
import { add, clip, div, exp, log, mul, neg, pow, sub } from "./elementwise.ts";
import type { Pair } from "./conv_sizes.ts";
import { im2col } from "./im2col.ts";
import { convPatches, patches } from "./patches.ts";
import { getItem } from "./indexing.ts";
import { linear, matmul } from "./matmul.ts";
import { max, sum } from "./reduction.ts";
import { reshape, transpose } from "./shape.ts";

/**
 * conv2d as im2col, a reshaped kernel and `linear` (DeZero's
 * `conv2d_simple`): same arguments and result as `conv2d`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const [x, W] = [ones([1, 1, 3, 3]), ones([2, 1, 2, 2])];
 * assert.deepEqual(F.conv2dSimple(x, W).data.toArray(), F.conv2d(x, W).data.toArray());
 * ```
 */
export function conv2dSimple(
  x: VariableLike,
  W: VariableLike,
  b: VariableLike | null = null,
  stride: Pair = 1,
  pad: Pair = 0,
): Variable {
  const xv = asVariable(x, "conv2dSimple"), Wv = asVariable(W, "conv2dSimple");
  const { N, OH, OW, KH, KW } = convPatches("conv2dSimple", xv, Wv, b, stride, pad);
  const OC = Wv.shape[0];
  const col = im2col(xv, [KH, KW], stride, pad, true);
  const weight = transpose(reshape(Wv, [OC, -1]));
  const t = linear(col, weight, b);
  return transpose(reshape(t, [N, OH, OW, OC]), [0, 3, 1, 2]);
}

/**
 * Max pooling as im2col and `max` (DeZero's `pooling_simple`): same
 * arguments and values as `pooling`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * assert.deepEqual(F.poolingSimple(array([[[[1, 2], [4, 3]]]]), 2).data.toArray(), [[[[4]]]]);
 * ```
 */
export function poolingSimple(
  x: VariableLike,
  kernelSize: Pair,
  stride: Pair = 1,
  pad: Pair = 0,
): Variable {
  const v = asVariable(x, "poolingSimple");
  const { N, C, OH, OW, KH, KW } = patches("poolingSimple", v.shape, kernelSize, stride, pad);
  const col = reshape(im2col(v, kernelSize, stride, pad, true), [-1, KH * KW]);
  const y = max(col, 1);
  return transpose(reshape(y, [N, OH, OW, C]), [0, 3, 1, 2]);
}

/**
 * `x @ W + b` as a matmul and an add (DeZero's `linear_simple`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.deepEqual(F.linearSimple([[1, 2]], [[1], [1]], [10]).data.toArray(), [[13]]);
 * ```
 */
export function linearSimple(
  x: VariableLike,
  W: VariableLike,
  b: VariableLike | null = null,
): Variable {
  const t = matmul(asVariable(x, "linearSimple"), asVariable(W, "linearSimple"));
  return b === null ? t : add(t, asVariable(b, "linearSimple"));
}

/**
 * `1 / (1 + exp(-x))` from exp, neg, add and div (DeZero's
 * `sigmoid_simple`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.equal(F.sigmoidSimple(0).data.item(), 0.5);
 * ```
 */
export function sigmoidSimple(x: VariableLike): Variable {
  return div(1, add(1, exp(neg(asVariable(x, "sigmoidSimple")))));
}

/**
 * `exp(x) / sum(exp(x), axis)` without the max shift (DeZero's
 * `softmax_simple`): large scores overflow, as they do in DeZero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.deepEqual(F.softmaxSimple([[0, 0]]).data.toArray(), [[0.5, 0.5]]);
 * ```
 */
export function softmaxSimple(x: VariableLike, axis = 1): Variable {
  const y = exp(asVariable(x, "softmaxSimple"));
  return div(y, sum(y, axis, true));
}

/**
 * Softmax cross entropy from softmax, clip, log and getItem (DeZero's
 * `softmax_cross_entropy_simple`): `-sum(log p[i, t[i]]) / N` for scores `x`
 * `[N, C]` and int32 labels `t` `[N]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const t = array([0], { dtype: "int32" });
 * assert.equal(F.softmaxCrossEntropySimple([[0, 0]], t).data.item(), Math.LN2);
 * ```
 */
export function softmaxCrossEntropySimple(x: VariableLike, t: VariableLike): Variable {
  const xv = asVariable(x, "softmaxCrossEntropySimple");
  const tv = asVariable(t, "softmaxCrossEntropySimple");
  if (xv.ndim !== 2) {
    throw new RangeError(
      `softmaxCrossEntropySimple: scores must be [N, C], got shape ${fmtShape(xv.shape)}`,
    );
  }
  const N = xv.shape[0];
  const p = clip(softmax(xv), 1e-15, 1.0);
  const tlogp = getItem(log(p), [arange(N), tv.data]);
  return div(mul(-1, sum(tlogp)), N);
}

/**
 * `sum((x0 - x1) ** 2) / len(x0 - x1)` from sub, pow, sum and div (DeZero's
 * `mean_squared_error_simple`; it divides by the batch size too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.equal(F.meanSquaredErrorSimple([[1], [2]], [[0], [0]]).data.item(), 2.5); // (1 + 4) / 2
 * ```
 */
export function meanSquaredErrorSimple(x0: VariableLike, x1: VariableLike): Variable {
  const diff = sub(
    asVariable(x0, "meanSquaredErrorSimple"),
    asVariable(x1, "meanSquaredErrorSimple"),
  );
  return div(sum(pow(diff, 2)), diff.ndim ? diff.shape[0] : 1);
}
