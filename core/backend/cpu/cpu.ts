/**
 * The CPU backend: generated JavaScript loops (with WebAssembly SIMD for the
 * float32 math), the WebAssembly SIMD gemm (the scalar packed gemm where
 * it does not run), gather/scatter-add and argmax loops and numpy's MT19937
 * generator, behind the Backend interface.
 * @module
 */
import type { Backend } from "../backend.ts";
import { runArgmax } from "./argmax.ts";
import { runCheck, runIndex } from "./gather.ts";
import { gemm } from "../simd/gemm.ts";
import { runElementwise, runReduction } from "./loops.ts";
import { draw } from "./rng.ts";
import * as RUNTIME from "./runtime.ts";

/** The CPU backend. */
export const cpu: Backend = {
  name: "cpu",
  elementwise: runElementwise,
  reduce: runReduction,
  gemm,
  gather: (out, x, offsets, batch) => runIndex("gather", out, x, offsets, batch),
  scatterAdd: (out, g, offsets, batch) => runIndex("scatterAdd", out, g, offsets, batch),
  checkIndex: runCheck,
  argmax: runArgmax,
  random: draw,
  runtime: RUNTIME,
};
