/**
 * The runtime of generated code on the CPU: every name a tape's module text
 * reads from its `rt` argument, as ES exports (the fast-math functions, the
 * vector kernels over `VEC`, gemm, random draws and the generator's state,
 * and `wasmLoop` to instantiate the WebAssembly loops the text carries as
 * base64). The JIT passes this module's namespace as `rt`; a module
 * exported by `step.export()` imports the names it calls from here, so
 * esbuild bundles only those (from runtime_js.ts when exported without
 * WebAssembly).
 * @module
 */
import { instantiateLoop, type SimdFn } from "../simd/vecmath.ts";

export * from "../simd/fastmath.ts";
export { vcos, VEC, vexp, vlog, vsigmoid, vsin, vsincos, vtanh } from "../simd/vecmath.ts";
export { gemm, gemmEpoch } from "../simd/gemm.ts";
export { draw as random, setRngState } from "./rng.ts";

/** A WebAssembly loop module (base64, from `loopModule`) instantiated over `VEC`'s memory. */
export function wasmLoop(base64: string): SimdFn {
  return instantiateLoop(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}
