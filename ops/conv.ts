/**
 * Convolutions, DeZero's `Conv2d`, `Deconv2d` and `Conv2DGradW`: each is an
 * im2col gather (or col2im scatter-add) and one matrix product through the
 * shared matmul kernel (the bias added in its store), so eager, the JIT and
 * a faster gemm all serve them alike. The gradients are each other:
 * conv2d's input gradient is a deconv2d, deconv2d's a conv2d, and both
 * kernels' gradients are a Conv2DGradW.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { getDeconvOutsize, type Pair } from "./conv_sizes.ts";
import {
  checkChannels,
  checkKernel,
  col2imArray,
  convPatches,
  im2colArray,
  intPair,
  type Patches,
  patches,
} from "./patches.ts";
import { sum } from "./reduction.ts";

/** `[N, C, H, W]` as the matrix `[N*H*W, C]` (a pixel per row). */
function rows(x: NDArray): NDArray {
  const [N, C, H, W] = x.shape;
  const t = dispatch("transpose", [x], { axes: [0, 2, 3, 1] });
  return dispatch("reshape", [t], { shape: [N * H * W, C] });
}

/** The matrix `[N*H*W, C]` as the image `[N, C, H, W]`. */
function image(y: NDArray, N: number, H: number, W: number): NDArray {
  const C = y.shape[1];
  const t = dispatch("reshape", [y], { shape: [N, H, W, C] });
  return dispatch("transpose", [t], { axes: [0, 3, 1, 2] });
}

/**
 * 2-D convolution (DeZero's Conv2d): im2col, then `col @ W^T + b`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const y = F.conv2d(ones([1, 1, 3, 3]), ones([2, 1, 2, 2]));
 * assert.ok(y.creator instanceof F.Conv2d);
 * assert.deepEqual(y.shape, [1, 2, 2, 2]);
 * ```
 */
export class Conv2d extends Function {
  /**
   * The function's static arguments.
   * @param stride stride
   * @param pad zero padding
   */
  constructor(readonly stride: Pair, readonly pad: Pair) {
    super();
  }
  /** `y[n, oc] = sum over c, kh, kw of x-patch * W[oc] (+ b[oc])`. */
  forward(x: NDArray, W: NDArray, b?: NDArray): NDArray {
    const [OC, , KH, KW] = W.shape;
    const p = patches("conv2d", x.shape, [KH, KW], this.stride, this.pad);
    const col = im2colArray(x, p, true);
    const W2 = dispatch("reshape", [W], { shape: [OC, W.size / OC] });
    const y = dispatch("matmul", b === undefined ? [col, W2] : [col, W2, b], { transB: true });
    return image(y, p.N, p.OH, p.OW);
  }
  /**
   * gb: gy summed over all but the channels (first, so a JIT fuses the sum
   * into the loop that made gy); gx: deconv2d of gy; gW: Conv2DGradW.
   */
  backward(gy: Variable): (Variable | null)[] {
    const [x, W, b] = this.inputs;
    const gb = b === undefined ? null : sum(gy, [0, 2, 3]);
    const [, , H, Wd] = x.shape;
    const gx = deconv2d(gy, W, null, this.stride, this.pad, [H, Wd]);
    const gW = new Conv2DGradW([W.shape[2], W.shape[3]], this.stride, this.pad).apply(x, gy);
    return gb === null ? [gx, gW] : [gx, gW, gb];
  }
}

/**
 * 2-D convolution of `x` `[N, C, H, W]` with kernels `W` `[OC, C, KH, KW]`
 * plus `b` `[OC]` (DeZero's `conv2d`): the result is `[N, OC, OH, OW]` with
 * `OH = getConvOutsize(H, KH, stride, pad)`. Zero padding; `stride` and
 * `pad` are a number or `[h, w]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const y = F.conv2d(ones([1, 1, 3, 3]), ones([2, 1, 2, 2]), null, 1, 0);
 * assert.deepEqual(y.shape, [1, 2, 2, 2]);
 * assert.ok(Array.from(y.data.data).every((v) => v === 4)); // each sums a 2x2 window of ones
 * ```
 */
export function conv2d(
  x: VariableLike,
  W: VariableLike,
  b: VariableLike | null = null,
  stride: Pair = 1,
  pad: Pair = 0,
): Variable {
  const [xv, Wv] = [x, W].map((v) => asVariable(v, "conv2d"));
  const bv = b === null ? null : asVariable(b, "conv2d");
  convPatches("conv2d", xv, Wv, bv, stride, pad);
  const f = new Conv2d(stride, pad);
  return bv === null ? f.apply(xv, Wv) : f.apply(xv, Wv, bv);
}

/**
 * 2-D transposed convolution (DeZero's Deconv2d): each input pixel's
 * channels times W spread over a kernel-sized patch, the patches added up
 * by col2im.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const y = F.deconv2d(ones([1, 1, 2, 2]), ones([1, 1, 2, 2]));
 * assert.ok(y.creator instanceof F.Deconv2d);
 * assert.deepEqual(y.data.toArray(), [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]);
 * ```
 */
export class Deconv2d extends Function {
  /**
   * The function's static arguments.
   * @param stride stride
   * @param pad padding cut from the result
   * @param outsize the result's `[H, W]`
   */
  constructor(readonly stride: Pair, readonly pad: Pair, readonly outsize: [number, number]) {
    super();
  }
  /** `col2im(rows(x) @ W)`, plus b per output channel. */
  forward(x: NDArray, W: NDArray, b?: NDArray): NDArray {
    const [C, OC, KH, KW] = W.shape;
    const N = x.shape[0];
    const p = patches("deconv2d", [N, OC, ...this.outsize], [KH, KW], this.stride, this.pad);
    const W2 = dispatch("reshape", [W], { shape: [C, W.size / C] });
    const y = col2imArray(dispatch("matmul", [rows(x), W2]), p, true);
    if (b === undefined) return y;
    return dispatch("add", [y, dispatch("reshape", [b], { shape: [1, OC, 1, 1] })]);
  }
  /** gb: gy summed over all but the channels (first, as Conv2d's); gx: conv2d of gy; gW: Conv2DGradW. */
  backward(gy: Variable): (Variable | null)[] {
    const [x, W, b] = this.inputs;
    const gb = b === undefined ? null : sum(gy, [0, 2, 3]);
    const gx = conv2d(gy, W, null, this.stride, this.pad);
    const gW = new Conv2DGradW([W.shape[2], W.shape[3]], this.stride, this.pad).apply(gy, x);
    return gb === null ? [gx, gW] : [gx, gW, gb];
  }
}

/**
 * 2-D transposed convolution of `x` `[N, C, H, W]` with `W` `[C, OC, KH,
 * KW]` plus `b` `[OC]` (DeZero's `deconv2d`, conv2d's input gradient): the
 * result is `[N, OC, OH, OW]`, `OH = getDeconvOutsize(H, KH, stride, pad)`
 * unless `outsize` gives it (it must be a size whose conv2d is `H x W`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const y = F.deconv2d(ones([1, 1, 2, 2]), ones([1, 3, 2, 2]), null, 2, 0);
 * assert.deepEqual(y.shape, [1, 3, 4, 4]); // each pixel spread over its own 2x2 block
 * ```
 */
export function deconv2d(
  x: VariableLike,
  W: VariableLike,
  b: VariableLike | null = null,
  stride: Pair = 1,
  pad: Pair = 0,
  outsize: Pair | null = null,
): Variable {
  const [xv, Wv] = [x, W].map((v) => asVariable(v, "deconv2d"));
  const bv = b === null ? null : asVariable(b, "deconv2d");
  checkKernel("deconv2d", Wv, bv, 1);
  if (xv.ndim !== 4) {
    throw new RangeError(
      `deconv2d: input must be 4-D [N, C, H, W], got shape ${fmtShape(xv.shape)}`,
    );
  }
  checkChannels("deconv2d", xv, Wv, 0);
  const [, , H, Wd] = xv.shape, [, OC, KH, KW] = Wv.shape;
  const [SH, SW] = intPair("deconv2d", "stride", stride, 1);
  const [PH, PW] = intPair("deconv2d", "pad", pad, 0);
  const size: [number, number] = outsize === null
    ? [getDeconvOutsize(H, KH, SH, PH), getDeconvOutsize(Wd, KW, SW, PW)]
    : intPair("deconv2d", "outsize", outsize, 1);
  const setting = `kernel ${KH}x${KW}, stride ${SH},${SW}, pad ${PH},${PW}`;
  if (size[0] < 1 || size[1] < 1) {
    throw new RangeError(
      `deconv2d: input ${fmtShape(xv.shape)} gives an empty output ${size[0]}x${
        size[1]
      } (${setting})`,
    );
  }
  const p: Patches = patches("deconv2d", [xv.shape[0], OC, ...size], [KH, KW], stride, pad);
  if (p.OH !== H || p.OW !== Wd) {
    throw new RangeError(
      `deconv2d: an output of ${size[0]}x${size[1]} does not fit input ${
        fmtShape(xv.shape)
      } (${setting} give back ${p.OH}x${p.OW})`,
    );
  }
  const f = new Deconv2d(stride, pad, size);
  return bv === null ? f.apply(xv, Wv) : f.apply(xv, Wv, bv);
}

/**
 * The kernel gradient of a convolution (DeZero's Conv2DGradW): `gy^T @ im2col(x)`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones, Variable } from "@dezero/dezero-ts";
 * const W = new Variable(ones([1, 1, 2, 2]));
 * F.sum(F.conv2d(ones([1, 1, 3, 3]), W)).backward({ createGraph: true });
 * assert.ok(W.grad!.creator instanceof F.Conv2DGradW);
 * assert.deepEqual(W.grad!.data.toArray(), [[[[4, 4], [4, 4]]]]);
 * ```
 */
export class Conv2DGradW extends Function {
  /**
   * The function's static arguments.
   * @param kernelSize the kernel's `[KH, KW]`
   * @param stride stride
   * @param pad zero padding
   */
  constructor(
    readonly kernelSize: [number, number],
    readonly stride: Pair,
    readonly pad: Pair,
  ) {
    super();
  }
  /** `gW[oc, c, kh, kw] = sum over n, oh, ow of gy * x-patch`. */
  forward(x: NDArray, gy: NDArray): NDArray {
    const p = patches("conv2d", x.shape, this.kernelSize, this.stride, this.pad);
    const gW = dispatch("matmul", [rows(gy), im2colArray(x, p, true)], { transA: true });
    return dispatch("reshape", [gW], { shape: [gy.shape[1], p.C, p.KH, p.KW] });
  }
  /** Linear in both inputs: gx a deconv2d of gy, ggy a conv2d of x, each by the incoming gradient. */
  backward(ggW: Variable): Variable[] {
    const [x, gy] = this.inputs;
    const gx = deconv2d(gy, ggW, null, this.stride, this.pad, [x.shape[2], x.shape[3]]);
    return [gx, conv2d(x, ggW, null, this.stride, this.pad)];
  }
}
