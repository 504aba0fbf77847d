/**
 * Convolution sizes as DeZero's `utils` computes them: `pair`,
 * `get_conv_outsize` and `get_deconv_outsize` (the `utils` namespace).
 * @module
 */
import { checkInt, show } from "../core/validate.ts";

/** A kernel size, stride or pad: one number for both axes, or `[h, w]`. */
export type Pair = number | readonly [number, number];

/**
 * `x` as an `[h, w]` pair (DeZero's `utils.pair`): a number is used for
 * both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "@dezero/dezero-ts";
 * assert.deepEqual(utils.pair(3), [3, 3]);
 * assert.deepEqual(utils.pair([2, 1]), [2, 1]);
 * ```
 */
export function pair(x: Pair): [number, number] {
  if (typeof x === "number") return [x, x];
  if (Array.isArray(x) && x.length === 2) return [x[0], x[1]];
  throw new TypeError(`pair: expected a number or an [h, w] pair, got ${show(x)}`);
}

/**
 * The output length of a convolution along one axis (DeZero's
 * `get_conv_outsize`): `floor((inputSize + 2 pad - kernelSize) / stride) + 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "@dezero/dezero-ts";
 * assert.equal(utils.getConvOutsize(4, 3, 1, 1), 4); // a 3x3 kernel, pad 1: same size
 * assert.equal(utils.getConvOutsize(28, 2, 2, 0), 14);
 * ```
 */
export function getConvOutsize(
  inputSize: number,
  kernelSize: number,
  stride: number,
  pad: number,
): number {
  checkSizes("getConvOutsize", inputSize, kernelSize, stride, pad);
  return Math.floor((inputSize + pad * 2 - kernelSize) / stride) + 1;
}

/**
 * The output length of a transposed convolution along one axis (DeZero's
 * `get_deconv_outsize`): `stride (size - 1) + kernelSize - 2 pad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "@dezero/dezero-ts";
 * assert.equal(utils.getDeconvOutsize(4, 3, 1, 1), 4);
 * assert.equal(utils.getDeconvOutsize(7, 4, 2, 1), 14); // doubles the size
 * ```
 */
export function getDeconvOutsize(
  size: number,
  kernelSize: number,
  stride: number,
  pad: number,
): number {
  checkSizes("getDeconvOutsize", size, kernelSize, stride, pad);
  return stride * (size - 1) + kernelSize - 2 * pad;
}

/** Throws naming `op` unless the size and pad are integers >= 0 and the kernel and stride >= 1. */
function checkSizes(op: string, size: number, kernelSize: number, stride: number, pad: number) {
  checkInt(size, op, "the input size", 0);
  checkInt(kernelSize, op, "kernelSize", 1);
  checkInt(stride, op, "stride", 1);
  checkInt(pad, op, "pad", 0);
}
