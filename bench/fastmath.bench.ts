/**
 * core/backend/simd/fastmath.ts against `Math.*`: one pass over a 1,000,000-element
 * Float32Array into another, per function, with `Math.*` as the baseline.
 * Each loop is compiled by itself (as the kernel generator does), so every
 * call site stays monomorphic. Also listed: the vector form of
 * core/backend/simd/vecmath.ts over 2,048-element chunks of `VEC` (the operands already
 * there, as in a JIT tile), and the eager float32 kernel through the
 * dispatcher (copies through `VEC`, and allocates its 4 MB output).
 *
 *   deno bench -A bench/fastmath.bench.ts
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import type { ElementwiseOp } from "../core/registry.ts";
import { FASTMATH } from "../core/backend/simd/fastmath.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { MATH_SCOPE, VEC, VEC_BASE } from "../core/backend/simd/vecmath.ts";

const N = 1_000_000;

/** Fixed-seed uniform float32 inputs in [lo, hi). */
function inputs(lo: number, hi: number, seed: number): Float32Array {
  const x = new Float32Array(N);
  let s = seed;
  for (let i = 0; i < N; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return x;
}

const out = new Float32Array(N);

/** `O[i] = f(A[i])` over all of `A`, as its own compiled function with `f` a constant. */
function loop(name: string, f: (x: number) => number): (a: Float32Array) => void {
  return new Function(
    "f",
    "O",
    `return function ${name}(A) { for (let i = 0; i < A.length; i++) O[i] = f(A[i]); };`,
  )(f, out);
}

const cases: [ElementwiseOp, (x: number) => number, Float32Array, string?][] = [
  ["exp", Math.exp, inputs(-10, 10, 1)],
  ["log", Math.log, inputs(1e-3, 100, 2)],
  ["sin", Math.sin, inputs(-100, 100, 3)],
  ["cos", Math.cos, inputs(-100, 100, 4)],
  ["tanh", Math.tanh, inputs(-5, 5, 5)],
  ["sigmoid", (x) => 1 / (1 + Math.exp(-x)), inputs(-10, 10, 6), "1 / (1 + Math.exp(-x))"],
];

for (const [name, math, x, label = `Math.${name}`] of cases) {
  const baseline = loop(`math_${name}`, math);
  const fast = loop(`fast_${name}`, FASTMATH[`${name}32`]);
  const nd = new NDArray(x);
  Deno.bench(label, { group: name, baseline: true }, () => baseline(x));
  Deno.bench(`${name}32`, { group: name }, () => fast(x));
  const vector = MATH_SCOPE[`v${name}`] as (from: number, to: number, n: number) => void;
  const at = VEC_BASE + 4096 * cases.findIndex((c) => c[0] === name); // its own region
  VEC.set(x.subarray(0, 2048), at);
  Deno.bench(`v${name} (WebAssembly SIMD)`, { group: name }, () => {
    for (let b = 0; b < N; b += 2048) vector(at, at + 2048, Math.min(2048, N - b));
  });
  Deno.bench(`dispatch ${name} float32`, { group: name }, () => {
    dispatch(name, [nd]);
  });
}
