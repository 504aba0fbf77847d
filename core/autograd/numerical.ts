/**
 * Numerical differentiation (DeZero's `numerical_grad`) and the gradient
 * check that compares it with backpropagation (`gradient_check`).
 * @module
 */
import { dispatch } from "../dispatch.ts";
import { NDArray, RAW, zerosLike } from "../array/ndarray.ts";
import { Variable } from "./variable.ts";
import { checkFinite, checkFunction, checkOptions, show } from "../validate.ts";

/**
 * The gradient of `sum(f(x))` with respect to `x` by central differences,
 * `(f(x + eps) - f(x - eps)) / (2 eps)` per element, evaluated on a float64
 * copy of `x` (DeZero's `numerical_grad`). `f` may itself call `backward`,
 * so the derivative of a gradient can be checked too.
 *
 * @param f the function to differentiate
 * @param x the point (its values are not modified)
 * @param eps the step
 * @returns a float64 array shaped like `x`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, utils, Variable } from "@dezero/dezero-ts";
 * const g = utils.numericalGrad((x) => F.square(x), new Variable(3));
 * assert.ok(Math.abs(g.item() - 6) < 1e-6); // d/dx x^2 = 2x
 * ```
 */
export function numericalGrad(
  f: (x: Variable) => Variable,
  x: Variable | NDArray,
  eps = 1e-4,
): NDArray {
  checkFunction(f, "numericalGrad", "f");
  checkFinite(eps, "numericalGrad", "eps");
  const point = pointOf(x, "numericalGrad");
  const values = point[RAW];
  const grad = new Float64Array(values.length);
  // a float64 copy: f may return a view of the point it is given
  const run = (): NDArray => result(f(new Variable(point)), "numericalGrad").astype("float64");
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    values[i] = v + eps;
    const y1 = run();
    values[i] = v - eps;
    const y2 = run();
    values[i] = v;
    grad[i] = y1.sub(y2).sum().item() / (2 * eps);
  }
  return new NDArray(grad, point.shape);
}

/** Options of `gradientCheck`: numpy's allclose tolerances. */
export interface GradientCheckOptions {
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
}

/**
 * Compares the backward gradient of `f` at `x` (converted to float64, as
 * DeZero does) with `numericalGrad`, by numpy's allclose rule
 * `|num - bp| <= atol + rtol * |bp|` (DeZero's `gradient_check`).
 *
 * @returns true when they agree; on false, the largest difference is logged
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, utils, Variable } from "@dezero/dezero-ts";
 * assert.ok(utils.gradientCheck((x) => F.sin(x), new Variable([0.5, 1.5])));
 * ```
 */
export function gradientCheck(
  f: (x: Variable) => Variable,
  x: Variable | NDArray,
  options?: GradientCheckOptions,
): boolean {
  const { rtol = 1e-4, atol = 1e-5 } = checkOptions(options, "gradientCheck", ["rtol", "atol"]);
  checkFunction(f, "gradientCheck", "f");
  checkFinite(rtol, "gradientCheck", "rtol");
  checkFinite(atol, "gradientCheck", "atol");
  const xv = new Variable(pointOf(x, "gradientCheck"));
  const y = f(xv);
  result(y, "gradientCheck");
  const num = numericalGrad(f, xv);
  y.backward();
  const bp = xv.grad === null ? zerosLike(num) : xv.grad.data;
  const diff = dispatch("abs", [num.sub(bp)]);
  const tol = dispatch("abs", [bp]).mul(rtol).add(atol);
  const close = dispatch("le", [diff, tol]).sum().item() === num.size;
  if (!close) {
    const worst = diff.max().item();
    console.warn(
      `gradientCheck: FAILED, max |numerical - backprop| = ${worst} over ${num.size} elements (rtol ${rtol}, atol ${atol})`,
    );
  }
  return close;
}

/** `x`'s values as a float64 copy; throws naming `op` unless `x` is a Variable or NDArray. */
function pointOf(x: Variable | NDArray, op: string): NDArray {
  if (!(x instanceof Variable) && !(x instanceof NDArray)) {
    throw new TypeError(`${op}: x must be a Variable or an NDArray, got ${show(x)}`);
  }
  return (x instanceof Variable ? x.data : x).astype("float64");
}

/** The data of what `f` returned; throws naming `op` unless it is a Variable. */
function result(y: unknown, op: string): NDArray {
  if (!(y instanceof Variable)) {
    throw new TypeError(`${op}: f must return a Variable, got ${show(y)}`);
  }
  return y.data;
}
