/**
 * Tests of VGG16 and ResNet50/101/152 against DeZero's `dezero/models.py`:
 * the parameter names and shapes each model must have, written out here
 * from DeZero's layer table (the kernels are given those shapes before the
 * first call, and a forward pass through the lazy layers must accept them:
 * a wrong input-channel count is a conv2d channel mismatch), the output
 * shape, `pretrained` weights round-tripping through a file this test
 * writes, a ResNet block saved by DeZero itself against DeZero's output
 * (tests/fixtures/make_resnet_block.py), and `VGG16.preprocess` against
 * hand-computed pixels. Inputs are
 * 32 x 32 (DeZero's 224 x 224 give fc6 25088 inputs instead of 512), and
 * the weights are a cheap deterministic pattern, so the file stays fast.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";
import { bytes, npy, withDir } from "./weights_files.ts";

const { ResNet101, ResNet152, ResNet50, VGG16, random } = dz;
const { zipSync } = await import("npm:fflate@0.8.3");

/** A float32 array of `shape` holding a fixed pattern of small values (cheaper than randn). */
function pattern(shape: number[], seed: number): dz.NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (((i + seed) * 2654435761) % 1000 - 500) * 2e-5;
  return new dz.NDArray(data, shape);
}

/** Gives each kernel its expected shape (a pattern), leaving biases and BatchNorm to the model. */
function presize(model: dz.Layer, expected: Map<string, number[]>): void {
  let seed = 0;
  for (const [name, p] of model.namedParams()) {
    const shape = expected.get(name);
    assert.ok(shape, `unexpected parameter ${name}`);
    if (name.endsWith(".W")) p.data = pattern(shape, seed++);
  }
}

/** DeZero's VGG16 parameters for [N, 3, 32, 32] input: conv1_1 ... conv5_3, fc6 ... fc8. */
function vggParams(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const stages = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
  let C = 3;
  stages.forEach(([oc, n], s) => {
    for (let i = 1; i <= n; i++) {
      out.set(`conv${s + 1}_${i}.W`, [oc, C, 3, 3]);
      out.set(`conv${s + 1}_${i}.b`, [oc]);
      C = oc;
    }
  });
  // five 2x2 poolings take 32 x 32 to 1 x 1 (224 x 224 to 7 x 7: fc6 [25088, 4096] in DeZero)
  for (const [name, i, o] of [["fc6", 512, 4096], ["fc7", 4096, 4096], ["fc8", 4096, 1000]]) {
    out.set(`${name}.W`, [i as number, o as number]);
    out.set(`${name}.b`, [o as number]);
  }
  return out;
}

/** DeZero's ResNet parameters for stages of `blocks` blocks. */
function resnetParams(blocks: number[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const bn = (name: string, C: number) => {
    for (const p of ["avg_mean", "avg_var", "gamma", "beta"]) out.set(`${name}.${p}`, [C]);
  };
  out.set("conv1.W", [64, 3, 7, 7]);
  out.set("conv1.b", [64]);
  bn("bn1", 64);
  const stages = [[64, 64, 256], [256, 128, 512], [512, 256, 1024], [1024, 512, 2048]];
  stages.forEach(([inC, mid, outC], s) => {
    const res = `res${s + 2}`;
    // BottleneckA: 1x1 (mid), 3x3 (mid), 1x1 (out), 1x1 projection of the input (out); no biases
    out.set(`${res}.a.conv1.W`, [mid, inC, 1, 1]);
    bn(`${res}.a.bn1`, mid);
    out.set(`${res}.a.conv2.W`, [mid, mid, 3, 3]);
    bn(`${res}.a.bn2`, mid);
    out.set(`${res}.a.conv3.W`, [outC, mid, 1, 1]);
    bn(`${res}.a.bn3`, outC);
    out.set(`${res}.a.conv4.W`, [outC, inC, 1, 1]);
    bn(`${res}.a.bn4`, outC);
    for (let b = 1; b < blocks[s]; b++) { // BottleneckB: out -> mid -> mid -> out
      out.set(`${res}.b${b}.conv1.W`, [mid, outC, 1, 1]);
      bn(`${res}.b${b}.bn1`, mid);
      out.set(`${res}.b${b}.conv2.W`, [mid, mid, 3, 3]);
      bn(`${res}.b${b}.bn2`, mid);
      out.set(`${res}.b${b}.conv3.W`, [outC, mid, 1, 1]);
      bn(`${res}.b${b}.bn3`, outC);
    }
  });
  out.set("fc6.W", [2048, 1000]);
  out.set("fc6.b", [1000]);
  return out;
}

/** Each parameter's shape, by name. */
function shapes(model: dz.Layer): Map<string, number[]> {
  return new Map([...model.namedParams()].map(([name, p]) => [name, p.shape]));
}

Deno.test("VGG16 has DeZero's parameters, runs a 32x32 image, and its weights load back through { pretrained }", async () => {
  const model = new VGG16();
  const expected = vggParams();
  assert.deepEqual([...model.namedParams().keys()].sort(), [...expected.keys()].sort());
  // before the first call: output channels and kernel sizes fixed, input channels lazy
  assert.deepEqual(model.conv3_2.W.shape, [256, 0, 3, 3]);
  assert.deepEqual(model.fc7.W.shape, [0, 4096]);
  presize(model, expected);
  random.seed(0);
  const x = random.rand(1, 3, 32, 32).astype("float32");
  const y = dz.testMode(() => dz.noGrad(() => model.apply(x)));
  assert.deepEqual(y.shape, [1, 1000]);
  assert.deepEqual(shapes(model), expected);

  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/vgg16.safetensors`;
    await model.saveWeights(path);
    const loaded = await VGG16.load({ pretrained: path });
    for (const [name, p] of loaded.namedParams()) {
      assert.deepEqual(p.data.data, model.namedParams().get(name)!.data.data, name);
    }
    const y2 = dz.testMode(() => dz.noGrad(() => loaded.apply(x)));
    assert.deepEqual(y2.data.data, y.data.data);
    // dropout is on outside testMode: a training call differs
    const train = dz.noGrad(() => loaded.apply(x));
    assert.notDeepEqual(train.data.data, y.data.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VGG16's forward pass (five stages of conv-relu and 2x2 max pooling, then fc6-fc8 with relu) gives the output worked out by hand", () => {
  // every convolution copies its input's channel 0 (the centre tap), so after the five stages
  // each of the 512 channels holds m = max over the image of relu(channel 0); fc6 averages them
  // and adds 1 (outputs 0-2047) or -10 (2048-4095): relu keeps m + 1 and 0; fc7 averages all
  // 4096: (m + 1) / 2; fc8 output j weighs that by j + 1: (m + 1)(j + 1) / 2
  const model = new VGG16();
  for (const [name, shape] of vggParams()) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 4) { for (let o = 0; o < shape[0]; o++) data[o * shape[1] * 9 + 4] = 1; }
    else if (name === "fc6.W") data.fill(1 / 512);
    else if (name === "fc6.b") data.fill(1, 0, 2048).fill(-10, 2048);
    else if (name === "fc7.W") data.fill(1 / 4096);
    else if (name === "fc8.W") data.forEach((_, i) => data[i] = (i % 1000 + 1) / 4096);
    model.namedParams().get(name)!.data = new dz.NDArray(data, shape);
  }
  random.seed(0);
  // image 0: channel 0 in [0, 1); image 1: channel 0 negative, which the relu makes 0
  const x = random.rand(2, 3, 32, 32).astype("float32");
  x.data.subarray(3 * 1024, 4 * 1024).forEach((v, i, a) => a[i] = -v - 0.1);
  const y = dz.testMode(() => dz.noGrad(() => model.apply(x)));
  assert.deepEqual(y.shape, [2, 1000]);
  const m0 = Math.max(...x.data.subarray(0, 1024));
  const want = [m0, 0].map((m) => Array.from({ length: 1000 }, (_, j) => (m + 1) * (j + 1) / 2));
  assertAllClose(y, want, { rtol: 1e-5 });
});

Deno.test("ResNet50 has DeZero's parameters (res2.a.conv1 ... res5.b2.bn3, BatchNorm inside) and runs a 32x32 image", () => {
  const model = new ResNet50();
  const expected = resnetParams([3, 4, 6, 3]);
  assert.deepEqual([...model.namedParams().keys()].sort(), [...expected.keys()].sort());
  assert.equal(model.res2.a.conv1.b, null, "the bottlenecks' convolutions have no bias");
  presize(model, expected);
  random.seed(0);
  const x = random.rand(2, 3, 32, 32).astype("float32");
  const y = dz.testMode(() => dz.noGrad(() => model.apply(x)));
  assert.deepEqual(y.shape, [2, 1000]);
  assert.deepEqual(shapes(model), expected);
  // BatchNorm sized itself: ones and zeros, as DeZero's
  assert.deepEqual([...model.res5.b2.bn3.avgVar.data.data].slice(0, 3), [1, 1, 1]);
});

Deno.test("a ResNet BuildingBlock saved by DeZero itself (numpy 2, float64) loads and gives DeZero's test-mode output", async () => {
  // tests/fixtures/make_resnet_block.py: DeZero's BuildingBlock(2, 4, 2, 8, 2) after a training call
  const dir = new URL("./fixtures/", import.meta.url);
  const ref = JSON.parse(await Deno.readTextFile(new URL("resnet_block.json", dir))) as {
    x: number[];
    y: number[];
    yShape: number[];
  };
  const block = new dz.BuildingBlock(2, 4, 2, 8, 2);
  await block.loadWeights(fileURLToPath(new URL("resnet_block.npz", dir)));
  assert.equal(block.namedParams().size, 35);
  assert.deepEqual(block.a.conv4.W.shape, [8, 4, 1, 1]);
  assert.equal(block.a.conv4.W.dtype, "float64"); // the file's dtype, as DeZero's param.data = npz[key]
  const x = dz.array(ref.x, { dtype: "float64" }).reshape(2, 4, 6, 6);
  const y = dz.testMode(() => dz.noGrad(() => block.apply(x)));
  assert.deepEqual(y.shape, ref.yShape);
  assertAllClose(y.data, ref.y, { rtol: 1e-12, atol: 1e-14 });
});

Deno.test("ResNet101 and ResNet152 have DeZero's blocks per stage", () => {
  for (const [Model, blocks] of [[ResNet101, [3, 4, 23, 3]], [ResNet152, [3, 8, 36, 3]]] as const) {
    const model = new Model();
    const expected = resnetParams([...blocks]);
    assert.deepEqual([...model.namedParams().keys()].sort(), [...expected.keys()].sort());
    for (const [name, p] of model.namedParams()) {
      const want = expected.get(name)!;
      // before the first call only the output channels and kernel sizes are fixed
      if (p.ndim === 4) {
        assert.deepEqual([p.shape[0], ...p.shape.slice(2)], [want[0], ...want.slice(2)]);
      }
    }
  }
});

/** The value a test `.npz` stores at index `i` of parameter number `k` (distinct, exact in float32). */
const stored = (k: number, i: number) => ((k * 7919 + i * 31) % 2048 - 1024) / 256;

/**
 * DeZero's `save_weights` output for a VGG16 (np.savez_compressed: DEFLATE
 * members `conv1_1/W.npy`, ...), built by hand, small: the lazily sized
 * axes (input channels, fc inputs) hold 1. Returns each parameter's shape.
 */
function smallVggNpz(): { zip: Uint8Array; want: Map<string, number[]> } {
  const want = new Map<string, number[]>();
  const files: Record<string, Uint8Array> = {};
  [...vggParams()].forEach(([name, shape], k) => {
    // the lazy axis: a convolution's input channels (axis 1), a Linear's inputs (axis 0)
    const lazy = !name.endsWith(".W") ? -1 : shape.length === 4 ? 1 : 0;
    const small = shape.map((d, a) => a === lazy ? 1 : d);
    const n = small.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => stored(k, i));
    files[`${name.replace(".", "/")}.npy`] = npy(
      "<f4",
      `(${small.join(", ")}${small.length === 1 ? "," : ""})`,
      bytes(data),
    );
    want.set(name, small);
  });
  return { zip: zipSync(files, { level: 6 }), want };
}

/** Runs `fn` as in a runtime without node built-ins (a browser): no `globalThis.process`. */
async function withoutProcess(fn: () => unknown): Promise<void> {
  const process = Object.getOwnPropertyDescriptor(globalThis, "process")!;
  Object.defineProperty(globalThis, "process", { value: undefined, configurable: true });
  try {
    await fn();
  } finally {
    Object.defineProperty(globalThis, "process", process);
  }
}

Deno.test("new VGG16({ pretrained }) reads DeZero's compressed .npz synchronously; VGG16.load reads it too", () =>
  withDir(async (dir) => {
    const { zip, want } = smallVggNpz();
    const path = `${dir}/vgg16.npz`;
    await Deno.writeFile(path, zip);
    assert.equal(new DataView(zip.buffer).getUint16(8, true), 8, "members are DEFLATE");
    const check = (model: dz.Layer) => {
      const params = [...model.namedParams()];
      assert.equal(params.length, want.size);
      params.forEach(([name, p], k) => {
        assert.deepEqual(p.shape, want.get(name), name);
        assert.equal(p.dtype, "float32");
        const data = p.data.data;
        for (let i = 0; i < data.length; i++) {
          if (data[i] !== stored(k, i)) {
            assert.fail(`${name}[${i}] is ${data[i]}, not ${stored(k, i)}`);
          }
        }
      });
    };
    check(new VGG16({ pretrained: path }));
    check(await VGG16.load({ pretrained: path }));
    // where no node:zlib exists (a browser), load inflates through fflate and the constructor points to it
    await withoutProcess(async () => {
      check(await VGG16.load({ pretrained: path }));
      assert.throws(() => new VGG16({ pretrained: path }), {
        message: "VGG16: this runtime cannot read weights synchronously (it needs " +
          "Deno.readFileSync and node:zlib): use `await VGG16.load({ pretrained: path })`",
      });
    });
  }));

Deno.test("new ResNet50({ pretrained }) loads once all its stages exist, and refuses a file missing them", () =>
  withDir(async (dir) => {
    const path = `${dir}/r.npz`;
    const conv1 = npy("<f4", "(64, 3, 7, 7)", bytes(new Float32Array(64 * 3 * 49)));
    await Deno.writeFile(path, zipSync({ "conv1/W.npy": conv1 }, { level: 6 }));
    assert.throws(() => new ResNet50({ pretrained: path }), (e: Error) => {
      assert.match(
        e.message,
        /^ResNet50: .*r\.npz does not match the model:\n {2}missing from the file: conv1\.b, bn1\./,
      );
      assert.match(e.message, /res5\.b2\.bn3\.beta, fc6\.W, fc6\.b$/);
      return true;
    });
  }));

Deno.test("the image models' constructors refuse a missing file, zip bombs and bad options clearly", () =>
  withDir(async (dir) => {
    assert.throws(() => new VGG16({ pretrained: `${dir}/gone.npz` }), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.match(e.message, /^VGG16: cannot read .*gone\.npz: /);
      return true;
    });
    assert.throws(() => new ResNet152({ pretrained: `${dir}/gone.safetensors` }), {
      message: /^ResNet152: cannot read .*gone\.safetensors/,
    });
    assert.throws(() => new VGG16({ pretrained: `${dir}/w.pt` }), {
      name: "TypeError",
      message: /^VGG16: .*w\.pt: unknown extension '\.pt'/,
    });
    // 32 MiB of zeros in about 32 kB for a lazy W: its declared size is refused before inflating
    const path = `${dir}/bomb.npz`;
    const zeros = new Uint8Array(32 * 2 ** 20);
    const bomb = zipSync({ "conv1_1/W.npy": npy("<f4", "(8192, 1024)", zeros) });
    assert.ok(bomb.length < 100_000);
    await Deno.writeFile(path, bomb);
    assert.throws(() => new VGG16({ pretrained: path }), {
      message:
        /^VGG16: .*bomb\.npz: entry 'conv1_1\/W\.npy' claims 33554560 bytes, more than parameter 'conv1_1\.W' can hold/,
    });
    // 4 MiB of zeros whose size fields claim what conv1_1.b [64] takes: inflation stops at that size
    const lying = zipSync({ "conv1_1/b.npy": npy("<f4", "(64,)", zeros.subarray(0, 4 * 2 ** 20)) });
    const view = new DataView(lying.buffer);
    for (let i = 0; i + 4 <= lying.length; i++) {
      if (view.getUint32(i, true) === 0x04034b50) view.setUint32(i + 22, 128 + 256, true);
      if (view.getUint32(i, true) === 0x02014b50) view.setUint32(i + 24, 128 + 256, true);
    }
    await Deno.writeFile(path, lying);
    assert.throws(() => new VGG16({ pretrained: path }), {
      message: /^VGG16: .*bomb\.npz: 'conv1_1\/b\.npy': inflates to more than 384 bytes$/,
    });
    assert.throws(() => new ResNet50({ pretraind: "r.npz" } as dz.PretrainedOptions), {
      message: /^ResNet50: /,
    });
    await assert.rejects(() => ResNet50.load({ pretrained: 3 as unknown as string }), {
      message: /^ResNet50.load: pretrained must be a non-empty string, got 3$/,
    });
    await assert.rejects(() => VGG16.load({ pretrained: "/nonexistent/vgg16.npz" }), {
      message: /^loadWeights: cannot read \/nonexistent\/vgg16\.npz/,
    });
  }));

Deno.test("VGG16.preprocess reverses RGB to BGR, subtracts DeZero's mean pixel and transposes to [3, H, W]", () => {
  // a 2 x 2 RGB image, pixel (h, w) = [r, g, b]
  const image = dz.array([[[255, 0, 10], [1, 2, 3]], [[100, 150, 200], [0, 0, 0]]]);
  const x = VGG16.preprocess(image);
  assert.equal(x.dtype, "float32");
  assert.deepEqual(x.shape, [3, 2, 2]);
  const [mb, mg, mr] = [103.939, 116.779, 123.68].map(Math.fround);
  const f = Math.fround;
  assert.deepEqual(Array.from(x.data), [
    f(10 - mb),
    f(3 - mb),
    f(200 - mb),
    f(0 - mb), // B
    f(0 - mg),
    f(2 - mg),
    f(150 - mg),
    f(0 - mg), // G
    f(255 - mr),
    f(1 - mr),
    f(100 - mr),
    f(0 - mr), // R
  ]);
  // float64: the mean pixel is not rounded to float32
  const x64 = VGG16.preprocess(image, [2, 2], "float64");
  assert.deepEqual([x64.dtype, x64.shape], ["float64", [3, 2, 2]]);
  assert.deepEqual(Array.from(x64.data).filter((_, i) => i % 4 === 2), [
    200 - 103.939,
    150 - 116.779,
    100 - 123.68,
  ]);
  assert.throws(() => VGG16.preprocess(image, [224, 224]), {
    message: /^VGG16.preprocess: size \[224,224\] differs from the image's \[W, H\] = \[2, 2\]/,
  });
  assert.throws(() => VGG16.preprocess(dz.zeros([3, 2, 2])), {
    message: "VGG16.preprocess: image must be an RGB array [H, W, 3], got shape [3,2,2]",
  });
});
