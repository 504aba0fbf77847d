/**
 * Graphs through replays. When the Variables a jitted call returns or leaves
 * in layer state carry an autograd graph that the call did not itself
 * backpropagate (a jitted time step whose loss is summed over many calls and
 * backpropagated later), a replay hands out those Variables (the roots) with
 * the graph eager would have built: one `Piece` per function the traced call
 * applied, over the same inputs (the call's argument Variables, layer state,
 * parameters, other roots) and with the generations eager's functions would
 * have, so a backward pass visits them in eager's order. A root's pieces
 * share one compiled tape, the traced backward of the root's part of the
 * graph, run on the root's gradient, its inputs' data and copies of the
 * forward values that this backward reads (each replay keeps them:
 * `Graph.saved`). The tape adds the gradients that stay inside the part and
 * hands each gradient that leaves it to the piece that gives it, which
 * `backprop` adds where eager would, in eager's order: results and
 * gradients equal eager's bit for bit.
 * @module
 */
import { Config } from "../core/autograd/config.ts";
import type { DType } from "../core/array/dtype.ts";
import { type NDArray, zeros } from "../core/array/ndarray.ts";
import { Function, VariableRef } from "../core/autograd/function.ts";
import {
  backprop,
  type GradStore,
  INNER,
  LentGradient,
  Parameter,
  Variable,
} from "../core/autograd/variable.ts";
import { tracer } from "../core/hooks.ts";
import type { Graph, Source } from "./ir.ts";
import { compileTape, type Linker, type Tape } from "./tape.ts";
import { type Resolve, traceBackward, type TraceResult, Untraceable } from "./trace.ts";

/** Where a replay finds one input Variable of a root's part. */
type InputRef =
  | { kind: "param"; variable: Variable }
  | { kind: "arg"; index: number }
  | { kind: "state"; read: number }
  | { kind: "root"; root: number };

/** A per-call array a part's backward reads: a kept copy, or an argument array. */
type Residual = { kind: "saved"; index: number } | { kind: "arg"; index: number };

/**
 * Where a piece finds one of its inputs: the part's input `index`, the
 * Variable a piece made (`inner`), or a traced Variable that gets no
 * gradient (a constant).
 */
type PieceInput =
  | { kind: "input"; index: number }
  | { kind: "inner"; index: number }
  | { kind: "const"; variable: Variable };

/** What a piece's output is: the root (-1), an inner Variable (>= 0), or unused (-2). */
const ROOT = -1, LOOSE = -2;

/** One traced function of a root's part. */
interface PiecePlan {
  fn: Function;
  inputs: PieceInput[];
  /** Per output: ROOT, LOOSE or an inner Variable's index. */
  outputs: number[];
}

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

/** A compiled backward of a part, for one gradient dtype and one order of its functions. */
interface PartTape {
  tape: Tape;
  /** The tape's results, in order: [piece, input] of the gradient each is. */
  parts: [number, number][];
  /**
   * Per piece and input: INNER where a gradient flows inside the part (the
   * input's creator is visited next), else null, to be filled from `parts`.
   */
  flows: (Variable | null)[][];
  /** The call whose gradients are lent from this tape's buffers (see `Call.detach`). */
  lender: Call | null;
}

/** One root: its part's inputs, pieces, residuals and compiled backward tapes. */
class Root {
  /** Keyed by gradient dtype and the ranks of the pieces' generations (`rank`). */
  readonly tapes = new Map<string, PartTape>();
  readonly residuals: Residual[] = [];
  /** The traced arrays of the residuals. */
  readonly arrays: NDArray[] = [];
  readonly pieces: PiecePlan[];
  /** Data of the Variables pieces make (their traced arrays: shapes for backprop's checks). */
  readonly inner: NDArray[] = [];

  constructor(
    readonly variable: Variable,
    readonly inputs: InputRef[],
    /** The traced input Variables. */
    readonly traced: Variable[],
    /** The part's functions, in the order they were applied (the root's creator last). */
    fns: Function[],
    readonly from: Traced,
  ) {
    const innerIndex = new Map<Variable, number>();
    const fnSet = new Set(fns);
    for (const f of fns) {
      for (const o of f.outputs) {
        const v = o.deref();
        if (v !== variable && from.creators.get(v) === f) {
          innerIndex.set(v, this.inner.length);
          this.inner.push(v.data);
        }
      }
    }
    this.pieces = fns.map((fn) => {
      const inputs = fn.inputs.map((x): PieceInput => {
        const inner = innerIndex.get(x);
        if (inner !== undefined && fnSet.has(from.creators.get(x)!)) {
          return { kind: "inner", index: inner };
        }
        const k = traced.indexOf(x);
        return k >= 0 ? { kind: "input", index: k } : { kind: "const", variable: x };
      });
      return {
        fn,
        inputs,
        outputs: fn.outputs.map((o) => {
          const v = o.deref();
          return v === variable ? ROOT : innerIndex.get(v) ?? LOOSE;
        }),
      };
    });
  }

  /**
   * Per piece, the gradients it gives its inputs (INNER for those that stay
   * in the part), for the root's gradient `args[0]` (args: gy, inputs' data,
   * residuals), the pieces' generations being `gens`.
   */
  run(call: Call, dtype: DType, args: NDArray[], gens: number[]): (Variable | null)[][] {
    const ranks = rank(gens);
    const key = `${dtype} ${ranks}`;
    let t = this.tapes.get(key);
    if (t === undefined || t.tape.stale(args)) {
      t = this.record(dtype, ranks, this.#known());
      this.tapes.set(key, t);
    }
    // outside a trace the gradients are lent views of the tape's buffers (most are added
    // where they go at once); the previous lender's unread ones are copied first
    t.lender?.detach();
    const lending = tracer === null;
    t.lender = lending ? call : null;
    const out = t.tape.replay(args, lending) as (Variable | undefined)[];
    const grads = t.flows.map((f) => f.slice());
    for (let j = 0; j < out.length; j++) grads[t.parts[j][0]][t.parts[j][1]] = out[j] ?? null;
    return grads;
  }

  /**
   * The traced backward of this root's part of the graph, for a gradient of
   * `dtype`, its functions visited in the order generations `ranks` give
   * them: sources are the gradient (argument 0), the inputs' data (1..n) and
   * the residuals (n + 1...), which `resolve` finds. Its results are the
   * gradients leaving the part, one per piece and input, apart.
   */
  record(dtype: DType, ranks: number[], resolve: Resolve): PartTape {
    const { creators, roots } = this.from;
    const seed = new Variable(zeros(this.variable.shape, { dtype }));
    const grads = new Map<Variable, Variable>();
    const index = new Map(this.pieces.map((p, k) => [p.fn, k]));
    const leaving = new Set(this.traced);
    const parts: [number, number][] = [], gxs: Variable[] = [];
    const flows = this.pieces.map((p): (Variable | null)[] => p.fn.inputs.map(() => null));
    const store: GradStore = {
      get: (x) => grads.get(x) ?? null,
      set: (x, g) => void (g === null ? grads.delete(x) : grads.set(x, g)),
      creator: (x) => x !== this.variable && roots.includes(x) ? null : creators.get(x) ?? null,
      take: (f, i, gx) => {
        const k = index.get(f)!;
        if (!leaving.has(f.inputs[i])) {
          if (this.pieces[k].inputs[i].kind === "inner") flows[k][i] = INNER;
          return false;
        }
        parts.push([k, i]);
        gxs.push(gx);
        return true;
      },
    };
    const sources: [NDArray, Source][] = [
      [seed.data, { kind: "arg", index: 0 }],
      ...this.traced.map((v, i): [NDArray, Source] => [v.data, { kind: "arg", index: 1 + i }]),
    ];
    const traced = this.pieces.map((p) => p.fn.generation);
    this.pieces.forEach((p, k) => p.fn.generation = ranks[k]);
    try {
      const graph = traceBackward(sources, resolve, () => {
        grads.set(this.variable, seed);
        backprop(this.variable, store);
        return gxs;
      });
      return { tape: compileTape(graph), parts, flows, lender: null };
    } finally {
      this.pieces.forEach((p, k) => p.fn.generation = traced[k]);
    }
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
   * Gives `outs[r]`, this root's Variable from one replay, the pieces of its
   * part, over that call's arguments, state read, other roots' Variables and
   * kept values.
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
    const call = new Call(this, inputs, arrays);
    const inner: Variable[] = new Array(this.inner.length);
    for (let k = 0; k < this.pieces.length; k++) {
      const plan = this.pieces[k];
      const piece = new Piece(call, k);
      const xs: Variable[] = [];
      let gen = 0;
      for (const ref of plan.inputs) {
        const x = ref.kind === "input"
          ? inputs[ref.index]
          : ref.kind === "inner"
          ? inner[ref.index]
          : ref.variable;
        if (x.generation > gen) gen = x.generation;
        xs.push(x);
      }
      piece.generation = gen;
      piece.inputs = xs;
      for (let o = 0; o < plan.outputs.length; o++) {
        const m = plan.outputs[o];
        const y = m === ROOT
          ? outs[r]
          : m === LOOSE
          ? new Variable(plan.fn.outputs[o].deref().data)
          : inner[m] = new Variable(this.inner[m]);
        y.setCreator(piece);
        piece.outputs.push(new VariableRef(y));
      }
      call.pieces.push(piece);
    }
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

/** `gens` as dense ranks (equal generations, equal ranks): all that orders a backward pass. */
function rank(gens: number[]): number[] {
  const distinct = [...new Set(gens)].sort((a, b) => a - b);
  return gens.map((g) => distinct.indexOf(g));
}

/** One replayed call's part of a root: its pieces and, once run, their gradients. */
class Call {
  readonly pieces: Piece[] = [];
  #grads: (Variable | null)[][] | null = null;
  /** Per piece, whether backprop has yet to take its gradients (lent ones go stale). */
  #unread: boolean[] = [];

  constructor(readonly root: Root, readonly inputs: Variable[], readonly arrays: NDArray[]) {}

  /**
   * The gradients piece `k` gives its inputs. The root's creator comes
   * first in any backward pass (the other pieces are reached through it),
   * with the root's gradient `gy` complete: it runs the part's tape, afresh
   * in each pass (another pass, from another root, brings another `gy`).
   */
  grads(k: number, gy: Variable | undefined): (Variable | null)[] {
    if (gy !== undefined) {
      const data = [gy.data];
      for (const x of this.inputs) data.push(x.data);
      this.#grads = this.root.run(
        this,
        gy.dtype,
        data.concat(this.arrays),
        this.pieces.map((p) => p.generation),
      );
      this.#unread = this.pieces.map(() => true);
    } else if (this.#grads === null) {
      throw new Error("jit: internal: a replayed part reached past its root");
    }
    this.#unread[k] = false; // backprop adds or copies them before any other backward runs
    return this.#grads[k];
  }

  /**
   * Swaps the lent gradients backprop has not taken yet for copies (no longer
   * lent): their tape is about to run again.
   */
  detach(): void {
    this.#grads?.forEach((gs, k) => {
      if (!this.#unread[k]) return;
      gs.forEach((g, i) => {
        if (g instanceof LentGradient) gs[i] = new Variable(g.data.copy());
      });
    });
  }
}

/** A function a replayed call applied, in the autograd graph it hands out. */
class Piece extends Function {
  /**
   * Piece `index` of `call`'s part.
   * @param part the call's part of a root
   * @param index which of its functions this is
   */
  constructor(readonly part: Call, readonly index: number) {
    super();
  }

  /** The traced function's name (dot graphs and messages show what eager would). */
  override get name(): string {
    return this.part.root.pieces[this.index].fn.name;
  }

  /** Never called: a replay computed the output already. */
  forward(): NDArray {
    throw new Error("jit: a replayed node is not applied");
  }

  /** The traced function's gradients, from the part's compiled backward. */
  backward(...gys: Variable[]): (Variable | null)[] {
    if (Config.enableBackprop) {
      throw new Error(
        "jit: backward({ createGraph: true }) cannot run through the graph of a jitted call; " +
          "run the function eagerly for higher-order gradients",
      );
    }
    const outputs = this.part.root.pieces[this.index].outputs;
    if (gys.some((g, o) => outputs[o] !== ROOT && g !== null && g !== undefined)) {
      throw new Error(
        "jit: backward() cannot start inside the graph of a jitted call's replay (from a " +
          "Variable the call computed on the way to its results, from a computation on one, " +
          "or with a gradient such a Variable kept from such a pass: cleargrad() it): a " +
          "replay computes gradients from its results; start from a result, or run the " +
          "function eagerly",
      );
    }
    return this.part.grads(this.index, gys[outputs.indexOf(ROOT)] ?? undefined);
  }
}

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
 * The graph that replays of `t` hand out, or null when its results and
 * layer state carry no graph. Fills `t.graph.saved` with the values each
 * replay keeps for it.
 */
export function planGraph(t: TraceResult<unknown>): Linker | null {
  const { functions, backpropagated, args, results, stateEnds, ids } = t.autograd;
  let roots = [...new Set([...results, ...stateEnds])].filter((v): v is Variable =>
    v !== null && v.creator !== null && functions.has(v.creator)
  );
  if (roots.length === 0) return null;
  const creators = creatorsOf(roots, functions);
  if ([...creators.values()].some((f) => backpropagated.has(f))) {
    const rootIds = roots.map((v) => ids.get(v.data)!);
    return {
      roots: rootIds,
      link(outs) {
        for (let r = 0; r < rootIds.length; r++) outs[r].setCreator(SPENT);
      },
    };
  }
  const handed = roots.length;
  roots = splitShared(roots, creators);
  roots.sort((a, b) => a.generation - b.generation); // a root's inputs come first
  const rootIds = roots.map((v) => ids.get(v.data)!);
  const from: Traced = {
    graph: t.graph,
    creators,
    roots,
    ids,
    variableArgs: new Set(args.values()),
  };
  // a value where two roots' parts meet is handed out as a root too: the replay keeps it
  const saved = roots.length === handed ? [] : rootIds.slice();
  const parts = roots.map((r) => partOf(r, creators, new Set(roots)));
  const shared = [...creators.values()].find((f) => parts.filter((p) => p.has(f)).length > 1);
  if (shared !== undefined) {
    throw new Untraceable(
      `its results come from one function with several outputs (${shared.name}), ` +
        "and a replay hands out a graph result by result",
    );
  }
  const plans = roots.map((r, k) => {
    const part = parts[k];
    const { traced, inputs } = partInputs(part, from, t);
    const root = new Root(r, inputs, traced, [...functions].filter((f) => part.has(f)), from);
    const ranks = rank(root.pieces.map((p) => p.fn.generation));
    root.tapes.set(`${r.dtype} ${ranks}`, root.record(r.dtype, ranks, root.discover(saved)));
    return root;
  });
  t.graph.saved = saved;
  return {
    roots: rootIds,
    link(outs, callArgs, states, kept) {
      for (let r = 0; r < plans.length; r++) plans[r].link(outs, r, callArgs, states, kept);
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

/** The functions root `r` is computed by from outside and from other roots: its part. */
function partOf(
  r: Variable,
  creators: Map<Variable, Function>,
  roots: Set<Variable>,
): Set<Function> {
  const part = new Set<Function>();
  const walk = [creators.get(r)!];
  while (walk.length) {
    const f = walk.pop()!;
    if (part.has(f)) continue;
    part.add(f);
    for (const x of f.inputs) {
      const c = creators.get(x);
      if (c !== undefined && !roots.has(x)) walk.push(c);
    }
  }
  return part;
}

/**
 * `roots` and the Variables where two roots' parts would meet (a value two
 * roots are computed from, whose gradient eager sums before going on), so
 * that each traced function is in one part, as it is one node in eager's
 * graph.
 */
function splitShared(roots: Variable[], creators: Map<Variable, Function>): Variable[] {
  for (;;) {
    const set = new Set(roots);
    const owners = new Map<Function, string>();
    roots.forEach((r, k) => {
      for (const f of partOf(r, creators, set)) owners.set(f, `${owners.get(f) ?? ""} ${k}`);
    });
    const meet = new Set<Variable>();
    for (const [f, parts] of owners) {
      for (const x of f.inputs) {
        const c = creators.get(x);
        if (c !== undefined && !set.has(x) && owners.get(c) !== parts) meet.add(x);
      }
    }
    if (meet.size === 0) return roots;
    roots = [...roots, ...meet];
  }
}

/**
 * The inputs of a root's part: the Variables it reads from outside
 * (arguments, layer state, parameters) and the other roots it reads, each
 * with where a replay finds it. Other Variables from outside (constants) get
 * no gradient, as in any replay.
 */
function partInputs(
  part: Set<Function>,
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
  for (const f of part) {
    for (const x of f.inputs) {
      const c = creators.get(x);
      if ((c === undefined || roots.includes(x)) && !traced.includes(x)) {
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
