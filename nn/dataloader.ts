/**
 * DataLoader and SeqDataLoader: mini-batches of a Dataset, DeZero's
 * `dataloaders`.
 * @module
 */
import { allocate } from "../core/array/alloc.ts";
import { arange, NDArray, RAW } from "../core/array/ndarray.ts";
import { inspectAsString } from "../core/array/print.ts";
import { permutation } from "../core/array/random.ts";
import { fmtShape, sameShape } from "../core/array/shape_rules.ts";
import { checkBool, checkInt, show } from "../core/validate.ts";
import type { Dataset } from "./datasets.ts";

/**
 * Iterates over a dataset in mini-batches `[x, t]` (the examples and labels
 * stacked along a new first axis). One `for..of` loop is one epoch; the
 * last batch is smaller when the size does not divide evenly. The order is
 * reshuffled (`random.permutation`, so seeded by `random.seed`) when the
 * loader is made and after each full epoch, as DeZero does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataLoader, datasets } from "@dezero/dezero-ts";
 * const loader = new DataLoader(new datasets.Spiral(), 30);
 * assert.equal(loader.length, 10); // batches per epoch
 * for (const [x, t] of loader) {
 *   assert.deepEqual([x.shape, t.shape], [[30, 2], [30]]);
 * }
 * ```
 */
export class DataLoader implements Iterable<[NDArray, NDArray]> {
  /** Number of batches per epoch. */
  readonly maxIter: number;
  /** Index of the next batch in this epoch. */
  iteration = 0;
  /** The order of the examples in this epoch. */
  index: NDArray;

  /**
   * A loader of `dataset` in batches of `batchSize`.
   * @param dataset the examples
   * @param batchSize examples per batch
   * @param shuffle reshuffle every epoch (default true)
   */
  constructor(readonly dataset: Dataset, readonly batchSize: number, readonly shuffle = true) {
    const op = new.target.name, d = dataset as Partial<Dataset> | null;
    if (typeof d?.get !== "function" || !Number.isInteger(d.length) || d.length! < 0) {
      throw new TypeError(
        `${op}: dataset must be a Dataset (a length and get(i)), got ${show(dataset)}`,
      );
    }
    checkInt(batchSize, op, "batchSize", 1);
    checkBool(shuffle, op, "shuffle");
    this.maxIter = Math.ceil(dataset.length / batchSize);
    this.index = this.#order();
  }

  /** Number of batches per epoch (`maxIter`; Python's `len(loader)`). */
  get length(): number {
    return this.maxIter;
  }

  #order(): NDArray {
    return this.shuffle ? permutation(this.dataset.length) : arange(this.dataset.length);
  }

  /** Starts a new epoch: batch 0, and a fresh order when shuffling. */
  reset(): void {
    this.iteration = 0;
    this.index = this.#order();
  }

  /**
   * The dataset and the batching, as `console.log` shows it:
   * `DataLoader(Spiral(...), batchSize: 30, shuffle: true, 10 batches per epoch)`.
   */
  toString(): string {
    return `${this.constructor.name}(${this.dataset}, batchSize: ${this.batchSize}, shuffle: ${this.shuffle}, ${this.maxIter} batches per epoch)`;
  }

  /** The remaining batches of this epoch; then `reset()`. */
  *[Symbol.iterator](): Generator<[NDArray, NDArray]> {
    while (this.iteration < this.maxIter) {
      const examples = Array.from(
        this.batchIndex(this.iteration++),
        (k) => example(this.dataset, k),
      );
      yield [stack(examples.map((e) => e[0])), stack(examples.map((e) => e[1]))];
    }
    this.reset();
  }

  /** The dataset indices of batch `i` of the epoch. */
  protected batchIndex(i: number): ArrayLike<number> {
    return this.index[RAW].subarray(i * this.batchSize, (i + 1) * this.batchSize);
  }
}

/**
 * Batches of parallel sequences for recurrent models (DeZero's
 * `SeqDataLoader`): the dataset is cut into `batchSize` streams `jump =
 * floor(N / batchSize)` examples apart, and batch `t` of an epoch holds
 * example `(b * jump + t) % N` in row `b`, so each row continues the
 * previous batch's row in time. Never shuffled; `maxIter` is
 * `ceil(N / batchSize)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasets, SeqDataLoader } from "@dezero/dezero-ts";
 * const loader = new SeqDataLoader(new datasets.SinCurve(), 30); // 999 examples, jump 33
 * assert.equal(loader.length, 34);
 * const [[x, t]] = loader; // the first batch
 * assert.deepEqual([x.shape, t.shape], [[30, 1], [30, 1]]);
 * assert.equal(x.data[1], loader.dataset.get(33)[0].data[0]); // row 1: 33 examples on
 * ```
 */
export class SeqDataLoader extends DataLoader {
  /**
   * A loader of `dataset` as `batchSize` parallel sequences.
   * @param dataset the examples, in time order
   * @param batchSize sequences per batch
   */
  constructor(dataset: Dataset, batchSize: number) {
    super(dataset, batchSize, false);
  }

  /** Row `b` of batch `i` reads example `(b * jump + i) % N`. */
  protected override batchIndex(i: number): ArrayLike<number> {
    const n = this.dataset.length, jump = Math.floor(n / this.batchSize);
    return Array.from({ length: this.batchSize }, (_, b) => (b * jump + i) % n);
  }
}

inspectAsString(DataLoader);

/** Example `k` of `dataset`, checked to be a pair of NDArrays. */
function example(dataset: Dataset, k: number): [NDArray, NDArray] {
  const e = dataset.get(k);
  if (!Array.isArray(e) || e.length !== 2 || !e.every((x) => x instanceof NDArray)) {
    throw new TypeError(
      `DataLoader: dataset.get(${k}) must return [x, t], two NDArrays, got ${show(e)}`,
    );
  }
  return e as [NDArray, NDArray];
}

/** Arrays of one shape and dtype stacked along a new first axis. */
function stack(xs: NDArray[]): NDArray {
  const [first] = xs;
  const out = allocate(first.dtype, xs.length * first.size);
  xs.forEach((x, k) => {
    if (x.dtype !== first.dtype || !sameShape(x.shape, first.shape)) {
      throw new TypeError(
        `DataLoader: examples differ: ${fmtShape(first.shape)} ${first.dtype} and ${
          fmtShape(x.shape)
        } ${x.dtype}`,
      );
    }
    out.set(x[RAW], k * first.size);
  });
  return new NDArray(out, [xs.length, ...first.shape]);
}
