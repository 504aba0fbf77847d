/**
 * Tracing: runs a function eagerly with a tracer installed in the dispatcher
 * and records every kernel call into a Graph (jit/ir.ts), with the layer
 * state it reads and writes and the autograd graph it builds. The same
 * recorder, in backward mode, records the backward of a traced graph for
 * jit/vjp.ts.
 * @module
 */
import { type Attrs, type HostRule, setTracer, type Tracer } from "../core/hooks.ts";
import { NDArray, RAW } from "../core/array/ndarray.ts";
import { show } from "../core/validate.ts";
import type { OpName } from "../core/registry.ts";
import type { Function } from "../core/autograd/function.ts";
import { Parameter, Variable } from "../core/autograd/variable.ts";
import type {
  FieldGuard,
  GradGuard,
  Graph,
  Leaf,
  Node,
  Result,
  Source,
  StateRead,
  StateSlot,
  StateWrite,
  Value,
  Writeback,
} from "./ir.ts";

/** The outcome of a trace: the graph, fn's real result, and what replays need to know. */
export interface TraceResult<R> {
  /** The recorded program. */
  graph: Graph;
  /** What `fn` returned on this eager run. */
  returned: R;
  /** Why a replay could not compute what eager does (null: it can). */
  eagerReason: string | null;
  /**
   * Parameters first used with data this trace computed (a lazily
   * initialised layer drawing its weights): replaying would redraw them.
   */
  initialized: Parameter[];
  /** The autograd graph the call built. */
  autograd: AutogradTrace;
  /** Why `fn`'s result cannot be replayed (it returned an object, a Promise...), if it cannot. */
  refused?: string;
}

/** The autograd side of a trace, for jit/vjp.ts. */
export interface AutogradTrace {
  /** Functions applied during the trace. */
  functions: Set<Function>;
  /** Functions whose backward ran during the trace. */
  backpropagated: Set<Function>;
  /** Each recorded array's value id at the end of the trace. */
  ids: Map<NDArray, number>;
  /** Argument Variables and their indices. */
  args: Map<Variable, number>;
  /** Layer state Variables read before any write, and their slots. */
  stateVars: Map<Variable, StateSlot>;
  /** Variables the result holds, in `graph.result`'s order. */
  results: Variable[];
  /** The Variables the written layer state ends with (null: reset). */
  stateEnds: (Variable | null)[];
}

/** What the recorder knows about one slot of layer state. */
interface StateEntry extends StateSlot {
  /** Presence at the first read, when it was read before any write. */
  read?: boolean;
  /** Set once the trace writes the slot: the Variable (or null) it holds. */
  written?: Variable | null;
}

/**
 * Where a backward recording finds an array the traced forward made: a
 * source to bind it from, or null (bind it by reference, as a constant).
 */
export type Resolve = (x: NDArray) => Source | null;

class Recorder implements Tracer {
  readonly values: Value[] = [];
  readonly nodes: Node[] = [];
  readonly ids = new Map<NDArray, number>();
  readonly tracked = new Map<Variable, NDArray | null>(); // Variable -> grad array at first sight
  /** Variables whose array the call replaced (`v.data = ...`), with the array they held first. */
  readonly replaced = new Map<Variable, NDArray>();
  readonly args = new Map<Variable, number>(); // argument Variable -> its index
  readonly clearedSet = new Set<Variable>(); // Variables whose gradient fn cleared
  readonly functions = new Set<Function>();
  readonly backpropagated = new Set<Function>();
  readonly states = new Map<object, Map<string, StateEntry>>();
  readonly stateVars = new Map<Variable, StateSlot>();
  readonly initialized: Parameter[] = [];
  eagerReason: string | null = null;

  /** Every layer whose scope the trace entered. */
  readonly owners = new Set<object>();

  /**
   * A forward recorder, or with `resolve`, one recording a traced graph's
   * backward; `numbers`: the call's number arguments.
   */
  constructor(readonly resolve: Resolve | null = null, readonly numbers: number[] = []) {}
  /** The open scopes, outermost first: labels, and the layer that opened each (or null). */
  readonly scopes: { label: string; owner: object | null }[] = [];
  /** The scope path of the nodes recorded now ("" outside any scope). */
  scope = "";

  source(x: NDArray, source: Source): number {
    const id = this.values.length;
    this.values.push({ id, shape: [...x.shape], dtype: x.dtype, source });
    this.ids.set(x, id);
    return id;
  }

  idOf(x: NDArray): number {
    return this.ids.get(x) ?? this.source(x, this.resolve?.(x) ?? this.constant(x));
  }

  /** An array the trace met unbound: a constant (a number argument's value, marked so). */
  constant(x: NDArray): Source {
    const v = x[RAW][0], f32 = x.dtype === "float32";
    const number = x.size === 1 &&
      this.numbers.some((n) => Object.is(n, v) || (f32 && Object.is(Math.fround(n), v)));
    return number ? { kind: "const", array: x, number } : { kind: "const", array: x };
  }

  track(v: Variable): void {
    if (this.tracked.has(v)) return;
    const g = v.grad?.data ?? null;
    this.tracked.set(v, g);
    const d = this.ids.get(v.data);
    if (d === undefined) this.source(v.data, { kind: "var", variable: v });
    else if (this.values[d].source === undefined && v instanceof Parameter) {
      this.initialized.push(v);
    }
    if (g !== null && !this.ids.has(g)) this.source(g, this.gradSource(v));
  }

  gradSource(v: Variable): Source {
    const arg = this.args.get(v);
    return arg === undefined ? { kind: "grad", variable: v } : { kind: "grad", variable: v, arg };
  }

  record(op: OpName, inputs: NDArray[], attrs: Attrs, out: NDArray): void {
    const ins = inputs.map((x) => this.idOf(x));
    const prev = this.ids.get(out);
    const id = this.values.length;
    const value: Value = { id, shape: [...out.shape], dtype: out.dtype };
    if (prev !== undefined && this.values[prev].source !== undefined) {
      value.target = prev; // an in-place write into a real array
    } else if (prev !== undefined && this.values[prev].target !== undefined) {
      value.target = this.values[prev].target;
    }
    this.values.push(value);
    this.ids.set(out, id);
    this.nodes.push({ op, inputs: ins, attrs: { ...attrs }, out: id, scope: this.scope });
  }

  enter(label: string, owner: object | null): void {
    if (owner !== null) this.owners.add(owner);
    const parent = this.scopes.findLast((s) => s.owner !== null)?.owner ?? null;
    const field = owner !== null && parent !== null ? fieldPath(parent, owner) : null;
    this.scopes.push({ label: field === null ? label : `${label} ${field}`, owner });
    this.scope = this.scopes.map((s) => s.label).join(" > ");
  }

  exit(): void {
    this.scopes.pop();
    this.scope = this.scopes.map((s) => s.label).join(" > ");
  }

  scalar(fn: () => number, out: NDArray, rule: HostRule<object, number> | null): void {
    const id = this.source(out, { kind: "scalar", array: out, fn, rule });
    this.nodes.push({ op: "$scalar", inputs: [], attrs: {}, out: id });
  }

  effect(fn: () => void, rule: HostRule<object, void> | null): void {
    this.nodes.push({ op: "$effect", inputs: [], attrs: {}, out: -1, fn, rule });
  }

  apply(f: Function, inputs: readonly Variable[]): void {
    this.functions.add(f);
    if (this.resolve !== null) return;
    for (const x of inputs) {
      if (x instanceof Parameter) this.track(x);
      else if (
        x.creator !== null && !this.functions.has(x.creator) && !this.args.has(x) &&
        !this.stateVars.has(x)
      ) {
        this.unsupported(
          "it reads a Variable with a graph built outside it, from its closure (pass it as an argument)",
        );
      }
    }
  }

  backward(f: Function): void {
    this.backpropagated.add(f);
    if (this.resolve === null && !this.functions.has(f)) {
      this.unsupported(
        "its backward runs into a graph built outside it (unchainBackward() the state or arguments it reads)",
      );
    }
  }

  cleared(v: object): void {
    if (v instanceof Variable) this.clearedSet.add(v);
  }

  dataSet(v: object, old: NDArray): void {
    if (v instanceof Variable && !this.replaced.has(v)) this.replaced.set(v, old);
  }

  valueRead(): void {
    this.unsupported("it reads array values on the JS side");
  }

  /** Notes that replays cannot stand in for eager calls, and why (the first reason wins). */
  unsupported(reason: string): void {
    this.eagerReason ??= reason;
  }

  /** The entry of slot `owner[key]`. */
  slot(owner: object, key: string): StateEntry {
    let byKey = this.states.get(owner);
    if (byKey === undefined) this.states.set(owner, byKey = new Map());
    let entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, entry = { owner, key });
    return entry;
  }

  stateRead(owner: object, key: string, value: unknown): void {
    const entry = this.slot(owner, key);
    if (entry.read !== undefined || entry.written !== undefined) return; // known already
    if (value !== null && !(value instanceof Variable)) {
      throw new TypeError(`readState: ${key} must hold a Variable or null, got ${typeof value}`);
    }
    entry.read = value !== null;
    if (value === null) return;
    this.stateVars.set(value, { owner, key });
    if (!this.ids.has(value.data)) this.source(value.data, { kind: "state", owner, key });
  }

  stateWrite(owner: object, key: string, value: unknown): void {
    if (value !== null && !(value instanceof Variable)) {
      throw new TypeError(
        `writeState: ${key} must be given a Variable or null, got ${typeof value}`,
      );
    }
    this.slot(owner, key).written = value;
  }

  mirror(r: unknown): Result {
    if (r instanceof Variable) return { kind: "variable", value: this.idOf(r.data) };
    if (r instanceof NDArray) return { kind: "array", value: this.idOf(r) };
    if (typeof r === "number") return { kind: "number", value: r };
    if (Array.isArray(r)) return { kind: "list", items: r.map((x) => this.mirror(x)) };
    if (r === undefined || r === null) return { kind: "none" };
    const what = r instanceof Promise ? "a Promise (is it an async function?)" : show(r);
    throw new TypeError(
      `jit: the function returned ${what}; a jitted function must be synchronous and return ` +
        "a Variable, an NDArray, a number, undefined or an array of them",
    );
  }

  writebacks(): Writeback[] {
    const out: Writeback[] = [];
    for (const [v, first] of this.tracked) {
      const arg = this.args.get(v);
      const at = arg === undefined ? {} : { arg };
      const d = this.ids.get(v.data);
      if (d === undefined || this.values[d].source === undefined) {
        out.push({ variable: v, ...at, field: "data", value: this.idOf(v.data) });
      }
      if (!this.gradTouched(v, first)) continue; // a forward-only call leaves grads alone
      const g = v.grad === null ? null : this.idOf(v.grad.data);
      if (g === null || this.values[g].source?.kind !== "grad") {
        out.push({ variable: v, ...at, field: "grad", value: g });
      }
    }
    return out;
  }

  /** Whether the trace cleared or changed `v`'s gradient (`first`: its array at first sight). */
  gradTouched(v: Variable, first: NDArray | null): boolean {
    return this.clearedSet.has(v) || (v.grad?.data ?? null) !== first;
  }

  /**
   * Tracked Variables whose gradient the trace built on without clearing it
   * first, with its state at first sight.
   */
  guards(): GradGuard[] {
    const out: GradGuard[] = [];
    for (const [v, g] of this.tracked) {
      if (this.clearedSet.has(v) || !this.gradTouched(v, g)) continue;
      const arg = this.args.get(v);
      out.push({ variable: v, ...(arg === undefined ? {} : { arg }), present: g !== null });
    }
    return out;
  }

  /** The fields of the layers the trace ran that held a Parameter or one of those layers. */
  fields(): FieldGuard[] {
    const out: FieldGuard[] = [];
    const kept = (x: unknown): x is object =>
      x instanceof Parameter || this.owners.has(x as object);
    for (const owner of this.owners) {
      for (const [key, value] of Object.entries(owner)) {
        if (kept(value)) out.push({ owner, key, value });
        else if (Array.isArray(value)) {
          value.forEach((v, index) => {
            if (kept(v)) out.push({ owner, key, index, value: v });
          });
        }
      }
    }
    return out;
  }

  /** Slots read before any write, with their presence then. */
  stateReads(): StateRead[] {
    return [...this.states.values()].flatMap((m) => [...m.values()])
      .flatMap(({ owner, key, read }) => read === undefined ? [] : [{ owner, key, present: read }]);
  }

  /** Slots written, with the Variable each ends with. */
  stateEnds(): { write: StateWrite; variable: Variable | null }[] {
    return [...this.states.values()].flatMap((m) => [...m.values()]).flatMap((e) => {
      if (e.written === undefined) return [];
      const variable = e.written;
      const value = variable === null ? null : this.idOf(variable.data);
      return [{ write: { owner: e.owner, key: e.key, value }, variable }];
    });
  }

  /**
   * Arguments and state the traced backward reached: it stopped there
   * because they were leaves, so replays need them to be leaves too.
   */
  leaves(): Leaf[] {
    const reached = new Set([...this.backpropagated].flatMap((f) => f.inputs));
    const out: Leaf[] = [];
    for (const [v, arg] of this.args) if (reached.has(v)) out.push({ arg });
    for (const [v, slot] of this.stateVars) if (reached.has(v)) out.push(slot);
    return out;
  }
}

/** The field (`l1`, `layers.0`) of `parent` that holds `child`, or null. */
function fieldPath(parent: object, child: object): string | null {
  for (const [name, value] of Object.entries(parent)) {
    if (value === child) return name;
    if (Array.isArray(value)) {
      const i = value.indexOf(child);
      if (i >= 0) return `${name}.${i}`;
    }
  }
  return null;
}

/** Thrown when a recording cannot be compiled; the message says why. */
export class Untraceable extends Error {}

/** Runs `fn(...args)` eagerly while recording its kernel calls. */
export function trace<R>(fn: (...args: unknown[]) => R, args: unknown[]): TraceResult<R> {
  const rec = new Recorder(null, args.filter((a): a is number => typeof a === "number"));
  args.forEach((a, index) => {
    const x = a instanceof Variable ? a.data : a instanceof NDArray ? a : null;
    if (x !== null && !rec.ids.has(x)) rec.source(x, { kind: "arg", index });
    if (a instanceof Variable && !rec.args.has(a)) {
      rec.args.set(a, index);
      rec.tracked.set(a, a.grad?.data ?? null);
    }
  });
  for (const [v, g] of rec.tracked) {
    if (g !== null && !rec.ids.has(g)) rec.source(g, rec.gradSource(v));
  }
  const returned = recording(rec, () => fn(...args));
  let result: Result = { kind: "none" }, refused: string | undefined;
  try {
    result = rec.mirror(returned);
  } catch (e) {
    refused = (e as Error).message;
  }
  const ends = rec.stateEnds();
  const graph: Graph = {
    guards: rec.guards(),
    fields: rec.fields(),
    stateReads: rec.stateReads(),
    stateWrites: ends.map((e) => e.write),
    leaves: rec.leaves(),
    saved: [],
    values: rec.values,
    nodes: rec.nodes,
    writebacks: rec.writebacks(),
    result,
  };
  const autograd: AutogradTrace = {
    functions: rec.functions,
    backpropagated: rec.backpropagated,
    ids: rec.ids,
    args: rec.args,
    stateVars: rec.stateVars,
    results: variablesOf(returned),
    stateEnds: ends.map((e) => e.variable),
  };
  for (const [v, old] of rec.replaced) {
    // a replay writes back the arrays of Variables it applies functions to, and reads the old
    // array where the call read it as a constant: neither would follow the replacement
    const d = rec.ids.get(old);
    if (!rec.tracked.has(v) || (d !== undefined && rec.values[d].source?.kind === "const")) {
      rec.unsupported(
        "it replaces the array of a Variable (x.data = ...) that it applies no function to or " +
          "read as a plain array first; update it in place (x.data.isub(...)) or outside",
      );
    }
  }
  const { eagerReason, initialized } = rec;
  return { graph, returned, eagerReason, initialized, autograd, ...(refused ? { refused } : {}) };
}

/**
 * Records the backward `run` computes (a backward pass over a traced graph):
 * arrays of the traced forward are bound where `resolve` says; `sources`
 * gives the sources of the arrays that come from the call (its seed
 * gradient, its inputs' data); the result is the list `grads`
 * returns.
 */
export function traceBackward(
  sources: [NDArray, Source][],
  resolve: Resolve,
  run: () => (Variable | null)[],
): Graph {
  const rec = new Recorder(resolve);
  for (const [x, s] of sources) if (!rec.ids.has(x)) rec.source(x, s);
  let grads: (Variable | null)[];
  try {
    grads = recording(rec, run);
  } catch (e) {
    // the backward throws for these values (an int32 x ** 0's gradient): eager
    // throws too, but only if the caller asks for it
    throw new Untraceable(`its backward throws (${(e as Error).message})`);
  }
  if (rec.eagerReason !== null) {
    throw new Untraceable(`its backward cannot be compiled: ${rec.eagerReason}`);
  }
  return {
    guards: [],
    fields: [],
    stateReads: [],
    stateWrites: [],
    leaves: [],
    saved: [],
    values: rec.values,
    nodes: rec.nodes,
    writebacks: [],
    result: {
      kind: "list",
      items: grads.map((g) => g === null ? { kind: "none" } : rec.mirror(g)),
    },
  };
}

/** `run()` with `rec` installed as the tracer. */
function recording<T>(rec: Recorder, run: () => T): T {
  const prev = setTracer(rec);
  try {
    return run();
  } finally {
    setTracer(prev);
  }
}

/** The Variables in a returned value, in mirror order. */
function variablesOf(r: unknown): Variable[] {
  if (r instanceof Variable) return [r];
  return Array.isArray(r) ? r.flatMap(variablesOf) : [];
}
