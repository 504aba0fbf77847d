/**
 * A small float64 network of the CNN functions (conv2d, relu, max pooling,
 * batchNorm in training, average pooling with a non-square window, deconv2d)
 * against tests/fixtures/conv.json, which numpy computed window by window
 * (tests/fixtures/make_conv.py): values, running statistics, and gradients
 * by central differences. Eager and jitted.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import data from "./fixtures/conv.json" with { type: "json" };
import { assertAllClose } from "./assert.ts";

const { F, Parameter } = dz;
type Entry = { shape: number[]; data: number[] };
const array = (e: Entry) => new dz.NDArray(Float64Array.from(e.data), e.shape);

/** The fixture's network: its loss, the output, the parameters and the running statistics. */
function network(jitted: boolean) {
  const p = Object.fromEntries(
    Object.entries(data.args).map(([k, e]) => [k, new Parameter(array(e as Entry), k)]),
  );
  const mean = dz.zeros([3]), variance = dz.ones([3]);
  const R = array(data.R);
  const fn = () => {
    let h = F.relu(F.conv2d(p.x, p.W1, p.b1, 1, [1, 0]));
    h = F.pooling(h, 2, 2, [0, 1]);
    h = F.batchNorm(h, p.gamma, p.beta, mean, variance);
    h = F.averagePooling(h, [2, 1], 1, 0);
    const y = F.deconv2d(h, p.W2, p.b2, 2, 1);
    const loss = F.sum(F.mul(y, R));
    for (const q of Object.values(p)) q.cleargrad();
    loss.backward();
    return [y, loss];
  };
  const [y, loss] = jitted
    ? (() => {
      const step = dz.jit(fn);
      step();
      mean.data.fill(0); // the trace ran the network once; start the statistics afresh
      variance.data.fill(1);
      const r = step();
      assert.equal(step.stats().fallbacks, 0);
      assert.equal(step.stats().cacheHits, 1);
      return r;
    })()
    : fn();
  return { y, loss, p, mean, variance };
}

for (const jitted of [false, true]) {
  Deno.test(`CNN functions match numpy's window-by-window network${jitted ? " (jit)" : ""}`, () => {
    const { y, loss, p, mean, variance } = network(jitted);
    assertAllClose(y, data.y.data, { rtol: 1e-12, atol: 1e-12 });
    assertAllClose(loss, data.loss, { rtol: 1e-12 });
    assertAllClose(mean, data.avg_mean, { rtol: 1e-12, atol: 1e-15 });
    assertAllClose(variance, data.avg_var, { rtol: 1e-12 });
    for (const [name, g] of Object.entries(data.grads)) {
      assertAllClose(p[name].grad!, (g as Entry).data, { rtol: 1e-6, atol: 1e-7, msg: name });
    }
  });
}
