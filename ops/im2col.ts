/**
 * im2col and col2im (DeZero's `Im2col`/`Col2im`): the patches under a
 * sliding kernel as rows, and back. Each is the other's gradient (the
 * geometry and the array loops are in patches.ts).
 * @module
 */
import { checkBool } from "../core/validate.ts";
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { fmtShape, sameShape, type Shape } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import type { Pair } from "./conv_sizes.ts";
import { col2imArray, colShape, im2colArray, patches } from "./patches.ts";

/**
 * The patches under a sliding kernel, as rows (DeZero's Im2col).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const x = array([[[[1, 2], [3, 4]]]], { dtype: "float64" });
 * const y = new F.Im2col([2, 2], [1, 1], [0, 0], true).apply(x);
 * assert.deepEqual(y.data.toArray(), [[1, 2, 3, 4]]);
 * assert.ok(F.im2col(x, 2).creator instanceof F.Im2col);
 * ```
 */
export class Im2col extends Function {
  /**
   * The function's static arguments.
   * @param kernelSize kernel size
   * @param stride stride
   * @param pad zero padding
   * @param toMatrix whether the result is a matrix
   */
  constructor(
    readonly kernelSize: Pair,
    readonly stride: Pair,
    readonly pad: Pair,
    readonly toMatrix: boolean,
  ) {
    super();
  }
  /** The gathered patches. */
  forward(x: NDArray): NDArray {
    return im2colArray(
      x,
      patches("im2col", x.shape, this.kernelSize, this.stride, this.pad),
      this.toMatrix,
    );
  }
  /** col2im of the gradient. */
  backward(gy: Variable): Variable {
    const { kernelSize, stride, pad, toMatrix } = this;
    return col2im(gy, this.inputs[0].shape, kernelSize, stride, pad, toMatrix);
  }
}

/**
 * The patches of an `[N, C, H, W]` image under a `kernelSize` kernel
 * (zero padded by `pad`, moved by `stride`): `[N*OH*OW, C*KH*KW]` with
 * `toMatrix`, else `[N, C, KH, KW, OH, OW]` (DeZero's `im2col`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const x = array([[[[1, 2], [3, 4]]]]); // [1, 1, 2, 2]
 * assert.deepEqual(F.im2col(x, 2).data.toArray(), [[1, 2, 3, 4]]); // one patch of 4
 * assert.deepEqual(F.im2col(x, 2, 1, 1).shape, [9, 4]); // zero padded: 3x3 patches
 * ```
 */
export function im2col(
  x: VariableLike,
  kernelSize: Pair,
  stride: Pair = 1,
  pad: Pair = 0,
  toMatrix = true,
): Variable {
  const v = asVariable(x, "im2col");
  patches("im2col", v.shape, kernelSize, stride, pad);
  checkBool(toMatrix, "im2col", "toMatrix");
  return new Im2col(kernelSize, stride, pad, toMatrix).apply(v);
}

/**
 * Patches added back into an image (DeZero's Col2im).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F } from "@dezero/dezero-ts";
 * const col = array([[1, 2, 3, 4]], { dtype: "float64" });
 * const y = F.col2im(col, [1, 1, 2, 2], 2);
 * assert.ok(y.creator instanceof F.Col2im);
 * assert.deepEqual(y.data.toArray(), [[[[1, 2], [3, 4]]]]);
 * ```
 */
export class Col2im extends Function {
  /**
   * The function's static arguments.
   * @param inputShape the image shape `[N, C, H, W]`
   * @param kernelSize kernel size
   * @param stride stride
   * @param pad zero padding
   * @param toMatrix whether the patches are a matrix
   */
  constructor(
    readonly inputShape: number[],
    readonly kernelSize: Pair,
    readonly stride: Pair,
    readonly pad: Pair,
    readonly toMatrix: boolean,
  ) {
    super();
  }
  /** The scatter-add of the patches. */
  forward(col: NDArray): NDArray {
    const { inputShape, kernelSize, stride, pad, toMatrix } = this;
    return col2imArray(col, patches("col2im", inputShape, kernelSize, stride, pad), toMatrix);
  }
  /** im2col of the gradient. */
  backward(gy: Variable): Variable {
    return im2col(gy, this.kernelSize, this.stride, this.pad, this.toMatrix);
  }
}

/**
 * The image of shape `inputShape` whose pixels are the sums of their copies
 * in the patches `x` (as `im2col` lays them out); what falls in the padding
 * is dropped (DeZero's `col2im`, im2col's gradient).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const counts = F.col2im(ones([4, 4]), [1, 1, 3, 3], 2); // how many 2x2 patches hold each pixel
 * assert.deepEqual(counts.data.toArray(), [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]);
 * ```
 */
export function col2im(
  x: VariableLike,
  inputShape: Shape,
  kernelSize: Pair,
  stride: Pair = 1,
  pad: Pair = 0,
  toMatrix = true,
): Variable {
  const v = asVariable(x, "col2im");
  const p = patches("col2im", inputShape, kernelSize, stride, pad);
  checkBool(toMatrix, "col2im", "toMatrix");
  const want = colShape(p, toMatrix);
  if (!sameShape(v.shape, want)) {
    throw new RangeError(
      `col2im: patches of shape ${fmtShape(v.shape)} do not fit image ${
        fmtShape(inputShape)
      } (expected ${fmtShape(want)})`,
    );
  }
  return new Col2im([...inputShape], kernelSize, stride, pad, toMatrix).apply(v);
}
