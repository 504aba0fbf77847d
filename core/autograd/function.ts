/**
 * The autograd function base class (DeZero's `Function`): a node of the
 * graph that computes outputs from inputs in `forward` (on NDArrays) and
 * input gradients from output gradients in `backward` (on Variables, so the
 * backward pass is itself differentiable).
 * @module
 */
import { Config } from "./config.ts";
import { scoped, tracer } from "../hooks.ts";
import { NDArray } from "../array/ndarray.ts";
import { show } from "../validate.ts";
import { asVariable, Variable, type VariableLike } from "./variable.ts";

/**
 * A reference to a Variable (a function's outputs, a layer's last inputs and
 * outputs), with DeZero's weakref call
 * shape (`deref()`). It is a strong reference on purpose: JS's tracing GC
 * collects the Variable <-> Function cycle by itself, while a `WeakRef`
 * target stays alive until the current synchronous job ends, which would
 * pin every step's activations for a whole training loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Variable } from "@dezero/dezero-ts";
 * const y = new Variable(2).mul(3);
 * assert.equal(y.creator!.outputs[0].deref(), y);
 * ```
 */
export class VariableRef {
  /** Refers to `value`. */
  constructor(private readonly value: Variable) {}
  /** The referenced Variable. */
  deref(): Variable {
    return this.value;
  }
}

/**
 * Base class of every differentiable function. Subclass it with `forward`
 * and `backward`, then call `new MyFn().apply(x)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Function, NDArray, Variable } from "@dezero/dezero-ts";
 * class Square extends Function {
 *   forward(x: NDArray): NDArray {
 *     return x.mul(x);
 *   }
 *   backward(gy: Variable): Variable {
 *     return this.inputs[0].mul(2).mul(gy);
 *   }
 * }
 * const x = new Variable(3);
 * const y = new Square().apply(x);
 * y.backward();
 * assert.equal(String(y), "variable(9.0)");
 * assert.equal(String(x.grad), "variable(6.0)");
 * ```
 */
export abstract class Function {
  /** The input Variables of the call (set by `apply`). */
  inputs: Variable[] = [];
  /** References to the outputs (`outputs[0].deref()`, DeZero's `outputs[0]()`). */
  outputs: VariableRef[] = [];
  /** Topological generation: one more than the newest input's. */
  generation = 0;

  /** Computes the outputs from the inputs' arrays. */
  abstract forward(...xs: NDArray[]): NDArray | NDArray[];

  /** Computes the inputs' gradients from the outputs' gradients. */
  abstract backward(...gys: Variable[]): Variable | (Variable | null)[];

  /** Display name of the op (DeZero's class name), used by getDotGraph. */
  get name(): string {
    return this.constructor.name;
  }

  /** Calls the function on Variables (or arrays/numbers); returns the output. */
  apply(...inputs: VariableLike[]): Variable {
    return this.call(inputs)[0];
  }

  /** Like `apply`, returning every output. */
  applyAll(...inputs: VariableLike[]): Variable[] {
    return this.call(inputs);
  }

  /** Runs `forward` on the inputs' arrays and, when recording, links the graph. */
  private call(inputs: VariableLike[]): Variable[] {
    const xs: Variable[] = [], arrays: NDArray[] = [];
    for (const input of inputs) {
      const x = input instanceof Variable ? input : asVariable(input, this.name);
      xs.push(x);
      arrays.push(x.data);
    }
    let ys: NDArray | NDArray[];
    if (tracer === null) ys = this.run(arrays);
    else {
      tracer.apply(this, xs);
      ys = scoped(this.name, null, () => this.run(arrays));
    }
    const outputs = Array.isArray(ys) ? ys.map((y) => this.output(y)) : [this.output(ys)];
    if (Config.enableBackprop) {
      let gen = 0;
      for (const x of xs) if (x.generation > gen) gen = x.generation;
      this.generation = gen;
      this.inputs = xs;
      this.outputs = [];
      for (const y of outputs) {
        y.setCreator(this);
        this.outputs.push(new VariableRef(y));
      }
    }
    return outputs;
  }

  /** `forward` on the arrays (direct calls: a spread call costs more than a small op's kernel). */
  private run(arrays: NDArray[]): NDArray | NDArray[] {
    const n = arrays.length;
    return n === 1
      ? this.forward(arrays[0])
      : n === 2
      ? this.forward(arrays[0], arrays[1])
      : this.forward(...arrays);
  }

  /** An output of `forward` as a Variable (a number as a float64 scalar, as DeZero's `as_array`). */
  private output(y: unknown): Variable {
    if (y instanceof NDArray) return new Variable(y);
    if (typeof y === "number") return new Variable(y);
    throw new TypeError(
      `${this.name}.forward: must return an NDArray or a list of them, got ${show(y)}`,
    );
  }
}
