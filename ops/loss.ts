/**
 * Losses and training utilities: meanSquaredError, softmaxCrossEntropy,
 * sigmoidCrossEntropy, accuracy, dropout.
 * @module
 */
import { Config } from "../core/autograd/config.ts";
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import { fromValues, NDArray, scalar } from "../core/array/ndarray.ts";
import { fmtShape, sameShape } from "../core/array/shape_rules.ts";
import { asVariable, Variable, type VariableLike } from "../core/autograd/variable.ts";
import { add, clip, div, log, mul, neg, sigmoid, sub } from "./elementwise.ts";
import { logSoftmaxArray, operands, pickOffsets, softmaxArray } from "./helpers.ts";
import { checkNumber } from "../core/validate.ts";
import { sum } from "./reduction.ts";
import { reshape, sumTo } from "./shape.ts";

/**
 * DeZero's mean squared error: `sum((x0 - x1)^2) / len(x0 - x1)`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.meanSquaredError(new Variable([1, 2]), new Variable([1, 4]));
 * assert.ok(y.creator instanceof F.MeanSquaredError);
 * assert.equal(String(y), "variable(2.0)");
 * ```
 */
export class MeanSquaredError extends Function {
  /** The loss as a 0-d array. */
  forward(x0: NDArray, x1: NDArray): NDArray {
    const diff = dispatch("sub", [x0, x1]);
    const s = dispatch("sum", [dispatch("square", [diff])], {
      axes: diff.shape.map((_, i) => i),
      keepdims: false,
    });
    return dispatch("div", [s, scalar(diff.ndim ? diff.shape[0] : 1, s.dtype)]);
  }
  /** `gy * diff * 2 / len`, and its negation, summed to each input's shape. */
  backward(gy: Variable): Variable[] {
    const [x0, x1] = this.inputs;
    const diff = sub(x0, x1);
    const g = mul(mul(gy, diff), 2 / (diff.ndim ? diff.shape[0] : 1));
    return [sumTo(g, x0.shape), sumTo(neg(g), x1.shape)];
  }
}

/**
 * Mean squared error, divided by the batch size (DeZero's quirk: `len(diff)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const y = new Variable([[1, 2], [3, 4]]);
 * const loss = F.meanSquaredError(y, dz.zeros([2, 2])); // (1 + 4 + 9 + 16) / 2 rows
 * assert.equal(String(loss), "variable(15.0)");
 * ```
 */
export function meanSquaredError(x0: VariableLike, x1: VariableLike): Variable {
  return new MeanSquaredError().apply(...operands(x0, x1, "meanSquaredError"));
}

/** Validates integer class labels `t` for scores of shape [N, C]. */
function labels(t: VariableLike, x: Variable, op: string): NDArray {
  const ta = t instanceof Variable
    ? t.data
    : t instanceof NDArray
    ? t
    : fromValues(t, undefined, op);
  if (ta.dtype !== "int32") {
    throw new TypeError(`${op}: labels must be an int32 array, got ${ta.dtype}`);
  }
  if (x.ndim !== 2 || ta.size !== x.shape[0]) {
    throw new RangeError(
      `${op}: scores ${fmtShape(x.shape)} need one label per row, got labels ${fmtShape(ta.shape)}`,
    );
  }
  const flat = dispatch("reshape", [ta], { shape: [ta.size] });
  return dispatch("checkIndex", [flat], { size: x.shape[1], op, what: "label" });
}

/**
 * Softmax followed by cross entropy with integer labels, averaged over the batch.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.softmaxCrossEntropy(new Variable([[0, 0]]), [1]);
 * assert.ok(y.creator instanceof F.SoftmaxCrossEntropy);
 * assert.ok(Math.abs(y.item() - Math.log(2)) < 1e-15);
 * ```
 */
export class SoftmaxCrossEntropy extends Function {
  /**
   * The loss against labels `t`.
   * @param t the validated labels
   */
  constructor(readonly t: NDArray) {
    super();
  }
  /** `-mean_i log_softmax(x_i)[t_i]`. */
  forward(x: NDArray): NDArray {
    const [N, C] = x.shape;
    const logp = logSoftmaxArray(x, 1);
    const picked = dispatch("gather", [logp, pickOffsets(this.t, C)], { shape: [N] });
    const s = dispatch("sum", [picked], { axes: [0], keepdims: false });
    return dispatch("div", [s, scalar(-N, s.dtype)]);
  }
  /** `(softmax(x) - onehot(t)) * gy / N`. */
  backward(gy: Variable): Variable {
    const x = this.inputs[0].data;
    const [N, C] = x.shape;
    const y = softmaxArray(x, 1);
    const ones = dispatch("copy", [scalar(1, y.dtype)], { shape: [N] });
    const onehot = dispatch("scatterAdd", [ones, pickOffsets(this.t, C)], { shape: [N, C] });
    return mul(new Variable(dispatch("sub", [y, onehot])), div(gy, N));
  }
}

/**
 * Cross entropy of softmax(x) ([N, C] scores) against int32 labels t ([N]).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const scores = new Variable(dz.zeros([2, 3])); // 3 equally likely classes
 * const loss = F.softmaxCrossEntropy(scores, [0, 2]);
 * loss.backward();
 * assert.equal(loss.item(), Math.log(3));
 * assert.deepEqual(scores.grad!.shape, [2, 3]);
 * ```
 */
export function softmaxCrossEntropy(x: VariableLike, t: VariableLike): Variable {
  const xv = asVariable(x, "softmaxCrossEntropy");
  return new SoftmaxCrossEntropy(labels(t, xv, "softmaxCrossEntropy")).apply(xv);
}

/**
 * `-sum(t log p + (1 - t) log(1 - p)) / len(p)`, with `p` clipped to
 * `[1e-15, hi]` and `t` reshaped to `p`'s shape: the body of DeZero's two
 * binary cross entropies.
 */
function bernoulliCrossEntropy(op: string, p: Variable, t: Variable, hi: number): Variable {
  if (p.size !== t.size) {
    throw new RangeError(
      `${op}: inputs of shapes ${fmtShape(p.shape)} and ${fmtShape(t.shape)} differ in size`,
    );
  }
  const tt = sameShape(t.shape, p.shape) ? t : reshape(t, p.shape);
  const pc = clip(p, 1e-15, hi);
  const tlogp = add(mul(tt, log(pc)), mul(sub(1, tt), log(sub(1, pc))));
  return div(mul(-1, sum(tlogp)), p.ndim ? p.shape[0] : 1);
}

/**
 * Binary cross entropy of sigmoid(x) against 0/1 labels t, summed over elements / len(x).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const loss = F.sigmoidCrossEntropy(new Variable([[0]]), [[1]]); // sigmoid(0) = 0.5
 * assert.equal(loss.item(), Math.LN2);
 * ```
 */
export function sigmoidCrossEntropy(x: VariableLike, t: VariableLike): Variable {
  const p = sigmoid(asVariable(x, "sigmoidCrossEntropy"));
  return bernoulliCrossEntropy("sigmoidCrossEntropy", p, asVariable(t, "sigmoidCrossEntropy"), 1.0);
}

/**
 * Binary cross entropy of probabilities `p` against 0/1 targets `t`
 * (DeZero's `binary_cross_entropy`): `p` clipped to `[1e-15, 0.999]`, then
 * `-sum(t log p + (1 - t) log(1 - p)) / len(t)`; `t` is reshaped to `p`'s
 * shape when their shapes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F } from "@dezero/dezero-ts";
 * assert.equal(F.binaryCrossEntropy([0.5, 0.5], [1, 0]).item(), Math.LN2);
 * ```
 */
export function binaryCrossEntropy(p: VariableLike, t: VariableLike): Variable {
  return bernoulliCrossEntropy(
    "binaryCrossEntropy",
    asVariable(p, "binaryCrossEntropy"),
    asVariable(t, "binaryCrossEntropy"),
    0.999,
  );
}

/**
 * Fraction of rows whose arg-max equals the label (not differentiable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = new Variable([[0.1, 0.9], [0.8, 0.2]]); // predicts 1, then 0
 * assert.equal(F.accuracy(y, [1, 1]).item(), 0.5);
 * ```
 */
export function accuracy(y: VariableLike, t: VariableLike): Variable {
  const yv = asVariable(y, "accuracy");
  const ta = labels(t, yv, "accuracy");
  const pred = dispatch("argmax", [yv.data], { axis: 1 });
  const hits = dispatch("eq", [pred, ta]);
  const total = dispatch("sum", [hits], { axes: [0], keepdims: false });
  return new Variable(dispatch("div", [total, scalar(ta.size, "float64")]));
}

/**
 * Inverted dropout: in training, zeroes elements with probability `ratio` and scales the rest by `1 / (1 - ratio)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = dz.ones([1000]);
 * const y = F.dropout(x, 0.5); // training: each element 0 or 1 / (1 - 0.5)
 * assert.ok(Array.from(y.data.data).every((v) => v === 0 || v === 2));
 * assert.equal(dz.testMode(() => F.dropout(x)).data, x); // testMode: x unchanged
 * ```
 */
export function dropout(x: VariableLike, ratio = 0.5): Variable {
  const xv = asVariable(x, "dropout");
  if (!(checkNumber(ratio, "dropout", "ratio") >= 0 && ratio < 1)) {
    throw new RangeError(`dropout: ratio must be in [0, 1), got ${ratio}`);
  }
  if (!Config.train) return xv;
  const r = dispatch("random", [], { kind: "uniform", shape: xv.shape, dtype: "float64" });
  const mask = dispatch("gt", [r, scalar(ratio)]);
  const m = dispatch("cast", [mask], { dtype: xv.dtype });
  return div(mul(xv, new Variable(m)), 1 - ratio);
}
