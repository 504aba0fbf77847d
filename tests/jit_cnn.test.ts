/**
 * Tests of jit() on CNN training steps: conv2d, max and average pooling,
 * batchNorm in training (running statistics as tape side effects), deconv2d,
 * linear, softmax cross entropy, backward and an optimizer update compile
 * without eager fallbacks and equal eager bit for bit, products mixing
 * float32 and float64 too; the shape checks of
 * the conv functions still speak in a jitted function; and the peers' W7
 * step gives their losses.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { convKernel, initWeight, w7Batch } from "../bench/peers.ts";

const { F, L, Model, Parameter, optimizers, random } = dz;
type V = dz.Variable;

class Net extends Model {
  c1 = new L.Conv2d(4, 3, { pad: 1 });
  bn = new L.BatchNorm();
  c2 = new L.Conv2d(6, [3, 2], { stride: [1, 2], pad: 1 });
  bn2 = new L.BatchNorm();
  fc = new L.Linear(5);
  forward(x: V): V {
    let h = F.pooling(F.relu(this.bn.apply(this.c1.apply(x))), 2, 2);
    h = F.averagePooling(F.relu(this.c2.apply(h)), [2, 1], 1);
    return this.fc.apply(this.bn2.apply(F.reshape(h, [h.shape[0], -1])));
  }
}

/** Every parameter's values (BatchNorm's running statistics included), by name. */
function values(model: dz.Layer): Record<string, number[]> {
  return Object.fromEntries([...model.namedParams()].map(([k, p]) => [k, Array.from(p.data.raw)]));
}

/** Trains a fresh seeded Net for `steps` Adam steps; with `jitted`, the step is jit(fn). */
function train(jitted: boolean, steps = 6) {
  random.seed(3);
  const x = random.randn(3, 2, 9, 8).astype("float32");
  const t = dz.array([0, 3, 4], { dtype: "int32" });
  const model = new Net();
  const opt = new optimizers.Adam(0.01).setup(model);
  const fn = (x: dz.NDArray, t: dz.NDArray) => {
    const loss = F.softmaxCrossEntropy(model.apply(x), t);
    model.cleargrads();
    loss.backward();
    opt.update();
    return loss;
  };
  const step = dz.jit(fn);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push((jitted ? step : fn)(x, t).data.item());
  const infer = dz.jit((x: dz.NDArray) => model.apply(x));
  const eval1 = dz.testMode(() => (jitted ? infer : (x: dz.NDArray) => model.apply(x))(x));
  const eval2 = dz.testMode(() => (jitted ? infer : (x: dz.NDArray) => model.apply(x))(x));
  return { losses, params: values(model), stats: step.stats(), eval: [eval1, eval2], infer };
}

Deno.test("jit() compiles a CNN training step (conv, pooling, batchNorm, Adam) with no fallback, equal to eager bit for bit", () => {
  const e = train(false), j = train(true);
  assert.equal(j.stats.fallbacks, 0, `fallbacks: ${j.stats.fallbackOps}`);
  assert.equal(j.stats.traces, 2); // the first call draws the lazy weights, the second traces again
  assert.equal(j.stats.cacheHits, 4);
  assert.deepEqual(j.losses, e.losses);
  assert.deepEqual(j.params, e.params); // BatchNorm's running statistics included
  assert.ok(e.losses[5] < e.losses[0]);
  assert.notDeepEqual(e.params["bn.avg_mean"], [0, 0, 0, 0]);
  // test mode: the running statistics normalize, a replay equals eager too
  assert.equal(j.infer.stats().fallbacks, 0);
  assert.equal(j.infer.stats().cacheHits, 1);
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(Array.from(j.eval[i].data.raw), Array.from(e.eval[i].data.raw));
  }
});

Deno.test("jit() replays a DCGAN-style generator step (deconv2d, 2-D and 4-D batchNorm) as eager", () => {
  const run = (jitted: boolean) => {
    random.seed(4);
    const z = random.randn(4, 6).astype("float32");
    const target = random.rand(4, 1, 8, 8).astype("float32");
    const fc = new L.Linear(2 * 4 * 4), bn1 = new L.BatchNorm(), bn2 = new L.BatchNorm();
    const up = new L.Deconv2d(3, 4, { stride: 2, pad: 1 }), out = new L.Conv2d(1, 3, { pad: 1 });
    const model = { params: () => [fc, bn1, up, bn2, out].flatMap((l) => [...l.params()]) };
    const opt = new optimizers.MomentumSGD(0.05).setup(model);
    const fn = (z: dz.NDArray) => {
      let h = F.relu(bn1.apply(fc.apply(z)));
      h = F.relu(bn2.apply(up.apply(F.reshape(h, [4, 2, 4, 4]))));
      const y = F.sigmoid(out.apply(h));
      const loss = F.binaryCrossEntropy(y, target);
      for (const p of model.params()) p.cleargrad();
      loss.backward();
      opt.update();
      return loss;
    };
    const step = jitted ? dz.jit(fn) : fn;
    const losses = Array.from({ length: 4 }, () => step(z).data.item());
    return { losses, params: model.params().map((p) => Array.from(p.data.raw)), step };
  };
  const e = run(false), j = run(true);
  assert.deepEqual(j.losses, e.losses);
  assert.deepEqual(j.params, e.params);
  assert.equal((j.step as dz.Jitted<[dz.NDArray], V>).stats().fallbacks, 0);
});

Deno.test("jit() compiles products mixing float32 and float64 (gan.py's int labels make the loss gradient float64) with no fallback, equal to eager", () => {
  const run = (jitted: boolean) => {
    random.seed(5);
    const x = random.rand(40, 60).astype("float32");
    const label = dz.ones([40], { dtype: "int32" }); // int * float32 is float64, as in numpy
    // [40x60] @ [60x80] takes the gemm, [40x80] @ [80x1] the generated small-product loop
    const dis = new dz.Sequential(new L.Linear(80), F.leakyRelu, new L.Linear(1), F.sigmoid);
    const opt = new optimizers.Adam(0.01).setup(dis);
    const fn = (x: dz.NDArray) => {
      const loss = F.binaryCrossEntropy(dis.apply(x), label);
      dis.cleargrads();
      loss.backward();
      opt.update();
      return loss;
    };
    dis.apply(x); // size the lazy layers before tracing
    const step = jitted ? dz.jit(fn) : fn;
    const losses = Array.from({ length: 4 }, () => step(x).data.item());
    return { losses, params: [...dis.params()].map((p) => Array.from(p.data.raw)), step };
  };
  const e = run(false), j = run(true);
  const stats = (j.step as dz.Jitted<[dz.NDArray], V>).stats();
  assert.equal(stats.fallbacks, 0, `fallbacks: ${stats.fallbackOps}`);
  assert.deepEqual(j.losses, e.losses);
  assert.deepEqual(j.params, e.params);
  assert.ok(e.losses[3] < e.losses[0]);
});

Deno.test("jit() of conv functions: a new input shape traces again and meets the same checks", () => {
  const conv = new L.Conv2d(2, 3, { inChannels: 3 });
  const step = dz.jit((x: dz.NDArray) => F.pooling(F.relu(conv.apply(x)), 2, 2));
  step(dz.ones([1, 3, 6, 6]));
  step(dz.ones([1, 3, 6, 6]));
  assert.equal(step.stats().cacheHits, 1);
  assert.throws(
    () => step(dz.ones([1, 4, 6, 6])),
    /conv2d: x \[1,4,6,6\] has 4 channels but W \[2,3,3,3\] expects 3/,
  );
  assert.throws(
    () => step(dz.ones([1, 3, 2, 2])),
    /conv2d: kernel 3x3 is larger than the padded input 2x2/,
  );
  assert.throws(
    () => step(dz.ones([3, 6, 6])),
    /conv2d: input must be 4-D \[N, C, H, W\], got shape \[3,6,6\]/,
  );
  assert.throws(
    () => step(dz.ones([1, 3, 4, 3])),
    /pooling: kernel 2x2 is larger than the padded input 2x1/,
  );
  // a kernel that changes shape makes the tape stale: the next call traces and checks again
  conv.W.data = dz.ones([2, 5, 3, 3], { dtype: "float32" });
  assert.throws(
    () => step(dz.ones([1, 3, 6, 6])),
    /conv2d: x \[1,3,6,6\] has 3 channels but W \[2,5,3,3\] expects 5/,
  );
});

Deno.test("the peers' W7 step (bench/peers.ts data) gives their loss0 and loss1, eager and jitted", () => {
  const run = (jitted: boolean) => {
    const { x: xs, t: ts } = w7Batch();
    const x = new dz.NDArray(xs, [100, 1, 28, 28]), t = new dz.NDArray(ts, [100]);
    const K1 = new Parameter(new dz.NDArray(convKernel(73, 1, 16), [16, 1, 3, 3]));
    const c1 = new Parameter(dz.zeros([16], { dtype: "float32" }));
    const K2 = new Parameter(new dz.NDArray(convKernel(74, 16, 32), [32, 16, 3, 3]));
    const c2 = new Parameter(dz.zeros([32], { dtype: "float32" }));
    const W3 = new Parameter(new dz.NDArray(initWeight(75, 1568, 10), [1568, 10]));
    const b3 = new Parameter(dz.zeros([10], { dtype: "float32" }));
    const params = [K1, c1, K2, c2, W3, b3];
    const opt = new optimizers.SGD(0.01).setup({ params: () => params });
    const fn = (x: dz.NDArray, t: dz.NDArray) => {
      const p1 = F.pooling(F.relu(F.conv2d(x, K1, c1, 1, 1)), 2, 2);
      const p2 = F.pooling(F.relu(F.conv2d(p1, K2, c2, 1, 1)), 2, 2);
      const loss = F.softmaxCrossEntropy(F.linear(F.reshape(p2, [100, 1568]), W3, b3), t);
      for (const p of params) p.cleargrad();
      loss.backward();
      opt.update();
      return loss;
    };
    const step = jitted ? dz.jit(fn) : fn;
    return [step(x, t).data.item(), step(x, t).data.item()]; // jitted: a trace, then a replay
  };
  const e = run(false), j = run(true);
  assert.deepEqual(j, e);
  // WORKLOADS.md: every peer gets these, up to float32 summation order
  assert.ok(Math.abs(e[0] - 2.4856079) < 1e-6, `loss0 ${e[0]}`);
  assert.ok(Math.abs(e[1] - 2.3284597) < 1e-6, `loss1 ${e[1]}`);
});
