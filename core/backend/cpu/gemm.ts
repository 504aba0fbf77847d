/**
 * The scalar JS gemm: `C = op(A) @ op(B)` with operands optionally read
 * transposed and a fused epilogue (bias over the last axis, ReLU), packed
 * and register-tiled, float64 sums. It computes small, int32 and mixed
 * products, and every product where WebAssembly SIMD is missing, for the
 * WebAssembly gemm (core/backend/simd/gemm.ts).
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
import type { TypedArray } from "../../array/dtype.ts";

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
