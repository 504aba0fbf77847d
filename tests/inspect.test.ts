/**
 * Tests of what `console.log` shows for the public objects: arrays and
 * Variables as DeZero's repr, layers and models as a tree of their layers
 * with parameter shapes and dtypes, optimizers, datasets and loaders by
 * their settings. Deno's console (`Deno.inspect`) and node's `util.inspect`
 * must print the same text as `String()`.
 * @module
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import * as dz from "../mod.ts";

const { F, L, MLP, Model, Parameter, Sequential, Variable, datasets, optimizers } = dz;
type Variable = dz.Variable;

/** Asserts that Deno's console, node's inspect and String() all print `expected`. */
function assertPrints(value: unknown, expected: string): void {
  assert.equal(String(value), expected);
  assert.equal(Deno.inspect(value), expected);
  assert.equal(inspect(value), expected);
}

Deno.test("console.log of an NDArray prints numpy's str, not the typed array inside", () => {
  assertPrints(dz.array([[1, 2], [3, 4]]), "[[1 2]\n [3 4]]");
  assertPrints(dz.array([1.5, 2], { dtype: "float32" }), "[1.5 2. ]");
  assertPrints(dz.full([], 7), "7.0");
  const printed = Deno.inspect({ a: dz.arange(3) });
  assert.equal(printed, "{ a: [0 1 2] }");
});

Deno.test("console.log of a Variable or Parameter prints DeZero's repr", () => {
  assertPrints(new Variable([[1, 2, 3], [4, 5, 6]], "x"), "variable([[1 2 3]\n          [4 5 6]])");
  assertPrints(new Variable(2.5), "variable(2.5)");
  assertPrints(new Parameter(dz.zeros([2], { dtype: "float32" })), "variable([0. 0.])");
  assert.equal(Deno.inspect([new Variable(1)]), "[ variable(1.0) ]");
});

class Net extends Model {
  scale = new Parameter(dz.ones([1]), "scale");
  enc = new Sequential(
    new L.Linear(3, { inSize: 2 }),
    new L.Linear(1, { inSize: 3, nobias: true }),
  );
  heads = [new L.Linear(2, { inSize: 1 }), new L.Linear(2, { inSize: 1, dtype: "float64" })];
  forward(x: Variable): Variable {
    return this.heads[0].apply(this.enc.apply(x).mul(this.scale));
  }
}

Deno.test("console.log of a model prints the tree of its layers with parameter shapes and dtypes", () => {
  assertPrints(
    new Net(),
    [
      "Net(",
      "  scale: [1] float64",
      "  (enc): Sequential(",
      "    (l0): Linear(W: [2, 3] float32, b: [3] float32)",
      "    (l1): Linear(W: [3, 1] float32)",
      "  )",
      "  (heads.0): Linear(W: [1, 2] float32, b: [2] float32)",
      "  (heads.1): Linear(W: [1, 2] float64, b: [2] float64)",
      ")",
    ].join("\n"),
  );
  assertPrints(new L.Linear(4, { inSize: 3 }), "Linear(W: [3, 4] float32, b: [4] float32)");
});

Deno.test("console.log of an MLP shows its activation, and input sizes once the first call set them", () => {
  const model = new MLP([10, 3]);
  const tree = (inSize: string, hidden: string) =>
    [
      "MLP(",
      "  activation: sigmoid",
      `  (l0): Linear(W: [${inSize}, 10] float32, b: [10] float32)`,
      `  (l1): Linear(W: [${hidden}, 3] float32, b: [3] float32)`,
      ")",
    ].join("\n");
  assertPrints(model, tree("?", "?")); // Linear's lazy input size is not known yet
  model.apply(dz.zeros([4, 2]));
  assertPrints(model, tree("2", "10"));
  assert.match(String(new MLP([5], { activation: F.relu })), /^MLP\(\n {2}activation: relu\n/);
  const seq = new Sequential(new L.Linear(2, { inSize: 2 }));
  assertPrints(seq, "Sequential(\n  (l0): Linear(W: [2, 2] float32, b: [2] float32)\n)");
});

Deno.test("a layer that contains itself prints the repeat as Name(...)", () => {
  class Loop extends L.Layer {
    self: dz.Layer = this;
    forward(x: Variable): Variable {
      return x;
    }
  }
  assertPrints(new Loop(), "Loop(\n  (self): Loop(...)\n)");
});

Deno.test("console.log of an optimizer prints its settings and hooks", () => {
  assertPrints(new optimizers.SGD(0.1), "SGD(lr: 0.1)");
  const adam = new optimizers.Adam().setup(new MLP([2]));
  adam.addHook(new optimizers.WeightDecay(1e-4));
  assertPrints(
    adam,
    "Adam(alpha: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, hooks: [WeightDecay])",
  );
});

Deno.test("console.log of a dataset or DataLoader prints its size and example shapes, not the data", async () => {
  const spiral = new datasets.Spiral({ train: false });
  const text = "Spiral(test, 300 examples; data [2] float32, label [] int32)";
  assertPrints(spiral, text);
  assertPrints(
    new dz.DataLoader(spiral, 30, false),
    `DataLoader(${text}, batchSize: 30, shuffle: false, 10 batches per epoch)`,
  );
  assertPrints(
    await datasets.MNIST.load({ train: false }),
    "MNIST(test, 2000 examples; data [1, 28, 28] int32, label [] int32, transform: mnistTransform)",
  );
});
