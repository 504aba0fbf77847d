/**
 * Max and average pooling (DeZero's `pooling` and `average_pooling`), built
 * on im2col: each channel's patches become rows, max pooling picks each
 * row's first maximum by its argmax index (DeZero's `Pooling` keeps the same
 * indices for its backward), average pooling takes each row's mean. The
 * gradients follow from those functions: the picked elements' scatter, then
 * col2im.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { scoped } from "../core/hooks.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import type { Pair } from "./conv_sizes.ts";
import { im2col } from "./im2col.ts";
import { type Patches, patches } from "./patches.ts";
import { pickOffsets } from "./helpers.ts";
import { GetItem } from "./indexing.ts";
import { mean } from "./reduction.ts";
import { reshape } from "./shape.ts";

/** Every channel's patches as rows `[N*C*OH*OW, KH*KW]`, and their geometry. */
function channelPatches(
  op: string,
  x: VariableLike,
  kernelSize: Pair,
  stride: Pair,
  pad: Pair,
): { p: Patches; col: Variable } {
  const v = asVariable(x, op);
  const p = patches(op, v.shape, kernelSize, stride, pad);
  const one = reshape(v, [p.N * p.C, 1, p.H, p.W]);
  const col = im2col(one, [p.KH, p.KW], [p.SH, p.SW], [p.PH, p.PW], true);
  return { p, col };
}

/**
 * Max pooling of `x` `[N, C, H, W]` (DeZero's `pooling`): the maximum of
 * each `kernelSize` window, giving `[N, C, OH, OW]`. As DeZero's, the
 * padding holds zeros (PyTorch pads with -Infinity), and the gradient goes
 * to the first maximum of each window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const x = array([[[[1, 2], [4, 3]]]], { dtype: "float32" });
 * assert.deepEqual(F.pooling(x, 2).data.toArray(), [[[[4]]]]);
 * // zero padding, as DeZero's: windows of negatives that overlap it give 0
 * assert.deepEqual(F.pooling(x.neg(), 2, 1, 1).data.toArray(), [[[[0, 0, 0], [0, -1, 0], [0, 0, 0]]]]);
 * ```
 */
export function pooling(
  x: VariableLike,
  kernelSize: Pair,
  stride: Pair = 1,
  pad: Pair = 0,
): Variable {
  const { p, col } = channelPatches("pooling", x, kernelSize, stride, pad);
  const [rows, width] = col.shape;
  // the indices' kernels (no Function's) named for a JIT's source
  const first = scoped("pooling", null, () => {
    const a = dispatch("argmax", [col.data], { axis: 1 });
    return pickOffsets(a, width);
  });
  const y = new GetItem(first, [rows]).apply(col);
  return reshape(y, [p.N, p.C, p.OH, p.OW]);
}

/**
 * Average pooling of `x` `[N, C, H, W]` (DeZero's `average_pooling`): the
 * mean of each `kernelSize` window, padding zeros included, giving
 * `[N, C, OH, OW]`. Its gradient is right for non-square kernels too
 * (DeZero's backward swaps KH and KW and fails on them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const x = array([[[[1, 2], [4, 3]]]], { dtype: "float32" });
 * assert.deepEqual(F.averagePooling(x, 2).data.toArray(), [[[[2.5]]]]);
 * ```
 */
export function averagePooling(
  x: VariableLike,
  kernelSize: Pair,
  stride: Pair = 1,
  pad: Pair = 0,
): Variable {
  const { p, col } = channelPatches("averagePooling", x, kernelSize, stride, pad);
  return reshape(mean(col, 1), [p.N, p.C, p.OH, p.OW]);
}
