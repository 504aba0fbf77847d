/**
 * The JIT's intermediate representation: a straight-line SSA program of
 * kernel calls with concrete shapes and dtypes, and where each source value
 * comes from at replay.
 * @module
 */
import type { Attrs, HostRule } from "../core/hooks.ts";
import type { OpName } from "../core/registry.ts";
import type { DType } from "../core/array/dtype.ts";
import { type NDArray, RAW } from "../core/array/ndarray.ts";
import type { Variable } from "../core/autograd/variable.ts";

/** Where a value that no traced kernel produced is read from at replay. */
export type Source =
  /** The data of argument `index` of the call. */
  | { kind: "arg"; index: number }
  /** A tracked Variable's (Parameter's) current data. */
  | { kind: "var"; variable: Variable }
  /** A tracked Variable's current gradient data (argument `arg`'s, for an argument). */
  | { kind: "grad"; variable: Variable; arg?: number }
  /** The data of the Variable a layer holds as state, `owner[key]`, at the call. */
  | { kind: "state"; owner: object; key: string }
  /** An array bound by reference (constants, optimizer state). */
  | {
    kind: "const";
    array: NDArray;
    /**
     * A scalar holding the value of one of the call's number arguments: read
     * from `array` at replay, never baked into the code, so calls with other
     * numbers compile to the same text (V8 keeps every distinct text).
     */
    number?: true;
  }
  /** A host scalar: the 0-d `array`, refreshed from `fn` at replay (`rule`: its exportable form). */
  | { kind: "scalar"; array: NDArray; fn: () => number; rule: HostRule<object, number> | null };

/** One SSA value: the result of a node or a source. */
export interface Value {
  /** Index in `Graph.values`. */
  id: number;
  /** Concrete shape. */
  shape: number[];
  /** Element type. */
  dtype: DType;
  /** Where it comes from, for values not produced by a node. */
  source?: Source;
  /** For an in-place write into a source: the value whose buffer it overwrites. */
  target?: number;
}

/** What a node does: a primitive, or a host step (refresh a host scalar, run a host effect). */
export type NodeOp = OpName | "$scalar" | "$effect";

/** One recorded kernel call (or host step: `$scalar`, `$effect`). */
export interface Node {
  /** Primitive name or host step. */
  op: NodeOp;
  /** Input value ids. */
  inputs: number[];
  /** Static attributes of the call. */
  attrs: Attrs;
  /** Output value id (-1 for effects). */
  out: number;
  /** The host function of an `$effect` node. */
  fn?: () => void;
  /** The exportable form of an `$effect` node's function, where it has one. */
  rule?: HostRule<object, void> | null;
  /**
   * What the call came from: the scopes open when it was recorded, outermost
   * first (`MLP > Linear layers.0 > Linear`, `Exp backward > Mul`).
   */
  scope?: string;
}

/** What a replay writes back into a tracked Variable. */
export interface Writeback {
  /** The Variable (for an argument, the traced one: replays use `arg`). */
  variable: Variable;
  /** For an argument Variable: its index in the call's arguments. */
  arg?: number;
  /** `data` (reassigned) or `grad`. */
  field: "data" | "grad";
  /** The value it ends up holding (null: no gradient). */
  value: number | null;
}

/** The shape of `fn`'s result, with Variables/arrays replaced by value ids. */
export type Result =
  | { kind: "variable"; value: number }
  | { kind: "array"; value: number }
  | { kind: "number"; value: number }
  | { kind: "none" }
  | { kind: "list"; items: Result[] };

/**
 * A Variable whose gradient the trace read or built on without clearing it
 * first: a replay is only valid when its gradient is present (or absent)
 * at the call as it was during the trace.
 */
export interface GradGuard {
  /** The Variable (for an argument, the traced one: replays use `arg`). */
  variable: Variable;
  /** For an argument Variable: its index in the call's arguments. */
  arg?: number;
  /** Whether the gradient was present. */
  present: boolean;
}

/** A slot of layer state, `owner[key]` (an RNN's `h`). */
export interface StateSlot {
  /** The layer. */
  owner: object;
  /** The field. */
  key: string;
}

/** Layer state read before any write: a replay needs it present or absent as traced. */
export interface StateRead extends StateSlot {
  /** Whether a Variable was there (rather than null). */
  present: boolean;
}

/** Layer state a replay leaves: a Variable holding `value`, or null (no state). */
export interface StateWrite extends StateSlot {
  /** The value id, or null. */
  value: number | null;
}

/**
 * A Variable of the call that the traced backward stopped at (argument
 * `arg`, or layer state): a replay needs it to be a leaf (no creator), as it
 * was, or eager's backward would have gone on into its graph.
 */
export type Leaf = { arg: number } | StateSlot;

/**
 * A field of a layer the trace ran that held a parameter or a sub-layer
 * (`owner[key]`, or `owner[key][index]` for a list): a replay is only
 * valid while it holds the same object (replacing `lin.W` retraces).
 */
export interface FieldGuard {
  /** The layer. */
  owner: object;
  /** The field. */
  key: string;
  /** The position in the field's list, for a list. */
  index?: number;
  /** What it held. */
  value: object;
}

/** A traced program. */
export interface Graph {
  /** Gradient states the program depends on. */
  guards: GradGuard[];
  /** Layer fields the program depends on. */
  fields: FieldGuard[];
  /** Layer state read (before any write) and its presence at the trace. */
  stateReads: StateRead[];
  /** Layer state written, and what it holds after the call. */
  stateWrites: StateWrite[];
  /** Variables of the call that must be leaves. */
  leaves: Leaf[];
  /**
   * Values a replay keeps a copy of for the backward of the graph it hands
   * out (jit/vjp.ts); empty when results carry no graph.
   */
  saved: number[];
  /** Every value. */
  values: Value[];
  /** Kernel calls in execution order. */
  nodes: Node[];
  /** Variable fields to set after a replay. */
  writebacks: Writeback[];
  /** The mirrored return value. */
  result: Result;
}

/** Ids of every value a result refers to. */
export function resultValues(r: Result, out: number[] = []): number[] {
  if (r.kind === "variable" || r.kind === "array") out.push(r.value);
  if (r.kind === "list") { for (const item of r.items) resultValues(item, out); }
  return out;
}

/** The values a replay must leave readable: results, writebacks, state and saved values. */
export function liveOuts(g: Graph): Set<number> {
  const s = new Set([...resultValues(g.result), ...g.saved]);
  for (const w of [...g.writebacks, ...g.stateWrites]) if (w.value !== null) s.add(w.value);
  return s;
}

/**
 * The value of `v` when it is a true constant scalar: a bound single-element
 * array (not a host scalar, which is refreshed at replay) that no traced
 * kernel writes into, or a reshape of one. Code generators bake it in as a
 * literal.
 */
export function constantScalar(g: Graph, v: number): number | undefined {
  const index = graphIndex(g);
  const base = index.reshapeOf.get(v);
  if (base !== undefined) return constantScalar(g, base);
  const x = g.values[v];
  if (x.source?.kind !== "const" || x.source.array.size !== 1 || x.source.number) return undefined;
  if (index.targeted.has(v)) return undefined;
  return x.source.array[RAW][0];
}

/** What `constantScalar` looks up: each reshape's input, and the values written in place. */
interface GraphIndex {
  /** Nodes indexed so far (a graph being built grows). */
  seen: number;
  reshapeOf: Map<number, number>;
  targeted: Set<number>;
}

const indexes = new WeakMap<Node[], GraphIndex>();

/** The index of `g`, brought up to date with its nodes (linear overall, not per lookup). */
function graphIndex(g: Graph): GraphIndex {
  let index = indexes.get(g.nodes);
  if (index === undefined) {
    const targeted = new Set<number>();
    for (const w of g.values) if (w.target !== undefined) targeted.add(w.target);
    indexes.set(g.nodes, index = { seen: 0, reshapeOf: new Map(), targeted });
  }
  for (; index.seen < g.nodes.length; index.seen++) {
    const n = g.nodes[index.seen];
    if (n.op === "reshape" && !index.reshapeOf.has(n.out)) index.reshapeOf.set(n.out, n.inputs[0]);
  }
  return index;
}
