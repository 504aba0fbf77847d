/**
 * The runtime of a module exported with `{ wasm: false }`, for hosts that
 * forbid compiling WebAssembly: the scalar fast-math functions, gemm and
 * random draws, and `VEC` as a plain array. Code generated without
 * WebAssembly calls no vector kernel and no WebAssembly loop, and the
 * scalar functions give the vector kernels' very bits
 * (core/backend/simd/vecmath.ts), so its results are those of the
 * WebAssembly build, except in the last bits of products past the
 * small-product rule (the scalar gemm sums in float64, the WebAssembly one
 * float32 products in float32, fused where the hardware has FMA).
 * @module
 */
import { VEC_LENGTH } from "../simd/wasm.ts";

export * from "../simd/fastmath.ts";
export { gemm } from "./gemm.ts";
export { draw as random, setRngState } from "./rng.ts";

/** Where staged loops keep values between their loops: as long as the WebAssembly build's. */
export const VEC: Float64Array = new Float64Array(VEC_LENGTH);

/** Starts or ends a replay (the WebAssembly gemm forgets the packs it kept; the scalar one keeps none). */
export function gemmEpoch(): void {}
