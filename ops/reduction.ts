/**
 * Reductions: sum, mean, average, max, min, logsumexp over axes with
 * keepdims.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { normalizeAxes, reducedShape, sizeOf } from "../core/array/shape_rules.ts";
import { asVariable, Variable, type VariableLike } from "../core/autograd/variable.ts";
import { add, div, exp, log, mul, sub } from "./elementwise.ts";
import { mask } from "./helpers.ts";
import { checkBool } from "../core/validate.ts";
import { broadcastTo, reshape } from "./shape.ts";

/** Axis argument of reductions: one axis, several, or null for all. */
export type Axis = number | readonly number[] | null;

/**
 * Sum, max or min over a set of axes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.max(new Variable([[1, 5], [7, 2]]), 1);
 * assert.ok(y.creator instanceof F.Reduce);
 * assert.equal((y.creator as F.Reduce).op, "max");
 * assert.equal(String(y), "variable([5 7])");
 * ```
 */
export class Reduce extends Function {
  /**
   * A reduction `op` over `axes`.
   * @param op `sum`, `max` or `min`
   * @param axes the normalized axes reduced
   * @param keepdims whether reduced axes stay as length 1
   */
  constructor(
    readonly op: "sum" | "max" | "min",
    readonly axes: number[],
    readonly keepdims: boolean,
  ) {
    super();
  }
  /** Runs the reduction primitive. */
  forward(x: NDArray): NDArray {
    return dispatch(this.op, [x], { axes: this.axes, keepdims: this.keepdims });
  }
  /**
   * sum: `gy` broadcast back over the reduced axes; max/min: routed to the
   * elements equal to the result (every tie gets it, as DeZero).
   */
  backward(gy: Variable): Variable {
    const x = this.inputs[0];
    const kept = reducedShape(x.shape, this.axes, true);
    const g = broadcastTo(reshape(gy, kept), x.shape);
    if (this.op === "sum") return g;
    const y = this.outputs[0].deref().data;
    const yb = dispatch("copy", [dispatch("reshape", [y], { shape: kept })], { shape: x.shape });
    return mul(g, mask("eq", x, yb));
  }
  /** `Sum`, `Max` or `Min`. */
  override get name(): string {
    return this.op[0].toUpperCase() + this.op.slice(1);
  }
}

function reduce(
  op: "sum" | "max" | "min",
  x: VariableLike,
  axis: Axis,
  keepdims: boolean,
): Variable {
  const v = asVariable(x, op);
  const axes = normalizeAxes(axis, v.ndim, op);
  return new Reduce(op, axes, checkBool(keepdims, op, "keepdims")).apply(v);
}

/**
 * Sum over `axis` (all when null).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * assert.equal(String(F.sum(x)), "variable(21)");
 * assert.equal(String(F.sum(x, 0)), "variable([5 7 9])");
 * assert.equal(String(F.sum(x, 1, true)), "variable([[ 6]\n          [15]])");
 * ```
 */
export function sum(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  return reduce("sum", x, axis, keepdims);
}

/**
 * Maximum over `axis` (all when null); the gradient goes to the maxima.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable(dz.array([[1, 5], [7, 2]], { dtype: "float64" }));
 * const y = F.max(x, 1);
 * y.backward();
 * assert.equal(String(y), "variable([5. 7.])");
 * assert.equal(String(x.grad), "variable([[0. 1.]\n          [1. 0.]])");
 * ```
 */
export function max(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  return reduce("max", x, axis, keepdims);
}

/**
 * Minimum over `axis` (all when null); the gradient goes to the minima.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 5], [7, 2]]);
 * assert.equal(String(F.min(x)), "variable(1)");
 * assert.equal(String(F.min(x, 0)), "variable([1 2])");
 * ```
 */
export function min(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  return reduce("min", x, axis, keepdims);
}

/**
 * Mean over `axis` (all when null): `sum / count`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2], [3, 6]]);
 * assert.equal(String(F.mean(x)), "variable(3.0)"); // also x.mean()
 * assert.equal(String(F.mean(x, 1)), "variable([1.5 4.5])");
 * ```
 */
export function mean(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  const v = asVariable(x, "mean");
  const axes = normalizeAxes(axis, v.ndim, "mean");
  const count = sizeOf(axes.map((a) => v.shape[a]));
  return div(sum(v, axes, keepdims), count);
}

/**
 * DeZero's `average` (its `mean`): `sum(x, axis, keepdims)` times the
 * fraction of elements each result stands for (`y.size / x.size`); `mean`
 * divides by the count instead, which can round differently.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.deepEqual(F.average([[1, 2], [3, 4]], 0).data.toArray(), [2, 3]); // sums times 1/2
 * ```
 */
export function average(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  const v = asVariable(x);
  const y = sum(v, axis, keepdims);
  return mul(y, y.size / v.size);
}

/**
 * `log(sum(exp(x)))` over `axis`, computed stably as
 * `m + log(sum(exp(x - m)))` with `m` the (constant) maximum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[0, 0], [1000, 1000]]);
 * const y = F.logsumexp(x, 1); // no overflow for large values
 * assert.deepEqual(Array.from(y.data.data), [Math.LN2, 1000 + Math.LN2]);
 * ```
 */
export function logsumexp(x: VariableLike, axis: Axis = null, keepdims = false): Variable {
  const v = asVariable(x, "logsumexp");
  const axes = normalizeAxes(axis, v.ndim, "logsumexp");
  checkBool(keepdims, "logsumexp", "keepdims");
  const m = new Variable(dispatch("max", [v.data], { axes, keepdims: true }));
  const s = log(sum(exp(sub(v, m)), axes, true));
  const y = add(s, m);
  return keepdims ? y : reshape(y, reducedShape(v.shape, axes, false));
}
