/**
 * The CPU backend: generated JavaScript loops (with WebAssembly SIMD for the
 * float32 math), the packed gemm, gather/scatter-add loops and numpy's
 * MT19937 generator, behind the Backend interface.
 * @module
 */
import type { Backend } from "../backend.ts";
import { RUNTIME } from "./compile.ts";
import { runIndex } from "./gather.ts";
import { gemm } from "./gemm.ts";
import { runElementwise, runReduction } from "./loops.ts";
import { draw } from "./rng.ts";

/** Index of the maximum along the middle axis of `x` as `[outer, len, inner]` (first on ties, NaN wins). */
function argmax(
  out: Int32Array,
  x: ArrayLike<number>,
  outer: number,
  len: number,
  inner: number,
): void {
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      let best = 0, bestV = x[p * len * inner + q];
      for (let k = 1; k < len; k++) {
        const v = x[(p * len + k) * inner + q];
        if (v > bestV || (v !== v && bestV === bestV)) {
          best = k;
          bestV = v;
        }
      }
      out[p * inner + q] = best;
    }
  }
}

/** The CPU backend. */
export const cpu: Backend = {
  name: "cpu",
  elementwise: runElementwise,
  reduce: runReduction,
  gemm,
  gather: (out, x, offsets) => runIndex("gather", out, x, offsets),
  scatterAdd: (out, g, offsets) => runIndex("scatterAdd", out, g, offsets),
  argmax,
  random: draw,
  runtime: RUNTIME,
};
