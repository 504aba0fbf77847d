/**
 * Tests of nn layers and models: parameter discovery through fields (nested
 * layers, arrays, dotted names), Linear's lazy input size and DeZero's
 * initialization (numpy-computed values), MLP and Sequential, and a
 * two-layer net trained on DeZero step 43's sine data against losses of a
 * numpy re-run of the same program.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, L, MLP, Model, Parameter, Sequential, Variable, optimizers, random } = dz;
type Variable = dz.Variable;

class Block extends L.Layer {
  l1 = new L.Linear(3, { inSize: 2 });
  l2 = new L.Linear(1, { inSize: 3, nobias: true });
  forward(x: Variable): Variable {
    return this.l2.apply(this.l1.apply(x));
  }
}

class Net extends Model {
  enc = new Block();
  scale = new Parameter(dz.ones([1]), "scale");
  heads = [new L.Linear(2, { inSize: 1 }), new L.Linear(2, { inSize: 1 })];
  alias = this.enc.l1; // a second path to a layer: its params count once
  forward(x: Variable): Variable {
    return this.heads[0].apply(this.enc.apply(x).mul(this.scale));
  }
}

Deno.test("Layer.namedParams() finds nested layers, arrays and parameters by dotted field path", () => {
  const net = new Net();
  assert.deepEqual([...net.namedParams().keys()], [
    "enc.l1.W",
    "enc.l1.b",
    "enc.l2.W",
    "scale",
    "heads.0.W",
    "heads.0.b",
    "heads.1.W",
    "heads.1.b",
  ]);
  assert.equal(net.namedParams().get("enc.l2.W"), net.enc.l2.W);
  const params = [...net.params()];
  assert.equal(params.length, 8);
  assert.equal(new Set(params).size, 8);
  assert.ok(params.every((p) => p instanceof Parameter));
});

Deno.test("Layer.cleargrads() clears every parameter's gradient, nested ones included", () => {
  const net = new Net();
  const y = net.apply(dz.ones([4, 2]));
  F.sum(y).backward();
  const used = ["enc.l1.W", "enc.l1.b", "enc.l2.W", "scale", "heads.0.W", "heads.0.b"];
  for (const [name, p] of net.namedParams()) {
    assert.equal(p.grad !== null, used.includes(name), name);
  }
  net.cleargrads();
  for (const p of net.params()) assert.equal(p.grad, null);
});

Deno.test("Layer.apply() wraps inputs as Variables and keeps weak refs to inputs and outputs", () => {
  const layer = new L.Linear(2, { inSize: 3 });
  const x = dz.ones([4, 3]);
  const y = layer.apply(x);
  assert.ok(y instanceof Variable);
  assert.deepEqual(y.shape, [4, 2]);
  assert.equal(layer.inputs.length, 1);
  assert.equal(layer.inputs[0].deref()!.data, x);
  assert.equal(layer.outputs[0].deref(), y);
});

Deno.test("Linear infers inSize from the first input's last axis", () => {
  const layer = new L.Linear(4);
  assert.equal(layer.inSize, null);
  assert.deepEqual(layer.W.shape, [0, 4]);
  const W = layer.W;
  const y = layer.apply(dz.ones([5, 3]));
  assert.equal(layer.inSize, 3);
  assert.equal(layer.W, W, "the Parameter object is kept, only its data is set");
  assert.deepEqual(layer.W.shape, [3, 4]);
  assert.deepEqual(layer.b!.shape, [4]);
  assert.deepEqual(y.shape, [5, 4]);
  layer.apply(dz.ones([2, 3]));
  assert.deepEqual(layer.W.shape, [3, 4], "drawn once");
});

// np.random.seed(0); W = np.random.randn(3, 4).astype(np.float32) * np.float32(np.sqrt(1 / 3))
// (numpy 1.x casts the np.float64 scalar to float32 beside a float32 array)
const W_SEED0_F32 = [
  1.018476128578186,
  0.23103086650371552,
  0.565074622631073,
  1.2937802076339722,
  1.078235149383545,
  -0.5642316341400146,
  0.5485337972640991,
  -0.0873861238360405,
  -0.059593431651592255,
  0.23705916106700897,
  0.08316358923912048,
  0.8396251797676086,
];
// np.random.seed(0); W = np.random.randn(3, 4) * np.sqrt(1 / 3)
const W_SEED0_F64 = [
  1.0184760968090216,
  0.23103087196898553,
  0.5650746385895602,
  1.2937802917841632,
  1.07823510834032,
  -0.5642316470197126,
  0.5485338036123445,
  -0.08738612495446613,
  -0.059593431868454706,
  0.23705915562297633,
  0.08316359458476792,
  0.8396252007204147,
];

Deno.test("Linear's initial W equals DeZero's randn(I, O).astype(float32) * sqrt(1/I) bit for bit", () => {
  random.seed(0);
  const eager = new L.Linear(4, { inSize: 3 });
  assert.equal(eager.W.dtype, "float32");
  assert.equal(eager.b!.dtype, "float32");
  assert.deepEqual(eager.W.shape, [3, 4]);
  assert.deepEqual(Array.from(eager.W.data.data), W_SEED0_F32);
  assert.deepEqual(Array.from(eager.b!.data.data), [0, 0, 0, 0]);

  const lazy = new L.Linear(4);
  random.seed(0);
  lazy.apply(dz.ones([2, 3], { dtype: "float32" }));
  assert.deepEqual(Array.from(lazy.W.data.data), W_SEED0_F32);

  random.seed(0);
  const f64 = new L.Linear(4, { inSize: 3, dtype: "float64" });
  assert.equal(f64.W.dtype, "float64");
  assert.deepEqual(Array.from(f64.W.data.data), W_SEED0_F64);
});

Deno.test("Linear computes x @ W + b, and x @ W with nobias", () => {
  const layer = new L.Linear(2, { inSize: 2, dtype: "float64" });
  layer.W.data = dz.array([[1, 2], [3, 4]], { dtype: "float64" });
  layer.b!.data = dz.array([0.5, -0.5]);
  // [1, 1] @ W = [4, 6]; [2, -1] @ W = [-1, 0]
  assertAllClose(layer.apply(dz.array([[1, 1], [2, -1]])), [[4.5, 5.5], [-0.5, -0.5]]);
  const nobias = new L.Linear(2, { inSize: 2, nobias: true });
  assert.equal(nobias.b, null);
  assert.deepEqual([...nobias.namedParams().keys()], ["W"]);
});

Deno.test("Linear rejects a negative or fractional size", () => {
  assert.throws(() => new L.Linear(-1), /outSize must be a non-negative integer, got -1/);
  assert.throws(() => new L.Linear(2, { inSize: 1.5 }), /inSize must be a non-negative integer/);
});

Deno.test("MLP names its layers l0, l1, ... and applies the activation between them", () => {
  const mlp = new MLP([2, 1], { activation: F.relu });
  const x = dz.array([[1, -1]], { dtype: "float64" });
  mlp.apply(x); // draws W
  assert.deepEqual([...mlp.namedParams().keys()], ["l0.W", "l0.b", "l1.W", "l1.b"]);
  assert.equal(mlp.layers.length, 2);
  const [l0, l1] = mlp.layers as dz.L.Linear[];
  l0.W.data = dz.array([[1, -2], [3, 1]], { dtype: "float32" });
  l0.b!.data = dz.array([0.5, 0.25], { dtype: "float32" });
  l1.W.data = dz.array([[2], [10]], { dtype: "float32" });
  // h = [1 - 3 + 0.5, -2 - 1 + 0.25] = [-1.5, -2.75]; relu -> [0, 0]; y = 0 + b1 = 0
  // x2 = [2, 1]: h = [2 + 3 + 0.5, -4 + 1 + 0.25] = [5.5, -2.75]; relu -> [5.5, 0]; y = 11
  assertAllClose(mlp.apply(dz.array([[1, -1], [2, 1]], { dtype: "float64" })), [[0], [11]]);
  const sig = new MLP([1], {});
  assert.equal(sig.activation, F.sigmoid, "sigmoid by default, as DeZero");
});

Deno.test("Sequential applies its layers in order and names them l0, l1, ...", () => {
  const a = new L.Linear(3, { inSize: 2 });
  const b = new L.Linear(1, { inSize: 3 });
  const seq = new Sequential(a, b);
  assert.deepEqual([...seq.namedParams().keys()], ["l0.W", "l0.b", "l1.W", "l1.b"]);
  a.W.data = dz.ones([2, 3], { dtype: "float32" });
  b.W.data = dz.array([[1], [2], [3]], { dtype: "float32" });
  // [1, 2] @ ones = [3, 3, 3]; @ [1, 2, 3] = 18
  assertAllClose(seq.apply(dz.array([[1, 2]], { dtype: "float32" })), [[18]]);
});

Deno.test("Sequential takes functions between layers (gan.py's F.relu and lambdas), named by position", () => {
  const a = new L.Linear(2, { inSize: 2 });
  const b = new L.Linear(1, { inSize: 2, nobias: true });
  const seq = new Sequential(a, F.relu, (x: Variable) => x.mul(3), b);
  // the functions hold no parameters, but keep their positions in the names, as DeZero's setattr
  assert.deepEqual([...seq.namedParams().keys()], ["l0.W", "l0.b", "l3.W"]);
  assert.equal(seq.layers.length, 4);
  assert.equal((seq as unknown as Record<string, unknown>).l1, F.relu);
  a.W.data = dz.array([[1, -1], [2, 1]], { dtype: "float32" });
  b.W.data = dz.array([[1], [10]], { dtype: "float32" });
  // x = [1, 1]: x @ W = [3, 0]; relu -> [3, 0]; *3 -> [9, 0]; @ [1, 10] = 9
  // x = [-1, 2]: [3, 3] -> [3, 3] -> [9, 9] -> 99
  assertAllClose(seq.apply(dz.array([[1, 1], [-1, 2]], { dtype: "float32" })), [[9], [99]]);
  // gradients flow through the functions: d/dW_b of sum(y) = [9 + 9, 0 + 9]
  seq.cleargrads();
  F.sum(seq.apply(dz.array([[1, 1], [-1, 2]], { dtype: "float32" }))).backward();
  assertAllClose(b.W.grad!, [[18], [9]]);
});

Deno.test("Sequential refuses values that are neither layers nor functions, and functions not returning a Variable", () => {
  for (const bad of [1, "relu", null, {}, [new L.Linear(1)]]) {
    assert.throws(
      () => new Sequential(new L.Linear(1), bad as unknown as dz.Layer),
      { name: "TypeError", message: /^Sequential: argument 1 must be a Layer or a function, got / },
    );
  }
  const seq = new Sequential((x: Variable) => x.data as unknown as Variable);
  assert.throws(() => seq.apply(dz.zeros([1, 2])), {
    name: "TypeError",
    message: /^Sequential: function l0 \(anonymous\) must return a Variable, got /,
  });
});

class TwoLayerNet extends Model {
  l1: dz.L.Linear;
  l2: dz.L.Linear;
  constructor(hidden: number, out: number) {
    super();
    this.l1 = new L.Linear(hidden);
    this.l2 = new L.Linear(out);
  }
  forward(x: Variable): Variable {
    return this.l2.apply(F.sigmoid(this.l1.apply(x)));
  }
}

Deno.test("a two-layer net's loss falls on DeZero step 43's sine data, as in numpy", () => {
  random.seed(0);
  const x = random.rand(100, 1);
  const y = dz.F.sin(x.mul(2 * Math.PI)).data.add(random.rand(100, 1));
  const model = new TwoLayerNet(10, 1);
  const opt = new optimizers.SGD(0.2).setup(model);
  const losses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const loss = F.meanSquaredError(y, model.apply(x));
    model.cleargrads();
    loss.backward();
    opt.update();
    if ([0, 1, 10, 100, 299].includes(i)) losses.set(i, loss.data.item());
  }
  // the same program in numpy (float32 weights, float64 data), as DeZero runs it
  const numpy = [
    0.8165178492839196,
    0.6454262781185579,
    0.4970746783992492,
    0.255300319814036,
    0.2519741919244196,
  ];
  assertAllClose([...losses.values()], numpy, { rtol: 1e-6 });
});
