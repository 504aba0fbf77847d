/**
 * Tests of ops/batch_norm.ts and L.BatchNorm: training and test mode
 * against per-channel statistics computed here, the running averages'
 * update (decay, unbiased variance), numeric gradient checks in both modes,
 * the layer's lazy parameters under DeZero's names, and the errors.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, L, utils, Variable } = dz;
type V = dz.Variable;

function randn(shape: number[], dtype: dz.DType = "float64", seed = 0): dz.NDArray {
  dz.random.seed(seed);
  return dz.random.randn(...shape).astype(dtype);
}

/** The values of channel `c` of `x` ([N, C] or [N, C, H, W]). */
function channel(x: dz.NDArray, c: number): number[] {
  const [N, C] = x.shape, inner = x.size / (N * C);
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < inner; i++) out.push(x.raw[(n * C + c) * inner + i]);
  }
  return out;
}

const meanOf = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
const varOf = (v: number[]) => meanOf(v.map((a) => (a - meanOf(v)) ** 2));

for (const shape of [[6, 3], [2, 3, 4, 5]]) {
  Deno.test(`batchNorm() in training normalizes each channel of [${shape}] and updates the running averages`, () => {
    const x = randn(shape, "float64", 1).mul(3).add(2);
    const gamma = dz.array([1.5, -0.5, 2], { dtype: "float64" });
    const beta = dz.array([0.1, 0.2, -1], { dtype: "float64" });
    const mean = dz.array([0.5, -1, 2], { dtype: "float64" });
    const variance = dz.array([1, 2, 0.5], { dtype: "float64" });
    const [m0, v0] = [Array.from(mean.raw), Array.from(variance.raw)];
    const y = F.batchNorm(x, gamma, beta, mean, variance, 0.8, 1e-3);
    const m = x.size / 3;
    for (let c = 0; c < 3; c++) {
      const xs = channel(x, c), mu = meanOf(xs), s2 = varOf(xs);
      const want = xs.map((a) => gamma.raw[c] * (a - mu) / Math.sqrt(s2 + 1e-3) + beta.raw[c]);
      assertAllClose(channel(y.data, c), want, { rtol: 1e-10, atol: 1e-12 });
      assertAllClose(mean.raw[c], 0.8 * m0[c] + 0.2 * mu, { rtol: 1e-12 });
      assertAllClose(variance.raw[c], 0.8 * v0[c] + 0.2 * s2 * m / (m - 1), { rtol: 1e-12 });
    }
  });
}

Deno.test("batchNorm() in test mode uses the running averages and leaves them alone", () => {
  const x = randn([4, 2, 3, 3], "float64", 2);
  const mean = dz.array([0.5, -1], { dtype: "float64" });
  const variance = dz.array([4, 0.25], { dtype: "float64" });
  const y = dz.testMode(() => F.batchNorm(x, dz.array([2, 3]), dz.array([1, 0]), mean, variance));
  for (let c = 0; c < 2; c++) {
    const want = channel(x, c).map((a) =>
      [2, 3][c] * (a - mean.raw[c]) / Math.sqrt(variance.raw[c] + 2e-5) + [1, 0][c]
    );
    assertAllClose(channel(y.data, c), want, { rtol: 1e-12 });
  }
  assert.deepEqual(Array.from(mean.raw), [0.5, -1]);
  assert.deepEqual(Array.from(variance.raw), [4, 0.25]);
});

for (const train of [true, false]) {
  Deno.test(`batchNorm() gradients of x, gamma, beta pass numeric checks (${train ? "training" : "test mode"})`, () => {
    const x = randn([3, 2, 2, 3], "float64", 3);
    const gamma = randn([2], "float64", 4), beta = randn([2], "float64", 5);
    const R = randn([3, 2, 2, 3], "float64", 6);
    const [mean, variance] = [dz.array([0.3, -0.2], { dtype: "float64" }), dz.array([1.5, 0.7])];
    const loss = (x: V | dz.NDArray, g: V | dz.NDArray, b: V | dz.NDArray) =>
      dz.usingConfig("train", train, () => F.sum(F.mul(F.batchNorm(x, g, b, mean, variance), R)));
    assert.ok(utils.gradientCheck((v) => loss(v, gamma, beta), x));
    assert.ok(utils.gradientCheck((v) => loss(x, v, beta), gamma));
    assert.ok(utils.gradientCheck((v) => loss(x, gamma, v), beta));
    const [x32, g32, b32] = [x, gamma, beta].map((a) => new Variable(a.astype("float32")));
    loss(x32, g32, b32).backward();
    assertAllClose(
      x32.grad!,
      utils.numericalGrad((v) => loss(v, gamma, beta), x),
      GRAD_TOL.float32,
    );
    assertAllClose(
      g32.grad!,
      utils.numericalGrad((v) => loss(x, v, beta), gamma),
      GRAD_TOL.float32,
    );
  });
}

Deno.test("L.BatchNorm: parameters from construction, sized at the first call, kept when set, DeZero's names", () => {
  const bn = new L.BatchNorm();
  assert.deepEqual([...bn.namedParams().keys()], ["avg_mean", "avg_var", "gamma", "beta"]);
  assert.equal(bn.avgMean, bn.avg_mean);
  assert.equal(bn.avgVar, bn.avg_var);
  bn.gamma.data = dz.array([2, 2, 2], { dtype: "float32" }); // set before the first call: kept
  const x = randn([5, 3, 2, 2], "float32", 7);
  const y = bn.apply(x);
  assert.equal(y.dtype, "float32");
  assert.deepEqual(Array.from(bn.gamma.data.raw), [2, 2, 2]);
  assert.deepEqual(Array.from(bn.beta.data.raw), [0, 0, 0]);
  assert.equal(bn.avgMean.dtype, "float32");
  for (let c = 0; c < 3; c++) {
    const xs = channel(x, c);
    assertAllClose(bn.avgMean.data.raw[c], 0.1 * meanOf(xs), { rtol: 1e-5 });
    assertAllClose(bn.avgVar.data.raw[c], 0.9 + 0.1 * varOf(xs) * 20 / 19, { rtol: 1e-5 });
    const s = Math.sqrt(varOf(xs) + 2e-5);
    assertAllClose(channel(y.data, c), xs.map((a) => 2 * (a - meanOf(xs)) / s), {
      rtol: 1e-4,
      atol: 1e-5,
    });
  }
  // the running statistics get no gradient, so an optimizer leaves them be
  const opt = new dz.optimizers.SGD(0.1).setup(bn);
  const before = Array.from(bn.avgMean.data.raw);
  F.sum(bn.apply(x)).backward();
  const moved = Array.from(bn.avgMean.data.raw);
  assert.notDeepEqual(moved, before); // the forward's update
  assert.equal(bn.avgMean.grad, null);
  opt.update();
  assert.deepEqual(Array.from(bn.avgMean.data.raw), moved);
});

Deno.test("batchNorm() errors name the function and the shapes", () => {
  const s = dz.zeros([2]);
  assert.throws(
    () => F.batchNorm(dz.ones([2, 2, 3]), s, s, s, s),
    /batchNorm: x must be \[N, C\] or \[N, C, H, W\], got shape \[2,2,3\]/,
  );
  assert.throws(
    () => F.batchNorm(dz.ones([2, 3]), s, s, s, s),
    /batchNorm: gamma must have shape \[3\] for x \[2,3\], got \[2\]/,
  );
  assert.throws(
    () => F.batchNorm(dz.ones([2, 2]), s, s, s, dz.zeros([3])),
    /batchNorm: var must have shape \[2\]/,
  );
  assert.throws(
    () => F.batchNorm(dz.array([[1, 2]]), s, s, s, s),
    /batchNorm: x must be float32 or float64, got int32/,
  );
  assert.throws(
    () => F.batchNorm(dz.ones([2, 2]), s, s, s, s, NaN),
    /batchNorm: decay must be a finite number/,
  );
  assert.throws(
    () => new L.BatchNorm().apply(dz.ones([3])),
    /BatchNorm: input must be \[N, C\] or \[N, C, H, W\], got shape \[3\]/,
  );
});
