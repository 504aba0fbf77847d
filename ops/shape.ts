/**
 * Shape functions: reshape, transpose, broadcastTo, sumTo, expandDims,
 * flatten. They move or replicate elements without arithmetic, and each
 * one's backward is another shape function.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import { type NDArray, sumToArray } from "../core/array/ndarray.ts";
import {
  checkBroadcastTo,
  checkShape,
  fmtShape,
  normalizeAxis,
  resolveAxes,
  resolveShape,
  sameShape,
  type Shape,
} from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";

/**
 * Reshape to a fixed target shape.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { arange, F } from "@dezero/dezero-ts";
 * const y = new F.Reshape([3, 2]).apply(arange(6));
 * assert.deepEqual(y.shape, [3, 2]);
 * ```
 */
export class Reshape extends Function {
  /**
   * A reshape to `shape`.
   * @param shape the resolved target shape
   */
  constructor(readonly shape: number[]) {
    super();
  }
  /** A view with the new shape. */
  forward(x: NDArray): NDArray {
    return dispatch("reshape", [x], { shape: this.shape });
  }
  /** Reshape back to the input's shape. */
  backward(gy: Variable): Variable {
    return reshape(gy, this.inputs[0].shape);
  }
}

/**
 * `x` with a new shape of the same size (one axis may be -1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(F.reshape(x, [3, 2]).shape, [3, 2]);
 * assert.deepEqual(F.reshape(x, [-1]).shape, [6]); // also x.reshape(6)
 * ```
 */
export function reshape(x: VariableLike, shape: Shape): Variable {
  const v = asVariable(x, "reshape");
  const target = resolveShape(v.shape, shape, "reshape");
  if (sameShape(v.shape, target)) return v;
  return new Reshape(target).apply(v);
}

/**
 * Permutation of axes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = new F.Transpose([1, 0]).apply(new Variable([[1, 2, 3]]));
 * assert.equal(String(y), "variable([[1]\n          [2]\n          [3]])");
 * ```
 */
export class Transpose extends Function {
  /**
   * A permutation by `axes`.
   * @param axes the resolved permutation
   */
  constructor(readonly axes: number[]) {
    super();
  }
  /** The permuted copy. */
  forward(x: NDArray): NDArray {
    return dispatch("transpose", [x], { axes: this.axes });
  }
  /** Transpose by the inverse permutation. */
  backward(gy: Variable): Variable {
    const inv = new Array<number>(this.axes.length);
    this.axes.forEach((a, i) => (inv[a] = i));
    return transpose(gy, inv);
  }
}

/**
 * `x` with axes permuted by `axes` (reversed when omitted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * assert.equal(String(F.transpose(x)), "variable([[1 4]\n          [2 5]\n          [3 6]])");
 * assert.deepEqual(F.transpose(dz.zeros([2, 3, 4]), [1, 0, 2]).shape, [3, 2, 4]);
 * ```
 */
export function transpose(x: VariableLike, axes: readonly number[] | null = null): Variable {
  const v = asVariable(x, "transpose");
  return new Transpose(resolveAxes(axes, v.ndim, "transpose")).apply(v);
}

/**
 * Replication of `x` along broadcast axes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([1, 2, 3]);
 * const y = new F.BroadcastTo([2, 3]).apply(x);
 * y.backward();
 * assert.deepEqual(y.shape, [2, 3]);
 * assert.equal(String(x.grad), "variable([2 2 2])");
 * ```
 */
export class BroadcastTo extends Function {
  /**
   * A broadcast to `shape`.
   * @param shape the target shape
   */
  constructor(readonly shape: number[]) {
    super();
  }
  /** The broadcast copy. */
  forward(x: NDArray): NDArray {
    return dispatch("copy", [x], { shape: this.shape });
  }
  /** Sum back to the input's shape. */
  backward(gy: Variable): Variable {
    return sumTo(gy, this.inputs[0].shape);
  }
}

/**
 * `x` broadcast to `shape` (numpy's broadcast_to).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable(dz.array([1, 2], { dtype: "float64" }));
 * const y = F.broadcastTo(x, [3, 2]);
 * y.backward();
 * assert.deepEqual(y.shape, [3, 2]);
 * assert.equal(String(x.grad), "variable([3. 3.])"); // summed back over the copies
 * ```
 */
export function broadcastTo(x: VariableLike, shape: Shape): Variable {
  const v = asVariable(x, "broadcastTo");
  const target = checkShape(shape, "broadcastTo");
  if (sameShape(v.shape, target)) return v;
  checkBroadcastTo(v.shape, target, "broadcastTo");
  return new BroadcastTo(target).apply(v);
}

/**
 * Sum over the axes that broadcasting to the input's shape added.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, ones } from "@dezero/dezero-ts";
 * const y = new F.SumTo([1, 3]).apply(ones([2, 3]));
 * assert.equal(String(y), "variable([[2. 2. 2.]])");
 * ```
 */
export class SumTo extends Function {
  /**
   * A sum down to `shape`.
   * @param shape the target shape
   */
  constructor(readonly shape: number[]) {
    super();
  }
  /** The sum over broadcast axes, reshaped to the target. */
  forward(x: NDArray): NDArray {
    return sumToArray(x, this.shape);
  }
  /** Broadcast back to the input's shape. */
  backward(gy: Variable): Variable {
    return broadcastTo(gy, this.inputs[0].shape);
  }
}

/**
 * `x` summed down to `shape` (the reverse of broadcastTo).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * assert.equal(String(F.sumTo(x, [1, 3])), "variable([[5 7 9]])");
 * assert.equal(String(F.sumTo(x, [2, 1])), "variable([[ 6]\n          [15]])");
 * ```
 */
export function sumTo(x: VariableLike, shape: Shape): Variable {
  const v = asVariable(x, "sumTo");
  const target = checkShape(shape, "sumTo");
  if (sameShape(v.shape, target)) return v;
  try {
    checkBroadcastTo(target, v.shape, "sumTo");
  } catch {
    throw new RangeError(
      `sumTo: cannot sum shape ${fmtShape(v.shape)} to ${fmtShape(target)}`,
    );
  }
  return new SumTo(target).apply(v);
}

/**
 * `x` with a new axis of length 1 inserted at `axis`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([1, 2, 3]);
 * assert.deepEqual(F.expandDims(x, 0).shape, [1, 3]);
 * assert.deepEqual(F.expandDims(x, -1).shape, [3, 1]);
 * ```
 */
export function expandDims(x: VariableLike, axis: number): Variable {
  const v = asVariable(x, "expandDims");
  const a = normalizeAxis(axis, v.ndim + 1, "expandDims");
  const shape = [...v.shape];
  shape.splice(a, 0, 1);
  return reshape(v, shape);
}

/**
 * `x` reshaped to `[x.shape[0], -1]` (DeZero's flatten).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * assert.deepEqual(F.flatten(dz.zeros([2, 3, 4])).shape, [2, 12]);
 * ```
 */
export function flatten(x: VariableLike): Variable {
  const v = asVariable(x, "flatten");
  if (v.ndim === 0) throw new RangeError("flatten: needs at least one axis, got shape []");
  return reshape(v, [v.shape[0], -1]);
}
