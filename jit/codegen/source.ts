/**
 * What every code generator shares: the generated kernel's description, and
 * the only ways values reach generated source (number literals, index sums,
 * sanitised words in comments, the registry's operand names substituted).
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";

/** A generated kernel: a function over buffers, declared in the tape's module. */
export interface KernelSource {
  /** What it computes, for its header comment (`fused loop: sub, exp, sum`). */
  title: string;
  /** The function body. */
  body: string;
  /** The buffer slots it takes, in order (the driver passes them). */
  args: string[];
  /** Its parameter names in `body`, when not the slot names (same order). */
  names?: string[];
  /**
   * Size of the float64 scratch buffer it takes after its slots (a float32
   * reduction's accumulators), 0 for none.
   */
  scratch: number;
}

/** Where a code generator puts a WebAssembly loop: returns the name the source calls it by. */
export type DeclareWasm = (module: Uint8Array) => string;

/** `x` as a JS number expression (numbers only: nothing else reaches the source). */
export function num(x: unknown): string {
  if (typeof x !== "number") throw new TypeError(`jit: expected a number, got ${typeof x}`);
  return Object.is(x, -0) ? "-0" : String(x);
}

/** `x` as an operand: `num(x)`, parenthesised when negative (`a ** (-2)`). */
export function lit(x: unknown): string {
  const s = num(x);
  return s[0] === "-" ? `(${s})` : s;
}

/** Whether `s` is an operand literal made by `lit`. */
export function isLit(s: string): boolean {
  return /^(\(-)?[\d.]|^\(?-?Infinity|^NaN/.test(s);
}

/** An identifier-safe word (letters, digits, `_`). */
export function word(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "");
}

/**
 * `s` for a `//` comment: letters, digits and the punctuation of shapes and
 * paths only (names come from user classes and fields), others as `?`.
 */
export function comment(s: string): string {
  return s.replace(/[^\w .,:>@\[\]+-]/g, "?");
}

/** Substitutes the registry's operand names in `expr`. */
export function subst(expr: string, names: Record<string, string>): string {
  return expr.replace(/(?<![\w$.])(a|b|p0|p1|acc)(?![\w$])/g, (m) => names[m] ?? m);
}

/** `expr` rounded as stored into a `dtype` array. */
export function round(expr: string, dtype: DType): string {
  if (dtype === "float32") return `Math.fround(${expr})`;
  if (dtype === "int32") return /^[\w.$]+$/.test(expr) ? `${expr} | 0` : `(${expr}) | 0`;
  return expr;
}

/** `v * k`, written as simply as it reads: "" for k = 0 or no `v`, `v` for k = 1. */
export function scaled(v: string, k: number): string {
  return k === 0 || v === "" ? "" : k === 1 ? v : `${v} * ${num(k)}`;
}

/** The sum of index terms (empty ones dropped), "0" for none. */
export function sum(...terms: (string | number)[]): string {
  const parts = terms.map(String).filter((t) => t !== "" && t !== "0");
  return parts.length === 0 ? "0" : parts.join(" + ");
}

/** Re-indents generated code by its braces (two spaces a level). */
export function indent(code: string, depth = 0): string {
  const out: string[] = [];
  for (const raw of code.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const closes = /^[}\])]+/.exec(line)?.[0].length ?? 0;
    out.push("  ".repeat(Math.max(0, depth - closes)) + line);
    depth += (line.match(/[{[(]/g)?.length ?? 0) - (line.match(/[}\])]/g)?.length ?? 0);
  }
  return out.join("\n");
}
