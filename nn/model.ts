/**
 * Models, DeZero's `dezero.models`: the Model base class, Sequential and
 * the multi-layer perceptron MLP.
 * @module
 */
import { Variable } from "../core/autograd/variable.ts";
import { sigmoid } from "../ops/elementwise.ts";
import { checkFunction, checkInt, checkOptions, show } from "../core/validate.ts";
import { MAX_SIZE } from "../core/array/shape_rules.ts";
import { Layer, Linear } from "./layer.ts";

/**
 * Base class of whole networks (a Layer; subclass it and write `forward`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, L, Model } = dz;
 * class TwoLayerNet extends Model {
 *   l1 = new L.Linear(10);
 *   l2 = new L.Linear(1);
 *   forward(x: dz.Variable): dz.Variable {
 *     return this.l2.apply(F.sigmoid(this.l1.apply(x)));
 *   }
 * }
 * const model = new TwoLayerNet();
 * assert.deepEqual(model.apply(dz.zeros([5, 2])).shape, [5, 1]);
 * assert.deepEqual([...model.namedParams().keys()], ["l1.W", "l1.b", "l2.W", "l2.b"]);
 * ```
 */
export abstract class Model extends Layer {}

/** What `Sequential` applies: a Layer, or a function of one Variable (`F.relu`, a lambda). */
export type LayerOrFunction = Layer | ((x: Variable) => Variable);

/**
 * Layers and functions applied one after another (DeZero's `Sequential`).
 * Each argument is a field `l0`, `l1`, ... by its position (DeZero's names,
 * so parameters are `l0.W`, `l0.b`, ...); a function (`F.relu`, a lambda, as
 * DeZero's gan.py passes) holds no parameters and must return a Variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, L, Sequential } = dz;
 * const model = new Sequential(new L.Linear(5), F.relu, (x) => x.mul(2), new L.Linear(1));
 * assert.deepEqual(model.apply(dz.zeros([3, 2])).shape, [3, 1]);
 * assert.deepEqual([...model.namedParams().keys()], ["l0.W", "l0.b", "l3.W", "l3.b"]);
 * ```
 */
export class Sequential extends Model {
  #layers: LayerOrFunction[];

  /** A model applying `layers` (Layers or functions) in order. */
  constructor(...layers: LayerOrFunction[]) {
    super();
    layers.forEach((layer, i) => {
      if (!(layer instanceof Layer) && typeof layer !== "function") {
        throw new TypeError(
          `Sequential: argument ${i} must be a Layer or a function, got ${show(layer)}`,
        );
      }
    });
    this.#layers = layers;
    layers.forEach((layer, i) => Object.assign(this, { [`l${i}`]: layer }));
  }

  /** The layers and functions, in order. */
  get layers(): readonly LayerOrFunction[] {
    return this.#layers;
  }

  /** Each layer (or function) applied to the previous one's output. */
  forward(x: Variable): Variable {
    return this.#layers.reduce((h, layer, i) => {
      if (layer instanceof Layer) return layer.apply(h);
      const y = layer(h);
      if (!(y instanceof Variable)) {
        throw new TypeError(
          `Sequential: function l${i} (${layer.name || "anonymous"}) must return a Variable, got ${
            show(y)
          }`,
        );
      }
      return y;
    }, x);
  }
}

/** Options of `MLP`. */
export interface MLPOptions {
  /** Activation between the Linear layers (default `F.sigmoid`). */
  activation?: (x: Variable) => Variable;
}

/**
 * Multi-layer perceptron: one Linear layer per entry of `fcOutputSizes`
 * (input sizes inferred), `activation` after every layer but the last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, MLP } = dz;
 * const model = new MLP([10, 3]); // 2 -> 10 -> 3 on a [N, 2] input
 * assert.deepEqual(model.apply(dz.zeros([5, 2])).shape, [5, 3]);
 * const deep = new MLP([100, 100, 10], { activation: F.relu });
 * assert.equal(deep.layers.length, 3);
 * ```
 */
export class MLP extends Sequential {
  /** The activation between layers. */
  readonly activation: (x: Variable) => Variable;

  /** An MLP with the given layer output sizes. */
  constructor(fcOutputSizes: readonly number[], options?: MLPOptions) {
    if (!Array.isArray(fcOutputSizes)) {
      throw new TypeError(
        `MLP: fcOutputSizes must be a list of layer sizes, got ${show(fcOutputSizes)}`,
      );
    }
    const { activation = sigmoid } = checkOptions(options, "MLP", ["activation"]);
    super(
      ...fcOutputSizes.map((size) =>
        new Linear(checkInt(size, "MLP", "a layer size", 1, MAX_SIZE))
      ),
    );
    this.activation = checkFunction(activation, "MLP", "activation");
  }

  /** The Linear layers, in order. */
  override get layers(): readonly Linear[] {
    return super.layers as readonly Linear[];
  }

  /** The activation's name, shown by `toString()`. */
  protected override extraRepr(): string[] {
    return [`activation: ${this.activation.name || "(anonymous)"}`];
  }

  /** `activation(l_i(x))` through all layers but the last, then the last layer. */
  override forward(x: Variable): Variable {
    const last = this.layers.length - 1;
    return this.layers.reduce((h, layer, i) => {
      const y = layer.apply(h);
      return i < last ? this.activation(y) : y;
    }, x);
  }
}
