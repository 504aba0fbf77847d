/**
 * What a replay depends on, in one place: the call's signature (each
 * argument's kind, dtype and shape, which arguments are the same object or
 * share an array, the autograd and train modes), the cache key made from
 * it, and the guards a trace leaves (the gradients it found present or
 * absent, the parameters and sub-layers it found in each layer's fields).
 * A replay runs only when all of them hold; else the call traces again.
 * @module
 */
import { sharesMemory } from "../core/array/alloc.ts";
import { NDArray, RAW } from "../core/array/ndarray.ts";
import { Config } from "../core/autograd/config.ts";
import { Variable } from "../core/autograd/variable.ts";
import type { Graph, StateSlot } from "./ir.ts";

/** One argument's part of a signature: an array's kind, dtype, shape and aliasing, or a primitive. */
export type ArgSignature =
  | { kind: "V" | "A"; dtype: string; shape: number[]; alias: number }
  | { value: unknown };

/** What a tape is specialised for: the arguments and the autograd/train modes. */
export interface Signature {
  /** Each argument's part. */
  args: ArgSignature[];
  /** Config.enableBackprop at the call. */
  backprop: boolean;
  /** Config.train at the call. */
  train: boolean;
  /** Whether two array arguments overlap in memory without being one array (run eagerly). */
  overlap: boolean;
  /** The cache key. */
  key: string;
}

/** How argument `i` relates to an earlier one. */
const SAME_OBJECT = 1, SAME_ARRAY = 2, OVERLAP = 3;

/**
 * `j * 4 + relation` for the first earlier array argument `j` that argument
 * `i` is (the same Variable or NDArray), shares its data NDArray with, or
 * overlaps in memory; -1 when none. Allocates nothing.
 */
function aliasOf(args: unknown[], i: number): number {
  const a = args[i];
  const da = a instanceof Variable ? a.data : a as NDArray;
  for (let j = 0; j < i; j++) {
    const b = args[j];
    if (!(b instanceof Variable) && !(b instanceof NDArray)) continue;
    if (a === b) return j * 4 + SAME_OBJECT;
    const db = b instanceof Variable ? b.data : b;
    if (da === db) return j * 4 + SAME_ARRAY;
    if (sharesMemory(da[RAW], db[RAW])) return j * 4 + OVERLAP;
  }
  return -1;
}

/** The signature of a call with `args`. */
export function signatureOf(args: unknown[]): Signature {
  let overlap = false;
  const parts = args.map((a, i): ArgSignature => {
    if (a instanceof Variable || a instanceof NDArray) {
      const alias = aliasOf(args, i);
      if (alias >= 0 && alias % 4 === OVERLAP) overlap = true;
      const kind = a instanceof Variable ? "V" : "A";
      return { kind, dtype: a.dtype, shape: [...a.shape], alias };
    }
    if (typeof a === "number" || a === undefined || a === null) return { value: a };
    throw new TypeError(
      `jit: argument ${i} is ${typeof a}; a jitted function takes Variables, NDArrays, numbers, null or undefined`,
    );
  });
  const text = parts.map((p) =>
    "value" in p ? `n${p.value}` : `${p.kind}${p.dtype}[${p.shape}]@${p.alias}`
  );
  const backprop = Config.enableBackprop, train = Config.train;
  const key = `${text.join("|")}|bp${+backprop}|tr${+train}`;
  return { args: parts, backprop, train, overlap, key };
}

/** Whether `args` have signature `s` (allocates nothing: the check on every call). */
export function matches(s: Signature, args: unknown[]): boolean {
  if (
    args.length !== s.args.length || s.backprop !== Config.enableBackprop ||
    s.train !== Config.train
  ) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i], want = s.args[i];
    if ("value" in want) {
      if (!Object.is(a, want.value)) return false;
      continue;
    }
    const kind = a instanceof Variable ? "V" : a instanceof NDArray ? "A" : null;
    if (kind !== want.kind) return false;
    const x = a as Variable | NDArray;
    if (x.dtype !== want.dtype || x.shape.length !== want.shape.length) return false;
    for (let d = 0; d < want.shape.length; d++) if (x.shape[d] !== want.shape[d]) return false;
    if (aliasOf(args, i) !== want.alias) return false;
  }
  return true;
}

/**
 * Whether the guards of traced graph `g` hold for a call with `args`: each
 * gradient the program read or built on is present (or absent) as it was;
 * each layer field that held a parameter or a sub-layer holds it still;
 * each slot of layer state read first holds a Variable (or not) as it did;
 * and each argument or state the traced backward stopped at is a leaf.
 */
export function guardsHold(g: Graph, args: unknown[]): boolean {
  for (const guard of g.guards) {
    const v = guard.arg === undefined ? guard.variable : args[guard.arg] as Variable;
    if ((v.grad !== null) !== guard.present) return false;
  }
  for (const f of g.fields) {
    let held = (f.owner as Record<string, unknown>)[f.key];
    if (f.index !== undefined) held = Array.isArray(held) ? held[f.index] : undefined;
    if (held !== f.value) return false;
  }
  for (const s of g.stateReads) if ((stateOf(s) !== null) !== s.present) return false;
  for (const leaf of g.leaves) {
    const v = "arg" in leaf ? args[leaf.arg] as Variable : stateOf(leaf);
    if (v?.creator !== null) return false;
  }
  return true;
}

/** The Variable (or null) a layer holds in a state slot now. */
export function stateOf(s: StateSlot): Variable | null {
  return (s.owner as Record<string, unknown>)[s.key] as Variable | null;
}
