/**
 * What generated JIT code runs against on the CPU: `RUNTIME`, the names a
 * tape's module text reads from its `rt` argument (the fast-math and vector
 * functions over `VEC`, the backend's gemm and random draws, and `wasmLoop`
 * to instantiate the WebAssembly loops the text carries as base64).
 * @module
 */
import { instantiateLoop, MATH_SCOPE, type SimdFn } from "../simd/vecmath.ts";
import { gemm } from "./gemm.ts";
import { draw } from "./rng.ts";

/** A WebAssembly loop module (base64, from `loopModule`) instantiated over `VEC`'s memory. */
export function wasmLoop(base64: string): SimdFn {
  return instantiateLoop(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}

/** The names generated code calls, by name. */
export const RUNTIME: Readonly<Record<string, unknown>> = Object.freeze({
  ...MATH_SCOPE,
  gemm,
  random: draw,
  wasmLoop,
});
