/**
 * Tests of DeZero's autograd behaviour: generation-ordered backward,
 * retainGrad, gradient accumulation, createGraph and higher-order
 * derivatives (Newton's method), noGrad/usingConfig/testMode, unchain,
 * weak references to outputs, Variable's operator methods and a custom
 * Function subclass.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;

Deno.test("backward() runs in generation order: the diamond x -> a -> (b, c) -> y (DeZero step 16)", () => {
  const x = new Variable(2.0);
  const a = F.square(x);
  const y = F.add(F.square(a), F.square(a));
  assert.equal(y.data.item(), 32);
  y.backward();
  assert.equal(x.grad!.data.item(), 64); // d/dx 2x^4 = 8x^3

  const order: string[] = [];
  class Trace extends dz.Function {
    constructor(readonly label: string) {
      super();
    }
    forward(u: dz.NDArray): dz.NDArray {
      return u.mul(2);
    }
    backward(gy: Variable): Variable {
      order.push(this.label);
      return gy.mul(2);
    }
  }
  const t = new Variable(1.0);
  const root = new Trace("root").apply(t);
  const long = new Trace("long2").apply(new Trace("long1").apply(root));
  const z = F.add(long, new Trace("short").apply(root));
  z.backward();
  assert.equal(order.at(-1), "root"); // only after both branches
  assert.ok(order.indexOf("long1") < order.indexOf("root"));
  assert.ok(order.indexOf("short") < order.indexOf("root"));
  assert.equal(t.grad!.data.item(), 2 * (4 + 2));
});

Deno.test("backward() frees intermediate grads unless retainGrad, and keeps the leaves'", () => {
  const x0 = new Variable(1.0), x1 = new Variable(1.0);
  const t = F.add(x0, x1);
  const y = F.add(x0, t);
  y.backward();
  assert.equal(y.grad, null);
  assert.equal(t.grad, null);
  assert.equal(x0.grad!.data.item(), 2);
  assert.equal(x1.grad!.data.item(), 1);
  x0.cleargrad();
  x1.cleargrad();
  const y2 = F.add(x0, F.add(x0, x1));
  y2.backward({ retainGrad: true });
  assert.equal(y2.grad!.data.item(), 1);
  assert.equal(y2.creator!.inputs[1].grad!.data.item(), 1);
  assert.equal(x0.grad!.data.item(), 2);
});

Deno.test("grads accumulate across backward() calls until cleargrad()", () => {
  const x = new Variable(3.0);
  F.add(x, x).backward();
  assert.equal(x.grad!.data.item(), 2);
  F.add(x, x).backward();
  assert.equal(x.grad!.data.item(), 4);
  x.cleargrad();
  assert.equal(x.grad, null);
  F.add(F.add(x, x), x).backward();
  assert.equal(x.grad!.data.item(), 3);
});

Deno.test("backward() sums several terms of one gradient without touching arrays it handed out", () => {
  // t gets three terms (two from t * t, one from sum(t)), then Add hands its gradient to a and b
  // as one Variable; a then gets three more terms, b none
  const a = new Variable(dz.array([1, 2], { dtype: "float32" }));
  const b = new Variable(dz.array([3, 4], { dtype: "float32" }));
  const graph = () => {
    const t = F.add(a, b); // [4, 6]
    const terms = [F.sum(F.mul(t, t)), F.sum(t), F.sum(a.mul(2)), F.sum(a.mul(3)), F.sum(a.mul(4))];
    return { t, loss: terms.reduce((s, x) => F.add(s, x)) };
  };
  const { t, loss } = graph();
  loss.backward({ retainGrad: true });
  // dloss/dt = 2t + 1 = [9, 13]; dloss/da = [9, 13] + 2 + 3 + 4
  assert.deepEqual(Array.from(t.grad!.data.toArray() as number[]), [9, 13]);
  assert.deepEqual(Array.from(b.grad!.data.toArray() as number[]), [9, 13]);
  assert.deepEqual(Array.from(a.grad!.data.toArray() as number[]), [18, 22]);
  // a second backward adds into fresh arrays: the gradients the first one gave stay as they were
  const [ga, gb, gt] = [a.grad!, b.grad!, t.grad!];
  graph().loss.backward();
  assert.deepEqual(Array.from(a.grad!.data.toArray() as number[]), [36, 44]);
  assert.deepEqual(Array.from(b.grad!.data.toArray() as number[]), [18, 26]);
  assert.deepEqual(Array.from(ga.data.toArray() as number[]), [18, 22]);
  assert.deepEqual(Array.from(gb.data.toArray() as number[]), [9, 13]);
  assert.deepEqual(Array.from(gt.data.toArray() as number[]), [9, 13]);
});

/** DeZero step 33's f(x) = x^4 - 2x^2. */
const quartic = (x: Variable) => x.pow(4).sub(x.pow(2).mul(2));

Deno.test("createGraph: the second derivative of x^4 - 2x^2 at 2 is 44", () => {
  const x = new Variable(2.0);
  const y = quartic(x);
  y.backward({ createGraph: true });
  const gx = x.grad!;
  assert.equal(gx.data.item(), 24); // 4x^3 - 4x
  assert.notEqual(gx.creator, null);
  x.cleargrad();
  gx.backward();
  assert.equal(x.grad!.data.item(), 44); // 12x^2 - 4
  const plain = new Variable(2.0);
  quartic(plain).backward();
  assert.equal(plain.grad!.creator, null); // no graph without createGraph
});

Deno.test("Newton's method with second derivatives converges to 1 (DeZero step 33)", () => {
  const x = new Variable(2.0);
  // numpy: x -= (4x^3 - 4x) / (12x^2 - 4), from x = 2.0
  const expected = [
    2.0,
    1.4545454545454546,
    1.1510467893775467,
    1.0253259289766978,
    1.0009084519430513,
    1.0000012353089454,
    1.000000000002289,
    1.0,
    1.0,
    1.0,
  ];
  for (let i = 0; i < 10; i++) {
    assertAllClose(x, expected[i], { rtol: 1e-14, msg: `iteration ${i}:` });
    const y = quartic(x);
    x.cleargrad();
    y.backward({ createGraph: true });
    const gx = x.grad!;
    x.cleargrad();
    gx.backward();
    const gx2 = x.grad!;
    const before = x.data;
    assert.equal(x.data.isub(gx.data.div(gx2.data)), before); // in place
  }
  assertAllClose(x, 1.0, { rtol: 1e-15 });
});

Deno.test("higher-order derivatives of sin at 1 cycle through cos, -sin, -cos, sin", () => {
  const x = new Variable(1.0);
  F.sin(x).backward({ createGraph: true });
  const expected = [Math.cos(1), -Math.sin(1), -Math.cos(1), Math.sin(1), Math.cos(1)];
  assertAllClose(x.grad!, expected[0], { rtol: 1e-15 });
  for (let n = 1; n < expected.length; n++) {
    const gx = x.grad!;
    x.cleargrad();
    gx.backward({ createGraph: true });
    assertAllClose(x.grad!, expected[n], { rtol: 1e-14, msg: `derivative ${n + 1}:` });
  }
});

Deno.test("the second derivative of tanh matches its closed form and numerical differences", () => {
  const xs = [-1.5, -0.3, 0.2, 0.8, 2.0];
  const x = new Variable(dz.array(xs));
  F.tanh(x).backward({ createGraph: true });
  const gx = x.grad!;
  x.cleargrad();
  gx.backward();
  const d2 = xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
  assertAllClose(x.grad!, d2, { rtol: 1e-12 });
  // numerical derivative of the backward-computed first derivative
  const firstDerivative = (v: Variable) => {
    F.tanh(v).backward({ createGraph: true });
    return v.grad!;
  };
  assertAllClose(x.grad!, utils.numericalGrad(firstDerivative, dz.array(xs)), {
    rtol: 1e-6,
    atol: 1e-9,
  });
});

Deno.test("noGrad() records no creator; usingConfig restores the setting, even on throw", () => {
  const x = new Variable(2.0);
  const y = dz.noGrad(() => F.square(x));
  assert.equal(y.creator, null);
  assert.equal(y.generation, 0);
  assert.equal(y.data.item(), 4);
  assert.equal(dz.Config.enableBackprop, true);
  const z = dz.usingConfig("enableBackprop", false, () => F.mul(x, 3));
  assert.equal(z.creator, null);
  assert.notEqual(F.mul(x, 3).creator, null);
  assert.throws(() =>
    dz.usingConfig("enableBackprop", false, () => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(dz.Config.enableBackprop, true);
  assert.throws(
    () => dz.usingConfig("nope" as "train", true, () => 0),
    /usingConfig: unknown setting 'nope'/,
  );
});

Deno.test("testMode() turns Config.train off inside and back on after", () => {
  assert.equal(dz.Config.train, true);
  const seen = dz.testMode(() => dz.Config.train);
  assert.equal(seen, false);
  assert.equal(dz.Config.train, true);
});

Deno.test("unchain() cuts one creator link; unchainBackward() cuts the whole graph", () => {
  const x = new Variable(2.0);
  const a = F.square(x);
  const b = F.exp(a);
  const y = F.mul(b, 2);
  a.unchain();
  assert.equal(a.creator, null);
  y.backward();
  assert.equal(x.grad, null); // the path to x was cut at a
  const x2 = new Variable(2.0);
  const a2 = F.square(x2), b2 = F.exp(a2), y2 = F.mul(b2, 2);
  y2.unchainBackward();
  for (const v of [y2, b2, a2]) assert.equal(v.creator, null);
  y2.backward();
  assert.equal(x2.grad, null);
  assert.equal(b2.grad, null);
});

Deno.test("a function references its outputs with deref() and its inputs directly", () => {
  const x = new Variable([1, 2]);
  const y = F.exp(x);
  const fn = y.creator!;
  assert.equal(fn.outputs.length, 1);
  assert.equal(fn.outputs[0].deref(), y);
  assert.equal(fn.inputs[0], x);
  assert.equal(y.generation, x.generation + 1);
});

Deno.test("backward() of a non-scalar output seeds ones; grads always have the input's shape", () => {
  const x = new Variable([[1, 2, 3], [4, 5, 6]]);
  const y = F.mul(x, 2);
  y.backward();
  assert.deepEqual(x.grad!.data.toArray(), [[2, 2, 2], [2, 2, 2]]);
  const a = new Variable(dz.array([[1], [2], [3]]).astype("float64"));
  const b = new Variable(dz.array([[1, 2, 3, 4]]).astype("float64"));
  const c = new Variable(5.0);
  const z = F.sum(F.mul(F.add(a, b), c).reshape(2, 6).T, 0);
  z.backward();
  assert.deepEqual(a.grad!.shape, [3, 1]);
  assert.deepEqual(b.grad!.shape, [1, 4]);
  assert.deepEqual(c.grad!.shape, []);
  assertAllClose(a.grad!, [[20], [20], [20]]);
  assertAllClose(b.grad!, [[15, 15, 15, 15]]);
  assertAllClose(c.grad!, (1 + 2 + 3) * 4 + (1 + 2 + 3 + 4) * 3);
});

Deno.test("Variable operator methods take Variables, NDArrays and numbers; rsub and rdiv reverse", () => {
  const x = new Variable([1, 2, 4]);
  const v = new Variable([2, 2, 2]);
  const nd = dz.array([1, 1, 2]);
  assert.deepEqual(x.add(v).data.toArray(), [3, 4, 6]);
  assert.deepEqual(x.add(nd).data.toArray(), [2, 3, 6]);
  assert.deepEqual(x.add(1).data.toArray(), [2, 3, 5]);
  assert.deepEqual(x.sub(nd).data.toArray(), [0, 1, 2]);
  assert.deepEqual(x.rsub(3).data.toArray(), [2, 1, -1]);
  assert.deepEqual(x.rsub(nd).data.toArray(), [0, -1, -2]);
  assert.deepEqual(x.mul(v).data.toArray(), [2, 4, 8]);
  assertAllClose(x.div(2), [0.5, 1, 2]);
  assertAllClose(x.rdiv(1), [1, 0.5, 0.25]);
  assertAllClose(x.rdiv(nd), [1, 0.5, 0.5]);
  assert.deepEqual(x.neg().data.toArray(), [-1, -2, -4]);
  assert.deepEqual(x.pow(2).data.toArray(), [1, 4, 16]);
  assert.deepEqual(F.sub(nd, x).data.toArray(), [0, -1, -2]);
  assert.deepEqual(F.mul(3, x).data.toArray(), [3, 6, 12]);
  const f = new Variable([1.0, 2.0, 4.0]);
  f.rsub(3).backward();
  assertAllClose(f.grad!, [-1, -1, -1]);
  f.cleargrad();
  f.rdiv(1).backward();
  assertAllClose(f.grad!, [-1, -0.25, -1 / 16]);
  f.cleargrad();
  f.mul(f).add(f.div(2)).sub(1).backward();
  assertAllClose(f.grad!, [2.5, 4.5, 8.5]);
  const m = new Variable([[1, 2], [3, 4]]);
  assert.deepEqual(m.matmul(dz.array([1, 1])).data.toArray(), [3, 7]);
  assert.deepEqual(m.T.data.toArray(), [[1, 3], [2, 4]]);
  assert.deepEqual(m.reshape(4).data.toArray(), [1, 2, 3, 4]);
  assert.deepEqual(m.sum(0).data.toArray(), [4, 6]);
});

Deno.test("Variable.item() and Variable.mean(): DeZero's x.data.item() and F.mean(x)", () => {
  assert.equal(new Variable(2.5).item(), 2.5);
  assert.equal(new Variable([[7]]).item(), 7);
  assert.throws(
    () => new Variable([1, 2]).item(),
    /item: can only convert an array of size 1, got shape \[2\]/,
  );
  const m = new Variable([[1.0, 2.0], [3.0, 5.0]].map((r) => r.map((v) => v + 0.5)));
  assertAllClose(m.mean(), [(1.5 + 2.5 + 3.5 + 5.5) / 4]);
  assertAllClose(m.mean(0), [2.5, 4]);
  assert.deepEqual(m.mean(1, true).shape, [2, 1]);
  m.mean().backward();
  assertAllClose(m.grad!, [[0.25, 0.25], [0.25, 0.25]]);
});

Deno.test("Parameter refuses integer data and says how to make it float", () => {
  // JS cannot tell 1.0 from 1: DeZero's Parameter(np.array([1.0])) ported as is is int32
  assert.throws(() => new dz.Parameter(dz.array([1.0])), {
    name: "TypeError",
    message:
      /^Parameter: cannot train int32 data \(JS reads 1.0 as 1, .*\{ dtype: "float64" \}.*astype/,
  });
  assert.throws(() => new dz.Parameter([[1, 2]]), /cannot train int32 data/);
  const p = new dz.Parameter(dz.array([1.0], { dtype: "float64" }));
  p.data.isub(dz.array([0.5]).mul(0.1)); // DeZero's update step: float in place
  assertAllClose(p, [0.95]);
  assert.equal(new dz.Parameter(2).dtype, "float64"); // a bare number is float64, as Variable
});

Deno.test("a custom Function subclass (forward on arrays, backward on Variables) works with .apply", () => {
  class Cube extends dz.Function {
    forward(x: dz.NDArray): dz.NDArray {
      return x.mul(x).mul(x);
    }
    backward(gy: Variable): Variable {
      const x = this.inputs[0];
      return gy.mul(x.mul(x).mul(3));
    }
  }
  const x = new Variable(2.0);
  const y = new Cube().apply(x);
  assert.equal(y.data.item(), 8);
  assert.equal(y.creator!.name, "Cube");
  y.backward({ createGraph: true });
  assert.equal(x.grad!.data.item(), 12);
  const gx = x.grad!;
  x.cleargrad();
  gx.backward();
  assert.equal(x.grad!.data.item(), 12); // 6x
  assert.ok(utils.gradientCheck((v) => new Cube().apply(v), new Variable([0.5, -1.5, 2])));
});
