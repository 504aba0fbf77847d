/**
 * `transforms`: DeZero's `dezero.transforms` for arrays — Compose,
 * Normalize, Flatten, AsType, ToFloat and ToInt. Each is a class whose
 * instances are functions of an NDArray, so one goes wherever a dataset
 * takes a `transform` (DeZero's `transform=` / `target_transform=`).
 * DeZero's PIL-image transforms (Convert, Resize, CenterCrop, ToArray,
 * ToPIL) have no counterpart: there is no image library here.
 * @module
 */
import { checkDType, type DType } from "../core/array/dtype.ts";
import { array, NDArray } from "../core/array/ndarray.ts";
import { checkFinite, checkFunction, show } from "../core/validate.ts";
import type { Transform } from "./datasets.ts";

/** The call signature of a transform: `t(x)` is `t.transform(x)` (merged into the class below). */
export interface ArrayTransform {
  /** The transformed array. */
  (x: NDArray): NDArray;
}

/**
 * Base class of the transforms: an instance is callable, `t(x)` running
 * `t.transform(x)` (DeZero's `__call__`), and its `name` is its class's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * class Invert extends dz.transforms.ArrayTransform {
 *   transform(x: dz.NDArray): dz.NDArray {
 *     return x.mul(-1).add(255);
 *   }
 * }
 * const invert = new Invert();
 * assert.equal(invert.name, "Invert");
 * assert.deepEqual(invert(dz.array([0, 55])).toArray(), [255, 200]);
 * ```
 */
export abstract class ArrayTransform {
  /** A callable instance of the subclass being constructed. */
  constructor() {
    const self = (x: NDArray): NDArray => {
      if (!(x instanceof NDArray)) {
        throw new TypeError(`${new.target.name}: input must be an NDArray, got ${show(x)}`);
      }
      return (self as unknown as ArrayTransform).transform(x);
    };
    Object.defineProperty(self, "name", { value: new.target.name });
    return Object.setPrototypeOf(self, new.target.prototype);
  }

  /** What calling the transform computes. */
  abstract transform(x: NDArray): NDArray;
}
// instances keep Function's methods (call, apply, bind) below the transforms' own
Object.setPrototypeOf(ArrayTransform.prototype, Function.prototype);

/**
 * Several transforms applied in order (DeZero's `Compose`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * const f = new transforms.Compose([new transforms.Flatten(), new transforms.ToFloat()]);
 * const y = f(dz.array([[1, 2], [3, 4]]));
 * assert.deepEqual([y.shape, y.dtype], [[4], "float32"]);
 * ```
 */
export class Compose extends ArrayTransform {
  /** The transforms, in order. */
  readonly transforms: readonly Transform[];

  /** Applies `transforms` (functions of an array) one after another. */
  constructor(transforms: readonly Transform[] = []) {
    super();
    if (!Array.isArray(transforms)) {
      throw new TypeError(`Compose: transforms must be a list, got ${show(transforms)}`);
    }
    transforms.forEach((t, i) => checkFunction(t, "Compose", `transform ${i}`));
    this.transforms = [...transforms];
  }

  /** `x` through each transform. */
  transform(x: NDArray): NDArray {
    return this.transforms.reduce((y, t, i) => {
      const out = t(y);
      if (!(out instanceof NDArray)) {
        throw new TypeError(`Compose: transform ${i} must return an NDArray, got ${show(out)}`);
      }
      return out;
    }, x);
  }
}

/** A mean or standard deviation: one number, or one per channel (axis 0). */
export type PerChannel = number | readonly number[];

/**
 * `(x - mean) / std` (DeZero's `Normalize`). A list gives one value per
 * channel, axis 0 of the array (so a [C, H, W] image), converted to the
 * array's dtype first as DeZero does; a one-element list acts as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * const x = dz.array([[[10, 20]], [[30, 40]]], { dtype: "float32" }); // [2, 1, 2]
 * const y = new transforms.Normalize([10, 20], [2, 4])(x);
 * assert.deepEqual(y.toArray(), [[[0, 5]], [[2.5, 5]]]);
 * ```
 */
export class Normalize extends ArrayTransform {
  /** The mean subtracted. */
  readonly mean: PerChannel;
  /** The divisor. */
  readonly std: PerChannel;

  /** Subtracts `mean`, divides by `std`. */
  constructor(mean: PerChannel = 0, std: PerChannel = 1) {
    super();
    this.mean = perChannel(mean, "mean");
    this.std = perChannel(std, "std");
  }

  /** `(x - mean) / std`, channel by channel for lists. */
  transform(x: NDArray): NDArray {
    return x.sub(this.#broadcast(this.mean, x, "mean")).div(this.#broadcast(this.std, x, "std"));
  }

  /** `v` shaped to broadcast along `x`'s axis 0 (a number stays a number). */
  #broadcast(v: PerChannel, x: NDArray, what: string): number | NDArray {
    if (typeof v === "number") return v;
    if (v.length === 1) return v[0];
    if (x.ndim === 0 || x.shape[0] !== v.length) {
      throw new RangeError(
        `Normalize: ${v.length} values of ${what} for an array of shape [${
          x.shape.join(", ")
        }] (axis 0 must have ${v.length} channels)`,
      );
    }
    return array(v as number[], { dtype: x.dtype }).reshape(
      v.length,
      ...x.shape.slice(1).map(() => 1),
    );
  }
}

/** `v` checked: a finite number or a non-empty list of them. */
function perChannel(v: unknown, what: string): PerChannel {
  if (Array.isArray(v)) {
    if (v.length === 0) throw new RangeError(`Normalize: ${what} must not be an empty list`);
    v.forEach((m, i) => checkFinite(m, "Normalize", `${what}[${i}]`));
    return [...v];
  }
  return checkFinite(v, "Normalize", what);
}

/**
 * The array as one axis, a copy (DeZero's `Flatten`, numpy's `flatten`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * assert.deepEqual(new transforms.Flatten()(dz.zeros([1, 28, 28])).shape, [784]);
 * ```
 */
export class Flatten extends ArrayTransform {
  /** `x` reshaped to one axis, copied. */
  transform(x: NDArray): NDArray {
    return x.copy().reshape(-1);
  }
}

/**
 * The array converted to `dtype` (DeZero's `AsType`; default float32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * assert.equal(new transforms.AsType("float64")(dz.array([1, 2])).dtype, "float64");
 * ```
 */
export class AsType extends ArrayTransform {
  /** The dtype converted to. */
  readonly dtype: DType;

  /** Converts to `dtype`. */
  constructor(dtype: DType = "float32") {
    super();
    this.dtype = checkDType(dtype, this.constructor.name);
  }

  /** `x.astype(dtype)`. */
  transform(x: NDArray): NDArray {
    return x.astype(this.dtype);
  }
}

/**
 * `AsType` under DeZero's other name (its subclass `ToFloat`): float32 by default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * const toFloat = new transforms.ToFloat();
 * assert.deepEqual([toFloat.name, toFloat(dz.array([1, 2])).dtype], ["ToFloat", "float32"]);
 * ```
 */
export class ToFloat extends AsType {}

/**
 * To integers (DeZero's `ToInt`): int32 by default (DeZero's `int` is
 * numpy's int64, which NDArray does not have); values truncate toward 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { transforms } = dz;
 * const y = new transforms.ToInt()(dz.array([1.7, -1.7], { dtype: "float32" }));
 * assert.deepEqual([y.dtype, y.toArray()], ["int32", [1, -1]]);
 * ```
 */
export class ToInt extends AsType {
  /** Converts to `dtype` (default int32). */
  constructor(dtype: DType = "int32") {
    super(dtype);
  }
}
