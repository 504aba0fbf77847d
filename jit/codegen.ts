/**
 * Code generation: the JavaScript source of one fused loop (staged over
 * tiles when it calls transcendental functions), one matrix product, or one
 * gather / scatter-add, with sizes, strides and literal constants baked in,
 * compiled with `new Function` and cached by source text. Only numbers and
 * identifiers the JIT makes reach the source; op names appear in comments
 * sanitised.
 * @module
 */
import type { DType } from "../core/dtype.ts";
import { FASTMATH } from "../core/fastmath.ts";
import { isSmallGemm } from "../core/matmul.ts";
import { indexLoop, mergeAxes } from "../core/kernels.ts";
import { ELEMENTWISE, REDUCTIONS } from "../core/primitives.ts";
import { broadcastStrides, reducedShape, sizeOf, stridesOf } from "../core/shape.ts";
import { constantScalar, type Graph, type Node } from "./ir.ts";
import type { LoopStep, MatmulStep } from "./passes/fusion.ts";

/** Generated source of a kernel and the slot names it takes, in order. */
export interface Kernel {
  /** The function body. */
  body: string;
  /** The slot names it takes, then `scratch` when `scratch` > 0. */
  params: string[];
  /** Its parameter names in `body`, when not the slot names (same order). */
  names?: string[];
  /**
   * Size of the float64 scratch buffer the kernel takes last (a reduction's
   * accumulators or a staged loop's tiles), 0 for none.
   */
  scratch: number;
}

/** A JS number literal for `x` (numbers only: nothing else reaches the source). */
export function lit(x: unknown): string {
  if (typeof x !== "number") throw new TypeError(`jit: expected a number, got ${typeof x}`);
  if (Object.is(x, -0)) return "(-0)";
  return `(${String(x)})`;
}

/** A comment-safe word. */
export function word(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "");
}

/** Substitutes the registry's operand names in `expr`. */
export function subst(expr: string, names: Record<string, string>): string {
  return expr.replace(/(?<![\w$.])(a|b|p0|p1|acc)(?![\w$])/g, (m) => names[m] ?? m);
}

/** `expr` rounded as stored into a `dtype` array. */
function round(expr: string, dtype: DType): string {
  if (dtype === "float32") return `Math.fround(${expr})`;
  if (dtype === "int32") return `((${expr}) | 0)`;
  return expr;
}

/**
 * The expression of an elementwise-like node over operand names; `same`:
 * whether the operands already have the output dtype (an exact op's result
 * then needs no rounding).
 */
function nodeExpr(n: Node, a: string, b: string, dtype: DType, same: boolean): string {
  if (n.op === "transpose" || n.op === "cast") return same ? a : round(a, dtype);
  if (n.op === "pow" && b === lit(2)) return round(`(${a} * ${a})`, dtype);
  if (n.op === "pow" && b === lit(1)) return same ? a : round(a, dtype);
  const spec = ELEMENTWISE[n.op];
  const expr = dtype === "float32" && spec.expr32 ? spec.expr32 : spec.expr;
  const names: Record<string, string> = { a, b };
  if (n.attrs.p0 !== undefined) names.p0 = lit(n.attrs.p0);
  if (n.attrs.p1 !== undefined) names.p1 = lit(n.attrs.p1);
  if (spec.params > 0 && names.p0 === undefined) names.p0 = "0";
  if (spec.params > 1 && names.p1 === undefined) names.p1 = "0";
  const e = `(${subst(expr, names)})`;
  return spec.exact && same ? e : round(e, dtype);
}

/** Strides (over the node's iteration shape) of input `k`'s flat index. */
function readStrides(g: Graph, n: Node, k: number, shape: number[]): number[] {
  const x = g.values[n.inputs[k]];
  if (n.op in REDUCTIONS) return stridesOf(shape);
  if (n.op === "transpose") {
    const s = stridesOf(x.shape);
    return (n.attrs.axes as number[]).map((a) => (x.shape[a] === 1 ? 0 : s[a]));
  }
  return broadcastStrides(x.shape, shape);
}

/** Elements per tile of a staged loop (its stage values stay in L1). */
const TILE = 256;

/** One statement of a fused loop body. */
interface Stmt {
  /** The name it defines ("" for the reduction's combine and stores). */
  name: string;
  /** A second name it defines (sin and cos of one value, computed together). */
  also?: string;
  /** Its line of code. */
  code: string;
  /** Loop-local names (values `v…`, loads `l…`) it reads. */
  deps: string[];
  /** Whether it calls a transcendental function (exp, log, sin...). */
  heavy: boolean;
}

/**
 * After a loop reducing to one value (in `acc`): the value rounded to its
 * dtype, stored if anything reads it, and the loop's epilogue nodes on it.
 */
function finish(
  g: Graph,
  step: LoopStep,
  red: Node,
  slot: (v: number) => string,
  param: (name: string) => string,
): string {
  const dtype = g.values[red.out].dtype;
  const names = new Map([[red.out, `v${red.out}`]]);
  const lines = [`const v${red.out} = ${round("acc", dtype)};`];
  const store = (v: number) => {
    if (step.stores.includes(v)) lines.push(`${param(slot(v))}[0] = v${v};`);
  };
  store(red.out);
  for (const n of step.epilogue) {
    const ops = n.inputs.map((u) => {
      const c = constantScalar(g, u);
      return names.get(u) ?? (c === undefined ? `${param(slot(u))}[0]` : lit(c));
    });
    const out = g.values[n.out].dtype;
    const same = n.inputs.every((u) => g.values[u].dtype === out);
    lines.push(`const v${n.out} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out, same)};`);
    names.set(n.out, `v${n.out}`);
    store(n.out);
  }
  return lines.join("\n");
}

/** The names a statement defines. */
function defs(x: Stmt): string[] {
  return x.also ? [x.name, x.also] : x.name ? [x.name] : [];
}

/**
 * Merges each float32 `sin(u)` with a `cos(u)` of the same operand into one
 * `sincos32` call (one reduction, one pair of polynomials; same values).
 */
function shareSinCos(stmts: Stmt[], trig: { op: string; operand: string; at: number }[]): Stmt[] {
  const drop = new Set<number>(), paired = new Set<number>();
  for (const s of trig) {
    if (s.op !== "sin") continue;
    const c = trig.find((t) => t.op === "cos" && t.operand === s.operand && !paired.has(t.at));
    if (c === undefined) continue;
    paired.add(c.at);
    const first = Math.min(s.at, c.at);
    const [sin, cos] = [stmts[s.at].name, stmts[c.at].name];
    stmts[first] = {
      name: sin,
      also: cos,
      code:
        `const ${sin} = Math.fround(sincos32(${s.operand})); const ${cos} = Math.fround(lastCos32());`,
      deps: stmts[s.at].deps,
      heavy: true,
    };
    drop.add(Math.max(s.at, c.at));
  }
  return stmts.filter((_, k) => !drop.has(k));
}

/** Source of a fused loop step; `slot(v)` names the buffer of value `v`. */
export function loopKernel(g: Graph, step: LoopStep, slot: (v: number) => string): Kernel {
  const shape = step.shape;
  const inside = new Map<number, string>();
  const params: string[] = [];
  const param = (name: string) => {
    if (!params.includes(name)) params.push(name);
    return name;
  };
  const reads: { buf: string; strides: number[]; local: string }[] = [];
  let stmts: Stmt[] = [];
  const red = step.nodes.find((n) => n.op in REDUCTIONS);
  const redStrides = red
    ? (() => {
      const axes = red.attrs.axes as number[];
      return stridesOf(reducedShape(shape, axes, true)).map((s, d) => (axes.includes(d) ? 0 : s));
    })()
    : shape.map(() => 0);
  const leaf = (buf: string, strides: number[]) => {
    const key = strides.join(",");
    let r = reads.find((x) => x.buf === buf && x.strides.join(",") === key);
    if (!r) {
      r = { buf: param(buf), strides, local: `l${reads.length}` };
      reads.push(r);
    }
    return r.local;
  };
  const local = (x: string) => /^[vl]\d+$/.test(x);
  const trig: { op: string; operand: string; at: number }[] = [];
  let reduced = ""; // the operand of the reduction
  for (const n of step.nodes) {
    const ops = n.inputs.map((u, k) => {
      const c = constantScalar(g, u);
      return inside.get(u) ??
        (c === undefined ? leaf(slot(u), readStrides(g, n, k, shape)) : lit(c));
    });
    if (n.op in REDUCTIONS) {
      reduced = ops[0];
      continue;
    }
    const out = g.values[n.out];
    const name = `v${n.out}`;
    const same = n.inputs.every((u) => g.values[u].dtype === out.dtype);
    if ((n.op === "sin" || n.op === "cos") && out.dtype === "float32") {
      trig.push({ op: n.op, operand: ops[0], at: stmts.length });
    }
    stmts.push({
      name,
      code: `const ${name} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out.dtype, same)};`,
      deps: ops.filter(local),
      heavy: ELEMENTWISE[n.op]?.expr32 !== undefined,
    });
    inside.set(n.out, name);
  }
  stmts = shareSinCos(stmts, trig);
  const contiguous = stridesOf(shape);
  const m = mergeAxes(shape, [contiguous, redStrides, ...reads.map((r) => r.strides)]);
  const rank = m.shape.length;
  const idx = (strides: number[]) => {
    if (strides.every((s) => s === 0)) return "0";
    if (strides.join() === m.strides[0].join()) return "i";
    return strides.map((s, d) => (s === 0 ? "" : `i${d} * ${s}`)).filter(Boolean).join(" + ");
  };
  const pre: string[] = [];
  const loads = new Map<string, string>();
  reads.forEach((r, k) => {
    const st = m.strides[2 + k];
    if (st.every((s) => s === 0)) pre.push(`const ${r.local} = ${r.buf}[0];`);
    else loads.set(r.local, `const ${r.local} = ${r.buf}[${idx(st)}];`);
  });
  const stores: Stmt[] = step.stores.filter((v) => inside.has(v)).map((v) => ({
    name: "",
    code: `${param(slot(v))}[i] = ${inside.get(v)};`,
    deps: [inside.get(v)!],
    heavy: false,
  }));
  let post = "";
  let scratch = 0;
  let full = true;
  if (red) {
    const spec = REDUCTIONS[red.op];
    full = m.strides[1].every((s) => s === 0);
    const deps = local(reduced) ? [reduced] : [];
    if (full) {
      pre.push(`let acc = ${lit(Number(spec.identity))};`);
      stmts.push({
        name: "",
        code: `acc = ${subst(spec.combine, { a: reduced })};`,
        deps,
        heavy: false,
      });
      post = finish(g, step, red, slot, param);
    } else {
      const out = param(slot(red.out));
      const size = sizeOf(g.values[red.out].shape);
      const acc = g.values[red.out].dtype === "float64" ? out : param("scratch");
      scratch = acc === out ? 0 : size;
      pre.push(`${acc}.fill(${lit(Number(spec.identity))});`);
      const code = `{ const q = ${idx(m.strides[1])}; const acc = ${acc}[q]; ${acc}[q] = ${
        subst(spec.combine, { a: reduced })
      }; }`;
      stmts.push({ name: "", code, deps, heavy: false });
      if (acc !== out) post = `${out}.set(${acc});`;
    }
  }
  const all = [...stmts, ...stores];
  let loops: string;
  // staging re-reads inputs in later stages: not when the loop writes one in place
  const inPlace = step.stores.some((v) => reads.some((r) => r.buf === slot(v)));
  if (rank === 1 && full && !inPlace && m.shape[0] >= 2 * TILE && stmts.some((x) => x.heavy)) {
    const staged = stagedLoop(m.shape[0], all, loads, param);
    loops = staged.source;
    scratch = staged.scratch;
  } else {
    const inner = [...loads.values(), ...all.map((x) => "  " + x.code)].join("\n");
    if (rank === 0) loops = `{\n  const i = 0;\n${inner}\n}`;
    else if (rank === 1) loops = `for (let i = 0; i < ${m.shape[0]}; i++) {\n${inner}\n}`;
    else {
      loops = "let i = 0;\n";
      for (let d = 0; d < rank; d++) {
        loops += `for (let i${d} = 0; i${d} < ${m.shape[d]}; i${d}++${
          d === rank - 1 ? ", i++" : ""
        }) {\n`;
      }
      loops += inner + "\n" + "}".repeat(rank);
    }
  }
  const comment = `// fused: ${
    [...step.nodes, ...step.epilogue].map((n) => word(n.op)).join(", ")
  }`;
  return {
    body: [`"use strict";`, comment, ...pre, loops, post].filter(Boolean).join("\n"),
    params,
    scratch,
  };
}

/**
 * A flat loop of `size` elements run tile by tile, each tile in stages:
 * every transcendental call gets a loop of its own, the arithmetic between
 * them one loop per stage, and values crossing stages live in a float64
 * `scratch` tile. V8 compiles a small loop body much better than one long
 * body (fewer spills, more iterations in flight): the W1 chain runs ~1.6x
 * faster. Statements, and so results, are unchanged.
 */
function stagedLoop(
  size: number,
  all: Stmt[],
  loads: Map<string, string>,
  param: (name: string) => string,
): { source: string; scratch: number } {
  // depth = calls on the way to a statement. A call of depth d gets a loop of
  // its own at stage 2d - 1; stores and the reduction run at stage 2d; other
  // arithmetic runs in the earliest loop that reads it (computed as late as
  // possible, so it crosses few stages)
  const depth = new Map<string, number>();
  const segments: { stage: number; stmts: Stmt[] }[] = [];
  const seg = new Map<Stmt, number>();
  const plainAt = new Map<number, number>(); // stage -> segment of stores/reduction
  for (const x of all) {
    const d = Math.max(0, ...x.deps.map((n) => depth.get(n) ?? 0)) + (x.heavy ? 1 : 0);
    for (const n of defs(x)) depth.set(n, d);
    if (x.heavy) seg.set(x, segments.push({ stage: 2 * d - 1, stmts: [] }) - 1);
    else if (!x.name) {
      if (!plainAt.has(2 * d)) plainAt.set(2 * d, segments.push({ stage: 2 * d, stmts: [] }) - 1);
      seg.set(x, plainAt.get(2 * d)!);
    }
  }
  const runsBefore = (a: number, b: number) =>
    segments[a].stage < segments[b].stage || (segments[a].stage === segments[b].stage && a < b);
  for (let k = all.length - 1; k >= 0; k--) {
    const x = all[k];
    if (seg.has(x)) continue;
    let first = -1;
    for (const u of all) {
      const su = seg.get(u);
      if (su !== undefined && u.deps.includes(x.name) && (first < 0 || runsBefore(su, first))) {
        first = su;
      }
    }
    seg.set(x, first);
  }
  for (const x of all) segments[seg.get(x)!].stmts.push(x);
  const home = new Map<string, number>(); // name -> segment index
  for (const x of all) for (const n of defs(x)) home.set(n, seg.get(x)!);
  const order = segments.map((_, k) => k).sort((a, b) => (runsBefore(a, b) ? -1 : 1));
  // names read outside their segment get a tile of the scratch buffer
  const tileOf = new Map<string, number>();
  segments.forEach((s, k) => {
    for (const x of s.stmts) {
      for (const n of x.deps) {
        if (home.has(n) && home.get(n) !== k && !tileOf.has(n)) tileOf.set(n, tileOf.size);
      }
    }
  });
  const tile = tileOf.size > 0 ? param("scratch") : "";
  const at = (n: string) =>
    `${tile}[${tileOf.get(n)! * TILE ? `${tileOf.get(n)! * TILE} + ` : ""}j]`;
  const loopsSrc = order.map((k) => {
    const s = segments[k];
    const used = new Set(s.stmts.flatMap((x) => x.deps));
    const lines = [
      ...[...loads].filter(([n]) => used.has(n)).map(([, code]) => code),
      ...[...used].filter((n) => tileOf.has(n) && home.get(n) !== k).map((n) =>
        `const ${n} = ${at(n)};`
      ),
      ...s.stmts.map((x) => x.code),
      ...s.stmts.flatMap(defs).filter((n) => tileOf.has(n)).map((n) => `${at(n)} = ${n};`),
    ];
    return `  for (let j = 0; j < n; j++) {\n    const i = b + j;\n    ${
      lines.join("\n    ")
    }\n  }`;
  });
  return {
    source:
      `for (let b = 0; b < ${size}; b += ${TILE}) {\n  const n = ${size} - b < ${TILE} ? ${size} - b : ${TILE};\n${
        loopsSrc.join("\n")
      }\n}`,
    scratch: tileOf.size * TILE,
  };
}

/**
 * Source of a gather (`out[i] = x[offsets[i]]`) or scatter-add (zeros, then
 * `out[offsets[i]] += g[i]`), the kernels behind getItem and its gradient,
 * as the eager kernels compute them; null for other ops.
 */
export function indexKernel(g: Graph, n: Node, slot: (v: number) => string): Kernel | null {
  if (n.op !== "gather" && n.op !== "scatterAdd") return null;
  const len = sizeOf(g.values[n.op === "gather" ? n.out : n.inputs[0]].shape);
  const bound = sizeOf(g.values[n.op === "gather" ? n.inputs[0] : n.out].shape);
  return {
    body: [`"use strict";`, `// ${n.op}`, indexLoop(n.op, String(len), String(bound))].join("\n"),
    params: [...n.inputs, n.out].map(slot),
    names: ["X", "I", "O"],
    scratch: 0,
  };
}

/**
 * Source of a matrix product `C = op(A) @ op(B) (+ bias) (relu)`, batched
 * over equal batch axes: a call per batch of the blocked `gemm` of
 * core/matmul.ts (the eager kernel's loop, so results match eager), which
 * reads transposed operands by flags.
 */
export function matmulKernel(g: Graph, step: MatmulStep, slot: (v: number) => string): Kernel {
  const out = g.values[step.out];
  const A = g.values[step.a].shape, B = g.values[step.b].shape;
  const [m, n] = out.shape.slice(-2);
  const k = step.transA ? A[A.length - 2] : A[A.length - 1];
  const nb = sizeOf(out.shape.slice(0, -2));
  const aBatch = A.length > 2 ? m * k : 0, bBatch = B.length > 2 ? k * n : 0;
  const bias = step.bias !== null;
  const biasStep = bias && sizeOf(g.values[step.bias!].shape) > 1 ? 1 : 0;
  const relu = step.relu;
  const head = [
    `"use strict";`,
    `// matmul [${m}x${k}] @ [${k}x${n}]${step.transA ? " transA" : ""}${
      step.transB ? " transB" : ""
    }${bias ? " +bias" : ""}${relu ? " relu" : ""}`,
  ];
  const lines = isSmallGemm(m, n, k)
    ? [
      ...head,
      ...smallProduct(m, n, k, nb, aBatch, bBatch, step, bias ? biasStep : -1, relu, out.dtype),
    ]
    : [
      ...head,
      `for (let t = 0; t < ${nb}; t++) {`,
      `  gemm(${m}, ${n}, ${k}, A, t * ${aBatch}, ${step.transA}, B, t * ${bBatch}, ${step.transB}, C, t * ${
        m * n
      }, ${bias ? "D" : "null"}, ${relu});`,
      `}`,
    ];
  const params = [slot(step.a), slot(step.b), slot(step.out)];
  if (bias) params.push(slot(step.bias!));
  return {
    body: lines.join("\n"),
    params,
    names: ["A", "B", "C", "D"].slice(0, params.length),
    scratch: 0,
  };
}

/**
 * A small product as plain loops with sizes and strides baked in (k
 * unrolled up to 16): `gemm`'s small-product loop, same summation order
 * and bias rounding, so the same results. `biasStep` is -1 without a bias.
 */
function smallProduct(
  m: number,
  n: number,
  k: number,
  nb: number,
  aBatch: number,
  bBatch: number,
  step: MatmulStep,
  biasStep: number,
  relu: boolean,
  dtype: DType,
): string[] {
  const ars = step.transA ? 1 : k, acs = step.transA ? m : 1;
  const brs = step.transB ? 1 : n, bcs = step.transB ? k : 1;
  const dot = k <= 16
    ? Array.from({ length: k }, (_, p) => `    v += A[ai + ${p * acs}] * B[bj + ${p * brs}];`)
    : [`    for (let p = 0; p < ${k}; p++) v += A[ai + p * ${acs}] * B[bj + p * ${brs}];`];
  const store = relu ? "v < 0 ? 0 : v" : "v";
  return [
    `for (let t = 0; t < ${nb}; t++) {`,
    `for (let i = 0; i < ${m}; i++) {`,
    `  const ai = t * ${aBatch} + i * ${ars};`,
    `  for (let j = 0; j < ${n}; j++) {`,
    `    const bj = t * ${bBatch} + j * ${bcs};`,
    `    let v = 0;`,
    ...dot,
    ...(biasStep < 0 ? [] : [
      `    v = ${dtype === "float32" ? "Math.fround(v)" : "v"} + D[j * ${biasStep}];`,
    ]),
    `    C[t * ${m * n} + i * ${n} + j] = ${store};`,
    `  }`,
    `}}`,
  ];
}

const compiled = new Map<string, (...xs: unknown[]) => void>();

/**
 * Compiles `body` over params `names` once per distinct source text and
 * argument `types` (the dtypes of the buffers it is called with). The types
 * go into the source as a comment: V8 shares type feedback between functions
 * of identical source, which would make one loop polymorphic over the array
 * types of two differently typed callers.
 */
export function compile(
  names: string[],
  body: string,
  types: string[],
): (...xs: unknown[]) => void {
  const source = `return function (${names.join(", ")}) {\n// (${types.join(", ")})\n${body}\n};`;
  let fn = compiled.get(source);
  if (!fn) {
    fn = new Function(...Object.keys(FASTMATH), source)(...Object.values(FASTMATH)) as (
      ...xs: unknown[]
    ) => void;
    compiled.set(source, fn);
  }
  return fn;
}
