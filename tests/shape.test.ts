/**
 * Tests of the shape functions (reshape, transpose, broadcastTo, sumTo,
 * expandDims, flatten) and of gradients of broadcasting binary ops:
 * values from numpy or by hand, gradients by hand and numerically.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";
import { centralDifference, weightedSum } from "./central_difference.ts";

const { F, Variable } = dz;

/** `[[0, 1, 2], [3, 4, 5]]` as float64. */
const m23 = () => dz.arange(6).astype("float64").reshape(2, 3);
/** `arange(24).reshape(2, 3, 4)` as float64. */
const t234 = () => dz.arange(24).astype("float64").reshape(2, 3, 4);

/** Throws unless `fn` throws an `Error` of `type` whose message is exactly `message`. */
function assertThrowsExactly(fn: () => unknown, type: ErrorConstructor, message: string): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${e}`);
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("reshape() keeps the row-major order and infers -1", () => {
  const x = new Variable(dz.arange(6).astype("float64"));
  const y = F.reshape(x, [2, 3]);
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(y.data.toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(F.reshape(x, [-1, 2]).data.toArray(), [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(F.reshape(m23(), [3, -1]).shape, [3, 2]);
  assert.deepEqual(F.reshape(m23(), [-1]).data.toArray(), [0, 1, 2, 3, 4, 5]);
});

Deno.test("Variable.reshape() takes separate sizes or one list", () => {
  const x = new Variable(dz.arange(6));
  assert.deepEqual(x.reshape(2, 3).data.toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(x.reshape([2, 3]).data.toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(x.reshape(3, -1).shape, [3, 2]);
});

Deno.test("reshape() backward reshapes the gradient to the input's shape", () => {
  const x = new Variable(m23());
  const w = dz.array([[1.0, 2], [3, 4], [5, 6]]);
  F.sum(F.mul(F.reshape(x, [3, 2]), w)).backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assertAllClose(x.grad!, [[1, 2, 3], [4, 5, 6]]);
});

Deno.test("reshape() to a different size names the op and both shapes", () => {
  assert.throws(
    () => F.reshape(m23(), [4]),
    (e: Error) =>
      e instanceof RangeError && e.message.startsWith("reshape:") &&
      e.message.includes("[2,3]") && e.message.includes("[4]"),
  );
  assert.throws(() => new Variable(m23()).reshape(4, 2), /reshape: .*\[2,3\].*\[4,2\]/);
  assert.throws(
    () => F.reshape(m23(), [-1, -1]),
    /reshape: can only specify one unknown dimension/,
  );
  assert.throws(() => F.reshape(m23(), [-1, 4]), /reshape: .*\[2,3\].*\[-1,4\]/);
});

Deno.test("transpose() reverses the axes by default; Variable.T does the same", () => {
  const x = new Variable(m23());
  assert.deepEqual(F.transpose(x).data.toArray(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(x.T.data.toArray(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(x.transpose().data.toArray(), [[0, 3], [1, 4], [2, 5]]);
  const y = F.transpose(t234());
  assert.deepEqual(y.shape, [4, 3, 2]);
  // numpy: np.arange(24).reshape(2, 3, 4).T
  assertAllClose(
    y,
    [0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23],
  );
});

Deno.test("transpose() with axes matches numpy", () => {
  const x = new Variable(t234());
  const a = x.transpose(1, 0, 2);
  assert.deepEqual(a.shape, [3, 2, 4]);
  // numpy: np.arange(24).reshape(2, 3, 4).transpose(1, 0, 2)
  assertAllClose(
    a,
    [0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23],
  );
  assertAllClose(x.transpose([1, 0, 2]), a);
  const b = F.transpose(x, [2, 0, -2]);
  assert.deepEqual(b.shape, [4, 2, 3]);
  // numpy: np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1)
  assertAllClose(
    b,
    [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23],
  );
});

Deno.test("transpose() backward applies the inverse permutation", () => {
  const x = new Variable(t234());
  const w = dz.arange(1, 25).astype("float64").reshape(4, 2, 3);
  F.sum(F.mul(F.transpose(x, [2, 0, 1]), w)).backward();
  assert.deepEqual(x.grad!.shape, [2, 3, 4]);
  // numpy: w.transpose(np.argsort((2, 0, 1)))
  assertAllClose(
    x.grad!,
    [1, 7, 13, 19, 2, 8, 14, 20, 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23, 6, 12, 18, 24],
  );
});

Deno.test("transpose() rejects invalid axes", () => {
  const x = t234();
  assertThrowsExactly(
    () => F.transpose(x, [0, 1]),
    RangeError,
    "transpose: axes [0,1] don't match an array of dimension 3",
  );
  assertThrowsExactly(
    () => F.transpose(x, [0, 0, 1]),
    RangeError,
    "transpose: repeated axis in [0,0,1]",
  );
  assertThrowsExactly(
    () => F.transpose(x, [0, 1, 3]),
    RangeError,
    "transpose: axis 3 is out of bounds for an array of dimension 3",
  );
});

Deno.test("broadcastTo() replicates along new and length-1 axes", () => {
  const row = F.broadcastTo(dz.array([1, 2, 3]), [2, 3]);
  assert.deepEqual(row.data.toArray(), [[1, 2, 3], [1, 2, 3]]);
  const col = F.broadcastTo(dz.array([[1], [2]]), [2, 3]);
  assert.deepEqual(col.data.toArray(), [[1, 1, 1], [2, 2, 2]]);
  const s = F.broadcastTo(dz.array(7), [2, 2]);
  assert.deepEqual(s.data.toArray(), [[7, 7], [7, 7]]);
});

Deno.test("broadcastTo() backward sums the gradient over the broadcast axes", () => {
  const x = new Variable(dz.array([1.0, 2, 3]));
  const w = dz.array([[1.0, 2, 3], [4, 5, 6]]);
  F.sum(F.mul(F.broadcastTo(x, [2, 3]), w)).backward();
  assertAllClose(x.grad!, [5, 7, 9]);
  const c = new Variable(dz.array([[1.0], [2]]));
  F.sum(F.mul(F.broadcastTo(c, [2, 3]), w)).backward();
  assert.deepEqual(c.grad!.shape, [2, 1]);
  assertAllClose(c.grad!, [[6], [15]]);
});

Deno.test("broadcastTo() of incompatible shapes names both shapes", () => {
  assertThrowsExactly(
    () => F.broadcastTo(m23(), [4]),
    RangeError,
    "broadcastTo: cannot broadcast shape [2,3] to [4]",
  );
  assert.throws(() => F.broadcastTo(dz.array([1, 2]), [2, 3]), /broadcastTo: .*\[2\] to \[2,3\]/);
});

Deno.test("sumTo() sums broadcast axes back to the target shape (the seed notes' examples)", () => {
  const x = dz.array([[1, 2, 3], [4, 5, 6]]);
  const a = F.sumTo(x, [1, 3]);
  assert.deepEqual(a.shape, [1, 3]);
  assert.deepEqual(a.data.toArray(), [[5, 7, 9]]);
  const b = F.sumTo(x, [2, 1]);
  assert.deepEqual(b.shape, [2, 1]);
  assert.deepEqual(b.data.toArray(), [[6], [15]]);
  assert.deepEqual(F.sumTo(x, [3]).data.toArray(), [5, 7, 9]);
  assert.deepEqual(F.sumTo(x, []).data.toArray(), 21);
  assert.deepEqual(F.sumTo(t234(), [3, 1]).data.toArray(), [[60], [92], [124]]);
});

Deno.test("sumTo() backward broadcasts the gradient back to the input's shape", () => {
  const x = new Variable(m23());
  const w = dz.array([[10.0, 20, 30]]);
  F.sum(F.mul(F.sumTo(x, [1, 3]), w)).backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assertAllClose(x.grad!, [[10, 20, 30], [10, 20, 30]]);
});

Deno.test("sumTo() rejects a shape that does not broadcast to the input", () => {
  assertThrowsExactly(
    () => F.sumTo(m23(), [4]),
    RangeError,
    "sumTo: cannot sum shape [2,3] to [4]",
  );
});

Deno.test("expandDims() inserts a length-1 axis at positive and negative positions", () => {
  const x = m23();
  assert.deepEqual(F.expandDims(x, 0).shape, [1, 2, 3]);
  assert.deepEqual(F.expandDims(x, 1).shape, [2, 1, 3]);
  assert.deepEqual(F.expandDims(x, 2).shape, [2, 3, 1]);
  assert.deepEqual(F.expandDims(x, -1).shape, [2, 3, 1]);
  assert.deepEqual(F.expandDims(x, 1).data.toArray(), [[[0, 1, 2]], [[3, 4, 5]]]);
  assertThrowsExactly(
    () => F.expandDims(x, 3),
    RangeError,
    "expandDims: axis 3 is out of bounds for an array of dimension 3",
  );
});

Deno.test("expandDims() backward drops the inserted axis", () => {
  const x = new Variable(m23());
  const w = dz.array([[[1.0, 2, 3]], [[4, 5, 6]]]);
  F.sum(F.mul(F.expandDims(x, 1), w)).backward();
  assert.deepEqual(x.grad!.shape, [2, 3]);
  assertAllClose(x.grad!, [[1, 2, 3], [4, 5, 6]]);
});

Deno.test("flatten() keeps the first axis and flattens the rest", () => {
  const x = new Variable(t234());
  const y = F.flatten(x);
  assert.deepEqual(y.shape, [2, 12]);
  assertAllClose(y, Array.from({ length: 24 }, (_, i) => i));
  F.sum(F.mul(y, dz.arange(24).astype("float64").reshape(2, 12))).backward();
  assert.deepEqual(x.grad!.shape, [2, 3, 4]);
  assertAllClose(x.grad!, Array.from({ length: 24 }, (_, i) => i));
  assert.throws(() => F.flatten(dz.array(1)), /flatten: .*\[\]/);
});

type Unary = (x: dz.Variable) => dz.Variable;
const SHAPE_FNS: [string, number[], Unary][] = [
  ["reshape", [2, 3], (x) => F.reshape(x, [3, 1, 2])],
  ["transpose(1, 0, 2)", [2, 3, 4], (x) => x.transpose(1, 0, 2)],
  ["transpose() of 3-D", [2, 3, 4], (x) => F.transpose(x)],
  ["broadcastTo", [3, 1], (x) => F.broadcastTo(x, [2, 3, 4])],
  ["sumTo", [2, 3, 4], (x) => F.sumTo(x, [3, 1])],
  ["expandDims", [2, 3], (x) => F.expandDims(x, -2)],
  ["flatten", [2, 3, 4], (x) => F.flatten(x)],
];

for (const [name, shape, fn] of SHAPE_FNS) {
  Deno.test(`${name} gradient matches the numeric gradient`, () => {
    dz.random.seed(1);
    const x0 = dz.random.randn(shape);
    const w = dz.random.randn(fn(new Variable(x0)).shape);
    const x = new Variable(x0);
    F.sum(F.mul(fn(x), w)).backward();
    assert.deepEqual(x.grad!.shape, shape);
    assertAllClose(x.grad!, centralDifference((p) => weightedSum(fn(new Variable(p)), w), x0), {
      atol: 1e-8,
    });
  });
}

type Binary = (a: dz.Variable, b: dz.Variable) => dz.Variable;

Deno.test("add() of [2,3] and [3]: the [3] gradient is summed over rows", () => {
  const a = new Variable(dz.zeros([2, 3])), b = new Variable(dz.zeros([3]));
  const w = dz.array([[1.0, 2, 3], [4, 5, 6]]);
  F.sum(F.mul(F.add(a, b), w)).backward();
  assertAllClose(a.grad!, [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(b.grad!.shape, [3]);
  assertAllClose(b.grad!, [5, 7, 9]);
});

Deno.test("add() of [3] and [2,3]: the left gradient is summed over rows", () => {
  const a = new Variable(dz.zeros([3])), b = new Variable(dz.zeros([2, 3]));
  const y = a.add(b);
  assert.deepEqual(y.shape, [2, 3]);
  y.backward();
  assertAllClose(a.grad!, [2, 2, 2]);
  assertAllClose(b.grad!, [[1, 1, 1], [1, 1, 1]]);
});

Deno.test("mul() of [2,1] and [1,3]: each gradient sums over the other's axis", () => {
  const a = new Variable(dz.array([[1.0], [2]])), b = new Variable(dz.array([[3.0, 4, 5]]));
  const w = dz.array([[1.0, 2, 3], [4, 5, 6]]);
  F.sum(F.mul(F.mul(a, b), w)).backward();
  // ga[i] = sum_j w[i,j] b[j]; gb[j] = sum_i w[i,j] a[i]
  assert.deepEqual(a.grad!.shape, [2, 1]);
  assertAllClose(a.grad!, [[26], [62]]);
  assert.deepEqual(b.grad!.shape, [1, 3]);
  assertAllClose(b.grad!, [[9, 12, 15]]);
});

Deno.test("sub() of [3,1,2] and [2]: the right gradient is minus the sum over the rest", () => {
  const a = new Variable(dz.zeros([3, 1, 2])), b = new Variable(dz.zeros([2]));
  const w = dz.arange(1, 7).astype("float64").reshape(3, 1, 2);
  F.sum(F.mul(a.sub(b), w)).backward();
  assertAllClose(a.grad!, [[[1, 2]], [[3, 4]], [[5, 6]]]);
  assert.deepEqual(b.grad!.shape, [2]);
  assertAllClose(b.grad!, [-9, -12]);
});

const BINARY: [string, number[], number[], Binary][] = [
  ["add [2,3] + [3]", [2, 3], [3], F.add],
  ["add [3] + [2,3]", [3], [2, 3], F.add],
  ["mul [2,1] * [1,3]", [2, 1], [1, 3], F.mul],
  ["sub [3,1,2] - [2]", [3, 1, 2], [2], F.sub],
  ["div [2,3] / [2,1]", [2, 3], [2, 1], F.div],
];

for (const [name, sa, sb, op] of BINARY) {
  Deno.test(`broadcast ${name}: both gradients match numeric gradients`, () => {
    dz.random.seed(2);
    const a0 = dz.random.rand(sa).add(0.5), b0 = dz.random.rand(sb).add(0.5);
    const w = dz.random.randn(op(new Variable(a0), new Variable(b0)).shape);
    const a = new Variable(a0), b = new Variable(b0);
    F.sum(F.mul(op(a, b), w)).backward();
    assert.deepEqual(a.grad!.shape, sa);
    assert.deepEqual(b.grad!.shape, sb);
    const f = (p: dz.NDArray, q: dz.NDArray) =>
      weightedSum(op(new Variable(p), new Variable(q)), w);
    assertAllClose(a.grad!, centralDifference((p) => f(p, b0), a0), { rtol: 1e-6, atol: 1e-8 });
    assertAllClose(b.grad!, centralDifference((q) => f(a0, q), b0), { rtol: 1e-6, atol: 1e-8 });
  });
}

Deno.test("add() of unbroadcastable shapes names the op and both shapes", () => {
  assert.throws(
    () => F.add(m23(), dz.zeros([4])),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("add: cannot broadcast shapes [2,3] and [4]"),
  );
  assert.throws(
    () => new Variable(m23()).mul(dz.zeros([3, 2])),
    /mul: cannot broadcast shapes \[2,3\] and \[3,2\]/,
  );
});
