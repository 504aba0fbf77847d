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
  const who = `exported ${spec.name}`;
  const params = new Map(Object.entries(spec.params).map(([n, s]) => [n, load(s)]));
  const grads = new Map(
    Object.entries(spec.grads).map(([n, s]) => [n, s === null ? null : load(s)]),
  );
  const host: Record<string, unknown> = { ...hostSteps };
  for (const [name, s] of Object.entries(spec.constants)) host[name] = load(s);
  const tape = factory(rt, host);
  const bound: TypedArray[] = new Array(spec.bound.length);

  const array = (ref: Ref): TypedArray =>
    "bound" in ref
      ? bound[ref.bound]
      : "buffer" in ref
      ? tape.buffers[ref.buffer]
      : host[ref.constant] as TypedArray;

  const input = (a: unknown, i: number): TypedArray => {
    const want = spec.args[i] as { dtype: DType; shape: number[] };
    const x = elementsOf(a);
    const fits = x !== null && dtypeOf(x.data) === want.dtype &&
      (Array.isArray(x.shape)
        ? sameShape(x.shape, want.shape)
        : x.data.length === sizeOf(want.shape));
    if (!fits) {
      throw new TypeError(
        `${who}: argument ${i} must be a ${want.dtype} array of shape ${
          fmtShape(want.shape)
        } (the traced shape), got ${describe(a)}`,
      );
    }
    return x!.data;
  };

  const mirror = (r: ResultSpec): unknown => {
    switch (r.kind) {
      case "array": {
        const data = array(r.ref).slice();
        return { shape: [...r.shape], dtype: dtypeOf(data), data };
      }
      case "number":
        return r.value;
      case "none":
        return undefined;
      case "list":
        return r.items.map(mirror);
    }
  };

  const step = (...args: unknown[]): unknown => {
    if (args.length !== spec.args.length) {
      throw new TypeError(`${who}: expected ${spec.args.length} arguments, got ${args.length}`);
    }
    const arrays: TypedArray[] = [];
    spec.args.forEach((want, i) => {
      if ("dtype" in want) arrays[i] = input(args[i], i);
      else if (!Object.is(args[i], literal(want.literal))) {
        throw new TypeError(
          `${who}: argument ${i} was traced as ${want.literal} and is baked in; got ${
            describe(args[i])
          }${typeof args[i] === "number" ? ` ${args[i]}` : ""}`,
        );
      }
    });
    for (const g of spec.guards) {
      if ((grads.get(g.param) != null) !== g.present) {
        throw new Error(
          `${who}: parameter '${g.param}' ${
            g.present ? "has no gradient" : "has a gradient"
          }, unlike when the function was traced`,
        );
      }
    }
    spec.bound.forEach((b, k) => {
      if ("arg" in b) bound[k] = arrays[b.arg];
      else if ("param" in b) bound[k] = params.get(b.param)!;
      else {
        const g = grads.get(b.grad);
        if (g == null) throw new Error(`${who}: parameter '${b.grad}' has no gradient`);
        bound[k] = g;
      }
    });
    tape.replay(bound);
    for (const w of spec.writebacks) {
      const from = w.ref === null ? null : array(w.ref);
      if (w.field === "data") params.get(w.param)!.set(from!);
      else if (from === null) grads.set(w.param, null);
      else {
        const g = grads.get(w.param);
        if (g != null && g !== from) g.set(from);
        else grads.set(w.param, from.slice());
      }
    }
    return mirror(spec.result);
  };

  const weights = (): Record<string, ExportedArray> =>
    Object.fromEntries(
      [...params].map(([name, data]) => [
        name,
        { shape: [...spec.params[name].shape], dtype: spec.params[name].dtype, data: data.slice() },
      ]),
    );

  const setWeights = (w: Record<string, ExportedArray | TypedArray>): void => {
    if (w === null || typeof w !== "object") {
      throw new TypeError(`${who}.setWeights: expected an object of arrays by name, got ${w}`);
    }
    const checked = Object.entries(w).map(([name, a]) => {
      const p = params.get(name), s = spec.params[name];
      if (p === undefined) {
        throw new RangeError(
          `${who}.setWeights: no parameter '${name}' (there are ${[...params.keys()].join(", ")})`,
        );
      }
      const x = elementsOf(a);
      const fits = x !== null && dtypeOf(x.data) === s.dtype &&
        (Array.isArray(x.shape) ? sameShape(x.shape, s.shape) : x.data.length === p.length);
      if (!fits) {
        throw new TypeError(
          `${who}.setWeights: '${name}' must be a ${s.dtype} array of shape ${
            fmtShape(s.shape)
          }, got ${describe(a)}`,
        );
      }
      return [p, x!.data] as const;
    });
    for (const [p, data] of checked) p.set(data);
  };

  return { step, weights, setWeights };
}
