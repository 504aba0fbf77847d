/** Tests of jit(): jitted forward+backward equals eager, caching, guards, fallbacks. @module */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { jit, type JitStats } from "../jit/mod.ts";
import { hostScalar } from "../core/hooks.ts";
import { backend, VECTORIZED } from "../core/backend/mod.ts";
import { assertAllClose } from "./assert.ts";

const { F, Variable, Parameter } = dz;
type V = dz.Variable;

/** Runs `f` eagerly and jitted (twice: trace, then replay) on copies of `inputs`; compares. */
function parity(
  f: (...xs: V[]) => V,
  inputs: dz.NDArray[],
  rtol: number,
): { stats(): JitStats; source(): string } {
  const g = (...xs: V[]) => {
    for (const x of xs) x.cleargrad();
    const y = f(...xs);
    y.backward();
    return y;
  };
  const xe = inputs.map((a) => new Variable(a.copy()));
  const ye = g(...xe);
  const step = jit(g);
  const xj = inputs.map((a) => new Variable(a.copy()));
  step(...xj);
  const yj = step(...xj) as V;
  assert.equal(step.stats().cacheHits, 1);
  assertAllClose(yj.data.toArray(), ye.data.toArray(), { rtol, atol: rtol * 1e-3 });
  xe.forEach((x, i) => {
    if (x.grad === null) return assert.equal(xj[i].grad, null);
    assertAllClose(xj[i].grad!.data.toArray(), x.grad.data.toArray(), { rtol, atol: rtol * 1e-3 });
  });
  return step;
}

function inputs(dtype: "float32" | "float64", ...shapes: number[][]): dz.NDArray[] {
  return shapes.map((s) => dz.random.rand(...s).add(0.5).astype(dtype));
}

const unary: [string, (x: V) => V][] = [
  ["neg", F.neg],
  ["exp", F.exp],
  ["log", F.log],
  ["sin", F.sin],
  ["cos", F.cos],
  ["tanh", F.tanh],
  ["sqrt", F.sqrt],
  ["abs", F.abs],
  ["square", F.square],
  ["sigmoid", F.sigmoid],
  ["relu", (x) => F.relu(x.sub(1))],
  ["leakyRelu", (x) => F.leakyRelu(x.sub(1), 0.1)],
  ["clip", (x) => F.clip(x, 0.7, 1.2)],
  ["pow", (x) => F.pow(x, 3)],
  ["reshape", (x) => F.reshape(x, [4, 3])],
  ["transpose", (x) => F.transpose(x)],
  ["expandDims", (x) => F.expandDims(x, 1)],
  ["flatten", (x) => F.flatten(x)],
  ["getItem slice", (x) => F.getItem(x, [dz.slice(0, 2), dz.slice(null, null, -2)])],
  ["getItem fancy, repeated", (x) => F.getItem(x, [[2, 0, 2], [-1, 1, 3]])],
  ["getItem rows", (x) => F.getItem(x, [dz.array([1, 1, 0], { dtype: "int32" })])],
  ["broadcastTo", (x) => F.broadcastTo(x, [2, 3, 4])],
  ["sumTo", (x) => F.sumTo(x, [1, 4])],
  ["softmax", (x) => F.softmax(x, 1)],
  ["logSoftmax", (x) => F.logSoftmax(x, 1)],
  ["sum", (x) => F.sum(x)],
  ["sum axis 0", (x) => F.sum(x, 0)],
  ["sum axis 1 keepdims", (x) => F.sum(x, 1, true)],
  ["mean axis 0", (x) => F.mean(x, 0)],
  ["max axis 1", (x) => F.max(x, 1)],
  ["min axis 0", (x) => F.min(x, 0)],
  ["logsumexp axis 1", (x) => F.logsumexp(x, 1)],
  ["logsumexp all", (x) => F.logsumexp(x)],
  ["mean, scaled twice", (x) => F.div(F.mean(F.exp(x)), 7).mul(F.sum(x))],
];
const binary: [string, (a: V, b: V) => V][] = [
  ["add", F.add],
  ["sub", F.sub],
  ["mul", F.mul],
  ["div", F.div],
  ["pow (variable exponent)", F.pow],
  ["meanSquaredError", F.meanSquaredError],
];

for (const dtype of ["float64", "float32"] as const) {
  const rtol = dtype === "float64" ? 1e-9 : 1e-5;
  Deno.test(`jit() matches eager forward+backward of every unary F function (${dtype})`, () => {
    dz.random.seed(0);
    for (const [name, f] of unary) {
      try {
        parity((x) => F.sum(f(x).mul(f(x))), inputs(dtype, [3, 4]), rtol);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });
  Deno.test(`jit() matches eager in staged (tiled) loops of transcendental functions (${dtype})`, () => {
    dz.random.seed(7);
    // 2103 elements: 8 full tiles and a short one; calls feeding calls, a
    // stored call result (read by the backward), a full reduction
    const [x] = inputs(dtype, [3, 701]);
    const step = parity(
      (x) => F.sum(F.tanh(F.exp(x.neg())).mul(F.sin(x)).add(F.sigmoid(F.log(x)))),
      [x],
      rtol,
    );
    assert.match(step.source(), /b \+= 256/);
    parity((x) => F.cos(F.exp(x)).mul(2), [x], rtol); // no reduction
  });
  Deno.test(`jit() matches eager binary F functions, broadcasting both ways (${dtype})`, () => {
    dz.random.seed(1);
    for (const [name, f] of binary) {
      for (
        const [sa, sb] of [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [3, 4]], [[1, 4], [3, 1]]]
      ) {
        if (name === "meanSquaredError" && sa.join() !== sb.join()) continue;
        try {
          parity((a, b) => F.sum(F.mul(f(a, b), f(a, b))), inputs(dtype, sa, sb), rtol);
        } catch (e) {
          throw new Error(`${name} ${sa} ${sb}: ${(e as Error).message}`);
        }
      }
    }
  });
  Deno.test(`jit() matches eager matmul, linear and losses (${dtype})`, () => {
    dz.random.seed(2);
    parity((x, w) => F.sum(F.sigmoid(F.matmul(x, w))), inputs(dtype, [5, 3], [3, 4]), rtol);
    parity(
      (x, w, b) => F.sum(F.relu(F.linear(x, w, b).sub(1))),
      inputs(dtype, [5, 3], [3, 4], [4]),
      rtol,
    );
    parity((x, w) => F.sum(F.matmul(x, w)), inputs(dtype, [2, 5, 3], [2, 3, 4]), rtol);
    // relu(linear) fuses into the product's store: small (k unrolled), small
    // with a k loop, and large enough for the blocked gemm
    for (const [m, k, n] of [[5, 3, 4], [3, 20, 4], [40, 30, 41]]) {
      parity(
        (x, w, b) => F.sum(F.relu(F.linear(x, w, b)).mul(x.sum())),
        inputs(dtype, [m, k], [k, n], [n]),
        rtol,
      );
    }
    const t = dz.array([0, 2, 1, 1, 0]);
    parity((x) => F.softmaxCrossEntropy(x, t), inputs(dtype, [5, 3]), rtol);
    parity(
      (x, y) => F.sigmoidCrossEntropy(x.sub(1), y.sub(1).mul(2)),
      inputs(dtype, [5, 1], [5, 1]),
      rtol,
    );
  });
}

Deno.test("jit() compiles sum((sin(x) * 2 + exp(-x)) ** 2) forward+backward into at most 3 kernels", () => {
  dz.random.seed(3);
  const step = parity(
    (x) => F.sum(F.pow(F.add(F.mul(F.sin(x), 2), F.exp(F.neg(x))), 2)),
    inputs("float32", [50, 40]),
    1e-5,
  );
  const s = step.stats();
  assert.ok(s.kernels >= 1 && s.kernels <= 3, `kernels: ${s.kernels}`);
  assert.equal(s.fallbacks, 0);
  assert.ok(s.fusedOps >= 10);
  // constants are literals and `** 2` a product: no constant buffer, no pow call
  assert.doesNotMatch(step.source(), /\*\*|c\d+\[0\]/);
  // sin (forward) and cos (its gradient) of x share one reduction: as a
  // vector call over a tile where WebAssembly SIMD runs, else in the loop
  assert.match(
    step.source(),
    VECTORIZED
      ? /vsincos\(\d+, \d+, \d+, n\);/
      : /sincos32\(l0\)\); const v\d+ = Math\.fround\(lastCos32\(\)\)/,
  );
  // where it runs, the arithmetic after the calls is a WebAssembly loop, its
  // last partial step in JS; in f32x4 lanes, as every step is float32
  if (VECTORIZED) {
    assert.match(step.source(), /\(f32x4\), over whole steps of 16\n\s*seg\d+\(0, n - n % 16\);/);
  }
});

Deno.test("jit() staged loops (vector calls, WebAssembly arithmetic) equal eager bit for bit", () => {
  // sizes with partial tiles (256) and partial SIMD steps (8, 16 in f32x4); values with
  // NaN, ±Infinity, -0, overflow of exp and |x| beyond sin's fast range
  const special = [NaN, Infinity, -Infinity, -0, 0, 100, -100, 89, 3e6, -5e7, 1e-40, 0.5];
  const programs: ((x: V, y: V) => V)[] = [
    (x) => F.sum(F.pow(F.add(F.mul(F.sin(x), 2), F.exp(F.neg(x))), 2)),
    (x, y) => F.sum(F.div(F.sub(F.cos(x), y), F.add(F.exp(y), 1.5))),
    (x, y) => F.sum(F.mul(F.sin(F.exp(F.mul(x, 0.01))), F.cos(F.add(y, x)))),
    (x, y) => F.mean(F.sub(F.mul(F.exp(x), y), F.square(F.sin(y)))),
    (x) => F.sum(F.mul(F.tanh(F.add(F.mul(F.sin(x), 2), F.pow(F.exp(F.neg(x)), 2))), x)),
    (x, y) => F.sum(F.mul(F.sigmoid(F.mul(x, y)), F.tanh(y))),
    (x, y) => F.sum(F.mul(F.log(F.add(F.square(x), 1)), F.log(F.abs(y)))), // log(0), log(NaN)...
    (x, y) => F.sum(F.div(F.sqrt(F.add(F.exp(y), F.mul(x, x))), F.add(F.mul(y, y), 0.5))),
  ];
  for (const size of [512, 515, 777, 1024, 2049]) {
    for (const [p, f] of programs.entries()) {
      dz.random.seed(size + p);
      const data = [0, 1].map(() => {
        const a = dz.random.randn(size).mul(3).astype("float32");
        special.forEach((v, k) => (a.raw[(k * 37 + p * 11) % size] = v));
        return a;
      });
      const g = (x: V, y: V) => {
        x.cleargrad();
        y.cleargrad();
        const out = f(x, y);
        out.backward();
        return out;
      };
      const xe = data.map((a) => new Variable(a.copy()));
      const ye = g(xe[0], xe[1]);
      const step = jit(g);
      const xj = data.map((a) => new Variable(a.copy()));
      step(xj[0], xj[1]);
      const yj = step(xj[0], xj[1]) as V;
      const same = (a: dz.NDArray, b: dz.NDArray, what: string) =>
        assert.deepEqual(a.toArray(), b.toArray(), `program ${p}, size ${size}: ${what}`);
      same(yj.data, ye.data, "value");
      xe.forEach((x, i) => {
        if (x.grad === null) assert.equal(xj[i].grad, null);
        else same(xj[i].grad!.data, x.grad.data, `gradient ${i}`);
      });
    }
  }
});

Deno.test("jit() rounds a float32 loop's inexact steps to float32 and leaves exact ones alone", () => {
  dz.random.seed(5);
  const step = parity((x) => F.relu(F.neg(F.exp(x))), inputs("float32", [4, 3]), 1e-6);
  const src = step.source();
  assert.match(src, /Math\.fround\(exp32\(l0\)\)/); // exp rounds
  assert.match(src, /= -v\d+;/); // negation of a float32 is a float32
  assert.match(src, /= v\d+ < 0 \? 0 : v\d+;/); // so is relu
});

Deno.test("jit() inference relu(x @ W + b) with the add and ReLU in the store equals eager bit for bit", () => {
  dz.random.seed(6);
  for (const dtype of ["float32", "float64"] as const) {
    for (const [m, k, n] of [[5, 3, 4], [3, 20, 4], [40, 30, 41], [70, 300, 9]]) {
      const [x, w, b] = inputs(dtype, [m, k], [k, n], [n]).map((a) => new Variable(a.sub(1)));
      const f = (x: V, w: V, b: V) => F.relu(F.linear(x, w, b));
      const step = jit(f);
      const got = dz.noGrad(() => (step(x, w, b), step(x, w, b)));
      assert.match(step.source(), /\+ bias, relu/);
      assert.deepEqual(got.data.toArray(), dz.noGrad(() => f(x, w, b)).data.toArray());
    }
  }
});

Deno.test("jit() training relu(x @ W + b): the ReLU runs in the product's store, params equal eager bit for bit", () => {
  dz.random.seed(7);
  for (const dtype of ["float32", "float64"] as const) {
    const [x, w0, b0, w1] = inputs(dtype, [40, 300], [300, 30], [30], [30, 5]);
    const t = dz.array([0, 1, 2, 3, 4].flatMap((c) => Array(8).fill(c)), { dtype: "int32" });
    const fresh = () => [w0, b0, w1].map((a) => new dz.Parameter(a.sub(0.5)));
    const train = (params: dz.Parameter[]) => (x: dz.NDArray, t: dz.NDArray) => {
      const [W, b, W2] = params;
      const loss = F.softmaxCrossEntropy(F.matmul(F.relu(F.linear(x, W, b)), W2), t);
      for (const p of params) p.cleargrad();
      loss.backward();
      for (const p of params) p.data = p.data.sub(p.grad!.data.mul(0.1));
      return loss;
    };
    const pe = fresh(), pj = fresh();
    const eager = train(pe), step = jit(train(pj));
    for (let i = 0; i < 3; i++) {
      assert.equal(step(x, t).data.item(), eager(x, t).data.item());
    }
    for (let i = 0; i < pe.length; i++) {
      assert.deepEqual(Array.from(pj[i].data.raw), Array.from(pe[i].data.raw));
    }
    const src = step.source();
    assert.match(src, /\+ bias, relu/);
    assert.doesNotMatch(src, /fused loop over \[40,30\]: relu\b/);
  }
});

Deno.test("jit() reductions over inner and middle axes (runs summed in a local) equal eager bit for bit", () => {
  dz.random.seed(5);
  for (const dtype of ["float32", "float64"] as const) {
    const x = dz.random.randn(3, 4, 5, 6).astype(dtype);
    const fns = [
      (v: dz.NDArray) => v.sum([0, 2, 3]),
      (v: dz.NDArray) => v.sum([1, 3], true),
      (v: dz.NDArray) => v.max(3),
      (v: dz.NDArray) => v.min([2, 3]),
      (v: dz.NDArray) => v.sum(0),
    ];
    for (const f of fns) {
      const step = jit((v: dz.NDArray) => f(v.mul(3)));
      step(x);
      const want = f(x.mul(3));
      assert.deepEqual(Array.from(step(x).raw), Array.from(want.raw));
    }
  }
  const step = jit((v: dz.NDArray) => v.sum([0, 2]));
  step(dz.ones([2, 3, 4]));
  assert.match(step.source(), /let r = /);
});

Deno.test("jit() reductions of empty arrays (float32 and int32: no float64 scratch) run as eager", () => {
  for (const dtype of ["float32", "int32", "float64"] as const) {
    const step = jit((v: dz.NDArray) => [v.sum(0), v.mul(2).sum(1)]);
    for (let call = 0; call < 2; call++) { // the trace, then a replay
      const [a, b] = step(dz.zeros([3, 0], { dtype }));
      assert.deepEqual([a.shape, a.dtype, b.shape, Array.from(b.raw)], [[0], dtype, [3], [
        0,
        0,
        0,
      ]]);
    }
  }
  // a float32 linear layer of no outputs, forward and backward (its bias's gradient sums to [0])
  const W = new Parameter(dz.ones([5, 0], { dtype: "float32" }));
  const b = new Parameter(dz.zeros([0], { dtype: "float32" }));
  const step = jit((x: dz.NDArray) => {
    const y = F.linear(x, W, b);
    W.cleargrad(), b.cleargrad();
    F.sum(y).backward();
    return y;
  });
  for (let call = 0; call < 2; call++) {
    assert.deepEqual(step(dz.ones([3, 5], { dtype: "float32" })).shape, [3, 0]);
    assert.deepEqual([W.grad!.shape, b.grad!.shape], [[5, 0], [0]]);
  }
});

Deno.test("jit() small products, row by row or element by element, equal eager bit for bit (batched, transposed, backward)", () => {
  dz.random.seed(9);
  for (const dtype of ["float32", "float64"] as const) {
    for (const [a, b] of [[[2, 4, 6], [2, 6, 5]], [[1, 100], [100, 100]], [[7, 1], [1, 9]]]) {
      const f = (x: V, w: V) => {
        x.cleargrad();
        w.cleargrad();
        const y = F.sum(F.mul(F.matmul(x, w), F.matmul(x, w)));
        y.backward(); // products with transposed operands: gy @ w.T, x.T @ gy
        return y;
      };
      const run = (g: typeof f) => {
        const [x, w] = inputs(dtype, a, b).map((v) => new Variable(v));
        const y = g(x, w);
        return [y, x.grad!, w.grad!].map((v) => Array.from(v.data.data));
      };
      dz.random.seed(10);
      const eager = run(f);
      const step = jit(f);
      dz.random.seed(10);
      run(step);
      dz.random.seed(10);
      assert.deepEqual(run(step), eager);
      assert.equal(step.stats().cacheHits, 1);
    }
  }
});

Deno.test("jit() keeps a value read before an in-place write of its array (staged loop)", () => {
  const f = (x: V) => {
    const a = F.exp(x); // reads x before the in-place update below
    x.data.imul(dz.array(2));
    return F.mul(a, 3);
  };
  const make = () => {
    dz.random.seed(8);
    return new Variable(dz.random.rand(600).astype("float32"));
  };
  const step = jit(f);
  step(make());
  const [xe, xj] = [make(), make()];
  const want = f(xe), got = step(xj);
  assert.deepEqual(got.data.toArray(), want.data.toArray());
  assert.deepEqual(xj.data.toArray(), xe.data.toArray());
});

Deno.test("jit() writes gradients into the Variables of each call, not the traced ones", () => {
  const step = jit((x: V) => {
    const y = F.sum(F.mul(x, x));
    y.backward();
    return y;
  });
  for (let k = 1; k <= 3; k++) {
    const x = new Variable(dz.array([1, 2, 3]).mul(k));
    step(x);
    assertAllClose(x.grad!.data.toArray(), [2 * k, 4 * k, 6 * k]);
  }
  assert.equal(step.stats().traces, 1);
});

Deno.test("jit() accumulates gradients across calls as eager does when they are not cleared", () => {
  const f = (x: V) => {
    const y = F.sum(F.exp(x));
    y.backward();
    return y;
  };
  const step = jit(f);
  const xe = new Variable(dz.array([0, 1])), xj = new Variable(dz.array([0, 1]));
  for (let k = 0; k < 4; k++) {
    f(xe);
    step(xj);
    assertAllClose(xj.grad!.data.toArray(), xe.grad!.data.toArray(), { rtol: 1e-12 });
  }
  assertAllClose(xj.grad!.data.toArray(), [4, 4 * Math.E], { rtol: 1e-12 });
  xj.cleargrad(); // back to the first state (traced again)
  step(xj);
  assertAllClose(xj.grad!.data.toArray(), [1, Math.E], { rtol: 1e-12 });
});

Deno.test("jit() retraces when a parameter's array changes size or shape", () => {
  const p = new Parameter(dz.ones([2]));
  const step = jit((x: V) => F.sum(F.mul(x, p)));
  const x = new Variable(dz.ones([2]));
  step(x);
  assertAllClose(step(x).data.toArray(), 2);
  p.data = dz.ones([1]).mul(5); // broadcasts against x now
  assertAllClose(step(x).data.toArray(), 10);
  assert.equal(step.stats().traces, 2);
  // same size, other shape: [2] * [2, 1] broadcasts to [2, 2]
  p.data = dz.array([[1], [2]]);
  assertAllClose(step(x).data.toArray(), 6);
  assert.equal(step.stats().traces, 3);
});

Deno.test("jit() bakes constant scalars and retraces when one is changed in place", () => {
  const c = dz.array(2);
  const step = jit((x: V) => F.mul(x, c));
  const x = new Variable(dz.array([1, 2]));
  step(x);
  assertAllClose(step(x).data.toArray(), [2, 4]);
  assert.match(step.source(), /Math\.imul\(\w+, 2\)/); // int32 products wrap as numpy's
  c.iadd(dz.array(1));
  assertAllClose(step(x).data.toArray(), [3, 6]);
  assert.equal(step.stats().traces, 2);
});

Deno.test("jit() reads transposed matmul operands by flags (no transpose kernels)", () => {
  dz.random.seed(4);
  const step = parity((x, w) => F.sum(F.matmul(x, w)), inputs("float64", [6, 3], [3, 5]), 1e-9);
  assert.match(step.source(), /A transposed/);
  assert.match(step.source(), /B transposed/);
  assert.doesNotMatch(step.source(), /fused loop over \S+: transpose/);
});

Deno.test("jit() retraces on a new shape and evicts the least recently used tape", () => {
  const step = jit((x: V) => F.sum(F.exp(x)), { maxCache: 2 });
  const at = (n: number) => new Variable(dz.ones([n]));
  assertAllClose(step(at(2)).data.toArray(), 2 * Math.E);
  assertAllClose(step(at(3)).data.toArray(), 3 * Math.E);
  step(at(2));
  assert.deepEqual([step.stats().traces, step.stats().cacheHits], [2, 1]);
  step(at(4)); // evicts [3]
  assertAllClose(step(at(3)).data.toArray(), 3 * Math.E);
  assert.equal(step.stats().traces, 4);
  assert.equal(step.stats().cached, 2);
});

Deno.test("jit() tells signatures apart when the same Variable changes dtype or shape", () => {
  const step = jit((x: V, k: number) => F.mul(F.sum(F.exp(x)), k));
  const x = new Variable(dz.ones([2]));
  assertAllClose(step(x, 1).data.toArray(), 2 * Math.E);
  assert.equal(step(x, 1).dtype, "float64");
  x.data = dz.ones([2], { dtype: "float32" }); // same shape, new dtype
  assert.equal(step(x, 1).dtype, "float32");
  x.data = dz.ones([3], { dtype: "float32" }); // new shape
  assertAllClose(step(x, 1).data.toArray(), 3 * Math.E, { rtol: 1e-6 });
  assertAllClose(step(x, 2).data.toArray(), 6 * Math.E, { rtol: 1e-6 }); // a number argument is keyed
  assert.deepEqual([step.stats().traces, step.stats().cacheHits], [4, 1]);
});

Deno.test("jit() runs a value-dependent function eagerly and warns once", () => {
  const warn = console.warn;
  let warnings = 0;
  console.warn = () => warnings++;
  try {
    const step = jit((x: V) => (x.data.item() > 0 ? F.exp(x) : F.neg(x)));
    assertAllClose(step(new Variable(dz.array(1.5))).data.toArray(), Math.exp(1.5));
    assertAllClose(step(new Variable(dz.array(-2.5))).data.toArray(), 2.5);
    assertAllClose(step(new Variable(dz.array(0.5))).data.toArray(), Math.exp(0.5));
    assert.equal(warnings, 1);
    assert.equal(step.stats().eagerRuns, 2);
  } finally {
    console.warn = warn;
  }
});

Deno.test("jit() runs eagerly, saying why, a function that replaces an array it reads as a constant", () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    // W is applied to no function: a replay would read its first array and write nothing back
    const W = new Parameter(dz.array([[1, 2], [3, 4]], { dtype: "float64" }));
    const M = dz.array([[0, 1], [1, 1]], { dtype: "float64" });
    const step = jit(() => {
      W.data = M.matmul(W.data);
      return W;
    });
    for (let i = 0; i < 3; i++) step();
    // M^3 @ W0, by hand: M^3 = [[1, 2], [2, 3]]
    assert.deepEqual(W.data.toArray(), [[7, 10], [11, 16]]);
    assert.equal(step.stats().eagerRuns, 2);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /replaces the array of a Variable \(x\.data = \.\.\.\)/);
    // a Variable the call applies functions to has its new array written back on each replay
    const P = new Parameter(dz.array([1, 2], { dtype: "float64" }));
    const update = jit(() => {
      const loss = F.sum(F.mul(P, P));
      P.data = P.data.mul(2);
      return loss;
    });
    const losses = [0, 1, 2, 3].map(() => update().data.item());
    assert.deepEqual(losses, [5, 20, 80, 320]); // |P|^2 with P doubled after each call
    assert.deepEqual(P.data.toArray(), [16, 32]);
    assert.equal(update.stats().cacheHits, 3);
  } finally {
    console.warn = warn;
  }
});

Deno.test("jit() trains Parameters with SGD and a changeable lr (hostScalar)", () => {
  dz.random.seed(5);
  const W0 = dz.random.randn(3, 2), b0 = dz.zeros([2]);
  const x = new Variable(dz.random.rand(8, 3)), t = new Variable(dz.random.rand(8, 2));
  const make = () => {
    const W = new Parameter(W0.copy()), b = new Parameter(b0.copy());
    const lr = { v: 0.1 };
    const fn = (x: V, t: V) => {
      W.cleargrad();
      b.cleargrad();
      const loss = F.meanSquaredError(F.linear(x, W, b), t);
      loss.backward();
      for (const p of [W, b]) p.data.isub(p.grad!.data.mul(hostScalar(() => lr.v)));
      return loss;
    };
    return { W, b, lr, fn };
  };
  const e = make(), j = make();
  const step = jit(j.fn);
  for (let i = 0; i < 20; i++) {
    if (i === 10) e.lr.v = j.lr.v = 0.5;
    const le = e.fn(x, t), lj = step(x, t);
    assertAllClose(lj.data.toArray(), le.data.toArray(), { rtol: 1e-9 });
  }
  assertAllClose(j.W.data.toArray(), e.W.data.toArray(), { rtol: 1e-9 });
  assertAllClose(j.b.grad!.data.toArray(), e.b.grad!.data.toArray(), { rtol: 1e-9 });
  assert.equal(step.stats().traces, 1);
});

Deno.test("jit() draws fresh dropout masks on each replay", () => {
  dz.random.seed(6);
  const step = jit((x: V) => F.dropout(x, 0.5));
  const x = new Variable(dz.ones([200]));
  step(x);
  const a = step(x).data.toArray() as number[], b = step(x).data.toArray() as number[];
  assert.notDeepEqual(a, b);
  for (const v of [...a, ...b]) assert.ok(v === 0 || v === 2);
});

Deno.test("jit() generates the gather and scatter-add of getItem (softmax cross entropy)", () => {
  const t = dz.array([2, 0]);
  const step = jit((x: V) => {
    const y = F.softmaxCrossEntropy(x, t);
    y.backward();
    return y;
  });
  const x = new Variable(dz.array([[1, 2, 3], [1, 1, 1]], { dtype: "float64" }));
  step(x);
  x.cleargrad();
  const y = step(x);
  // -(log softmax([1,2,3])[2] + log softmax([1,1,1])[0]) / 2
  const l0 = 3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  assertAllClose(y.data.toArray(), -(l0 - Math.log(3)) / 2, { rtol: 1e-12 });
  // gradient: (softmax(x) - onehot(t)) / 2
  const e = [1, 2, 3].map(Math.exp), s = e[0] + e[1] + e[2];
  assertAllClose(x.grad!.data.toArray(), [
    [e[0] / s / 2, e[1] / s / 2, (e[2] / s - 1) / 2],
    [(1 / 3 - 1) / 2, 1 / 6, 1 / 6],
  ], { rtol: 1e-12 });
  assert.equal(step.stats().fallbacks, 0);
  assert.match(step.source(), /gather of/);
  assert.match(step.source(), /scatter-add of/);
});

Deno.test("jit() replays check index arrays: out of bounds throws, negative wraps", () => {
  const x = new Variable(dz.array([[1, 2, 3], [4, 5, 6]]));
  const step = jit((x: V, i: dz.NDArray) => F.sum(F.getItem(x, [dz.slice(), i])));
  const idx = (a: number[]) => dz.array(a, { dtype: "int32" });
  assertAllClose(step(x, idx([0, 2])).data.toArray(), 1 + 3 + 4 + 6);
  assertAllClose(step(x, idx([-1, 1])).data.toArray(), 3 + 2 + 6 + 5); // replayed
  assert.throws(() => step(x, idx([0, 3])), /out of bounds/);
  assert.throws(() => step(x, idx([-4, 0])), /out of bounds/);
  assert.equal(step.stats().traces, 1);
});

Deno.test("jit() counts fallback ops and computes them correctly", () => {
  const step = jit((x: V) => F.matmul(F.mul(x, 2), x)); // an int32 product has no generator
  const x = new Variable(dz.array([[1, 2], [3, 4]]));
  step(x);
  assert.deepEqual(step(x).data.toArray(), [[14, 20], [30, 44]]);
  assert.deepEqual(step(new Variable(dz.array([[0, 1], [1, 0]]))).data.toArray(), [[2, 0], [0, 2]]);
  assert.equal(step.stats().fallbacks, 1);
  assert.deepEqual(step.stats().fallbackOps, ["matmul"]);
});

Deno.test("jit() compiles argmax: first maximum on ties, NaN wins, any axis", () => {
  const step = jit((x: V) => [F.mul(x, 2).data.argmax(1), x.data.argmax(0)]);
  const run = (rows: number[][]) =>
    step(new Variable(dz.array(rows, { dtype: "float64" }))) as dz.NDArray[];
  run([[1, 5, 3], [7, 1, 1]]);
  const [r, c] = run([[0, 9, 9], [2, NaN, 3]]); // replayed
  assert.deepEqual(r.toArray(), [1, 1]);
  assert.deepEqual(c.toArray(), [1, 1, 0]);
  assert.equal(step.stats().traces, 1);
  assert.equal(step.stats().fallbacks, 0);
  assert.match(step.source(), /\/\/ k\d+: argmax along axis 1 of \[2,3\]/);
});

Deno.test("jit() keeps hostile Variable names out of the generated code", () => {
  const names = ["*/ throw 1 /*", "'\"`${x}`", "a\nb\r\u2028c", "</script>"];
  const params = names.map((n) => new Parameter(dz.ones([2]), n));
  const step = jit((x: V) => {
    let y: V = x;
    for (const p of params) y = y.mul(p);
    const s = F.sum(y);
    s.backward();
    return s;
  });
  const x = new Variable(dz.array([1.0, 2.0]), "*/ throw 1 /*");
  step(x);
  assertAllClose(step(x).data.toArray(), 3);
  for (const n of names) assert.ok(!step.source().includes(n));
});

Deno.test("jit() honours noGrad and testMode in the signature", () => {
  const step = jit((x: V) => F.dropout(F.exp(x), 0.5));
  const x = new Variable(dz.zeros([4]));
  dz.testMode(() => step(x));
  assertAllClose(dz.testMode(() => step(x)).data.toArray(), [1, 1, 1, 1]);
  step(x);
  assert.equal(step.stats().traces, 2);
});

Deno.test("jit() source() is the module that runs: imported, it replays the step bit for bit", async () => {
  dz.random.seed(11);
  const W = new Parameter(dz.random.randn(3, 4).astype("float32"), "W");
  const step = jit((x: dz.NDArray) => {
    const y = F.sum(F.tanh(F.matmul(x, W)).mul(F.exp(x.neg().sum(1, true))));
    W.cleargrad();
    y.backward();
    return y;
  });
  const x = dz.random.randn(600, 3).astype("float32");
  step(x);
  const expected = step(x); // a replay
  const gW = Array.from(W.grad!.data.data);
  const src = step.source();
  // every kernel is headed by what it computes and the F functions it came from
  assert.match(src, /\/\/ k0: matmul \[600x3\] @ \[3x4\]\n\s+\/\/\s+from MatMul/);
  assert.match(src, /from Tanh backward/);
  const mod = await import(`data:application/javascript,${encodeURIComponent(src)}`);
  const tape = mod.default(backend.runtime, {});
  const bound = [x.data, W.data.data]; // the call's argument, then the parameter
  tape.replay(bound);
  const out = Object.values(tape.buffers as Record<string, Float32Array>);
  assert.ok(out.some((b) => b.length === 1 && b[0] === expected.data.item()));
  assert.ok(out.some((b) => b.length === 12 && Array.from(b).join() === gW.join()));
});
