/**
 * What every code generator shares: the generated kernel's description, and
 * the only ways values reach generated source (number literals, sanitised
 * words in comments, the registry's operand names substituted).
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";

/** Generated source of a kernel and the slot names it takes, in order. */
export interface KernelSource {
  /** The function body. */
  body: string;
  /** The slot names it takes, then `scratch` when `scratch` > 0. */
  params: string[];
  /** Its parameter names in `body`, when not the slot names (same order). */
  names?: string[];
  /**
   * Size of the float64 scratch buffer the kernel takes last (a float32
   * reduction's accumulators), 0 for none.
   */
  scratch: number;
}

/** A JS number literal for `x` (numbers only: nothing else reaches the source). */
export function lit(x: unknown): string {
  if (typeof x !== "number") throw new TypeError(`jit: expected a number, got ${typeof x}`);
  if (Object.is(x, -0)) return "(-0)";
  return `(${String(x)})`;
}

/** A comment-safe word. */
export function word(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "");
}

/** Substitutes the registry's operand names in `expr`. */
export function subst(expr: string, names: Record<string, string>): string {
  return expr.replace(/(?<![\w$.])(a|b|p0|p1|acc)(?![\w$])/g, (m) => names[m] ?? m);
}

/** `expr` rounded as stored into a `dtype` array. */
export function round(expr: string, dtype: DType): string {
  if (dtype === "float32") return `Math.fround(${expr})`;
  if (dtype === "int32") return `((${expr}) | 0)`;
  return expr;
}
