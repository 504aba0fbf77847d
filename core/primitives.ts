/**
 * The op registry: every primitive kernel described once, as data.
 *
 * An elementwise primitive is a scalar expression over `a` (and `b`) with
 * optional numeric parameters `p0`, `p1`; a reduction is an identity and a
 * combine expression over `acc` and `a`. The eager kernels (core/kernels.ts)
 * and the JIT's fused loops (jit/) are both generated from these strings, so
 * an op's arithmetic exists in exactly one place.
 * @module
 */
import type { DType } from "./dtype.ts";
import { promote, toFloat } from "./dtype.ts";

/** How an op's output dtype follows from its input dtypes. */
export type DTypeRule = "promote" | "float";

/** An elementwise primitive: one scalar expression per output element. */
export interface ElementwiseSpec {
  /** Op name, as recorded by the dispatcher. */
  readonly name: string;
  /** Number of array operands (`a`, `b`). */
  readonly arity: 1 | 2;
  /** Number of numeric parameters (`p0`, `p1`) the expression reads. */
  readonly params: number;
  /** JavaScript expression computing the element from `a`, `b`, `p0`, `p1`. */
  readonly expr: string;
  /**
   * Faster expression for a float32 output, calling the fast-math functions
   * of core/fastmath.ts by their `FASTMATH` names (e.g. `exp32(a)`); float64
   * outputs use `expr`.
   */
  readonly expr32?: string;
  /**
   * The vector function of core/vecmath.ts computing `expr32` over an array
   * bit for bit (e.g. `vexp`), for unary ops that have one.
   */
  readonly vec32?: string;
  /**
   * The f64x2 instruction of core/wasm.ts (`F64X2`) that computes `expr`
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
  readonly name: string;
  /** Starting value of the accumulator (a JS literal). */
  readonly identity: string;
  /** Expression of the new accumulator from `acc` and element `a`. */
  readonly combine: string;
  /** Whether reducing zero elements is an error (max/min) or the identity. */
  readonly emptyError: boolean;
}

const ew = (
  name: string,
  arity: 1 | 2,
  expr: string,
  dtype: DTypeRule = "promote",
  params = 0,
  fast: Pick<ElementwiseSpec, "expr32" | "vec32" | "simd"> = {},
): ElementwiseSpec => ({ name, arity, expr, dtype, params, ...fast, exact: EXACT.has(name) });

/** Ops whose result is one of their operands, its negation, or 0/1. */
const EXACT = new Set([
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

/** Elementwise primitives by name. */
export const ELEMENTWISE: Readonly<Record<string, ElementwiseSpec>> = Object
  .fromEntries(
    [
      ew("copy", 1, "a"),
      ew("neg", 1, "-a", "promote", 0, { simd: "neg" }),
      ew("abs", 1, "Math.abs(a)", "promote", 0, { simd: "abs" }),
      ew("sign", 1, "(a > 0 ? 1 : a < 0 ? -1 : a)"),
      ew("square", 1, "a * a", "promote", 0, { simd: "mul" }),
      ew("exp", 1, "Math.exp(a)", "float", 0, { expr32: "exp32(a)", vec32: "vexp" }),
      ew("log", 1, "Math.log(a)", "float", 0, { expr32: "log32(a)", vec32: "vlog" }),
      ew("sin", 1, "Math.sin(a)", "float", 0, { expr32: "sin32(a)", vec32: "vsin" }),
      ew("cos", 1, "Math.cos(a)", "float", 0, { expr32: "cos32(a)", vec32: "vcos" }),
      ew("tanh", 1, "Math.tanh(a)", "float", 0, { expr32: "tanh32(a)", vec32: "vtanh" }),
      ew("sqrt", 1, "Math.sqrt(a)", "float", 0, { simd: "sqrt" }),
      ew("sigmoid", 1, "1 / (1 + Math.exp(-a))", "float", 0, {
        expr32: "sigmoid32(a)",
        vec32: "vsigmoid",
      }),
      ew("relu", 1, "(a < 0 ? 0 : a)"),
      ew("leakyRelu", 1, "(a > 0 ? a : a * p0)", "promote", 1),
      ew("clip", 1, "(a < p0 ? p0 : a > p1 ? p1 : a)", "promote", 2),
      ew("add", 2, "a + b", "promote", 0, { simd: "add" }),
      ew("sub", 2, "a - b", "promote", 0, { simd: "sub" }),
      ew("mul", 2, "a * b", "promote", 0, { simd: "mul" }),
      ew("div", 2, "a / b", "float", 0, { simd: "div" }),
      ew("pow", 2, "a ** b"),
      ew("maximum", 2, "(a >= b || a !== a ? a : b)"),
      ew("minimum", 2, "(a <= b || a !== a ? a : b)"),
      ew("gt", 2, "(a > b ? 1 : 0)"),
      ew("ge", 2, "(a >= b ? 1 : 0)"),
      ew("lt", 2, "(a < b ? 1 : 0)"),
      ew("le", 2, "(a <= b ? 1 : 0)"),
      ew("eq", 2, "(a === b ? 1 : 0)"),
      // an index in [-p0, p0) wrapped to [0, p0), times the stride p1; NaN
      // out of bounds (NaN survives the offset sums; the gather reports it)
      ew("indexOffset", 1, "(a >= -p0 && a < p0 ? (a < 0 ? a + p0 : a) * p1 : NaN)", "float", 2),
    ].map((s) => [s.name, s]),
  );

/** Reduction primitives by name. */
export const REDUCTIONS: Readonly<Record<string, ReductionSpec>> = {
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

/** Output dtype of an elementwise op applied to operands of dtype `a` (and `b`). */
export function elementwiseDType(spec: ElementwiseSpec, a: DType, b: DType | null = null): DType {
  const d = b === null ? a : promote(a, b);
  return spec.dtype === "float" ? toFloat(d) : d;
}
