/**
 * Tests of jit() on recurrent training: layer state carried across replays
 * (read afresh, written back, `resetState()` respected), the jitted
 * truncated-BPTT window bit for bit as eager, the jitted time step whose
 * graph is backpropagated after many replays (bit for bit too: eager's
 * order of sums, also where the calls' generations shift or two results
 * share a value, or several backward passes from different roots run
 * through the same calls), and the cases a replay cannot
 * stand in for (a graph from outside, a graph already backpropagated).
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { jit } from "../jit/mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, L, Model, Variable, optimizers, random } = dz;
type V = dz.Variable;
type Cell = "rnn" | "lstm";

/** A recurrent layer of 6 features (inSize lazy, as the book's), then Linear(1). */
class Net extends Model {
  rnn: dz.L.RNN | dz.L.LSTM;
  fc = new L.Linear(1);
  constructor(cell: Cell) {
    super();
    this.rnn = cell === "rnn" ? new L.RNN(6) : new L.LSTM(6);
  }
  forward(x: V): V {
    return this.fc.apply(this.rnn.apply(x));
  }
}

/**
 * `n` fixed batches `[x, t]` of 3 rows, float32 or, as the book's SinCurve,
 * float64 (through float32 weights: float64 activations).
 */
function batches(n: number, dtype: "float32" | "float64" = "float32"): [dz.NDArray, dz.NDArray][] {
  random.seed(7);
  return Array.from({ length: n }, () => [
    random.rand(3, 1).astype(dtype),
    random.rand(3, 1).astype(dtype),
  ]);
}

type DataType = "float32" | "float64";

interface Run {
  losses: number[];
  params: number[][];
  stats: dz.JitStats | null;
}

/** A freshly seeded model and Adam; `train(model, opt)` runs and returns the losses. */
function run(cell: Cell, train: (model: Net, opt: dz.optimizers.Adam) => number[]): Run {
  random.seed(0);
  const model = new Net(cell);
  const opt = new optimizers.Adam(0.01).setup(model);
  const losses = train(model, opt);
  return { losses, params: [...model.params()].map((p) => Array.from(p.data.data)), stats: null };
}

/** Backpropagates `loss`, cuts the graph, updates (the book's window end). */
function update(model: Net, opt: dz.optimizers.Adam, loss: V): void {
  model.cleargrads();
  loss.backward();
  loss.unchainBackward();
  opt.update();
}

/** 10 windows of 5 steps (50 steps), `resetState()` after the fifth; window fn jitted or not. */
function windows(cell: Cell, jitted: boolean, dtype: DataType = "float32"): Run {
  let stats: dz.JitStats | null = null;
  const r = run(cell, (model, opt) => {
    const data = batches(50, dtype);
    const window = (xs: dz.NDArray, ts: dz.NDArray): V => {
      let loss = F.meanSquaredError(model.apply(F.getItem(xs, 0)), F.getItem(ts, 0));
      for (let s = 1; s < 5; s++) {
        loss = F.add(loss, F.meanSquaredError(model.apply(F.getItem(xs, s)), F.getItem(ts, s)));
      }
      update(model, opt, loss);
      return loss;
    };
    const step = jit(window);
    const losses: number[] = [];
    for (let w = 0; w < 10; w++) {
      if (w === 5) model.rnn.resetState();
      const part = data.slice(5 * w, 5 * w + 5);
      const xs = dz.array(part.map(([x]) => x.toArray() as number[][]), { dtype });
      const ts = dz.array(part.map(([, t]) => t.toArray() as number[][]), { dtype });
      losses.push((jitted ? step : window)(xs, ts).data.item());
    }
    stats = step.stats();
    return losses;
  });
  return { ...r, stats: jitted ? stats : null };
}

/** 50 steps of the step function (jitted or not), backward every 10, `resetState()` at 25. */
function steps(cell: Cell, jitted: boolean, dtype: DataType = "float32"): Run {
  let stats: dz.JitStats | null = null;
  const r = run(cell, (model, opt) => {
    const timeStep = (x: dz.NDArray, t: dz.NDArray) => F.meanSquaredError(model.apply(x), t);
    const step = jit(timeStep);
    const losses: number[] = [];
    let loss: V | null = null;
    batches(50, dtype).forEach(([x, t], i) => {
      if (i === 25) model.rnn.resetState();
      const term = (jitted ? step : timeStep)(x, t);
      losses.push(term.data.item());
      loss = loss === null ? term : F.add(loss, term);
      if (i % 10 === 9) {
        update(model, opt, loss!);
        loss = null;
      }
    });
    stats = step.stats();
    return losses;
  });
  return { ...r, stats: jitted ? stats : null };
}

for (const cell of ["rnn", "lstm"] as const) {
  Deno.test(`jit() replays a ${cell} truncated-BPTT window bit for bit as eager, resetState() included`, () => {
    const e = windows(cell, false), j = windows(cell, true);
    assert.deepEqual(j.losses, e.losses);
    assert.deepEqual(j.params, e.params);
    // window 0 draws the lazy weights, window 1 is traced with state, window 5 without
    assert.equal(j.stats!.traces, 3);
    assert.equal(j.stats!.cacheHits, 7);
    assert.ok(e.losses[4] < e.losses[0], "the model learns");
  });

  Deno.test(`jit() replays a ${cell} time step whose graph is backpropagated after ten replays, bit for bit as eager, resetState() included`, () => {
    const e = steps(cell, false), j = steps(cell, true);
    assert.deepEqual(j.losses, e.losses);
    assert.deepEqual(j.params, e.params);
    assert.ok(j.stats!.cacheHits >= 45, `replayed ${j.stats!.cacheHits} of 50 steps`);
  });
}

Deno.test("jit() runs float64 data through float32 weights (the book's SinCurve) bit for bit as eager, products compiled", () => {
  for (const cell of ["rnn", "lstm"] as const) {
    const e = windows(cell, false, "float64"), j = windows(cell, true, "float64");
    assert.deepEqual(j.losses, e.losses);
    assert.deepEqual(j.params, e.params);
    assert.equal(j.stats!.fallbacks, 0, "no product runs the eager kernel");
    const es = steps(cell, false, "float64"), js = steps(cell, true, "float64");
    assert.deepEqual(js.losses, es.losses);
    assert.deepEqual(js.params, es.params);
  }
});

Deno.test("jit() gradients through replayed steps equal eager's for every parameter", () => {
  for (const cell of ["rnn", "lstm"] as const) {
    const grads = (jitted: boolean) => {
      random.seed(0);
      const model = new Net(cell);
      const timeStep = (x: dz.NDArray, t: dz.NDArray) => F.meanSquaredError(model.apply(x), t);
      const step = jitted ? jit(timeStep) : timeStep;
      let loss: V | null = null;
      for (const [x, t] of batches(8)) {
        const term = step(x, t);
        loss = loss === null ? term : F.add(loss, term);
      }
      model.cleargrads();
      loss!.backward();
      return [...model.params()].map((p) => Array.from(p.grad!.data.data));
    };
    const e = grads(false), j = grads(true);
    assert.deepEqual(j, e, cell);
  }
});

Deno.test("jit() gradients of backward passes from different roots through the same replayed steps equal eager's", () => {
  for (const cell of ["rnn", "lstm"] as const) {
    const grads = (jitted: boolean) => {
      random.seed(0);
      const model = new Net(cell);
      const timeStep = (x: dz.NDArray, t: dz.NDArray) => F.meanSquaredError(model.apply(x), t);
      const step = jitted ? jit(timeStep) : timeStep;
      const terms = batches(8).map(([x, t]) => step(x, t));
      const passes: number[][][] = [];
      // each pass runs through steps 0..2 again, with other gradients than the pass before
      for (const root of [terms[5], F.add(terms[2], terms[7]), F.mul(terms[6], 3)]) {
        model.cleargrads();
        root.backward();
        passes.push([...model.params()].map((p) => Array.from(p.grad!.data.data)));
      }
      return passes;
    };
    const e = grads(false), j = grads(true);
    assert.notDeepEqual(e[0], e[1], "the passes' gradients differ");
    assert.deepEqual(j, e, cell);
  }
});

/** `W.grad`'s bits for each parameter after `run(step)` with `step` jitted or not. */
function gradBits<F extends (...args: never[]) => unknown>(
  fn: (params: dz.Parameter[]) => F,
  run: (step: F) => V,
): { eager: number[][]; jitted: number[][]; hits: number } {
  let hits = 0;
  const once = (jitted: boolean) => {
    random.seed(5);
    const params = [0, 1].map(() => new dz.Parameter(random.randn(3, 3).astype("float32")));
    const f = fn(params);
    const step = jitted ? jit(f) : f;
    run(step as F).backward();
    if (jitted) hits = (step as dz.Jitted<unknown[], unknown>).stats().cacheHits;
    return params.map((p) => Array.from(p.grad!.data.data));
  };
  return { eager: once(false), jitted: once(true), hits };
}

Deno.test("jit() gradients kept from a backward pass through replayed calls keep their values after later passes", () => {
  // a replayed call's backward lends its gradients from the tape's buffers: those a pass keeps
  // (every parameter's and argument's here: one call per pass) must be copies
  random.seed(3);
  const W = new dz.Parameter(random.randn(3, 3).astype("float32"));
  const step = jit((x: V) => F.sum(F.tanh(F.matmul(F.sin(x), W))));
  const kept: [V, number[]][] = [];
  for (let i = 0; i < 4; i++) {
    const x = new Variable(random.randn(2, 3).astype("float32"));
    W.cleargrad();
    step(x).backward();
    kept.push([W.grad!, Array.from(W.grad!.data.data)], [x.grad!, Array.from(x.grad!.data.data)]);
  }
  assert.ok(step.stats().cacheHits >= 2);
  for (const [g, values] of kept) assert.deepEqual(Array.from(g.data.data), values);
  assert.notDeepEqual(kept[0][1], kept[2][1], "the passes' gradients differ");
});

Deno.test("jit() gradients through replayed calls keep eager's order when the calls' generations shift", () => {
  // h comes in as an argument carrying the earlier calls' graph: its generation grows, and u's
  // consumers (an add on h's side, a product and a sine on x's: one generation at the trace)
  // change places in eager's order
  const xs = Array.from({ length: 12 }, () => random.rand(2, 3).astype("float32"));
  const { eager, jitted, hits } = gradBits(
    ([W, U]) => (h: V, x: dz.NDArray) => {
      const u = F.sin(F.sin(F.sin(F.matmul(x, U))));
      return F.add(F.add(F.mul(u, u), F.sin(u)), F.tanh(F.add(F.matmul(h, W), u)));
    },
    (step) => {
      let h: V = F.mul(new Variable(dz.ones([2, 3], { dtype: "float32" })), 0.5); // generation 1
      let loss: V | null = null;
      for (const x of xs) {
        h = step(h, x);
        loss = loss === null ? F.sum(h) : F.add(loss, F.sum(h));
      }
      return loss!;
    },
  );
  assert.ok(hits >= 10, `replayed ${hits} of 12 calls`);
  assert.deepEqual(jitted, eager);
});

Deno.test("jit() gradients through replayed calls whose results share a value equal eager's", () => {
  const xs = Array.from({ length: 6 }, () => random.rand(2, 3).astype("float32"));
  const { eager, jitted, hits } = gradBits(
    ([W, U]) => (x: dz.NDArray) => {
      const u = F.tanh(F.matmul(F.matmul(x, W), U)); // both results are computed from u
      return [F.sum(F.mul(u, 2)), F.sum(F.mul(u, u))];
    },
    (step) => {
      let loss: V | null = null;
      for (const x of xs) {
        const [a, b] = step(x);
        loss = F.add(loss === null ? a : F.add(loss, a), b);
      }
      return loss!;
    },
  );
  assert.ok(hits >= 4, `replayed ${hits} of 6 calls`);
  assert.deepEqual(jitted, eager);
});

Deno.test("jit() runs eagerly, saying why, a function whose results are outputs of one function", () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    /** `[x * 2, x * x]`, one function with two outputs. */
    class Pair extends dz.Function {
      forward(x: dz.NDArray): dz.NDArray[] {
        return [x.mul(2), x.mul(x)];
      }
      backward(g0: V | null, g1: V | null): V {
        const x = this.inputs[0];
        const a = g0 === null ? null : F.mul(g0, 2),
          b = g1 === null ? null : F.mul(g1, F.mul(x, 2));
        return a === null ? b! : b === null ? a : F.add(a, b);
      }
    }
    const p = new dz.Parameter(dz.array([1.5, -2], { dtype: "float64" }));
    const step = jit((x: dz.NDArray) => new Pair().applyAll(F.mul(p, x)));
    let loss: V | null = null;
    for (let i = 0; i < 3; i++) {
      const [a, b] = step(dz.array([i + 1, 1], { dtype: "float64" }));
      loss = F.add(loss ?? 0, F.sum(F.add(a, b)));
    }
    loss!.backward();
    // d/dp sum(2 p x + (p x)^2) = 2 x + 2 p x^2 over x = (1, 1), (2, 1), (3, 1)
    assert.deepEqual(Array.from(p.grad!.data.data), [2 * 6 + 2 * 1.5 * 14, 2 * 3 + 2 * -2 * 3]);
    assert.equal(step.stats().eagerRuns, 2);
    assert.match(warnings.join("\n"), /one function with several outputs \(Pair\)/);
  } finally {
    console.warn = warn;
  }
});

Deno.test("jit() reads layer state afresh, writes fresh Variables back, and keeps the graph's cuts", () => {
  random.seed(1);
  const rnn = new L.RNN(4, { inSize: 2 });
  const step = jit((x: dz.NDArray) => rnn.apply(x));
  const x = random.rand(1, 2).astype("float32");
  const eager = new L.RNN(4, { inSize: 2 });
  for (const [name, p] of rnn.namedParams()) eager.namedParams().get(name)!.data = p.data.copy();
  const hs: V[] = [];
  for (let i = 0; i < 4; i++) {
    const h = step(x);
    assert.equal(rnn.h, h, "the result is the state, as in eager");
    assert.deepEqual(Array.from(h.data.data), Array.from(eager.apply(x).data.data));
    hs.push(h);
  }
  assert.notEqual(hs[2].data.data, hs[3].data.data, "each call hands out its own arrays");
  assert.ok(hs[3].creator !== null, "the state carries its graph");
  F.sum(hs[3]).unchainBackward();
  assert.equal(hs[2].creator, null, "unchainBackward() reaches the previous call's state");
});

Deno.test("jit() traces again when state appears or goes, and keeps both tapes", () => {
  random.seed(2);
  const lstm = new L.LSTM(3, { inSize: 1 });
  const step = jit((x: dz.NDArray) => dz.noGrad(() => lstm.apply(x)));
  const x = dz.array([[0.5]], { dtype: "float32" });
  step(x); // no state: traced
  step(x); // state: traced
  step(x);
  lstm.resetState();
  step(x); // no state again: the first tape
  step(x);
  assert.deepEqual([step.stats().traces, step.stats().cacheHits], [2, 3]);
  assert.equal(lstm.h!.creator, null, "no graph under noGrad");
});

Deno.test("jit() runs eagerly, saying why, when a function reads a graph from its closure", () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    const w = new Variable(dz.array([1, 2]));
    const z = F.mul(w, 3); // built outside, read inside
    const step = jit((x: V) => F.sum(F.mul(x, z)));
    const x = new Variable(dz.array([1, 1]));
    for (let i = 0; i < 3; i++) assertAllClose(step(x), 9);
    z.data = dz.array([5, 5]); // an eager run sees the new data
    assertAllClose(step(x), 10);
    assert.equal(step.stats().eagerRuns, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /graph built outside it, from its closure/);
  } finally {
    console.warn = warn;
  }
});

Deno.test("jit() runs eagerly when its backward would run into an earlier call's graph", () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const gradsOf = (jitted: boolean) => {
      random.seed(3);
      const rnn = new L.RNN(3, { inSize: 1 });
      // backpropagates each step's output through all earlier steps (no unchain)
      const fn = (x: dz.NDArray) => {
        const h = rnn.apply(x);
        rnn.cleargrads();
        F.sum(h).backward();
        return h;
      };
      const step = jitted ? jit(fn) : fn;
      const x = dz.array([[0.5]], { dtype: "float64" });
      for (let i = 0; i < 4; i++) step(x);
      return Array.from(rnn.h2h.W.grad!.data.data);
    };
    assert.deepEqual(gradsOf(true), gradsOf(false));
  } finally {
    console.warn = warn;
  }
});

Deno.test("jit() results whose graph the call already backpropagated refuse a second backward", () => {
  const p = new dz.Parameter(dz.array([2], { dtype: "float64" }));
  const step = jit((x: V) => {
    const y = F.mul(x, p);
    p.cleargrad();
    x.cleargrad();
    y.backward();
    return y;
  });
  const x = new Variable(dz.array([3], { dtype: "float64" }));
  step(x);
  const y = step(x);
  assert.equal(step.stats().cacheHits, 1);
  assertAllClose(p.grad!, [3]);
  assert.throws(() => y.backward(), /already backpropagated inside the call/);
});

Deno.test("jit() refuses backward({ createGraph: true }) through a replayed graph", () => {
  const p = new dz.Parameter(dz.array([2], { dtype: "float64" }));
  const step = jit((x: V) => F.mul(F.mul(x, p), p));
  const x = new Variable(dz.array([3], { dtype: "float64" }));
  step(x);
  const y = step(x);
  assert.throws(() => y.backward({ createGraph: true }), /createGraph/);
  p.cleargrad();
  step(x).backward();
  assertAllClose(p.grad!, [12]); // d(3 p^2)/dp at p = 2
});

Deno.test("jit() refuses a backward pass that starts inside a replayed graph, and then runs from a result", () => {
  const p = new dz.Parameter(dz.array([2], { dtype: "float64" }));
  const step = jit((x: V) => F.sin(F.mul(F.mul(x, p), p)));
  const x = new Variable(dz.array([3], { dtype: "float64" }));
  step(x);
  const y = step(x); // a replay: sin(u), u = 3 p^2 computed inside the call
  const u = y.creator!.inputs[0];
  p.cleargrad();
  y.backward(); // the replay's gradients once, so that a stale copy could be handed out again
  assertAllClose(p.grad!, [Math.cos(12) * 12]); // d sin(3 p^2)/dp = cos(3 p^2) 6 p
  for (const start of [u, F.mul(u, 5)]) {
    p.cleargrad();
    assert.throws(() => start.backward(), /cannot start inside the graph of a jitted call/);
    u.cleargrad(); // the refused pass gave u a gradient (as eager's would keep)
  }
  p.cleargrad();
  y.backward();
  assertAllClose(p.grad!, [Math.cos(12) * 12]);
});

Deno.test("jit() traces again after a call that draws lazy weights, and runs eagerly a function that draws new ones every call", () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    random.seed(4);
    const rnn = new L.RNN(3); // x2h drawn at the first call, h2h at the second
    const step = jit((x: dz.NDArray) => dz.noGrad(() => rnn.apply(x)));
    const x = dz.array([[0.5]], { dtype: "float32" });
    for (let i = 0; i < 5; i++) step(x);
    const h2h = Array.from(rnn.h2h.W.data.data);
    step(x);
    assert.deepEqual(Array.from(rnn.h2h.W.data.data), h2h, "replays never redraw a weight");
    assert.deepEqual([step.stats().traces, step.stats().cacheHits], [3, 3]);
    const fresh = jit((x: dz.NDArray) => new L.Linear(2).apply(x)); // a new layer each call
    for (let i = 0; i < 6; i++) assert.deepEqual(fresh(x).shape, [1, 2]);
    assert.equal(fresh.stats().traces, 4);
    assert.equal(fresh.stats().eagerRuns, 2);
    assert.match(warnings.join("\n"), /draws new parameters on every call/);
  } finally {
    console.warn = warn;
  }
});
