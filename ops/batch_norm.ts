/**
 * Batch normalization (DeZero's `BatchNorm` / `batch_nrom`): per channel,
 * `gamma * (x - mean) / sqrt(var + eps) + beta`, with the batch's
 * statistics in training (the running averages updated in place, as tape
 * steps of a JIT replay) and the running averages in test mode.
 * @module
 */
import { checkFinite } from "../core/validate.ts";
import { Config } from "../core/autograd/config.ts";
import { dispatch, NO_ATTRS } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import { type NDArray, scalar } from "../core/array/ndarray.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { asVariable, Variable, type VariableLike } from "../core/autograd/variable.ts";
import { div, mul, sub } from "./elementwise.ts";
import { sum } from "./reduction.ts";
import { reshape } from "./shape.ts";

/** The axes a channel's statistics run over, and the shape they keep. */
function channelAxes(x: { shape: number[] }): { axes: number[]; kept: number[] } {
  const C = x.shape[1];
  return x.shape.length === 4
    ? { axes: [0, 2, 3], kept: [1, C, 1, 1] }
    : { axes: [0], kept: [1, C] };
}

/** `1 / sqrt(v + eps)` elementwise. */
function invSqrt(v: NDArray, eps: number): NDArray {
  const s = dispatch("sqrt", [dispatch("add", [v, scalar(eps, v.dtype)])]);
  return dispatch("div", [scalar(1, v.dtype), s]);
}

/** `avg = avg * decay + rate * stat`, in place, in DeZero's order of operations. */
function decayInto(avg: NDArray, stat: NDArray, decay: number, rate: number): void {
  dispatch("mul", [avg, scalar(decay, avg.dtype)], NO_ATTRS, avg);
  const s = dispatch("mul", [
    dispatch("reshape", [stat], { shape: avg.shape }),
    scalar(rate, stat.dtype),
  ]);
  dispatch("add", [avg, s], NO_ATTRS, avg);
}

/**
 * Batch normalization over axis 1 of a `[N, C]` or `[N, C, H, W]` input;
 * inputs `x, gamma, beta, mean, var` (the running statistics, written in
 * place in training; they get no gradient).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F, ones, zeros } from "@dezero/dezero-ts";
 * const x = array([[1, 2], [3, 6]], { dtype: "float64" });
 * const y = F.batchNorm(x, ones([2]), zeros([2]), zeros([2]), ones([2]));
 * assert.ok(y.creator instanceof F.BatchNorm);
 * assert.ok(Math.abs(y.data.data[2] - 1) < 1e-4); // y[1, 0] = (3 - 2) / sqrt(1 + eps)
 * ```
 */
export class BatchNorm extends Function {
  /** Whether the call normalized by the batch's statistics (training). */
  train = true;
  /** The mean the forward subtracted, and `1 / sqrt(var + eps)` it scaled by (shape `kept`). */
  #mean: NDArray | null = null;
  #invStd: NDArray | null = null;

  /**
   * The function's static arguments.
   * @param decay the running averages' decay
   * @param eps added to the variance
   */
  constructor(readonly decay: number, readonly eps: number) {
    super();
  }

  /** `gamma * (x - mean) * invStd + beta`; in training also the running averages' update. */
  forward(x: NDArray, gamma: NDArray, beta: NDArray, avgMean: NDArray, avgVar: NDArray): NDArray {
    const { axes, kept } = channelAxes(x);
    const reshaped = (a: NDArray) => dispatch("reshape", [a], { shape: kept });
    this.train = Config.train;
    if (this.train) {
      const m = x.size / x.shape[1];
      const count = scalar(m, x.dtype);
      const mean = dispatch("div", [dispatch("sum", [x], { axes, keepdims: true }), count]);
      const sq = dispatch("square", [dispatch("sub", [x, mean])]);
      const v = dispatch("div", [dispatch("sum", [sq], { axes, keepdims: true }), count]);
      this.#mean = mean;
      this.#invStd = invSqrt(v, this.eps);
      const adjust = m / (m - 1 > 1 ? m - 1 : 1); // the unbiased variance
      decayInto(avgMean, mean, this.decay, 1 - this.decay);
      decayInto(avgVar, v, this.decay, (1 - this.decay) * adjust);
    } else {
      this.#mean = dispatch("copy", [reshaped(avgMean)]); // kept for the backward
      this.#invStd = invSqrt(reshaped(avgVar), this.eps);
    }
    const xc = dispatch("mul", [dispatch("sub", [x, this.#mean]), this.#invStd]);
    return dispatch("add", [dispatch("mul", [reshaped(gamma), xc]), reshaped(beta)]);
  }

  /**
   * DeZero's gradients (the statistics' own dependence on x included in
   * training, `1 / sqrt(var + eps)` a constant): `gbeta = sum(gy)`,
   * `ggamma = sum(xc * gy)`, `gx = (gy - gbeta/m - xc * ggamma/m) * gamma
   * * invStd`; in test mode, where the statistics are constants,
   * `gx = gy * gamma * invStd`.
   */
  backward(gy: Variable): (Variable | null)[] {
    const [x, gamma] = this.inputs;
    const { axes, kept } = channelAxes(x);
    const m = x.size / x.shape[1];
    const invStd = new Variable(this.#invStd!);
    const mean = this.train ? div(sum(x, axes, true), m) : new Variable(this.#mean!);
    const xc = mul(sub(x, mean), invStd);
    const gbeta = sum(gy, axes);
    const ggamma = sum(mul(xc, gy), axes);
    const scale = mul(reshape(gamma, kept), invStd);
    const g = this.train
      ? sub(sub(gy, div(reshape(gbeta, kept), m)), div(mul(xc, reshape(ggamma, kept)), m))
      : gy;
    return [mul(g, scale), ggamma, gbeta, null, null];
  }
}

/**
 * Batch normalization of `x` (`[N, C]` or `[N, C, H, W]`) per channel
 * (DeZero's `batch_nrom`): in training (`Config.train`),
 * `gamma * (x - mu) / sqrt(sigma^2 + eps) + beta` with the batch's mean
 * and variance, and the running statistics `mean` and `variance` (arrays of
 * C values, or Variables holding them, as L.BatchNorm's Parameters) updated
 * in place: `avg = decay * avg + (1 - decay) * stat`, the variance unbiased
 * (`* m / (m - 1)`); in test mode the running statistics normalize.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F, ones, zeros } from "@dezero/dezero-ts";
 * const x = array([[1, 2], [3, 6]], { dtype: "float64" });
 * const mean = zeros([2]), variance = ones([2]);
 * const y = F.batchNorm(x, ones([2]), zeros([2]), mean, variance);
 * assert.ok(Math.abs(y.data.data[0] + 1) < 1e-4); // (1 - 2) / sqrt(1 + eps)
 * assert.ok(Math.abs(mean.data[1] - 0.4) < 1e-12); // 0.9 * 0 + 0.1 * the batch mean 4
 * ```
 */
export function batchNorm(
  x: VariableLike,
  gamma: VariableLike,
  beta: VariableLike,
  mean: VariableLike,
  variance: VariableLike,
  decay = 0.9,
  eps = 2e-5,
): Variable {
  const xv = asVariable(x, "batchNorm");
  const args = [gamma, beta, mean, variance].map((v) => asVariable(v, "batchNorm"));
  if (xv.ndim !== 2 && xv.ndim !== 4) {
    throw new RangeError(
      `batchNorm: x must be [N, C] or [N, C, H, W], got shape ${fmtShape(xv.shape)}`,
    );
  }
  if (xv.dtype === "int32") {
    throw new TypeError("batchNorm: x must be float32 or float64, got int32");
  }
  const C = xv.shape[1];
  ["gamma", "beta", "mean", "var"].forEach((name, i) => {
    const s = args[i].shape;
    if (s.length !== 1 || s[0] !== C) {
      throw new RangeError(
        `batchNorm: ${name} must have shape [${C}] for x ${fmtShape(xv.shape)}, got ${fmtShape(s)}`,
      );
    }
  });
  checkFinite(decay, "batchNorm", "decay");
  checkFinite(eps, "batchNorm", "eps");
  return new BatchNorm(decay, eps).apply(xv, ...args);
}
