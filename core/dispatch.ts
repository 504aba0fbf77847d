/**
 * The one kernel dispatcher. Every primitive kernel call of the library goes
 * through `dispatch(op, inputs, attrs, out?)`, which is also the hook the
 * JIT's tracer uses to record a straight-line program of kernel calls.
 * @module
 */
import { allocate } from "./array/alloc.ts";
import { checkDType, type DType, FLOAT_HINT, isFloat } from "./array/dtype.ts";
import { NDArray, RAW } from "./array/ndarray.ts";
import { backend } from "./backend/mod.ts";
import { type Attrs, tracer } from "./hooks.ts";
import { matmulArrays, type MatmulAttrs } from "./matmul.ts";
import {
  ELEMENTWISE,
  elementwiseDType,
  type ElementwiseSpec,
  type OpName,
  REDUCTIONS,
  type ReductionSpec,
} from "./registry.ts";
import {
  broadcastShapes,
  broadcastStrides,
  checkBroadcastTo,
  fmtShape,
  reducedShape,
  sameShape,
  sizeOf,
  stridesOf,
} from "./array/shape_rules.ts";

/** The array-level implementation of a primitive: checks, allocates, runs the backend. */
export type ArrayKernel = (inputs: NDArray[], attrs: Attrs, out?: NDArray) => NDArray;

/** No attributes: the default of `dispatch`, which kernels check for by identity (a fast path). */
export const NO_ATTRS: Attrs = Object.freeze({});

/** Runs primitive `op` on `inputs`; writes into `out` when given (in place). */
export function dispatch(
  op: OpName,
  inputs: NDArray[],
  attrs: Attrs = NO_ATTRS,
  out?: NDArray,
): NDArray {
  const kernel = BY_NAME.get(op);
  if (kernel === undefined) throw new Error(`dispatch: unknown op '${op}'`);
  const result = kernel(inputs, attrs, out);
  if (tracer !== null) tracer.record(op, inputs, attrs, result);
  return result;
}

function elementwise(spec: ElementwiseSpec): ArrayKernel {
  return (inputs, attrs, out) => {
    const a = inputs[0];
    const b = spec.arity === 2 ? inputs[1] : null;
    if (b === undefined) throw new TypeError(`${spec.name}: needs two operands`);
    // most calls have no attributes: their reads (of differently shaped
    // objects, so megamorphic) are skipped
    const bare = attrs === NO_ATTRS;
    // common layouts (same shapes, or a size-1 operand) skip the broadcast
    // arithmetic: `null` strides tell the kernel an operand is plain
    const plain = (bare || (attrs.shape === undefined && attrs.strides === undefined)) &&
      (b === null || sameShape(a.shape, b.shape) || (b.size === 1 && b.ndim <= a.ndim) ||
        (a.size === 1 && a.ndim <= b.ndim));
    let shape: number[];
    if (!bare && attrs.shape) {
      shape = attrs.shape as number[];
      checkBroadcastTo(a.shape, shape, spec.name);
    } else if (plain) {
      shape = b !== null && a.ndim < b.ndim ? b.shape : a.shape;
    } else {
      shape = b ? broadcastShapes(a.shape, b.shape, spec.name) : a.shape;
    }
    const dtype = (bare ? undefined : attrs.dtype as DType | undefined) ??
      elementwiseDType(spec, a.dtype, b ? b.dtype : null);
    if (out) {
      if (!sameShape(out.shape, shape)) {
        throw new RangeError(
          `${spec.name}: cannot write a result of shape ${fmtShape(shape)} in place into shape ${
            fmtShape(out.shape)
          }`,
        );
      }
      if (!isFloat(out.dtype) && isFloat(dtype)) {
        throw new TypeError(
          `${spec.name}: cannot write a ${dtype} result in place into an int32 array (${FLOAT_HINT})`,
        );
      }
    }
    const o = out ?? new NDArray(allocate(dtype, sizeOf(shape)), shape);
    const aStrides = plain ? null : (bare ? undefined : attrs.strides as number[] | undefined) ??
      broadcastStrides(a.shape, shape);
    backend.elementwise(
      spec,
      o[RAW],
      shape,
      o.dtype,
      a[RAW],
      aStrides,
      b ? b[RAW] : null,
      b && !plain ? broadcastStrides(b.shape, shape) : null,
      bare ? 0 : (attrs.p0 as number) ?? 0,
      bare ? 0 : (attrs.p1 as number) ?? 0,
    );
    return o;
  };
}

function reduction(spec: ReductionSpec): ArrayKernel {
  return ([x], attrs) => {
    const axes = attrs.axes as number[];
    const keepdims = !!attrs.keepdims;
    const shape = reducedShape(x.shape, axes, keepdims);
    const size = sizeOf(shape);
    // numpy: an error when an output element would reduce nothing
    if (spec.emptyError && axes.some((a) => x.shape[a] === 0)) {
      throw new RangeError(
        `${spec.name}: zero-size array of shape ${fmtShape(x.shape)} has no ${spec.name}`,
      );
    }
    // float32/int32 results accumulate in float64, for numpy-like accuracy
    const o = allocate(x.dtype, size);
    const acc = o instanceof Float64Array ? o : allocate("float64", size);
    acc.fill(Number(spec.identity));
    const outStrides = stridesOf(reducedShape(x.shape, axes, true)).map((
      s,
      d,
    ) => (axes.includes(d) ? 0 : s));
    backend.reduce(spec, acc, x[RAW], x.shape, stridesOf(x.shape), outStrides);
    if (acc !== o) o.set(acc);
    return new NDArray(o, shape);
  };
}

/** Every primitive's array kernel, by op name. */
export const ARRAY_KERNELS: Readonly<Record<OpName, ArrayKernel>> = Object.freeze({
  ...mapValues(ELEMENTWISE, elementwise),
  ...mapValues(REDUCTIONS, reduction),
  /** Same data, new shape (a view: no copy). */
  reshape: ([x], attrs) => new NDArray(x[RAW], attrs.shape as number[]),
  /** Contiguous copy of `x` with its axes permuted. */
  transpose: ([x], attrs) => {
    const axes = attrs.axes as number[];
    const shape = axes.map((a) => x.shape[a]);
    const strides = stridesOf(x.shape);
    return ARRAY_KERNELS.copy([new NDArray(x[RAW], shape)], {
      strides: axes.map((a) => (x.shape[a] === 1 ? 0 : strides[a])),
    });
  },
  /** Element type conversion (int32 truncates toward zero, as numpy). */
  cast: ([x], attrs) =>
    ARRAY_KERNELS.copy([x], { dtype: checkDType(attrs.dtype as string, "astype") }),
  /**
   * Batched matrix product with broadcast batch axes; `attrs.transA/transB`
   * read an operand's last two axes swapped, an optional third input is a
   * bias along the last axis, `attrs.activation` ("relu") runs in the store.
   */
  matmul: ([a, b, bias], attrs, out) => matmulArrays(a, b, attrs as MatmulAttrs, bias, out),
  /**
   * `out[i] = x[offsets[i]]`: the gather behind getItem; with `attrs.batch`
   * (im2col), `x` and the result are that many equal blocks, each gathered
   * by the same offsets, and a `PAD` offset reads 0.
   */
  gather: ([x, offsets], attrs) => {
    const shape = attrs.shape as number[];
    const batch = indexBatch("gather", attrs, x.size, offsets, sizeOf(shape));
    const o = allocate(x.dtype, sizeOf(shape));
    backend.gather(o, x[RAW], offsets[RAW], batch);
    return new NDArray(o, shape);
  },
  /**
   * Zeros of `shape` with `g[i]` added at `offsets[i]`: getItem's gradient;
   * with `attrs.batch` (col2im), per block, a `PAD` offset dropping its value.
   */
  scatterAdd: ([g, offsets], attrs) => {
    const shape = attrs.shape as number[];
    const batch = indexBatch("scatterAdd", attrs, sizeOf(shape), offsets, g.size);
    const o = allocate(g.dtype, sizeOf(shape));
    backend.scatterAdd(o, g[RAW], offsets[RAW], batch);
    return new NDArray(o, shape);
  },
  /** Index of the maximum along `axis` (int32), first one on ties. */
  argmax: ([x], attrs) => {
    const axis = attrs.axis as number;
    const shape = x.shape.filter((_, d) => d !== axis);
    const len = x.shape[axis];
    if (len === 0) {
      throw new RangeError(
        `argmax: attempt to get argmax of an empty sequence (axis ${axis} of shape ${
          fmtShape(x.shape)
        })`,
      );
    }
    const inner = sizeOf(x.shape.slice(axis + 1));
    const outer = sizeOf(x.shape.slice(0, axis));
    const o = new Int32Array(outer * inner);
    backend.argmax(o, x[RAW], outer, len, inner);
    return new NDArray(o, shape);
  },
  /**
   * A copy of the int32 indices `x` (class labels...), each checked to lie
   * in `[0, attrs.size)`: a value check that holds on JIT replays too, where
   * the tape runs this kernel. Throws naming `attrs.op` and `attrs.what`.
   */
  checkIndex: ([x], attrs) => {
    if (x.dtype !== "int32") throw new TypeError(`${attrs.op}: ${attrs.what}s must be int32`);
    const o = new Int32Array(x.size);
    backend.checkIndex(
      o,
      x[RAW] as Int32Array,
      attrs.size as number,
      `${attrs.op}`,
      `${attrs.what}`,
    );
    return new NDArray(o, x.shape);
  },
  /** A fresh random draw (`kind`: uniform in [0,1) or normal) of `shape`. */
  random: (_, attrs) => {
    const shape = attrs.shape as number[];
    const dtype = (attrs.dtype as DType) ?? "float64";
    const o = allocate(dtype, sizeOf(shape));
    backend.random(attrs.kind as "uniform" | "normal", o);
    return new NDArray(o, shape);
  },
});

/**
 * The block count of a gather or scatter-add (`attrs.batch`, default 1),
 * checked against the sizes: the indexed side (`blocks` elements) and the
 * offset side (`count` elements, one per offset per block).
 */
function indexBatch(op: string, attrs: Attrs, blocks: number, offsets: NDArray, count: number) {
  const batch = (attrs.batch as number | undefined) ?? 1;
  if (!(batch >= 1 && blocks % batch === 0 && count === batch * offsets.size)) {
    throw new RangeError(
      `${op}: ${batch} blocks of ${offsets.size} offsets do not fit ${count} elements indexing ${blocks}`,
    );
  }
  return batch;
}

/** ARRAY_KERNELS as a Map: a lookup by a varying name is faster than a keyed property load. */
const BY_NAME = new Map(Object.entries(ARRAY_KERNELS)) as Map<string, ArrayKernel>;

/** `table` with `f` applied to each value. */
function mapValues<K extends string, T, U>(
  table: Readonly<Record<K, T>>,
  f: (x: T) => U,
): Record<K, U> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, f(v as T)])) as Record<K, U>;
}
