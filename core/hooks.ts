/**
 * Every hook the JIT attaches to, in one place. While a tracer is installed,
 * the dispatcher reports each kernel call, autograd reports the Variables a
 * function reads and the gradients user code clears, NDArray reports reads
 * of its values on the JS side, host scalars and effects (an optimizer's
 * learning rate, Adam's step count) register themselves to be re-run on
 * replay, and layers report the state they carry between calls (an RNN's
 * `h`). Without a tracer every hook is one `null` check.
 * @module
 */
import { allocate } from "./array/alloc.ts";
import type { DType } from "./array/dtype.ts";
import { NDArray, RAW } from "./array/ndarray.ts";
import type { OpName } from "./registry.ts";

/** Static arguments of a kernel call (axes, shapes, scalar parameters...). */
export type Attrs = Record<string, unknown>;

/** Observer of the library's execution (the JIT's tracer). */
export interface Tracer {
  /** A kernel call, with its operands and result. */
  record(op: OpName, inputs: NDArray[], attrs: Attrs, out: NDArray): void;
  /** A host scalar: `out` must be refreshed from `fn` on replay (`rule`: its exportable form). */
  scalar(fn: () => number, out: NDArray, rule: HostRule<object, number> | null): void;
  /** A host effect: `fn` must run again on replay (`rule`: its exportable form). */
  effect(fn: () => void, rule: HostRule<object, void> | null): void;
  /** An autograd Function `f` is applied to the Variables `inputs`. */
  apply(f: object, inputs: readonly object[]): void;
  /** The backward pass runs Function `f`'s backward. */
  backward(f: object): void;
  /** A Variable whose gradient user code cleared. */
  cleared(v: object): void;
  /** User code replaced Variable `v`'s array (`v.data = ...`); `old` is the array it held. */
  dataSet(v: object, old: NDArray): void;
  /** JS code read an array's values (`.data`, `item()`, printing). */
  valueRead(x: NDArray): void;
  /** Layer state `owner[key]` (a Variable or null) was read. */
  stateRead(owner: object, key: string, value: unknown): void;
  /** Layer state `owner[key]` was set to `value` (a Variable or null). */
  stateWrite(owner: object, key: string, value: unknown): void;
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
 * A host scalar or effect in a form an exported module can carry
 * (`step.export()`): `run(owner)` computes the value (or makes the change)
 * from the owner's own numeric fields only. `run` must be self-contained,
 * reading nothing but its argument and `Math` (an export copies its source
 * text into the module, beside a copy of those fields).
 */
export interface HostRule<O extends object, R> {
  /** The object whose numeric fields `run` reads and writes (an optimizer). */
  owner: O;
  /** The computation, e.g. `(o) => o.lr` or `(o) => { o.t += 1; }`. */
  run: (o: O) => R;
}

/** A host function, or a rule, as a function of no arguments, and the rule (or null). */
function unpack<O extends object, R>(
  f: (() => R) | HostRule<O, R>,
): [() => R, HostRule<object, R> | null] {
  if (typeof f === "function") return [f, null];
  const { owner, run } = f;
  return [() => run(owner), f as unknown as HostRule<object, R>];
}

/**
 * A 0-d array holding the value of `source`, which the host computes per
 * call (an optimizer's learning rate): a replaying JIT re-reads it instead
 * of baking the traced value in. A `HostRule` source can also be exported.
 * `check`, when given, runs before each read (it throws for bad inputs).
 */
export function hostScalar<O extends object>(
  source: (() => number) | HostRule<O, number>,
  dtype: DType = "float64",
  check?: () => void,
): NDArray {
  const [value, rule] = unpack(source);
  const fn = check === undefined ? value : () => (check(), value());
  const out = new NDArray(allocate(dtype, 1), []);
  out[RAW][0] = fn();
  if (tracer !== null) tracer.scalar(fn, out, rule);
  return out;
}

/**
 * Runs a host-side state change (Adam's step count) now, and again on
 * every JIT replay of the surrounding trace. A `HostRule` effect can also
 * be exported.
 */
export function hostEffect<O extends object>(effect: (() => void) | HostRule<O, void>): void {
  const [fn, rule] = unpack(effect);
  fn();
  if (tracer !== null) tracer.effect(fn, rule);
}

/**
 * Reads the state a layer carries from one call to the next (an RNN's `h`,
 * a Variable or null): a replaying JIT reads `owner[key]` afresh on every
 * call instead of binding the traced Variable's array. A layer of one's own
 * reads and writes its state through `readState` and `writeState`, as
 * `L.RNN` does, to carry it through jitted calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { F, L, readState, type Variable, writeState } from "@dezero/dezero-ts";
 * class Leaky extends L.Layer { // h = 0.5 h + x
 *   h: Variable | null = null;
 *   forward(x: Variable): Variable {
 *     const h = readState(this, "h");
 *     const y = h === null ? x : F.add(F.mul(h, 0.5), x);
 *     writeState(this, "h", y);
 *     return y;
 *   }
 * }
 * const leaky = new Leaky();
 * leaky.apply(4);
 * assert.equal(leaky.apply(1).data.item(), 3);
 * ```
 */
export function readState<T extends object, K extends keyof T & string>(owner: T, key: K): T[K] {
  const value = owner[key];
  if (tracer !== null) tracer.stateRead(owner, key, value);
  return value;
}

/**
 * Sets the state a layer carries to its next call (`owner[key] = value`):
 * a replaying JIT writes the new value into `owner[key]` after each call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { L, random, writeState } from "@dezero/dezero-ts";
 * const rnn = new L.RNN(4);
 * rnn.apply(random.rand(1, 1));
 * writeState(rnn, "h", null); // what rnn.resetState() does
 * assert.equal(rnn.h, null);
 * ```
 */
export function writeState<T extends object, K extends keyof T & string>(
  owner: T,
  key: K,
  value: T[K],
): void {
  owner[key] = value;
  if (tracer !== null) tracer.stateWrite(owner, key, value);
}
