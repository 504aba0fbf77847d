/**
 * Activations over an axis: softmax and logSoftmax (the elementwise ones,
 * sigmoid, relu, leakyRelu, live in elementwise.ts).
 * @module
 */
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { normalizeAxis } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { exp, mul, sub } from "./elementwise.ts";
import { logSoftmaxArray, softmaxArray } from "./helpers.ts";
import { sum } from "./reduction.ts";

/**
 * Softmax along one axis.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = new F.Softmax(1).apply(new Variable([[0, 0]]));
 * assert.equal(String(y), "variable([[0.5 0.5]])");
 * ```
 */
export class Softmax extends Function {
  /**
   * Softmax along `axis`.
   * @param axis the normalized axis
   */
  constructor(readonly axis: number) {
    super();
  }
  /** The normalized exponentials. */
  forward(x: NDArray): NDArray {
    return softmaxArray(x, this.axis);
  }
  /** `y * gy - y * sum(y * gy)`. */
  backward(gy: Variable): Variable {
    const y = this.outputs[0].deref();
    const gx = mul(y, gy);
    return sub(gx, mul(y, sum(gx, this.axis, true)));
  }
}

/**
 * Softmax along `axis` (default 1, as DeZero).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.softmax(new Variable([[0, Math.log(3)]]));
 * assert.equal(String(y), "variable([[0.25 0.75]])");
 * ```
 */
export function softmax(x: VariableLike, axis = 1): Variable {
  const v = asVariable(x, "softmax");
  return new Softmax(normalizeAxis(axis, v.ndim, "softmax")).apply(v);
}

/**
 * Log-softmax along one axis.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = new F.LogSoftmax(1).apply(new Variable([[0, 0]])).reshape([2]);
 * assert.ok(Math.abs(F.getItem(y, 0).item() - Math.log(0.5)) < 1e-15);
 * ```
 */
export class LogSoftmax extends Function {
  /**
   * Log-softmax along `axis`.
   * @param axis the normalized axis
   */
  constructor(readonly axis: number) {
    super();
  }
  /** `x - logsumexp(x)`. */
  forward(x: NDArray): NDArray {
    return logSoftmaxArray(x, this.axis);
  }
  /** `gy - exp(y) * sum(gy)`. */
  backward(gy: Variable): Variable {
    const y = this.outputs[0].deref();
    return sub(gy, mul(exp(y), sum(gy, this.axis, true)));
  }
}

/**
 * Log-softmax along `axis` (default 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.logSoftmax(new Variable([[0, 0]]));
 * assert.deepEqual(Array.from(y.data.data), [-Math.LN2, -Math.LN2]);
 * ```
 */
export function logSoftmax(x: VariableLike, axis = 1): Variable {
  const v = asVariable(x, "logSoftmax");
  return new LogSoftmax(normalizeAxis(axis, v.ndim, "logSoftmax")).apply(v);
}
