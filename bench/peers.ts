/**
 * The peer-comparison workloads W1..W8 of WORKLOADS.md (shared with numpy,
 * DeZero, PyTorch and TensorFlow.js): same data generators, same timing rule,
 * one JSON line on stdout. Run: `deno run -A bench/peers.ts [--jit]`;
 * `WORKLOADS=W1,W3` runs a subset.
 * @module
 */
import * as dz from "../mod.ts";
import checks from "./data/checks.json" with { type: "json" };
import linreg from "./data/linreg.json" with { type: "json" };
import spiral from "./data/spiral.json" with { type: "json" };

const { F, Parameter, Variable } = dz;
type Variable = dz.Variable;
type NDArray = dz.NDArray;

// ---------------------------------------------------------------- data

/** lowbias32: the integer hash every peer's data comes from (unsigned 32-bit). */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** `u32(seed, i) = hash32(hash32(seed) + i mod 2^32)`. */
export function u32(seed: number, i: number): number {
  return hash32(hash32(seed) + i);
}

/** `uniform(seed, i) = (u32(seed, i) >> 8) * 2^-24`, in [0, 1). */
export function uniform(seed: number, i: number): number {
  return (u32(seed, i) >>> 8) * 2 ** -24;
}

/** `n` values `float32(scale * (2 * uniform(seed, i) - 1))` (float64 math, one rounding). */
export function symmetric(seed: number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  const h = hash32(seed);
  for (let i = 0; i < n; i++) {
    out[i] = (2 * ((hash32(h + i) >>> 8) * 2 ** -24) - 1) * scale;
  }
  return out;
}

/** `init_weight(seed, fanIn, fanOut)`, row-major `[fanIn, fanOut]`. */
export function initWeight(seed: number, fanIn: number, fanOut: number): Float32Array {
  return symmetric(seed, fanIn * fanOut, Math.sqrt(3 / fanIn));
}

/** W3's batch order of epoch `e`: the stable argsort of `u32(100 + e, i)`, i < n. */
export function spiralPerm(epoch: number, n = 300): Int32Array {
  if (n > 2048) throw new RangeError("spiralPerm: n must fit in 11 bits");
  // sort key * 2048 + i (exact below 2^43): ties keep index order, so the
  // native numeric sort is a stable argsort
  const h = hash32(100 + epoch);
  const keyed = new Float64Array(n);
  for (let i = 0; i < n; i++) keyed[i] = hash32(h + i) * 2048 + i;
  keyed.sort();
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = keyed[i] % 2048;
  return perm;
}

/** W5's batch: `x = float32(uniform(51, i))` [256, 784], `t = u32(52, i) mod 10`. */
export function w5Batch(): { x: Float32Array; t: Int32Array } {
  const x = new Float32Array(256 * 784);
  for (let i = 0; i < x.length; i++) x[i] = uniform(51, i);
  const t = new Int32Array(256);
  for (let i = 0; i < t.length; i++) t[i] = u32(52, i) % 10;
  return { x, t };
}

/** W7's batch: `x = float32(uniform(71, i))` [100, 1, 28, 28], `t = u32(72, i) mod 10`. */
export function w7Batch(): { x: Float32Array; t: Int32Array } {
  const x = new Float32Array(100 * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = uniform(71, i);
  const t = new Int32Array(100);
  for (let i = 0; i < t.length; i++) t[i] = u32(72, i) % 10;
  return { x, t };
}

/**
 * W7's kernels `[OC, C, 3, 3]`: element `[oc, c, kh, kw]` is
 * `init_weight(seed, C*9, OC)[c*9 + kh*3 + kw, oc]` (fan_in = C*9).
 */
export function convKernel(seed: number, C: number, OC: number): Float32Array {
  const w = initWeight(seed, C * 9, OC);
  const out = new Float32Array(OC * C * 9);
  for (let r = 0; r < C * 9; r++) {
    for (let oc = 0; oc < OC; oc++) out[oc * C * 9 + r] = w[r * OC + oc];
  }
  return out;
}

/** The generators' outputs that checks.json records, computed here. */
export function generatorOutputs(): Record<keyof typeof checks, number | number[]> {
  const first = (a: ArrayLike<number>, n = 4) => Array.from(a).slice(0, n);
  const w1x = symmetric(1, 1000 * 1000);
  const w5 = w5Batch();
  return {
    hash32_0_to_3: [0, 1, 2, 3].map(hash32),
    rand_u32_seed7_first4: [0, 1, 2, 3].map((i) => u32(7, i)),
    uniform_seed7_first4: [0, 1, 2, 3].map((i) => uniform(7, i)),
    w1_x_first4: first(w1x),
    w1_x_sum_f64: w1x.reduce((s, v) => s + v, 0),
    w2_a128_first4: first(symmetric(2000 + 128, 4)),
    w3_W1: Array.from(initWeight(31, 2, 10)),
    w3_W2_first4: first(initWeight(32, 10, 3)),
    w3_perm_epoch0_first10: first(spiralPerm(0), 10),
    w3_perm_epoch299_first10: first(spiralPerm(299), 10),
    w5_x_first4: first(w5.x),
    w5_t_first10: first(w5.t, 10),
    w5_W1_first4: first(initWeight(53, 784, 1000)),
    w5_W2_first4: first(initWeight(54, 1000, 10)),
  };
}

/** Throws unless every generator output equals checks.json bit for bit. */
export function checkGenerators(): void {
  const got = generatorOutputs();
  for (const [key, want] of Object.entries(checks)) {
    const have = got[key as keyof typeof checks];
    if (JSON.stringify(have) !== JSON.stringify(want)) {
      throw new Error(
        `data generator mismatch in ${key}: got ${JSON.stringify(have)}, want ${
          JSON.stringify(want)
        }`,
      );
    }
  }
}

// ---------------------------------------------------------------- timing

/** Per-call times of a measured function, in ms. */
interface Timing {
  median: number;
  min: number;
  max: number;
  reps: number;
}

/**
 * The timing rule: `warmup` untimed calls, then timed calls until `maxReps`,
 * or until at least `minReps` calls and `budget` seconds.
 */
function measure(
  fn: () => void,
  warmup: number,
  minReps: number,
  maxReps: number,
  budget: number,
): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < maxReps &&
    (times.length < minReps || performance.now() - start < budget * 1000)
  ) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return summarize(times);
}

/** Median, min, max and count of `times`. */
function summarize(times: number[]): Timing {
  const s = [...times].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median, min: s[0], max: s[s.length - 1], reps: s.length };
}

/** A timing as the protocol's `{ms, min_ms, max_ms, reps}` keys under `prefix`. */
function timingKeys(t: Timing, prefix = ""): Record<string, number> {
  return {
    [`${prefix}ms`]: t.median,
    [`${prefix}min_ms`]: t.min,
    [`${prefix}max_ms`]: t.max,
    [`${prefix}reps`]: t.reps,
  };
}

// ---------------------------------------------------------------- workloads

/** Compiles a step function: identity for eager, `dz.jit` with `--jit`. */
type Compile = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => R;

/** One workload: its result keys. */
type Workload = (compile: Compile) => Record<string, number>;

/** An NDArray of `shape` over `data` (not copied; dtype from the typed array). */
function tensor(data: Float32Array | Float64Array | Int32Array, shape: number[]): NDArray {
  return new dz.NDArray(data, shape);
}

/** The host value of a 0-d/size-1 result. */
function host(v: Variable): number {
  return v.data.item();
}

/** Plain SGD (`p -= lr * p.grad`) over `params`. */
function sgd(params: dz.Parameter[], lr: number): dz.optimizers.SGD {
  return new dz.optimizers.SGD(lr).setup({ params: () => params });
}

/** Clears the gradients of `params`. */
function cleargrads(params: dz.Variable[]): void {
  for (const p of params) p.cleargrad();
}

/**
 * W5's and W7's timed step on one fixed batch: softmax cross entropy of
 * `forward(x)`, gradients cleared, backward, SGD with `lr` on `params`, the
 * loss read back; warmup 2, at least 5 steps, 3 s. Returns the timing and
 * every step's loss.
 */
function sgdSteps(
  compile: Compile,
  params: dz.Parameter[],
  lr: number,
  forward: (x: NDArray) => Variable,
  x: NDArray,
  t: NDArray,
): { timing: Timing; losses: number[] } {
  const opt = sgd(params, lr);
  const step = compile((x: NDArray, t: NDArray): Variable => {
    const loss = F.softmaxCrossEntropy(forward(x), t);
    cleargrads(params);
    loss.backward();
    opt.update();
    return loss;
  });
  const losses: number[] = [];
  const timing = measure(
    () => {
      losses.push(host(step(x, t)));
    },
    2,
    5,
    200,
    3,
  );
  return { timing, losses };
}

/** W1: fused elementwise chain, forward + backward, on 1e6 float32. */
function w1(compile: Compile): Record<string, number> {
  const x = new Variable(tensor(symmetric(1, 1000 * 1000), [1000, 1000]));
  const step = compile((x: Variable): Variable => {
    x.cleargrad();
    const a = F.sin(x);
    const b = F.mul(a, 2);
    const c = F.exp(F.neg(x));
    const d = F.pow(c, 2);
    const e = F.add(b, d);
    const f = F.tanh(e);
    const g = F.mul(f, x);
    const y = F.sum(g);
    y.backward();
    return y;
  });
  let y = 0;
  const t = measure(
    () => {
      y = host(step(x));
    },
    2,
    5,
    200,
    2,
  );
  const grad = x.grad!.data.data;
  let gradSum = 0;
  for (let i = 0; i < grad.length; i++) gradSum += grad[i];
  return { ...timingKeys(t), y, grad_sum: gradSum };
}

/** W2: float32 matmul forward for n = 128..1024, in ms and GFLOP/s. */
function w2(compile: Compile): Record<string, number> {
  const out: Record<string, number> = {};
  const mm = compile((a: Variable, b: Variable): Variable => dz.noGrad(() => F.matmul(a, b)));
  for (const n of [128, 256, 512, 1024]) {
    const a = new Variable(tensor(symmetric(2000 + n, n * n), [n, n]));
    const b = new Variable(tensor(symmetric(3000 + n, n * n), [n, n]));
    const big = n === 1024;
    const t = measure(
      () => {
        mm(a, b);
      },
      big ? 1 : 3,
      big ? 3 : 5,
      500,
      1,
    );
    Object.assign(out, timingKeys(t, `n${n}_`));
    out[`n${n}_gflops`] = 2 * n ** 3 / (t.median / 1000) / 1e9;
    console.error(`  W2 n=${n}: ${t.median.toFixed(3)} ms`);
  }
  return out;
}

/** W3: DeZero step 48's spiral MLP (2-10-3, sigmoid), 300 epochs of 10 SGD steps. */
function w3(compile: Compile): Record<string, number> {
  const N = 300, B = 30;
  const xAll = tensor(Float32Array.from(spiral.x), [N, 2]);
  const tAll = tensor(Int32Array.from(spiral.t), [N]);
  const W1 = new Parameter(tensor(initWeight(31, 2, 10), [2, 10]));
  const b1 = new Parameter(dz.zeros([10], { dtype: "float32" }));
  const W2 = new Parameter(tensor(initWeight(32, 10, 3), [10, 3]));
  const b2 = new Parameter(dz.zeros([3], { dtype: "float32" }));
  const params = [W1, b1, W2, b2];
  const opt = sgd(params, 1.0);
  // one iteration: gather the batch's rows from the full arrays, then a step
  const step = compile((idx: NDArray): Variable => {
    const x = F.getItem(xAll, [idx]);
    const t = F.getItem(tAll, [idx]).data;
    const h = F.sigmoid(F.linear(x, W1, b1));
    const y = F.linear(h, W2, b2);
    const loss = F.softmaxCrossEntropy(y, t);
    cleargrads(params);
    loss.backward();
    opt.update();
    return loss;
  });
  const times: number[] = [];
  const losses: number[] = [];
  for (let e = 0; e < 300; e++) {
    const t0 = performance.now();
    const perm = spiralPerm(e, N);
    let sum = 0;
    for (let k = 0; k < N / B; k++) {
      sum += host(step(tensor(perm.subarray(k * B, (k + 1) * B), [B]))) * B;
    }
    losses.push(sum / N);
    times.push(performance.now() - t0);
  }
  const t = summarize(times.slice(5));
  return {
    ms_per_epoch: t.median,
    min_ms: t.min,
    max_ms: t.max,
    reps: t.reps,
    total_s_300ep: times.reduce((s, v) => s + v, 0) / 1000,
    loss_epoch1: losses[0],
    final_loss: losses[299],
  };
}

/** W4: DeZero step 42's linear regression, float64, 100 iterations per run. */
function w4(compile: Compile): Record<string, number> {
  const x = tensor(Float64Array.from(linreg.x), [100, 1]);
  const y = tensor(Float64Array.from(linreg.y), [100, 1]);
  const W = new Parameter(dz.zeros([1, 1]));
  const b = new Parameter(dz.zeros([1]));
  const opt = sgd([W, b], 0.1);
  const step = compile((x: NDArray, y: NDArray): Variable => {
    const diff = F.sub(y, F.add(F.matmul(x, W), b));
    const loss = F.div(F.sum(F.pow(diff, 2)), 100);
    cleargrads([W, b]);
    loss.backward();
    opt.update();
    return loss;
  });
  let loss = NaN;
  const t = measure(
    () => {
      W.data.data.fill(0);
      b.data.data.fill(0);
      let last: Variable | null = null;
      for (let i = 0; i < 100; i++) last = step(x, y);
      loss = host(last!);
    },
    2,
    10,
    200,
    1.5,
  );
  return { ...timingKeys(t), W: W.data.item(), b: b.data.item(), final_loss: loss };
}

/** W5: one SGD step of a 784-1000-10 relu MLP on a 256 batch. */
function w5(compile: Compile): Record<string, number> {
  const { x: xs, t: ts } = w5Batch();
  const x = tensor(xs, [256, 784]);
  const t = tensor(ts, [256]);
  const W1 = new Parameter(tensor(initWeight(53, 784, 1000), [784, 1000]));
  const b1 = new Parameter(dz.zeros([1000], { dtype: "float32" }));
  const W2 = new Parameter(tensor(initWeight(54, 1000, 10), [1000, 10]));
  const b2 = new Parameter(dz.zeros([10], { dtype: "float32" }));
  const { timing, losses } = sgdSteps(
    compile,
    [W1, b1, W2, b2],
    0.1,
    (x) => F.linear(F.relu(F.linear(x, W1, b1)), W2, b2),
    x,
    t,
  );
  return { ...timingKeys(timing), loss0: losses[0] };
}

/** W6: tiny-op overhead, `y = x*x + 3*x` on one float32 element, fwd + bwd. */
function w6(compile: Compile): Record<string, number> {
  const x = new Variable(tensor(Float32Array.of(2), [1]));
  const step = compile((x: Variable): Variable => {
    const y = F.add(F.mul(x, x), F.mul(3, x));
    x.cleargrad();
    y.backward();
    return y;
  });
  const t = measure(
    () => {
      for (let i = 0; i < 1000; i++) step(x);
    },
    1,
    5,
    200,
    1.5,
  );
  return {
    us_per_iter: t.median,
    us_per_op: t.median / 3,
    min_ms: t.min,
    max_ms: t.max,
    reps: t.reps,
    grad: x.grad!.data.item(),
  };
}

/** W7: one SGD step of a small CNN (conv-relu-pool twice, then linear) on a 100 batch. */
function w7(compile: Compile): Record<string, number> {
  const { x: xs, t: ts } = w7Batch();
  const x = tensor(xs, [100, 1, 28, 28]);
  const t = tensor(ts, [100]);
  const K1 = new Parameter(tensor(convKernel(73, 1, 16), [16, 1, 3, 3]));
  const c1 = new Parameter(dz.zeros([16], { dtype: "float32" }));
  const K2 = new Parameter(tensor(convKernel(74, 16, 32), [32, 16, 3, 3]));
  const c2 = new Parameter(dz.zeros([32], { dtype: "float32" }));
  const W3 = new Parameter(tensor(initWeight(75, 1568, 10), [1568, 10]));
  const b3 = new Parameter(dz.zeros([10], { dtype: "float32" }));
  const { timing, losses } = sgdSteps(
    compile,
    [K1, c1, K2, c2, W3, b3],
    0.01,
    (x) => {
      const p1 = F.pooling(F.relu(F.conv2d(x, K1, c1, 1, 1)), 2, 2);
      const p2 = F.pooling(F.relu(F.conv2d(p1, K2, c2, 1, 1)), 2, 2);
      return F.linear(F.reshape(p2, [100, 1568]), W3, b3);
    },
    x,
    t,
  );
  return { ...timingKeys(timing), loss0: losses[0], loss1: losses[1] };
}

/** W8's series: `xs[k] = float32(sin(2 pi k / 25))`, k = 0..1000. */
export function sinSeries(): Float32Array {
  return Float32Array.from({ length: 1001 }, (_, k) => Math.sin(2 * Math.PI * k / 25));
}

/**
 * W8: DeZero step 60's BetterRNN (LSTM(100) + Linear) trained by truncated
 * backpropagation, one 30-step window of batch 30 per call, Adam.
 */
function w8(compile: Compile): Record<string, number> {
  const T = 30, B = 30, N = 1000, jump = Math.floor(N / B);
  const series = sinSeries();
  const lstm = new dz.L.LSTM(100, { inSize: 1 });
  const fc = new dz.L.Linear(1, { inSize: 100 });
  const gates = ["f", "i", "o", "u"] as const;
  gates.forEach((g, k) => {
    lstm[`x2${g}`].W.data = tensor(initWeight(81 + k, 1, 100), [1, 100]);
    lstm[`h2${g}`].W.data = tensor(initWeight(85 + k, 100, 100), [100, 100]);
  });
  fc.W.data = tensor(initWeight(89, 100, 1), [100, 1]);
  const model = new dz.Sequential(lstm, fc);
  const opt = new dz.optimizers.Adam().setup(model);
  // one window: 30 steps forward, backward, unchain, Adam; x and t are [T, B, 1]
  const window = compile((x: NDArray, t: NDArray): Variable => {
    let loss: Variable | null = null;
    for (let s = 0; s < T; s++) {
      const term = F.meanSquaredError(model.apply(F.getItem(x, s)), F.getItem(t, s));
      loss = loss === null ? term : F.add(loss, term);
    }
    model.cleargrads();
    loss!.backward();
    loss!.unchainBackward();
    opt.update();
    return loss!;
  });
  const x = new Float32Array(T * B), t = new Float32Array(T * B);
  const xNd = tensor(x, [T, B, 1]), tNd = tensor(t, [T, B, 1]);
  let time = 0; // the time step, never reset
  const losses: number[] = [];
  const tm = measure(
    () => {
      // the window's batches, as SeqDataLoader builds them
      for (let s = 0; s < T; s++, time++) {
        for (let b = 0; b < B; b++) {
          const k = (b * jump + time) % N;
          x[s * B + b] = series[k];
          t[s * B + b] = series[k + 1];
        }
      }
      losses.push(host(window(xNd, tNd)));
    },
    2,
    5,
    200,
    3,
  );
  return { ...timingKeys(tm), loss0: losses[0], loss1: losses[1] };
}

const WORKLOADS: Record<string, Workload> = {
  W1: w1,
  W2: w2,
  W3: w3,
  W4: w4,
  W5: w5,
  W6: w6,
  W7: w7,
  W8: w8,
};

/** Sanity values every peer agrees on (WORKLOADS.md), with a tolerance. */
const SANITY: Record<string, [string, number, number][]> = {
  W1: [["y", -16387.27, 1], ["grad_sum", 974457.2, 1]],
  W3: [["loss_epoch1", 1.09812, 1e-5], ["final_loss", 0.12085, 1e-5]],
  W4: [["W", 2.1181, 1e-4], ["b", 5.4661, 1e-4], ["final_loss", 0.07909, 1e-5]],
  W5: [["loss0", 2.40126, 1e-5]],
  W6: [["grad", 7, 0]],
  W7: [["loss0", 2.4856079, 1e-5], ["loss1", 2.3284597, 1e-5]],
  W8: [["loss0", 4.863737, 2e-6], ["loss1", 3.912224, 2e-6]],
};

/** Runs the selected workloads and prints the JSON line. */
function main(): void {
  const useJit = Deno.args.includes("--jit");
  const jitted: dz.Jitted<unknown[], unknown>[] = [];
  const compile: Compile = !useJit ? (fn) => fn : (fn) => {
    const step = dz.jit(fn);
    jitted.push(step as dz.Jitted<unknown[], unknown>);
    return step;
  };
  checkGenerators();
  const selected = (Deno.env.get("WORKLOADS") ?? Object.keys(WORKLOADS).join(","))
    .split(",").map((s) => s.trim()).filter((s) => s);
  const results: Record<string, Record<string, number> | { error: string }> = {};
  for (const name of selected) {
    const run = WORKLOADS[name];
    if (run === undefined) {
      results[name] = { error: `unknown workload ${name}` };
      continue;
    }
    console.error(`${name} (${useJit ? "jit" : "eager"}) ...`);
    try {
      const r = run(compile);
      results[name] = r;
      for (const [key, want, tol] of SANITY[name] ?? []) {
        if (!(Math.abs(r[key] - want) <= tol)) {
          console.error(`  WARNING ${name}.${key} = ${r[key]}, peers have ${want}`);
        }
      }
      console.error(`  ${JSON.stringify(r)}`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      console.error(`  ${name} failed: ${e instanceof Error ? e.stack : message}`);
      results[name] = { error: message };
    }
    for (const step of jitted.splice(0)) {
      console.error(`  jit stats ${JSON.stringify(step.stats())}`);
    }
  }
  const info = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    target: Deno.build.target,
    cores: navigator.hardwareConcurrency,
    loadavg: Deno.loadavg(),
  };
  console.log(JSON.stringify({ peer: useJit ? "dezero.ts-jit" : "dezero.ts", info, results }));
}

if (import.meta.main) main();
