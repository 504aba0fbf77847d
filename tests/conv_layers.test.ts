/**
 * Tests of L.Conv2d, L.Deconv2d and L.BatchNorm as parts of models: DeZero's
 * initialization and lazy input channels, parameters that exist from
 * construction and are not redrawn once they hold data, and weights (the
 * BatchNorm running statistics included) through safetensors and DeZero's
 * .npz, a numpy-written DeZero file among them.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as dz from "../mod.ts";
import data from "./fixtures/conv.json" with { type: "json" };
import { assertAllClose } from "./assert.ts";

const { F, L, Model, random } = dz;
type V = dz.Variable;

class Net extends Model {
  conv = new L.Conv2d(4, 3, { pad: 1 });
  bn = new L.BatchNorm();
  up = new L.Deconv2d(2, 2, { stride: 2 });
  forward(x: V): V {
    return this.up.apply(F.relu(this.bn.apply(this.conv.apply(x))));
  }
}

Deno.test("Conv2d/Deconv2d draw W as DeZero: randn(...).astype(dtype) * sqrt(1 / (C*KH*KW)), b zeros", () => {
  for (const dtype of ["float32", "float64"] as const) {
    random.seed(0);
    const conv = new L.Conv2d(4, [3, 2], { inChannels: 5, dtype });
    random.seed(0);
    const want = random.randn(4, 5, 3, 2).astype(dtype).mul(Math.sqrt(1 / 30));
    assert.equal(conv.W.dtype, dtype);
    assert.deepEqual(Array.from(conv.W.data.raw), Array.from(want.raw));
    assert.deepEqual(Array.from(conv.b!.data.raw), [0, 0, 0, 0]);
    random.seed(0);
    const up = new L.Deconv2d(4, 3, { inChannels: 5, dtype });
    random.seed(0);
    const wantUp = random.randn(5, 4, 3, 3).astype(dtype).mul(Math.sqrt(1 / 45));
    assert.deepEqual(Array.from(up.W.data.raw), Array.from(wantUp.raw));
  }
});

Deno.test("Conv2d/Deconv2d: lazy input channels, Parameters from construction, W not redrawn once set", () => {
  const conv = new L.Conv2d(3, 2, { stride: 2, nobias: true });
  assert.equal(conv.inChannels, null);
  assert.deepEqual([...conv.namedParams().keys()], ["W"]);
  assert.deepEqual(conv.W.shape, [3, 0, 2, 2]);
  const W = conv.W;
  random.seed(1);
  const x = random.randn(2, 5, 6, 6).astype("float32");
  const y = conv.apply(x);
  assert.equal(conv.W, W, "the same Parameter, now holding data");
  assert.equal(conv.inChannels, 5);
  assert.deepEqual(y.shape, [2, 3, 3, 3]);
  assertAllClose(y, F.conv2d(x, conv.W, null, 2), { rtol: 0 });
  const drawn = Array.from(conv.W.data.raw);
  conv.apply(x);
  assert.deepEqual(Array.from(conv.W.data.raw), drawn, "drawn once");

  const up = new L.Deconv2d(2, 3, { stride: 2, pad: 1 });
  assert.deepEqual(up.W.shape, [0, 2, 3, 3]);
  up.W.data = dz.ones([5, 2, 3, 3], { dtype: "float32" }); // set before the first call: kept
  const z = up.apply(x);
  assert.deepEqual(Array.from(up.W.data.raw), new Array(90).fill(1));
  assert.deepEqual(z.shape, [2, 2, 11, 11]); // 2 * 5 + 3 - 2
  assertAllClose(z, F.deconv2d(x, up.W, up.b, 2, 1), { rtol: 0 });
});

Deno.test("Conv2d/Deconv2d reject bad sizes, and a non-4-D first input", () => {
  assert.throws(() => new L.Conv2d(0, 3), /Conv2d: outChannels must be a positive integer, got 0/);
  assert.throws(
    () => new L.Conv2d(2, 3, { inChannels: 1.5 }),
    /Conv2d: inChannels must be a positive integer/,
  );
  assert.throws(() => new L.Deconv2d(2, [3, 0]), /Deconv2d: kernelSize must be integers >= 1/);
  assert.throws(() => new L.Conv2d(2, 3, { stride: 0 }), /Conv2d: stride must be integers >= 1/);
  assert.throws(
    () => new L.Conv2d(2, 3).apply(dz.ones([4, 4])),
    /Conv2d: input must be 4-D \[N, C, H, W\], got shape \[4,4\]/,
  );
});

for (const ext of ["safetensors", "npz"]) {
  Deno.test(`a CNN's weights, BatchNorm statistics included, round-trip through .${ext} into a lazy model`, async () => {
    random.seed(2);
    const net = new Net();
    const x = random.randn(3, 2, 5, 5).astype("float32");
    const opt = new dz.optimizers.SGD(0.1).setup(net);
    for (let i = 0; i < 2; i++) {
      const loss = F.sum(F.square(net.apply(x)));
      net.cleargrads();
      loss.backward();
      opt.update();
    }
    assert.deepEqual([...net.namedParams().keys()], [
      "conv.W",
      "conv.b",
      "bn.avg_mean",
      "bn.avg_var",
      "bn.gamma",
      "bn.beta",
      "up.W",
      "up.b",
    ]);
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, `net.${ext}`);
      await net.saveWeights(path);
      const copy = new Net(); // never called: every parameter still a placeholder
      await copy.loadWeights(path);
      for (const [name, p] of net.namedParams()) {
        const q = copy.namedParams().get(name)!;
        assert.deepEqual(q.shape, p.shape, name);
        assert.deepEqual(Array.from(q.data.raw), Array.from(p.data.raw), name);
      }
      const [a, b] = dz.testMode(() => [net.apply(x), copy.apply(x)]);
      assert.deepEqual(Array.from(b.data.raw), Array.from(a.data.raw));
      if (ext === "npz") {
        const { unzipSync } = await import("npm:fflate@0.8.3");
        const entries = Object.keys(unzipSync(await Deno.readFile(path)));
        assert.ok(entries.includes("bn/avg_mean.npy") && entries.includes("bn/avg_var.npy"));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a DeZero-style .npz written by numpy loads into Conv2d, BatchNorm and Deconv2d", async () => {
  const net = new Net();
  const path = fileURLToPath(new URL("./fixtures/conv_weights.npz", import.meta.url));
  await net.loadWeights(path);
  for (const [key, e] of Object.entries(data.weights)) {
    const p = net.namedParams().get(key.replace("/", "."))!;
    assert.deepEqual(p.shape, e.shape, key);
    assert.equal(p.dtype, "float32");
    assert.deepEqual(Array.from(p.data.raw), e.data, key);
  }
  assert.equal(net.conv.inChannels, 2);
});
