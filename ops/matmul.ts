/**
 * Matrix products: matmul (numpy's, batched, with broadcast batch axes) and
 * linear (`x @ W + b`, DeZero's Linear function).
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import type { NDArray } from "../core/array/ndarray.ts";
import { fmtShape } from "../core/array/shape_rules.ts";
import { asVariable, type Variable, type VariableLike } from "../core/autograd/variable.ts";
import { add } from "./elementwise.ts";
import { checkBool } from "../core/validate.ts";
import { reshape, sumTo } from "./shape.ts";

/**
 * Matrix product of operands with at least two axes, each optionally read
 * with its last two axes swapped (`transA`, `transB`: no transposed copy is
 * made, the product reads it so).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const a = new Variable([[1, 2]]), b = new Variable([[3], [4]]);
 * const y = new F.MatMul().apply(a, b);
 * y.backward();
 * assert.equal(String(y), "variable([[11]])");
 * assert.equal(String(a.grad), "variable([[3 4]])");
 * assert.equal(String(new F.MatMul(false, true).apply(a, a)), "variable([[5]])"); // a @ a^T
 * ```
 */
export class MatMul extends Function {
  /**
   * A matrix product `op(a) @ op(b)`.
   * @param transA read `a` with its last two axes swapped
   * @param transB read `b` with its last two axes swapped
   */
  constructor(readonly transA = false, readonly transB = false) {
    super();
    checkBool(transA, "MatMul", "transA");
    checkBool(transB, "MatMul", "transB");
  }
  /** Runs the matmul kernel. */
  forward(a: NDArray, b: NDArray): NDArray {
    const { transA, transB } = this;
    return dispatch("matmul", [a, b], transA || transB ? { transA, transB } : undefined);
  }
  /**
   * `ga = gy @ op(b)^T` (transposed back when `transA`), `gb = op(a)^T @ gy`
   * (likewise), summed over broadcast batch axes; the transposes are read,
   * never copied.
   */
  backward(gy: Variable): Variable[] {
    const [a, b] = this.inputs, { transA, transB } = this;
    const ga = transA
      ? new MatMul(transB, true).apply(b, gy)
      : new MatMul(false, !transB).apply(gy, b);
    const gb = transB
      ? new MatMul(true, transA).apply(gy, a)
      : new MatMul(!transA, false).apply(a, gy);
    return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
  }
}

/**
 * `a @ b` with numpy's semantics: 1-D operands are promoted to matrices
 * (and the added axis dropped), batch axes broadcast.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable([[1, 2], [3, 4]]);
 * const W = new Variable([[1, 0], [0, 10]]);
 * assert.equal(String(F.matmul(x, W)), "variable([[ 1 20]\n          [ 3 40]])"); // also x.matmul(W)
 * assert.deepEqual(F.matmul(dz.zeros([5, 2, 3]), dz.zeros([3, 4])).shape, [5, 2, 4]); // batched
 * ```
 */
export function matmul(a: VariableLike, b: VariableLike): Variable {
  const av = asVariable(a, "matmul"), bv = asVariable(b, "matmul");
  if (av.ndim === 0 || bv.ndim === 0) {
    throw new RangeError(
      `matmul: operands must be at least 1-D, got ${fmtShape(av.shape)} and ${fmtShape(bv.shape)}`,
    );
  }
  if (av.ndim >= 2 && bv.ndim >= 2) return new MatMul().apply(av, bv);
  const a2 = av.ndim === 1 ? reshape(av, [1, av.shape[0]]) : av;
  const b2 = bv.ndim === 1 ? reshape(bv, [bv.shape[0], 1]) : bv;
  const y = new MatMul().apply(a2, b2);
  const shape = [...y.shape];
  if (bv.ndim === 1) shape.pop();
  if (av.ndim === 1) shape.splice(shape.length - (bv.ndim === 1 ? 1 : 2), 1);
  return reshape(y, shape);
}

/**
 * `x @ W + b` (b optional), DeZero's `linear`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2]]);
 * const W = new Variable([[1, 0, 1], [0, 1, 1]]);
 * assert.equal(String(F.linear(x, W, [10, 20, 30])), "variable([[11 22 33]])");
 * ```
 */
export function linear(x: VariableLike, W: VariableLike, b: VariableLike | null = null): Variable {
  const y = matmul(x, W);
  return b === null ? y : add(y, asVariable(b, "linear"));
}
