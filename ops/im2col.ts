/**
 * im2col and col2im (DeZero's `Im2col`/`Col2im` and `im2col_array`), and the
 * patch geometry every convolution and pooling shares: sizes as DeZero's
 * `pair`, `get_conv_outsize` and `get_deconv_outsize` compute them, checked
 * once here. im2col is a gather of precomputed offsets (a `PAD` offset for
 * zero padding, so nothing reads out of bounds), repeated over the batch;
 * col2im is the scatter-add of the same offsets. Each is the other's
 * gradient.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { fmtShape, sameShape, type Shape } from "../core/array/shape_rules.ts";
import { PAD } from "../core/backend/mod.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";

/** A kernel size, stride or pad: one number for both axes, or `[h, w]`. */
export type Pair = number | readonly [number, number];

/**
 * `x` as an `[h, w]` pair (DeZero's `utils.pair`): a number is used for
 * both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "../mod.ts";
 * assert.deepEqual(utils.pair(3), [3, 3]);
 * assert.deepEqual(utils.pair([2, 1]), [2, 1]);
 * ```
 */
export function pair(x: Pair): [number, number] {
  if (typeof x === "number") return [x, x];
  if (Array.isArray(x) && x.length === 2) return [x[0], x[1]];
  throw new TypeError(`pair: expected a number or an [h, w] pair, got ${JSON.stringify(x)}`);
}

/**
 * The output length of a convolution along one axis (DeZero's
 * `get_conv_outsize`): `floor((inputSize + 2 pad - kernelSize) / stride) + 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "../mod.ts";
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
  return Math.floor((inputSize + pad * 2 - kernelSize) / stride) + 1;
}

/**
 * The output length of a transposed convolution along one axis (DeZero's
 * `get_deconv_outsize`): `stride (size - 1) + kernelSize - 2 pad`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utils } from "../mod.ts";
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
  return stride * (size - 1) + kernelSize - 2 * pad;
}

/** `value` as a checked pair of integers >= `min`, for the message of `op`. */
export function intPair(op: string, name: string, value: Pair, min: number): [number, number] {
  let p: [number, number];
  try {
    p = pair(value);
  } catch {
    throw new TypeError(`${op}: ${name} must be a number or an [h, w] pair, got ${String(value)}`);
  }
  if (!p.every((v) => Number.isInteger(v) && v >= min)) {
    const shown = typeof value === "number" ? value : `[${value}]`;
    throw new RangeError(`${op}: ${name} must be integers >= ${min}, got ${shown}`);
  }
  return p;
}

/**
 * Where a kernel slides over an `[N, C, H, W]` image: kernel `KH x KW`,
 * strides, pads and the output size `OH x OW`.
 */
export interface Patches {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  OH: number;
  OW: number;
}

/**
 * The patch geometry of a kernel over an image of `shape`, checked: a 4-D
 * shape, integer sizes, and a kernel that fits the padded image. Errors
 * name `op` and the shapes.
 */
export function patches(op: string, shape: Shape, kernel: Pair, stride: Pair, pad: Pair): Patches {
  if (
    !Array.isArray(shape) || shape.length !== 4 ||
    !shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new RangeError(
      `${op}: input must be 4-D [N, C, H, W], got shape ${JSON.stringify(shape)}`,
    );
  }
  const [N, C, H, W] = shape;
  const [KH, KW] = intPair(op, "kernelSize", kernel, 1);
  const [SH, SW] = intPair(op, "stride", stride, 1);
  const [PH, PW] = intPair(op, "pad", pad, 0);
  if (KH > H + 2 * PH || KW > W + 2 * PW) {
    throw new RangeError(
      `${op}: kernel ${KH}x${KW} is larger than the padded input ${H + 2 * PH}x${
        W + 2 * PW
      } (input ${fmtShape(shape)}, pad ${PH},${PW})`,
    );
  }
  const OH = getConvOutsize(H, KH, SH, PH), OW = getConvOutsize(W, KW, SW, PW);
  return { N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW };
}

/** The shape of im2col's result: `[N*OH*OW, C*KH*KW]`, or `[N, C, KH, KW, OH, OW]`. */
export function colShape(p: Patches, toMatrix: boolean): number[] {
  return toMatrix ? [p.N * p.OH * p.OW, p.C * p.KH * p.KW] : [p.N, p.C, p.KH, p.KW, p.OH, p.OW];
}

const offsetCache = new Map<string, NDArray>();
/** Most offsets the cache holds (64 MiB), least recently used dropped first. */
const CACHED_OFFSETS = 1 << 24;
let cachedOffsets = 0;

/**
 * One image's im2col offsets into its `C*H*W` elements, in the order of the
 * result's elements (`[OH, OW, C, KH, KW]` for a matrix, else `[C, KH, KW,
 * OH, OW]`), `PAD` in the padding. Cached by geometry (the recently used
 * ones): the arrays are constants, never written.
 */
function offsets(p: Patches, toMatrix: boolean): NDArray {
  const { C, H, W, KH, KW, SH, SW, PH, PW, OH, OW } = p;
  const key = [C, H, W, KH, KW, SH, SW, PH, PW, +toMatrix].join();
  let cached = offsetCache.get(key);
  if (cached !== undefined) {
    offsetCache.delete(key); // most recently used last
    offsetCache.set(key, cached);
    return cached;
  }
  const out = new Int32Array(C * KH * KW * OH * OW);
  // strides of (c, kh, kw, oh, ow) in the result
  const [sc, skh, skw, soh, sow] = toMatrix
    ? [KH * KW, KW, 1, OW * C * KH * KW, C * KH * KW]
    : [KH * KW * OH * OW, KW * OH * OW, OH * OW, OW, 1];
  for (let c = 0; c < C; c++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH + kh - PH;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * SW + kw - PW;
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            out[c * sc + kh * skh + kw * skw + oh * soh + ow * sow] = inside
              ? (c * H + ih) * W + iw
              : PAD;
          }
        }
      }
    }
  }
  cached = new NDArray(out);
  for (const [k, old] of offsetCache) {
    if (cachedOffsets + out.length <= CACHED_OFFSETS) break;
    offsetCache.delete(k);
    cachedOffsets -= old.size;
  }
  offsetCache.set(key, cached);
  cachedOffsets += out.length;
  return cached;
}

/** im2col on an array of the geometry `p`: a gather of each image's patches. */
export function im2colArray(x: NDArray, p: Patches, toMatrix: boolean): NDArray {
  return dispatch("gather", [x, offsets(p, toMatrix)], {
    shape: colShape(p, toMatrix),
    batch: p.N,
  });
}

/** col2im on an array: each patch element added back to its pixel, padding dropped. */
export function col2imArray(col: NDArray, p: Patches, toMatrix: boolean): NDArray {
  return dispatch("scatterAdd", [col, offsets(p, toMatrix)], {
    shape: [p.N, p.C, p.H, p.W],
    batch: p.N,
  });
}

/** The patches under a sliding kernel, as rows (DeZero's Im2col). */
export class Im2col extends Function {
  /**
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
 * import { array, F } from "../mod.ts";
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
  const v = asVariable(x);
  patches("im2col", v.shape, kernelSize, stride, pad);
  return new Im2col(kernelSize, stride, pad, toMatrix).apply(v);
}

/** Patches added back into an image (DeZero's Col2im). */
export class Col2im extends Function {
  /**
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
 * import { F, ones } from "../mod.ts";
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
  const v = asVariable(x);
  const p = patches("col2im", inputShape, kernelSize, stride, pad);
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
