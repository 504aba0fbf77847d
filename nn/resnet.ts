/**
 * ResNet-50/101/152 (DeZero's `dezero.models.ResNet`, after Chainer's):
 * a 7x7 stem, four stages of bottleneck blocks with L.BatchNorm, global
 * average pooling and a 1000-way classifier, with DeZero's parameter names
 * (`conv1`, `bn1`, `res2.a.conv1`, `res2.b1.bn3`, ..., `fc6`).
 * @module
 */
import type { Variable } from "../core/autograd/variable.ts";
import { add, relu } from "../ops/elementwise.ts";
import { averagePooling, pooling } from "../ops/pooling.ts";
import { reshape } from "../ops/shape.ts";
import * as L from "./layers.ts";
import { Model } from "./model.ts";
import {
  loadPretrained,
  type PretrainedOptions,
  pretrainedPath,
  withWeights,
} from "./pretrained.ts";

/** A convolution without bias, as every one inside a bottleneck. */
function conv(outChannels: number, kernelSize: number, stride: number, pad: number): L.Conv2d {
  return new L.Conv2d(outChannels, kernelSize, { stride, pad, nobias: true });
}

/**
 * The bottleneck block that changes the resolution and the channel count
 * (DeZero's `BottleneckA`): 1x1 -> 3x3 -> 1x1 convolutions, each followed by
 * L.BatchNorm, plus a 1x1 projection of the input (`conv4`, `bn4`). The
 * stride sits on the first 1x1 convolution (the original MSRA ResNet), or
 * on the 3x3 one with `downsampleFb` (Facebook's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BottleneckA, random } from "@dezero/dezero-ts";
 * const block = new BottleneckA(8, 4, 16, 2); // 8 -> 16 channels, half the resolution
 * const y = block.apply(random.rand(1, 8, 6, 6).astype("float32"));
 * assert.deepEqual(y.shape, [1, 16, 3, 3]);
 * assert.deepEqual(block.conv4.W.shape, [16, 8, 1, 1]); // the projected shortcut
 * ```
 */
export class BottleneckA extends L.Layer {
  /** 1x1 reduction to `midChannels`. */
  conv1: L.Conv2d;
  /** Its normalization. */
  bn1: L.BatchNorm = new L.BatchNorm();
  /** 3x3 convolution. */
  conv2: L.Conv2d;
  /** Its normalization. */
  bn2: L.BatchNorm = new L.BatchNorm();
  /** 1x1 expansion to `outChannels`. */
  conv3: L.Conv2d;
  /** Its normalization. */
  bn3: L.BatchNorm = new L.BatchNorm();
  /** 1x1 projection of the input (the shortcut). */
  conv4: L.Conv2d;
  /** Its normalization. */
  bn4: L.BatchNorm = new L.BatchNorm();

  /** A block with DeZero's arguments (its `inChannels` is taken from the input, as DeZero's). */
  constructor(
    _inChannels: number,
    midChannels: number,
    outChannels: number,
    stride = 2,
    downsampleFb = false,
  ) {
    super();
    const [stride1x1, stride3x3] = downsampleFb ? [1, stride] : [stride, 1];
    this.conv1 = conv(midChannels, 1, stride1x1, 0);
    this.conv2 = conv(midChannels, 3, stride3x3, 1);
    this.conv3 = conv(outChannels, 1, 1, 0);
    this.conv4 = conv(outChannels, 1, stride, 0);
  }

  /** `relu(bn3(conv3(...)) + bn4(conv4(x)))`. */
  forward(x: Variable): Variable {
    let h1 = relu(this.bn1.apply(this.conv1.apply(x)));
    h1 = relu(this.bn2.apply(this.conv2.apply(h1)));
    h1 = this.bn3.apply(this.conv3.apply(h1));
    const h2 = this.bn4.apply(this.conv4.apply(x));
    return relu(add(h1, h2));
  }
}

/**
 * The bottleneck block that keeps resolution and channels (DeZero's
 * `BottleneckB`): 1x1 -> 3x3 -> 1x1 with L.BatchNorm, plus the input itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BottleneckB, random } from "@dezero/dezero-ts";
 * const block = new BottleneckB(16, 4);
 * assert.deepEqual(block.apply(random.rand(2, 16, 3, 3).astype("float32")).shape, [2, 16, 3, 3]);
 * ```
 */
export class BottleneckB extends L.Layer {
  /** 1x1 reduction to `midChannels`. */
  conv1: L.Conv2d;
  /** Its normalization. */
  bn1: L.BatchNorm = new L.BatchNorm();
  /** 3x3 convolution. */
  conv2: L.Conv2d;
  /** Its normalization. */
  bn2: L.BatchNorm = new L.BatchNorm();
  /** 1x1 expansion back to `inChannels`. */
  conv3: L.Conv2d;
  /** Its normalization. */
  bn3: L.BatchNorm = new L.BatchNorm();

  /** A block on `inChannels` channels narrowing to `midChannels` inside. */
  constructor(inChannels: number, midChannels: number) {
    super();
    this.conv1 = conv(midChannels, 1, 1, 0);
    this.conv2 = conv(midChannels, 3, 1, 1);
    this.conv3 = conv(inChannels, 1, 1, 0);
  }

  /** `relu(bn3(conv3(...)) + x)`. */
  forward(x: Variable): Variable {
    let h = relu(this.bn1.apply(this.conv1.apply(x)));
    h = relu(this.bn2.apply(this.conv2.apply(h)));
    h = this.bn3.apply(this.conv3.apply(h));
    return relu(add(h, x));
  }
}

/**
 * One stage (DeZero's `BuildingBlock`): a `BottleneckA` named `a`, then
 * `nLayers - 1` `BottleneckB`s named `b1`, `b2`, ...
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BuildingBlock } from "@dezero/dezero-ts";
 * const stage = new BuildingBlock(3, 64, 64, 256, 1); // DeZero's res2
 * const blocks = new Set([...stage.namedParams().keys()].map((k) => k.split(".")[0]));
 * assert.deepEqual([...blocks], ["a", "b1", "b2"]);
 * ```
 */
export class BuildingBlock extends L.Layer {
  /** The first block, changing resolution and channels. */
  a: BottleneckA;
  /** The following blocks, `b1`, `b2`, ... (DeZero's names). */
  [block: `b${number}`]: BottleneckB;
  #blocks: L.Layer[];

  /** A stage of `nLayers` blocks (DeZero's arguments and order). */
  constructor(
    nLayers: number,
    inChannels: number,
    midChannels: number,
    outChannels: number,
    stride: number,
    downsampleFb = false,
  ) {
    super();
    this.a = new BottleneckA(inChannels, midChannels, outChannels, stride, downsampleFb);
    this.#blocks = [this.a];
    for (let i = 1; i < nLayers; i++) {
      const block = new BottleneckB(outChannels, midChannels);
      Object.assign(this, { [`b${i}`]: block });
      this.#blocks.push(block);
    }
  }

  /** The blocks in order. */
  forward(x: Variable): Variable {
    return this.#blocks.reduce((h, block) => block.apply(h), x);
  }
}

/** Blocks per stage, by depth (DeZero's table). */
const BLOCKS: Record<number, number[]> = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};

/**
 * DeZero's `ResNet(n_layers)`: `conv1` (7x7, 64, stride 2, pad 3) and
 * `bn1`, 3x3 max pooling with stride 2, stages `res2` ... `res5`
 * (`BuildingBlock`s of 256, 512, 1024 and 2048 channels), global average
 * pooling and `fc6` (1000). Use `ResNet50`, `ResNet101` or `ResNet152`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResNet, ResNet50 } from "@dezero/dezero-ts";
 * const model = new ResNet50();
 * assert.ok(model instanceof ResNet);
 * assert.deepEqual(model.fc6.W.shape, [0, 1000]); // 2048 inputs once called
 * ```
 */
export abstract class ResNet extends Model {
  /** The 7x7 stem convolution. */
  conv1: L.Conv2d = new L.Conv2d(64, 7, { stride: 2, pad: 3 });
  /** Its normalization. */
  bn1: L.BatchNorm = new L.BatchNorm();
  /** Stage 2: 256 channels, full resolution. */
  res2: BuildingBlock;
  /** Stage 3: 512 channels, half resolution. */
  res3: BuildingBlock;
  /** Stage 4: 1024 channels. */
  res4: BuildingBlock;
  /** Stage 5: 2048 channels. */
  res5: BuildingBlock;
  /** The classifier, 1000 outputs. */
  fc6: L.Linear = new L.Linear(1000);

  /**
   * A ResNet of `nLayers` (50, 101 or 152), holding the weights of the file
   * `options.pretrained` if given (read synchronously); `op` names the
   * class in messages.
   */
  protected constructor(nLayers: 50 | 101 | 152, op: string, options?: PretrainedOptions) {
    super();
    const path = pretrainedPath(options, op); // checked before building
    const block = BLOCKS[nLayers];
    this.res2 = new BuildingBlock(block[0], 64, 64, 256, 1);
    this.res3 = new BuildingBlock(block[1], 256, 128, 512, 2);
    this.res4 = new BuildingBlock(block[2], 512, 256, 1024, 2);
    this.res5 = new BuildingBlock(block[3], 1024, 512, 2048, 2);
    loadPretrained(this, path, op);
  }

  /** Class scores [N, 1000] of images `x` [N, 3, H, W] (224 x 224 in DeZero). */
  forward(x: Variable): Variable {
    x = relu(this.bn1.apply(this.conv1.apply(x)));
    x = pooling(x, 3, 2);
    x = this.res5.apply(this.res4.apply(this.res3.apply(this.res2.apply(x))));
    const [N, C, H, W] = x.shape;
    x = reshape(averagePooling(x, [H, W], 1), [N, C]); // global average pooling
    return this.fc6.apply(x);
  }
}

/**
 * ResNet-50 (DeZero's `ResNet50`): stages of 3, 4, 6 and 3 blocks. Input
 * channels are taken from the first input. `new ResNet50({ pretrained:
 * path })` reads a local DeZero `.npz` (DeZero downloads `resnet50.npz`),
 * or a `.safetensors` file; `await ResNet50.load({ pretrained: path })`
 * reads it without blocking.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { ResNet50 } = dz;
 * const model = new ResNet50();
 * const names = [...model.namedParams().keys()];
 * assert.equal(names[0], "conv1.W");
 * assert.ok(names.includes("res2.b1.bn3.avg_var"));
 * assert.deepEqual(model.res5.a.conv4.W.shape, [2048, 0, 1, 1]); // input channels taken at the first call
 *
 * // weights saved in DeZero's .npz format load in the constructor
 * model.fc6.b!.data = dz.full([1000], -2, { dtype: "float32" });
 * const path = await Deno.makeTempFile({ suffix: ".npz" });
 * await model.saveWeights(path); // small: the lazily sized W are still empty
 * assert.equal(new ResNet50({ pretrained: path }).fc6.b!.data.data[0], -2);
 * await Deno.remove(path);
 * ```
 */
export class ResNet50 extends ResNet {
  /** A ResNet-50: fresh weights, or those of the file `pretrained` (read synchronously). */
  constructor(options?: PretrainedOptions) {
    super(50, "ResNet50", options);
  }

  /** `new ResNet50({ pretrained })` with the file read asynchronously. */
  static async load(options?: PretrainedOptions): Promise<ResNet50> {
    return await withWeights(new ResNet50(), pretrainedPath(options, "ResNet50.load"));
  }
}

/**
 * ResNet-101 (DeZero's `ResNet101`): stages of 3, 4, 23 and 3 blocks; see
 * `ResNet50`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { ResNet101 } = dz;
 * const model = new ResNet101();
 * assert.ok(model.namedParams().has("res4.b22.conv3.W"));
 * assert.ok(!model.namedParams().has("res4.b23.conv3.W"));
 * ```
 */
export class ResNet101 extends ResNet {
  /** A ResNet-101: fresh weights, or those of the file `pretrained` (read synchronously). */
  constructor(options?: PretrainedOptions) {
    super(101, "ResNet101", options);
  }

  /** `new ResNet101({ pretrained })` with the file read asynchronously. */
  static async load(options?: PretrainedOptions): Promise<ResNet101> {
    return await withWeights(new ResNet101(), pretrainedPath(options, "ResNet101.load"));
  }
}

/**
 * ResNet-152 (DeZero's `ResNet152`, its default depth): stages of 3, 8, 36
 * and 3 blocks; see `ResNet50`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { ResNet152 } = dz;
 * const model = new ResNet152();
 * assert.ok(model.namedParams().has("res4.b35.bn2.gamma"));
 * ```
 */
export class ResNet152 extends ResNet {
  /** A ResNet-152: fresh weights, or those of the file `pretrained` (read synchronously). */
  constructor(options?: PretrainedOptions) {
    super(152, "ResNet152", options);
  }

  /** `new ResNet152({ pretrained })` with the file read asynchronously. */
  static async load(options?: PretrainedOptions): Promise<ResNet152> {
    return await withWeights(new ResNet152(), pretrainedPath(options, "ResNet152.load"));
  }
}
