/**
 * Fusion: groups a straight-line graph into steps. Consecutive elementwise
 * nodes over one shape (views included, as strided reads) and at most one
 * reduction over that shape share one loop; reshapes become buffer aliases;
 * a transpose feeding only matmuls becomes a flag of the matmul; a bias add
 * and a ReLU that alone read a product's result join its store; every other
 * node is a step of its own (host steps, random draws, eager fallbacks).
 * @module
 */
import { isElementwise, isReduction } from "../../core/registry.ts";
import { sameShape, sizeOf } from "../../core/array/shape_rules.ts";
import { type Graph, liveOuts, type Node } from "../ir.ts";

/**
 * One fused loop: elementwise nodes and at most one reduction over `shape`,
 * then, for a reduction to a single value, the elementwise nodes that
 * finish that value (a mean's division, a loss's scaling).
 */
export interface LoopStep {
  kind: "loop";
  /** The nodes of the loop body, in order. */
  nodes: Node[];
  /** Nodes run once after the loop, on the single-value reduction's result. */
  epilogue: Node[];
  /** The iteration shape (elementwise output / reduction input). */
  shape: number[];
  /** Values computed here that other steps, results or real arrays need. */
  stores: number[];
}

/**
 * A matrix product, reading transposed operands by flags, with the bias add
 * and ReLU that follow it absorbed into its store.
 */
export interface MatmulStep {
  kind: "matmul";
  /** The matmul node. */
  node: Node;
  /** Operand value ids, after looking through absorbed transposes. */
  a: number;
  b: number;
  /** Whether each operand is read transposed. */
  transA: boolean;
  transB: boolean;
  /** The bias vector added along the last axis, or null. */
  bias: number | null;
  /** Whether a ReLU is applied in the store. */
  relu: boolean;
  /** The value the step writes: the product, or the absorbed add / ReLU's output. */
  out: number;
}

/** A node run on its own: host scalar/effect, random draw or eager fallback. */
export interface NodeStep {
  kind: "node";
  /** The node. */
  node: Node;
}

/** A step of the tape. */
export type Step = LoopStep | MatmulStep | NodeStep;

/** The steps, plus the reshapes turned into aliases (value -> base value). */
export interface Fused {
  steps: Step[];
  alias: Map<number, number>;
}

/** Ops a fused loop can compute. */
export function isLoopOp(op: string): boolean {
  return isElementwise(op) || op === "transpose" || op === "cast";
}

/** Whether input `k` of `n` is read at the node's own flat index. */
export function identityRead(g: Graph, n: Node, k: number): boolean {
  const x = g.values[n.inputs[k]];
  const out = g.values[n.out];
  if (isReduction(n.op)) return true;
  if (n.op === "transpose") {
    const axes = (n.attrs.axes as number[]).filter((a) => x.shape[a] !== 1);
    return axes.every((a, i) => i === 0 || a > axes[i - 1]);
  }
  return x.shape.length <= out.shape.length && sizeOf(x.shape) === sizeOf(out.shape);
}

/**
 * Whether the generated matmul handles `n`: float operands (float64 data
 * through float32 weights, as the book's RNN examples run, gives float64,
 * which the loops and gemm compute as they compute float64), equal or
 * absent batch axes.
 */
export function matmulSupported(g: Graph, n: Node): boolean {
  const [a, b, bias] = n.inputs.map((v) => g.values[v]);
  const out = g.values[n.out];
  if (a.dtype === "int32" || b.dtype === "int32") return false;
  if (out.dtype !== (a.dtype === b.dtype ? a.dtype : "float64")) return false;
  if (bias && (bias.dtype !== out.dtype || bias.shape.length > 1)) return false;
  if (a.shape.length < 2 || b.shape.length < 2) return false;
  const batch = out.shape.slice(0, -2).join();
  return [a, b].every((x) => x.shape.length === 2 || x.shape.slice(0, -2).join() === batch);
}

function swapsLastTwo(g: Graph, n: Node): boolean {
  const axes = n.attrs.axes as number[];
  return g.values[n.out].shape.length === 2 && axes[0] === 1 && axes[1] === 0;
}

/** Groups the nodes of `g` into steps. */
export function fuse(g: Graph): Fused {
  const alias = new Map<number, number>();
  const base = (v: number) => alias.get(v) ?? v;
  const consumers = new Map<number, Node[]>();
  for (const n of g.nodes) {
    for (const x of n.inputs) consumers.set(x, [...(consumers.get(x) ?? []), n]);
  }
  const transView = new Map<number, number>(); // transposed value -> its input
  for (const n of g.nodes) {
    const cs = consumers.get(n.out) ?? [];
    if (
      n.op === "transpose" && swapsLastTwo(g, n) && cs.length > 0 &&
      cs.every((c) => c.op === "matmul" && matmulSupported(g, c)) && !liveOuts(g).has(n.out)
    ) transView.set(n.out, n.inputs[0]);
  }
  const steps: Step[] = [];
  let loop: LoopStep | null = null;
  let produced = new Set<number>(); // values computed in the open loop
  let reduced = new Set<number>(); // reduction outputs of the open loop
  let strided = new Set<number>(); // buffers read there at other indices
  let written = new Set<number>(); // real buffers written there in place
  const close = () => {
    loop = null;
    produced = new Set();
    reduced = new Set();
    strided = new Set();
    written = new Set();
  };
  const fits = (n: Node, shape: number[]): boolean => {
    if (loop === null || !sameShape(loop.shape, shape)) return false;
    if (isReduction(n.op) && reduced.size > 0) return false;
    for (let k = 0; k < n.inputs.length; k++) {
      const u = n.inputs[k];
      if (alias.has(u) && produced.has(alias.get(u)!)) return false;
      if (produced.has(u)) {
        if (reduced.has(u) || !identityRead(g, n, k)) return false;
      } else if (!identityRead(g, n, k) && written.has(base(u))) return false;
    }
    const t = g.values[n.out].target;
    return t === undefined || !strided.has(t);
  };
  const live = liveOuts(g);
  /** The product step whose store can absorb `n` (a bias add or a ReLU of its sole result). */
  const epilogueOf = (n: Node): MatmulStep | null => {
    const s = steps[steps.length - 1];
    if (loop !== null || s?.kind !== "matmul" || s.relu) return null;
    if (!n.inputs.includes(s.out) || (consumers.get(s.out) ?? []).length !== 1) return null;
    const out = g.values[n.out], prod = g.values[s.out];
    if (live.has(s.out) || out.target !== undefined || !sameShape(out.shape, prod.shape)) {
      return null;
    }
    if (n.op === "relu") return s;
    if (n.op !== "add" || s.bias !== null || n.inputs[0] === n.inputs[1]) return null;
    const b = g.values[n.inputs[0] === s.out ? n.inputs[1] : n.inputs[0]];
    const cols = prod.shape[prod.shape.length - 1];
    return b.dtype === out.dtype && b.shape.length === 1 && (b.shape[0] === cols) ? s : null;
  };
  /** Whether `n` can finish the open loop's single-value reduction in its epilogue. */
  const finishes = (n: Node): boolean => {
    if (loop === null || !isElementwise(n.op) || g.values[n.out].target !== undefined) {
      return false;
    }
    const red = loop.nodes.find((m) => isReduction(m.op));
    if (red === undefined || sizeOf(g.values[red.out].shape) !== 1) return false;
    if (sizeOf(g.values[n.out].shape) !== 1) return false;
    const ends = new Set([red.out, ...loop.epilogue.map((m) => m.out)]);
    return n.inputs.some((u) => ends.has(u)) &&
      n.inputs.every((u) => ends.has(u) || (!produced.has(u) && sizeOf(g.values[u].shape) === 1));
  };
  for (const n of g.nodes) {
    if (n.op === "reshape") {
      alias.set(n.out, base(n.inputs[0]));
      continue;
    }
    if (transView.has(n.out)) continue;
    if (finishes(n)) {
      loop!.epilogue.push(n);
      produced.add(n.out);
      reduced.add(n.out); // computed after the loop: the body cannot read it
      continue;
    }
    const product = epilogueOf(n);
    if (product !== null) {
      if (n.op === "relu") product.relu = true;
      else product.bias = n.inputs[0] === product.out ? n.inputs[1] : n.inputs[0];
      product.out = n.out;
      continue;
    }
    const reduction = isReduction(n.op);
    if (isLoopOp(n.op) || reduction) {
      const shape = g.values[reduction ? n.inputs[0] : n.out].shape;
      if (!fits(n, shape)) {
        close();
        loop = { kind: "loop", nodes: [], epilogue: [], shape, stores: [] };
        steps.push(loop);
      }
      const l = loop!;
      l.nodes.push(n);
      produced.add(n.out);
      if (reduction) reduced.add(n.out);
      n.inputs.forEach((u, k) => {
        if (!produced.has(u) && !identityRead(g, n, k)) strided.add(base(u));
      });
      const t = g.values[n.out].target;
      if (t !== undefined) written.add(t);
      continue;
    }
    close();
    if (n.op === "matmul" && matmulSupported(g, n)) {
      const [a, b] = n.inputs;
      steps.push({
        kind: "matmul",
        node: n,
        a: transView.get(a) ?? a,
        b: transView.get(b) ?? b,
        transA: transView.has(a) !== !!n.attrs.transA,
        transB: transView.has(b) !== !!n.attrs.transB,
        bias: n.inputs[2] ?? null,
        relu: n.attrs.activation === "relu",
        out: n.out,
      });
    } else steps.push({ kind: "node", node: n });
  }
  markStores(g, steps, alias);
  return { steps, alias };
}

/** Fills each loop's `stores`: values needed outside the loop that made them. */
function markStores(g: Graph, steps: Step[], alias: Map<number, number>): void {
  const live = liveOuts(g);
  const owner = new Map<number, LoopStep>();
  for (const s of steps) {
    if (s.kind === "loop") { for (const n of [...s.nodes, ...s.epilogue]) owner.set(n.out, s); }
  }
  const need = new Set<number>();
  for (const v of live) need.add(alias.get(v) ?? v);
  for (const v of alias.values()) need.add(v);
  for (const s of steps) {
    const reads = s.kind === "loop"
      ? [...s.nodes, ...s.epilogue].flatMap((n) => n.inputs)
      : s.kind === "matmul"
      ? [s.a, s.b, ...(s.bias === null ? [] : [s.bias])]
      : s.node.inputs;
    for (const u of reads) if (owner.get(u) !== s) need.add(alias.get(u) ?? u);
  }
  for (const s of steps) {
    if (s.kind !== "loop") continue;
    s.stores = [...s.nodes, ...s.epilogue].map((n) => n.out).filter((v) =>
      need.has(v) || g.values[v].target !== undefined
    );
  }
}
