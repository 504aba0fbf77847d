/**
 * The JavaScript source of one fused loop: elementwise chains and the
 * reduction they feed, with sizes, strides and literal constants baked in
 * (staged over tiles when it calls transcendental functions:
 * jit/codegen/staged.ts). Only numbers and identifiers the JIT makes reach
 * the source (and the WebAssembly code).
 * @module
 */
import type { DType } from "../../core/array/dtype.ts";
import { broadcastStrides, reducedShape, sizeOf, stridesOf } from "../../core/array/shape_rules.ts";
import { mergeAxes } from "../../core/backend/mod.ts";
import {
  ELEMENTWISE,
  type ElementwiseOp,
  type ElementwiseSpec,
  exprFor,
  isElementwise,
  isReduction,
  REDUCTIONS,
  type ReductionSpec,
} from "../../core/registry.ts";
import { constantScalar, type Graph, type Node, type NodeOp } from "../ir.ts";
import type { LoopStep } from "../passes/fusion.ts";
import {
  type DeclareWasm,
  isLit,
  type KernelSource,
  lit,
  num,
  round,
  scaled,
  subst,
  sum,
} from "./source.ts";
import { stagedLoop, type Stmt } from "./staged.ts";

/** The registry entry of an op a fused loop computes elementwise. */
function specOf(op: NodeOp): ElementwiseSpec {
  if (!isElementwise(op)) throw new Error(`jit: ${op} is not an elementwise op`);
  return ELEMENTWISE[op];
}

/** `e` without one pair of parentheses around all of it. */
function unwrap(e: string): string {
  if (e[0] !== "(" || e[e.length - 1] !== ")") return e;
  let depth = 0;
  for (let i = 0; i < e.length - 1; i++) {
    depth += e[i] === "(" ? 1 : e[i] === ")" ? -1 : 0;
    if (depth === 0) return e; // the first parenthesis closes before the end
  }
  return e.slice(1, -1);
}

/**
 * An elementwise-like node as an op over operands, simplified: a view, a
 * cast or `x ** 1` is a copy, `x ** 2` is `x * x`, `x * 1` is `x`; `exact`:
 * whether its result needs no rounding to the output dtype (a copy, or an
 * exact op, over operands that already have it: `same`).
 */
function simplify(
  n: Node,
  a: string,
  b: string,
  same: boolean,
): { op: ElementwiseOp; args: [string, string]; exact: boolean } {
  const copy = (x: string) => ({
    op: "copy" as const,
    args: [x, x] as [string, string],
    exact: same,
  });
  if (n.op === "transpose" || n.op === "cast") return copy(a);
  if (n.op === "pow" && b === lit(2)) return { op: "mul", args: [a, a], exact: false };
  if (n.op === "pow" && b === lit(1)) return copy(a);
  if (n.op === "mul" && same && (a === lit(1) || b === lit(1))) return copy(a === lit(1) ? b : a);
  const spec = specOf(n.op);
  return { op: spec.name, args: [a, b], exact: spec.exact && same };
}

/** The JS expression of an elementwise-like node over operand names. */
function nodeExpr(n: Node, a: string, b: string, dtype: DType, same: boolean): string {
  const f = simplify(n, a, b, same);
  const spec = ELEMENTWISE[f.op];
  if (f.op === "copy" && (f.exact || dtype !== "int32")) {
    return f.exact ? f.args[0] : round(f.args[0], dtype);
  }
  const expr = exprFor(spec, dtype);
  const names: Record<string, string> = { a: f.args[0], b: f.args[1] };
  for (const p of ["p0", "p1"] as const) {
    if (spec.params > (p === "p0" ? 0 : 1)) names[p] = lit(n.attrs[p] ?? 0);
  }
  const e = unwrap(subst(expr, names));
  return f.exact ? e : round(e, dtype);
}

/**
 * The same node as an f64x2 instruction over operands (`copy` for none)
 * and whether to round to float32 after it, for a WebAssembly loop;
 * undefined when it has no such form (or an int32 result, which rounds by
 * truncation).
 */
function nodeSimd(n: Node, a: string, b: string, dtype: DType, same: boolean): Stmt["simd"] {
  if (dtype === "int32") return undefined;
  const f = simplify(n, a, b, same);
  const round = dtype === "float32" && !f.exact;
  const f32 = dtype === "float32" && same;
  if (f.op === "copy") return { fn: "copy", args: [f.args[0]], round, f32 };
  const spec = ELEMENTWISE[f.op];
  if (spec.simd === undefined) return undefined;
  // a unary op's operand twice: a two-operand instruction (square: mul) takes both
  return { fn: spec.simd, args: spec.arity === 1 ? [f.args[0], f.args[0]] : f.args, round, f32 };
}

/** Strides (over the node's iteration shape) of input `k`'s flat index. */
function readStrides(g: Graph, n: Node, k: number, shape: number[]): number[] {
  const x = g.values[n.inputs[k]];
  if (isReduction(n.op)) return stridesOf(shape);
  if (n.op === "transpose") {
    const s = stridesOf(x.shape);
    return (n.attrs.axes as number[]).map((a) => (x.shape[a] === 1 ? 0 : s[a]));
  }
  return broadcastStrides(x.shape, shape);
}

/** An input buffer read at some strides, loaded into a loop local. */
interface Read {
  buf: string;
  strides: number[];
  local: string;
}

/** The loop locals of a name: node values `v…` and loads `l…`. */
const isLocal = (x: string) => /^[vl]\d+$/.test(x);

/**
 * The statements of a fused loop's body, built node by node: each node's
 * operands (loop values, literal constants, or loads of input buffers at
 * their strides), its line of code, and the float32 sin/cos pairs that
 * share one range reduction.
 */
class LoopBody {
  /** Buffers the kernel takes, in order. */
  readonly args: string[] = [];
  readonly reads: Read[] = [];
  stmts: Stmt[] = [];
  /** Node value -> its name (or literal) in the loop. */
  readonly inside = new Map<number, string>();
  /** The reduction node, if the loop has one, and its operand's name. */
  red: Node | undefined;
  reduced = "";
  readonly #trig: { op: string; operand: string; at: number }[] = [];

  constructor(
    readonly g: Graph,
    readonly step: LoopStep,
    readonly slot: (v: number) => string,
  ) {
    for (const n of step.nodes) this.#add(n);
    this.#shareSinCos();
  }

  /** Adds `name` to the kernel's arguments (once); returns it. */
  arg(name: string): string {
    if (!this.args.includes(name)) this.args.push(name);
    return name;
  }

  /** The local that holds `buf` read at `strides`. */
  #leaf(buf: string, strides: number[]): string {
    const key = strides.join(",");
    let r = this.reads.find((x) => x.buf === buf && x.strides.join(",") === key);
    if (!r) {
      r = { buf: this.arg(buf), strides, local: `l${this.reads.length}` };
      this.reads.push(r);
    }
    return r.local;
  }

  #add(n: Node): void {
    const { g, step } = this;
    const ops = n.inputs.map((u, k) => {
      const c = constantScalar(g, u);
      return this.inside.get(u) ??
        (c === undefined ? this.#leaf(this.slot(u), readStrides(g, n, k, step.shape)) : lit(c));
    });
    if (isReduction(n.op)) {
      this.red = n;
      this.reduced = ops[0];
      return;
    }
    const out = g.values[n.out];
    const name = `v${n.out}`;
    const same = n.inputs.every((u) => g.values[u].dtype === out.dtype);
    if (n.op === "copy" && same && isLit(ops[0])) {
      this.inside.set(n.out, ops[0]); // a constant broadcast (a gradient's seed): its literal
      return;
    }
    if ((n.op === "sin" || n.op === "cos") && out.dtype === "float32") {
      this.#trig.push({ op: n.op, operand: ops[0], at: this.stmts.length });
    }
    const spec = isElementwise(n.op) ? ELEMENTWISE[n.op] : undefined;
    const vec = out.dtype === "float32" ? spec?.vec32 : undefined;
    this.stmts.push({
      name,
      code: `const ${name} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out.dtype, same)};`,
      deps: ops.filter(isLocal),
      heavy: spec?.expr32 !== undefined,
      vector: vec === undefined ? undefined : { fn: vec, operand: ops[0] },
      simd: nodeSimd(n, ops[0], ops[1] ?? "0", out.dtype, same),
    });
    this.inside.set(n.out, name);
  }

  /**
   * Merges each float32 `sin(u)` with a `cos(u)` of the same operand into one
   * `sincos32` call (one reduction, one pair of polynomials; same values).
   */
  #shareSinCos(): void {
    const { stmts } = this;
    const drop = new Set<number>(), paired = new Set<number>();
    for (const s of this.#trig) {
      if (s.op !== "sin") continue;
      const c = this.#trig.find((t) =>
        t.op === "cos" && t.operand === s.operand && !paired.has(t.at)
      );
      if (c === undefined) continue;
      paired.add(c.at);
      const [sin, cos] = [stmts[s.at].name, stmts[c.at].name];
      stmts[Math.min(s.at, c.at)] = {
        name: sin,
        also: cos,
        code:
          `const ${sin} = Math.fround(sincos32(${s.operand})); const ${cos} = Math.fround(lastCos32());`,
        deps: stmts[s.at].deps,
        heavy: true,
        vector: { fn: "vsincos", operand: s.operand },
      };
      drop.add(Math.max(s.at, c.at));
    }
    this.stmts = stmts.filter((_, k) => !drop.has(k));
  }
}

/**
 * The loop nest's index arithmetic: the iteration shape with mergeable
 * axes merged, and each stride vector's flat index as an expression of the
 * loop counters (`i` walks the output contiguously).
 */
class LoopIndex {
  readonly shape: number[];
  readonly strides: number[][];

  /** `strides[0]` must be the contiguous strides of `shape`. */
  constructor(shape: number[], strides: number[][]) {
    ({ shape: this.shape, strides: this.strides } = mergeAxes(shape, strides));
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The flat index of stride vector `k` (as merged). */
  of(k: number): string {
    const st = this.strides[k];
    if (st.every((s) => s === 0)) return "0";
    if (st.join() === this.strides[0].join()) return "i";
    return sum(...st.map((s, d) => scaled(`i${d}`, s)));
  }

  /** Whether stride vector `k` reads one element for the whole loop. */
  isConstant(k: number): boolean {
    return this.strides[k].every((s) => s === 0);
  }

  /**
   * Plain nested loops running `inner` over the shape (`i` counts flat);
   * `run` brackets each run of the innermost loop (rank 2 and up).
   */
  nest(inner: string, run: Run | null = null): string {
    const { shape, rank } = this;
    if (rank === 0) return `{\nconst i = 0;\n${inner}\n}`;
    if (rank === 1) return `for (let i = 0; i < ${shape[0]}; i++) {\n${inner}\n}`;
    let head = "let i = 0;\n";
    for (let d = 0; d < rank; d++) {
      if (d === rank - 1 && run !== null) head += `${run.head}\n`;
      head += `for (let i${d} = 0; i${d} < ${shape[d]}; i${d}++${
        d === rank - 1 ? ", i++" : ""
      }) {\n`;
    }
    return head + inner + "\n}\n" + (run === null ? "" : `${run.tail}\n`) +
      "}\n".repeat(rank - 1);
  }
}

/** Code before and after each run of the innermost loop. */
interface Run {
  head: string;
  tail: string;
}

/** A reduction's parts of the kernel: code before the loop, its statement, code after. */
interface ReductionParts {
  pre: string[];
  stmt: Stmt;
  post: string;
  /** Around each innermost run, when that axis is reduced: its sum kept in a local. */
  run: Run | null;
  /** Float64 accumulators the kernel needs (a float32 partial reduction). */
  scratch: number;
  /** Whether it reduces everything to one value. */
  full: boolean;
}

/** How the body's reduction accumulates, into `acc` (to one value) or per output element. */
function reductionParts(body: LoopBody, index: LoopIndex): ReductionParts {
  const { g, slot, red, reduced } = body;
  const spec: ReductionSpec = REDUCTIONS[red!.op as keyof typeof REDUCTIONS];
  const combine = subst(spec.combine, { a: reduced });
  const deps = isLocal(reduced) ? [reduced] : [];
  const stmt = (code: string): Stmt => ({ name: "", code, deps, heavy: false });
  if (index.isConstant(1)) {
    return {
      pre: [`let acc = ${num(Number(spec.identity))};`],
      stmt: stmt(`acc = ${combine};`),
      post: finish(body, red!),
      run: null,
      scratch: 0,
      full: true,
    };
  }
  const out = body.arg(slot(red!.out));
  const size = sizeOf(g.values[red!.out].shape);
  const f64 = g.values[red!.out].dtype === "float64";
  // a float32 or int32 result accumulates in float64 scratch, as eager does (an empty one
  // needs none: nothing is added)
  const direct = f64 || size === 0;
  const acc = direct ? out : "scratch";
  // the innermost axis reduced: each run adds up in a local (the same operations, in order)
  const inRun = index.rank >= 2 && index.strides[1][index.rank - 1] === 0;
  return {
    pre: [`${acc}.fill(${num(Number(spec.identity))});`],
    stmt: stmt(
      inRun
        ? `r = ${subst(spec.combine, { a: reduced, acc: "r" })};`
        : `{ const q = ${index.of(1)}; const acc = ${acc}[q]; ${acc}[q] = ${combine}; }`,
    ),
    run: inRun
      ? { head: `const q = ${index.of(1)};\nlet r = ${acc}[q];`, tail: `${acc}[q] = r;` }
      : null,
    post: direct ? "" : `${out}.set(${acc});`,
    scratch: direct ? 0 : size,
    full: false,
  };
}

/**
 * After a loop reducing to one value (in `acc`): the value rounded to its
 * dtype, stored if anything reads it, and the loop's epilogue nodes on it.
 */
function finish(body: LoopBody, red: Node): string {
  const { g, step, slot } = body;
  const names = new Map([[red.out, `v${red.out}`]]);
  const lines = [`const v${red.out} = ${round("acc", g.values[red.out].dtype)};`];
  const store = (v: number) => {
    if (step.stores.includes(v)) lines.push(`${body.arg(slot(v))}[0] = v${v};`);
  };
  store(red.out);
  for (const n of step.epilogue) {
    const ops = n.inputs.map((u) => {
      const c = constantScalar(g, u);
      return names.get(u) ?? (c === undefined ? `${body.arg(slot(u))}[0]` : lit(c));
    });
    const out = g.values[n.out].dtype;
    const same = n.inputs.every((u) => g.values[u].dtype === out);
    lines.push(`const v${n.out} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out, same)};`);
    names.set(n.out, `v${n.out}`);
    store(n.out);
  }
  return lines.join("\n");
}

/**
 * Elements from which a flat loop that calls transcendental functions runs
 * staged (their vector kernels over tiles): where eager loops take the
 * vector kernels too (a float32 kernel is 20-30x faster per element than
 * its scalar function, whose rounding after every operation V8 runs slowly).
 */
const STAGED_MIN = 64;

/**
 * Source of a fused loop step; `slot(v)` names the buffer of value `v`,
 * `wasm` declares the WebAssembly loops a staged loop calls (null: code
 * that runs without WebAssembly).
 */
export function loopSource(
  g: Graph,
  step: LoopStep,
  slot: (v: number) => string,
  wasm: DeclareWasm | null,
): KernelSource {
  const body = new LoopBody(g, step, slot);
  const { shape } = step;
  const redStrides = body.red === undefined ? shape.map(() => 0) : reducedStrides(shape, body.red);
  const index = new LoopIndex(shape, [
    stridesOf(shape),
    redStrides,
    ...body.reads.map((r) => r.strides),
  ]);
  const pre: string[] = [];
  const loads = new Map<string, string>();
  body.reads.forEach((r, k) => {
    if (index.isConstant(2 + k)) pre.push(`const ${r.local} = ${r.buf}[0];`);
    else loads.set(r.local, `const ${r.local} = ${r.buf}[${index.of(2 + k)}];`);
  });
  const stores: Stmt[] = step.stores.filter((v) => body.inside.has(v)).map((v) => ({
    name: "",
    code: `${body.arg(slot(v))}[i] = ${body.inside.get(v)};`,
    deps: [body.inside.get(v)!],
    heavy: false,
  }));
  const red = body.red === undefined ? null : reductionParts(body, index);
  const stmts = red === null ? body.stmts : [...body.stmts, red.stmt];
  const all = [...stmts, ...stores];
  // staging re-reads inputs in later stages: not when the loop writes one in place
  const inPlace = step.stores.some((v) => body.reads.some((r) => r.buf === slot(v)));
  const staged = index.rank === 1 && (red === null || red.full) && !inPlace &&
      index.shape[0] >= STAGED_MIN && stmts.some((x) => x.heavy)
    ? stagedLoop(index.shape[0], all, loads, wasm)
    : null;
  const loops = staged ??
    index.nest([...loads.values(), ...all.map((x) => x.code)].join("\n"), red?.run);
  const ops = [...step.nodes, ...step.epilogue].map((n) => n.op);
  return {
    title: `fused loop over [${shape}]: ${ops.join(", ")}`,
    body: [...pre, ...(red?.pre ?? []), loops, red?.post ?? ""].filter(Boolean).join("\n"),
    args: body.args,
    scratch: red?.scratch ?? 0,
  };
}

/** The output strides of a reduction over `shape` (0 on every reduced axis). */
function reducedStrides(shape: number[], red: Node): number[] {
  const axes = red.attrs.axes as number[];
  return stridesOf(reducedShape(shape, axes, true)).map((s, d) => (axes.includes(d) ? 0 : s));
}
