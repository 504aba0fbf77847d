/**
 * Timings of the matmul kernel (core/backend/cpu/gemm.ts) through the dispatcher:
 * float32 square products at n = 128, 256, 512 (W2), the transposed-operand
 * variants at 256, and the shapes of W5's 784-1000-10 MLP step (forward with
 * and without the fused bias + ReLU, and the two backward products).
 * GFLOP/s = flops in the name / time. Run: deno bench -A bench/matmul.bench.ts
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import type { Attrs } from "../core/hooks.ts";
import { NDArray } from "../core/array/ndarray.ts";

/** A float32 array of `shape` with fixed, varied values in [-1, 1]. */
function data(shape: number[], seed: number): NDArray {
  const size = shape.reduce((x, y) => x * y, 1);
  return new NDArray(
    Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.7 + seed)),
    shape,
  );
}

/** Registers a bench of `a @ b` (operands stored as given, read per `attrs`). */
function bench(
  group: string,
  name: string,
  inputs: NDArray[],
  attrs: Attrs,
  flops: number,
  baseline = false,
) {
  Deno.bench(`${name} (${(flops / 1e6).toFixed(1)} MFLOP)`, { group, baseline }, () => {
    dispatch("matmul", inputs, attrs);
  });
}

for (const n of [128, 256, 512]) {
  bench("square", `${n}x${n} @ ${n}x${n}`, [data([n, n], 1), data([n, n], 2)], {}, 2 * n ** 3);
}

const a = data([256, 256], 1), b = data([256, 256], 2), f256 = 2 * 256 ** 3;
bench("transposed 256", "A @ B", [a, b], {}, f256, true);
bench("transposed 256", "A @ B.mT", [a, b], { transB: true }, f256);
bench("transposed 256", "A.mT @ B", [a, b], { transA: true }, f256);
bench("transposed 256", "A.mT @ B.mT", [a, b], { transA: true, transB: true }, f256);

const x = data([256, 784], 3), W1 = data([784, 1000], 4), b1 = data([1000], 5);
const gy = data([256, 1000], 6), fW5 = 2 * 256 * 784 * 1000;
bench("W5 784-1000 layer", "x @ W1", [x, W1], {}, fW5, true);
bench("W5 784-1000 layer", "relu(x @ W1 + b1) fused", [x, W1, b1], { activation: "relu" }, fW5);
bench("W5 784-1000 layer", "gx = gy @ W1.mT", [gy, W1], { transB: true }, fW5);
bench("W5 784-1000 layer", "gW1 = x.mT @ gy", [x, gy], { transA: true }, fW5);
