/**
 * Matrix product kernel: numpy's matmul semantics (1-D operands promoted,
 * broadcast batch axes) with operands optionally read transposed and a fused
 * epilogue (bias over the last axis, ReLU), over a packed, register-tiled gemm.
 *
 * How the gemm gets its speed in plain JS (V8 keeps numbers in float64
 * registers, and does not vectorise):
 * - blocks of A (MC x KC) and B (KC x NC) are first packed into Float64Array
 *   panels MR rows / NR columns wide. The micro-kernel then only ever sees
 *   Float64Arrays (monomorphic whatever the dtypes), reads both panels
 *   contiguously, and a transposed operand costs nothing: packing reads
 *   through strides. The packing buffers are allocated once.
 * - the micro-kernel keeps a 4x4 block of C in local variables, accumulates
 *   in float64 over a whole k-panel in one `ai < end` loop, and stores once.
 * @module
 */
import { allocate, sharesMemory } from "./alloc.ts";
import { isFloat, promote, type TypedArray } from "./dtype.ts";
import { NDArray } from "./ndarray.ts";
import { broadcastShapes, fmtShape, sameShape, sizeOf } from "./shape.ts";

const MR = 4, NR = 4; // register tile of C (written out in `micro`)
const MC = 64, KC = 256, NC = 1024; // A block stays in L2, B block in L3 (timings are flat around these)

/**
 * Whether `gemm` computes an m x k x n product with plain loops (small
 * products, where packing costs more than it saves): one k-panel, so the
 * summation order, and the result, are those of the blocked path.
 */
export function isSmallGemm(m: number, n: number, k: number): boolean {
  return m * n * k <= 32768 && k <= KC;
}
const packA = new Float64Array(MC * KC);
const packB = new Float64Array(KC * NC);
const tile = new Float64Array(MR * NR);

/**
 * Copies the `len x kc` slice whose element (x, p) is `src[off + x*xs + p*ps]`
 * into `dst` as panels `w` wide along x (element (x, p) of panel q at
 * `q*w*kc + p*w + x % w`). A last, narrower panel keeps stale values in its
 * unused lanes: they only reach tile entries that are never stored.
 */
function pack(
  dst: Float64Array,
  src: TypedArray,
  off: number,
  xs: number,
  ps: number,
  len: number,
  kc: number,
  w: number,
): void {
  let o = 0;
  for (let x0 = 0; x0 < len; x0 += w) {
    const wr = Math.min(w, len - x0);
    for (let p = 0; p < kc; p++) {
      const s = off + x0 * xs + p * ps;
      for (let x = 0; x < wr; x++) dst[o + x] = src[s + x * xs];
      o += w;
    }
  }
}

/**
 * `tile = Apanel^T @ Bpanel` over `kc` steps, from packA at `aOff` and packB at
 * `bOff`. Declaring the accumulators before the loop indices is ~14% faster
 * (V8's register allocator spills less); 4x4 beat 4x3, 3x4, 2x6, 6x2, 4x8 and
 * a k loop unrolled twice.
 */
function micro(kc: number, aOff: number, bOff: number): void {
  const A = packA, B = packB, t = tile;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let ai = aOff, bi = bOff, end = aOff + kc * 4; ai < end; ai += 4, bi += 4) {
    const b0 = B[bi], b1 = B[bi + 1], b2 = B[bi + 2], b3 = B[bi + 3];
    const a0 = A[ai], a1 = A[ai + 1], a2 = A[ai + 2], a3 = A[ai + 3];
    c00 += a0 * b0, c01 += a0 * b1, c02 += a0 * b2, c03 += a0 * b3;
    c10 += a1 * b0, c11 += a1 * b1, c12 += a1 * b2, c13 += a1 * b3;
    c20 += a2 * b0, c21 += a2 * b1, c22 += a2 * b2, c23 += a2 * b3;
    c30 += a3 * b0, c31 += a3 * b1, c32 += a3 * b2, c33 += a3 * b3;
  }
  t[0] = c00, t[1] = c01, t[2] = c02, t[3] = c03, t[4] = c10, t[5] = c11, t[6] = c12, t[7] = c13;
  t[8] = c20, t[9] = c21, t[10] = c22, t[11] = c23, t[12] = c30, t[13] = c31, t[14] = c32;
  t[15] = c33;
}

/**
 * `C[m, n] = op(A) @ op(B) (+ bias) (then ReLU)` for row-major matrices at the
 * given offsets, where `op(X)` is X or, with its flag set, X transposed (A
 * stored [k, m], B stored [n, k]). `bias` holds n values (or 1, broadcast),
 * added to the product rounded to C's type (exactly what a separate `add`
 * would give), before the ReLU. C must not overlap A, B or bias. Sums run in float64;
 * an int32 C is exact while they stay below 2^53 (and wraps as numpy's).
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  aOff: number,
  transA: boolean,
  B: TypedArray,
  bOff: number,
  transB: boolean,
  C: TypedArray,
  cOff: number,
  bias: TypedArray | null = null,
  relu = false,
): void {
  const bStep = bias !== null && bias.length > 1 ? 1 : 0;
  const f32 = C instanceof Float32Array; // the product is rounded before the bias, as an unfused add
  if (k === 0) {
    for (let i = 0; i < m * n; i++) {
      const v = bias === null ? 0 : bias[(i % n) * bStep];
      C[cOff + i] = relu && v < 0 ? 0 : v;
    }
    return;
  }
  // element (i, p) of op(A) is A[aOff + i*ars + p*acs]; (p, j) of op(B) is B[bOff + p*brs + j*bcs]
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  if (isSmallGemm(m, n, k)) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (
          let p = 0, ai = aOff + i * ars, bi = bOff + j * bcs;
          p < k;
          p++, ai += acs, bi += brs
        ) {
          v += A[ai] * B[bi];
        }
        if (bias !== null) v = (f32 ? Math.fround(v) : v) + bias[j * bStep];
        C[cOff + i * n + j] = relu && v < 0 ? 0 : v;
      }
    }
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const first = pc === 0, last = pc + kc === k;
      pack(packB, B, bOff + pc * brs + jc * bcs, bcs, brs, nc, kc, NR);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        pack(packA, A, aOff + ic * ars + pc * acs, ars, acs, mc, kc, MR);
        for (let j = 0; j < nc; j += NR) {
          const nr = Math.min(NR, nc - j);
          for (let i = 0; i < mc; i += MR) {
            micro(kc, i * kc, j * kc);
            // epilogue: the last k-panel adds the bias and applies the ReLU
            const mr = Math.min(MR, mc - i);
            for (let r = 0; r < mr; r++) {
              const row = cOff + (ic + i + r) * n + jc + j;
              for (let c = 0; c < nr; c++) {
                let v = tile[r * NR + c];
                if (!first) v += C[row + c];
                if (last && bias !== null) {
                  v = (f32 ? Math.fround(v) : v) + bias[(jc + j + c) * bStep];
                }
                C[row + c] = last && relu && v < 0 ? 0 : v;
              }
            }
          }
        }
      }
    }
  }
}

/** Static arguments of the matmul kernel (the dispatcher's `attrs`). */
export interface MatmulAttrs {
  /** Read `a`'s last two axes swapped (`a.mT @ b`). */
  transA?: boolean;
  /** Read `b`'s last two axes swapped (`a @ b.mT`). */
  transB?: boolean;
  /** Applied to each result element in the store, after the bias. */
  activation?: "relu" | null;
}

/**
 * numpy's `matmul(a, b)` (operands read transposed per `attrs`), plus `bias`
 * broadcast along the result's last axis (shape [n] or [1, n], or 1 in place
 * of n) and the activation, fused into the store. Writes into `out` when
 * given. Throws naming the op and shapes on a mismatch.
 */
export function matmulKernel(
  a: NDArray,
  b: NDArray,
  attrs: MatmulAttrs = {},
  bias: NDArray | null = null,
  out?: NDArray,
): NDArray {
  const transA = !!attrs.transA, transB = !!attrs.transB;
  const act = attrs.activation ?? null;
  if (act !== null && act !== "relu") {
    throw new TypeError(`matmul: unknown activation '${act}' (use relu or null)`);
  }
  const fa = fmtShape(a.shape) + (transA ? ".mT" : "");
  const fb = fmtShape(b.shape) + (transB ? ".mT" : "");
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(`matmul: operands must be at least 1-D, got ${fa} and ${fb}`);
  }
  if ((transA && a.ndim < 2) || (transB && b.ndim < 2)) {
    throw new RangeError(`matmul: a transposed operand must be at least 2-D, got ${fa} @ ${fb}`);
  }
  const as = a.ndim === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.ndim === 1 ? [b.shape[0], 1] : b.shape;
  const [ar, ac] = as.slice(-2), [br, bc] = bs.slice(-2);
  const m = transA ? ac : ar, k = transA ? ar : ac;
  const k2 = transB ? bc : br, n = transB ? br : bc;
  if (k !== k2) {
    throw new RangeError(`matmul: inner dimensions differ: ${fa} @ ${fb} (${k} != ${k2})`);
  }
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2), "matmul");
  const shape = [...batch];
  if (a.ndim > 1) shape.push(m);
  if (b.ndim > 1) shape.push(n);
  let dtype = promote(a.dtype, b.dtype);
  if (bias !== null) {
    const last = bias.shape[bias.ndim - 1] ?? 1;
    if (
      bias.ndim > shape.length || (last !== n && last !== 1) ||
      bias.shape.slice(0, -1).some((d) => d !== 1)
    ) {
      throw new RangeError(
        `matmul: bias of shape ${
          fmtShape(bias.shape)
        } does not broadcast along the last axis of the result ${fmtShape(shape)}`,
      );
    }
    dtype = promote(dtype, bias.dtype);
  }
  if (out !== undefined) {
    if (!sameShape(out.shape, shape) || (!isFloat(out.dtype) && isFloat(dtype))) {
      throw new RangeError(
        `matmul: cannot write a ${dtype} result of shape ${
          fmtShape(shape)
        } into a ${out.dtype} out of shape ${fmtShape(out.shape)}`,
      );
    }
    if ([a, b, bias].some((x) => x !== null && sharesMemory(x.raw, out.raw))) {
      throw new RangeError("matmul: out must not share storage with an operand");
    }
  }
  const C = out?.raw ?? allocate(dtype, sizeOf(shape));
  const aShape = as.slice(0, -2), bShape = bs.slice(0, -2);
  for (let t = 0, nb = sizeOf(batch); t < nb; t++) {
    const aOff = batchOffset(t, batch, aShape) * m * k;
    const bOff = batchOffset(t, batch, bShape) * k * n;
    gemm(m, n, k, a.raw, aOff, transA, b.raw, bOff, transB, C, t * m * n, bias?.raw, !!act);
  }
  return out ?? new NDArray(C, shape);
}

/** Index of broadcast batch `t` (of shape `batch`) inside an operand's batch `shape`. */
function batchOffset(t: number, batch: number[], shape: number[]): number {
  let o = 0, stride = 1;
  for (let d = batch.length - 1, sd = shape.length - 1; sd >= 0; d--, sd--) {
    const i = t % batch[d];
    t = (t - i) / batch[d];
    if (shape[sd] !== 1) o += i * stride;
    stride *= shape[sd];
  }
  return o;
}
