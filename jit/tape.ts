/**
 * The tape: a traced graph run through the passes, compiled into its
 * module text (jit/codegen/driver.ts) and instantiated, and its replay,
 * which binds the call's arguments and parameters, runs the steps and
 * writes the results back into the real Variables.
 * @module
 */
import { allocate } from "../core/array/alloc.ts";
import { dtypeOf, type TypedArray } from "../core/array/dtype.ts";
import { NDArray, RAW } from "../core/array/ndarray.ts";
import { sameShape, sizeOf } from "../core/array/shape_rules.ts";
import { LentGradient, Variable } from "../core/autograd/variable.ts";
import { backend } from "../core/backend/mod.ts";
import { ARRAY_KERNELS } from "../core/dispatch.ts";
import { type Driver, driverText, type HostStep, type TapeStats } from "./codegen/driver.ts";
import { constantScalar, type Graph, type Result, type Source } from "./ir.ts";
import { cse } from "./passes/cse.ts";
import { dce } from "./passes/dce.ts";
import { guardsHold, stateOf } from "./signature.ts";
import { fold } from "./passes/fold.ts";
import { fuse, type Fused } from "./passes/fusion.ts";
import { type BufferPlan, plan } from "./passes/plan.ts";

export type { TapeStats } from "./codegen/driver.ts";

/**
 * Gives the Variables a replay hands out (results, layer state) their
 * autograd graph: jit/vjp.ts's nodes.
 */
export interface Linker {
  /** The value ids whose Variables get a creator. */
  roots: number[];
  /**
   * Sets the creators of this call's Variables `outs` (its first
   * `roots.length` are the roots', in order), given the call's arguments, the
   * layer state it read (in `Graph.stateReads` order) and its copies of
   * `Graph.saved`.
   */
  link(outs: Variable[], args: unknown[], states: (Variable | null)[], saved: NDArray[]): void;
}

/** What a tape was compiled from and into: graph, fused steps, buffer plan, module text. */
export interface Compiled {
  /** The graph after the passes. */
  readonly g: Graph;
  /** Its fused steps. */
  readonly fused: Fused;
  /** Its buffers. */
  readonly bp: BufferPlan;
  /** The module text and what it expects. */
  readonly driver: Driver;
}

/** A compiled, replayable trace. */
export interface Tape extends Compiled {
  /**
   * Runs the tape on new arguments; returns what `fn` would have returned.
   * With `lendResults`, the Variables it returns are `LentGradient`s over
   * the tape's buffers, valid until its next replay; else over copies.
   */
  replay(args: unknown[], lendResults?: boolean): unknown;
  /** The module text that runs, as an ES module. */
  source: string;
  /** Kernel and fallback counts. */
  stats: TapeStats;
  /**
   * Whether this call's state invalidates the tape: a constant baked into the
   * code changed in place, a gradient the program depends on appeared or went,
   * layer state appeared or went, an argument or state that the traced
   * backward stopped at has a graph now, or an array changed shape or dtype.
   */
  stale(args: unknown[]): boolean;
}

/** What an instantiated tape module returns. */
interface Instance {
  replay(bound: TypedArray[]): void;
  buffers: Record<string, TypedArray>;
}

/** Compiles a traced graph into a tape; `linker` links the Variables it hands out. */
export function compileTape(traced: Graph, linker: Linker | null = null): Tape {
  const g = dce(cse(fold(traced)));
  const fused = fuse(g);
  const bp = plan(g, fused);
  const driver = driverText(g, fused, bp);
  const host = hostBindings(g, bp, driver);
  const factory = new Function(`return ${driver.text}`)();
  const instance = (factory as (
    rt: unknown,
    host: unknown,
  ) => Instance)(backend.runtime, host);
  return new Replayer(g, fused, bp, driver, instance, linker);
}

/** The `host` object of a tape: its closure constants and host steps by name. */
function hostBindings(g: Graph, bp: BufferPlan, d: Driver): Record<string, unknown> {
  const host: Record<string, unknown> = {};
  for (const i of d.constants) {
    host[bp.slots[i].name] = (sourceOf(g, bp, i) as ConstSource).array[RAW];
  }
  for (const h of d.hostSteps) host[h.name] = hostStep(g, h);
  return host;
}

type ConstSource = Extract<Source, { kind: "const" }>;

/** The source of bound slot `i`. */
export function sourceOf(g: Graph, bp: BufferPlan, i: number): Source {
  return g.values[bp.slots[i].value!].source!;
}

/** The function behind a host step: a host scalar or effect, or an eager kernel. */
function hostStep(g: Graph, { node: n }: HostStep): unknown {
  if (n.op === "$effect") return n.fn!;
  if (n.op === "$scalar") {
    const s = g.values[n.out].source;
    if (s?.kind !== "scalar") throw new Error("jit: bad host scalar");
    return s.fn;
  }
  // an eager fallback: the array kernel over views of the buffers it is given
  const kernel = ARRAY_KERNELS[n.op as keyof typeof ARRAY_KERNELS];
  const wrap = (v: number) => {
    const x = g.values[v];
    return new NDArray(allocate(x.dtype, sizeOf(x.shape)), x.shape);
  };
  const xs = n.inputs.map(wrap), out = wrap(n.out);
  const inPlace = g.values[n.out].target !== undefined;
  const { attrs } = n;
  return (...buffers: TypedArray[]) => {
    for (let k = 0; k < xs.length; k++) xs[k][RAW] = buffers[k];
    out[RAW] = buffers[xs.length];
    const r = kernel(xs, attrs, inPlace ? out : undefined);
    if (r[RAW] !== out[RAW]) out[RAW].set(r[RAW]);
  };
}

/** Binds a call's arrays to an instantiated tape, replays it and writes the results back. */
class Replayer implements Tape {
  readonly source: string;
  readonly stats: TapeStats;
  /** This call's arrays of the per-call slots, in the driver's order. */
  readonly #bound: TypedArray[];
  readonly #sources: Source[];
  /**
   * The tape's own buffers: writebacks and results get copies of them, so the next replay
   * cannot change what a user holds (only lent results, for backprop, are views of them).
   */
  readonly #owned: Set<TypedArray>;
  /** Scalars baked into the code as literals, with the arrays they came from. */
  readonly #baked: { array: NDArray; c: number }[];
  /** The values handed out as Variables (results, layer state), each once, the roots first. */
  readonly #outs: number[];
  /** This call's Variables of `#outs` (refilled by every replay). */
  readonly #made: Variable[] = [];

  constructor(
    readonly g: Graph,
    readonly fused: Fused,
    readonly bp: BufferPlan,
    readonly driver: Driver,
    readonly instance: Instance,
    readonly linker: Linker | null,
  ) {
    this.source =
      `// DeZero.ts JIT, tape ${driver.id}: ${driver.stats.kernels} kernels, ${driver.hostSteps.length} host steps, ${driver.stats.fallbacks} eager fallbacks.\n// rt: the backend's runtime (fast math, vector kernels over VEC, gemm, random draws,\n// wasmLoop); host: the arrays the traced function read from its closure, and its host steps.\nexport default ${driver.text}\n`;
    this.stats = driver.stats;
    this.#sources = driver.perCall.map((i) => sourceOf(g, bp, i));
    this.#bound = driver.perCall.map((i) => allocate(bp.slots[i].dtype, 0));
    this.#owned = new Set(Object.values(instance.buffers));
    this.#baked = g.values.flatMap((v) => {
      const c = constantScalar(g, v.id);
      return c === undefined || v.source?.kind !== "const" ? [] : [{ array: v.source.array, c }];
    });
    const handed = [
      ...linker?.roots ?? [],
      ...variableValues(g.result),
      ...g.stateWrites.map((w) => w.value),
    ];
    this.#outs = [...new Set(handed.filter((v) => v !== null))];
  }

  stale(args: unknown[]): boolean {
    if (this.#baked.some((b) => !Object.is(b.array[RAW][0], b.c))) return true;
    if (!guardsHold(this.g, args)) return true;
    return this.driver.perCall.some((i, k) => {
      const a = sourceArray(this.#sources[k], args);
      const slot = this.bp.slots[i];
      return a === null || a.dtype !== slot.dtype ||
        !sameShape(a.shape, this.g.values[slot.value!].shape);
    });
  }

  replay(args: unknown[], lendResults = false): unknown {
    const states = this.g.stateReads.length === 0 ? NONE : this.g.stateReads.map(stateOf);
    const bound = this.#bound;
    for (let k = 0; k < bound.length; k++) bound[k] = sourceArray(this.#sources[k], args)![RAW];
    this.instance.replay(bound);
    for (const w of this.g.writebacks) {
      const v = target(w, args);
      if (w.field === "data") v.data = w.value === null ? v.data : this.#expose(w.value);
      else v.grad = w.value === null ? null : new Variable(this.#expose(w.value));
    }
    // results and state are fresh Variables, as eager's (or lent views, for backprop); with the
    // graph, when they carry one
    const outs = this.#outs, made = this.#made;
    for (let i = 0; i < outs.length; i++) {
      made[i] = lendResults
        ? new LentGradient(this.#view(outs[i]))
        : new Variable(this.#fresh(outs[i]));
    }
    if (this.linker !== null) {
      const saved = this.g.saved.length === 0 ? NONE : this.g.saved.map((v) => this.#fresh(v));
      this.linker.link(made, args, states, saved);
    }
    for (const w of this.g.stateWrites) {
      const v = w.value === null ? null : made[outs.indexOf(w.value)];
      (w.owner as Record<string, unknown>)[w.key] = v;
    }
    return this.#mirror(this.g.result, made);
  }

  /** The array value `v` ends in after a replay. */
  #buffer(v: number): TypedArray {
    const i = this.bp.slotOf.get(v);
    if (i === undefined) throw new Error(`jit: value ${v} has no buffer`);
    const k = this.driver.perCall.indexOf(i);
    if (k >= 0) return this.#bound[k];
    const slot = this.bp.slots[i];
    return this.instance.buffers[slot.name] ??
      (sourceOf(this.g, this.bp, i) as ConstSource).array[RAW];
  }

  /**
   * Value `v` as a writeback hands it to a Variable: a copy when it is in one
   * of the tape's buffers (as eager gives each step fresh gradients), else
   * a view of the caller's own array.
   */
  #expose(v: number): NDArray {
    const b = this.#buffer(v);
    return this.#owned.has(b) ? this.#fresh(v) : this.#view(v);
  }

  /** Value `v` where it is after a replay (in a tape buffer until the next one). */
  #view(v: number): NDArray {
    return new NDArray(this.#buffer(v), this.g.values[v].shape);
  }

  /** A copy of value `v`, for results. */
  #fresh(v: number): NDArray {
    const b = this.#buffer(v);
    const copy = allocate(dtypeOf(b), b.length);
    copy.set(b);
    return new NDArray(copy, this.g.values[v].shape);
  }

  /** What `fn` returned, over this call's arrays; `made` holds its Variables (in `#outs` order). */
  #mirror(r: Result, made: Variable[]): unknown {
    switch (r.kind) {
      case "variable":
        return made[this.#outs.indexOf(r.value)];
      case "array":
        return this.#fresh(r.value);
      case "number":
        return r.value;
      case "none":
        return undefined;
      case "list":
        return r.items.map((item) => this.#mirror(item, made));
    }
  }
}

const NONE: never[] = [];

/** Value ids of the Variables in a result. */
function variableValues(r: Result): number[] {
  if (r.kind === "variable") return [r.value];
  return r.kind === "list" ? r.items.flatMap(variableValues) : [];
}

/** The array a bound source refers to on this call (null: a gradient that is gone). */
function sourceArray(s: Source, args: unknown[]): NDArray | null {
  switch (s.kind) {
    case "arg": {
      const a = args[s.index];
      return a instanceof Variable ? a.data : a as NDArray;
    }
    case "var":
      return s.variable.data;
    case "state":
      return stateOf(s)?.data ?? null;
    case "grad": {
      const v = s.arg === undefined ? s.variable : args[s.arg] as Variable;
      return v.grad?.data ?? null;
    }
    default:
      return s.array;
  }
}

/** The Variable a writeback or guard names on this call. */
function target(w: { variable: Variable; arg?: number }, args: unknown[]): Variable {
  return w.arg === undefined ? w.variable : args[w.arg] as Variable;
}
