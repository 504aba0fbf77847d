/**
 * Data types of NDArray storage and numpy's promotion rules between them.
 * @module
 */
import { show } from "../validate.ts";

/** The element types an NDArray can hold. */
export type DType = "float32" | "float64" | "int32";

/** The typed array behind an NDArray of any dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array;

/** All dtypes, for validation and error messages. */
export const DTYPES: readonly DType[] = ["float32", "float64", "int32"];

/** The typed-array constructor that stores `dtype`. */
export function arrayCtor(
  dtype: DType,
): Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor {
  switch (dtype) {
    case "float32":
      return Float32Array;
    case "float64":
      return Float64Array;
    case "int32":
      return Int32Array;
  }
  throw new TypeError(`unknown dtype ${show(dtype)} (use ${DTYPES.join(", ")})`);
}

/** Throws unless `dtype` is one of DTYPES. */
export function checkDType(dtype: unknown, op = "dtype"): DType {
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    throw new TypeError(`${op}: unknown dtype ${show(dtype)} (use ${DTYPES.join(", ")})`);
  }
  return dtype as DType;
}

/** The dtype of a Float32Array, Float64Array or Int32Array; throws naming `op` for anything else. */
export function dtypeOf(data: TypedArray, op = "NDArray"): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  throw new TypeError(
    `${op}: storage must be a Float32Array, Float64Array or Int32Array, got ${show(data)}`,
  );
}

/**
 * How to get a float array, for errors about int32 data where floats are
 * needed: JS cannot tell `1.0` from `1`, so `array([1.0])` is int32.
 */
export const FLOAT_HINT =
  'JS reads 1.0 as 1, so dz.array([1.0]) is int32: pass { dtype: "float64" } (or "float32") ' +
  'to dz.array, or convert with .astype("float64")';

/** The int32 range, as numpy checks integers against it. */
export const INT32_MIN = -2147483648, INT32_MAX = 2147483647;

/** True for float32 and float64. */
export function isFloat(dtype: DType): boolean {
  return dtype !== "int32";
}

/**
 * numpy's promotion of two array dtypes: equal dtypes stay, float64 wins,
 * int32 with float32 gives float64 (as numpy does).
 */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  return "float64";
}

/**
 * The dtype a JS number takes beside an array of `dtype` (NEP 50 "weak"
 * scalars): it never widens a float array; a non-integer number beside an
 * int32 array makes the result float64, an integer outside int32's range
 * there is an error (as numpy 2's OverflowError).
 */
export function scalarDType(value: number, dtype: DType, op = "operand"): DType {
  if (dtype !== "int32") return dtype;
  if (!Number.isInteger(value)) return "float64";
  if (value < INT32_MIN || value > INT32_MAX) {
    throw new RangeError(
      `${op}: integer ${value} is out of bounds for int32 (the dtype of the other operand)`,
    );
  }
  return dtype;
}

/** The float dtype a float-only op (div, exp, ...) computes in. */
export function toFloat(dtype: DType): DType {
  return dtype === "int32" ? "float64" : dtype;
}
