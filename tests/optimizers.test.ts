/**
 * Tests of the optimizers and hooks: three updates of each optimizer on a
 * float64 parameter with given gradients, against the update rules written
 * out here with plain JS numbers; hooks; `lr` changes between steps; Adam's
 * bias-corrected rate; parameters without a gradient left alone.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { setTracer } from "../core/hooks.ts";
import { assertAllClose } from "./assert.ts";

const { L, Parameter, Variable, optimizers } = dz;
type Parameter = dz.Parameter;

const P0 = [1, -2, 0.5];
/** The gradient given at step k (0, 1, 2). */
const grad = (k: number) => [0.5 - k, -1 + 0.25 * k, 2 * (k + 1)];

/** A one-parameter model. */
class One extends L.Layer {
  p = new Parameter(dz.array(P0, { dtype: "float64" }), "p");
  forward(x: dz.Variable): dz.Variable {
    return x;
  }
}

/** Runs 3 steps of `opt` on a fresh model with the gradients `grad(k)`; returns p after each. */
function run(opt: dz.optimizers.Optimizer, between?: (k: number) => void): number[][] {
  const model = new One();
  opt.setup(model);
  const out: number[][] = [];
  for (let k = 0; k < 3; k++) {
    between?.(k);
    model.p.grad = new Variable(dz.array(grad(k), { dtype: "float64" }));
    opt.update();
    out.push(Array.from(model.p.data.data));
  }
  return out;
}

/** Applies `step(p, g, k)` per element for 3 steps, from P0; returns p after each. */
function expected(step: (p: number, g: number, k: number, i: number) => number): number[][] {
  const p = [...P0];
  const out: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const g = grad(k);
    for (let i = 0; i < p.length; i++) p[i] = step(p[i], g[i], k, i);
    out.push([...p]);
  }
  return out;
}

const TOL = { rtol: 1e-12, atol: 1e-15 };

Deno.test("SGD: param -= lr * grad", () => {
  assertAllClose(run(new optimizers.SGD(0.1)), expected((p, g) => p - 0.1 * g), TOL);
  assert.equal(new optimizers.SGD().lr, 0.01);
});

Deno.test("MomentumSGD: v = momentum * v - lr * grad; param += v", () => {
  const v = [0, 0, 0];
  const want = expected((p, g, _k, i) => {
    v[i] = 0.8 * v[i] - 0.1 * g;
    return p + v[i];
  });
  assertAllClose(run(new optimizers.MomentumSGD(0.1, 0.8)), want, TOL);
  const d = new optimizers.MomentumSGD();
  assert.deepEqual([d.lr, d.momentum], [0.01, 0.9]);
});

Deno.test("AdaGrad: h += grad^2; param -= lr * grad / (sqrt(h) + eps)", () => {
  const h = [0, 0, 0];
  const want = expected((p, g, _k, i) => {
    h[i] += g * g;
    return p - 0.1 * g / (Math.sqrt(h[i]) + 1e-3);
  });
  assertAllClose(run(new optimizers.AdaGrad(0.1, 1e-3)), want, TOL);
  const d = new optimizers.AdaGrad();
  assert.deepEqual([d.lr, d.eps], [0.001, 1e-8]);
});

Deno.test("AdaDelta: running averages of grad^2 and of the update, dx = sqrt((msdx+eps)/(msg+eps)) * g", () => {
  const msg = [0, 0, 0], msdx = [0, 0, 0];
  const rho = 0.9, eps = 1e-2;
  const want = expected((p, g, _k, i) => {
    msg[i] = rho * msg[i] + (1 - rho) * g ** 2;
    const dx = Math.sqrt((msdx[i] + eps) / (msg[i] + eps)) * g;
    msdx[i] = rho * msdx[i] + (1 - rho) * dx ** 2;
    return p - dx;
  });
  assertAllClose(run(new optimizers.AdaDelta(rho, eps)), want, TOL);
  const d = new optimizers.AdaDelta();
  assert.deepEqual([d.rho, d.eps], [0.95, 1e-6]);
});

Deno.test("Adam: moments with bias correction folded into lr = alpha sqrt(1 - b2^t) / (1 - b1^t)", () => {
  const alpha = 0.1, b1 = 0.8, b2 = 0.9, eps = 1e-3;
  const m = [0, 0, 0], v = [0, 0, 0];
  const want = expected((p, g, k, i) => {
    const t = k + 1;
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    const lr = alpha * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
    return p - lr * m[i] / (Math.sqrt(v[i]) + eps);
  });
  const adam = new optimizers.Adam(alpha, b1, b2, eps);
  assertAllClose(run(adam), want, TOL);
  assert.equal(adam.t, 3);
  assertAllClose(adam.lr, 0.1 * Math.sqrt(1 - 0.729) / (1 - 0.512), TOL);
  const d = new optimizers.Adam();
  assert.deepEqual([d.alpha, d.beta1, d.beta2, d.eps], [0.001, 0.9, 0.999, 1e-8]);
});

Deno.test("changing lr (SGD, MomentumSGD) or alpha (Adam) between steps takes effect", () => {
  const sgd = new optimizers.SGD(0.1);
  const lrs = [0.1, 0.5, 0.02];
  const got = run(sgd, (k) => (sgd.lr = lrs[k]));
  assertAllClose(got, expected((p, g, k) => p - lrs[k] * g), TOL);

  const mom = new optimizers.MomentumSGD(0.1, 0.5);
  const v = [0, 0, 0];
  const gotMom = run(mom, (k) => (mom.lr = lrs[k]));
  assertAllClose(
    gotMom,
    expected((p, g, k, i) => {
      v[i] = 0.5 * v[i] - lrs[k] * g;
      return p + v[i];
    }),
    TOL,
  );

  const adam = new optimizers.Adam(0.1);
  const first = run(adam, (k) => (adam.alpha = k === 0 ? 0.1 : 0));
  assert.deepEqual(first[2], first[0], "alpha 0 stops the updates");
});

Deno.test("float32 parameters stay float32 and update in float32 arithmetic", () => {
  const model = new One();
  model.p.data = dz.array([1, 2], { dtype: "float32" });
  model.p.grad = new Variable(dz.array([0.3, 0.7], { dtype: "float32" }));
  new optimizers.SGD(0.1).setup(model).update();
  assert.equal(model.p.dtype, "float32");
  const f = Math.fround;
  assert.deepEqual(Array.from(model.p.data.data), [
    f(1 - f(f(0.1) * f(0.3))),
    f(2 - f(f(0.1) * f(0.7))),
  ]);
});

Deno.test("update() skips parameters without a gradient and needs setup()", () => {
  const model = new One();
  new optimizers.SGD(1).setup(model).update();
  assert.deepEqual(Array.from(model.p.data.data), P0);
  assert.throws(() => new optimizers.SGD().update(), /SGD.update: call setup\(model\) first/);
});

Deno.test("WeightDecay hook: grad += rate * param before the update", () => {
  const opt = new optimizers.SGD(0.1);
  opt.addHook(new optimizers.WeightDecay(0.01));
  assertAllClose(run(opt), expected((p, g) => p - 0.1 * (g + 0.01 * p)), TOL);
});

Deno.test("ClipGrad hook: scales all gradients by maxNorm / (norm + 1e-6) when the norm is larger", () => {
  const a = new Parameter(dz.array([0, 0], { dtype: "float64" }));
  const b = new Parameter(dz.array([0], { dtype: "float64" }));
  const target = { params: () => [a, b] };
  a.grad = new Variable(dz.array([3, 0], { dtype: "float64" }));
  b.grad = new Variable(dz.array([4], { dtype: "float64" }));
  const clip = new optimizers.ClipGrad(1);
  clip.run([a, b]); // norm sqrt(9 + 16) = 5
  const s = 1 / (5 + 1e-6);
  assertAllClose(a.grad.data, [3 * s, 0], TOL);
  assertAllClose(b.grad.data, [4 * s], TOL);

  a.grad = new Variable(dz.array([0.3, 0.4], { dtype: "float64" }));
  b.grad = null;
  const opt = new optimizers.SGD(1).setup(target);
  opt.addHook(clip);
  opt.update(); // norm 0.5 < 1: unchanged
  assert.deepEqual(Array.from(a.grad.data.data), [0.3, 0.4]);
  assert.deepEqual(Array.from(a.data.data), [-0.3, -0.4]);
});

Deno.test("FreezeParam hook: the given layers' and parameters' values stay fixed", () => {
  class Two extends L.Layer {
    l1 = new L.Linear(2, { inSize: 2 });
    l2 = new L.Linear(1, { inSize: 2 });
    forward(x: dz.Variable): dz.Variable {
      return this.l2.apply(this.l1.apply(x));
    }
  }
  const model = new Two();
  const before = new Map([...model.namedParams()].map(([n, p]) => [n, Array.from(p.data.data)]));
  const opt = new optimizers.SGD(0.1).setup(model);
  opt.addHook(new optimizers.FreezeParam(model.l1, model.l2.b!));
  dz.F.sum(model.apply(dz.ones([3, 2], { dtype: "float32" }))).backward();
  opt.update();
  for (const [name, p] of model.namedParams()) {
    const same = before.get(name)!.join() === Array.from(p.data.data).join();
    assert.equal(same, name !== "l2.W", name);
  }
});

Deno.test("a function hook receives the parameters that have a gradient", () => {
  const seen: Parameter[][] = [];
  const opt = new optimizers.SGD(0.1);
  opt.addHook((params) => seen.push(params));
  const got = run(opt);
  assert.equal(seen.length, 3);
  assert.equal(seen[0].length, 1);
  assertAllClose(got, expected((p, g) => p - 0.1 * g), TOL);
});

Deno.test("update() runs through the dispatcher: lr as a host scalar, Adam's t as a host effect, in-place writes", () => {
  const scalars: (() => number)[] = [];
  const effects: (() => void)[] = [];
  const outs: dz.NDArray[] = [];
  let replaced = 0;
  const model = new One();
  const adam = new optimizers.Adam(0.1).setup(model);
  model.p.grad = new Variable(dz.array(grad(0), { dtype: "float64" }));
  const prev = setTracer({
    record: (_op, _inputs, _attrs, out) => outs.push(out),
    scalar: (fn) => scalars.push(fn),
    effect: (fn) => effects.push(fn),
    apply: () => {},
    backward: () => {},
    cleared: () => {},
    dataSet: () => replaced++,
    valueRead: () => {},
    stateRead: () => {},
    stateWrite: () => {},
    enter: () => {},
    exit: () => {},
  });
  try {
    adam.update();
  } finally {
    setTracer(prev);
  }
  assert.equal(effects.length, 1);
  assert.equal(replaced, 0); // in place: no parameter's array replaced
  effects[0]();
  assert.equal(adam.t, 2, "replaying the effect advances t");
  assert.equal(scalars.length, 1);
  adam.alpha = 0.5;
  assertAllClose(scalars[0](), 0.5 * Math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2), TOL);
  assert.ok(outs.includes(model.p.data), "param.data is written in place by a kernel");
});
