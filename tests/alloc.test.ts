/**
 * core/array/alloc.ts: small arrays carved from shared slabs must behave exactly
 * like arrays with their own buffer (zeroed, disjoint, aligned), and the
 * overlap test must see real sharing only.
 */
import assert from "node:assert/strict";
import { allocate, sharesMemory } from "../core/array/alloc.ts";
import { dispatch } from "../core/dispatch.ts";
import { NDArray } from "../core/array/ndarray.ts";
import type { TypedArray } from "../core/array/dtype.ts";

Deno.test("allocate: zero-filled, disjoint, aligned arrays of every dtype and size", () => {
  const arrays: TypedArray[] = [];
  for (let k = 0; k < 3000; k++) {
    const dtype = (["float32", "float64", "int32"] as const)[k % 3];
    const size = k % 300; // 0..299 elements: both slab classes and beyond
    const a = allocate(dtype, size);
    assert.equal(a.length, size);
    assert.equal(a.byteOffset % 8, 0);
    assert.ok(a.every((v) => v === 0), `fresh ${dtype}[${size}] is zero`);
    a.fill(k + 1); // later arrays must not see these values
    arrays.push(a);
  }
  for (let k = 0; k < arrays.length; k++) {
    assert.ok(arrays[k].every((v) => v === k + 1), `array ${k} kept its values`);
  }
  for (let k = 1; k < arrays.length; k++) {
    assert.equal(sharesMemory(arrays[k - 1], arrays[k]), false);
  }
});

Deno.test("sharesMemory: overlapping views only", () => {
  const buf = new ArrayBuffer(64);
  const a = new Float32Array(buf, 0, 4), b = new Float32Array(buf, 16, 4);
  const c = new Float32Array(buf, 12, 2);
  assert.equal(sharesMemory(a, b), false);
  assert.equal(sharesMemory(a, c), true);
  assert.equal(sharesMemory(b, c), true);
  assert.equal(sharesMemory(a, a.subarray(1)), true);
  assert.equal(sharesMemory(a, new Float32Array(4)), false);
});

Deno.test("matmul into a small out allocated beside its operands is not mistaken for aliasing", () => {
  const a = new NDArray(allocate("float64", 4), [2, 2]);
  const b = new NDArray(allocate("float64", 4), [2, 2]);
  const out = new NDArray(allocate("float64", 4), [2, 2]);
  a.raw.set([1, 2, 3, 4]);
  b.raw.set([5, 6, 7, 8]);
  dispatch("matmul", [a, b], {}, out);
  assert.deepEqual([...out.raw], [19, 22, 43, 50]);
  assert.throws(() => dispatch("matmul", [a, b], {}, a), /share storage/);
});
