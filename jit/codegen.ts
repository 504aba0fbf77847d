/**
 * Code generation: the JavaScript source of one fused loop (staged over
 * tiles when it calls transcendental functions: jit/staged.ts), one matrix
 * product, or one gather / scatter-add, with sizes, strides and literal
 * constants baked in, compiled with `new Function` and cached by source
 * text. Only numbers and identifiers the JIT makes reach the source (and
 * the WebAssembly code); op names appear in comments sanitised.
 * @module
 */
import type { DType } from "../core/dtype.ts";
import { isSmallGemm } from "../core/matmul.ts";
import { indexLoop, mergeAxes } from "../core/kernels.ts";
import { ELEMENTWISE, REDUCTIONS } from "../core/primitives.ts";
import { MATH_SCOPE } from "../core/vecmath.ts";
import { broadcastStrides, reducedShape, sizeOf, stridesOf } from "../core/shape.ts";
import { constantScalar, type Graph, type Node } from "./ir.ts";
import type { LoopStep, MatmulStep } from "./passes/fusion.ts";
import { SEG, stagedLoop, type Stmt, TILE } from "./staged.ts";

/** Generated source of a kernel and the slot names it takes, in order. */
export interface Kernel {
  /** The function body. */
  body: string;
  /** The slot names it takes, then `scratch` when `scratch` > 0. */
  params: string[];
  /** Its parameter names in `body`, when not the slot names (same order). */
  names?: string[];
  /**
   * Size of the float64 scratch buffer the kernel takes last (a float32
   * reduction's accumulators), 0 for none.
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
): { op: string; args: [string, string]; exact: boolean } {
  const copy = (x: string) => ({ op: "copy", args: [x, x] as [string, string], exact: same });
  if (n.op === "transpose" || n.op === "cast") return copy(a);
  if (n.op === "pow" && b === lit(2)) return { op: "mul", args: [a, a], exact: false };
  if (n.op === "pow" && b === lit(1)) return copy(a);
  if (n.op === "mul" && same && (a === lit(1) || b === lit(1))) return copy(a === lit(1) ? b : a);
  return { op: n.op, args: [a, b], exact: ELEMENTWISE[n.op].exact && same };
}

/** The JS expression of an elementwise-like node over operand names. */
function nodeExpr(n: Node, a: string, b: string, dtype: DType, same: boolean): string {
  const f = simplify(n, a, b, same);
  if (f.op === "copy") return f.exact ? f.args[0] : round(f.args[0], dtype);
  const spec = ELEMENTWISE[f.op];
  const expr = dtype === "float32" && spec.expr32 ? spec.expr32 : spec.expr;
  const names: Record<string, string> = { a: f.args[0], b: f.args[1] };
  if (n.attrs.p0 !== undefined) names.p0 = lit(n.attrs.p0);
  if (n.attrs.p1 !== undefined) names.p1 = lit(n.attrs.p1);
  if (spec.params > 0 && names.p0 === undefined) names.p0 = "0";
  if (spec.params > 1 && names.p1 === undefined) names.p1 = "0";
  const e = `(${subst(expr, names)})`;
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
  if (f.op === "copy") return { fn: "copy", args: [f.args[0]], round };
  const spec = ELEMENTWISE[f.op];
  if (spec.simd === undefined) return undefined;
  // a unary op's operand twice: a two-operand instruction (square: mul) takes both
  return { fn: spec.simd, args: spec.arity === 1 ? [f.args[0], f.args[0]] : f.args, round };
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
      vector: { fn: "vsincos", operand: s.operand },
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
    if (n.op === "copy" && same && ops[0].startsWith("(")) {
      inside.set(n.out, ops[0]); // a constant broadcast (a gradient's seed): its literal
      continue;
    }
    if ((n.op === "sin" || n.op === "cos") && out.dtype === "float32") {
      trig.push({ op: n.op, operand: ops[0], at: stmts.length });
    }
    const spec = ELEMENTWISE[n.op];
    const vec = out.dtype === "float32" ? spec?.vec32 : undefined;
    stmts.push({
      name,
      code: `const ${name} = ${nodeExpr(n, ops[0], ops[1] ?? "0", out.dtype, same)};`,
      deps: ops.filter(local),
      heavy: spec?.expr32 !== undefined,
      vector: vec === undefined ? undefined : { fn: vec, operand: ops[0] },
      simd: nodeSimd(n, ops[0], ops[1] ?? "0", out.dtype, same),
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
  const staged = rank === 1 && full && !inPlace && m.shape[0] >= 2 * TILE &&
      stmts.some((x) => x.heavy)
    ? stagedLoop(m.shape[0], all, loads)
    : null;
  if (staged !== null) loops = staged;
  else {
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
    fn = new Function(...Object.keys(MATH_SCOPE), "SEG", source)(
      ...Object.values(MATH_SCOPE),
      SEG,
    ) as (
      ...xs: unknown[]
    ) => void;
    compiled.set(source, fn);
  }
  return fn;
}
