/**
 * The harness of a module made by `step.export()` (jit/export.ts bundles it
 * into each): it holds the module's state (parameters by dotted name, their
 * gradients, the arrays the function read from its closure), checks each
 * call's arguments against the traced signature, binds them and the state
 * to the tape, replays it, applies the tape's writebacks and copies the
 * results out, as the JIT's Replayer (jit/tape.ts) does for Variables.
 * Nothing here knows NDArray: arguments are typed arrays or anything with
 * `shape` and `data` (an NDArray, a Variable), results plain records.
 * @module
 */
import { arrayCtor, type DType, dtypeOf, type TypedArray } from "../core/array/dtype.ts";
import { fmtShape, sameShape, sizeOf } from "../core/array/shape_rules.ts";

/** An array an exported module takes or returns: NDArray's public fields. */
export interface ExportedArray {
  /** Length of each axis. */
  shape: number[];
  /** Element type. */
  dtype: DType;
  /** The elements, row-major. */
  data: TypedArray;
}

/** An array stored in a module: dtype, shape and its little-endian bytes as base64. */
export interface StoredArray {
  /** Element type. */
  dtype: DType;
  /** Length of each axis. */
  shape: number[];
  /** The bytes, base64. */
  base64: string;
}

/** Where an array a replay reads or leaves lives: `B[k]`, a tape buffer, or a closure array. */
export type Ref = { bound: number } | { buffer: string } | { constant: string };

/** The shape of the function's result, its arrays by `Ref`. */
export type ResultSpec =
  | { kind: "array"; ref: Ref; shape: number[] }
  | { kind: "number"; value: number }
  | { kind: "none" }
  | { kind: "list"; items: ResultSpec[] };

/** A traced argument: an array's dtype and shape, or a primitive baked into the tape. */
export type ArgSpec = { dtype: DType; shape: number[] } | { literal: string };

/** What the exporter records of a tape (plain data, written into the module as JSON). */
export interface ExportSpec {
  /** The function's name, for errors. */
  name: string;
  /** The traced arguments. */
  args: ArgSpec[];
  /** What `replay(B)` takes, in order: an argument, or a parameter's data or gradient. */
  bound: ({ arg: number } | { param: string } | { grad: string })[];
  /** Parameter values, by dotted name. */
  params: Record<string, StoredArray>;
  /** Gradients (null: none), by parameter name, where a call reads or writes them. */
  grads: Record<string, StoredArray | null>;
  /** The arrays the function read from its closure (optimizer moments...), by buffer name. */
  constants: Record<string, StoredArray>;
  /** What a call leaves in a parameter's data or gradient (`ref` null: no gradient). */
  writebacks: { param: string; field: "data" | "grad"; ref: Ref | null }[];
  /** Gradient presence the tape was traced with, by parameter. */
  guards: { param: string; present: boolean }[];
  /** The result. */
  result: ResultSpec;
}

/** An instantiated tape module (jit/codegen/driver.ts). */
export interface TapeInstance {
  /** Runs the steps on this call's arrays. */
  replay(bound: TypedArray[]): void;
  /** The tape's own buffers, by name. */
  buffers: Record<string, TypedArray>;
}

/** What an exported module exports, besides `hyper`. */
export interface Standalone {
  /** The exported function: same arguments as the jitted one; arrays come back as records. */
  step: (...args: unknown[]) => unknown;
  /** Copies of the parameters, by dotted name. */
  weights: () => Record<string, ExportedArray>;
  /** Copies values into the named parameters (names, shapes and dtypes must match). */
  setWeights: (weights: Record<string, ExportedArray | TypedArray>) => void;
}

/** `bytes` as base64 (in chunks: an argument list has a length limit). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** `data` of `shape` as a StoredArray. */
export function store(data: TypedArray, shape: number[]): StoredArray {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { dtype: dtypeOf(data), shape: [...shape], base64: toBase64(bytes) };
}

/** A fresh typed array holding a StoredArray's values. */
function load(s: StoredArray): TypedArray {
  const bytes = Uint8Array.from(atob(s.base64), (c) => c.charCodeAt(0));
  return new (arrayCtor(s.dtype))(bytes.buffer);
}

/** A typed array of ours (the only element types the tape reads). */
function isTyped(x: unknown): x is TypedArray {
  return x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array;
}

/** The elements and (where given) shape of an argument: a typed array, an NDArray or a Variable. */
function elementsOf(a: unknown): { data: TypedArray; shape?: unknown } | null {
  if (isTyped(a)) return { data: a };
  for (let x = a, depth = 0; depth < 2; depth++) {
    if (x === null || typeof x !== "object" || !("data" in x)) return null;
    const { data, shape } = x as { data: unknown; shape?: unknown };
    if (isTyped(data)) return { data, shape };
    x = data;
  }
  return null;
}

/** A short description of a value, for errors. */
function describe(a: unknown): string {
  const x = elementsOf(a);
  if (x === null) return a === null ? "null" : typeof a;
  const shape = Array.isArray(x.shape) ? ` of shape ${fmtShape(x.shape)}` : "";
  return `a ${dtypeOf(x.data)} array of ${x.data.length} elements${shape}`;
}

/** A traced primitive argument back from its text (`String(value)`). */
function literal(text: string): unknown {
  return text === "undefined" ? undefined : text === "null" ? null : Number(text);
}

/** A tape module bound to its state: what an exported module runs. */
class Harness {
  readonly #spec: ExportSpec;
  /** "exported NAME", for errors. */
  readonly #who: string;
  readonly #params: Map<string, TypedArray>;
  readonly #grads: Map<string, TypedArray | null>;
  readonly #host: Record<string, unknown>;
  readonly #tape: TapeInstance;
  /** This call's arrays of the tape's per-call slots. */
  readonly #bound: TypedArray[];

  constructor(
    spec: ExportSpec,
    factory: (rt: unknown, host: unknown) => TapeInstance,
    rt: Record<string, unknown>,
    hostSteps: Record<string, () => unknown>,
  ) {
    this.#spec = spec;
    this.#who = `exported ${spec.name}`;
    this.#params = new Map(Object.entries(spec.params).map(([n, s]) => [n, load(s)]));
    this.#grads = new Map(
      Object.entries(spec.grads).map(([n, s]) => [n, s === null ? null : load(s)]),
    );
    this.#host = { ...hostSteps };
    for (const [name, s] of Object.entries(spec.constants)) this.#host[name] = load(s);
    this.#tape = factory(rt, this.#host);
    this.#bound = new Array(spec.bound.length);
  }

  /** Checks and binds the arguments, replays the tape, applies its writebacks. */
  step(args: unknown[]): unknown {
    const spec = this.#spec;
    if (args.length !== spec.args.length) {
      throw new TypeError(
        `${this.#who}: expected ${spec.args.length} arguments, got ${args.length}`,
      );
    }
    const arrays = spec.args.map((want, i) => this.#input(args[i], i, want));
    for (const g of spec.guards) {
      if ((this.#grads.get(g.param) != null) !== g.present) {
        throw new Error(
          `${this.#who}: parameter '${g.param}' ${
            g.present ? "has no gradient" : "has a gradient"
          }, unlike when the function was traced`,
        );
      }
    }
    spec.bound.forEach((b, k) => {
      this.#bound[k] = "arg" in b
        ? arrays[b.arg]!
        : "param" in b
        ? this.#params.get(b.param)!
        : this.#gradOf(b.grad);
    });
    this.#tape.replay(this.#bound);
    for (const w of spec.writebacks) this.#writeBack(w);
    return this.#mirror(spec.result);
  }

  /** Copies of the parameters, by name. */
  weights(): Record<string, ExportedArray> {
    return Object.fromEntries(
      [...this.#params].map(([name, data]) => {
        const { shape, dtype } = this.#spec.params[name];
        return [name, { shape: [...shape], dtype, data: data.slice() }];
      }),
    );
  }

  /** Copies `w`'s arrays into the named parameters, once all are checked. */
  setWeights(w: Record<string, ExportedArray | TypedArray>): void {
    const who = `${this.#who}.setWeights`;
    if (w === null || typeof w !== "object") {
      throw new TypeError(`${who}: expected an object of arrays by name, got ${w}`);
    }
    const checked = Object.entries(w).map(([name, a]) => {
      const p = this.#params.get(name);
      if (p === undefined) {
        throw new RangeError(
          `${who}: no parameter '${name}' (there are ${[...this.#params.keys()].join(", ")})`,
        );
      }
      const { dtype, shape } = this.#spec.params[name];
      return [p, checkArray(a, dtype, shape, `${who}: '${name}' must be`)] as const;
    });
    for (const [p, data] of checked) p.set(data);
  }

  /** The elements of argument `i` (null for a primitive, which must equal the traced one). */
  #input(a: unknown, i: number, want: ArgSpec): TypedArray | null {
    if ("dtype" in want) {
      const what = `${this.#who}: argument ${i} must be`;
      return checkArray(a, want.dtype, want.shape, what, " (the shape traced)");
    }
    if (!Object.is(a, literal(want.literal))) {
      throw new TypeError(
        `${this.#who}: argument ${i} was traced as ${want.literal} and is baked in; got ${
          typeof a === "number" ? a : describe(a)
        }`,
      );
    }
    return null;
  }

  /** The gradient of parameter `name` (there must be one). */
  #gradOf(name: string): TypedArray {
    const g = this.#grads.get(name);
    if (g == null) throw new Error(`${this.#who}: parameter '${name}' has no gradient`);
    return g;
  }

  /** The array `ref` names, after a replay. */
  #array(ref: Ref): TypedArray {
    if ("bound" in ref) return this.#bound[ref.bound];
    if ("buffer" in ref) return this.#tape.buffers[ref.buffer];
    return this.#host[ref.constant] as TypedArray;
  }

  /** Sets a parameter's data (copied in) or gradient (copied, or gone) as the call left it. */
  #writeBack(w: ExportSpec["writebacks"][number]): void {
    const from = w.ref === null ? null : this.#array(w.ref);
    if (w.field === "data") this.#params.get(w.param)!.set(from!);
    else if (from === null) this.#grads.set(w.param, null);
    else {
      const g = this.#grads.get(w.param);
      if (g != null && g !== from) g.set(from);
      else this.#grads.set(w.param, from.slice());
    }
  }

  /** The result, its arrays copied out as `{ shape, dtype, data }`. */
  #mirror(r: ResultSpec): unknown {
    switch (r.kind) {
      case "array": {
        const data = this.#array(r.ref).slice();
        return { shape: [...r.shape], dtype: dtypeOf(data), data };
      }
      case "number":
        return r.value;
      case "none":
        return undefined;
      case "list":
        return r.items.map((item) => this.#mirror(item));
    }
  }
}

/**
 * `a`'s elements if it is a `dtype` array of `shape` (a typed array: of its
 * size), else a TypeError starting with `what`, `note` after the shape.
 */
function checkArray(
  a: unknown,
  dtype: DType,
  shape: number[],
  what: string,
  note = "",
): TypedArray {
  const x = elementsOf(a);
  if (
    x === null || dtypeOf(x.data) !== dtype ||
    !(Array.isArray(x.shape) ? sameShape(x.shape, shape) : x.data.length === sizeOf(shape))
  ) {
    throw new TypeError(
      `${what} a ${dtype} array of shape ${fmtShape(shape)}${note}, got ${describe(a)}`,
    );
  }
  return x.data;
}

/**
 * The exported function and the state access of a tape module `factory`,
 * as `spec` describes them; `rt` holds the runtime names its text reads,
 * `hostSteps` its host scalars and effects by name.
 */
export function standalone(
  spec: ExportSpec,
  factory: (rt: unknown, host: unknown) => TapeInstance,
  rt: Record<string, unknown>,
  hostSteps: Record<string, () => unknown>,
): Standalone {
  const h = new Harness(spec, factory, rt, hostSteps);
  return {
    step: (...args) => h.step(args),
    weights: () => h.weights(),
    setWeights: (w) => h.setWeights(w),
  };
}
