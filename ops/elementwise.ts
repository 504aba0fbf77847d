/**
 * Elementwise differentiable functions: arithmetic with broadcasting and
 * the math functions. Each is one row: its primitive (core/registry.ts)
 * and its gradient rule written with F functions, so gradients are
 * differentiable again (higher-order derivatives).
 * @module
 */
import { dispatch, NO_ATTRS } from "../core/dispatch.ts";
import { type DType, scalarDType } from "../core/array/dtype.ts";
import { Function } from "../core/autograd/function.ts";
import { type NDArray, scalar } from "../core/array/ndarray.ts";
import { sameShape } from "../core/array/shape_rules.ts";
import type { ElementwiseOp } from "../core/registry.ts";
import { asVariable, Variable, type VariableLike } from "../core/autograd/variable.ts";
import { mask, operands } from "./helpers.ts";
import { checkFinite, checkNumber } from "../core/validate.ts";
import { sumTo } from "./shape.ts";

/** Gradient rule of a unary function: `(x, y, gy) => gx`. */
type UnaryGrad = (x: Variable, y: Variable, gy: Variable) => Variable;

/**
 * A unary elementwise function backed by one registry primitive.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.exp(new Variable([0, 1]));
 * assert.ok(y.creator instanceof F.Unary);
 * assert.equal((y.creator as F.Unary).op, "exp");
 * ```
 */
export class Unary extends Function {
  /**
   * A unary function running primitive `op`.
   * @param op primitive name in the registry
   * @param grad the gradient rule
   * @param params numeric parameters of the primitive (`p0`, `p1`) and,
   * when they make it differ from the input's, the output dtype
   */
  constructor(
    readonly op: ElementwiseOp,
    readonly grad: UnaryGrad,
    readonly params: { p0?: number; p1?: number; dtype?: DType } = NO_ATTRS,
  ) {
    super();
  }
  /** Runs the primitive. */
  forward(x: NDArray): NDArray {
    return dispatch(this.op, [x], this.params);
  }
  /** Applies the gradient rule. */
  backward(gy: Variable): Variable {
    return this.grad(this.inputs[0], this.outputs[0].deref(), gy);
  }
  /** The op's display name (`Exp`), as DeZero's class names. */
  override get name(): string {
    return this.op[0].toUpperCase() + this.op.slice(1);
  }
}

/** Gradient rule of one input of a binary function: `(a, b, y, gy) => g`. */
type BinaryGradOf = (a: Variable, b: Variable, y: Variable, gy: Variable) => Variable;

/** Gradient rules of a binary function: one per input, null when it has none. */
type BinaryGrad = [BinaryGradOf, BinaryGradOf | null];

/**
 * A broadcasting binary function; gradients are summed back to each input's shape.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.mul(new Variable([1, 2]), new Variable([3, 4]));
 * assert.ok(y.creator instanceof F.Binary);
 * assert.equal((y.creator as F.Binary).op, "mul");
 * assert.equal(y.creator.inputs.length, 2);
 * ```
 */
export class Binary extends Function {
  /**
   * A binary function running primitive `op`.
   * @param op primitive name in the registry
   * @param grad the gradient rule (on broadcast shapes)
   * @param constant which inputs were plain numbers (bit 0: `a`, bit 1:
   * `b`): constants that need no gradient
   */
  constructor(readonly op: ElementwiseOp, readonly grad: BinaryGrad, readonly constant = 0) {
    super();
  }
  /** Runs the primitive. */
  forward(a: NDArray, b: NDArray): NDArray {
    return dispatch(this.op, [a, b]);
  }
  /** Applies the gradient rule, then `sumTo` each input's shape. */
  backward(gy: Variable): (Variable | null)[] {
    const [a, b] = this.inputs;
    const y = this.outputs[0].deref();
    const gxs: (Variable | null)[] = [null, null];
    for (let i = 0; i < 2; i++) {
      const x = this.inputs[i], rule = this.grad[i];
      if (rule === null || (this.constant >> i) & 1) continue;
      const g = rule(a, b, y, gy);
      gxs[i] = sameShape(g.shape, x.shape) ? g : sumTo(g, x.shape);
    }
    return gxs;
  }
  /** The op's display name (`Add`). */
  override get name(): string {
    return this.op[0].toUpperCase() + this.op.slice(1);
  }
}

/** `fn` named `op` (as the F function it becomes: printed names, stack traces). */
const named = <T extends (...args: never[]) => Variable>(op: string, fn: T): T =>
  Object.defineProperty(fn, "name", { value: op });
const unary = (op: ElementwiseOp, grad: UnaryGrad) =>
  named(op, (x: VariableLike): Variable => new Unary(op, grad).apply(asVariable(x, op)));
const binary = (op: ElementwiseOp, grad: BinaryGrad) =>
  named(op, (a: VariableLike, b: VariableLike): Variable => {
    const [x, y] = operands(a, b, op);
    return new Binary(op, grad, (typeof a === "number" ? 1 : 0) | (typeof b === "number" ? 2 : 0))
      .apply(x, y);
  });

/**
 * `a + b` with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([1, 2, 3]);
 * assert.equal(String(F.add(x, 10)), "variable([11 12 13])");
 * assert.equal(String(F.add(x, [[0], [10]])), "variable([[ 1  2  3]\n          [11 12 13]])");
 * ```
 */
export const add: (a: VariableLike, b: VariableLike) => Variable = binary(
  "add",
  [(_a, _b, _y, gy) => gy, (_a, _b, _y, gy) => gy],
);
/**
 * `a - b` with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([1, 2, 3]);
 * assert.equal(String(F.sub(x, 1)), "variable([0 1 2])");
 * assert.equal(String(F.sub(1, x)), "variable([ 0 -1 -2])");
 * ```
 */
export const sub: (a: VariableLike, b: VariableLike) => Variable = binary(
  "sub",
  [(_a, _b, _y, gy) => gy, (_a, _b, _y, gy) => neg(gy)],
);
/**
 * `a * b` with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(3); // a bare number is float64
 * const y = F.mul(x, x);
 * y.backward();
 * assert.equal(String(y), "variable(9.0)");
 * assert.equal(String(x.grad), "variable(6.0)");
 * ```
 */
export const mul: (a: VariableLike, b: VariableLike) => Variable = binary(
  "mul",
  [(_a, b, _y, gy) => mul(gy, b), (a, _b, _y, gy) => mul(gy, a)],
);
/**
 * `a / b` (true division) with broadcasting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.div(new Variable([1, 2, 3]), 2)), "variable([0.5 1.  1.5])");
 * ```
 */
export const div: (a: VariableLike, b: VariableLike) => Variable = binary(
  "div",
  [(_a, b, _y, gy) => div(gy, b), (a, b, _y, gy) => mul(gy, div(neg(a), mul(b, b)))],
);
/**
 * `-x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.neg([1, -2])), "variable([-1  2])");
 * ```
 */
export const neg: (x: VariableLike) => Variable = unary("neg", (_x, _y, gy) => neg(gy));

/**
 * DeZero's `Pow(c)`: `x ** c` for a number `c`, kept as an attribute (one
 * input, so the graph has no node for the exponent).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(2);
 * const y = new F.Pow(3).apply(x);
 * y.backward();
 * assert.equal(String(y), "variable(8.0)");
 * assert.equal(String(x.grad), "variable(12.0)");
 * assert.equal(x.pow(3).creator!.inputs.length, 1);
 * ```
 */
export class Pow extends Function {
  /**
   * `x ** c`.
   * @param c the exponent
   */
  constructor(readonly c: number) {
    super();
  }
  /** Runs the primitive with `c` as a scalar of the dtype it takes beside `x`. */
  forward(x: NDArray): NDArray {
    return dispatch("pow", [x, scalar(this.c, scalarDType(this.c, x.dtype, "pow"))]);
  }
  /** `gy * c * x^(c-1)`. */
  backward(gy: Variable): Variable {
    const c = this.c;
    return mul(gy, mul(pow(this.inputs[0], c - 1), c));
  }
}

/**
 * `x ** c`: `c` a number (DeZero's Pow) or, beyond DeZero, a Variable or
 * array, which then gets the gradient `y * log(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(2);
 * const y = F.pow(x, 3); // also x.pow(3)
 * y.backward();
 * assert.equal(String(y), "variable(8.0)");
 * assert.equal(String(x.grad), "variable(12.0)"); // 3 x^2
 * ```
 */
export function pow(x: VariableLike, c: VariableLike): Variable {
  if (typeof c === "number") return new Pow(c).apply(asVariable(x, "pow"));
  return new Binary("pow", [
    (a, b, _y, gy) => mul(gy, mul(b, pow(a, sub(b, 1)))),
    (a, _b, y, gy) => mul(gy, mul(y, log(a))),
  ]).apply(...operands(x, c, "pow"));
}

/**
 * `exp(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(1);
 * const y = F.exp(x);
 * y.backward();
 * assert.equal(String(y), "variable(2.718281828459045)");
 * assert.equal(String(x.grad), String(y)); // d/dx exp(x) = exp(x)
 * ```
 */
export const exp: (x: VariableLike) => Variable = unary("exp", (_x, y, gy) => mul(gy, y));
/**
 * Natural logarithm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(2);
 * const y = F.log(x);
 * y.backward();
 * assert.equal(y.item(), Math.LN2);
 * assert.equal(String(x.grad), "variable(0.5)"); // 1 / x
 * ```
 */
export const log: (x: VariableLike) => Variable = unary("log", (x, _y, gy) => div(gy, x));
/**
 * `sin(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(0);
 * const y = F.sin(x);
 * y.backward();
 * assert.equal(String(y), "variable(0.0)");
 * assert.equal(String(x.grad), "variable(1.0)"); // cos(0)
 * ```
 */
export const sin: (x: VariableLike) => Variable = unary("sin", (x, _y, gy) => mul(gy, cos(x)));
/**
 * `cos(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.cos([0, Math.PI])), "variable([ 1. -1.])");
 * ```
 */
export const cos: (x: VariableLike) => Variable = unary(
  "cos",
  (x, _y, gy) => mul(gy, neg(sin(x))),
);
/**
 * `tanh(x)`; gradient `gy * (1 - y^2)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(0);
 * const y = F.tanh(x);
 * y.backward();
 * assert.equal(String(y), "variable(0.0)");
 * assert.equal(String(x.grad), "variable(1.0)");
 * ```
 */
export const tanh: (x: VariableLike) => Variable = unary(
  "tanh",
  (_x, y, gy) => mul(gy, sub(1, mul(y, y))),
);
/**
 * `sqrt(x)`; gradient `gy / (2 y)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([4, 9]); // int32 in, float64 out
 * assert.equal(String(F.sqrt(x)), "variable([2. 3.])");
 * ```
 */
export const sqrt: (x: VariableLike) => Variable = unary(
  "sqrt",
  (_x, y, gy) => div(gy, mul(y, 2)),
);
/**
 * `|x|`; gradient `gy * sign(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.abs([-1.5, 2])), "variable([1.5 2. ])");
 * ```
 */
export const abs: (x: VariableLike) => Variable = unary(
  "abs",
  (x, _y, gy) => mul(gy, new Variable(dispatch("sign", [x.data]))),
);
/**
 * `x * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(3);
 * const y = F.square(x);
 * y.backward();
 * assert.equal(String(y), "variable(9.0)");
 * assert.equal(String(x.grad), "variable(6.0)");
 * ```
 */
export const square: (x: VariableLike) => Variable = unary(
  "square",
  (x, _y, gy) => mul(gy, mul(x, 2)),
);
/**
 * Logistic sigmoid `1 / (1 + exp(-x))`; gradient `gy * y * (1 - y)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable(0);
 * const y = F.sigmoid(x);
 * y.backward();
 * assert.equal(String(y), "variable(0.5)");
 * assert.equal(String(x.grad), "variable(0.25)");
 * ```
 */
export const sigmoid: (x: VariableLike) => Variable = unary(
  "sigmoid",
  (_x, y, gy) => mul(gy, mul(y, sub(1, y))),
);
/**
 * `max(x, 0)`; gradient `gy * (x > 0)`, computed as `gy * (y > 0)` (the same
 * mask: `y > 0` exactly where `x > 0`), so that the JIT can fuse the ReLU
 * into the store of the matrix product before it (the product itself is
 * then needed by nothing else).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.relu([-1, 0, 2])), "variable([0 0 2])");
 * ```
 */
export const relu: (x: VariableLike) => Variable = unary(
  "relu",
  (_x, y, gy) => mul(gy, mask("gt", y, 0)),
);

/**
 * `x` where `x > 0`, else `slope * x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.leakyRelu([-1, 2])), "variable([-0.2  2. ])");
 * assert.equal(String(F.leakyRelu([-1, 2], 0.5)), "variable([-0.5  2. ])");
 * ```
 */
export function leakyRelu(x: VariableLike, slope = 0.2): Variable {
  const xv = asVariable(x, "leakyRelu");
  checkFinite(slope, "leakyRelu", "slope");
  return new Unary("leakyRelu", (x, _y, gy) => {
    const m = mask("gt", x, 0);
    return mul(gy, add(mul(m, 1 - slope), slope));
  }, { p0: slope, dtype: paramDType(xv, "leakyRelu", slope) }).apply(xv);
}

/**
 * `x` clipped to `[xMin, xMax]` (numpy's `minimum(maximum(x, xMin), xMax)`:
 * all `xMax` when `xMin > xMax`); the gradient passes only inside the range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * assert.equal(String(F.clip([-2, 0.5, 3], 0, 1)), "variable([0.  0.5 1. ])");
 * ```
 */
export function clip(x: VariableLike, xMin: number, xMax: number): Variable {
  const xv = asVariable(x, "clip");
  checkNumber(xMin, "clip", "xMin");
  checkNumber(xMax, "clip", "xMax");
  return new Unary("clip", (x, _y, gy) => {
    return mul(gy, mul(mask("ge", x, xMin), mask("le", x, xMax)));
  }, { p0: xMin, p1: xMax, dtype: paramDType(xv, "clip", xMin, xMax) }).apply(xv);
}

/** The dtype `x` computes in beside numeric parameters: an int32 `x` with a fractional one gives float64. */
function paramDType(x: Variable, op: string, ...params: number[]): DType {
  return params.reduce((d, p) => scalarDType(p, d, op), x.dtype);
}
