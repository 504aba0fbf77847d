/**
 * Tests of ops/im2col.ts and ops/conv.ts: DeZero's size helpers, im2col and
 * col2im against loops written here, conv2d and deconv2d against nested-loop
 * convolutions, numeric gradient checks (float64 tight, float32 loose),
 * second derivatives through Conv2DGradW, and the errors.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose, GRAD_TOL } from "./assert.ts";

const { F, utils, Variable } = dz;
type V = dz.Variable;

/** Seeded normal values of `shape` (float64, or float32). */
function randn(shape: number[], dtype: dz.DType = "float64", seed = 0): dz.NDArray {
  dz.random.seed(seed);
  return dz.random.randn(...shape).astype(dtype);
}

/** `x[n, c, h, w]`, or 0 outside the image (zero padding). */
function at(x: dz.NDArray, n: number, c: number, h: number, w: number): number {
  const [, C, H, W] = x.shape;
  return h < 0 || h >= H || w < 0 || w >= W ? 0 : x.raw[((n * C + c) * H + h) * W + w];
}

/** A naive convolution: `y[n, o, i, j] = b[o] + sum x[n, c, i*SH + kh - PH, j*SW + kw - PW] W[o, c, kh, kw]`. */
function naiveConv(
  x: dz.NDArray,
  W: dz.NDArray,
  b: dz.NDArray | null,
  [SH, SW]: number[],
  [PH, PW]: number[],
): number[] {
  const [N, C, H, Wd] = x.shape, [O, , KH, KW] = W.shape;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1, OW = Math.floor((Wd + 2 * PW - KW) / SW) + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = b === null ? 0 : b.raw[o];
          for (let c = 0; c < C; c++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                s += at(x, n, c, i * SH + kh - PH, j * SW + kw - PW) *
                  W.raw[((o * C + c) * KH + kh) * KW + kw];
              }
            }
          }
          out.push(s);
        }
      }
    }
  }
  return out;
}

/** Sum of elementwise products of two arrays of one size. */
function dot(a: dz.NDArray, b: dz.NDArray): number {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.raw[i] * b.raw[i];
  return s;
}

Deno.test("utils.getConvOutsize/getDeconvOutsize/pair follow DeZero's formulas", () => {
  assert.equal(utils.getConvOutsize(4, 3, 1, 1), 4);
  assert.equal(utils.getConvOutsize(5, 2, 2, 0), 2); // floor((5 - 2) / 2) + 1
  assert.equal(utils.getConvOutsize(7, 3, 2, 1), 4);
  assert.equal(utils.getConvOutsize(28, 2, 2, 0), 14);
  assert.equal(utils.getDeconvOutsize(4, 3, 1, 1), 4);
  assert.equal(utils.getDeconvOutsize(7, 4, 2, 1), 14); // 2 * 6 + 4 - 2
  assert.deepEqual(utils.pair(3), [3, 3]);
  assert.deepEqual(utils.pair([2, 1]), [2, 1]);
  assert.throws(() => utils.pair([1, 2, 3] as unknown as dz.utils.Pair), /pair: expected/);
});

Deno.test("im2col() lays out zero-padded patches as DeZero: matrix rows (n, oh, ow), else [N, C, KH, KW, OH, OW]", () => {
  const x = randn([2, 3, 5, 4]);
  const [KH, KW, SH, SW, PH, PW] = [3, 2, 2, 1, 1, 2];
  const OH = 3, OW = 7; // floor((5 + 2 - 3) / 2) + 1, floor((4 + 4 - 2) / 1) + 1
  const matrix: number[] = [], blocks = new Array(2 * 3 * KH * KW * OH * OW);
  for (let n = 0; n < 2; n++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        for (let c = 0; c < 3; c++) {
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const v = at(x, n, c, i * SH + kh - PH, j * SW + kw - PW);
              matrix.push(v);
              blocks[((((n * 3 + c) * KH + kh) * KW + kw) * OH + i) * OW + j] = v;
            }
          }
        }
      }
    }
  }
  const col = F.im2col(x, [KH, KW], [SH, SW], [PH, PW]);
  assert.deepEqual(col.shape, [2 * OH * OW, 3 * KH * KW]);
  assert.deepEqual(Array.from(col.data.data), matrix);
  const col6 = F.im2col(x, [KH, KW], [SH, SW], [PH, PW], false);
  assert.deepEqual(col6.shape, [2, 3, KH, KW, OH, OW]);
  assert.deepEqual(Array.from(col6.data.data), blocks);
});

Deno.test("col2im() is im2col's adjoint: <im2col(x), c> = <x, col2im(c)>; padding is dropped", () => {
  for (const toMatrix of [true, false]) {
    const x = randn([2, 2, 5, 6], "float64", 1);
    const args = [[3, 2], [2, 3], [1, 2]] as const;
    const col = F.im2col(x, ...args, toMatrix);
    const c = randn(col.shape, "float64", 2);
    const img = F.col2im(c, [2, 2, 5, 6], ...args, toMatrix);
    assert.deepEqual(img.shape, [2, 2, 5, 6]);
    assertAllClose(dot(col.data, c), dot(x, img.data), { rtol: 1e-12 });
  }
  // every pixel of a 3x3 image in 2x2 windows, stride 1: counted once per window holding it
  const counts = F.col2im(dz.ones([4, 4]), [1, 1, 3, 3], 2);
  assert.deepEqual(counts.data.toArray(), [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]);
});

Deno.test("im2col() and col2im() gradients are each other (numeric check, float64 and float32)", () => {
  const x = randn([1, 2, 4, 3], "float64", 3);
  const R = randn([10, 8], "float64", 4);
  assert.ok(utils.gradientCheck((v) => F.sum(F.mul(F.im2col(v, 2, [1, 2], 1), R)), x));
  const c = randn([10, 8], "float64", 5);
  const S = randn([1, 2, 4, 3], "float64", 6);
  assert.ok(
    utils.gradientCheck((v) => F.sum(F.mul(F.col2im(v, [1, 2, 4, 3], 2, [1, 2], 1), S)), c),
  );
  const x32 = new Variable(x.astype("float32"));
  F.sum(F.mul(F.im2col(x32, 2, [1, 2], 1), R.astype("float32"))).backward();
  const num = utils.numericalGrad((v) => F.sum(F.mul(F.im2col(v, 2, [1, 2], 1), R)), x);
  assertAllClose(x32.grad!, num, GRAD_TOL.float32);
});

for (const dtype of ["float64", "float32"] as const) {
  Deno.test(`conv2d() equals a nested-loop convolution (${dtype}, non-square kernel, stride and pad)`, () => {
    const x = randn([2, 3, 7, 6], dtype, 7);
    const W = randn([4, 3, 3, 2], dtype, 8);
    const b = randn([4], dtype, 9);
    for (const [s, p] of [[[1, 1], [0, 0]], [[2, 1], [1, 2]], [[3, 2], [2, 0]]]) {
      const y = F.conv2d(x, W, b, s as [number, number], p as [number, number]);
      const want = naiveConv(x, W, b, s, p);
      assertAllClose(y, want, dtype === "float64" ? { rtol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 });
      assert.equal(y.dtype, dtype);
    }
    const noBias = F.conv2d(x, W, null, 2, 1);
    assertAllClose(noBias, naiveConv(x, W, null, [2, 2], [1, 1]), { rtol: 1e-5, atol: 1e-5 });
  });
}

Deno.test("conv2d() gradients of x, W and b pass numeric checks (float64 tight, float32 loose)", () => {
  const x = randn([2, 2, 5, 4], "float64", 10);
  const W = randn([3, 2, 2, 3], "float64", 11);
  const b = randn([3], "float64", 12);
  const R = randn([2, 3, 3, 4], "float64", 13); // stride [2, 1], pad [1, 1]
  const loss = (x: V | dz.NDArray, W: V | dz.NDArray, b: V | dz.NDArray) =>
    F.sum(F.mul(F.conv2d(x, W, b, [2, 1], 1), R));
  assert.ok(utils.gradientCheck((v) => loss(v, W, b), x));
  assert.ok(utils.gradientCheck((v) => loss(x, v, b), W));
  assert.ok(utils.gradientCheck((v) => loss(x, W, v), b));
  const [x32, W32, b32] = [x, W, b].map((a) => new Variable(a.astype("float32")));
  loss(x32, W32, b32).backward();
  assertAllClose(x32.grad!, utils.numericalGrad((v) => loss(v, W, b), x), GRAD_TOL.float32);
  assertAllClose(W32.grad!, utils.numericalGrad((v) => loss(x, v, b), W), GRAD_TOL.float32);
  assertAllClose(b32.grad!, utils.numericalGrad((v) => loss(x, W, v), b), GRAD_TOL.float32);
});

Deno.test("deconv2d() equals nested loops spreading each pixel over its window, and outsize", () => {
  const x = randn([2, 3, 3, 4], "float64", 14);
  const W = randn([3, 2, 3, 2], "float64", 15); // [C, OC, KH, KW]
  const b = randn([2], "float64", 16);
  const [S, P] = [[2, 1], [1, 0]];
  const OH = 2 * 2 + 3 - 2, OW = 1 * 3 + 2 - 0; // getDeconvOutsize
  const want = new Array(2 * 2 * OH * OW).fill(0);
  for (let n = 0; n < 2; n++) {
    for (let o = 0; o < 2; o++) {
      for (let i = 0; i < OH * OW; i++) want[(n * 2 + o) * OH * OW + i] = b.raw[o];
      for (let c = 0; c < 3; c++) {
        for (let h = 0; h < 3; h++) {
          for (let w = 0; w < 4; w++) {
            for (let kh = 0; kh < 3; kh++) {
              for (let kw = 0; kw < 2; kw++) {
                const i = h * S[0] + kh - P[0], j = w * S[1] + kw - P[1];
                if (i < 0 || i >= OH || j < 0 || j >= OW) continue;
                want[((n * 2 + o) * OH + i) * OW + j] += at(x, n, c, h, w) *
                  W.raw[((c * 2 + o) * 3 + kh) * 2 + kw];
              }
            }
          }
        }
      }
    }
  }
  const y = F.deconv2d(x, W, b, S as [number, number], P as [number, number]);
  assert.deepEqual(y.shape, [2, 2, OH, OW]);
  assertAllClose(y, want, { rtol: 1e-12, atol: 1e-12 });
  // stride 2 leaves a choice of sizes: outsize picks one whose conv2d is 3x4 again
  assert.deepEqual(
    F.deconv2d(x, W, b, S as [number, number], P as [number, number], [6, 5]).shape,
    [
      2,
      2,
      6,
      5,
    ],
  );
});

Deno.test("deconv2d() is conv2d's adjoint, and its gradients pass numeric checks", () => {
  const x = randn([2, 2, 6, 5], "float64", 17);
  const W = randn([3, 2, 3, 3], "float64", 18);
  const y = F.conv2d(x, W, null, 2, 1);
  const g = randn(y.shape, "float64", 19);
  const back = F.deconv2d(g, W, null, 2, 1, [6, 5]);
  assertAllClose(dot(y.data, g), dot(x, back.data), { rtol: 1e-12 });

  const b = randn([2], "float64", 20);
  const R = randn([2, 2, 6, 5], "float64", 21);
  const loss = (g: V | dz.NDArray, W: V | dz.NDArray, b: V | dz.NDArray) =>
    F.sum(F.mul(F.deconv2d(g, W, b, 2, 1, [6, 5]), R));
  assert.ok(utils.gradientCheck((v) => loss(v, W, b), g));
  assert.ok(utils.gradientCheck((v) => loss(g, v, b), W));
  assert.ok(utils.gradientCheck((v) => loss(g, W, v), b));
});

/**
 * Checks the gradient of `f` at `x0` against numeric differences, where `f`
 * itself backpropagates (with createGraph): the inner backward's gradient
 * of x is cleared before the outer one.
 */
function checkSecondOrder(f: (x: V) => V, x0: dz.NDArray): void {
  const x = new Variable(x0);
  const out = f(x);
  x.cleargrad();
  out.backward();
  assertAllClose(x.grad!, utils.numericalGrad(f, x0), { rtol: 1e-6, atol: 1e-8 });
}

Deno.test("conv2d() second derivatives through Conv2DGradW pass numeric checks", () => {
  const x0 = randn([1, 2, 4, 4], "float64", 22);
  const W = new Variable(randn([2, 2, 3, 3], "float64", 23));
  const Q0 = randn([1, 2, 2, 2], "float64", 24); // conv2d output, stride 1, pad 0
  const R = randn([2, 2, 3, 3], "float64", 25);
  /** `sum(dL/dW * R)` for `L = sum(conv2d(x, W) * Q)`, as a function of x or Q. */
  const f = (x: V | dz.NDArray, Q: V | dz.NDArray) => {
    W.cleargrad();
    F.sum(F.mul(F.conv2d(x, W), Q)).backward({ createGraph: true });
    return F.sum(F.mul(W.grad!, R));
  };
  checkSecondOrder((v) => f(v, Q0), x0);
  checkSecondOrder((v) => f(x0, v), Q0);
  // and the same through deconv2d's kernel gradient
  const g = (x: V) => {
    W.cleargrad();
    F.sum(F.mul(F.deconv2d(x, W, null, 1, 1), Q0)).backward({ createGraph: true });
    return F.sum(F.mul(W.grad!, R));
  };
  checkSecondOrder(g, randn([1, 2, 2, 2], "float64", 26));
});

Deno.test("conv2d()/deconv2d()/im2col() errors name the function and the shapes", () => {
  const x = dz.ones([1, 2, 4, 4]);
  const W = dz.ones([3, 2, 3, 3]);
  assert.throws(
    () => F.conv2d(dz.ones([2, 4, 4]), W),
    /conv2d: input must be 4-D \[N, C, H, W\], got shape \[2,4,4\]/,
  );
  assert.throws(
    () => F.conv2d(x, dz.ones([3, 3, 3, 3])),
    /conv2d: x \[1,2,4,4\] has 2 channels but W \[3,3,3,3\] expects 3/,
  );
  assert.throws(
    () => F.conv2d(x, dz.ones([3, 2, 7, 3]), null, 1, 1),
    /conv2d: kernel 7x3 is larger than the padded input 6x6/,
  );
  assert.throws(
    () => F.conv2d(x, dz.ones([3, 2, 3])),
    /conv2d: W must be 4-D \[OC, C, KH, KW\], got shape \[3,2,3\]/,
  );
  assert.throws(() => F.conv2d(x, W, dz.ones([2])), /conv2d: b must have shape \[3\]/);
  assert.throws(() => F.conv2d(x, W, null, 0), /conv2d: stride must be integers >= 1, got 0/);
  assert.throws(() => F.conv2d(x, W, null, 1, [1, -1]), /conv2d: pad must be integers >= 0/);
  assert.throws(() => F.conv2d(x, W, null, 1.5), /conv2d: stride must be integers >= 1/);
  assert.throws(
    () => F.deconv2d(x, dz.ones([3, 2, 3, 3])),
    /deconv2d: x \[1,2,4,4\] has 2 channels but W \[3,2,3,3\] expects 3/,
  );
  assert.throws(
    () => F.deconv2d(x, dz.ones([2, 3, 3, 3]), null, 2, 0, [12, 9]),
    /deconv2d: an output of 12x9 does not fit input \[1,2,4,4\]/,
  );
  assert.throws(
    () => F.deconv2d(dz.ones([1, 2, 1, 1]), dz.ones([2, 3, 1, 1]), null, 1, 1),
    /deconv2d: input \[1,2,1,1\] gives an empty output -1x-1 \(kernel 1x1, stride 1,1, pad 1,1\)/,
  );
  assert.throws(() => F.im2col(x, 5), /im2col: kernel 5x5 is larger than the padded input 4x4/);
  assert.throws(
    () => F.col2im(dz.ones([4, 3]), [1, 1, 3, 3], 2),
    /col2im: patches of shape \[4,3\] do not fit image \[1,1,3,3\] \(expected \[4,4\]\)/,
  );
  assert.throws(
    () => F.col2im(dz.ones([4, 4]), [1, 3, 3] as number[], 2),
    /col2im: input must be 4-D/,
  );
});

Deno.test("Variable methods DeZero sets up: getItem, max, min, dot", () => {
  const x = new Variable(dz.array([[1, 5, 2], [7, 0, 3]]));
  assert.deepEqual(x.getItem(1).data.toArray(), [7, 0, 3]);
  assert.deepEqual(x.getItem([dz.slice(), 0]).data.toArray(), [1, 7]);
  assert.equal(x.max().data.item(), 7);
  assert.deepEqual(x.max(1).data.toArray(), [5, 7]);
  assert.deepEqual(x.min(0, true).data.toArray(), [[1, 0, 2]]);
  assert.deepEqual(x.dot(dz.array([[1], [1], [1]])).data.toArray(), [[8], [10]]);
  const y = new Variable(dz.array([[1.0, 4.0], [3.0, 2.0]], { dtype: "float64" }));
  F.sum(y.max(1)).backward();
  assert.deepEqual(y.grad!.data.toArray(), [[0, 1], [1, 0]]);
});
