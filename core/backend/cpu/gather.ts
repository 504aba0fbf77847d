/**
 * The gather and scatter-add loops (getItem and its gradient, im2col and
 * col2im) and the index check (class labels): one loop source serves the
 * eager kernels (sizes as parameters) and the JIT (sizes baked in).
 * @module
 */
import type { TypedArray } from "../../array/dtype.ts";
import { cachedLoop, type LoopCache, typeCode } from "./loops.ts";

const indexCache: LoopCache = new Map();

/** What a gather or scatter-add throws for an offset outside its array (NaN: an index out of bounds). */
export const OUT_OF_BOUNDS = "getItem: an index is out of bounds";

/**
 * The offset of a padding element: a gather writes 0 there, a scatter-add
 * drops the value (im2col's zero padding, and col2im cutting it off again).
 * No index array of getItem makes it: its offsets are sums of non-negative
 * terms, or NaN.
 */
export const PAD = -1;

/**
 * Source of a gather or scatter-add over `batch` blocks. The source `X`
 * (gather) or result `O` (scatter-add) is `batch` blocks of `bound`
 * elements, the other side `batch` blocks of `len`, and every block uses
 * the same offsets `I` (`len` of them): a gather sets
 * `O[b, i] = X[b, I[i]]`, a scatter-add zeroes `O`, then adds
 * `O[b, I[i]] += X[b, i]`. Each offset is checked against `bound`; a `PAD`
 * offset reads 0 or is dropped. `len`, `bound` and `batch` are source
 * expressions: names for the eager loop, literals for the JIT's
 * shape-specialised copy. The eager kernels and the JIT share this one
 * definition.
 */
export function indexLoop(
  op: "gather" | "scatterAdd",
  len: string,
  bound: string,
  batch: string,
): string {
  const fail = `throw new RangeError(${JSON.stringify(OUT_OF_BOUNDS)});`;
  const body = op === "gather"
    ? [
      `if (k >= 0 && k < ${bound}) O[o] = X[x0 + k];`,
      `else if (k === ${PAD}) O[o] = 0;`,
      `else ${fail}`,
    ]
    : [`if (k >= 0 && k < ${bound}) O[x0 + k] += X[o];`, `else if (k !== ${PAD}) ${fail}`];
  return [
    ...(op === "scatterAdd" ? ["O.fill(0);"] : []),
    `for (let b = 0, o = 0; b < ${batch}; b++) {`,
    `const x0 = b * ${bound};`,
    `for (let i = 0; i < ${len}; i++, o++) {`,
    `const k = I[i];`,
    ...body,
    `}`,
    `}`,
  ].join("\n");
}

/**
 * Runs the gather or scatter-add of `indexLoop` eagerly (one loop per op
 * and dtypes), over `batch` blocks sharing `offsets`.
 */
export function runIndex(
  op: "gather" | "scatterAdd",
  out: TypedArray,
  x: TypedArray,
  offsets: TypedArray,
  batch: number,
): void {
  const fn = cachedLoop<
    (o: TypedArray, x: TypedArray, i: TypedArray, n: number, b: number, nb: number) => void
  >(
    indexCache,
    op,
    (typeCode(out) * 3 + typeCode(x)) * 3 + typeCode(offsets),
    ["O", "X", "I", "n", "bound", "nb"],
    () => `"use strict";\n${indexLoop(op, "n", "bound", "nb")}`,
  );
  const [len, bound] = op === "gather" ? [out.length, x.length] : [x.length, out.length];
  fn(out, x, offsets, len / batch, bound / batch, batch);
}

/**
 * Source of the index check: `O[i] = X[i]` for `len` int32 indices, each
 * in `[0, size)`, else `throw new RangeError(pre + X[i] + post)`. `len`,
 * `size`, `pre` and `post` are source expressions (names for the eager
 * loop; for the JIT, literals: numbers, and strings as JSON).
 */
export function checkLoop(len: string, size: string, pre: string, post: string): string {
  return `for (let i = 0; i < ${len}; i++) {
const v = X[i];
if (!(v >= 0 && v < ${size})) throw new RangeError(${pre} + v + ${post});
O[i] = v;
}`;
}

/** The message around a bad index of the check (`op: what V out of range [0, size)`). */
export function checkMessage(op: string, what: string, size: number): [string, string] {
  return [`${op}: ${what} `, ` out of range [0, ${size})`];
}

/** Runs the index check of `checkLoop` eagerly: `out` a copy of `x`, each in `[0, size)`. */
export function runCheck(out: Int32Array, x: Int32Array, size: number, op: string, what: string) {
  const fn = cachedLoop<
    (o: Int32Array, x: Int32Array, n: number, size: number, pre: string, post: string) => void
  >(
    indexCache,
    "checkIndex",
    0,
    ["O", "X", "n", "size", "pre", "post"],
    () => `"use strict";\n${checkLoop("n", "size", "pre", "post")}`,
  );
  fn(out, x, x.length, size, ...checkMessage(op, what, size));
}
