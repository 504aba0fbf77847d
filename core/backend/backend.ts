/**
 * The Backend interface: what the dispatcher (core/dispatch.ts) and the
 * JIT ask of the machine that runs kernels. The dispatcher does the shape
 * and dtype rules and allocates results; a backend only computes, on typed
 * arrays. The CPU backend (cpu/) implements it; a worker pool or WebGPU
 * backend plugs in here.
 * @module
 */
import type { DType, TypedArray } from "../array/dtype.ts";
import type { Shape } from "../array/shape_rules.ts";
import type { ElementwiseSpec, ReductionSpec } from "../registry.ts";

/** A kernel-running machine. */
export interface Backend {
  /** A short name for messages (`cpu`). */
  readonly name: string;
  /**
   * `out = spec(a, b)` elementwise over `outShape` (`out` contiguous), `a`
   * and `b` read through broadcast strides; `null` strides mean an operand
   * is plain (of the output's size, or a single element). `p0`, `p1` are
   * the op's numeric parameters.
   */
  elementwise(
    spec: ElementwiseSpec,
    out: TypedArray,
    outShape: Shape,
    outDtype: DType,
    a: TypedArray,
    aStrides: number[] | null,
    b: TypedArray | null,
    bStrides: number[] | null,
    p0: number,
    p1: number,
  ): void;
  /**
   * Reduces contiguous `a` of `shape` into `acc` (pre-filled with the
   * identity), where `outStrides` is 0 on every reduced axis.
   */
  reduce(
    spec: ReductionSpec,
    acc: TypedArray,
    a: TypedArray,
    shape: Shape,
    aStrides: number[],
    outStrides: number[],
  ): void;
  /**
   * `C[m, n] = op(A) @ op(B) (+ bias) (then ReLU)` for row-major matrices at
   * the given offsets; `op(X)` is X, or X transposed when its flag is set.
   * `bias` holds n values (or 1, broadcast), added to the product rounded
   * to C's type. C must not overlap A, B or bias. `keep` >= 0 (generated
   * code only) names op(B) for the replay: a later product naming the same
   * `keep` reads it as prepared then (see `gemmEpoch` of the runtime).
   */
  gemm(
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
    bias: TypedArray | null,
    relu: boolean,
    keep?: number,
  ): void;
  /**
   * `out[b, i] = x[b, offsets[i]]` over `batch` equal blocks of `x` and
   * `out` (1: `out[i] = x[offsets[i]]`), each offset checked against a
   * block's length; a `PAD` (-1) offset reads 0.
   */
  gather(out: TypedArray, x: TypedArray, offsets: TypedArray, batch: number): void;
  /**
   * `out` zeroed, then `out[b, offsets[i]] += g[b, i]` over `batch` equal
   * blocks, each offset checked; a `PAD` offset drops its value.
   */
  scatterAdd(out: TypedArray, g: TypedArray, offsets: TypedArray, batch: number): void;
  /**
   * `out` a copy of the int32 indices `x`, each checked to lie in `[0,
   * size)`; else a RangeError `op: what V out of range [0, size)`.
   */
  checkIndex(out: Int32Array, x: Int32Array, size: number, op: string, what: string): void;
  /** Index of the maximum along the middle axis of `x` viewed as `[outer, len, inner]`. */
  argmax(out: Int32Array, x: TypedArray, outer: number, len: number, inner: number): void;
  /** Fills `out` with fresh draws from the seeded generator. */
  random(kind: "uniform" | "normal", out: TypedArray): void;
  /**
   * What the JIT's generated code calls by name (its `rt`): the functions a
   * tape's module text reads, with their names as keys.
   */
  readonly runtime: Readonly<Record<string, unknown>>;
}
