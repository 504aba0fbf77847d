/**
 * numpy's answers at the edges: int32 arithmetic that wraps as numpy's does
 * (checked against BigInt arithmetic), float-to-int32 conversion (numpy's
 * INT_MIN for NaN and out-of-range values), int32 range errors, clip with
 * min > max, and reductions, softmax and losses over zero-size arrays.
 * Each eager result is also computed by a jitted replay.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, jit } = dz;
type V = dz.Variable;

/** numpy's int32 result of an exact BigInt result: wrapped to 32 bits. */
const wrap = (x: bigint) => Number(BigInt.asIntN(32, x));

/** `a ** b` modulo 2^32 in BigInt arithmetic (square and multiply), wrapped. */
function powRef(a: number, b: number): number {
  let r = 1n, base = BigInt(a);
  for (let e = BigInt(b); e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * base) % 2n ** 32n;
    base = (base * base) % 2n ** 32n;
  }
  return wrap(r);
}

/** `f(x)` eagerly and by a jitted function's replay (third call): both. */
function both(f: (...xs: V[]) => V, ...xs: dz.NDArray[]): number[][] {
  const eager = f(...xs.map((x) => new Variable(x))).data.toArray() as number[];
  const step = jit(f);
  let replay: number[] = [];
  for (let k = 0; k < 3; k++) {
    replay = step(...xs.map((x) => new Variable(x))).data.toArray() as number[];
  }
  assert.equal(step.stats().cacheHits, 2);
  return [eager, replay];
}

Deno.test("int32 products, squares and powers wrap as numpy's int32 (BigInt reference)", () => {
  const a = [2147483647, -2147483648, 65537, -46341, 3, 7, -1, 0, 123456789];
  const b = [2147483647, 3, 65535, 46341, 40, 11, 2147483647, 0, 5];
  const x = dz.array(a), y = dz.array(b);
  assert.equal(x.dtype, "int32");
  const mul = a.map((v, i) => wrap(BigInt(v) * BigInt(b[i])));
  const sq = a.map((v) => wrap(BigInt(v) * BigInt(v)));
  const pw = a.map((v, i) => powRef(v, b[i]));
  assert.equal(powRef(3, 40), wrap(3n ** 40n));
  for (const got of both(F.mul, x, y)) assert.deepEqual(got, mul);
  for (const got of both(F.square, x)) assert.deepEqual(got, sq);
  // the result without its graph: the gradient of x ** 0 is an error for int32 (0 ** -1),
  // so a jitted function returning the graph runs eagerly (a replay would owe that backward)
  for (const got of both((p, q) => new Variable(F.pow(p, q).data), x, y)) {
    assert.deepEqual(got, pw);
  }
  assert.deepEqual(x.mul(y).toArray(), mul);
  assert.deepEqual(dz.array([2147483647]).mul(2147483647).toArray(), [1]);
  assert.deepEqual(dz.array([3]).pow(40).toArray(), [wrap(3n ** 40n)]);
  // sums and differences wrap too; negation of INT_MIN is INT_MIN
  const add = a.map((v, i) => wrap(BigInt(v) + BigInt(b[i])));
  for (const got of both(F.add, x, y)) assert.deepEqual(got, add);
  for (const got of both((p) => F.add(F.neg(p), 0), x)) {
    assert.deepEqual(got, a.map((v) => wrap(-BigInt(v))));
  }
});

Deno.test("int32 to a negative int32 power is an error, eager and jitted", () => {
  const x = dz.array([2, 3]), e = dz.array([1, -1]);
  assert.throws(() => x.pow(e), /pow: integers to negative integer powers are not allowed/);
  assert.throws(() => x.pow(-2), /negative integer powers/);
  const step = jit((p: V, q: V) => F.pow(p, q));
  step(new Variable(x), new Variable(dz.array([1, 2])));
  assert.throws(() => step(new Variable(x), new Variable(e)), /negative integer powers/);
  assert.deepEqual(dz.array([0, -2]).pow(dz.array([0, 3])).toArray(), [1, -8]);
  // a fractional exponent promotes to float64, as numpy's weak scalars do
  assert.deepEqual(dz.array([4]).pow(0.5).toArray(), [2]);
});

Deno.test("numbers outside int32 are errors beside int32 arrays and in int32 constructors", () => {
  const x = dz.array([1, 2]);
  assert.throws(() => x.mul(3e9), /mul: integer 3000000000 is out of bounds for int32/);
  assert.throws(() => F.add(new Variable(x), 2 ** 31), /add: integer 2147483648 is out of bounds/);
  assert.deepEqual(x.mul(-(2 ** 31)).toArray(), [-2147483648, 0]);
  assert.throws(
    () => dz.array([3e9], { dtype: "int32" }),
    /array: 3000000000 cannot be stored as int32/,
  );
  assert.throws(() => dz.array([NaN], { dtype: "int32" }), /array: NaN cannot be stored as int32/);
  assert.throws(() => dz.array([-Infinity], { dtype: "int32" }), /-Infinity cannot be stored/);
  assert.deepEqual(dz.array([1.5, -1.5, 2147483647.5], { dtype: "int32" }).toArray(), [
    1,
    -1,
    2147483647,
  ]);
  assert.equal(dz.array([3e9]).dtype, "float64"); // inferred: too big for int32
  assert.throws(
    () => dz.arange(3e9, 3e9 + 2),
    /arange: values from 3000000000 to 3000000001 do not fit int32/,
  );
  assert.throws(() => dz.arange(2 ** 31 - 2, 2 ** 31 + 1), /do not fit int32/);
  const top = dz.arange(2 ** 31 - 3, 2 ** 31);
  assert.deepEqual(top.toArray(), [2147483645, 2147483646, 2147483647]);
  assert.equal(dz.arange(0, 3e9, 1e9, { dtype: "float64" }).size, 3);
});

Deno.test("astype('int32') gives numpy's INT_MIN for NaN, infinities and out-of-range values", () => {
  // np.array([...]).astype(np.int32) on x86-64
  const src = [NaN, Infinity, -Infinity, 3e9, -3e9, 2147483647.9, -2147483648.9, 1e300, -7.9];
  const want = [
    -2147483648,
    -2147483648,
    -2147483648,
    -2147483648,
    -2147483648,
    2147483647,
    -2147483648,
    -2147483648,
    -7,
  ];
  for (const dtype of ["float64", "float32"] as const) {
    const x = dz.array(src, { dtype });
    const f32 = dtype === "float32" ? [5, 6].map((i) => [i, Math.fround(src[i])]) : [];
    const expect = want.map((w, i) => {
      const r = f32.find(([k]) => k === i); // float32 rounds 2147483647.9 up to 2^31
      return r ? (Math.trunc(r[1]) <= 2147483647 ? Math.trunc(r[1]) : -2147483648) : w;
    });
    assert.deepEqual(x.astype("int32").toArray(), expect, dtype);
    const step = jit((v: V) => new Variable(v.data.astype("int32")));
    for (let k = 0; k < 2; k++) assert.deepEqual(step(new Variable(x)).data.toArray(), expect);
  }
  assert.deepEqual(dz.full([2], NaN, { dtype: "int32" }).toArray(), [-2147483648, -2147483648]);
  assert.deepEqual(dz.full([1], 3e9, { dtype: "int32" }).toArray(), [-2147483648]);
});

Deno.test("clip() with min > max gives max everywhere, as numpy's minimum(maximum(x, lo), hi)", () => {
  const x = dz.arange(5).astype("float64");
  for (const got of both((v) => F.clip(v, 3, 1), x)) assert.deepEqual(got, [1, 1, 1, 1, 1]);
  for (const got of both((v) => F.clip(v, 1, 3), x)) assert.deepEqual(got, [1, 1, 2, 3, 3]);
  const nan = F.clip(new Variable([NaN, 0.5, 7]), 0, 1).data.toArray() as number[];
  assert.ok(Number.isNaN(nan[0]));
  assert.deepEqual(nan.slice(1), [0.5, 1]);
  // the gradient passes where lo <= x <= hi: nowhere when lo > hi
  const v = new Variable(x);
  F.sum(F.clip(v, 3, 1)).backward();
  assert.deepEqual(v.grad!.data.toArray(), [0, 0, 0, 0, 0]);
});

Deno.test("max/min over a zero-size array: empty results where numpy gives them, errors where it has none", () => {
  const e30 = dz.zeros([3, 0]), e03 = dz.zeros([0, 3]);
  assert.deepEqual(e30.max(0).shape, [0]);
  assert.deepEqual(e30.min(0, true).shape, [1, 0]);
  assert.deepEqual(e03.max(1).shape, [0]);
  assert.throws(() => e30.max(1), /max: zero-size array of shape \[3,0\] has no max/);
  assert.throws(() => e03.min(0), /min: zero-size array/);
  assert.throws(() => e30.max(), /zero-size array/);
  assert.deepEqual(e03.sum(0).toArray(), [0, 0, 0]); // sum has an identity
  assert.deepEqual(F.max(new Variable(e30), 0).shape, [0]);
});

Deno.test("argmax() of an empty sequence is an error, along an empty axis too", () => {
  assert.throws(() => dz.zeros([0]).argmax(), /argmax: attempt to get argmax of an empty sequence/);
  assert.throws(() => dz.zeros([3, 0]).argmax(1), /empty sequence/);
  assert.throws(() => dz.zeros([0, 3]).argmax(0), /empty sequence/);
  assert.deepEqual(dz.zeros([3, 0]).argmax(0).shape, [0]);
  assert.deepEqual(dz.array([[1, 5, 5], [7, 0, 7]]).argmax(1).toArray(), [1, 0]);
});

Deno.test("softmax, logsumexp and the losses work on a batch of zero rows (eager and jit)", () => {
  const x0 = dz.zeros([0, 4]);
  for (const got of both((v) => F.softmax(v), x0)) assert.deepEqual(got, []);
  assert.deepEqual(F.logSoftmax(new Variable(x0)).shape, [0, 4]);
  assert.deepEqual(F.logsumexp(new Variable(x0), 1).shape, [0]);
  const t0 = dz.zeros([0], { dtype: "int32" });
  const x = new Variable(x0);
  const loss = F.softmaxCrossEntropy(x, t0);
  // numpy: -sum([]) / 0 is nan
  assert.ok(Number.isNaN(loss.data.item()));
  loss.backward();
  assert.deepEqual(x.grad!.shape, [0, 4]);
  assert.ok(Number.isNaN(F.accuracy(new Variable(x0), t0).data.item()));
  const step = jit((v: V, t: V) => {
    const l = F.softmaxCrossEntropy(v, t);
    l.backward();
    return l;
  });
  for (let k = 0; k < 3; k++) {
    const v = new Variable(x0);
    assert.ok(Number.isNaN(step(v, new Variable(t0)).data.item()));
    assert.deepEqual(v.grad!.shape, [0, 4]);
  }
  assertAllClose(F.sum(new Variable(x0)).data, 0);
});
