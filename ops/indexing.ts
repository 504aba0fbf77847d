/**
 * getItem: numpy basic and fancy indexing as a gather of flat source offsets,
 * with a scatter-add gradient (DeZero's GetItem / GetItemGrad), and embedId,
 * the rows of an embedding matrix.
 * @module
 */
import { allocate } from "../core/array/alloc.ts";
import { dispatch } from "../core/dispatch.ts";
import { Function } from "../core/autograd/function.ts";
import { fromValues, NDArray, type NestedArray, RAW, scalar } from "../core/array/ndarray.ts";
import { broadcastShapes, stridesOf } from "../core/array/shape_rules.ts";
import {
  asVariable,
  type Index,
  type IndexComponent,
  type Slice,
  Variable,
  type VariableLike,
} from "../core/autograd/variable.ts";
import { show } from "../core/validate.ts";

export type { Index, IndexComponent, Slice };

/**
 * `dz.slice(start, stop, step)`: the slice `start:stop:step`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F } = dz;
 * const x = dz.arange(10);
 * assert.equal(String(F.getItem(x, dz.slice(2, 8, 3))), "variable([2 5])"); // x[2:8:3]
 * assert.equal(String(F.getItem(x, dz.slice(null, null, -4))), "variable([9 5 1])"); // x[::-4]
 * ```
 */
export function slice(
  start: number | null = null,
  stop: number | null = null,
  step: number | null = null,
): Slice {
  return { start, stop, step };
}

/**
 * `x[index]`: a gather of precomputed flat offsets into `x`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const y = F.getItem(new Variable([[1, 2], [3, 4]]), 1);
 * assert.ok(y.creator instanceof F.GetItem);
 * assert.equal(String(y), "variable([3 4])");
 * ```
 */
export class GetItem extends Function {
  /**
   * A gather fixed by its offsets.
   * @param offsets float64 flat offsets into the input, one per output element
   * @param shape the output shape
   */
  constructor(readonly offsets: NDArray, readonly shape: number[]) {
    super();
  }
  /** The gathered elements. */
  forward(x: NDArray): NDArray {
    return dispatch("gather", [x, this.offsets], { shape: this.shape });
  }
  /** `gy` scattered back (added) to the input's shape. */
  backward(gy: Variable): Variable {
    return new GetItemGrad(this.offsets, this.inputs[0].shape).apply(gy);
  }
}

/**
 * getItem's gradient: zeros of the input's shape with `gy` added at the offsets.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, Variable } from "@dezero/dezero-ts";
 * const x = new Variable([[1, 2], [3, 4]]);
 * F.getItem(x, 1).backward({ createGraph: true });
 * assert.ok(x.grad!.creator instanceof F.GetItemGrad);
 * assert.equal(String(x.grad), "variable([[0 0]\n          [1 1]])");
 * ```
 */
export class GetItemGrad extends Function {
  /**
   * A scatter-add fixed by its offsets.
   * @param offsets the forward's flat offsets
   * @param shape the shape of getItem's input
   */
  constructor(readonly offsets: NDArray, readonly shape: number[]) {
    super();
  }
  /** The scatter-add (repeated offsets accumulate, as np.add.at). */
  forward(gy: NDArray): NDArray {
    return dispatch("scatterAdd", [gy, this.offsets], { shape: this.shape });
  }
  /** The same gather as the forward getItem. */
  backward(ggx: Variable): Variable {
    return new GetItem(this.offsets, this.inputs[0].shape).apply(ggx);
  }
}

/**
 * `x[index]` with numpy semantics: `getItem(x, [0, slice(1, 3)])` is
 * `x[0, 1:3]`, `getItem(x, [[0, 0, 1]])` is `x[[0, 0, 1]]`; several index
 * arrays broadcast together. Gradients of repeated elements accumulate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable([[1, 2, 3], [4, 5, 6]]);
 * assert.equal(String(F.getItem(x, 1)), "variable([4 5 6])"); // x[1]
 * assert.equal(String(F.getItem(x, [0, dz.slice(1, 3)])), "variable([2 3])"); // x[0, 1:3]
 * assert.equal(String(F.getItem(x, ["...", 0])), "variable([1 4])"); // x[..., 0]
 * const rows = F.getItem(x, [[0, 0, 1]]); // x[[0, 0, 1]]
 * assert.equal(String(rows), "variable([[1 2 3]\n          [1 2 3]\n          [4 5 6]])");
 * ```
 */
export function getItem(x: VariableLike, index: Index): Variable {
  return gather(x, index, "getItem");
}

/**
 * Rows of the embedding matrix `W` picked by the integer ids `x` (DeZero's
 * `embed_id`, `W[x]`): shape `[...x.shape, ...W.shape.slice(1)]`. The
 * gradient adds each output row back into the row it came from, so repeated
 * ids accumulate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, F, Variable } from "@dezero/dezero-ts";
 * const W = new Variable(array([[0, 0], [1, 1], [2, 2]], { dtype: "float64" }));
 * const y = F.embedId(array([[2, 0], [2, 1]]), W);
 * assert.deepEqual(y.data.toArray(), [[[2, 2], [0, 0]], [[2, 2], [1, 1]]]);
 * F.sum(y).backward();
 * assert.deepEqual(W.grad!.data.toArray(), [[1, 1], [1, 1], [2, 2]]); // id 2 twice
 * ```
 */
export function embedId(x: NDArray | Variable | number | NestedArray[], W: VariableLike): Variable {
  const ids = x instanceof Variable
    ? x.data
    : typeof x === "number" || x instanceof NDArray
    ? x
    : fromValues(x, undefined, "embedId");
  if (typeof ids !== "number" && ids.dtype !== "int32") {
    throw new TypeError(`embedId: ids must be int32, got ${ids.dtype}`);
  }
  const w = asVariable(W, "embedId");
  if (w.ndim === 0) throw new RangeError("embedId: W must have at least one axis, got a 0-d array");
  return gather(w, [ids], "embedId");
}

/** `x[index]` as a GetItem; errors name `op`. */
function gather(x: VariableLike, index: Index, op: string): Variable {
  const v = asVariable(x, op);
  const { offsets, shape } = indexOffsets(v.shape, index, op);
  return new GetItem(offsets, shape).apply(v);
}

/** An output axis from a slice or new axis: offsets `first + i * step`, i < len. */
interface BasicAxis {
  len: number;
  first: number;
  step: number;
}

/** An index array along an input axis of `size` elements `stride` apart. */
interface FancyAxis {
  idx: NDArray;
  size: number;
  stride: number;
}

/** Resolves `index` against `xShape`: the output shape and its flat source offsets. */
function indexOffsets(
  xShape: number[],
  index: Index,
  op: string,
): { offsets: NDArray; shape: number[] } {
  const items: readonly IndexComponent[] = Array.isArray(index) ? index : [index as IndexComponent];
  const ndim = xShape.length, strides = stridesOf(xShape);
  let consumed = 0, ellipses = 0, hasFancy = false;
  for (const c of items) {
    if (c === "...") ellipses++;
    else if (c !== null) consumed++;
    if (isArrayIndex(c)) hasFancy = true;
  }
  if (ellipses > 1) {
    throw new RangeError(`${op}: an index can only have a single ellipsis ('...')`);
  }
  if (consumed > ndim) {
    throw new RangeError(
      `${op}: too many indices for array: array is ${ndim}-dimensional, but ${consumed} were indexed`,
    );
  }
  const basic: BasicAxis[] = [];
  const fancy: FancyAxis[] = [];
  const full = (d: number) => basic.push({ len: xShape[d], first: 0, step: strides[d] });
  let base = 0, d = 0, fancyAt = -1, firstAdv = -1, lastAdv = -1, advCount = 0;
  items.forEach((c, k) => {
    const advanced = isArrayIndex(c) || (hasFancy && typeof c === "number");
    if (advanced) {
      if (fancyAt < 0) fancyAt = basic.length;
      if (firstAdv < 0) firstAdv = k;
      lastAdv = k;
      advCount++;
    }
    if (c === "...") {
      for (let n = ndim - consumed; n > 0; n--) full(d++);
    } else if (c === null) {
      basic.push({ len: 1, first: 0, step: 0 });
    } else if (typeof c === "number") {
      base += checkIndex(c, xShape[d], d, op) * strides[d];
      d++;
    } else if (isArrayIndex(c)) {
      fancy.push({ idx: indexArray(c, xShape[d], d, op), size: xShape[d], stride: strides[d] });
      d++;
    } else if (isSlice(c)) {
      const [start, step, len] = sliceRange(c, xShape[d], op);
      basic.push({ len, first: start * strides[d], step: step * strides[d] });
      d++;
    } else {
      throw new TypeError(
        `${op}: indices must be integers, slices, '...', null or integer arrays, got ${show(c)}`,
      );
    }
  });
  while (d < ndim) full(d++);
  // numpy: index arrays separated by a slice, '...' or null put their axes first
  if (lastAdv - firstAdv + 1 !== advCount) fancyAt = 0;
  const fancyShape = fancy.reduce<number[]>(
    (s, f) => broadcastShapes(s, f.idx.shape, op),
    [],
  );
  const shape = basic.map((b) => b.len);
  if (hasFancy) shape.splice(fancyAt, 0, ...fancyShape);
  for (const b of basic) if (b.len === 1) base += b.first;
  // offsets = base + each basic axis's progression + each index array's offsets
  let offsets: NDArray | null = base === 0 ? null : scalar(base, "float64");
  const plus = (o: NDArray) => (offsets = offsets === null ? o : dispatch("add", [offsets, o]));
  basic.forEach((b, i) => {
    if (b.len === 1) return;
    const p = hasFancy && i >= fancyAt ? i + fancyShape.length : i;
    plus(progression(b, axisShape(shape.length, p, [b.len])));
  });
  for (const f of fancy) {
    const lead = new Array<number>(fancyShape.length - f.idx.ndim).fill(1);
    const idx = dispatch("reshape", [f.idx], {
      shape: axisShape(shape.length, fancyAt, [...lead, ...f.idx.shape]),
    });
    plus(dispatch("indexOffset", [idx], { p0: f.size, p1: f.stride }));
  }
  return { offsets: offsets ?? scalar(0, "float64"), shape };
}

/** True for the components that index with an array (fancy indexing). */
function isArrayIndex(c: unknown): c is NDArray | Variable | NestedArray[] {
  return Array.isArray(c) || c instanceof NDArray || c instanceof Variable;
}

/** Whether `c` is a slice: an object with no keys but `start`, `stop` and `step` (as `slice()` makes). */
function isSlice(c: unknown): c is Partial<Slice> {
  return typeof c === "object" && c !== null && Object.getPrototypeOf(c) === Object.prototype &&
    Object.keys(c).every((k) => k === "start" || k === "stop" || k === "step");
}

/** Validates an integer index along `axis` of `size`; returns it wrapped to [0, size). */
function checkIndex(i: number, size: number, axis: number, op: string): number {
  if (!Number.isInteger(i)) {
    throw new TypeError(`${op}: indices must be integers, got ${show(i)} for axis ${axis}`);
  }
  if (i < -size || i >= size) {
    throw new RangeError(`${op}: index ${i} is out of bounds for axis ${axis} with size ${size}`);
  }
  return i < 0 ? i + size : i;
}

/** An index array as an int32 NDArray whose entries are checked against `size`. */
function indexArray(
  c: NDArray | Variable | NestedArray[],
  size: number,
  axis: number,
  op: string,
): NDArray {
  const a = c instanceof Variable
    ? c.data
    : c instanceof NDArray
    ? c
    : fromValues(c, undefined, op);
  if (a.dtype !== "int32") {
    throw new TypeError(
      `${op}: arrays used as indices must be of integer type, got ${a.dtype} for axis ${axis}`,
    );
  }
  const raw = a[RAW];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] < -size || raw[i] >= size) {
      throw new RangeError(
        `${op}: index ${raw[i]} is out of bounds for axis ${axis} with size ${size}`,
      );
    }
  }
  return a;
}

/** Python's slice.indices(len): `[start, step, length]`, bounds clamped. */
function sliceRange(s: Partial<Slice>, len: number, op: string): [number, number, number] {
  const step = s.step ?? 1;
  for (const v of [s.start, s.stop, s.step]) {
    if (v !== null && v !== undefined && !Number.isInteger(v)) {
      throw new TypeError(`${op}: slice indices must be integers or null, got ${show(v)}`);
    }
  }
  if (step === 0) throw new RangeError(`${op}: slice step cannot be zero`);
  const lower = step > 0 ? 0 : -1, upper = step > 0 ? len : len - 1;
  const clamp = (v: number | null | undefined, dflt: number) => {
    if (v === null || v === undefined) return dflt;
    const w = v < 0 ? v + len : v;
    return w < lower ? lower : w > upper ? upper : w;
  };
  const start = clamp(s.start, step > 0 ? lower : upper);
  const stop = clamp(s.stop, step > 0 ? upper : lower);
  const n = step > 0 ? Math.ceil((stop - start) / step) : Math.ceil((start - stop) / -step);
  return [start, step, Math.max(0, n)];
}

/** `[1, ..., 1, ...dims, 1, ..., 1]` of rank `rank` with `dims` starting at axis `at`. */
function axisShape(rank: number, at: number, dims: number[]): number[] {
  const s: number[] = [];
  for (let d = 0; d < rank; d++) s.push(d >= at && d < at + dims.length ? dims[d - at] : 1);
  return s;
}

/** The offsets `first + i * step` of a basic axis, shaped `shape`. */
function progression(b: BasicAxis, shape: number[]): NDArray {
  const data = allocate("float64", b.len);
  for (let i = 0; i < b.len; i++) data[i] = b.first + i * b.step;
  return new NDArray(data, shape);
}
