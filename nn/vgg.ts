/**
 * VGG16 (DeZero's `dezero.models.VGG16`): thirteen 3x3 convolutions in five
 * max-pooled stages, then three fully connected layers, with DeZero's
 * parameter names (`conv1_1` ... `conv5_3`, `fc6` ... `fc8`), its lazy
 * sizes and its image preprocessing.
 * @module
 */
import { arrayCtor, checkDType, type DType } from "../core/array/dtype.ts";
import { array, NDArray, RAW } from "../core/array/ndarray.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import type { Variable } from "../core/autograd/variable.ts";
import { show } from "../core/validate.ts";
import { relu } from "../ops/elementwise.ts";
import { dropout } from "../ops/loss.ts";
import { pooling } from "../ops/pooling.ts";
import { reshape } from "../ops/shape.ts";
import * as L from "./layers.ts";
import { Model } from "./model.ts";
import {
  loadPretrained,
  type PretrainedOptions,
  pretrainedPath,
  withWeights,
} from "./pretrained.ts";

/** A 3x3 convolution with stride 1 and pad 1, as every VGG16 convolution. */
function conv3x3(outChannels: number): L.Conv2d {
  return new L.Conv2d(outChannels, 3, { stride: 1, pad: 1 });
}

/** The mean pixel DeZero's VGG16 subtracts, in BGR order. */
const MEAN_BGR = [103.939, 116.779, 123.68];

/**
 * VGG16 (DeZero's `VGG16`). Layers and parameter names are DeZero's, so its
 * `.npz` weights load: `conv1_1` ... `conv5_3` (`L.Conv2d` 3x3, pad 1), `fc6`
 * and `fc7` (4096) and `fc8` (1000); input channels and `fc6`'s input size
 * are taken from the first input (25088 = 512 x 7 x 7 for DeZero's 224 x
 * 224 images; smaller images give a smaller `fc6`). `forward` applies
 * `F.dropout` after fc6 and fc7 (off under `testMode`). DeZero downloads
 * its pretrained weights; here `new VGG16({ pretrained: path })` reads a
 * local DeZero-saved `.npz` (or a `.safetensors` file), as does `await
 * VGG16.load({ pretrained: path })` without blocking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { VGG16 } = dz;
 * const model = new VGG16();
 * const names = [...model.namedParams().keys()];
 * assert.equal(names.length, 32);
 * assert.deepEqual(names.slice(0, 2), ["conv1_1.W", "conv1_1.b"]);
 * assert.deepEqual(model.conv5_3.W.shape, [512, 0, 3, 3]); // input channels taken at the first call
 * assert.deepEqual(model.fc8.W.shape, [0, 1000]);
 *
 * // weights saved in DeZero's .npz format load in the constructor (DeZero's VGG16(pretrained=True))
 * model.fc8.b!.data = dz.full([1000], 0.5, { dtype: "float32" });
 * const path = await Deno.makeTempFile({ suffix: ".npz" });
 * await model.saveWeights(path); // small: the lazily sized W are still empty
 * const pretrained = new VGG16({ pretrained: path });
 * assert.equal(pretrained.fc8.b!.data.data[999], 0.5);
 * await Deno.remove(path);
 * ```
 */
export class VGG16 extends Model {
  /** Stage 1: 64 channels. */
  conv1_1: L.Conv2d = conv3x3(64);
  /** Stage 1, second convolution. */
  conv1_2: L.Conv2d = conv3x3(64);
  /** Stage 2: 128 channels. */
  conv2_1: L.Conv2d = conv3x3(128);
  /** Stage 2, second convolution. */
  conv2_2: L.Conv2d = conv3x3(128);
  /** Stage 3: 256 channels. */
  conv3_1: L.Conv2d = conv3x3(256);
  /** Stage 3, second convolution. */
  conv3_2: L.Conv2d = conv3x3(256);
  /** Stage 3, third convolution. */
  conv3_3: L.Conv2d = conv3x3(256);
  /** Stage 4: 512 channels. */
  conv4_1: L.Conv2d = conv3x3(512);
  /** Stage 4, second convolution. */
  conv4_2: L.Conv2d = conv3x3(512);
  /** Stage 4, third convolution. */
  conv4_3: L.Conv2d = conv3x3(512);
  /** Stage 5: 512 channels. */
  conv5_1: L.Conv2d = conv3x3(512);
  /** Stage 5, second convolution. */
  conv5_2: L.Conv2d = conv3x3(512);
  /** Stage 5, third convolution. */
  conv5_3: L.Conv2d = conv3x3(512);
  /** First fully connected layer, 4096 outputs. */
  fc6: L.Linear = new L.Linear(4096);
  /** Second fully connected layer, 4096 outputs. */
  fc7: L.Linear = new L.Linear(4096);
  /** The classifier, 1000 outputs (the ImageNet classes). */
  fc8: L.Linear = new L.Linear(1000);

  /**
   * A VGG16 with freshly drawn weights (DeZero's `VGG16()`), or, given
   * `pretrained`, holding the weights of that `.npz` (DeZero's format) or
   * `.safetensors` file, read synchronously (DeZero's `VGG16(pretrained=True)`
   * for a local file; needs `Deno.readFileSync`: elsewhere use `VGG16.load`).
   */
  constructor(options?: PretrainedOptions) {
    super();
    loadPretrained(this, pretrainedPath(options, "VGG16"), "VGG16");
  }

  /**
   * `new VGG16({ pretrained })` with the file read asynchronously (in any
   * runtime that has `Deno.readFile`); without `pretrained`, fresh weights.
   */
  static async load(options?: PretrainedOptions): Promise<VGG16> {
    return await withWeights(new VGG16(), pretrainedPath(options, "VGG16.load"));
  }

  /** Class scores [N, 1000] of images `x` [N, 3, H, W] (H, W from 32 up; 224 in DeZero). */
  forward(x: Variable): Variable {
    const stages = [
      [this.conv1_1, this.conv1_2],
      [this.conv2_1, this.conv2_2],
      [this.conv3_1, this.conv3_2, this.conv3_3],
      [this.conv4_1, this.conv4_2, this.conv4_3],
      [this.conv5_1, this.conv5_2, this.conv5_3],
    ];
    for (const stage of stages) {
      for (const conv of stage) x = relu(conv.apply(x));
      x = pooling(x, 2, 2);
    }
    x = reshape(x, [x.shape[0], -1]);
    x = dropout(relu(this.fc6.apply(x)));
    x = dropout(relu(this.fc7.apply(x)));
    return this.fc8.apply(x);
  }

  /**
   * DeZero's `VGG16.preprocess` for an image already decoded to an RGB
   * array `image` [H, W, 3] (numpy's `asarray` of a PIL image): to `dtype`,
   * channels reversed to BGR, the mean pixel `[103.939, 116.779, 123.68]`
   * subtracted, transposed to [3, H, W]. DeZero first resizes with PIL,
   * which this library has no counterpart of: `size` `[W, H]` (PIL's order)
   * only checks that the image has that size already (null: any size).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import * as dz from "@dezero/dezero-ts";
   * const { VGG16 } = dz;
   * const image = dz.array([[[200, 100, 50], [0, 0, 0]]]); // [1, 2, 3]: two RGB pixels
   * const x = VGG16.preprocess(image, null, "float64");
   * assert.deepEqual(x.shape, [3, 1, 2]); // [C, H, W], channels B, G, R
   * assert.deepEqual(x.toArray(), [[[50 - 103.939, -103.939]], [[100 - 116.779, -116.779]], [[
   *   200 - 123.68,
   *   -123.68,
   * ]]]);
   * ```
   */
  static preprocess(
    image: NDArray,
    size: readonly [number, number] | null = null,
    dtype: DType = "float32",
  ): NDArray {
    const op = "VGG16.preprocess";
    if (!(image instanceof NDArray)) {
      throw new TypeError(`${op}: image must be an NDArray [H, W, 3], got ${show(image)}`);
    }
    if (image.ndim !== 3 || image.shape[2] !== 3) {
      throw new RangeError(
        `${op}: image must be an RGB array [H, W, 3], got shape ${fmtShape(image.shape)}`,
      );
    }
    const [H, W] = image.shape;
    if (
      size !== null &&
      (!Array.isArray(size) || size.length !== 2 || size[0] !== W || size[1] !== H)
    ) {
      throw new RangeError(
        `${op}: size ${show(size)} differs from the image's [W, H] = [${W}, ${H}]; ` +
          "resizing (PIL's in DeZero) is not available: resize the image first, or pass size null",
      );
    }
    checkDType(dtype, op);
    const src = image.astype(dtype)[RAW];
    const out = new (arrayCtor(dtype))(3 * H * W);
    for (let c = 0; c < 3; c++) { // BGR: channel c of the output is channel 2 - c of the input
      for (let p = 0; p < H * W; p++) out[c * H * W + p] = src[3 * p + 2 - c];
    }
    return new NDArray(out, [3, H, W]).sub(array(MEAN_BGR, { dtype }).reshape(3, 1, 1));
  }
}
