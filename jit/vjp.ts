/**
 * Graphs through replays. When the Variables a jitted call returns or leaves
 * in layer state carry an autograd graph that the call did not itself
 * backpropagate (a jitted time step whose loss is summed over many calls and
 * backpropagated later), a replay hands out those Variables (the roots) with
 * `Replayed` nodes as creators: one node per root, taking the call's
 * argument Variables, layer state and parameters, and the other roots, that
 * the traced graph computed the root from. A node's backward is a compiled
 * tape of the traced backward of its part of the graph, run on the gradient
 * it receives, its inputs' data and copies of the forward values that this
 * backward reads (each replay keeps them: `Graph.saved`).
 *
 * The gradients are eager's, except that where contributions from several
 * calls meet (a parameter used at every time step) each node adds its own
 * part first, so sums may differ from eager's in the last bits: eager adds
 * every function's contribution in one order over the whole graph.
 * @module
 */
import { Config } from "../core/autograd/config.ts";
import type { DType } from "../core/array/dtype.ts";
import { type NDArray, zeros } from "../core/array/ndarray.ts";
import { Function, VariableRef } from "../core/autograd/function.ts";
import { backprop, type GradStore, Parameter, Variable } from "../core/autograd/variable.ts";
import type { Graph, Source } from "./ir.ts";
import { compileTape, type Linker, type Tape } from "./tape.ts";
import { type Resolve, traceBackward, type TraceResult } from "./trace.ts";

/** Where a replay finds one input Variable of a node. */
type InputRef =
  | { kind: "param"; variable: Variable }
  | { kind: "arg"; index: number }
  | { kind: "state"; read: number }
  | { kind: "root"; root: number };

/** A per-call array a node's backward reads: a kept copy, or an argument array. */
type Residual = { kind: "saved"; index: number } | { kind: "arg"; index: number };

/** What the traced graph tells each root's plan. */
interface Traced {
  graph: Graph;
  /** In-trace Variables and their creators, as traced (user code may unchain them later). */
  creators: Map<Variable, Function>;
  /** The roots, each once. */
  roots: Variable[];
  /** Each forward array's value id at the end of the trace. */
  ids: Map<NDArray, number>;
  /** Argument indices that hold Variables. */
  variableArgs: Set<number>;
}

/** One root: its node's inputs, residuals and compiled backward tapes (by gradient dtype). */
class Root {
  readonly tapes = new Map<DType, Tape>();
  readonly residuals: Residual[] = [];
  /** The traced arrays of the residuals. */
  readonly arrays: NDArray[] = [];

  constructor(
    readonly variable: Variable,
    readonly inputs: InputRef[],
    /** The traced input Variables. */
    readonly traced: Variable[],
    readonly from: Traced,
  ) {}

  /** Input gradients of this node for output gradient `args[0]` (args: gy, inputs' data, residuals). */
  run(dtype: DType, args: NDArray[]): (Variable | null)[] {
    let tape = this.tapes.get(dtype);
    if (tape === undefined || tape.stale(args)) {
      tape = compileTape(this.record(dtype, this.#known()));
      this.tapes.set(dtype, tape);
    }
    return (tape.replay(args) as (Variable | undefined)[]).map((g) => g ?? null);
  }

  /**
   * The traced backward of this root's part of the graph, for a gradient of
   * `dtype`: sources are the gradient (argument 0), the inputs' data
   * (1..n) and the residuals (n + 1...), which `resolve` finds.
   */
  record(dtype: DType, resolve: Resolve): Graph {
    const { creators, roots } = this.from;
    const seed = new Variable(zeros(this.variable.shape, { dtype }));
    const grads = new Map<Variable, Variable>();
    const store: GradStore = {
      get: (x) => grads.get(x) ?? null,
      set: (x, g) => void (g === null ? grads.delete(x) : grads.set(x, g)),
      creator: (x) => x !== this.variable && roots.includes(x) ? null : creators.get(x) ?? null,
    };
    const sources: [NDArray, Source][] = [
      [seed.data, { kind: "arg", index: 0 }],
      ...this.traced.map((v, i): [NDArray, Source] => [v.data, { kind: "arg", index: 1 + i }]),
    ];
    return traceBackward(sources, resolve, () => {
      grads.set(this.variable, seed);
      backprop(this.variable, store);
      return this.traced.map((v) => grads.get(v) ?? null);
    });
  }

  /** Binds the traced forward's arrays as residuals, discovering them (the first recording). */
  discover(saved: number[]): Resolve {
    const { graph, ids, variableArgs } = this.from;
    return (x) => {
      const id = ids.get(x);
      if (id === undefined) return null; // made by the backward itself
      const s = graph.values[id].source;
      if (s?.kind === "const") return null;
      if (s?.kind === "var") return s; // a parameter: its data when the backward runs
      let r: Residual;
      if (s?.kind === "arg" && !variableArgs.has(s.index)) r = { kind: "arg", index: s.index };
      else {
        if (!saved.includes(id)) saved.push(id);
        r = { kind: "saved", index: saved.indexOf(id) };
      }
      this.residuals.push(r);
      this.arrays.push(x);
      return { kind: "arg", index: 1 + this.traced.length + this.arrays.length - 1 };
    };
  }

  /**
   * Gives `outs[r]`, this root's Variable from one replay, its node, over
   * that call's arguments, state read, other roots' Variables and kept values.
   */
  link(
    outs: Variable[],
    r: number,
    args: unknown[],
    states: (Variable | null)[],
    kept: NDArray[],
  ): void {
    const inputs = this.inputs.map((ref) =>
      ref.kind === "param"
        ? ref.variable
        : ref.kind === "arg"
        ? args[ref.index] as Variable
        : ref.kind === "state"
        ? states[ref.read]!
        : outs[ref.root]
    );
    const arrays = this.residuals.map((res) =>
      res.kind === "saved" ? kept[res.index] : args[res.index] as NDArray
    );
    const node = new Replayed(this, arrays);
    let gen = 0;
    for (const x of inputs) if (x.generation > gen) gen = x.generation;
    node.generation = gen;
    node.inputs = inputs;
    node.outputs = [new VariableRef(outs[r])];
    outs[r].setCreator(node);
  }

  /** Binds the traced forward's arrays to the residuals found by `discover`. */
  #known(): Resolve {
    const { graph, ids } = this.from;
    return (x) => {
      const k = this.arrays.indexOf(x);
      if (k >= 0) return { kind: "arg", index: 1 + this.traced.length + k };
      const id = ids.get(x);
      const s = id === undefined ? undefined : graph.values[id].source;
      if (id === undefined || s?.kind === "const") return null;
      if (s?.kind === "var") return s;
      throw new Error("jit: internal: a recompiled backward reads a value no replay kept");
    };
  }
}

/** A replayed call's node in the autograd graph: it computes one root. */
export class Replayed extends Function {
  /**
   * The node of `root` for one call.
   * @param root the root's plan
   * @param arrays this call's residual arrays
   */
  constructor(readonly root: Root, readonly arrays: NDArray[]) {
    super();
  }

  /** Never called: a replay computed the output already. */
  forward(): NDArray {
    throw new Error("jit: a replayed node is not applied");
  }

  /** The traced backward, compiled, on this call's data. */
  backward(gy: Variable): (Variable | null)[] {
    if (Config.enableBackprop) {
      throw new Error(
        "jit: backward({ createGraph: true }) cannot run through the graph of a jitted call; " +
          "run the function eagerly for higher-order gradients",
      );
    }
    if (!noticed) {
      noticed = true;
      console.warn(
        "jit: backward through replayed calls adds each call's part of a gradient first; " +
          "sums over several calls can differ from eager's in the last bits " +
          "(jit a whole truncated-BPTT window for eager's exact sums)",
      );
    }
    return this.root.run(gy.dtype, [gy.data, ...this.inputs.map((x) => x.data), ...this.arrays]);
  }
}

let noticed = false; // the last-bits notice, once per process

/** The creator of a replay's results whose graph the traced call had already backpropagated. */
class Spent extends Function {
  /** Never called. */
  forward(): NDArray {
    throw new Error("jit: a replayed node is not applied");
  }

  /** Refuses: a replay keeps no graph to backpropagate again. */
  backward(): Variable {
    throw new Error(
      "jit: this Variable comes from a replay of a jitted function whose graph was already " +
        "backpropagated inside the call, and a replay keeps no graph to backpropagate again " +
        "(end the function with unchainBackward(), or run it eagerly)",
    );
  }
}

const SPENT = new Spent();

/**
 * The nodes that replays of `t` hand out, or null when its results and
 * layer state carry no graph. Fills `t.graph.saved` with the values each
 * replay keeps for them.
 */
export function planGraph(t: TraceResult<unknown>): Linker | null {
  const { functions, backpropagated, args, results, stateEnds, ids } = t.autograd;
  const roots = [...new Set([...results, ...stateEnds])].filter((v): v is Variable =>
    v !== null && v.creator !== null && functions.has(v.creator)
  );
  if (roots.length === 0) return null;
  roots.sort((a, b) => a.generation - b.generation); // a root's inputs come first
  const rootIds = roots.map((v) => ids.get(v.data)!);
  const creators = creatorsOf(roots, functions);
  if ([...creators.values()].some((f) => backpropagated.has(f))) {
    return {
      roots: rootIds,
      link(outs) {
        for (let r = 0; r < rootIds.length; r++) outs[r].setCreator(SPENT);
      },
    };
  }
  const from: Traced = {
    graph: t.graph,
    creators,
    roots,
    ids,
    variableArgs: new Set(args.values()),
  };
  const saved: number[] = [];
  const plans = roots.map((r) => {
    const { traced, inputs } = nodeInputs(r, from, t);
    const root = new Root(r, inputs, traced, from);
    root.tapes.set(r.dtype, compileTape(root.record(r.dtype, root.discover(saved))));
    return root;
  });
  t.graph.saved = saved;
  return {
    roots: rootIds,
    link(outs, callArgs, states, kept) {
      plans.forEach((root, r) => root.link(outs, r, callArgs, states, kept));
    },
  };
}

/** The in-trace Variables behind `roots` and their creators, as traced. */
function creatorsOf(roots: Variable[], functions: Set<Function>): Map<Variable, Function> {
  const creators = new Map<Variable, Function>();
  const stack = [...roots];
  while (stack.length) {
    const v = stack.pop()!;
    const f = v.creator;
    if (f === null || !functions.has(f) || creators.has(v)) continue;
    creators.set(v, f);
    stack.push(...f.inputs);
  }
  return creators;
}

/**
 * The inputs of root `r`'s node: the Variables its part of the graph reads
 * from outside (arguments, layer state, parameters) and the other roots it
 * reads, each with where a replay finds it. Other Variables from outside
 * (constants) get no gradient, as in any replay.
 */
function nodeInputs(
  r: Variable,
  { creators, roots }: Traced,
  t: TraceResult<unknown>,
): { traced: Variable[]; inputs: InputRef[] } {
  const { args, stateVars } = t.autograd;
  const refOf = (x: Variable): InputRef | null => {
    const root = roots.indexOf(x);
    if (root >= 0) return { kind: "root", root };
    const arg = args.get(x);
    if (arg !== undefined) return { kind: "arg", index: arg };
    const slot = stateVars.get(x);
    if (slot !== undefined) {
      const read = t.graph.stateReads.findIndex((s) =>
        s.owner === slot.owner && s.key === slot.key
      );
      return { kind: "state", read };
    }
    return x instanceof Parameter ? { kind: "param", variable: x } : null;
  };
  const traced: Variable[] = [], inputs: InputRef[] = [];
  const seen = new Set<Function>();
  const walk = [creators.get(r)!];
  while (walk.length) {
    const f = walk.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const x of f.inputs) {
      const c = creators.get(x);
      if (c !== undefined && !roots.includes(x)) walk.push(c);
      else if (!traced.includes(x)) {
        const ref = refOf(x);
        if (ref !== null) {
          traced.push(x);
          inputs.push(ref);
        }
      }
    }
  }
  return { traced, inputs };
}
