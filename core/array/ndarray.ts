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
import {
  checkDType,
  type DType,
  dtypeOf,
  INT32_MAX,
  INT32_MIN,
  scalarDType,
  type TypedArray,
} from "./dtype.ts";
import { formatArray, inspectAsString } from "./print.ts";
import { checkBool, checkFinite, checkNumber, checkOptions, show } from "../validate.ts";
import {
  checkBroadcastTo,
  checkShape,
  fmtShape,
  MAX_NDIM,
  normalizeAxes,
  normalizeAxis,
  resolveAxes,
  resolveShape,
  type Shape,
  sizeOf,
  stridesOf,
} from "./shape_rules.ts";

/**
 * The key of an NDArray's storage for the library's kernels (reads through
 * it are not value reads a jitted function makes on the JS side).
 */
export const RAW: unique symbol = Symbol("NDArray storage");

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
  /**
   * The storage, for the library's own kernels: read without the JIT's read
   * guard, so user code reads `data` (or `raw`) instead.
   */
  [RAW]: TypedArray;
  /** Length of each axis. */
  readonly shape: number[];
  /** Element type. */
  readonly dtype: DType;

  /**
   * Wraps `data` (not copied) as an array of `shape` (default: 1-D); a
   * `dtype`, when given, must be the data's.
   */
  constructor(data: TypedArray, shape?: Shape, dtype?: DType) {
    // inline for the common types: every op result passes here
    this.dtype = data instanceof Float32Array
      ? "float32"
      : data instanceof Float64Array
      ? "float64"
      : data instanceof Int32Array
      ? "int32"
      : dtypeOf(data, "NDArray");
    if (dtype !== undefined && dtype !== this.dtype) {
      throw new TypeError(
        `NDArray: dtype ${show(dtype)} contradicts the data, a ${this.dtype} array (use astype)`,
      );
    }
    if (shape === undefined) shape = [data.length];
    // the common case checked inline (every op result passes here): plain
    // non-negative integers, as code generators print them
    let n = 1, ok = Array.isArray(shape);
    for (let i = 0; ok && i < shape.length; i++) {
      const d = shape[i];
      if (typeof d !== "number" || (d | 0) !== d || d < 0) ok = false;
      else n *= d;
    }
    if (!ok) checkShape(shape, "NDArray");
    if (n !== data.length) {
      throw new RangeError(
        `NDArray: ${data.length} elements cannot have shape ${fmtShape(shape)}`,
      );
    }
    this[RAW] = data;
    this.shape = [...shape];
  }

  /** The elements as a typed array (row-major), shared, not copied. */
  get data(): TypedArray {
    if (tracer !== null) tracer.valueRead(this);
    return this[RAW];
  }

  /** The same as `data` (the storage, shared): a read the JIT notices as `data`'s. */
  get raw(): TypedArray {
    if (tracer !== null) tracer.valueRead(this);
    return this[RAW];
  }

  /** Number of elements. */
  get size(): number {
    return this[RAW].length;
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
    return dispatch("add", [this, toOperand(other, this.dtype, "add")]);
  }
  /** `this - other`, broadcasting. */
  sub(other: Operand): NDArray {
    return dispatch("sub", [this, toOperand(other, this.dtype, "sub")]);
  }
  /** `this * other`, broadcasting. */
  mul(other: Operand): NDArray {
    return dispatch("mul", [this, toOperand(other, this.dtype, "mul")]);
  }
  /** `this / other` (true division), broadcasting. */
  div(other: Operand): NDArray {
    return dispatch("div", [this, toOperand(other, this.dtype, "div")]);
  }
  /** `this ** other`, broadcasting. */
  pow(other: Operand): NDArray {
    return dispatch("pow", [this, toOperand(other, this.dtype, "pow")]);
  }
  /** `-this`. */
  neg(): NDArray {
    return dispatch("neg", [this]);
  }
  /** `this += other` in place; returns this. */
  iadd(other: Operand): NDArray {
    return dispatch("add", [this, toOperand(other, this.dtype, "iadd")], {}, this);
  }
  /** `this -= other` in place; returns this. */
  isub(other: Operand): NDArray {
    return dispatch("sub", [this, toOperand(other, this.dtype, "isub")], {}, this);
  }
  /** `this *= other` in place; returns this. */
  imul(other: Operand): NDArray {
    return dispatch("mul", [this, toOperand(other, this.dtype, "imul")], {}, this);
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
    if (!(other instanceof NDArray)) {
      throw new TypeError(`matmul: expected an NDArray, got ${show(other)}`);
    }
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
  const axes = normalizeAxes(axis, x.ndim, op);
  return dispatch(op, [x], { axes, keepdims: checkBool(keepdims, op, "keepdims") });
}

/** A number as a 0-d array of the dtype it takes beside `like` (NEP 50); `op` names the caller. */
export function toOperand(x: Operand, like: DType, op: string): NDArray {
  if (x instanceof NDArray) return x;
  if (typeof x !== "number") {
    throw new TypeError(`${op}: expected an NDArray or a number, got ${show(x)}`);
  }
  return scalar(x, scalarDType(x, like, op));
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

/** The checked `dtype` of constructor options (`fallback` when absent). */
function optionDType(options: ArrayOptions | undefined, op: string, fallback?: DType) {
  const { dtype } = checkOptions(options, op, ["dtype"]);
  return dtype === undefined ? fallback : checkDType(dtype, op);
}

/**
 * An NDArray from nested arrays, a number, a typed array or an NDArray
 * (always copied). Integer-valued input becomes int32, otherwise float64.
 * Numbers given for an int32 array must be finite and inside int32's range
 * (fractions truncate), as numpy's `np.array(..., dtype=np.int32)`.
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
export function array(x: ArrayLike, options?: ArrayOptions): NDArray {
  return fromValues(x, optionDType(options, "array"), "array");
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
export function asArray(x: ArrayLike, options?: ArrayOptions): NDArray {
  const dtype = optionDType(options, "asArray");
  if (x instanceof NDArray && (dtype === undefined || dtype === x.dtype)) return x;
  return fromValues(x, dtype, "asArray");
}

/**
 * `x` (an NDArray, typed array, number or nested arrays) copied into a new
 * NDArray of `dtype` (inferred when undefined); errors name `op`.
 */
export function fromValues(x: unknown, dtype: DType | undefined, op: string): NDArray {
  if (x instanceof NDArray) return dtype ? x.astype(dtype) : x.copy();
  if (ArrayBuffer.isView(x)) {
    const kind = STORAGE.get(x.constructor);
    if (kind === undefined) {
      throw new TypeError(`${op}: cannot make an array from ${show(x)}`);
    }
    const src = x as unknown as TypedArray;
    const own = allocate(kind, src.length);
    own.set(src);
    if (kind === "int32" && !(x instanceof Int32Array) && own.some((v, i) => v !== src[i])) {
      throw new RangeError(`${op}: values of ${show(x)} are out of bounds for int32`);
    }
    const a = new NDArray(own, [src.length]);
    return dtype && dtype !== kind ? a.astype(dtype) : a;
  }
  const shape: number[] = [];
  for (let v: unknown = x; Array.isArray(v); v = v[0]) {
    if (shape.length === MAX_NDIM) {
      throw new RangeError(`${op}: nested more than ${MAX_NDIM} levels deep`);
    }
    shape.push(v.length);
  }
  const flat: number[] = [];
  const walk = (v: unknown, d: number) => {
    if (d === shape.length) {
      if (typeof v !== "number") {
        throw new TypeError(
          `${op}: expected numbers or nested arrays of numbers, got ${show(v)}${
            d ? ` at depth ${d}` : ""
          }`,
        );
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new RangeError(
        `${op}: ragged nested sequence (expected length ${shape[d]} at depth ${d}, got ${show(v)})`,
      );
    }
    for (const e of v) walk(e, d + 1);
  };
  walk(x, 0);
  const isInt = (v: number) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
  const kind = dtype ?? (flat.every(isInt) ? "int32" : "float64");
  if (kind === "int32") {
    const bad = flat.find((v) => !isInt(Math.trunc(v)));
    if (bad !== undefined) {
      throw new RangeError(`${op}: ${show(bad)} cannot be stored as int32 (outside its range)`);
    }
  }
  const data = allocate(kind, flat.length);
  data.set(flat);
  return new NDArray(data, checkShape(shape, op));
}

/** The dtype each accepted typed array converts to (integer arrays narrower than 32 bits, and Uint32 when it fits: int32). */
const STORAGE = new Map<unknown, DType>([
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int32Array, "int32"],
  [Int16Array, "int32"],
  [Int8Array, "int32"],
  [Uint8Array, "int32"],
  [Uint8ClampedArray, "int32"],
  [Uint16Array, "int32"],
  [Uint32Array, "int32"],
]);

/**
 * An array of `shape` filled with `value` (float64 unless `dtype`; for
 * int32, `value` converts as `astype` does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * assert.equal(String(dz.full([2], 7)), "[7. 7.]");
 * assert.equal(String(dz.full([2], 7, { dtype: "int32" })), "[7 7]");
 * ```
 */
export function full(shape: Shape | number, value: number, options?: ArrayOptions): NDArray {
  return filled(shape, checkNumber(value, "full", "fill value"), options, "full");
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
export function zeros(shape: Shape | number, options?: ArrayOptions): NDArray {
  return filled(shape, 0, options, "zeros");
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
export function ones(shape: Shape | number, options?: ArrayOptions): NDArray {
  return filled(shape, 1, options, "ones");
}

function filled(shape: unknown, value: number, options: unknown, op: string): NDArray {
  if (typeof shape === "number" && typeof options === "number") {
    throw new TypeError(
      `${op}: the shape is one argument, a list: ${op}([${shape}, ${options}, ...])`,
    );
  }
  const s = checkShape(shape, op, true);
  const dtype = optionDType(options as ArrayOptions, op, "float64")!;
  const data = allocate(dtype, sizeOf(s));
  const v = dtype === "int32" ? scalar(value).astype("int32")[RAW][0] : value;
  if (v !== 0 || Object.is(v, -0)) data.fill(v); // storage starts zeroed
  return new NDArray(data, s);
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
 * `arange(stop)` or `arange(start, stop, step, options)`: evenly spaced
 * values in [start, stop); int32 when all arguments are integers (and the
 * values fit int32), else float64.
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
  options?: ArrayOptions,
): NDArray {
  const hint = " (options come fourth: arange(start, stop, step, { dtype }))";
  checkFinite(start, "arange", "start");
  if (stop !== undefined) {
    checkFinite(stop, "arange", `stop${typeof stop === "object" ? hint : ""}`);
  }
  checkFinite(step, "arange", `step${typeof step === "object" ? hint : ""}`);
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("arange: step must not be zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const s = checkShape([n], "arange");
  const isInt = [start, stop, step].every(Number.isInteger);
  const dtype = optionDType(options, "arange", isInt ? "int32" : "float64")!;
  const last = start + (n - 1) * step;
  if (dtype === "int32" && n > 0 && [start, last].some((v) => v < INT32_MIN || v > INT32_MAX)) {
    throw new RangeError(
      `arange: values from ${start} to ${last} do not fit int32 (pass { dtype: "float64" })`,
    );
  }
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new NDArray(data, s);
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
