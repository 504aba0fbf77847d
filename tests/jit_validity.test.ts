/**
 * A replay computes what eager would, or does not run: jitted functions
 * nested in jitted functions (and calling themselves), arguments passed
 * twice or sharing memory, a layer's parameter replaced between calls,
 * gradients kept from an earlier call, labels out of range on a replay,
 * `.raw` read on the JS side, and results a jitted function cannot replay.
 * Expected values are computed by hand or by the same code run eagerly.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, L, Parameter, Variable, jit, optimizers } = dz;
type V = dz.Variable;

const f64 = (x: dz.NestedArray) => dz.array(x, { dtype: "float64" });

/** Runs `f` with console.warn silenced; returns what it returned and the warnings. */
function quiet<T>(f: () => T): [T, string[]] {
  const warn = console.warn, said: string[] = [];
  console.warn = (m: string) => said.push(m);
  try {
    return [f(), said];
  } finally {
    console.warn = warn;
  }
}

Deno.test("a jitted function called inside another is traced inline: later inputs count", () => {
  const inner = jit((x: V) => F.mul(x, 2));
  inner(new Variable(f64([5]))); // warm before the outer one traces
  inner(new Variable(f64([5])));
  const outer = jit((x: V) => F.add(inner(x), 1));
  for (const v of [1, 2, 3, -4]) {
    assert.deepEqual(outer(new Variable(f64([v]))).data.toArray(), [2 * v + 1]);
  }
  assert.equal(outer.stats().cacheHits, 3);
  // a jitted function calling itself: its trace runs the recursion eagerly
  const power: (x: V, n: number) => V = jit((x: V, n: number) =>
    n === 0 ? new Variable(dz.onesLike(x.data)) : F.mul(power(x, n - 1), x)
  );
  for (const v of [2, 3, 1.5]) {
    assert.deepEqual(power(new Variable(f64([v])), 3).data.toArray(), [v ** 3]);
  }
});

Deno.test("arguments passed twice (or shared) are part of the signature", () => {
  const f = jit((a: V, b: V) => {
    const y = F.sum(F.mul(a, b));
    y.backward();
    return y;
  });
  const x = new Variable(f64([1, 2])), y = new Variable(f64([3, 4]));
  assertAllClose(f(x, x).data, 5); // traced as f(x, x): x.grad = 2x
  assert.deepEqual(x.grad!.data.toArray(), [2, 4]);
  const x2 = new Variable(f64([1, 2]));
  assertAllClose(f(x2, y).data, 11); // not the aliased tape: a new trace
  assert.deepEqual(x2.grad!.data.toArray(), [3, 4]);
  assert.deepEqual(y.grad!.data.toArray(), [1, 2]);
  const x3 = new Variable(f64([5, 6]));
  assertAllClose(f(x3, x3).data, 61); // the aliased tape again
  assert.deepEqual(x3.grad!.data.toArray(), [10, 12]);
  assert.equal(f.stats().traces, 2);
  // two Variables over one array: each gets its own gradient
  const shared = f64([1, 3]);
  const p = new Variable(shared), q = new Variable(shared);
  f(p, q);
  assert.deepEqual([p.grad!.data.toArray(), q.grad!.data.toArray()], [[1, 3], [1, 3]]);
  // an in-place write through one argument read through the other
  const g = jit((a: dz.NDArray, b: dz.NDArray) => a.iadd(b).mul(b));
  g(f64([1]), f64([2]));
  const a = f64([1, 2]);
  assert.deepEqual(g(f64([1, 1]), f64([3, 4])).toArray(), [12, 20]);
  assert.deepEqual(g(a, a).toArray(), [4, 16]); // a += a, then a * a
  assert.deepEqual(a.toArray(), [2, 4]);
});

Deno.test("arguments overlapping in memory without being one array run eagerly, once said", () => {
  const f = jit((a: dz.NDArray, b: dz.NDArray) => a.iadd(1).add(b.reshape(-1)));
  const x = f64([1, 2, 3, 4]);
  const [r, said] = quiet(() => [f(x, x.reshape(2, 2)), f(x, x.reshape(2, 2))]);
  assert.deepEqual(r[0].toArray(), [4, 6, 8, 10]); // eager's: b sees a's write
  assert.deepEqual(r[1].toArray(), [6, 8, 10, 12]);
  assert.equal(said.length, 1);
  assert.match(said[0], /share memory/);
  assert.equal(f.stats().eagerRuns, 2);
});

/** A one-layer regression step on `lin` by SGD, jitted or not. */
function trainer(lin: dz.L.Linear, jitted: boolean) {
  const opt = new optimizers.SGD(0.1).setup(lin);
  const step = (x: dz.NDArray, t: dz.NDArray) => {
    const loss = F.meanSquaredError(lin.apply(x), t);
    lin.cleargrads();
    loss.backward();
    opt.update();
    return loss;
  };
  return jitted ? jit(step) : step;
}

Deno.test("a parameter replaced on a layer between calls is the one the replay reads and updates", () => {
  const make = () => new L.Linear(1, { inSize: 2, dtype: "float64" });
  const [a, b] = [make(), make()];
  b.W.data = a.W.data.copy();
  const [ja, eb] = [trainer(a, true), trainer(b, false)];
  const x = f64([[1, 2], [3, -1]]), t = f64([[1], [0]]);
  for (let k = 0; k < 3; k++) assertAllClose(ja(x, t).data, eb(x, t).data, { rtol: 1e-15 });
  const old = a.W;
  const before = old.data.toArray();
  a.W = new Parameter(f64([[0.5], [-0.25]]), "W");
  b.W = new Parameter(f64([[0.5], [-0.25]]), "W");
  for (let k = 0; k < 2; k++) {
    assertAllClose(ja(x, t).data, eb(x, t).data, { rtol: 1e-15 });
    assert.deepEqual(a.W.data.toArray(), b.W.data.toArray());
  }
  assert.deepEqual(old.data.toArray(), before, "the replaced parameter is left alone");
  // a replaced sub-layer too
  class Net extends dz.Model {
    l0 = make();
    forward(x: V) {
      return this.l0.apply(x);
    }
  }
  const m = new Net();
  const step = jit((x: dz.NDArray) => m.apply(x));
  step(x);
  step(x);
  m.l0 = new L.Linear(1, { inSize: 2, dtype: "float64", nobias: true });
  assert.deepEqual(step(x).data.toArray(), F.matmul(x, m.l0.W).data.toArray());
});

Deno.test("gradients and results a replay hands out do not change under later calls", () => {
  const w = new Parameter(f64([1, 2]), "w");
  const step = jit((x: V) => {
    w.cleargrad();
    const y = F.sum(F.mul(w, x));
    y.backward();
    return y;
  });
  const grads: dz.Variable[] = [], results: dz.Variable[] = [];
  for (const v of [[1, 1], [2, 3], [5, 7], [-1, 0]]) {
    results.push(step(new Variable(f64(v))));
    grads.push(w.grad!);
  }
  // w.grad is x each time; each kept gradient keeps its own call's values
  assert.deepEqual(grads.map((g) => g.data.toArray()), [[1, 1], [2, 3], [5, 7], [-1, 0]]);
  assert.deepEqual(results.map((r) => r.data.item()), [3, 8, 19, -1]);
});

Deno.test("labels out of range throw on a replay as eagerly, before any update", () => {
  const lin = new L.Linear(3, { inSize: 2, dtype: "float64" });
  const opt = new optimizers.SGD(0.1).setup(lin);
  const step = jit((x: dz.NDArray, t: dz.NDArray) => {
    const y = lin.apply(x);
    const loss = F.softmaxCrossEntropy(y, t);
    lin.cleargrads();
    loss.backward();
    opt.update();
    return [loss, F.accuracy(y, t)];
  });
  const x = f64([[1, 2], [3, 4]]);
  const labels = (...v: number[]) => dz.array(v, { dtype: "int32" });
  step(x, labels(0, 2));
  step(x, labels(1, 1));
  const W = lin.W.data.toArray();
  for (const [bad, label] of [[labels(0, 3), 3], [labels(-1, 0), -1]] as const) {
    assert.throws(
      () => step(x, bad),
      new RegExp(`softmaxCrossEntropy: label ${label} out of range \\[0, 3\\)`),
    );
    assert.deepEqual(lin.W.data.toArray(), W, "no update ran");
  }
  assert.equal(step.stats().traces, 1);
  const acc = jit((y: V, t: dz.NDArray) => F.accuracy(y, t));
  const y = new Variable(f64([[1, 5, 0], [9, 0, 0]]));
  acc(y, labels(1, 0));
  assertAllClose(acc(y, labels(1, 1)).data, 0.5);
  assert.throws(() => acc(y, labels(1, 7)), /accuracy: label 7 out of range \[0, 3\)/);
});

Deno.test("reading .raw while tracing makes the function value-dependent (run eagerly)", () => {
  const f = jit((x: V) => (x.data.raw[0] > 0 ? F.mul(x, 2) : F.mul(x, 3)));
  const [ys, said] = quiet(() => [f64([1]), f64([-1]), f64([2])].map((v) => f(new Variable(v))));
  assert.deepEqual(ys.map((y) => y.data.item()), [2, -3, 4]);
  assert.match(said[0], /reads array values/);
});

Deno.test("a function returning what a replay cannot give is refused at once, before running again", () => {
  let runs = 0;
  const x = new Variable(f64([1, 2]));
  const obj = jit((x: V) => {
    runs++;
    return { loss: F.sum(x) } as unknown as V;
  });
  assert.throws(() => obj(x), /jit: the function returned an object; .*return a Variable/);
  assert.throws(() => obj(x), /returned an object/);
  assert.equal(runs, 1, "the second call ran nothing");
  // deno-lint-ignore require-await
  const later = jit(async (x: V) => F.sum(x));
  assert.throws(() => later(x), /returned a Promise \(is it an async function\?\)/);
});
