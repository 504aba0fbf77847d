/**
 * Tests of the recurrent layers RNN and LSTM and of EmbedID / F.embedId:
 * one step's values against the formulas written out with loops, numeric
 * gradients through three time steps for every parameter, truncation by
 * `unchainBackward`, DeZero's parameter names and initial weights (numpy
 * fixture), and embedding lookups with repeated ids.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";
import { centralDifference } from "./central_difference.ts";
import init from "./fixtures/recurrent_init.json" with { type: "json" };

const { F, L, Variable, noGrad, random } = dz;
type Variable = dz.Variable;
type Matrix = number[][];

// ------------------------------------------------------------ plain formulas

const mm = (x: Matrix, W: Matrix): Matrix =>
  x.map((row) => W[0].map((_, j) => row.reduce((s, v, k) => s + v * W[k][j], 0)));
const zip = (a: Matrix, b: Matrix, f: (u: number, v: number) => number): Matrix =>
  a.map((row, i) => row.map((u, j) => f(u, b[i][j])));
const plus = (a: Matrix, b: Matrix): Matrix => zip(a, b, (u, v) => u + v);
const times = (a: Matrix, b: Matrix): Matrix => zip(a, b, (u, v) => u * v);
const bias = (a: Matrix, b: number[]): Matrix => a.map((row) => row.map((u, j) => u + b[j]));
const map = (a: Matrix, f: (u: number) => number): Matrix => a.map((row) => row.map(f));
const sigm = (u: number) => 1 / (1 + Math.exp(-u));

/** A [rows, cols] float64 matrix of fixed, varied values. */
function fixed(rows: number, cols: number, seed: number): Matrix {
  return Array.from(
    { length: rows },
    (_, i) =>
      Array.from({ length: cols }, (_, j) => Math.sin(seed * 7.1 + i * 1.3 + j * 0.7) * 0.8),
  );
}

const nd = (m: Matrix | number[]) => dz.array(m, { dtype: "float64" });

/** Sets every parameter of `layer` to fixed float64 values; returns them by name. */
function setParams(layer: dz.Layer): Map<string, Matrix | number[]> {
  const values = new Map<string, Matrix | number[]>();
  let seed = 1;
  for (const [name, p] of layer.namedParams()) {
    const [r, c] = p.shape;
    const m = p.ndim === 1 ? fixed(1, r, seed++)[0] : fixed(r, c, seed++);
    p.data = nd(m);
    values.set(name, m);
  }
  return values;
}

const xs = [fixed(2, 2, 11), fixed(2, 2, 12), fixed(2, 2, 13)];

// ------------------------------------------------------------ values of a step

Deno.test("RNN: h = tanh(x @ Wx + b) without state, then tanh(x @ Wx + b + h @ Wh)", () => {
  const rnn = new L.RNN(3, { inSize: 2 });
  const p = setParams(rnn);
  const Wx = p.get("x2h.W") as Matrix, b = p.get("x2h.b") as number[];
  const Wh = p.get("h2h.W") as Matrix;
  const h1 = map(bias(mm(xs[0], Wx), b), Math.tanh);
  const h2 = map(plus(bias(mm(xs[1], Wx), b), mm(h1, Wh)), Math.tanh);
  assertAllClose(rnn.apply(nd(xs[0])), h1, { rtol: 1e-14 });
  assertAllClose(rnn.h!, h1, { rtol: 1e-14 });
  assertAllClose(rnn.apply(nd(xs[1])), h2, { rtol: 1e-14 });
  rnn.resetState();
  assert.equal(rnn.h, null);
  assertAllClose(rnn.apply(nd(xs[0])), h1, { rtol: 1e-14, msg: "after resetState" });
});

/** One LSTM step by the formulas; `state` null at the start. */
function lstmStep(
  p: Map<string, Matrix | number[]>,
  x: Matrix,
  state: { h: Matrix; c: Matrix } | null,
): { h: Matrix; c: Matrix } {
  const gate = (g: string, act: (u: number) => number) => {
    const pre = bias(mm(x, p.get(`x2${g}.W`) as Matrix), p.get(`x2${g}.b`) as number[]);
    return map(state === null ? pre : plus(pre, mm(state.h, p.get(`h2${g}.W`) as Matrix)), act);
  };
  const f = gate("f", sigm), i = gate("i", sigm), o = gate("o", sigm), u = gate("u", Math.tanh);
  const c = state === null ? times(i, u) : plus(times(f, state.c), times(i, u));
  return { h: times(o, map(c, Math.tanh)), c };
}

Deno.test("LSTM: gates, cell and hidden state of two steps match the formulas", () => {
  const lstm = new L.LSTM(3, { inSize: 2 });
  const p = setParams(lstm);
  const s1 = lstmStep(p, xs[0], null);
  const s2 = lstmStep(p, xs[1], s1);
  assertAllClose(lstm.apply(nd(xs[0])), s1.h, { rtol: 1e-14 });
  assertAllClose(lstm.c!, s1.c, { rtol: 1e-14 });
  assertAllClose(lstm.apply(nd(xs[1])), s2.h, { rtol: 1e-14 });
  assertAllClose(lstm.h!, s2.h, { rtol: 1e-14 });
  assertAllClose(lstm.c!, s2.c, { rtol: 1e-14 });
  lstm.resetState();
  assert.equal(lstm.h, null);
  assert.equal(lstm.c, null);
});

// ------------------------------------------------------------ gradients

const W_OUT = nd(fixed(2, 3, 21));

/** `sum(h3 * W_OUT)` after three steps from no state. */
function threeSteps(layer: dz.L.RNN | dz.L.LSTM): Variable {
  layer.resetState();
  let h: Variable | null = null;
  for (const x of xs) h = layer.apply(nd(x));
  return F.sum(F.mul(h!, W_OUT));
}

for (const make of [() => new L.RNN(3, { inSize: 2 }), () => new L.LSTM(3, { inSize: 2 })]) {
  const name = make().constructor.name;
  Deno.test(`${name}: gradients through three time steps match central differences for every parameter`, () => {
    const layer = make();
    setParams(layer);
    threeSteps(layer).backward();
    for (const [key, p] of layer.namedParams()) {
      const saved = p.data;
      const num = centralDifference((w) => {
        p.data = w;
        return noGrad(() => threeSteps(layer).data.item());
      }, saved);
      p.data = saved;
      assertAllClose(p.grad!, num, { ...GRAD_TOL.float64, msg: `${name} ${key}` });
    }
  });
}

Deno.test("unchainBackward() cuts the gradient at the state, exactly where DeZero cuts it", () => {
  const rnn = new L.RNN(3, { inSize: 2 });
  setParams(rnn);
  const x1 = new Variable(nd(xs[0]));
  let loss = weighted(rnn.apply(x1));
  for (const x of xs.slice(1)) loss = loss.add(weighted(rnn.apply(nd(x))));
  rnn.cleargrads();
  loss.backward();
  const x1grad = x1.grad!.data.copy();
  loss.unchainBackward();
  assert.equal(rnn.h!.creator, null, "the carried state is a leaf after the cut");
  const cut = rnn.h!.data.copy();
  // two more steps, the loss accumulating on top of the cut one (as DeZero's step 59)
  const later = [fixed(2, 2, 14), fixed(2, 2, 15)];
  for (const x of later) loss = loss.add(weighted(rnn.apply(nd(x))));
  rnn.cleargrads();
  loss.backward();
  assertAllClose(x1.grad!, x1grad, { rtol: 0, msg: "nothing flows past the cut" });
  // reference: the two later steps alone, from the cut state held constant
  const window = () => {
    rnn.h = new Variable(cut);
    let l: Variable | null = null;
    for (const x of later) {
      const term = weighted(rnn.apply(nd(x)));
      l = l === null ? term : l.add(term);
    }
    return l!.data.item();
  };
  for (const [key, p] of rnn.namedParams()) {
    const saved = p.data;
    const num = centralDifference((w) => {
      p.data = w;
      return noGrad(window);
    }, saved);
    p.data = saved;
    assertAllClose(p.grad!, num, { ...GRAD_TOL.float64, msg: key });
  }
});

/** `sum(h * W_OUT)`. */
function weighted(h: Variable): Variable {
  return F.sum(F.mul(h, W_OUT));
}

// ------------------------------------------------------------ DeZero's names and numbers

Deno.test("LSTM has DeZero's parameter names and initial weights (numpy, seed 0)", () => {
  random.seed(0);
  const lstm = new L.LSTM(3, { inSize: 2 });
  const names = [..."fiou"].flatMap((g) => [`x2${g}.W`, `x2${g}.b`]).concat(
    [..."fiou"].map((g) => `h2${g}.W`),
  );
  assert.deepEqual([...lstm.namedParams().keys()], names);
  for (const [name, p] of lstm.namedParams()) {
    assert.equal(p.dtype, "float32");
    const want = (init.lstm as Record<string, number[]>)[name];
    if (want === undefined) assert.deepEqual(Array.from(p.data.data), [0, 0, 0], name);
    else assert.deepEqual(Array.from(p.data.data), want, name);
  }
});

Deno.test("RNN draws its lazy weights at first use as DeZero does; h2h is sized by hiddenSize", () => {
  random.seed(0);
  const rnn = new L.RNN(4);
  assert.deepEqual([...rnn.namedParams().keys()], ["x2h.W", "x2h.b", "h2h.W"]);
  const x = dz.array([[0.5]], { dtype: "float32" });
  rnn.apply(x);
  assert.deepEqual(Array.from(rnn.x2h.W.data.data), init.rnn_lazy["x2h.W"]);
  assert.equal(rnn.h2h.inSize, null, "h2h is drawn at the first step with state");
  rnn.apply(x);
  assert.deepEqual(Array.from(rnn.h2h.W.data.data), init.rnn_lazy["h2h.W"]);
  const wide = new L.RNN(3, { inSize: 5 });
  assert.deepEqual(wide.h2h.W.shape, [3, 3]);
  wide.apply(dz.ones([2, 5], { dtype: "float32" }));
  assert.deepEqual(wide.apply(dz.ones([2, 5], { dtype: "float32" })).shape, [2, 3]);
});

Deno.test("RNN, LSTM and EmbedID reject bad sizes, naming the layer", () => {
  assert.throws(() => new L.RNN(0), /RNN: hiddenSize must be a positive integer, got 0/);
  assert.throws(() => new L.LSTM(4, { inSize: 1.5 }), /LSTM: inSize must be a positive integer/);
  assert.throws(() => new L.EmbedID(10, -1), /EmbedID: outSize must be a positive integer/);
});

Deno.test("LSTM weights save and load under DeZero's names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dezero-lstm-" });
  try {
    random.seed(1);
    const a = new L.LSTM(3, { inSize: 2 });
    const b = new L.LSTM(3); // lazy x2*: loading fills their placeholders
    await a.saveWeights(`${dir}/lstm.npz`);
    await b.loadWeights(`${dir}/lstm.npz`);
    for (const [name, p] of a.namedParams()) {
      assert.deepEqual(b.namedParams().get(name)!.data.toArray(), p.data.toArray(), name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------ EmbedID

Deno.test("EmbedID draws W as DeZero's randn(in, out) and picks rows, repeated ids included", () => {
  random.seed(0);
  const embed = new L.EmbedID(5, 3);
  assert.equal(embed.W.dtype, "float64");
  assert.deepEqual(Array.from(embed.W.data.data), init.embed.W);
  const W = embed.W.data.toArray() as Matrix;
  const ids = [[1, 3, 1], [4, 1, 0]];
  const y = embed.apply(dz.array(ids));
  assert.deepEqual(y.shape, [2, 3, 3]);
  assert.deepEqual(y.data.toArray(), ids.map((row) => row.map((k) => W[k])));
});

Deno.test("embedId: the gradient adds each output row into its id's row of W", () => {
  const W = new Variable(nd(fixed(5, 3, 31)));
  const ids = [[1, 3, 1], [4, 1, 1]];
  const w = fixed(6, 3, 32); // weights of each output row in the loss
  F.sum(F.mul(F.embedId(dz.array(ids), W), nd(w).reshape(2, 3, 3))).backward();
  const want = Array.from({ length: 5 }, () => [0, 0, 0]);
  ids.flat().forEach((k, r) => w[r].forEach((v, j) => (want[k][j] += v)));
  assertAllClose(W.grad!, want, { rtol: 1e-15 });
  assert.ok(
    dz.utils.gradientCheck((W) => F.embedId(dz.array([2, 2, 0, -1]), W), nd(fixed(5, 3, 33))),
  );
});

Deno.test("embedId: ids are int32 and in range, errors name embedId", () => {
  const W = nd(fixed(5, 3, 34));
  assert.throws(() => F.embedId(dz.array([0.5]), W), /embedId: ids must be int32, got float64/);
  assert.throws(
    () => F.embedId(dz.array([1, 5]), W),
    /embedId: index 5 is out of bounds for axis 0 with size 5/,
  );
  assert.throws(() => F.embedId(1, dz.array(3)), /embedId: W must have at least one axis/);
  assertAllClose(F.embedId(-1, W), (W.toArray() as Matrix)[4], { rtol: 0 });
});
