/**
 * The study notes' literal examples (shared/seeds: DeZero chapters on
 * tensors, reshape/transpose, sum/broadcast_to/sum_to, matmul and linear
 * regression), with the outputs the notes print.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, utils } = dz;
type Variable = dz.Variable;

Deno.test("seeds: x + c prints variable([[11 22 33] ...]) and F.sum(x + c) prints variable(231)", () => {
  const x = new Variable(dz.array([[1, 2, 3], [4, 5, 6]]));
  const c = new Variable(dz.array([[10, 20, 30], [40, 50, 60]]));
  const t = x.add(c);
  assert.equal(String(t), "variable([[11 22 33]\n          [44 55 66]])");
  const y = F.sum(t);
  assert.equal(String(y), "variable(231)");
  y.backward({ retainGrad: true });
  // the gradients have the shapes of the data
  assert.deepEqual(x.grad!.shape, x.shape);
  assert.deepEqual(c.grad!.shape, c.shape);
  assert.deepEqual(t.grad!.shape, t.shape);
  assert.equal(String(x.grad), "variable([[1 1 1]\n          [1 1 1]])");
});

Deno.test("seeds: reshape (6,) prints [1 2 3 4 5 6]; its backward gives ones of x's shape", () => {
  const x = dz.array([[1, 2, 3], [4, 5, 6]]);
  assert.equal(String(x.reshape(6)), "[1 2 3 4 5 6]");
  const v = new Variable(x);
  const y = F.reshape(v, [6]);
  y.backward({ retainGrad: true });
  assert.deepEqual(y.grad!.shape, y.shape);
  assert.deepEqual(y.grad!.data.toArray(), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(v.grad!.shape, [2, 3]);
  assert.deepEqual(v.grad!.data.toArray(), [[1, 1, 1], [1, 1, 1]]);
  const r = new Variable(dz.random.randn(1, 2, 3));
  assert.deepEqual(r.reshape([2, 3]).shape, [2, 3]);
  assert.deepEqual(r.reshape(2, 3).shape, [2, 3]);
});

Deno.test("seeds: transpose and .T turn (2,3) into (3,2); the gradient comes back as (2,3)", () => {
  const x = new Variable(dz.array([[1, 2, 3], [4, 5, 6]]));
  const y = F.transpose(x);
  assert.equal(String(y), "variable([[1 4]\n          [2 5]\n          [3 6]])");
  y.backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assert.deepEqual(x.grad!.data.toArray(), [[1, 1, 1], [1, 1, 1]]);
  const r = new Variable(dz.random.rand(2, 3));
  assert.deepEqual(r.transpose().shape, [3, 2]);
  assert.deepEqual(r.T.shape, [3, 2]);
  const a = new Variable(dz.random.rand(1, 2, 3, 4));
  const b = a.transpose(1, 0, 3, 2);
  assert.deepEqual(b.shape, [2, 1, 4, 3]);
  F.mul(b, dz.arange(24).reshape(2, 1, 4, 3)).backward();
  // gradient element [0, j, k, l] is the weight at [j, 0, l, k] = 12 j + 3 l + k
  const expected = Array.from({ length: 24 }, (_, n) => {
    const j = Math.floor(n / 12), k = Math.floor(n / 4) % 3, l = n % 4;
    return 12 * j + 3 * l + k;
  });
  assert.deepEqual(Array.from(a.grad!.data.data), expected);
});

Deno.test("seeds: sum with axis and keepdims, and its broadcast backward", () => {
  const x = new Variable(dz.array([[1, 2, 3], [4, 5, 6]]));
  const y = F.sum(x, 0);
  assert.equal(String(y), "variable([5 7 9])");
  y.backward();
  assert.equal(String(x.grad), "variable([[1 1 1]\n          [1 1 1]])");
  const r = new Variable(dz.random.randn(2, 3, 4, 5));
  assert.deepEqual(r.sum(null, true).shape, [1, 1, 1, 1]);
  assert.deepEqual(r.sum().shape, []);
});

Deno.test("seeds: sum_to(x, (1, 3)) is [[5 7 9]] and sum_to(x, (2, 1)) is [[ 6] [15]]", () => {
  const x = dz.array([[1, 2, 3], [4, 5, 6]]);
  assert.equal(String(utils.sumTo(x, [1, 3])), "[[5 7 9]]");
  assert.equal(String(utils.sumTo(x, [2, 1])), "[[ 6]\n [15]]");
  const v = new Variable(x);
  const y = F.sumTo(v, [1, 3]);
  y.backward();
  assert.deepEqual(v.grad!.data.toArray(), [[1, 1, 1], [1, 1, 1]]);
  const b = F.broadcastTo(new Variable(dz.array([1, 2, 3])), [2, 3]);
  assert.equal(String(b), "variable([[1 2 3]\n          [1 2 3]])");
});

Deno.test("seeds: x0 + x1 broadcasts to variable([11 12 13]); x1.grad is variable([3])", () => {
  const x0 = new Variable(dz.array([1, 2, 3]));
  const x1 = new Variable(dz.array([10]));
  const y = x0.add(x1);
  assert.equal(String(y), "variable([11 12 13])");
  y.backward();
  assert.equal(String(x1.grad), "variable([3])");
  assert.equal(String(x0.grad), "variable([1 1 1])");
});

Deno.test("seeds: the matrix product [[1,2],[3,4]] @ [[5,6],[7,8]] is [[19,22],[43,50]]", () => {
  const a = dz.array([[1, 2], [3, 4]]), b = dz.array([[5, 6], [7, 8]]);
  assert.equal(String(a.matmul(b)), "[[19 22]\n [43 50]]");
  const x = new Variable(dz.random.randn(2, 3));
  const W = new Variable(dz.random.randn(3, 4));
  const y = F.matmul(x, W);
  y.backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assert.deepEqual(W.grad!.shape, [3, 4]);
});

Deno.test("seeds: linear regression on np.random.seed(0) data reaches numpy's W, b and loss", () => {
  dz.random.seed(0);
  const xd = dz.random.rand(100, 1);
  const yd = dz.random.rand(100, 1).add(xd.mul(2)).add(5); // 5 + 2 * x + rand(100, 1)
  const x = new Variable(xd), y = new Variable(yd);
  const W = new Variable(dz.zeros([1, 1]));
  const b = new Variable(dz.zeros(1));
  const predict = (x: Variable) => F.matmul(x, W).add(b);
  const meanSquaredError = (x0: Variable, x1: Variable) => {
    const diff = x0.sub(x1);
    return F.sum(diff.pow(2)).div(diff.length);
  };
  const lr = 0.1;
  const losses: number[] = [];
  for (let i = 0; i < 100; i++) {
    const yPred = predict(x);
    const loss = meanSquaredError(y, yPred);
    assertAllClose(loss, F.meanSquaredError(y, yPred), { rtol: 1e-12 });
    W.cleargrad();
    b.cleargrad();
    loss.backward();
    W.data.isub(W.grad!.data.mul(lr));
    b.data.isub(b.grad!.data.mul(lr));
    losses.push(loss.data.item());
    if (i === 0) {
      // numpy, the same algorithm: after the first update
      assertAllClose(W, [[0.6443345843402245]], { rtol: 1e-12 });
      assertAllClose(b, [1.2947338870645597], { rtol: 1e-12 });
      assertAllClose(loss, 42.296340129442335, { rtol: 1e-12 });
    }
  }
  assertAllClose(W, [[2.118073690511974]], { atol: 1e-6 });
  assertAllClose(b, [5.466089050922982], { atol: 1e-6 });
  assertAllClose(losses[99], 0.07908606512411756, { atol: 1e-6 });
  assert.ok(losses.every((l, i) => i === 0 || l < losses[i - 1]));
});
