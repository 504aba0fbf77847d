/**
 * Compilation of the JIT's generated kernels on the CPU: JavaScript bodies
 * with `new Function`, with the fast-math and vector functions
 * (`MATH_SCOPE`) and the JIT's WebAssembly loops (`SEG`) bound as closure
 * constants.
 * @module
 */
import { compileLoops, MATH_SCOPE, type SimdFn } from "../simd/vecmath.ts";
import type { WasmFunction } from "../simd/wasm.ts";
import type { CompiledKernel } from "../backend.ts";

/** WebAssembly loops compiled for generated kernels, which call them as `SEG[i]`. */
const SEG: SimdFn[] = [];
const segIndex = new Map<string, number>();

/**
 * The index in `SEG` of the WebAssembly loop `fn` (a `simdLoop` over `VEC`
 * named `f`), compiled on its first request.
 */
export function simdLoopIndex(fn: WasmFunction): number {
  const key = fn.body.join();
  let i = segIndex.get(key);
  if (i === undefined) {
    i = SEG.push(compileLoops([fn])!.f) - 1;
    segIndex.set(key, i);
  }
  return i;
}

const compiled = new Map<string, CompiledKernel>();
const SCOPE_NAMES = [...Object.keys(MATH_SCOPE), "SEG"];
const SCOPE_VALUES = [...Object.values(MATH_SCOPE), SEG];

/**
 * Compiles `body` over `params` once per distinct source text and argument
 * `types` (the dtypes of the buffers it is called with). The types go into
 * the source as a comment: V8 shares type feedback between functions of
 * identical source, which would make one loop polymorphic over the array
 * types of two differently typed callers.
 */
export function compileKernel(params: string[], body: string, types: string[]): CompiledKernel {
  const source = `return function (${params.join(", ")}) {\n// (${types.join(", ")})\n${body}\n};`;
  let fn = compiled.get(source);
  if (!fn) {
    fn = new Function(...SCOPE_NAMES, source)(...SCOPE_VALUES) as CompiledKernel;
    compiled.set(source, fn);
  }
  return fn;
}
