/**
 * Typed-array allocation for NDArray storage. V8 (as embedded in Deno)
 * spends ~0.4 us creating a typed array with its own ArrayBuffer, more than
 * a whole small elementwise op; a view into a shared buffer costs ~0.03 us.
 * So arrays up to 1 KiB are carved out of shared slabs (zero-filled, 8-byte
 * aligned, each region handed out once): up to 64 bytes from 4 KiB slabs,
 * larger ones from 32 KiB slabs; bigger arrays get their own buffer. A slab
 * is freed when its last view is collected, so a long-lived small array
 * keeps at most one slab of its class alive.
 * @module
 */
import { arrayCtor, type DType, type TypedArray } from "./dtype.ts";

/** A bump allocator over slabs of `size` bytes. */
interface Slab {
  size: number;
  buffer: ArrayBuffer;
  used: number;
}

const tiny: Slab = { size: 4096, buffer: new ArrayBuffer(4096), used: 0 };
const small: Slab = { size: 32768, buffer: new ArrayBuffer(32768), used: 0 };

/** A zero-filled typed array of `dtype` with `size` elements. */
export function allocate(dtype: DType, size: number): TypedArray {
  const bytes = size * (dtype === "float64" ? 8 : 4);
  if (bytes > 1024 || bytes === 0) {
    try {
      return new (arrayCtor(dtype))(size);
    } catch {
      throw new RangeError(
        `cannot allocate an array of ${size} ${dtype} elements (${
          (bytes / 2 ** 30).toFixed(1)
        } GiB)`,
      );
    }
  }
  const slab = bytes <= 64 ? tiny : small;
  if (slab.used + bytes > slab.size) {
    slab.buffer = new ArrayBuffer(slab.size);
    slab.used = 0;
  }
  const at = slab.used;
  slab.used += (bytes + 7) & ~7;
  if (dtype === "float32") return new Float32Array(slab.buffer, at, size);
  if (dtype === "float64") return new Float64Array(slab.buffer, at, size);
  return new Int32Array(slab.buffer, at, size);
}

/** Whether two typed arrays share any bytes (views of one buffer may not). */
export function sharesMemory(a: TypedArray, b: TypedArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength;
}
