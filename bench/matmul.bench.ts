/**
 * Timings of the matmul kernel (core/backend/simd/gemm.ts) through the
 * dispatcher: square products at n = 64 .. 1024 by dtype and thread count
 * (1, and `getThreads()` when more: `DEZERO_THREADS` sets it), the
 * transposed-operand variants at 256, and the shapes of W5's 784-1000-10
 * MLP step (forward with and without the fused bias + ReLU, and the two
 * backward products) on every thread.
 *
 * `deno bench -A bench/matmul.bench.ts`: times per product (GFLOP/s = the
 * MFLOP in the name / time). `deno run -A bench/matmul.bench.ts`: a table of
 * the square products' median times, GFLOP/s and fraction of the machine's
 * SIMD peak, estimated by timing a WebAssembly loop of 12 independent
 * `relaxed_madd` chains on registers (no memory): the multiply-add
 * throughput of one core in f32x4 (float32) and f64x2 (float64) lanes (the
 * chains stored after the loop, so none is dropped), times the threads.
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import type { Attrs } from "../core/hooks.ts";
import type { DType } from "../core/array/dtype.ts";
import { allocate } from "../core/array/alloc.ts";
import { NDArray } from "../core/array/ndarray.ts";
import { getThreads, setThreads } from "../mod.ts";
import { parallelism } from "../core/backend/pool.ts";
import {
  assemble,
  get,
  I32,
  i32,
  I32_ADD,
  set,
  simd,
  V128,
  vStore,
  whileLt,
} from "../core/backend/simd/wasm.ts";

/** An array of `shape` with fixed, varied values in [-1, 1]. */
function data(shape: number[], seed: number, dtype: DType = "float32"): NDArray {
  const size = shape.reduce((x, y) => x * y, 1);
  const out = allocate(dtype, size);
  for (let i = 0; i < size; i++) out[i] = Math.sin(i * 0.7 + seed);
  return new NDArray(out, shape);
}

/** Registers a bench of `a @ b` on `threads` (operands stored as given, read per `attrs`). */
function bench(
  group: string,
  name: string,
  inputs: NDArray[],
  attrs: Attrs,
  flops: number,
  threads = THREADS.at(-1)!,
  baseline = false,
) {
  const label = `${name}, ${threads} thread${threads > 1 ? "s" : ""}`;
  Deno.bench(`${label} (${(flops / 1e6).toFixed(1)} MFLOP)`, { group, baseline }, () => {
    setThreads(threads);
    dispatch("matmul", inputs, attrs);
  });
}

const SIZES = [64, 128, 256, 512, 1024], DTYPES = ["float32", "float64"] as const;
const square = (n: number, dtype: DType) => [data([n, n], 1, dtype), data([n, n], 2, dtype)];
/** The thread counts timed: 1, and all of them. */
const THREADS = [...new Set([1, getThreads()])];
await workersReady(THREADS.at(-1)!);

if (!import.meta.main) {
  for (const n of SIZES) {
    for (const dtype of DTYPES) {
      for (const threads of THREADS) {
        const name = `${dtype} ${n}x${n} @ ${n}x${n}`;
        bench(`n=${n}`, name, square(n, dtype), {}, 2 * n ** 3, threads);
      }
    }
  }
  const a = data([256, 256], 1), b = data([256, 256], 2), f256 = 2 * 256 ** 3;
  bench("transposed 256", "A @ B", [a, b], {}, f256, undefined, true);
  bench("transposed 256", "A @ B.mT", [a, b], { transB: true }, f256);
  bench("transposed 256", "A.mT @ B", [a, b], { transA: true }, f256);
  bench("transposed 256", "A.mT @ B.mT", [a, b], { transA: true, transB: true }, f256);

  const x = data([256, 784], 3), W1 = data([784, 1000], 4), b1 = data([1000], 5);
  const gy = data([256, 1000], 6), fW5 = 2 * 256 * 784 * 1000;
  bench("W5 784-1000 layer", "x @ W1", [x, W1], {}, fW5, undefined, true);
  bench("W5 784-1000 layer", "relu(x @ W1 + b1) fused", [x, W1, b1], { activation: "relu" }, fW5);
  bench("W5 784-1000 layer", "gx = gy @ W1.mT", [gy, W1], { transB: true }, fW5);
  bench("W5 784-1000 layer", "gW1 = x.mT @ gy", [x, gy], { transA: true }, fW5);
} else {
  const peak = { float32: simdPeak(false), float64: simdPeak(true) };
  console.log(
    `SIMD peak, one core (12 independent relaxed_madd chains): float32 ${
      (peak.float32 / 1e9).toFixed(1)
    } GFLOP/s, float64 ${(peak.float64 / 1e9).toFixed(1)} GFLOP/s`,
  );
  console.log("| n | dtype | threads | ms (median) | GFLOP/s | fraction of peak |");
  console.log("|---|---|---|---|---|---|");
  for (const n of SIZES) {
    for (const dtype of DTYPES) {
      for (const threads of THREADS) {
        setThreads(threads);
        const inputs = square(n, dtype), flops = 2 * n ** 3;
        const reps = Math.max(5, Math.round(4e9 / flops));
        const ms = median(() => dispatch("matmul", inputs, {}), reps);
        const rate = flops / ms / 1e6;
        console.log(
          `| ${n} | ${dtype} | ${threads} | ${ms.toFixed(3)} | ${rate.toFixed(1)} | ${
            (rate * 1e9 / (peak[dtype] * threads)).toFixed(2)
          } |`,
        );
      }
    }
  }
}

/** Starts the pool's workers for `threads` and waits (up to 30 s) until they take jobs. */
async function workersReady(threads: number): Promise<void> {
  setThreads(threads);
  const end = Date.now() + 30_000;
  while (threads > 1 && parallelism() < threads && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Median milliseconds of `reps` calls of `f` (after 2 warm-up calls). */
function median(f: () => void, reps: number): number {
  f();
  f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return ts.sort((x, y) => x - y)[reps >> 1];
}

/**
 * FLOP/s of a WebAssembly loop of 12 independent `relaxed_madd` chains on
 * v128 registers (f64x2 lanes with `f64`, else f32x4), the best of 5 runs
 * after warm-up ones.
 */
function simdPeak(f64: boolean): number {
  const CHAINS = 12, n = 0, i = 1, acc = 2, x = acc + CHAINS;
  const madd = simd(f64 ? 0x107 : 0x105);
  const body = [];
  for (let c = 0; c < CHAINS; c++) {
    body.push(...get(x), ...get(x), ...get(acc + c), ...madd, ...set(acc + c));
  }
  const bytes = assemble(1, [{
    name: "f",
    params: 1,
    result: false,
    locals: [[1, I32], [CHAINS + 1, V128]],
    body: [
      ...whileLt(i, n, [...body, ...get(i), ...i32(1), ...I32_ADD, ...set(i)]),
      ...Array.from({ length: CHAINS }, (_, c) => [...i32(16 * c), ...get(acc + c), ...vStore(0)])
        .flat(),
    ],
  }]);
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f as (
    n: number,
  ) => void;
  const iters = 2e7;
  for (let r = 0; r < 20; r++) f(iters / 100); // past the baseline compiler
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    f(iters);
    best = Math.min(best, performance.now() - t);
  }
  return iters * CHAINS * (f64 ? 4 : 8) / (best / 1e3);
}
