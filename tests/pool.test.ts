/**
 * The worker pool (core/backend/pool.ts): a kernel's ranges run over the
 * workers give the bits one thread gives (against a naive loop here); a
 * trap throws a clear error and the next job works; a module
 * registered after the workers started reaches them; a process that never
 * runs a large kernel starts no worker; a script that used the workers
 * exits by itself; setThreads checks its argument, and DEZERO_THREADS is
 * read where permitted. Products split over threads give one thread's
 * bits (odd sizes, transposed operands, bias and ReLU, float64), so jitted
 * training steps still equal eager ones.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { parallelism, poolStats, runRanges } from "../core/backend/pool.ts";
import { backend } from "../core/backend/mod.ts";
import { jit } from "../jit/mod.ts";
import type { DType, TypedArray } from "../core/array/dtype.ts";
import { LENGTH, poolKernel } from "./fixtures/pool_kernel.ts";

/** Waits (up to 30 s) until `n` threads can take a job. */
async function threadsReady(n: number): Promise<void> {
  const end = Date.now() + 30_000;
  while (parallelism() < n) {
    if (Date.now() > end) {
      throw new Error(`the pool's workers did not start (${poolStats().workers})`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs a fixture script with `flags` and `env`; its exit code and stdout/stderr. */
async function runFixture(
  name: string,
  flags: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const script = new URL(`./fixtures/${name}`, import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, script.pathname],
    env,
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, out: text(out.stdout), err: text(out.stderr) };
}

/** `x * sqrt(x * x + 1)` in float64, the kernel's formula. */
const formula = (x: number) => x * Math.sqrt(x * x + 1);

Deno.test("setThreads() takes an integer from 1 to 256 and getThreads() reads it", () => {
  const before = dz.getThreads();
  try {
    dz.setThreads(3);
    assert.equal(dz.getThreads(), 3);
    for (const bad of [0, -1, 257]) {
      assert.throws(() => dz.setThreads(bad), RangeError);
    }
    assert.throws(() => dz.setThreads(1.5), /setThreads: n must be a positive integer, got 1.5/);
    assert.throws(() => dz.setThreads(NaN), /setThreads: n must be a positive integer, got NaN/);
    assert.throws(() => dz.setThreads("2" as unknown as number), TypeError);
    assert.throws(() => dz.setThreads(300), /setThreads: n must be at most 256, got 300/);
    assert.equal(dz.getThreads(), 3);
  } finally {
    dz.setThreads(before);
  }
});

Deno.test("runRanges() over the workers gives one thread's bits; traps throw and the pool goes on", async () => {
  const before = dz.getThreads();
  dz.setThreads(3);
  try {
    const k = poolKernel();
    const n = 3 * 8 * 1000;
    for (let i = 0; i < n; i++) k.x[i] = Math.sin(i) * 100;
    await threadsReady(3);
    assert.equal(poolStats().workers, 2);
    runRanges(k.mod, "range", [], n, n); // one range: the caller alone
    const one = k.y.slice(0, n);
    for (let i = 0; i < n; i++) assert.equal(one[i], formula(k.x[i]));
    /**
     * Runs `mod` over n in ranges of 64 until the workers have run some (the caller takes every
     * range itself while they wake, which on a loaded machine can take many calls; 20 s at most);
     * checks each result.
     */
    const split = (mod: typeof k.mod, y: Float64Array) => {
      const ran = poolStats().workerRanges, until = performance.now() + 20_000;
      while (poolStats().workerRanges === ran && performance.now() < until) {
        y.fill(0);
        runRanges(mod, "range", [], n, 64);
        assert.deepEqual(y.slice(0, n), one);
      }
      assert.ok(poolStats().workerRanges > ran, "the workers ran ranges");
    };
    split(k.mod, k.y);

    // the last range writes past the memory: a trap, on the caller or a worker (the caller
    // waits for the workers either way: the next job finds them idle)
    for (let t = 0; t < 20; t++) {
      assert.throws(
        () => runRanges(k.mod, "range", [], LENGTH + 64, 64),
        /memory access out of bounds/,
      );
      k.y.fill(0);
      runRanges(k.mod, "range", [], n, 64);
      assert.deepEqual(k.y.slice(0, n), one);
    }
    split(k.mod, k.y);

    // a module registered once the workers run reaches them over their ports
    const later = poolKernel();
    later.x.set(k.x.subarray(0, n));
    split(later.mod, later.y);
  } finally {
    dz.setThreads(before);
  }
});

Deno.test("a process that never runs a large kernel starts no worker; DEZERO_THREADS is read", async () => {
  const plain = await runFixture("pool_unused.ts", ["--allow-read"]);
  assert.equal(plain.code, 0, plain.err);
  const got = JSON.parse(plain.out);
  assert.equal(got.workers, 0);
  assert.equal(got.threads, navigator.hardwareConcurrency);

  const env = await runFixture("pool_unused.ts", ["--allow-read", "--allow-env"], {
    DEZERO_THREADS: "3",
  });
  assert.equal(env.code, 0, env.err);
  assert.deepEqual(JSON.parse(env.out), { threads: 3, workers: 0, jobs: 0, workerRanges: 0 });

  // without --allow-env the variable is not read (and nothing asks for it)
  const denied = await runFixture("pool_unused.ts", ["--allow-read"], { DEZERO_THREADS: "3" });
  assert.equal(JSON.parse(denied.out).threads, navigator.hardwareConcurrency);

  const bad = await runFixture("pool_unused.ts", ["--allow-read", "--allow-env"], {
    DEZERO_THREADS: "two",
  });
  assert.equal(JSON.parse(bad.out).threads, navigator.hardwareConcurrency);
  assert.match(bad.err, /DEZERO_THREADS: expected an integer from 1 to 256, got 'two'/);
});

Deno.test("a script that ran kernels on the workers exits by itself", async () => {
  const run = await runFixture("pool_exit.ts", ["--allow-read"]);
  assert.equal(run.code, 0, run.err);
  const got = JSON.parse(run.out);
  assert.equal(got.workers, 1);
  assert.ok(got.jobs >= 1);
  assert.equal(got.parallelism, 2);
  const x1 = 1 / 64 - 32;
  assert.equal(got.y1, formula(x1));
  let sum = 0;
  for (let i = 0; i < 4096; i++) sum += formula(i / 64 - 32);
  assert.equal(got.sum, sum);
});

/** `size` fixed values in [-1, 1] of `dtype`, varied by `seed`. */
function values(dtype: DType, size: number, seed: number): TypedArray {
  const out = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sin(i * 0.37 + seed * 1.3);
  return out;
}

Deno.test("products split over threads give one thread's bits", async () => {
  const before = dz.getThreads();
  dz.setThreads(3);
  try {
    await threadsReady(3);
    // [m, n, k, transA, transB, bias, relu, dtype], each past the split threshold (2^22 m*n*k)
    const cases: [number, number, number, boolean, boolean, boolean, boolean, DType][] = [
      [257, 65, 257, false, false, false, false, "float32"],
      [129, 65, 513, true, false, true, false, "float32"],
      [1000, 17, 257, false, true, true, true, "float32"],
      [65, 257, 257, true, true, false, true, "float32"],
      [129, 129, 257, false, false, true, true, "float64"],
      [67, 255, 259, true, true, false, false, "float64"],
    ];
    for (const [m, n, k, transA, transB, bias, relu, dtype] of cases) {
      const A = values(dtype, m * k, 1), B = values(dtype, k * n, 2);
      const b = bias ? values(dtype, n, 3) : null;
      const product = (threads: number) => {
        dz.setThreads(threads);
        const C = dtype === "float32" ? new Float32Array(m * n) : new Float64Array(m * n);
        backend.gemm(m, n, k, A, 0, transA, B, 0, transB, C, 0, b, relu);
        return C;
      };
      const one = product(1);
      const jobs = poolStats().jobs;
      const split = product(3);
      const what = `${dtype} ${m}x${n}x${k} transA=${transA} transB=${transB} bias=${bias}`;
      assert.equal(poolStats().jobs, jobs + 1, `${what}: split over the workers`);
      assert.deepEqual(split, one, what);
      // and the product itself: against a float64 naive loop, within float32 rounding
      const tol = dtype === "float32" ? 1e-4 : 1e-12;
      for (const [i, j] of [[0, 0], [m - 1, n - 1], [m >> 1, n >> 2]]) {
        let want = 0;
        for (let p = 0; p < k; p++) {
          want += A[transA ? p * m + i : i * k + p] * B[transB ? j * k + p : p * n + j];
        }
        if (b !== null) want += b[j];
        if (relu) want = Math.max(want, 0);
        assert.ok(Math.abs(one[i * n + j] - want) <= tol * (1 + Math.abs(want)), what);
      }
    }
  } finally {
    dz.setThreads(before);
  }
});

Deno.test("a jitted training step with split products equals the eager one on one thread", async () => {
  const before = dz.getThreads();
  const { F, MLP, optimizers } = dz;
  /** Three SGD steps of a 300-200-10 MLP on a fixed [128, 300] batch; losses and parameters. */
  const train = (jitted: boolean) => {
    dz.random.seed(7);
    const x = new dz.Variable(dz.random.randn(128, 300).astype("float32"));
    const t = dz.random.randint(0, 10, [128]);
    const model = new MLP([200, 10], { activation: F.relu });
    const opt = new optimizers.SGD(0.1).setup(model);
    const step = (x: dz.Variable, t: dz.NDArray) => {
      const loss = F.softmaxCrossEntropy(model.apply(x), t);
      model.cleargrads();
      loss.backward();
      opt.update();
      return loss;
    };
    const run = jitted ? jit(step) : step;
    const losses = [0, 1, 2, 3].map(() => run(x, t).data.item());
    return { losses, params: [...model.params()].map((p) => p.data.data.slice()) };
  };
  try {
    dz.setThreads(1);
    const eager = train(false);
    dz.setThreads(3);
    await threadsReady(3);
    const jobs = poolStats().jobs;
    const jitted = train(true);
    assert.ok(poolStats().jobs > jobs, "the products ran on the workers");
    const eager3 = train(false);
    assert.deepEqual(jitted, eager);
    assert.deepEqual(eager3, eager);
  } finally {
    dz.setThreads(before);
  }
});
