/**
 * NDArray: an n-dimensional array of float32, float64 or int32 values in a
 * contiguous row-major typed array, with numpy-like methods. Every method
 * that computes runs a primitive through the dispatcher (core/dispatch.ts).
 * @module
 */
import { dispatch } from "../dispatch.ts";
import { tracer } from "../hooks.ts";
import type { ReductionOp } from "../registry.ts";
import { allocate } from "./alloc.ts";
import { checkDType, type DType, dtypeOf, scalarDType, type TypedArray } from "./dtype.ts";
import { formatArray, inspectAsString } from "./print.ts";
import {
  checkBroadcastTo,
  fmtShape,
  normalizeAxes,
  normalizeAxis,
  resolveAxes,
  resolveShape,
  type Shape,
  sizeOf,
  stridesOf,
} from "./shape_rules.ts";

/** A number or arbitrarily nested arrays of numbers (a numpy "array_like"). */
export type NestedArray = number | NestedArray[];

/** Anything `array()` accepts. */
export type ArrayLike = NDArray | NestedArray | TypedArray;

/** An NDArray or a number, as accepted by the arithmetic methods. */
export type Operand = NDArray | number;

/**
 * An n-dimensional array over a contiguous typed array (row-major).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const a = dz.array([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual([a.shape, a.dtype, a.size, a.ndim], [[2, 3], "int32", 6, 2]);
 * assert.equal(String(a.mul(2).sum(0)), "[10 14 18]");
 * const w = dz.zeros([2]);
 * w.isub(dz.array([0.5, 1])); // in place: DeZero's `w -= ...`
 * assert.equal(String(w), "[-0.5 -1. ]");
 * ```
 */
export class NDArray {
  /** The storage, read without the JIT's read guard (library internals). */
  raw: TypedArray;
  /** Length of each axis. */
  readonly shape: number[];
  /** Element type. */
  readonly dtype: DType;

  /** Wraps `data` (not copied) as an array of `shape` (default: 1-D). */
  constructor(data: TypedArray, shape: Shape = [data.length]) {
    if (sizeOf(shape) !== data.length) {
      throw new RangeError(
        `NDArray: ${data.length} elements cannot have shape ${fmtShape(shape)}`,
      );
    }
    this.raw = data;
    this.shape = [...shape];
    this.dtype = dtypeOf(data);
  }

  /** The elements as a typed array (row-major), shared, not copied. */
  get data(): TypedArray {
    if (tracer !== null) tracer.valueRead(this);
    return this.raw;
  }

  /** Number of elements. */
  get size(): number {
    return this.raw.length;
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Row-major strides in elements. */
  get strides(): number[] {
    return stridesOf(this.shape);
  }

  /** The values as nested JS arrays (a number for a 0-d array). */
  toArray(): NestedArray {
    const data = this.data;
    const build = (d: number, off: number): NestedArray => {
      if (d === this.ndim) return data[off];
      const stride = sizeOf(this.shape.slice(d + 1));
      return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** The single element of a size-1 array as a number. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item: can only convert an array of size 1, got shape ${fmtShape(this.shape)}`,
      );
    }
    return this.data[0];
  }

  /** numpy's `str()` of the array. */
  toString(): string {
    return formatArray(this.data, this.shape, this.dtype);
  }

  /** A copy with its own storage. */
  copy(): NDArray {
    return dispatch("copy", [this]);
  }

  /** A copy converted to `dtype` (float to int32 truncates toward zero). */
  astype(dtype: DType): NDArray {
    return dispatch("cast", [this], { dtype: checkDType(dtype, "astype") });
  }

  /** The same data viewed with a new shape (one axis may be -1). */
  reshape(...shape: (number | readonly number[])[]): NDArray {
    const target = shape.length === 1 && Array.isArray(shape[0])
      ? shape[0] as number[]
      : shape as number[];
    return dispatch("reshape", [this], {
      shape: resolveShape(this.shape, target, "reshape"),
    });
  }

  /** Axes permuted (reversed when none are given), as a new array. */
  transpose(...axes: (number | readonly number[])[]): NDArray {
    const list = axes.length === 1 && Array.isArray(axes[0])
      ? axes[0] as number[]
      : axes as number[];
    return dispatch("transpose", [this], {
      axes: resolveAxes(list, this.ndim, "transpose"),
    });
  }

  /** The transpose (axes reversed). */
  get T(): NDArray {
    return this.transpose();
  }

  /** `this + other`, broadcasting. */
  add(other: Operand): NDArray {
    return dispatch("add", [this, toOperand(other, this.dtype)]);
  }
  /** `this - other`, broadcasting. */
  sub(other: Operand): NDArray {
    return dispatch("sub", [this, toOperand(other, this.dtype)]);
  }
  /** `this * other`, broadcasting. */
  mul(other: Operand): NDArray {
    return dispatch("mul", [this, toOperand(other, this.dtype)]);
  }
  /** `this / other` (true division), broadcasting. */
  div(other: Operand): NDArray {
    return dispatch("div", [this, toOperand(other, this.dtype)]);
  }
  /** `this ** other`, broadcasting. */
  pow(other: Operand): NDArray {
    return dispatch("pow", [this, toOperand(other, this.dtype)]);
  }
  /** `-this`. */
  neg(): NDArray {
    return dispatch("neg", [this]);
  }
  /** `this += other` in place; returns this. */
  iadd(other: Operand): NDArray {
    return dispatch("add", [this, toOperand(other, this.dtype)], {}, this);
  }
  /** `this -= other` in place; returns this. */
  isub(other: Operand): NDArray {
    return dispatch("sub", [this, toOperand(other, this.dtype)], {}, this);
  }
  /** `this *= other` in place; returns this. */
  imul(other: Operand): NDArray {
    return dispatch("mul", [this, toOperand(other, this.dtype)], {}, this);
  }

  /** Sum over `axis` (all when null). */
  sum(axis: number | number[] | null = null, keepdims = false): NDArray {
    return reduce("sum", this, axis, keepdims);
  }
  /** Maximum over `axis` (all when null). */
  max(axis: number | number[] | null = null, keepdims = false): NDArray {
    return reduce("max", this, axis, keepdims);
  }
  /** Minimum over `axis` (all when null). */
  min(axis: number | number[] | null = null, keepdims = false): NDArray {
    return reduce("min", this, axis, keepdims);
  }
  /** Index of the maximum along `axis` (of the flattened array when null). */
  argmax(axis: number | null = null): NDArray {
    if (axis === null) return dispatch("argmax", [this.reshape(-1)], { axis: 0 });
    return dispatch("argmax", [this], {
      axis: normalizeAxis(axis, this.ndim, "argmax"),
    });
  }
  /** Matrix product (numpy's matmul). */
  matmul(other: NDArray): NDArray {
    return dispatch("matmul", [this, other]);
  }
}

inspectAsString(NDArray);

function reduce(
  op: ReductionOp,
  x: NDArray,
  axis: number | readonly number[] | null,
  keepdims: boolean,
): NDArray {
  return dispatch(op, [x], { axes: normalizeAxes(axis, x.ndim, op), keepdims });
}

/** A number as a 0-d array of the dtype it takes beside `like` (NEP 50). */
export function toOperand(x: Operand, like: DType): NDArray {
  if (x instanceof NDArray) return x;
  if (typeof x !== "number") {
    throw new TypeError(`expected an NDArray or a number, got ${typeof x}`);
  }
  return scalar(x, scalarDType(x, like));
}

/** A 0-d array holding `value`. */
export function scalar(value: number, dtype: DType = "float64"): NDArray {
  const data = allocate(dtype, 1);
  data[0] = value;
  return new NDArray(data, []);
}

/** Options of the array constructors. */
export interface ArrayOptions {
  /** Element type (default: inferred, or float64 for constructors). */
  dtype?: DType;
}

/**
 * An NDArray from nested arrays, a number, a typed array or an NDArray
 * (always copied). Integer-valued input becomes int32, otherwise float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(dz.array([[1, 2], [3, 4]]).dtype, "int32");
 * assert.equal(dz.array([1.5, 2]).dtype, "float64");
 * assert.equal(dz.array([1.0]).dtype, "int32"); // JS reads 1.0 as 1
 * assert.equal(dz.array([1.0], { dtype: "float32" }).dtype, "float32");
 * ```
 */
export function array(x: ArrayLike, options: ArrayOptions = {}): NDArray {
  if (x instanceof NDArray) {
    return options.dtype ? x.astype(options.dtype) : x.copy();
  }
  if (ArrayBuffer.isView(x)) {
    const src = x as TypedArray;
    const dtype = options.dtype ? checkDType(options.dtype, "array") : dtypeOf(src);
    const data = allocate(dtype, src.length);
    data.set(src);
    return new NDArray(data, [src.length]);
  }
  const shape: number[] = [];
  for (let v: NestedArray = x; Array.isArray(v); v = v[0]) shape.push(v.length);
  const flat: number[] = [];
  const walk = (v: NestedArray, d: number) => {
    if (d === shape.length) {
      if (typeof v !== "number") {
        throw new TypeError(
          `array: ragged or non-numeric nested sequence (${typeof v} at depth ${d})`,
        );
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new RangeError(
        `array: ragged nested sequence (expected length ${shape[d]} at depth ${d})`,
      );
    }
    for (const e of v) walk(e, d + 1);
  };
  walk(x, 0);
  const isInt = flat.every((v) => Number.isInteger(v) && Math.abs(v) <= 0x7fffffff);
  const dtype = options.dtype ? checkDType(options.dtype, "array") : isInt ? "int32" : "float64";
  const data = allocate(dtype, flat.length);
  data.set(flat);
  return new NDArray(data, shape);
}

/**
 * `x` as an NDArray (not copied when it already is one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const a = dz.array([1, 2]);
 * assert.equal(dz.asArray(a), a); // not copied
 * assert.equal(String(dz.asArray([[1, 2]])), "[[1 2]]");
 * ```
 */
export function asArray(x: ArrayLike, options: ArrayOptions = {}): NDArray {
  if (x instanceof NDArray && (!options.dtype || options.dtype === x.dtype)) {
    return x;
  }
  return array(x, options);
}

function checkShape(shape: Shape, op: string): number[] {
  const s = typeof shape === "number" ? [shape] : [...shape];
  for (const d of s) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid shape ${fmtShape(s)}`);
    }
  }
  return s;
}

/**
 * An array of `shape` filled with `value` (float64 unless `dtype`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.full([2], 7)), "[7. 7.]");
 * assert.equal(String(dz.full([2], 7, { dtype: "int32" })), "[7 7]");
 * ```
 */
export function full(
  shape: Shape | number,
  value: number,
  options: ArrayOptions = {},
): NDArray {
  const s = checkShape(shape as Shape, "full");
  const data = allocate(checkDType(options.dtype ?? "float64", "full"), sizeOf(s));
  data.fill(value);
  return new NDArray(data, s);
}

/**
 * An array of zeros (float64 unless `dtype`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.zeros([2, 2])), "[[0. 0.]\n [0. 0.]]");
 * assert.equal(dz.zeros(3, { dtype: "float32" }).dtype, "float32");
 * ```
 */
export function zeros(shape: Shape | number, options: ArrayOptions = {}): NDArray {
  return full(shape, 0, options);
}

/**
 * An array of ones (float64 unless `dtype`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.ones([3])), "[1. 1. 1.]");
 * ```
 */
export function ones(shape: Shape | number, options: ArrayOptions = {}): NDArray {
  return full(shape, 1, options);
}

/**
 * An array of zeros shaped and typed like `x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const z = dz.zerosLike(dz.array([[1, 2]]));
 * assert.deepEqual([z.shape, z.dtype, String(z)], [[1, 2], "int32", "[[0 0]]"]);
 * ```
 */
export function zerosLike(x: NDArray): NDArray {
  return zeros(x.shape, { dtype: x.dtype });
}

/**
 * An array of ones shaped and typed like `x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.onesLike(dz.array([0.5, 2]))), "[1. 1.]");
 * ```
 */
export function onesLike(x: NDArray): NDArray {
  return ones(x.shape, { dtype: x.dtype });
}

/**
 * `arange(stop)` or `arange(start, stop, step)`: evenly spaced values in
 * [start, stop); int32 when all arguments are integers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.arange(5)), "[0 1 2 3 4]");
 * assert.equal(String(dz.arange(1, 2, 0.25)), "[1.   1.25 1.5  1.75]");
 * ```
 */
export function arange(
  start: number,
  stop?: number,
  step = 1,
  options: ArrayOptions = {},
): NDArray {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("arange: step must not be zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const isInt = [start, stop, step].every(Number.isInteger);
  const data = allocate(options.dtype ?? (isInt ? "int32" : "float64"), n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new NDArray(data, [n]);
}

/** DeZero's `utils.sum_to` on arrays: sums `x` down to `shape`. */
export function sumToArray(x: NDArray, shape: Shape): NDArray {
  checkBroadcastTo(shape, x.shape, "sumTo");
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < x.ndim; d++) {
    if (d < lead || (shape[d - lead] === 1 && x.shape[d] !== 1)) axes.push(d);
  }
  const y = dispatch("sum", [x], { axes, keepdims: true });
  return dispatch("reshape", [y], { shape: [...shape] });
}
