/** Tests of jit() on nn training steps: every optimizer, lr changes, dropout and hooks match eager. @module */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, MLP, Variable, optimizers: O } = dz;
type V = dz.Variable;

/** A fixed batch: 8 points in 2-d, 3 classes. */
function batch(): { x: V; t: dz.NDArray } {
  dz.random.seed(42);
  return {
    x: new Variable(dz.random.randn(8, 2).astype("float32")),
    t: dz.array([0, 1, 2, 0, 1, 2, 1, 0], { dtype: "int32" }),
  };
}

interface Run {
  losses: number[];
  params: number[][];
  /** Traces and cache hits of the jitted step (zeros when eager). */
  traces: number;
  cacheHits: number;
}

/**
 * Trains a freshly seeded model for `steps` steps of softmax cross-entropy;
 * `each(i, opt)` runs before step `i` (to change hyperparameters).
 */
function train(
  makeOpt: () => dz.optimizers.Optimizer,
  jitted: boolean,
  { steps = 50, dropout = false, each = (_i: number, _o: dz.optimizers.Optimizer) => {} } = {},
): Run {
  const { x, t } = batch();
  dz.random.seed(0);
  const model = new MLP([10, 3]);
  const opt = makeOpt().setup(model);
  const forward = dropout ? (h: V) => model.apply(F.dropout(h, 0.3)) : (h: V) => model.apply(h);
  const fn = (x: V, t: dz.NDArray): V => {
    const loss = F.softmaxCrossEntropy(forward(x), t);
    model.cleargrads();
    loss.backward();
    opt.update();
    return loss;
  };
  const jitFn = jit(fn);
  const step = jitted ? jitFn : fn;
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    each(i, opt);
    losses.push(step(x, t).data.toArray() as number);
  }
  const params = [...model.params()].map((p) => (p.data.toArray() as number[][]).flat());
  const { traces, cacheHits } = jitFn.stats();
  return { losses, params, traces, cacheHits };
}

/** Asserts that two runs agree to float32 precision, the jitted one replaying a tape. */
function assertSameRun(j: Run, e: Run): void {
  // the first call draws the lazy Linear weights, so the second traces again
  assert.equal(j.traces, 2);
  assert.equal(j.cacheHits, j.losses.length - 2);
  assertAllClose(j.losses, e.losses, { rtol: 1e-5, atol: 1e-7 });
  assert.equal(j.params.length, e.params.length);
  j.params.forEach((p, i) => assertAllClose(p, e.params[i], { rtol: 1e-5, atol: 1e-7 }));
}

const makers: [string, () => dz.optimizers.Optimizer][] = [
  ["SGD", () => new O.SGD(0.5)],
  ["MomentumSGD", () => new O.MomentumSGD(0.1)],
  ["AdaGrad", () => new O.AdaGrad(0.1)],
  ["AdaDelta", () => new O.AdaDelta()],
  ["Adam", () => new O.Adam(0.01)],
];

for (const [name, make] of makers) {
  Deno.test(`jit() trains an MLP with ${name} for 50 steps exactly as eager`, () => {
    const e = train(make, false), j = train(make, true);
    assertSameRun(j, e);
    assert.ok(e.losses[49] < e.losses[0], `${name} did not lower the loss`);
  });
}

Deno.test("jit() applies an optimizer lr changed mid-training (SGD and Adam)", () => {
  for (const make of [() => new O.SGD(0.5), () => new O.Adam(0.01)]) {
    const each = (i: number, o: dz.optimizers.Optimizer) => {
      if (i !== 25) return;
      if (o instanceof O.Adam) o.alpha = 0.1;
      else (o as dz.optimizers.SGD).lr = 2;
    };
    const e = train(make, false, { each }), j = train(make, true, { each });
    const plain = train(make, true);
    assertSameRun(j, e);
    assert.notEqual(j.losses[30], plain.losses[30]); // the change mattered
  }
});

Deno.test("jit() trains with dropout: fresh masks per replay, same draws as eager", () => {
  const e = train(() => new O.SGD(0.5), false, { dropout: true });
  const j = train(() => new O.SGD(0.5), true, { dropout: true });
  assertSameRun(j, e);
  assert.ok(new Set(j.losses).size > 40, "masks repeat across replays");
});

Deno.test("jit() trains with a WeightDecay hook exactly as eager", () => {
  const make = () => {
    const opt = new O.MomentumSGD(0.1);
    opt.addHook(new O.WeightDecay(0.01));
    return opt;
  };
  const e = train(make, false), j = train(make, true);
  assertSameRun(j, e);
  const noDecay = train(() => new O.MomentumSGD(0.1), false);
  assert.notDeepEqual(e.params[0], noDecay.params[0]);
});
