/**
 * Tests of NDArray and its constructors: dtype inference, numpy's promotion
 * rules, item/toArray/copy/astype/reshape/transpose, in-place updates,
 * reductions, error messages, and the seeded `random` API against numpy's
 * legacy RandomState values.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F } = dz;

Deno.test("array() infers int32 from integers, float64 otherwise, and honours dtype", () => {
  const i = dz.array([[1, 2, 3], [4, 5, 6]]);
  assert.equal(i.dtype, "int32");
  assert.deepEqual(i.shape, [2, 3]);
  assert.equal(i.size, 6);
  assert.equal(i.ndim, 2);
  assert.ok(i.data instanceof Int32Array);
  assert.equal(dz.array([1, 2.5]).dtype, "float64");
  assert.equal(dz.array(3).dtype, "int32");
  assert.deepEqual(dz.array(3).shape, []);
  const f = dz.array([1.5, 2], { dtype: "float32" });
  assert.equal(f.dtype, "float32");
  assert.ok(f.data instanceof Float32Array);
  assert.equal(dz.array([1, 2], { dtype: "float64" }).dtype, "float64");
  assert.equal(dz.array(new Float32Array([1, 2])).dtype, "float32");
  assert.throws(() => dz.array([[1, 2], [3]]), /array: ragged nested sequence/);
  assert.throws(() => dz.array([1], { dtype: "int64" as "int32" }), /unknown dtype 'int64'/);
});

Deno.test("zeros, ones, full and arange build float64 (arange: int32 for integers)", () => {
  const z = dz.zeros([2, 3]);
  assert.equal(z.dtype, "float64");
  assert.deepEqual(z.toArray(), [[0, 0, 0], [0, 0, 0]]);
  assert.deepEqual(dz.ones([2]).toArray(), [1, 1]);
  assert.equal(dz.ones([2], { dtype: "float32" }).dtype, "float32");
  const f = dz.full([2], 7);
  assert.equal(f.dtype, "float64");
  assert.deepEqual(f.toArray(), [7, 7]);
  const a = dz.arange(6);
  assert.equal(a.dtype, "int32");
  assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(dz.arange(2, 11, 3).toArray(), [2, 5, 8]);
  assert.deepEqual(dz.arange(5, 1, -1).toArray(), [5, 4, 3, 2]);
  const r = dz.arange(0, 1, 0.25);
  assert.equal(r.dtype, "float64");
  assert.deepEqual(r.toArray(), [0, 0.25, 0.5, 0.75]);
});

Deno.test("arithmetic promotes dtypes as numpy does", () => {
  const i = dz.array([1, 2, 3]);
  const f32 = dz.array([1, 2, 3], { dtype: "float32" });
  const f64 = dz.array([1, 2, 3], { dtype: "float64" });
  assert.equal(i.add(i).dtype, "int32");
  assert.equal(i.div(i).dtype, "float64");
  assert.equal(F.exp(i).dtype, "float64");
  assert.equal(f32.add(f64).dtype, "float64");
  assert.equal(i.add(f32).dtype, "float64");
  assert.equal(f32.mul(2).dtype, "float32");
  assert.equal(f32.mul(2.5).dtype, "float32");
  assert.equal(i.mul(2).dtype, "int32");
  assert.equal(i.mul(2.5).dtype, "float64");
  assert.equal(i.matmul(f32).dtype, "float64");
  assert.deepEqual(i.div(2).toArray(), [0.5, 1, 1.5]);
  assert.deepEqual(i.mul(2.5).toArray(), [2.5, 5, 7.5]);
  assert.deepEqual(i.pow(2).toArray(), [1, 4, 9]);
});

Deno.test("item, toArray, copy and astype", () => {
  assert.equal(dz.array([[4.5]]).item(), 4.5);
  assert.throws(() => dz.array([1, 2]).item(), {
    message: "item: can only convert an array of size 1, got shape [2]",
  });
  const a = dz.array([[1.5, -2.7], [3, 0.25]]);
  assert.deepEqual(a.toArray(), [[1.5, -2.7], [3, 0.25]]);
  const c = a.copy();
  c.data[0] = 99;
  assert.equal(a.data[0], 1.5);
  const t = a.astype("int32");
  assert.equal(t.dtype, "int32");
  assert.deepEqual(t.toArray(), [[1, -2], [3, 0]]); // truncation toward zero
  const s = a.astype("float32");
  assert.equal(s.dtype, "float32");
  assert.deepEqual(s.toArray(), [[1.5, Math.fround(-2.7)], [3, 0.25]]);
});

Deno.test("reshape (one axis may be -1) and transpose (axes, default reversed)", () => {
  const a = dz.arange(24);
  const b = a.reshape(2, 3, 4);
  assert.deepEqual(b.shape, [2, 3, 4]);
  assert.deepEqual(a.reshape([4, -1]).shape, [4, 6]);
  assert.deepEqual(b.transpose().shape, [4, 3, 2]);
  const t = b.transpose(1, 0, 2);
  assert.deepEqual(t.shape, [3, 2, 4]);
  // t[i][j][k] = b[j][i][k] = 12 j + 4 i + k
  assert.deepEqual((t.toArray() as number[][][])[2][1], [20, 21, 22, 23]);
  assert.deepEqual(dz.array([[1, 2, 3], [4, 5, 6]]).T.toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(b.transpose([2, 0, 1]).shape, [4, 2, 3]);
  assert.throws(() => dz.array([[1, 2, 3], [4, 5, 6]]).reshape(4), {
    message: "reshape: cannot reshape array of shape [2,3] (size 6) into shape [4]",
  });
  assert.throws(() => b.transpose(0, 1), /transpose: axes \[0,1\] don't match/);
});

Deno.test("iadd, isub and imul update in place and return the same array", () => {
  const a = dz.array([1.0, 2.0, 3.0], { dtype: "float64" });
  const data = a.data;
  assert.equal(a.iadd(1), a);
  assert.equal(a.isub(dz.array([0.5, 0.5, 0.5])), a);
  assert.equal(a.imul(2), a);
  assert.equal(a.data, data);
  assert.deepEqual(a.toArray(), [3, 5, 7]);
  const m = dz.array([[1, 2], [3, 4]], { dtype: "float32" });
  m.isub(dz.array([10, 20], { dtype: "float64" })); // broadcast; numpy's same-kind cast
  assert.equal(m.dtype, "float32");
  assert.deepEqual(m.toArray(), [[-9, -18], [-7, -16]]);
  const i = dz.array([5, 6]);
  i.isub(2);
  assert.deepEqual(i.toArray(), [3, 4]);
  assert.throws(() => i.isub(0.5), {
    name: "TypeError",
    message:
      /^sub: cannot write a float64 result in place into an int32 array \(JS reads 1.0 as 1, so dz.array\(\[1.0\]\) is int32: pass \{ dtype: "float64" \}/,
  });
  assert.throws(
    () => a.iadd(dz.ones([2, 3])),
    /add: cannot write a result of shape \[2,3\] in place/,
  );
});

Deno.test("sum, max, min and argmax over axes", () => {
  const a = dz.array([[1, 5, 3], [4, 2, 6]]);
  assert.equal(a.sum().item(), 21);
  assert.deepEqual(a.sum(0).toArray(), [5, 7, 9]);
  assert.deepEqual(a.sum(1, true).toArray(), [[9], [12]]);
  assert.deepEqual(a.sum([0, 1]).toArray(), 21);
  assert.deepEqual(a.sum(-1).toArray(), [9, 12]);
  assert.deepEqual(a.max(0).toArray(), [4, 5, 6]);
  assert.deepEqual(a.min(1).toArray(), [1, 2]);
  assert.deepEqual(a.argmax(1).toArray(), [1, 2]);
  assert.equal(a.argmax().item(), 5);
  const f = dz.arange(24).reshape(2, 3, 4).astype("float64");
  assert.deepEqual(f.sum([0, 2]).toArray(), [60, 92, 124]);
});

Deno.test("errors name the op, axes and shapes", () => {
  const a = dz.array([[1, 2], [3, 4]]);
  assert.throws(() => a.sum(2), {
    name: "RangeError",
    message: "sum: axis 2 is out of bounds for an array of dimension 2",
  });
  assert.throws(() => a.matmul(dz.array([[1, 2, 3]])), {
    message: "matmul: inner dimensions differ: [2,2] @ [1,3] (2 != 1)",
  });
  assert.throws(() => a.add(dz.array([1, 2, 3])), {
    message: "add: cannot broadcast shapes [2,2] and [3]",
  });
  assert.throws(() => dz.zeros([2, -1]), /zeros: invalid shape \[2,-1\]/);
});

Deno.test("random: seed(0) then rand, randn, randint, permutation equal numpy's RandomState", () => {
  dz.random.seed(0);
  const r = dz.random.rand(3, 2);
  assert.equal(r.dtype, "float64");
  assert.deepEqual(r.toArray(), [
    [0.5488135039273248, 0.7151893663724195],
    [0.6027633760716439, 0.5448831829968969],
    [0.4236547993389047, 0.6458941130666561],
  ]);
  dz.random.seed(0);
  assertAllClose(dz.random.randn(2, 3), [
    [1.764052345967664, 0.4001572083672233, 0.9787379841057392],
    [2.240893199201458, 1.8675579901499675, -0.977277879876411],
  ], { rtol: 1e-15 });
  dz.random.seed(0);
  const k = dz.random.randint(0, 10, [8]);
  assert.equal(k.dtype, "int32");
  assert.deepEqual(k.toArray(), [5, 0, 3, 3, 7, 9, 3, 5]);
  dz.random.seed(0);
  assert.deepEqual(dz.random.permutation(10).toArray(), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  // one stream across calls: np.random.seed(0); rand(2); randn(3); randint(0, 3, 5); permutation(6)
  dz.random.seed(0);
  assert.deepEqual(dz.random.rand(2).toArray(), [0.5488135039273248, 0.7151893663724195]);
  assertAllClose(dz.random.randn(3), [0.9787379841057392, 2.240893199201458, 1.8675579901499675], {
    rtol: 1e-15,
  });
  assert.deepEqual(dz.random.randint(0, 3, [5]).toArray(), [0, 2, 0, 0, 0]);
  assert.deepEqual(dz.random.permutation(6).toArray(), [4, 0, 3, 5, 1, 2]);
});
