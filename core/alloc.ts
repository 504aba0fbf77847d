/**
 * Typed-array allocation for NDArray storage. V8 (as embedded in Deno)
 * spends ~0.4 us creating a typed array with its own ArrayBuffer, more than
 * a whole small elementwise op; a view into a shared buffer costs ~0.03 us.
 * So small arrays are carved out of 16 KiB slabs (zero-filled, 8-byte
 * aligned, each region handed out once); larger ones get their own buffer.
 * A slab is freed when its last view is collected, so a long-lived small
 * array can keep at most one slab alive.
 * @module
 */
import { arrayCtor, type DType, type TypedArray } from "./dtype.ts";

const SMALL = 256; // largest byte size served from a slab
const SLAB = 16384;
let slab = new ArrayBuffer(SLAB);
let used = 0;

/** A zero-filled typed array of `dtype` with `size` elements. */
export function allocate(dtype: DType, size: number): TypedArray {
  const bytes = size * (dtype === "float64" ? 8 : 4);
  if (bytes > SMALL || bytes === 0) return new (arrayCtor(dtype))(size);
  if (used + bytes > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const at = used;
  used += (bytes + 7) & ~7;
  if (dtype === "float32") return new Float32Array(slab, at, size);
  if (dtype === "float64") return new Float64Array(slab, at, size);
  return new Int32Array(slab, at, size);
}

/** Whether two typed arrays share any bytes (views of one buffer may not). */
export function sharesMemory(a: TypedArray, b: TypedArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength;
}
