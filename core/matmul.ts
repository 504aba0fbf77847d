/**
 * numpy's `matmul` on arrays: 1-D operands promoted, broadcast batch axes,
 * operands optionally read transposed, a bias over the last axis and a ReLU
 * fused into the store; the shape and dtype rules here, each batch's product
 * by the backend's gemm.
 * @module
 */
import { allocate, sharesMemory } from "./array/alloc.ts";
import { isFloat, promote } from "./array/dtype.ts";
import { NDArray, RAW } from "./array/ndarray.ts";
import { broadcastShapes, checkSize, fmtShape, sameShape, sizeOf } from "./array/shape_rules.ts";
import { backend } from "./backend/mod.ts";

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
export function matmulArrays(
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
  checkSize(shape, sizeOf(shape), "matmul");
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
    if ([a, b, bias].some((x) => x !== null && sharesMemory(x[RAW], out[RAW]))) {
      throw new RangeError("matmul: out must not share storage with an operand");
    }
  }
  const C = out?.[RAW] ?? allocate(dtype, sizeOf(shape));
  const aShape = as.slice(0, -2), bShape = bs.slice(0, -2);
  for (let t = 0, nb = sizeOf(batch); t < nb; t++) {
    const aOff = batchOffset(t, batch, aShape) * m * k;
    const bOff = batchOffset(t, batch, bShape) * k * n;
    backend.gemm(
      m,
      n,
      k,
      a[RAW],
      aOff,
      transA,
      b[RAW],
      bOff,
      transB,
      C,
      t * m * n,
      bias?.[RAW] ?? null,
      !!act,
    );
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
