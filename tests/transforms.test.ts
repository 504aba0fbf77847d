/**
 * Tests of `transforms` (DeZero's array transforms) against values worked
 * out by hand: Normalize with numbers and per-channel lists, Flatten,
 * AsType/ToFloat/ToInt, Compose, their use as a dataset's transform, and
 * the errors at their boundary.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";

const { datasets, transforms } = dz;

Deno.test("Normalize computes (x - mean) / std with numbers, per channel along axis 0, and keeps numpy's dtypes", () => {
  const x = dz.array([[[0, 255], [51, 102]], [[10, 20], [30, 40]]], { dtype: "float32" });
  // one number: every value (v - 0) / 255
  const scaled = new transforms.Normalize(0, 255)(x);
  assert.equal(scaled.dtype, "float32");
  assert.deepEqual(
    Array.from(scaled.data),
    [0, 1, 0.2, 0.4, 10 / 255, 20 / 255, 30 / 255, 40 / 255].map(Math.fround),
  );
  // channel 0: (v - 1) / 2; channel 1: (v - 10) / 5
  const perChannel = new transforms.Normalize([1, 10], [2, 5])(x);
  assert.deepEqual(perChannel.toArray(), [[[-0.5, 127], [25, 50.5]], [[0, 2], [4, 6]]]);
  // a one-element list is a number; defaults leave x unchanged
  assert.deepEqual(new transforms.Normalize([10], [2])(x).toArray(), [[[-5, 122.5], [20.5, 46]], [[
    0,
    5,
  ], [10, 15]]]);
  assert.deepEqual(new transforms.Normalize()(x).toArray(), x.toArray());
  // int input: numpy's int - float is float64
  const ints = new transforms.Normalize(0.5, 2)(dz.array([1, 2, 3]));
  assert.deepEqual([ints.dtype, ints.toArray()], ["float64", [0.25, 0.75, 1.25]]);
});

Deno.test("Flatten copies to one axis; AsType, ToFloat and ToInt convert", () => {
  const x = dz.array([[1, 2], [3, 4]]);
  const flat = new transforms.Flatten()(x);
  assert.deepEqual([flat.shape, flat.toArray()], [[4], [1, 2, 3, 4]]);
  flat.data[0] = 9;
  assert.equal(x.data[0], 1, "a copy, as numpy's flatten");
  assert.equal(new transforms.AsType()(x).dtype, "float32");
  assert.equal(new transforms.AsType("float64")(x).dtype, "float64");
  const toFloat = new transforms.ToFloat();
  assert.deepEqual([toFloat.name, toFloat(x).dtype], ["ToFloat", "float32"]);
  assert.ok(toFloat instanceof transforms.AsType, "a subclass of AsType, as DeZero's");
  assert.equal(new transforms.ToFloat("float64")(x).dtype, "float64");
  const t = new transforms.ToInt()(dz.array([2.9, -2.9, 0.5], { dtype: "float64" }));
  assert.deepEqual([t.dtype, t.toArray()], ["int32", [2, -2, 0]]);
});

Deno.test("Compose applies in order and serves as a dataset's transform (DeZero's MNIST recipe)", () => {
  const f = new transforms.Compose([
    new transforms.Flatten(),
    new transforms.ToFloat(),
    new transforms.Normalize(0, 255),
  ]);
  assert.equal(f.name, "Compose");
  assert.ok(f instanceof transforms.Compose);
  const images = dz.array([[[[0, 51], [204, 255]]], [[[255, 0], [0, 102]]]]); // [2, 1, 2, 2]
  const ds = new datasets.Dataset(images, dz.array([3, 7]), {
    transform: f,
    targetTransform: new transforms.AsType("float64"),
  });
  const [x, t] = ds.get(1);
  assert.deepEqual([x.shape, x.dtype], [[4], "float32"]);
  assert.deepEqual(Array.from(x.data), [1, 0, 0, 0.4].map(Math.fround));
  assert.deepEqual([t.dtype, t.item()], ["float64", 7]);
  assert.match(String(ds), /transform: Compose, targetTransform: AsType/);
  assert.equal(new transforms.Compose()(images), images, "no transforms: the input itself");
});

Deno.test("transforms refuse bad arguments and inputs, naming themselves", () => {
  assert.throws(() => new transforms.Normalize(Number.NaN), { message: /^Normalize: mean/ });
  assert.throws(() => new transforms.Normalize(0, [1, "2"] as unknown as number[]), {
    message: /^Normalize: std\[1\]/,
  });
  assert.throws(() => new transforms.Normalize([]), {
    message: /^Normalize: mean must not be an empty list/,
  });
  assert.throws(() => new transforms.Normalize([1, 2, 3])(dz.zeros([2, 4])), {
    message: /^Normalize: 3 values of mean for an array of shape \[2, 4\]/,
  });
  assert.throws(() => new transforms.AsType("int64" as dz.DType), { message: /^AsType: / });
  assert.throws(() => new transforms.Compose([1 as unknown as dz.datasets.Transform]), {
    message: /^Compose: transform 0 must be a function/,
  });
  const bad = new transforms.Compose([() => 3 as unknown as dz.NDArray]);
  assert.throws(() => bad(dz.zeros([1])), {
    message: /^Compose: transform 0 must return an NDArray/,
  });
  assert.throws(() => new transforms.Flatten()([1, 2] as unknown as dz.NDArray), {
    message: /^Flatten: input must be an NDArray, got /,
  });
});
