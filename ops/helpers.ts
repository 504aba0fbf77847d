/**
 * What several F functions share, kept out of the `F` namespace (ops/mod.ts
 * re-exports every export of the F modules): numbers as operands beside
 * Variables (numpy's weak scalars), constant 0/1 masks, and softmax and
 * log-softmax on arrays, the flat offsets of one label per row.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { type DType, scalarDType } from "../core/array/dtype.ts";
import { arange, NDArray, scalar } from "../core/array/ndarray.ts";
import { asVariable, Variable, type VariableLike } from "../core/autograd/variable.ts";

/**
 * Two operands as Variables; a plain number takes the dtype it would have
 * beside the other operand (numpy's weak scalars: `x32 * 2` stays float32).
 */
export function operands(a: VariableLike, b: VariableLike, op: string): [Variable, Variable] {
  if (typeof a === "number") {
    const db = dtypeOfOperand(b);
    if (db) a = constant(a, db, op);
  } else if (typeof b === "number") {
    const da = dtypeOfOperand(a);
    if (da) b = constant(b, da, op);
  }
  return [asVariable(a, op), asVariable(b, op)];
}

function dtypeOfOperand(v: VariableLike): DType | null {
  return v instanceof Variable || v instanceof NDArray ? v.dtype : null;
}

/** A number as a Variable of the dtype it takes beside `like`. */
function constant(c: number, like: DType, op: string): Variable {
  return new Variable(scalar(c, scalarDType(c, like, op)));
}

/** A constant 0/1 Variable `x <op> value`, in x's dtype (float64 for int32 beside a fraction). */
export function mask(
  op: "gt" | "ge" | "lt" | "le" | "eq",
  x: Variable,
  value: number | NDArray,
): Variable {
  const v = typeof value === "number" ? scalar(value, scalarDType(value, x.dtype)) : value;
  return new Variable(dispatch(op, [x.data, v]));
}

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

/** Flat offsets of `x[i, t[i]]` in an `[N, C]` array, for int32 indices `t` `[N]`. */
export function pickOffsets(t: NDArray, C: number): NDArray {
  const rows = dispatch("mul", [arange(t.size), scalar(C, "int32")]);
  return dispatch("add", [rows, t]);
}
