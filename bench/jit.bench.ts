/**
 * JIT vs eager timings: the elementwise chain, a spiral-sized MLP epoch,
 * an MLP 784-1000-10 step (each group's baseline is eager, so Deno.bench
 * prints the jit/eager ratio), plus trace+compile time and replay heap growth.
 * @module
 */
import * as dz from "../mod.ts";
import { hostScalar } from "../core/hooks.ts";
import { jit } from "../jit/mod.ts";

const { F, Variable, Parameter } = dz;
type V = dz.Variable;

function chain(x: V): V {
  x.cleargrad();
  const y = F.sum(F.pow(F.add(F.mul(F.sin(x), 2), F.exp(F.neg(x))), 2));
  y.backward();
  return y;
}

/** A raw-Parameter MLP training step with SGD. */
function mlpStep(sizes: number[], act: (x: V) => V, dtype: "float32" | "float64" = "float64") {
  const params: dz.Parameter[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    params.push(
      new Parameter(
        dz.random.randn(sizes[i], sizes[i + 1]).mul(Math.sqrt(1 / sizes[i])).astype(dtype),
      ),
    );
    params.push(new Parameter(dz.zeros([sizes[i + 1]], { dtype })));
  }
  return (x: V | dz.NDArray, t: dz.NDArray): V => {
    for (const p of params) p.cleargrad();
    let h: V | dz.NDArray = x;
    for (let i = 0; i < params.length; i += 2) {
      h = F.linear(h, params[i], params[i + 1]);
      if (i + 2 < params.length) h = act(h);
    }
    const loss = F.softmaxCrossEntropy(h, t);
    loss.backward();
    for (const p of params) p.data.isub(p.grad!.data.mul(hostScalar(() => 0.1, dtype)));
    return loss;
  };
}

dz.random.seed(0);
const x1 = new Variable(dz.random.rand(1000, 1000).astype("float32"));
const chainJ = jit(chain);
chainJ(x1);
Deno.bench("chain eager", { group: "chain", baseline: true }, () => void chain(x1));
Deno.bench("chain jit", { group: "chain" }, () => void chainJ(x1));

const batches = Array.from({ length: 10 }, () => ({
  x: new Variable(dz.random.randn(30, 2)),
  t: dz.random.randint(0, 3, [30]),
}));
const spiralE = mlpStep([2, 10, 3], F.sigmoid), spiralJ = jit(mlpStep([2, 10, 3], F.sigmoid));
Deno.bench("spiral epoch eager", { group: "spiral", baseline: true }, () => {
  for (const b of batches) spiralE(b.x, b.t);
});
Deno.bench("spiral epoch jit", { group: "spiral" }, () => {
  for (const b of batches) spiralJ(b.x, b.t);
});

// the batch is data (an NDArray, as W5 and DeZero's training loops pass it): its
// gradient is not observable, so the jit drops that product; eager computes it
const mx = dz.random.rand(256, 784), mt = dz.random.randint(0, 10, [256]);
const mnistE = mlpStep([784, 1000, 10], F.relu), mnistJ = jit(mlpStep([784, 1000, 10], F.relu));
Deno.bench(
  "mlp 784-1000-10 step eager",
  { group: "mlp", baseline: true },
  () => void mnistE(mx, mt),
);
Deno.bench("mlp 784-1000-10 step jit", { group: "mlp" }, () => void mnistJ(mx, mt));

Deno.bench("trace+compile of a training step (spiral MLP)", { group: "compile" }, () => {
  jit(mlpStep([2, 10, 3], F.sigmoid))(batches[0].x, batches[0].t);
});

Deno.bench("1000 replays: heap growth", { group: "heap", n: 1, warmup: 0 }, () => {
  const step = jit(mlpStep([2, 10, 3], F.sigmoid));
  const b = batches[0];
  for (let i = 0; i < 100; i++) step(b.x, b.t);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < 1000; i++) step(b.x, b.t);
  gc?.();
  const growth = ((Deno.memoryUsage().heapUsed - before) / 1024).toFixed(0);
  // without a collection, the figure counts garbage not yet collected
  const how = gc ? "after a full GC" : "NO GC: run with --v8-flags=--expose-gc (deno task bench)";
  console.log(`heap growth over 1000 replays: ${growth} KiB (${how})`);
});
