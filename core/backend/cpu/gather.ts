/**
 * getItem's gather and its gradient's scatter-add: one loop source serves
 * the eager kernels (sizes as parameters) and the JIT (sizes baked in).
 * @module
 */
import type { TypedArray } from "../../array/dtype.ts";
import { cachedLoop, type LoopCache, typeCode } from "./loops.ts";

const indexCache: LoopCache = new Map();

/** What a gather or scatter-add throws for an offset outside its array (NaN: an index out of bounds). */
export const OUT_OF_BOUNDS = "getItem: an index is out of bounds";

/**
 * Source of getItem's gather (`O[i] = X[I[i]]`, i < `len`) or its gradient's
 * scatter-add (`O` zeroed, then `O[I[i]] += X[i]`), each offset checked
 * against `bound`. `len` and `bound` are source expressions: names for the
 * eager loop, literals for the JIT's shape-specialised copy. The eager
 * kernels and the JIT share this one definition.
 */
export function indexLoop(op: "gather" | "scatterAdd", len: string, bound: string): string {
  const check = `if (!(k >= 0 && k < ${bound})) throw new RangeError(${
    JSON.stringify(OUT_OF_BOUNDS)
  });`;
  return op === "gather"
    ? `for (let i = 0; i < ${len}; i++) {\nconst k = I[i];\n${check}\nO[i] = X[k];\n}`
    : `O.fill(0);\nfor (let i = 0; i < ${len}; i++) {\nconst k = I[i];\n${check}\nO[k] += X[i];\n}`;
}

/** Runs the gather or scatter-add of `indexLoop` eagerly (one loop per op and dtypes). */
export function runIndex(
  op: "gather" | "scatterAdd",
  out: TypedArray,
  x: TypedArray,
  offsets: TypedArray,
): void {
  const fn = cachedLoop<
    (o: TypedArray, x: TypedArray, i: TypedArray, n: number, b: number) => void
  >(
    indexCache,
    op,
    (typeCode(out) * 3 + typeCode(x)) * 3 + typeCode(offsets),
    ["O", "X", "I", "n", "bound"],
    () => `"use strict";\n${indexLoop(op, "n", "bound")}`,
  );
  if (op === "gather") fn(out, x, offsets, out.length, x.length);
  else fn(out, x, offsets, x.length, out.length);
}
