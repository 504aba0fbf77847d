/**
 * Variable (a graph node holding an NDArray and its gradient), Parameter,
 * and the generation-ordered backward pass.
 * @module
 */
import { Config } from "./config.ts";
import { scoped, tracer } from "../hooks.ts";
import type { Function } from "./function.ts";
import { FLOAT_HINT, isFloat } from "../array/dtype.ts";
import {
  type ArrayLike,
  fromValues,
  NDArray,
  type NestedArray,
  onesLike,
} from "../array/ndarray.ts";
import { formatArray, inspectAsString } from "../array/print.ts";
import { fmtShape, sameShape } from "../array/shape_rules.ts";
import { checkBool, checkOptions, show } from "../validate.ts";

/** What the Variable methods and F functions accept as an operand. */
export type VariableLike = Variable | ArrayLike;

/** Options of `Variable.backward`. */
export interface BackwardOptions {
  /** Keep the gradients of intermediate variables (default false). */
  retainGrad?: boolean;
  /** Record the backward pass as a graph, for higher-order derivatives. */
  createGraph?: boolean;
}

/** A numpy slice `start:stop:step` (null = omitted). */
export interface Slice {
  /** First index (null = from the start). */
  start: number | null;
  /** End index, exclusive (null = to the end). */
  stop: number | null;
  /** Step (null = 1). */
  step: number | null;
}

/**
 * One component of an index, for one axis: an integer, a slice, `"..."`
 * (as many full slices as needed), `null` (a new axis of length 1), or an
 * integer array (NDArray, Variable or nested numbers) picking along the axis.
 */
export type IndexComponent = number | Slice | "..." | null | NDArray | Variable | NestedArray[];

/** A component, or a JS array of components, one per axis (numpy's tuple). */
export type Index = IndexComponent | readonly IndexComponent[];

/** The F functions that Variable's methods call (installed by ops/). */
export interface VariableOps {
  add(a: VariableLike, b: VariableLike): Variable;
  sub(a: VariableLike, b: VariableLike): Variable;
  mul(a: VariableLike, b: VariableLike): Variable;
  div(a: VariableLike, b: VariableLike): Variable;
  pow(a: VariableLike, c: VariableLike): Variable;
  neg(a: VariableLike): Variable;
  matmul(a: VariableLike, b: VariableLike): Variable;
  reshape(a: VariableLike, shape: readonly number[]): Variable;
  transpose(a: VariableLike, axes?: readonly number[] | null): Variable;
  sum(a: VariableLike, axis?: number | readonly number[] | null, keepdims?: boolean): Variable;
  mean(a: VariableLike, axis?: number | readonly number[] | null, keepdims?: boolean): Variable;
  max(a: VariableLike, axis?: number | readonly number[] | null, keepdims?: boolean): Variable;
  min(a: VariableLike, axis?: number | readonly number[] | null, keepdims?: boolean): Variable;
  getItem(a: VariableLike, index: Index): Variable;
}

let F: VariableOps | null = null;

/** Installs the functions behind Variable's operator methods (DeZero's setup_variable). */
export function installOps(ops: VariableOps): void {
  F = ops;
}

function ops(): VariableOps {
  if (F === null) throw new Error("Variable: operators are not installed (import mod.ts)");
  return F;
}

/**
 * A node of the computational graph: data, gradient and creator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const { F, Variable } = dz;
 * const x = new Variable(dz.array([[1, 2, 3], [4, 5, 6]]), "x");
 * const y = F.sum(x.mul(x)); // operators are methods: x * x is x.mul(x)
 * y.backward();
 * assert.equal(String(y), "variable(91)");
 * assert.equal(String(x.grad), "variable([[ 2  4  6]\n          [ 8 10 12]])");
 * assert.deepEqual([x.name, x.shape, x.dtype], ["x", [2, 3], "int32"]);
 * ```
 */
export class Variable {
  #data: NDArray;
  /** Optional name, shown by getDotGraph. */
  name: string | null;
  /** The gradient after backward (a Variable), or null. */
  grad: Variable | null = null;
  /** The function that produced this variable, or null for a leaf. */
  creator: Function | null = null;
  /** Topological generation (creator's generation + 1). */
  generation = 0;

  /**
   * Wraps `data` (an NDArray is kept as is; nested arrays go through
   * `array()`; a plain number becomes a float64 scalar, as DeZero's
   * `Variable(np.array(2.0))`).
   */
  constructor(data: ArrayLike, name: string | null = null) {
    this.#data = data instanceof NDArray ? data : dataOf(data, this.constructor.name);
    if (name !== null && typeof name !== "string") {
      throw new TypeError(
        `${this.constructor.name}: name must be a string or null, got ${show(name)}`,
      );
    }
    this.name = name;
  }

  /** The array this variable holds (settable). */
  get data(): NDArray {
    return this.#data;
  }
  set data(value: NDArray) {
    if (!(value instanceof NDArray)) {
      throw new TypeError("Variable.data: expected an NDArray");
    }
    if (tracer !== null) tracer.dataSet(this, this.#data);
    this.#data = value;
  }

  /** Shape of the data. */
  get shape(): number[] {
    return this.#data.shape;
  }
  /** Number of axes. */
  get ndim(): number {
    return this.#data.ndim;
  }
  /** Number of elements. */
  get size(): number {
    return this.#data.size;
  }
  /** Element type. */
  get dtype(): NDArray["dtype"] {
    return this.#data.dtype;
  }
  /** Length of the first axis (Python's `len`). */
  get length(): number {
    if (this.ndim === 0) throw new TypeError("length of a 0-d variable");
    return this.shape[0];
  }

  /** Makes `fn` the creator of this variable. */
  setCreator(fn: Function): void {
    this.creator = fn;
    this.generation = fn.generation + 1;
  }

  /** Forgets the gradient (DeZero's `cleargrad`). */
  cleargrad(): void {
    this.grad = null;
    if (tracer !== null) tracer.cleared(this);
  }

  /** Cuts the link to the creator. */
  unchain(): void {
    this.creator = null;
  }

  /** Cuts every creator link in the graph behind this variable. */
  unchainBackward(): void {
    if (this.creator === null) return;
    const funcs = [this.creator];
    this.unchain();
    while (funcs.length) {
      const f = funcs.pop()!;
      for (const x of f.inputs) {
        if (x.creator !== null) {
          funcs.push(x.creator);
          x.unchain();
        }
      }
    }
  }

  /**
   * Backpropagates from this variable (seed gradient: ones, as DeZero) in
   * generation order, accumulating into each input's `grad`.
   */
  backward(options?: BackwardOptions): void {
    if (options !== undefined) { // (null is refused too)
      const o = checkOptions(options, "backward", ["retainGrad", "createGraph"]);
      if (o.retainGrad !== undefined) checkBool(o.retainGrad, "backward", "retainGrad");
      if (o.createGraph !== undefined) checkBool(o.createGraph, "backward", "createGraph");
    }
    if (this.grad === null) this.grad = new Variable(onesLike(this.data));
    backprop(this, FIELDS, options);
  }

  /** DeZero's repr: `variable([[1 2]\n          [3 4]])`. */
  toString(): string {
    const body = formatArray(this.#data.data, this.shape, this.dtype);
    return `variable(${body.replaceAll("\n", "\n" + " ".repeat(9))})`;
  }

  /** `this + other`. */
  add(other: VariableLike): Variable {
    return ops().add(this, other);
  }
  /** `this - other`. */
  sub(other: VariableLike): Variable {
    return ops().sub(this, other);
  }
  /** `other - this`. */
  rsub(other: VariableLike): Variable {
    return ops().sub(other, this);
  }
  /** `this * other`. */
  mul(other: VariableLike): Variable {
    return ops().mul(this, other);
  }
  /** `this / other`. */
  div(other: VariableLike): Variable {
    return ops().div(this, other);
  }
  /** `other / this`. */
  rdiv(other: VariableLike): Variable {
    return ops().div(other, this);
  }
  /** `-this`. */
  neg(): Variable {
    return ops().neg(this);
  }
  /** `this ** c` (c a number or, beyond DeZero, a Variable). */
  pow(c: VariableLike): Variable {
    return ops().pow(this, c);
  }
  /** Matrix product `this @ other`. */
  matmul(other: VariableLike): Variable {
    return ops().matmul(this, other);
  }
  /** Same data in a new shape: `reshape(2, 3)` or `reshape([2, 3])`. */
  reshape(...shape: (number | readonly number[])[]): Variable {
    const s = shape.length === 1 && Array.isArray(shape[0])
      ? shape[0] as number[]
      : shape as number[];
    return ops().reshape(this, s);
  }
  /** Axes permuted: `transpose()`, `transpose(1, 0, 2)` or `transpose([1, 0, 2])`. */
  transpose(...axes: (number | readonly number[])[]): Variable {
    const a = axes.length === 1 && Array.isArray(axes[0]) ? axes[0] as number[] : axes as number[];
    return ops().transpose(this, a.length ? a : null);
  }
  /** The transpose. */
  get T(): Variable {
    return ops().transpose(this, null);
  }
  /** Sum over `axis` (all when null). */
  sum(axis: number | readonly number[] | null = null, keepdims = false): Variable {
    return ops().sum(this, axis, keepdims);
  }
  /** Mean over `axis` (all when null). */
  mean(axis: number | readonly number[] | null = null, keepdims = false): Variable {
    return ops().mean(this, axis, keepdims);
  }
  /** The single element of a size-1 variable as a number (`x.data.item()`). */
  item(): number {
    return this.#data.item();
  }
  /** Maximum over `axis` (all when null), DeZero's `Variable.max`. */
  max(axis: number | readonly number[] | null = null, keepdims = false): Variable {
    return ops().max(this, axis, keepdims);
  }
  /** Minimum over `axis` (all when null), DeZero's `Variable.min`. */
  min(axis: number | readonly number[] | null = null, keepdims = false): Variable {
    return ops().min(this, axis, keepdims);
  }
  /** `this[index]` (DeZero's `__getitem__`): see `F.getItem`. */
  getItem(index: Index): Variable {
    return ops().getItem(this, index);
  }
  /** Matrix product `this @ other` (DeZero's `Variable.dot`, an alias of `matmul`). */
  dot(other: VariableLike): Variable {
    return ops().matmul(this, other);
  }
}

/**
 * Where a backward pass keeps gradients and finds creators: the Variables'
 * own `grad` and `creator` fields (`Variable.backward`), or, for the JIT's
 * compiled backward of a replayed call, a map over a recorded graph.
 */
export interface GradStore {
  /** The gradient accumulated for `x` so far. */
  get(x: Variable): Variable | null;
  /** Sets (or with null clears) the gradient of `x`. */
  set(x: Variable, g: Variable | null): void;
  /** The function to backpropagate through from `x` (null: stop there). */
  creator(x: Variable): Function | null;
  /**
   * Takes `gx`, the gradient `f` gives its input `i`, instead of adding it
   * to that input's: true when it took it (the JIT records each part of a
   * gradient that leaves a replayed call apart).
   */
  take?(f: Function, i: number, gx: Variable): boolean;
}

/** The Variables' own fields. */
const FIELDS: GradStore = {
  get: (x) => x.grad,
  set: (x, g) => {
    x.grad = g;
  },
  creator: (x) => x.creator,
};

/**
 * The generation-ordered backward pass from `root`, whose gradient `store`
 * already holds: each function's backward runs once, after every function
 * that feeds gradient into its outputs, and each input's gradient
 * accumulates in `store` (`Variable.backward` is this over the Variables'
 * fields).
 */
export function backprop(root: Variable, store: GradStore, options: BackwardOptions = {}): void {
  const { retainGrad = false, createGraph = false } = options;
  const funcs: Function[] = [];
  const seen = new Set<Function>();
  const addFunc = (f: Function) => {
    if (seen.has(f)) return;
    seen.add(f);
    let i = funcs.length; // insertion keeps funcs sorted by generation
    while (i > 0 && funcs[i - 1].generation > f.generation) i--;
    funcs.splice(i, 0, f);
  };
  // the sums this pass made for a Variable (no one else holds them), which later terms may be
  // added into in place (the values of a fresh sum each time); a Variable's entry goes when its
  // creator reads its gradient
  let sums: Map<Variable, Variable> | null = null; // made at the first sum (most passes add none)
  const inPlace = !createGraph && tracer === null;
  const first = store.creator(root);
  if (first !== null) addFunc(first);
  const record = Config.enableBackprop;
  Config.enableBackprop = createGraph; // the backward graph only when asked
  try {
    while (funcs.length) {
      const f = funcs.pop()!;
      let r: Variable | (Variable | null)[];
      if (tracer === null) r = backwardOf(f, store);
      else {
        tracer.backward(f);
        r = scoped(`${f.name} backward`, null, () => backwardOf(f, store));
      }
      if (sums !== null) { for (const o of f.outputs) sums.delete(o.deref()); }
      const gxs = Array.isArray(r) ? r : [r];
      if (gxs.length !== f.inputs.length) {
        throw new TypeError(
          `backward of ${f.name}: returned ${gxs.length} gradients for ${f.inputs.length} inputs`,
        );
      }
      for (let i = 0; i < f.inputs.length; i++) {
        const x = f.inputs[i], gx = gxs[i];
        if (gx === null || gx === undefined) continue;
        if (gx === INNER) {
          const c = store.creator(x);
          if (c !== null) addFunc(c);
          continue;
        }
        if (!(gx instanceof Variable)) {
          throw new TypeError(
            `backward of ${f.name}: the gradient of input ${i} must be a Variable or null, got ${
              show(gx)
            } (wrap an array: new Variable(a))`,
          );
        }
        if (!sameShape(gx.shape, x.shape)) {
          throw new Error(
            `backward of ${f.name}: gradient shape ${
              fmtShape(gx.shape)
            } does not match input shape ${fmtShape(x.shape)}`,
          );
        }
        if (store.take === undefined || !store.take(f, i, gx)) {
          const g = store.get(x);
          if (g === null) {
            store.set(x, gx instanceof LentGradient ? new Variable(gx.data.copy()) : gx);
          } else if (g === sums?.get(x) && g.dtype === gx.dtype) g.data.iadd(gx.data);
          else {
            const sum = ops().add(g, gx);
            store.set(x, sum);
            if (inPlace) (sums ??= new Map()).set(x, sum);
          }
        }
        const c = store.creator(x);
        if (c !== null) addFunc(c);
      }
      if (!retainGrad) {
        for (const o of f.outputs) store.set(o.deref(), null);
      }
    }
  } finally {
    Config.enableBackprop = record;
  }
}

/**
 * A gradient a function's backward lends: its array's memory is reused
 * after the pass has added it where it goes, so `backprop` copies it where
 * it keeps it (an input's first gradient) and only reads it where it adds
 * it to one. The JIT's replayed pieces hand out the buffers of their
 * compiled backward this way instead of copying every gradient out.
 */
export class LentGradient extends Variable {}

/**
 * What a function's backward returns for an input whose gradient stays
 * inside it: the JIT's pieces of a replayed call (one per function the call
 * applied, so that a backward pass visits them in eager's order) share one
 * compiled backward, which adds the gradients between them itself.
 * `backprop` schedules such an input's creator and adds nothing.
 */
export const INNER: Variable = new Variable(0, "inner");

/** `f.backward` on its outputs' gradients. */
function backwardOf(f: Function, store: GradStore): Variable | (Variable | null)[] {
  const outs = f.outputs;
  return outs.length === 1
    ? f.backward(store.get(outs[0].deref())!)
    : f.backward(...outs.map((o) => store.get(o.deref())!));
}

inspectAsString(Variable);

/**
 * A Variable that a Layer treats as a trainable parameter. Its data must be
 * float32 or float64: gradient descent cannot update integers in place
 * (PyTorch refuses gradients on integer tensors too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const W = new dz.Parameter(dz.array([1.0, 2.0], { dtype: "float64" }), "W");
 * assert.equal(W.dtype, "float64");
 * // JS reads 1.0 as 1: dz.array([1.0]) is int32, which a Parameter refuses
 * assert.throws(() => new dz.Parameter(dz.array([1.0])), /cannot train int32 data/);
 * ```
 */
export class Parameter extends Variable {
  /** Wraps float `data` (as Variable's constructor; integer data is refused). */
  constructor(data: ArrayLike, name: string | null = null) {
    super(data, name);
    if (!isFloat(this.dtype)) {
      throw new TypeError(`Parameter: cannot train ${this.dtype} data (${FLOAT_HINT})`);
    }
  }
}

/** The NDArray a Variable made by `op` holds for `data` (a number is a float64 scalar, as DeZero's `np.array(2.0)`). */
function dataOf(data: unknown, op: string): NDArray {
  if (data instanceof NDArray) return data;
  return fromValues(data, typeof data === "number" ? "float64" : undefined, op);
}

/**
 * `x` as a Variable (numbers and arrays are wrapped); errors name `op`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as dz from "@dezero/dezero-ts";
 * const v = new dz.Variable(1);
 * assert.equal(dz.asVariable(v), v);
 * assert.equal(String(dz.asVariable([1, 2])), "variable([1 2])");
 * ```
 */
export function asVariable(x: VariableLike, op = "Variable"): Variable {
  return x instanceof Variable ? x : new Variable(dataOf(x, op));
}
