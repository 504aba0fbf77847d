/**
 * Layers (most of `L`, DeZero's `dezero.layers`). A Layer finds its parameters and
 * sub-layers in its own fields, recursively; Linear (fully connected),
 * Conv2d and Deconv2d have DeZero's lazy input sizes and initialization;
 * BatchNorm keeps running statistics beside its parameters.
 * @module
 */
import { checkDType, type DType } from "../core/array/dtype.ts";
import { MAX_SIZE } from "../core/array/shape_rules.ts";
import { checkBool, checkInt, checkOptions, checkString } from "../core/validate.ts";
import { scoped, tracer } from "../core/hooks.ts";
import { full, type NDArray, zeros } from "../core/array/ndarray.ts";
import { randn } from "../core/array/random.ts";
import { VariableRef } from "../core/autograd/function.ts";
import {
  asVariable,
  Parameter,
  type Variable,
  type VariableLike,
} from "../core/autograd/variable.ts";
import { inspectAsString } from "../core/array/print.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { batchNorm } from "../ops/batch_norm.ts";
import { conv2d, deconv2d } from "../ops/conv.ts";
import type { Pair } from "../ops/conv_sizes.ts";
import { intPair } from "../ops/patches.ts";
import { linear } from "../ops/matmul.ts";
import { loadWeights, saveWeights } from "./weights.ts";

/**
 * Base class of layers: a callable block holding Parameters. Any field that
 * holds a Parameter, a Layer or an array of them is part of the layer, so a
 * subclass only assigns fields and writes `forward`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, L } = dz;
 * class Affine extends L.Layer {
 *   W = new dz.Parameter(dz.ones([2, 3]), "W");
 *   b = new dz.Parameter(dz.zeros([3]), "b");
 *   forward(x: dz.Variable): dz.Variable {
 *     return F.linear(x, this.W, this.b);
 *   }
 * }
 * const layer = new Affine();
 * assert.equal(String(layer.apply([[1, 2]])), "variable([[3. 3. 3.]])");
 * assert.deepEqual([...layer.namedParams().keys()], ["W", "b"]);
 * ```
 */
export abstract class Layer {
  /** References to the inputs of the last call (DeZero's `inputs`). */
  inputs: VariableRef[] = [];
  /** References to the outputs of the last call. */
  outputs: VariableRef[] = [];

  /** Computes the output from the inputs. */
  abstract forward(...xs: Variable[]): Variable;

  /** Calls the layer (DeZero's `__call__`): inputs become Variables, then `forward`. */
  apply(...inputs: VariableLike[]): Variable {
    const xs = inputs.map((x) => asVariable(x, this.constructor.name));
    const y = tracer === null
      ? this.forward(...xs)
      : scoped(this.constructor.name, this, () => this.forward(...xs));
    this.inputs = xs.map((x) => new VariableRef(x));
    this.outputs = [new VariableRef(y)];
    return y;
  }

  /**
   * Every parameter with its dotted field path (`l1.W`, `blocks.0.b`), in
   * field-definition order, each parameter once (under its first path).
   */
  namedParams(): Map<string, Parameter> {
    const found = new Map<string, Parameter>();
    const seen = new Set<unknown>();
    const visit = (value: unknown, path: string): void => {
      if (seen.has(value)) return;
      if (value instanceof Parameter) {
        seen.add(value);
        found.set(path, value);
      } else if (value instanceof Layer) {
        seen.add(value);
        for (const [name, field] of Object.entries(value)) {
          visit(field, path ? `${path}.${name}` : name);
        }
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => visit(v, `${path}.${i}`));
      }
    };
    visit(this, "");
    return found;
  }

  /** The parameters of this layer and its sub-layers, each once. */
  params(): IterableIterator<Parameter> {
    return this.namedParams().values();
  }

  /** Clears the gradient of every parameter. */
  cleargrads(): void {
    for (const p of this.params()) p.cleargrad();
  }

  /** Writes the parameters to `path` (safetensors, or DeZero's `.npz` by extension). */
  saveWeights(path: string): Promise<void> {
    return saveWeights(this.namedParams(), checkString(path, "saveWeights", "path"));
  }

  /** Reads parameters saved by `saveWeights` (names, shapes, dtypes must match). */
  loadWeights(path: string): Promise<void> {
    return loadWeights(this.namedParams(), checkString(path, "loadWeights", "path"));
  }

  /**
   * The layer as a tree, as PyTorch prints a module: the class name, then
   * its parameters (`W: [2, 10] float32`; an axis a lazy layer has not sized
   * yet is `?`) and, one per line and indented, its sub-layers
   * (`(l0): Linear(...)`). `console.log(layer)` prints this.
   */
  toString(): string {
    return describe(this, new Set());
  }

  /** Settings shown first in `toString()` (none here; MLP shows its activation). */
  protected extraRepr(): string[] {
    return [];
  }
}

inspectAsString(Layer);

/** `layer`'s tree; `open` holds the layers being described (a cycle prints as `...`). */
function describe(layer: Layer, open: Set<Layer>): string {
  if (open.has(layer)) return `${layer.constructor.name}(...)`;
  open.add(layer);
  const own = layer["extraRepr"](), subs: string[] = [];
  const visit = (value: unknown, name: string): void => {
    if (value instanceof Parameter) {
      const shape = value.size === 0 ? value.shape.map((d) => d || "?") : value.shape;
      own.push(`${name}: [${shape.join(", ")}] ${value.dtype}`);
    } else if (value instanceof Layer) {
      subs.push(`(${name}): ${describe(value, open).replaceAll("\n", "\n  ")}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${name}.${i}`));
    }
  };
  for (const [name, field] of Object.entries(layer)) visit(field, name);
  open.delete(layer);
  const head = layer.constructor.name;
  if (subs.length === 0) return `${head}(${own.join(", ")})`;
  return `${head}(\n${[...own, ...subs].map((line) => `  ${line}\n`).join("")})`;
}

/** `dtype` checked to be a float dtype, for a layer's parameters (named `op` in errors). */
function floatDType(dtype: unknown, op: string): DType {
  if (checkDType(dtype, op) === "int32") {
    throw new TypeError(`${op}: dtype must be float32 or float64 (int32 cannot be trained)`);
  }
  return dtype as DType;
}

/** Options of `Linear`. */
export interface LinearOptions {
  /** Input size; when omitted, taken from the last axis of the first input. */
  inSize?: number;
  /** Leave out the bias `b`. */
  nobias?: boolean;
  /** Element type of the parameters (default float32, as DeZero). */
  dtype?: DType;
}

/**
 * Fully connected layer `y = x @ W + b`, W of shape [inSize, outSize]
 * initialized as DeZero's `randn(I, O).astype(dtype) * sqrt(1 / I)` (so
 * `random.seed(s)` gives DeZero's weights), b zeros. With `inSize` omitted,
 * W is drawn at the first call; until then it holds an empty [0, outSize]
 * placeholder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { L } = dz;
 * const layer = new L.Linear(3); // inSize taken from the first input
 * const y = layer.apply(dz.zeros([2, 4]));
 * assert.deepEqual(y.shape, [2, 3]);
 * assert.deepEqual(layer.W.shape, [4, 3]);
 * assert.equal(layer.inSize, 4);
 * ```
 */
export class Linear extends Layer {
  /** Number of output features. */
  readonly outSize: number;
  /** Element type of W and b. */
  readonly dtype: DType;
  /** Weights, [inSize, outSize]. */
  W: Parameter;
  /** Bias, [outSize], or null with `nobias`. */
  b: Parameter | null;
  #placeholder: NDArray;

  /** A layer with `outSize` outputs. */
  constructor(outSize: number, options?: LinearOptions) {
    super();
    const { inSize, nobias = false, dtype = "float32" } = checkOptions(options, "Linear", [
      "inSize",
      "nobias",
      "dtype",
    ]);
    checkInt(outSize, "Linear", "outSize", 0, MAX_SIZE);
    if (inSize !== undefined) checkInt(inSize, "Linear", "inSize", 0, MAX_SIZE);
    checkBool(nobias, "Linear", "nobias");
    floatDType(dtype, "Linear");
    this.outSize = outSize;
    this.dtype = dtype;
    this.#placeholder = zeros([0, outSize], { dtype });
    this.W = new Parameter(inSize === undefined ? this.#placeholder : this.#initW(inSize), "W");
    this.b = nobias ? null : new Parameter(zeros([outSize], { dtype }), "b");
  }

  /** Number of input features, or null until the first call sets it. */
  get inSize(): number | null {
    return this.W.data === this.#placeholder ? null : this.W.shape[0];
  }

  #initW(inSize: number): NDArray {
    return randn(inSize, this.outSize).astype(this.dtype).mul(Math.sqrt(1 / inSize));
  }

  /** `x @ W + b`, drawing W first if the input size was not known. */
  forward(x: Variable): Variable {
    if (this.W.data === this.#placeholder) {
      if (x.ndim === 0) throw new RangeError("Linear: input must have at least one axis");
      this.W.data = this.#initW(x.shape[x.ndim - 1]);
    }
    return linear(x, this.W, this.b);
  }
}

/** Options of `Conv2d` and `Deconv2d`. */
export interface ConvOptions {
  /** Stride: a number or `[h, w]` (default 1). */
  stride?: Pair;
  /** Zero padding: a number or `[h, w]` (default 0). */
  pad?: Pair;
  /** Leave out the bias `b`. */
  nobias?: boolean;
  /** Element type of the parameters (default float32, as DeZero). */
  dtype?: DType;
  /** Input channels; when omitted, taken from axis 1 of the first input. */
  inChannels?: number;
}

/**
 * What Conv2d and Deconv2d share: kernel W drawn as DeZero's
 * `randn(...).astype(dtype) * sqrt(1 / (C * KH * KW))` (so `random.seed(s)`
 * gives DeZero's weights), lazily when `inChannels` is omitted (until then
 * W is an empty placeholder with 0 input channels), and a zero bias b.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L } from "@dezero/dezero-ts";
 * const conv = new L.Conv2d(4, 3);
 * assert.ok(conv instanceof L.ConvLayer);
 * assert.deepEqual(conv.W.shape, [4, 0, 3, 3]); // in channels taken from the first input
 * ```
 */
export abstract class ConvLayer extends Layer {
  /** Number of output channels. */
  readonly outChannels: number;
  /** Kernel size `[KH, KW]`. */
  readonly kernelSize: [number, number];
  /** Stride. */
  readonly stride: Pair;
  /** Zero padding. */
  readonly pad: Pair;
  /** Element type of W and b. */
  readonly dtype: DType;
  /** The kernels. */
  W: Parameter;
  /** Bias, [outChannels], or null with `nobias`. */
  b: Parameter | null;
  #placeholder: NDArray;

  /**
   * A layer named `op` in messages, whose W has the input channels on axis
   * `inAxis` and the output channels on the other of the first two axes.
   */
  constructor(
    op: string,
    readonly inAxis: 0 | 1,
    outChannels: number,
    kernelSize: Pair,
    options: ConvOptions | undefined,
  ) {
    super();
    const { stride = 1, pad = 0, nobias = false, dtype = "float32", inChannels } = checkOptions(
      options,
      op,
      ["stride", "pad", "nobias", "dtype", "inChannels"],
    );
    checkInt(outChannels, op, "outChannels", 1, MAX_SIZE);
    if (inChannels !== undefined) checkInt(inChannels, op, "inChannels", 1, MAX_SIZE);
    checkBool(nobias, op, "nobias");
    floatDType(dtype, op);
    this.outChannels = outChannels;
    this.kernelSize = intPair(op, "kernelSize", kernelSize, 1);
    intPair(op, "stride", stride, 1);
    intPair(op, "pad", pad, 0);
    this.stride = stride;
    this.pad = pad;
    this.dtype = dtype;
    this.#placeholder = zeros(this.#shape(0), { dtype });
    this.W = new Parameter(
      inChannels === undefined ? this.#placeholder : this.#initW(inChannels),
      "W",
    );
    this.b = nobias ? null : new Parameter(zeros([outChannels], { dtype }), "b");
  }

  /** Number of input channels, or null until the first call sets it. */
  get inChannels(): number | null {
    return this.W.data === this.#placeholder ? null : this.W.shape[this.inAxis];
  }

  #shape(inChannels: number): number[] {
    const io = [inChannels, this.outChannels];
    return [...(this.inAxis === 0 ? io : io.reverse()), ...this.kernelSize];
  }

  #initW(C: number): NDArray {
    const [KH, KW] = this.kernelSize;
    return randn(...this.#shape(C)).astype(this.dtype).mul(Math.sqrt(1 / (C * KH * KW)));
  }

  /** W drawn for `x`'s channels if it is still the placeholder. */
  protected initW(x: Variable): void {
    if (this.W.data !== this.#placeholder) return;
    if (x.ndim !== 4) {
      throw new RangeError(
        `${this.constructor.name}: input must be 4-D [N, C, H, W], got shape ${fmtShape(x.shape)}`,
      );
    }
    this.W.data = this.#initW(x.shape[1]);
  }
}

/**
 * 2-D convolution layer (DeZero's `L.Conv2d`): `F.conv2d(x, W, b, stride,
 * pad)` with W `[outChannels, inChannels, KH, KW]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random } from "@dezero/dezero-ts";
 * const conv = new L.Conv2d(8, 3, { pad: 1 });
 * assert.deepEqual(conv.W.shape, [8, 0, 3, 3]); // drawn at the first call
 * assert.deepEqual(conv.apply(random.rand(2, 1, 28, 28).astype("float32")).shape, [2, 8, 28, 28]);
 * assert.deepEqual(conv.W.shape, [8, 1, 3, 3]);
 * ```
 */
export class Conv2d extends ConvLayer {
  /** A layer with `outChannels` kernels of `kernelSize`. */
  constructor(outChannels: number, kernelSize: Pair, options?: ConvOptions) {
    super("Conv2d", 1, outChannels, kernelSize, options);
  }

  /** The convolution, drawing W first if the input channels were not known. */
  forward(x: Variable): Variable {
    this.initW(x);
    return conv2d(x, this.W, this.b, this.stride, this.pad);
  }
}

/**
 * 2-D transposed convolution layer (DeZero's `L.Deconv2d`):
 * `F.deconv2d(x, W, b, stride, pad)` with W `[inChannels, outChannels, KH,
 * KW]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random } from "@dezero/dezero-ts";
 * const up = new L.Deconv2d(4, 2, { stride: 2 });
 * assert.deepEqual(up.apply(random.rand(1, 8, 7, 7).astype("float32")).shape, [1, 4, 14, 14]);
 * assert.deepEqual(up.W.shape, [8, 4, 2, 2]);
 * ```
 */
export class Deconv2d extends ConvLayer {
  /** A layer with `outChannels` output channels and kernels of `kernelSize`. */
  constructor(outChannels: number, kernelSize: Pair, options?: ConvOptions) {
    super("Deconv2d", 0, outChannels, kernelSize, options);
  }

  /** The transposed convolution, drawing W first if the input channels were not known. */
  forward(x: Variable): Variable {
    this.initW(x);
    return deconv2d(x, this.W, this.b, this.stride, this.pad);
  }
}

/**
 * Batch normalization layer (DeZero's `L.BatchNorm`): `F.batchNorm` over
 * axis 1 with parameters gamma (ones) and beta (zeros) and the running
 * statistics avgMean (zeros) and avgVar (ones), all sized at the first call
 * (each one that already holds data is kept). The running statistics are
 * Parameters, so they are saved and loaded with the weights, under DeZero's
 * names `avg_mean` and `avg_var`; they get no gradient, so optimizers leave
 * them alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random } from "@dezero/dezero-ts";
 * const bn = new L.BatchNorm();
 * assert.deepEqual(bn.apply(random.rand(4, 3).astype("float32")).shape, [4, 3]);
 * assert.deepEqual([...bn.namedParams().keys()], ["avg_mean", "avg_var", "gamma", "beta"]);
 * assert.deepEqual(bn.avgMean.shape, [3]);
 * ```
 */
export class BatchNorm extends Layer {
  // the fields carry DeZero's attribute names, which name the weights in files
  /** Running mean (DeZero's `avg_mean`). */
  avg_mean: Parameter = new Parameter(zeros([0], { dtype: "float32" }), "avg_mean");
  /** Running variance (DeZero's `avg_var`). */
  avg_var: Parameter = new Parameter(zeros([0], { dtype: "float32" }), "avg_var");
  /** Scale. */
  gamma: Parameter = new Parameter(zeros([0], { dtype: "float32" }), "gamma");
  /** Shift. */
  beta: Parameter = new Parameter(zeros([0], { dtype: "float32" }), "beta");

  /** The running mean (the `avg_mean` Parameter). */
  get avgMean(): Parameter {
    return this.avg_mean;
  }
  /** The running variance (the `avg_var` Parameter). */
  get avgVar(): Parameter {
    return this.avg_var;
  }

  /** Normalizes `x`, sizing the parameters for its channels first. */
  forward(x: Variable): Variable {
    if (x.ndim < 2) {
      throw new RangeError(
        `BatchNorm: input must be [N, C] or [N, C, H, W], got shape ${fmtShape(x.shape)}`,
      );
    }
    const C = x.shape[1], dtype = x.dtype;
    const fill = (p: Parameter, value: number) => {
      if (p.data.size === 0) p.data = full([C], value, { dtype });
    };
    fill(this.avg_mean, 0);
    fill(this.avg_var, 1);
    fill(this.gamma, 1);
    fill(this.beta, 0);
    return batchNorm(x, this.gamma, this.beta, this.avg_mean, this.avg_var);
  }
}
