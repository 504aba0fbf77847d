/**
 * Activations over an axis: softmax and logSoftmax (the elementwise ones,
 * sigmoid, relu, leakyRelu, live in elementwise.ts).
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { normalizeAxis } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { exp, mul, sub } from "./elementwise.ts";
import { sum } from "./reduction.ts";

/** `exp(x - max) / sum(exp(x - max))` along `axis`, on arrays. */
export function softmaxArray(x: NDArray, axis: number): NDArray {
  const m = dispatch("max", [x], { axes: [axis], keepdims: true });
  const e = dispatch("exp", [dispatch("sub", [x, m])]);
  return dispatch("div", [e, dispatch("sum", [e], { axes: [axis], keepdims: true })]);
}

/** `x - logsumexp(x)` along `axis`, on arrays. */
export function logSoftmaxArray(x: NDArray, axis: number): NDArray {
  const m = dispatch("max", [x], { axes: [axis], keepdims: true });
  const z = dispatch("sub", [x, m]);
  const s = dispatch("sum", [dispatch("exp", [z])], { axes: [axis], keepdims: true });
  return dispatch("sub", [z, dispatch("log", [s])]);
}

/** Softmax along one axis. */
export class Softmax extends Function {
  /** @param axis the normalized axis */
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

/** Softmax along `axis` (default 1, as DeZero). */
export function softmax(x: VariableLike, axis = 1): Variable {
  const v = asVariable(x);
  return new Softmax(normalizeAxis(axis, v.ndim, "softmax")).apply(v);
}

/** Log-softmax along one axis. */
export class LogSoftmax extends Function {
  /** @param axis the normalized axis */
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

/** Log-softmax along `axis` (default 1). */
export function logSoftmax(x: VariableLike, axis = 1): Variable {
  const v = asVariable(x);
  return new LogSoftmax(normalizeAxis(axis, v.ndim, "logSoftmax")).apply(v);
}
