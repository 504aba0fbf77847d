/**
 * `L`: layers, DeZero's `dezero.layers`. A Layer finds its parameters and
 * sub-layers in its own fields, recursively; Linear is the fully connected
 * layer with DeZero's lazy input size and initialization.
 * @module
 */
import type { DType } from "../core/array/dtype.ts";
import { scoped, tracer } from "../core/hooks.ts";
import { type NDArray, zeros } from "../core/array/ndarray.ts";
import { randn } from "../core/array/random.ts";
import { VariableRef } from "../core/autograd/function.ts";
import {
  asVariable,
  Parameter,
  type Variable,
  type VariableLike,
} from "../core/autograd/variable.ts";
import { inspectAsString } from "../core/array/print.ts";
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
    const xs = inputs.map((x) => asVariable(x));
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
    return saveWeights(this.namedParams(), path);
  }

  /** Reads parameters saved by `saveWeights` (names, shapes, dtypes must match). */
  loadWeights(path: string): Promise<void> {
    return loadWeights(this.namedParams(), path);
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
  constructor(outSize: number, { inSize, nobias = false, dtype = "float32" }: LinearOptions = {}) {
    super();
    for (const [name, n] of [["outSize", outSize], ["inSize", inSize ?? 0]] as const) {
      if (!Number.isInteger(n) || n < 0) {
        throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${n}`);
      }
    }
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
