/**
 * The argmax loop: one source serves the eager kernel (sizes as parameters)
 * and the JIT (sizes baked in).
 * @module
 */
import type { TypedArray } from "../../array/dtype.ts";
import { cachedLoop, type LoopCache, typeCode } from "./loops.ts";

const argmaxCache: LoopCache = new Map();

/**
 * Source of `O[p, q] = argmax_k X[p, k, q]` for `X` viewed as
 * `[outer, len, inner]` (`len` >= 1): the first maximum wins, and the first
 * NaN beats any number (numpy's argmax). The sizes are source expressions:
 * names for the eager loop, literals for the JIT.
 */
export function argmaxLoop(outer: string, len: string, inner: string): string {
  return [
    `for (let p = 0, o = 0; p < ${outer}; p++) {`,
    `for (let q = 0; q < ${inner}; q++, o++) {`,
    `let at = p * ${len} * ${inner} + q, best = 0, bestV = X[at];`,
    `for (let k = 1; k < ${len}; k++) {`,
    `at += ${inner};`,
    `const v = X[at];`,
    `if (v > bestV || (v !== v && bestV === bestV)) {`,
    `best = k;`,
    `bestV = v;`,
    `}`,
    `}`,
    `O[o] = best;`,
    `}`,
    `}`,
  ].join("\n");
}

/** Runs `argmaxLoop` eagerly (one loop per input dtype). */
export function runArgmax(
  out: Int32Array,
  x: TypedArray,
  outer: number,
  len: number,
  inner: number,
): void {
  const fn = cachedLoop<
    (o: Int32Array, x: TypedArray, outer: number, len: number, inner: number) => void
  >(
    argmaxCache,
    "argmax",
    typeCode(x),
    ["O", "X", "outer", "len", "inner"],
    () => `"use strict";\n${argmaxLoop("outer", "len", "inner")}`,
  );
  fn(out, x, outer, len, inner);
}
