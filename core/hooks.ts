/**
 * Every hook the JIT attaches to, in one place. While a tracer is installed,
 * the dispatcher reports each kernel call, autograd reports the Variables a
 * function reads and the gradients user code clears, NDArray reports reads
 * of its values on the JS side, and host scalars and effects (an optimizer's
 * learning rate, Adam's step count) register themselves to be re-run on
 * replay. Without a tracer every hook is one `null` check.
 * @module
 */
import { allocate } from "./array/alloc.ts";
import type { DType } from "./array/dtype.ts";
import { NDArray } from "./array/ndarray.ts";
import type { OpName } from "./registry.ts";

/** Static arguments of a kernel call (axes, shapes, scalar parameters...). */
export type Attrs = Record<string, unknown>;

/** Observer of the library's execution (the JIT's tracer). */
export interface Tracer {
  /** A kernel call, with its operands and result. */
  record(op: OpName, inputs: NDArray[], attrs: Attrs, out: NDArray): void;
  /** A host scalar: `out` must be refreshed from `fn` on replay. */
  scalar(fn: () => number, out: NDArray): void;
  /** A host effect: `fn` must run again on replay. */
  effect(fn: () => void): void;
  /** A Variable an autograd Function reads. */
  variable(v: object): void;
  /** A Variable whose gradient user code cleared. */
  cleared(v: object): void;
  /** JS code read an array's values (`.data`, `item()`, printing). */
  valueRead(x: NDArray): void;
  /**
   * Kernel calls from here on come from `label` (an F function, its
   * backward, a layer, an optimizer step), until the matching `exit`;
   * `owner` is the layer, for naming it by its field path.
   */
  enter(label: string, owner: object | null): void;
  /** Leaves the innermost scope. */
  exit(): void;
}

/** The installed tracer, or null (a live binding: read it, set it with `setTracer`). */
export let tracer: Tracer | null = null;

/** Installs (or with `null` removes) the tracer; returns the previous one. */
export function setTracer(t: Tracer | null): Tracer | null {
  const prev = tracer;
  tracer = t;
  return prev;
}

/**
 * Runs `fn` in a labelled scope of the trace (see `Tracer.enter`), so the
 * JIT can name what each generated kernel came from. Callers skip it when
 * no tracer is installed.
 */
export function scoped<T>(label: string, owner: object | null, fn: () => T): T {
  const t = tracer;
  if (t === null) return fn();
  t.enter(label, owner);
  try {
    return fn();
  } finally {
    t.exit();
  }
}

/**
 * A 0-d array holding `fn()`, a value the host computes per call (an
 * optimizer's learning rate): a replaying JIT re-reads it instead of
 * baking the traced value in.
 */
export function hostScalar(fn: () => number, dtype: DType = "float64"): NDArray {
  const out = new NDArray(allocate(dtype, 1), []);
  out.raw[0] = fn();
  if (tracer !== null) tracer.scalar(fn, out);
  return out;
}

/**
 * Runs a host-side state change (Adam's step count) now, and again on
 * every JIT replay of the surrounding trace.
 */
export function hostEffect(fn: () => void): void {
  fn();
  if (tracer !== null) tracer.effect(fn);
}
