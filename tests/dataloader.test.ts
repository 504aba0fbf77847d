/**
 * Tests of DataLoader: each epoch's batches cover every example exactly
 * once, the partial last batch is kept, shuffling follows
 * `random.permutation` (numpy's, so seeded), `reset()`, stacking of
 * transformed examples; SeqDataLoader's parallel streams.
 * @module
 */
import assert from "node:assert/strict";
import * as dz from "../mod.ts";

const { DataLoader, SeqDataLoader, datasets, random } = dz;

/** 10 examples: x[i] = [i, 10 i], t[i] = i. */
function tens(options: dz.datasets.DatasetOptions = {}): dz.datasets.Dataset {
  const x = Array.from({ length: 10 }, (_, i) => [i, 10 * i]);
  return new datasets.Dataset(dz.array(x, { dtype: "float32" }), dz.arange(10), options);
}

Deno.test("DataLoader batches cover every example once per epoch and keep the partial last batch", () => {
  const loader = new DataLoader(tens(), 4);
  assert.equal(loader.maxIter, 3);
  assert.equal(loader.length, 3); // Python's len(loader): batches per epoch
  assert.equal(new DataLoader(tens(), 5).length, 2);
  assert.equal(new DataLoader(tens(), 11).length, 1);
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const [x, t] of loader) {
      assert.equal(x.dtype, "float32");
      assert.equal(t.dtype, "int32");
      assert.deepEqual(x.shape, [t.size, 2]);
      const xs = x.data, ts = t.data;
      for (let k = 0; k < t.size; k++) {
        assert.deepEqual([xs[2 * k], xs[2 * k + 1]], [ts[k], 10 * ts[k]], "x and t stay paired");
        seen.push(ts[k]);
      }
      sizes.push(t.size);
    }
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.deepEqual(seen.toSorted((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

Deno.test("DataLoader shuffles with random.permutation: numpy's order for the seed, new each epoch", () => {
  random.seed(0);
  const loader = new DataLoader(tens(), 10);
  const epochs = [0, 1].map(() => Array.from([...loader][0][1].data));
  // np.random.seed(0); np.random.permutation(10), then again
  assert.deepEqual(epochs[0], [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  assert.deepEqual(epochs[1], [3, 5, 1, 2, 9, 8, 0, 6, 7, 4]);
});

Deno.test("DataLoader without shuffle reads in order; reset() restarts an epoch", () => {
  const loader = new DataLoader(tens(), 3, false);
  const it = loader[Symbol.iterator]();
  assert.deepEqual(Array.from(it.next().value![1].data), [0, 1, 2]);
  assert.equal(loader.iteration, 1);
  loader.reset();
  const firsts = [...loader].map(([, t]) => t.data[0]);
  assert.deepEqual(firsts, [0, 3, 6, 9]);
  assert.equal(loader.iteration, 0, "a finished epoch resets");
});

Deno.test("DataLoader stacks transformed examples", () => {
  const loader = new DataLoader(tens({ transform: (x) => x.reshape(1, 2).mul(2) }), 5, false);
  const [x, t] = [...loader][1];
  assert.deepEqual(x.shape, [5, 1, 2]);
  assert.deepEqual((x.toArray() as number[][][])[0], [[10, 100]]);
  assert.deepEqual(Array.from(t.data), [5, 6, 7, 8, 9]);
  assert.throws(() => new DataLoader(tens(), 0), /batchSize must be a positive integer, got 0/);
});

Deno.test("SeqDataLoader: row b of batch t reads example (b * jump + t) % N, every epoch from t = 0", () => {
  const loader = new SeqDataLoader(tens(), 3); // N = 10, jump = 3
  assert.equal(loader.maxIter, 4);
  assert.ok(loader instanceof DataLoader);
  for (let epoch = 0; epoch < 2; epoch++) {
    const batches = [...loader].map(([x, t]) => {
      assert.deepEqual(x.shape, [3, 2]);
      assert.deepEqual(Array.from(x.data), Array.from(t.data).flatMap((k) => [k, 10 * k]));
      return Array.from(t.data);
    });
    // DeZero: batch_index = [(i * jump + iteration) % data_size for i in range(batch_size)]
    assert.deepEqual(batches, [[0, 3, 6], [1, 4, 7], [2, 5, 8], [3, 6, 9]]);
  }
});
