/**
 * The backend room's public face: the active Backend, and what the JIT's
 * code generators build on (the CPU loop helpers, the index loops, the
 * fast-math scope, the WebAssembly emitter and vector kernels). Code above
 * the backend imports from here only.
 * @module
 */
import type { Backend } from "./backend.ts";
import { cpu } from "./cpu/cpu.ts";

export type { Backend } from "./backend.ts";
export { argmaxLoop } from "./cpu/argmax.ts";
export { checkLoop, checkMessage, indexLoop, OUT_OF_BOUNDS, PAD } from "./cpu/gather.ts";
export { isSmallGemm } from "./cpu/gemm.ts";
export { getThreads, setThreads } from "./pool.ts";
export { mergeAxes } from "./cpu/loops.ts";
export { nextInterval, type RngState, rngState, seed } from "./cpu/rng.ts";
export { loopModule, VEC, VEC_BASE, VECTORIZED } from "./simd/vecmath.ts";
export { F32X4, F64X2, op1, op2, SIMD_STEP, SIMD_STEP32, simdLoop, type Vec } from "./simd/wasm.ts";

/**
 * The modules an exported tape imports its runtime from (as `rt` names):
 * with the WebAssembly kernels, or (`js`) without WebAssembly.
 */
export const RUNTIME_MODULES: Readonly<{ wasm: string; js: string }> = Object.freeze({
  wasm: new URL("./cpu/runtime.ts", import.meta.url).href,
  js: new URL("./cpu/runtime_js.ts", import.meta.url).href,
});

/** The backend every kernel call runs on. */
export const backend: Backend = cpu;
