/**
 * Eager kernel timings: elementwise ops on 1e6 float32, sum with axis,
 * matmul at 128/256/512, and the per-op overhead on a [1] tensor with autograd.
 * Run: deno bench -A bench/kernels.bench.ts
 * @module
 */
import * as dz from "../mod.ts";

const { F, Variable, random } = dz;
random.seed(0);
const a = random.rand(1000, 1000).astype("float32");
const b = random.rand(1000, 1000).astype("float32");
const row = random.rand(1000).astype("float32");

Deno.bench("add 1e6 float32", { group: "elementwise", baseline: true }, () => {
  a.add(b);
});
Deno.bench("mul 1e6 float32", { group: "elementwise" }, () => {
  a.mul(b);
});
Deno.bench("add broadcast [1000,1000]+[1000] float32", { group: "elementwise" }, () => {
  a.add(row);
});
Deno.bench("exp 1e6 float32", { group: "elementwise" }, () => {
  F.exp(a);
});

Deno.bench("sum all 1e6 float32", { group: "sum", baseline: true }, () => {
  a.sum();
});
Deno.bench("sum axis 0 [1000,1000]", { group: "sum" }, () => {
  a.sum(0);
});
Deno.bench("sum axis 1 [1000,1000]", { group: "sum" }, () => {
  a.sum(1);
});

for (const n of [128, 256, 512]) {
  const x = random.rand(n, n).astype("float32");
  const y = random.rand(n, n).astype("float32");
  Deno.bench(`matmul ${n}x${n} float32`, { group: "matmul" }, () => {
    x.matmul(y);
  });
}

const t = new Variable(dz.array([2], { dtype: "float32" }));
Deno.bench("tiny op: y = x*x + 3*x, backward (3 ops)", { group: "overhead" }, () => {
  const y = t.mul(t).add(t.mul(3));
  t.cleargrad();
  y.backward();
});
