/**
 * The op registry: every primitive kernel described once, as data.
 *
 * An elementwise primitive is a scalar expression over `a` (and `b`) with
 * optional numeric parameters `p0`, `p1`; a reduction is an identity and a
 * combine expression over `acc` and `a`. The eager kernels (core/backend/cpu/loops.ts)
 * and the JIT's fused loops (jit/) are both generated from these strings, so
 * an op's arithmetic exists in exactly one place.
 * @module
 */
import type { DType } from "./array/dtype.ts";
import { promote, toFloat } from "./array/dtype.ts";

/** How an op's output dtype follows from its input dtypes. */
export type DTypeRule = "promote" | "float";

/** An elementwise primitive: one scalar expression per output element. */
export interface ElementwiseSpec {
  /** Op name, as recorded by the dispatcher. */
  readonly name: ElementwiseOp;
  /** Number of array operands (`a`, `b`). */
  readonly arity: 1 | 2;
  /** Number of numeric parameters (`p0`, `p1`) the expression reads. */
  readonly params: number;
  /** JavaScript expression computing the element from `a`, `b`, `p0`, `p1`. */
  readonly expr: string;
  /**
   * Faster expression for a float32 output, calling the fast-math functions
   * of core/backend/simd/fastmath.ts by their `FASTMATH` names (e.g. `exp32(a)`); float64
   * outputs use `expr`.
   */
  readonly expr32?: string;
  /**
   * Expression for an int32 output where JS arithmetic on doubles differs
   * from numpy's int32, which wraps: a product by `Math.imul`, a power by
   * `ipow` (core/backend/simd/fastmath.ts); a float converted to int32
   * (`copy`) is numpy's INT_MIN when NaN or out of range. Other int32
   * results wrap when stored (or rounded by `| 0`).
   */
  readonly int?: string;
  /**
   * The vector function of core/backend/simd/vecmath.ts computing `expr32` over an array
   * bit for bit (e.g. `vexp`), for unary ops that have one.
   */
  readonly vec32?: string;
  /**
   * The f64x2 instruction of core/backend/simd/wasm.ts (`F64X2`) that computes `expr`
   * in float64 exactly as JS does (`add`, `mul`...), for the JIT's
   * WebAssembly loops; a unary op with a two-operand instruction applies it
   * to `(a, a)`.
   */
  readonly simd?: "add" | "sub" | "mul" | "div" | "neg" | "abs" | "sqrt";
  /** Output dtype rule. */
  readonly dtype: DTypeRule;
  /**
   * Whether the result is exactly representable in the operands' dtype (a
   * sign change, a selection, 0/1), so a fused loop need not round it.
   */
  readonly exact: boolean;
}

/** A reduction primitive over a set of axes. */
export interface ReductionSpec {
  /** Op name, as recorded by the dispatcher. */
  readonly name: ReductionOp;
  /** Starting value of the accumulator (a JS literal). */
  readonly identity: string;
  /** Expression of the new accumulator from `acc` and element `a`. */
  readonly combine: string;
  /**
   * Whether reducing zero elements (a reduced axis of length 0) is an
   * error (max/min) or gives the identity.
   */
  readonly emptyError: boolean;
}

/** Names of the elementwise primitives. */
export type ElementwiseOp =
  | "copy"
  | "neg"
  | "abs"
  | "sign"
  | "square"
  | "exp"
  | "log"
  | "sin"
  | "cos"
  | "tanh"
  | "sqrt"
  | "sigmoid"
  | "relu"
  | "leakyRelu"
  | "clip"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "gt"
  | "ge"
  | "lt"
  | "le"
  | "eq"
  | "indexOffset";

/** Names of the reduction primitives. */
export type ReductionOp = "sum" | "max" | "min";

/**
 * Names of the primitives that are neither elementwise nor reductions: their
 * kernels are written out in core/dispatch.ts.
 */
export type StructuralOp =
  | "reshape"
  | "transpose"
  | "cast"
  | "matmul"
  | "gather"
  | "scatterAdd"
  | "argmax"
  | "random"
  | "checkIndex";

/** Every primitive the dispatcher runs: each per-op table is typed by it. */
export type OpName = ElementwiseOp | ReductionOp | StructuralOp;

/** Ops whose result is one of their operands, its negation, or 0/1. */
const EXACT: ReadonlySet<ElementwiseOp> = new Set<ElementwiseOp>([
  "copy",
  "neg",
  "abs",
  "sign",
  "relu",
  "maximum",
  "minimum",
  "gt",
  "ge",
  "lt",
  "le",
  "eq",
]);

const ew = (
  name: ElementwiseOp,
  arity: 1 | 2,
  expr: string,
  dtype: DTypeRule = "promote",
  params = 0,
  fast: Pick<ElementwiseSpec, "expr32" | "vec32" | "simd" | "int"> = {},
): ElementwiseSpec => ({ name, arity, expr, dtype, params, ...fast, exact: EXACT.has(name) });

/** Elementwise primitives by name. */
export const ELEMENTWISE: Readonly<Record<ElementwiseOp, ElementwiseSpec>> = {
  copy: ew("copy", 1, "a", "promote", 0, {
    int: "(a > -2147483649 && a < 2147483648 ? a : -2147483648)",
  }),
  neg: ew("neg", 1, "-a", "promote", 0, { simd: "neg", int: "(-a | 0)" }),
  abs: ew("abs", 1, "Math.abs(a)", "promote", 0, { simd: "abs", int: "(Math.abs(a) | 0)" }),
  sign: ew("sign", 1, "(a > 0 ? 1 : a < 0 ? -1 : a)"),
  square: ew("square", 1, "a * a", "promote", 0, { simd: "mul", int: "Math.imul(a, a)" }),
  exp: ew("exp", 1, "Math.exp(a)", "float", 0, { expr32: "exp32(a)", vec32: "vexp" }),
  log: ew("log", 1, "Math.log(a)", "float", 0, { expr32: "log32(a)", vec32: "vlog" }),
  sin: ew("sin", 1, "Math.sin(a)", "float", 0, { expr32: "sin32(a)", vec32: "vsin" }),
  cos: ew("cos", 1, "Math.cos(a)", "float", 0, { expr32: "cos32(a)", vec32: "vcos" }),
  tanh: ew("tanh", 1, "Math.tanh(a)", "float", 0, { expr32: "tanh32(a)", vec32: "vtanh" }),
  sqrt: ew("sqrt", 1, "Math.sqrt(a)", "float", 0, { simd: "sqrt" }),
  sigmoid: ew("sigmoid", 1, "1 / (1 + Math.exp(-a))", "float", 0, {
    expr32: "sigmoid32(a)",
    vec32: "vsigmoid",
  }),
  relu: ew("relu", 1, "(a < 0 ? 0 : a)"),
  leakyRelu: ew("leakyRelu", 1, "(a > 0 ? a : a * p0)", "promote", 1),
  // numpy's min(max(a, p0), p1): p1 wins when p0 > p1
  clip: ew("clip", 1, "(a < p0 ? (p0 > p1 ? p1 : p0) : a > p1 ? p1 : a)", "promote", 2),
  add: ew("add", 2, "a + b", "promote", 0, { simd: "add" }),
  sub: ew("sub", 2, "a - b", "promote", 0, { simd: "sub" }),
  mul: ew("mul", 2, "a * b", "promote", 0, { simd: "mul", int: "Math.imul(a, b)" }),
  div: ew("div", 2, "a / b", "float", 0, { simd: "div" }),
  pow: ew("pow", 2, "a ** b", "promote", 0, { int: "ipow(a, b)" }),
  maximum: ew("maximum", 2, "(a >= b || a !== a ? a : b)"),
  minimum: ew("minimum", 2, "(a <= b || a !== a ? a : b)"),
  gt: ew("gt", 2, "(a > b ? 1 : 0)"),
  ge: ew("ge", 2, "(a >= b ? 1 : 0)"),
  lt: ew("lt", 2, "(a < b ? 1 : 0)"),
  le: ew("le", 2, "(a <= b ? 1 : 0)"),
  eq: ew("eq", 2, "(a === b ? 1 : 0)"),
  // an index in [-p0, p0) wrapped to [0, p0), times the stride p1; NaN
  // out of bounds (NaN survives the offset sums; the gather reports it)
  indexOffset: ew(
    "indexOffset",
    1,
    "(a >= -p0 && a < p0 ? (a < 0 ? a + p0 : a) * p1 : NaN)",
    "float",
    2,
  ),
};

/** Reduction primitives by name. */
export const REDUCTIONS: Readonly<Record<ReductionOp, ReductionSpec>> = {
  sum: { name: "sum", identity: "0", combine: "acc + a", emptyError: false },
  max: {
    name: "max",
    identity: "-Infinity",
    combine: "(a > acc || a !== a ? a : acc)",
    emptyError: true,
  },
  min: {
    name: "min",
    identity: "Infinity",
    combine: "(a < acc || a !== a ? a : acc)",
    emptyError: true,
  },
};

/** Whether `op` names an elementwise primitive. */
export function isElementwise(op: string): op is ElementwiseOp {
  return Object.hasOwn(ELEMENTWISE, op);
}

/** Whether `op` names a reduction primitive. */
export function isReduction(op: string): op is ReductionOp {
  return Object.hasOwn(REDUCTIONS, op);
}

/** The expression that computes `spec` into an output of `dtype`. */
export function exprFor(spec: ElementwiseSpec, dtype: DType): string {
  if (dtype === "float32") return spec.expr32 ?? spec.expr;
  if (dtype === "int32") return spec.int ?? spec.expr;
  return spec.expr;
}

/** Output dtype of an elementwise op applied to operands of dtype `a` (and `b`). */
export function elementwiseDType(spec: ElementwiseSpec, a: DType, b: DType | null = null): DType {
  const d = b === null ? a : promote(a, b);
  return spec.dtype === "float" ? toFloat(d) : d;
}
