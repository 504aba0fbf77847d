/**
 * Shape arithmetic shared by every op: sizes, strides, broadcasting, axes,
 * and the checks of shapes and axes users pass. Each rule and its error
 * message lives here once. A shape that passes `checkShape` holds only
 * plain integers, so it may be printed into generated code.
 * @module
 */
import { show } from "../validate.ts";

/** A shape: one non-negative integer per axis. */
export type Shape = readonly number[];

/** Most elements an array may have (typed arrays index by 32-bit lengths). */
export const MAX_SIZE = 2 ** 31 - 1;

/** Most axes an array may have (numpy's limit). */
export const MAX_NDIM = 64;

/**
 * `shape` (a list of non-negative integers, or one integer when
 * `allowNumber`) as a fresh array; throws naming `op` for anything else
 * (strings, objects, NaN, fractions, negatives) and for more than
 * `MAX_SIZE` elements or `MAX_NDIM` axes.
 */
export function checkShape(shape: unknown, op: string, allowNumber = false): number[] {
  const s = allowNumber && typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(s)) {
    throw new TypeError(`${op}: shape must be a list of integers, got ${show(shape)}`);
  }
  if (s.length > MAX_NDIM) {
    throw new RangeError(`${op}: ${s.length} axes are more than the ${MAX_NDIM} allowed`);
  }
  const out = new Array<number>(s.length);
  let size = 1;
  for (let i = 0; i < s.length; i++) {
    const d = s[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new (typeof d === "number" ? RangeError : TypeError)(
        `${op}: invalid shape ${show(s)}: axis ${i} must be a non-negative integer, got ${show(d)}`,
      );
    }
    out[i] = d;
    size *= d;
  }
  checkSize(out, size, op);
  return out;
}

/** Throws naming `op` and `shape` when `size` (its element count) exceeds `MAX_SIZE`. */
export function checkSize(shape: Shape, size: number, op: string): void {
  if (size > MAX_SIZE) {
    throw new RangeError(
      `${op}: shape ${
        fmtShape(shape)
      } has ${size} elements, more than the ${MAX_SIZE} an array can hold`,
    );
  }
}

/** Number of elements of `shape` (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major (C order) strides of `shape`, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** `[2,3]` as printed in error messages. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/** True when two shapes are equal axis by axis. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** numpy's broadcast of two shapes; throws naming `op` when they clash. */
export function broadcastShapes(a: Shape, b: Shape, op = "broadcast"): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: cannot broadcast shapes ${fmtShape(a)} and ${fmtShape(b)}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  checkSize(out, sizeOf(out), op);
  return out;
}

/** Throws unless `from` broadcasts to exactly `to` (numpy's broadcast_to). */
export function checkBroadcastTo(from: Shape, to: Shape, op: string): void {
  const off = to.length - from.length;
  let ok = off >= 0;
  for (let i = 0; ok && i < from.length; i++) {
    ok = from[i] === to[i + off] || from[i] === 1;
  }
  if (!ok) {
    throw new RangeError(
      `${op}: cannot broadcast shape ${fmtShape(from)} to ${fmtShape(to)}`,
    );
  }
}

/**
 * Strides for reading an array of `shape` as if broadcast to `outShape`:
 * 0 on every broadcast axis.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(shape);
  const off = outShape.length - shape.length;
  const s = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    s[i + off] = shape[i] === 1 ? 0 : strides[i];
  }
  return s;
}

/** Normalizes a possibly negative axis; throws naming `op` when out of range. */
export function normalizeAxis(axis: number, ndim: number, op: string): number {
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    throw new TypeError(`${op}: axis must be an integer, got ${show(axis)}`);
  }
  if (axis < -ndim || axis >= ndim) {
    throw new RangeError(
      `${op}: axis ${axis} is out of bounds for an array of dimension ${ndim}`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Axes argument (`null`/undefined = all, a number, or a list) as a sorted list
 * of distinct non-negative axes.
 */
export function normalizeAxes(
  axis: number | readonly number[] | null | undefined,
  ndim: number,
  op: string,
): number[] {
  if (axis === null || axis === undefined) {
    return Array.from({ length: ndim }, (_, i) => i);
  }
  const list = typeof axis === "number" ? [axis] : axis;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${op}: axis must be null, an integer or a list of integers, got ${show(axis)}`,
    );
  }
  const out = list.map((a) => normalizeAxis(a, ndim, op));
  if (new Set(out).size !== out.length) {
    throw new RangeError(`${op}: repeated axis in [${list.join(",")}]`);
  }
  return out.sort((a, b) => a - b);
}

/** Shape after reducing `axes` of `shape` (kept as 1 when `keepdims`). */
export function reducedShape(
  shape: Shape,
  axes: readonly number[],
  keepdims: boolean,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (!axes.includes(i)) out.push(shape[i]);
    else if (keepdims) out.push(1);
  }
  return out;
}

/**
 * Resolves a reshape target (one axis may be -1) for `size` elements;
 * throws naming `op` when the sizes differ.
 */
export function resolveShape(
  from: Shape,
  target: readonly number[],
  op: string,
): number[] {
  const size = sizeOf(from);
  if (!Array.isArray(target)) {
    throw new TypeError(`${op}: shape must be a list of integers, got ${show(target)}`);
  }
  const shape = [...target];
  const unknown = shape.indexOf(-1);
  if (unknown !== shape.lastIndexOf(-1)) {
    throw new RangeError(`${op}: can only specify one unknown dimension`);
  }
  for (const d of shape) {
    if (typeof d !== "number" || (d !== -1 && (!Number.isInteger(d) || d < 0))) {
      throw new (typeof d === "number" ? RangeError : TypeError)(
        `${op}: invalid dimension ${show(d)} in ${show(target)}`,
      );
    }
  }
  if (unknown >= 0) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || size % known !== 0) {
      throw new RangeError(
        `${op}: cannot reshape array of shape ${fmtShape(from)} (size ${size}) into shape ${
          fmtShape(target)
        }`,
      );
    }
    shape[unknown] = size / known;
  }
  if (sizeOf(shape) !== size) {
    throw new RangeError(
      `${op}: cannot reshape array of shape ${fmtShape(from)} (size ${size}) into shape ${
        fmtShape(target)
      }`,
    );
  }
  return shape;
}

/** Validates a permutation of axes for transpose (default: reversed). */
export function resolveAxes(
  axes: readonly number[] | null | undefined,
  ndim: number,
  op: string,
): number[] {
  if (axes === null || axes === undefined || (Array.isArray(axes) && axes.length === 0)) {
    return Array.from({ length: ndim }, (_, i) => ndim - 1 - i);
  }
  if (!Array.isArray(axes)) {
    throw new TypeError(`${op}: axes must be a list of integers, got ${show(axes)}`);
  }
  if (axes.length !== ndim) {
    throw new RangeError(
      `${op}: axes ${show(axes)} don't match an array of dimension ${ndim}`,
    );
  }
  const out = axes.map((a) => normalizeAxis(a, ndim, op));
  if (new Set(out).size !== ndim) {
    throw new RangeError(`${op}: repeated axis in [${axes.join(",")}]`);
  }
  return out;
}
