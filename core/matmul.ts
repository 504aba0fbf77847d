/**
 * Matrix product kernel: numpy's matmul semantics (1-D operands promoted,
 * broadcast batch axes) over a cache-blocked row-major loop.
 * @module
 */
import { allocate, promote, type TypedArray } from "./dtype.ts";
import { NDArray } from "./ndarray.ts";
import { broadcastShapes, fmtShape, sizeOf, stridesOf } from "./shape.ts";

const KB = 256; // k-panel height: a panel of B rows stays in L2
const NB = 512; // column block width

/**
 * `C[m, n] += A[m, k] * B[k, n]` for row-major blocks at the given offsets,
 * i-k-j order so the inner loop runs contiguously over B's and C's rows.
 */
export function gemm(
  A: TypedArray,
  aOff: number,
  B: TypedArray,
  bOff: number,
  C: TypedArray,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let j0 = 0; j0 < n; j0 += NB) {
    const j1 = Math.min(n, j0 + NB);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const p1 = Math.min(k, p0 + KB);
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const c0 = cOff + i * n, c1 = c0 + n;
        const a0 = aOff + i * k, a1 = a0 + k;
        for (let p = p0; p < p1; p++) {
          const x0 = A[a0 + p], x1 = A[a1 + p];
          const b = bOff + p * n;
          for (let j = j0; j < j1; j++) {
            const y = B[b + j];
            C[c0 + j] += x0 * y;
            C[c1 + j] += x1 * y;
          }
        }
      }
      for (; i < m; i++) {
        const c0 = cOff + i * n, a0 = aOff + i * k;
        for (let p = p0; p < p1; p++) {
          const x0 = A[a0 + p], b = bOff + p * n;
          for (let j = j0; j < j1; j++) C[c0 + j] += x0 * B[b + j];
        }
      }
    }
  }
}

/** numpy's matmul of `a` and `b`; throws naming the shapes on a mismatch. */
export function matmulKernel(a: NDArray, b: NDArray): NDArray {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: operands must be at least 1-D, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  const as = a.ndim === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.ndim === 1 ? [b.shape[0], 1] : b.shape;
  const m = as[as.length - 2], k = as[as.length - 1];
  const k2 = bs[bs.length - 2], n = bs[bs.length - 1];
  if (k !== k2) {
    throw new RangeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${k} != ${k2})`,
    );
  }
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2), "matmul");
  const dtype = promote(a.dtype, b.dtype);
  const nb = sizeOf(batch);
  const out = allocate(dtype, nb * m * n);
  const A = a.dtype === dtype ? a.raw : allocate(dtype, a.size);
  if (A !== a.raw) A.set(a.raw);
  const B = b.dtype === dtype ? b.raw : allocate(dtype, b.size);
  if (B !== b.raw) B.set(b.raw);
  const aBatch = batchOffsets(as.slice(0, -2), batch, m * k);
  const bBatch = batchOffsets(bs.slice(0, -2), batch, k * n);
  for (let t = 0; t < nb; t++) {
    gemm(A, aBatch[t], B, bBatch[t], out, t * m * n, m, k, n);
  }
  let shape = [...batch, m, n];
  if (a.ndim === 1) shape = shape.filter((_, d) => d !== shape.length - 2);
  if (b.ndim === 1) shape = shape.slice(0, -1);
  return new NDArray(out, shape);
}

/** Element offset of each broadcast batch's matrix inside an operand. */
function batchOffsets(shape: number[], batch: number[], matSize: number): number[] {
  const nb = sizeOf(batch);
  const strides = stridesOf(shape);
  const off = batch.length - shape.length;
  const out = new Array<number>(nb);
  for (let t = 0; t < nb; t++) {
    let rem = t, o = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      const i = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      const sd = d - off;
      if (sd >= 0 && shape[sd] !== 1) o += i * strides[sd];
    }
    out[t] = o * matSize;
  }
  return out;
}
