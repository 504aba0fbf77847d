/**
 * The patch geometry every convolution and pooling shares, checked once
 * here (sizes, strides, pads, channels, kernel shapes), and im2col / col2im
 * on arrays: a gather of precomputed offsets (a `PAD` offset for zero
 * padding, so nothing reads out of bounds), repeated over the batch, and
 * the scatter-add of the same offsets. Kept out of the `F` namespace.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { checkSize, fmtShape, MAX_SIZE, type Shape, sizeOf } from "../core/array/shape_rules.ts";
import { show } from "../core/validate.ts";
import { PAD } from "../core/backend/mod.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { getConvOutsize, type Pair } from "./conv_sizes.ts";

/** `value` as a checked pair of integers >= `min`, for the message of `op`. */
export function intPair(op: string, name: string, value: Pair, min: number): [number, number] {
  const p = typeof value === "number"
    ? [value, value]
    : Array.isArray(value) && value.length === 2
    ? value
    : null;
  if (p === null) {
    throw new TypeError(`${op}: ${name} must be a number or an [h, w] pair, got ${show(value)}`);
  }
  if (!p.every((v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= MAX_SIZE)) {
    throw new (p.every((v) => typeof v === "number") ? RangeError : TypeError)(
      `${op}: ${name} must be integers >= ${min}, got ${show(value)}`,
    );
  }
  return [p[0], p[1]];
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
    throw new RangeError(`${op}: input must be 4-D [N, C, H, W], got shape ${show(shape)}`);
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
  const p = { N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW };
  checkSize(shape, sizeOf(shape), op);
  checkSize(colShape(p, false), sizeOf(colShape(p, false)), op);
  return p;
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

/** Throws unless `W` is a 4-D kernel and `b` (if any) holds `outChannels` values. */
export function checkKernel(op: string, W: Variable, b: Variable | null, outAxis: 0 | 1): void {
  const layout = outAxis === 0 ? "[OC, C, KH, KW]" : "[C, OC, KH, KW]";
  if (W.ndim !== 4) {
    throw new RangeError(`${op}: W must be 4-D ${layout}, got shape ${fmtShape(W.shape)}`);
  }
  const OC = W.shape[outAxis];
  if (b !== null && (b.ndim !== 1 || b.shape[0] !== OC)) {
    throw new RangeError(
      `${op}: b must have shape [${OC}] for W ${fmtShape(W.shape)}, got ${fmtShape(b.shape)}`,
    );
  }
}

/** Throws unless `x` has the channels `W` expects (axis `inAxis` of W). */
export function checkChannels(op: string, x: Variable, W: Variable, inAxis: 0 | 1): void {
  if (x.shape[1] !== W.shape[inAxis]) {
    throw new RangeError(
      `${op}: x ${fmtShape(x.shape)} has ${x.shape[1]} channels but W ${
        fmtShape(W.shape)
      } expects ${W.shape[inAxis]}`,
    );
  }
}

/**
 * The geometry of the convolution of `x` by kernels `W` `[OC, C, KH, KW]`
 * (and bias `b` `[OC]`), every shape checked; errors name `op`.
 */
export function convPatches(
  op: string,
  x: Variable,
  W: Variable,
  b: VariableLike | null,
  stride: Pair,
  pad: Pair,
): Patches {
  checkKernel(op, W, b === null ? null : asVariable(b), 0);
  const p = patches(op, x.shape, [W.shape[2], W.shape[3]], stride, pad);
  checkChannels(op, x, W, 1);
  return p;
}
